// The public certificate registry, as a table: every certificate with its
// standing today.
import { gql } from '../gql.js';
import { t, loc, num, enumLabel } from '../i18n.js';
import { h, dataTable } from '../ui.js';

const QUERY = `query CertificateRegistry {
  certificates {
    number
    year
    municipality { code name { ka en } }
    validFrom
    validUntil
    status
    awardedOn
    revokedOn
  }
}`;

const badge = (status) => h('span', { class: `badge status-${status.toLowerCase()}`, text: enumLabel(status) });

export default {
  id: 'certificates',
  kind: 'table',
  csvName: 'certificates',
  columns: [
    { key: 'number', label: 'col.number' },
    { key: 'year', label: 'col.year' },
    { key: 'municipality_code' },
    { key: 'municipality_name_ka' },
    { key: 'municipality_name_en' },
    { key: 'municipality', label: 'col.municipality', csv: false, show: (r) => loc(r.name) },
    { key: 'validFrom', label: 'col.validFrom' },
    { key: 'validUntil', label: 'col.validUntil' },
    { key: 'status', label: 'col.status', show: (r) => badge(r.status) },
    { key: 'awardedOn', label: 'col.awardedOn' },
    { key: 'revokedOn', label: 'col.revokedOn' },
  ],
  queries: () => [{ text: QUERY }],

  async load(app, view) {
    const data = await gql(QUERY);
    view.setRows(
      data.certificates.map((c) => ({
        number: c.number,
        year: c.year,
        municipality_code: c.municipality.code,
        municipality_name_ka: c.municipality.name.ka,
        municipality_name_en: c.municipality.name.en,
        name: c.municipality.name,
        validFrom: c.validFrom,
        validUntil: c.validUntil,
        status: c.status,
        awardedOn: c.awardedOn,
        revokedOn: c.revokedOn,
      })),
    );
  },

  render(app, view) {
    const rows = view.rows;
    if (!rows.length) {
      view.figure.replaceChildren(h('p', { text: t('empty') }));
      return;
    }
    // How many certificates stand at each status, above the table.
    const counts = new Map();
    for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    const summary = h(
      'p',
      { class: 'counts' },
      ...[...counts].flatMap(([status, n]) => [badge(status), ` ${num(n)} `]),
    );
    view.figure.replaceChildren(
      summary,
      h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': t('certificates.title') }, dataTable(this.columns, rows, t('certificates.title'))),
    );
  },
};
