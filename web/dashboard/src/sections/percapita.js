// Attendance per 1,000 inhabitants by municipality, with the years a
// municipality held a participatory budgeting certificate told apart from
// its others: the trend's perCapita, orderBy and CERTIFIED at work.
import { gql } from '../gql.js';
import { t, loc, num, enumLabel } from '../i18n.js';
import { base, mount } from '../charts.js';
import { chartBox } from '../ui.js';

const QUERY = `query AttendancePer1000ByMunicipality {
  participationTrend(
    groupBy: [MUNICIPALITY, CERTIFIED]
    perCapita: true
    orderBy: [{ by: ATTENDANCE_PER_1000, desc: true }]
  ) {
    municipality { code name { ka en } }
    certified
    activities
    attendance
    population
    attendancePer1000
  }
}`;

const CERTIFIED_COLOR = '#009E73';
const OTHER_COLOR = '#0072B2';

export default {
  id: 'percapita',
  kind: 'chart',
  csvName: 'attendance-per-1000-by-municipality',
  columns: [
    { key: 'municipality_code', label: 'col.code' },
    { key: 'municipality_name_ka' },
    { key: 'municipality_name_en' },
    { key: 'municipality', label: 'col.municipality', csv: false, show: (r) => loc(r.name) },
    { key: 'certified', label: 'col.certified', show: (r) => enumLabel(r.certified) },
    { key: 'activities', label: 'col.activities', numeric: true, show: (r) => num(r.activities) },
    { key: 'attendance', label: 'col.attendance', numeric: true, show: (r) => num(r.attendance) },
    { key: 'population', label: 'col.population', numeric: true, show: (r) => num(r.population) },
    { key: 'attendancePer1000', label: 'col.per1000', numeric: true, show: (r) => num(r.attendancePer1000, 2) },
  ],
  queries: () => [{ text: QUERY }],

  async load(app, view) {
    const data = await gql(QUERY);
    view.setRows(
      data.participationTrend.map((r) => ({
        municipality_code: r.municipality.code,
        municipality_name_ka: r.municipality.name.ka,
        municipality_name_en: r.municipality.name.en,
        name: r.municipality.name,
        certified: r.certified,
        activities: r.activities,
        attendance: r.attendance,
        population: r.population,
        attendancePer1000: r.attendancePer1000,
      })),
    );
  },

  render(app, view) {
    const rows = view.rows;
    // One bar per row, in the API's order (highest first); its colour says
    // whether it counts the certified years. Stacking the two series keeps
    // each bar centred on its row, as only one of them has a value there.
    const series = (certified, name, color) => ({
      type: 'bar',
      name,
      stack: 'one',
      color,
      data: rows.map((r) => (r.certified === certified ? r.attendancePer1000 : null)),
    });
    const chart = mount(chartBox(view, 90 + 18 * rows.length));
    chart.setOption(
      {
        ...base(t('percapita.title')),
        tooltip: {
          trigger: 'item',
          formatter: (p) => {
            const r = rows[p.dataIndex];
            return `${loc(r.name)} (${p.seriesName})<br>${num(r.attendancePer1000, 2)} · ${num(r.attendance)} / ${num(r.population)}`;
          },
        },
        legend: { top: 0 },
        grid: { left: 8, right: 24, top: 40, bottom: 28, containLabel: true },
        xAxis: { type: 'value', name: t('percapita.axis'), nameLocation: 'middle', nameGap: 24, axisLabel: { formatter: (v) => num(v) } },
        yAxis: {
          type: 'category',
          inverse: true,
          data: rows.map((r) => loc(r.name)),
          axisLabel: { interval: 0, width: 130, overflow: 'truncate', fontSize: 11 },
        },
        series: [
          series(true, t('percapita.certified'), CERTIFIED_COLOR),
          series(false, t('percapita.other'), OTHER_COLOR),
        ],
      },
      { notMerge: true },
    );
  },
};
