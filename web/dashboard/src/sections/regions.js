// The regions as a tile grid: Georgia's twelve first-level units placed
// roughly where they lie, each with its attendance per 1,000 inhabitants.
// A tile grid, not a map: no package registry offers boundary data of
// Georgia's regions under a licence the project can ship (see the README).
import { gql } from '../gql.js';
import { t, loc, num, enumLabel } from '../i18n.js';
import { h } from '../ui.js';

const QUERY = `query RegionTiles {
  regions {
    code
    name { ka en }
    kind
    population2014
  }
  participationTrend(groupBy: [REGION], perCapita: true) {
    region { code }
    activities
    attendance
    population
    attendancePer1000
  }
}`;

// Where each region's tile goes (row, column) on a 3 x 6 grid, west to
// east and north to south. A region the API adds later and this does not
// know is placed in the first free cell.
const PLACES = {
  abkhazia: [1, 1],
  'samegrelo-zemo-svaneti': [1, 2],
  'racha-lechkhumi-kvemo-svaneti': [1, 3],
  'mtskheta-mtianeti': [1, 5],
  guria: [2, 2],
  imereti: [2, 3],
  'shida-kartli': [2, 4],
  tbilisi: [2, 5],
  kakheti: [2, 6],
  adjara: [3, 2],
  'samtskhe-javakheti': [3, 3],
  'kvemo-kartli': [3, 4],
};

export default {
  id: 'regions',
  kind: 'tiles',
  csvName: 'regions-attendance-per-1000',
  columns: [
    { key: 'code', label: 'col.code' },
    { key: 'name_ka' },
    { key: 'name_en' },
    { key: 'name', label: 'col.name', csv: false },
    { key: 'kind', label: 'col.kind', show: (r) => enumLabel(r.kind) },
    { key: 'population2014', label: 'col.population', numeric: true, show: (r) => num(r.population2014) },
    { key: 'activities', label: 'col.activities', numeric: true, show: (r) => num(r.activities) },
    { key: 'attendance', label: 'col.attendance', numeric: true, show: (r) => num(r.attendance) },
    { key: 'attendancePer1000', label: 'col.per1000', numeric: true, show: (r) => num(r.attendancePer1000, 2) },
  ],
  queries: () => [{ text: QUERY }],

  async load(app, view) {
    const data = await gql(QUERY);
    const byCode = new Map(data.participationTrend.map((r) => [r.region.code, r]));
    // Every region the registry has, with or without attendance.
    view.setRows(
      data.regions.map((r) => {
        const f = byCode.get(r.code);
        return {
          code: r.code,
          name_ka: r.name.ka,
          name_en: r.name.en,
          nameText: r.name,
          kind: r.kind,
          population2014: r.population2014,
          activities: f?.activities ?? 0,
          attendance: f?.attendance ?? 0,
          attendancePer1000: f?.attendancePer1000 ?? null,
        };
      }),
    );
  },

  render(app, view) {
    const rows = view.rows;
    for (const r of rows) r.name = loc(r.nameText);
    const max = Math.max(0, ...rows.map((r) => r.attendancePer1000 ?? 0));
    const grid = h('div', { class: 'tiles' });
    for (const r of rows) {
      const place = PLACES[r.code];
      // The shade says the rate: the darker, the more attendees per 1,000.
      const share = max > 0 && r.attendancePer1000 !== null ? r.attendancePer1000 / max : 0;
      const selected = app.state.region === r.code;
      const tile = h(
        'button',
        {
          type: 'button',
          class: `tile${share > 0.55 ? ' dark' : ''}`,
          'aria-pressed': String(selected),
          'aria-controls': 's-trend',
          'aria-label': `${t('regions.show', r.name)}. ${
            r.attendancePer1000 === null ? t('regions.nodata') : `${num(r.attendancePer1000, 1)} ${t('regions.per1000')}`
          }, ${num(r.attendance)} ${t('regions.attendance')}`,
          'data-region': r.code,
          style: `--shade: ${(0.08 + 0.82 * share).toFixed(3)};${place ? ` grid-area: ${place[0]} / ${place[1]};` : ''}`,
          onclick: () => app.selectRegion(selected ? '' : r.code),
        },
        h('span', { class: 'tile-name', text: r.name }),
        h('span', { class: 'tile-value', text: r.attendancePer1000 === null ? '–' : num(r.attendancePer1000, 1) }),
        h('span', { class: 'tile-unit', text: r.attendancePer1000 === null ? t('regions.nodata') : t('regions.per1000') }),
      );
      grid.append(tile);
    }
    view.figure.replaceChildren(grid);
  },
};
