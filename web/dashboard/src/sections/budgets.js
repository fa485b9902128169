// Participatory budgets whose results are declared: turnout by year, a line
// per municipality. A cycle's delivery roll-up exists only once its results
// are declared, so it marks the published ones without asking for every
// pot's count (which the API prices high across a whole page of cycles).
import { gql } from '../gql.js';
import { t, loc, num } from '../i18n.js';
import { base, mount } from '../charts.js';
import { h, chartBox } from '../ui.js';

const QUERY = `query ParticipatoryBudgetResults($after: String) {
  budgetCycles(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        year
        municipality { code name { ka en } }
        currency
        total { amount }
        statistics {
          voters
          turnout
          delivery { winners cost { amount } progress }
        }
      }
    }
  }
}`;

export default {
  id: 'budgets',
  kind: 'chart',
  csvName: 'participatory-budget-results',
  columns: [
    { key: 'id', label: 'col.cycle' },
    { key: 'year', label: 'col.year' },
    { key: 'municipality_code' },
    { key: 'municipality_name_ka' },
    { key: 'municipality_name_en' },
    { key: 'municipality', label: 'col.municipality', csv: false, show: (r) => loc(r.name) },
    { key: 'currency' },
    { key: 'total_amount', label: 'col.total', numeric: true, show: (r) => `${num(Number(r.total_amount))} ${r.currency}` },
    { key: 'statistics_voters', label: 'col.voters', numeric: true, show: (r) => num(r.statistics_voters) },
    { key: 'statistics_turnout', label: 'col.turnout', numeric: true, show: (r) => (r.statistics_turnout === null ? '–' : num(100 * r.statistics_turnout, 2)) },
    { key: 'statistics_delivery_winners', label: 'col.winners', numeric: true, show: (r) => num(r.statistics_delivery_winners) },
    { key: 'statistics_delivery_cost_amount', label: 'col.cost', numeric: true, show: (r) => `${num(Number(r.statistics_delivery_cost_amount))} ${r.currency}` },
    { key: 'statistics_delivery_progress' },
  ],
  pages: [],
  queries() {
    // Every page asked for, with its cursor: usually one.
    return this.pages.length ? this.pages.map((after) => ({ text: QUERY, variables: after ? { after } : undefined })) : [{ text: QUERY }];
  },

  async load(app, view) {
    const nodes = [];
    this.pages = [];
    let after = null;
    for (;;) {
      this.pages.push(after);
      const data = await gql(QUERY, after ? { after } : undefined);
      nodes.push(...data.budgetCycles.edges.map((e) => e.node));
      if (!data.budgetCycles.pageInfo.hasNextPage) break;
      after = data.budgetCycles.pageInfo.endCursor;
    }
    view.setRows(
      nodes
        .filter((c) => c.statistics.delivery && c.municipality)
        .map((c) => ({
          id: c.id,
          year: c.year,
          municipality_code: c.municipality.code,
          municipality_name_ka: c.municipality.name.ka,
          municipality_name_en: c.municipality.name.en,
          name: c.municipality.name,
          currency: c.currency,
          total_amount: c.total.amount,
          statistics_voters: c.statistics.voters,
          statistics_turnout: c.statistics.turnout,
          statistics_delivery_winners: c.statistics.delivery.winners,
          statistics_delivery_cost_amount: c.statistics.delivery.cost.amount,
          statistics_delivery_progress: c.statistics.delivery.progress,
        })),
    );
  },

  render(app, view) {
    const rows = view.rows;
    if (!rows.length) {
      view.figure.replaceChildren(h('p', { text: t('budgets.none') }));
      return;
    }
    const years = [...new Set(rows.map((r) => r.year))].sort((a, b) => a - b);
    const byMunicipality = new Map();
    for (const r of rows) {
      if (!byMunicipality.has(r.municipality_code)) byMunicipality.set(r.municipality_code, { name: r.name, byYear: new Map() });
      byMunicipality.get(r.municipality_code).byYear.set(r.year, r);
    }
    const chart = mount(chartBox(view, 420));
    chart.setOption(
      {
        ...base(t('budgets.title')),
        tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : `${num(v, 2)}%`) },
        legend: { top: 0, type: 'plain' },
        grid: { left: 8, right: 16, top: 96, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: years.map(String) },
        yAxis: { type: 'value', name: t('budgets.axis'), nameTextStyle: { align: 'left' }, axisLabel: { formatter: (v) => num(v, 1) } },
        series: [...byMunicipality.values()].map((m) => ({
          type: 'line',
          name: loc(m.name),
          connectNulls: false,
          symbolSize: 6,
          data: years.map((y) => {
            const turnout = m.byYear.get(y)?.statistics_turnout;
            return turnout === null || turnout === undefined ? null : Math.round(10000 * turnout) / 100;
          }),
        })),
      },
      { notMerge: true },
    );
  },
};
