// Donor projects' indicators against their targets: how far each has come
// towards its target beside how much of the target's period is gone.
import { gql } from '../gql.js';
import { t, loc, num, enumLabel } from '../i18n.js';
import { base, mount } from '../charts.js';
import { h, chartBox } from '../ui.js';

const QUERY = `query ProjectIndicators {
  projects {
    id
    title { ka en }
    indicators {
      id
      title { ka en }
      resultType
      unit
      baseline
      target { value start end }
      actual
      percent
      elapsed
      status
    }
  }
}`;

const STATUS_COLORS = {
  ACHIEVED: '#009E73',
  ON_TRACK: '#0072B2',
  AT_RISK: '#E69F00',
  MISSED: '#D55E00',
  NO_TARGET: '#8A939C',
  NOT_MEASURED: '#8A939C',
};

export default {
  id: 'indicators',
  kind: 'chart',
  csvName: 'project-indicators',
  columns: [
    { key: 'project_id' },
    { key: 'project_title_ka' },
    { key: 'project_title_en' },
    { key: 'project', label: 'col.project', csv: false, show: (r) => loc(r.projectTitle) },
    { key: 'id' },
    { key: 'title_ka' },
    { key: 'title_en' },
    { key: 'indicator', label: 'col.indicator', csv: false, show: (r) => loc(r.title) },
    { key: 'resultType' },
    { key: 'unit', label: 'col.unit', show: (r) => enumLabel(r.unit) },
    { key: 'baseline', label: 'col.baseline', numeric: true, show: (r) => num(r.baseline, 2) },
    { key: 'target_value', label: 'col.target', numeric: true, show: (r) => num(r.target_value, 2) },
    { key: 'target_start' },
    { key: 'target_end' },
    { key: 'actual', label: 'col.actual', numeric: true, show: (r) => num(r.actual, 2) },
    { key: 'percent', label: 'col.percent', numeric: true, show: (r) => num(r.percent, 2) },
    { key: 'elapsed', label: 'col.elapsed', numeric: true, show: (r) => num(r.elapsed, 2) },
    { key: 'status', label: 'col.status', show: (r) => enumLabel(r.status) },
  ],
  queries: () => [{ text: QUERY }],

  async load(app, view) {
    const data = await gql(QUERY);
    view.setRows(
      data.projects.flatMap((p) =>
        p.indicators.map((i) => ({
          project_id: p.id,
          project_title_ka: p.title.ka,
          project_title_en: p.title.en,
          projectTitle: p.title,
          id: i.id,
          title_ka: i.title.ka,
          title_en: i.title.en,
          title: i.title,
          resultType: i.resultType,
          unit: i.unit,
          baseline: i.baseline,
          target_value: i.target?.value ?? null,
          target_start: i.target?.start ?? null,
          target_end: i.target?.end ?? null,
          actual: i.actual,
          percent: i.percent,
          elapsed: i.elapsed,
          status: i.status,
        })),
      ),
    );
  },

  render(app, view) {
    const rows = view.rows;
    if (!rows.length) {
      view.figure.replaceChildren(h('p', { text: t('empty') }));
      return;
    }
    // Indicator titles are sentences: they wrap in up to two fifths of the
    // chart's width, so a phone keeps room for the bars, in rows tall
    // enough for a few lines (the rest is cut; the tooltip and the table
    // have it whole). On a phone the bar's label keeps the figure alone
    // (the status is in the tooltip and the table), or it would run off
    // the chart.
    const narrow = view.figure.clientWidth < 560;
    const rowHeight = narrow ? 84 : 64;
    const box = chartBox(view, (narrow ? 140 : 110) + rowHeight * rows.length);
    const labelWidth = Math.max(90, Math.min(260, Math.floor(box.clientWidth * 0.4)));
    const chart = mount(box);
    chart.setOption(
      {
        ...base(t('indicators.title')),
        tooltip: {
          trigger: 'axis',
          axisPointer: { type: 'shadow' },
          formatter: (ps) => {
            const r = rows[ps[0].dataIndex];
            return [
              `<b>${esc(loc(r.title))}</b>`,
              esc(loc(r.projectTitle)),
              `${esc(t('col.actual'))}: ${num(r.actual, 2)} / ${esc(t('col.target'))}: ${num(r.target_value, 2)}`,
              `${esc(t('col.percent'))}: ${num(r.percent, 2)} · ${esc(t('col.elapsed'))}: ${num(r.elapsed, 2)}`,
              esc(enumLabel(r.status)),
            ].join('<br>');
          },
        },
        legend: { top: 0 },
        grid: { left: 8, right: narrow ? 40 : 24, top: narrow ? 72 : 40, bottom: 8, containLabel: true },
        xAxis: { type: 'value', min: 0, splitNumber: narrow ? 2 : 5, axisLabel: { formatter: (v) => `${num(v)}%` } },
        yAxis: {
          type: 'category',
          inverse: true,
          data: rows.map((r) => loc(r.title)),
          axisLabel: {
            interval: 0,
            width: labelWidth,
            overflow: 'break',
            lineHeight: 14,
            height: rowHeight - 8,
            lineOverflow: 'truncate',
            fontSize: 11,
          },
        },
        series: [
          {
            type: 'bar',
            name: t('indicators.percent'),
            // Each bar takes its status's colour; the legend's swatch is neutral.
            color: '#52606d',
            data: rows.map((r) => ({ value: r.percent, itemStyle: { color: STATUS_COLORS[r.status] } })),
            label: {
              show: true,
              position: 'right',
              formatter: (p) => (narrow ? `${num(p.value, 0)}%` : `${num(p.value, 1)}% · ${enumLabel(rows[p.dataIndex].status)}`),
            },
            markLine: {
              symbol: 'none',
              silent: true,
              lineStyle: { color: '#1f2933', type: 'dashed' },
              // The category axis runs downwards, so the line's start is at the top.
              label: { position: 'start', formatter: t('indicators.target') },
              data: [{ xAxis: 100 }],
            },
          },
          { type: 'bar', name: t('indicators.elapsed'), color: '#B0B7BF', data: rows.map((r) => r.elapsed) },
        ],
      },
      { notMerge: true },
    );
  },
};

// esc makes API text safe inside the tooltip's HTML.
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
