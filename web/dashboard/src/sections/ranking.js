// The civic-engagement benchmark's ranking in a published round (the API
// ranks published rounds only; scorecards in progress are not public).
import { gql } from '../gql.js';
import { t, loc, num } from '../i18n.js';
import { base, mount, COLORS } from '../charts.js';
import { h, chartBox } from '../ui.js';

const ROUNDS = `query PublishedBenchmarkRounds {
  benchmarkRounds {
    id
    year
    title { ka en }
    publishedOn
    average
  }
}`;

const RANKING = `query BenchmarkRanking($round: ID!) {
  ranking(round: $round) {
    rank
    municipality { code name { ka en } }
    score
    band
    coverage
    previousRank
    change
    rankChange
  }
}`;

export default {
  id: 'ranking',
  kind: 'chart',
  csvName: 'benchmark-ranking',
  columns: [
    { key: 'round' },
    { key: 'rank', label: 'col.rank', numeric: true },
    { key: 'municipality_code' },
    { key: 'municipality_name_ka' },
    { key: 'municipality_name_en' },
    { key: 'municipality', label: 'col.municipality', csv: false, show: (r) => loc(r.name) },
    { key: 'score', label: 'col.score', numeric: true, show: (r) => num(r.score, 2) },
    { key: 'band', label: 'col.band' },
    { key: 'coverage' },
    { key: 'previousRank' },
    { key: 'change', label: 'col.change', numeric: true, show: (r) => (r.change === null ? '–' : `${r.change > 0 ? '+' : ''}${num(r.change, 2)}`) },
    { key: 'rankChange' },
  ],
  rounds: [],
  round: null,
  rankings: new Map(), // round ID -> rows, as loaded

  queries() {
    return [{ text: ROUNDS }, ...(this.round ? [{ text: RANKING, variables: { round: this.round } }] : [])];
  },

  async load(app, view) {
    const data = await gql(ROUNDS);
    this.rounds = data.benchmarkRounds.filter((r) => r.publishedOn).sort((a, b) => b.year - a.year);
    this.round = this.rounds[0]?.id ?? null;
    if (this.round) await this.loadRound(view, this.round);
    else view.setRows([]);
  },

  async loadRound(view, round) {
    if (!this.rankings.has(round)) {
      const data = await gql(RANKING, { round });
      this.rankings.set(
        round,
        data.ranking.map((e) => ({
          round,
          rank: e.rank,
          municipality_code: e.municipality.code,
          municipality_name_ka: e.municipality.name.ka,
          municipality_name_en: e.municipality.name.en,
          name: e.municipality.name,
          score: e.score,
          band: e.band,
          coverage: e.coverage,
          previousRank: e.previousRank,
          change: e.change,
          rankChange: e.rankChange,
        })),
      );
    }
    this.round = round;
    view.setRows(this.rankings.get(round));
  },

  render(app, view) {
    if (!this.rounds.length) {
      view.controls.replaceChildren();
      view.figure.replaceChildren(h('p', { text: t('ranking.none') }));
      return;
    }
    const select = h(
      'select',
      {
        id: 'ranking-round',
        onchange: async (e) => {
          view.state = 'loading';
          try {
            await this.loadRound(view, e.target.value);
            view.state = 'ready';
            app.rerender(this.id);
          } catch (err) {
            view.fail(err);
          }
        },
      },
      ...this.rounds.map((r) => h('option', { value: r.id, text: `${r.year}: ${loc(r.title)}` })),
    );
    select.value = this.round;
    view.controls.replaceChildren(h('label', { for: 'ranking-round', text: t('ranking.round') }), select);

    const rows = view.rows;
    const round = this.rounds.find((r) => r.id === this.round);
    // A colour per band, in the order the bands first appear (highest first).
    const bands = [...new Set(rows.map((r) => r.band).filter(Boolean))];
    const bandColor = (b) => (b ? COLORS[bands.indexOf(b) % COLORS.length] : '#B0B7BF');
    const chart = mount(chartBox(view, 80 + 20 * rows.length));
    chart.setOption(
      {
        ...base(`${t('ranking.title')}: ${loc(round.title)}`),
        tooltip: {
          trigger: 'item',
          formatter: (p) => {
            const r = rows[p.dataIndex];
            const change = r.change === null ? '' : ` (${r.change > 0 ? '+' : ''}${num(r.change, 2)})`;
            return `${r.rank ?? '–'}. ${loc(r.name)}: ${num(r.score, 2)}%${change}${r.band ? ` · ${r.band}` : ''}`;
          },
        },
        grid: { left: 8, right: 40, top: bands.length > 1 ? 40 : 16, bottom: 28, containLabel: true },
        xAxis: { type: 'value', min: 0, max: 100, name: t('ranking.axis'), nameLocation: 'middle', nameGap: 24 },
        yAxis: {
          type: 'category',
          inverse: true,
          data: rows.map((r) => `${r.rank ?? '–'}. ${loc(r.name)}`),
          axisLabel: { interval: 0, width: 140, overflow: 'truncate', fontSize: 11 },
        },
        legend: bands.length > 1 ? { top: 0 } : undefined,
        // A series per band, so the legend names the colours; stacked, as
        // a row has a value in one of them only, to keep bars centred.
        series: (bands.length ? bands : [null]).map((b, i) => ({
          type: 'bar',
          name: b ?? t('ranking.axis'),
          stack: 'one',
          color: bandColor(b),
          barMaxWidth: 14,
          data: rows.map((r) => (b === null || r.band === b ? r.score : null)),
          label: { show: true, position: 'right', fontSize: 10, formatter: (p) => num(p.value, 1) },
          markLine:
            i > 0 || round.average === null
              ? undefined
              : {
                  symbol: 'none',
                  silent: true,
                  lineStyle: { color: '#1f2933', type: 'dashed' },
                  // The category axis runs downwards: the line's start is at the top.
                  label: { position: 'start', formatter: `${t('ranking.average')}: ${num(round.average, 1)}` },
                  data: [{ xAxis: round.average }],
                },
        })),
      },
      { notMerge: true },
    );
  },
};
