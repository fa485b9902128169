// Participation over time by region and sex: attendees by year, stacked by
// sex, for Georgia or one region, with women's share as a line.
import { gql } from '../gql.js';
import { t, loc, num, enumLabel } from '../i18n.js';
import { base, mount } from '../charts.js';
import { h, chartBox } from '../ui.js';

const QUERY = `query ParticipationByYearRegionSex {
  participationTrend(groupBy: [YEAR, REGION, SEX]) {
    year
    region { code name { ka en } }
    sex
    activities
    attendance
  }
}`;

const SEXES = ['FEMALE', 'MALE', 'UNRECORDED'];
const SEX_COLORS = { FEMALE: '#CC79A7', MALE: '#0072B2', UNRECORDED: '#B0B7BF' };

export default {
  id: 'trend',
  kind: 'chart',
  csvName: 'participation-by-year-region-sex',
  columns: [
    { key: 'year', label: 'col.year' },
    { key: 'region_code' },
    { key: 'region_name_ka' },
    { key: 'region_name_en' },
    { key: 'region', label: 'col.region', csv: false, show: (r) => loc(r.regionName) },
    { key: 'sex', label: 'col.sex', show: (r) => enumLabel(r.sex) },
    { key: 'activities', label: 'col.activities', numeric: true, show: (r) => num(r.activities) },
    { key: 'attendance', label: 'col.attendance', numeric: true, show: (r) => num(r.attendance) },
  ],
  queries: () => [{ text: QUERY }],

  async load(app, view) {
    const data = await gql(QUERY);
    view.setRows(
      data.participationTrend.map((r) => ({
        year: r.year,
        region_code: r.region.code,
        region_name_ka: r.region.name.ka,
        region_name_en: r.region.name.en,
        regionName: r.region.name,
        sex: r.sex,
        activities: r.activities,
        attendance: r.attendance,
      })),
    );
  },

  render(app, view) {
    const rows = view.rows;
    // The region chooser: the same choice as the tiles above.
    const regions = new Map();
    for (const r of rows) regions.set(r.region_code, r.regionName);
    const select = h(
      'select',
      { id: 'trend-region', onchange: (e) => app.selectRegion(e.target.value) },
      h('option', { value: '', text: t('trend.all') }),
      ...[...regions].map(([code, name]) => h('option', { value: code, text: loc(name) })),
    );
    select.value = regions.has(app.state.region) ? app.state.region : '';
    view.controls.replaceChildren(h('label', { for: 'trend-region', text: t('trend.region') }), select);

    // Every year of the data stays on the axis, whichever region is shown.
    const years = [...new Set(rows.map((r) => r.year))].sort((a, b) => a - b);
    const shown = rows.filter((r) => !select.value || r.region_code === select.value);
    const sum = new Map(); // `${year}/${sex}` -> attendees
    for (const r of shown) sum.set(`${r.year}/${r.sex}`, (sum.get(`${r.year}/${r.sex}`) ?? 0) + r.attendance);
    const sexes = SEXES.filter((s) => rows.some((r) => r.sex === s));
    const value = (y, s) => sum.get(`${y}/${s}`) ?? 0;
    const share = years.map((y) => {
      const f = value(y, 'FEMALE');
      const m = value(y, 'MALE');
      return f + m > 0 ? Math.round((1000 * f) / (f + m)) / 10 : null;
    });

    const title = `${t('trend.title')}: ${select.value ? loc(regions.get(select.value)) : t('trend.all')}`;
    const chart = mount(chartBox(view, 380));
    chart.setOption(
      {
        ...base(title),
        tooltip: { trigger: 'axis', valueFormatter: (v) => num(v, 1) },
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 64, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: years.map(String) },
        yAxis: [
          { type: 'value', name: t('col.attendance'), nameTextStyle: { align: 'left' }, axisLabel: { formatter: (v) => num(v) } },
          { type: 'value', name: '%', min: 0, max: 100, splitLine: { show: false } },
        ],
        series: [
          ...sexes.map((s) => ({
            type: 'bar',
            name: enumLabel(s),
            stack: 'sex',
            color: SEX_COLORS[s],
            data: years.map((y) => value(y, s)),
          })),
          {
            type: 'line',
            name: t('trend.share'),
            yAxisIndex: 1,
            color: '#1f2933',
            symbolSize: 6,
            data: share,
          },
        ],
      },
      { notMerge: true },
    );
  },
};
