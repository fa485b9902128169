// The frame every section shares: heading, description, figure, and beside
// the figure its CSV download, its data as a table and its GraphQL query.
import { t, lang } from './i18n.js';
import { toCSV, download } from './csv.js';
import { graphiqlLink } from './gql.js';

// h builds an element: h('p', {class: 'x'}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// View is one section on the page. The section module draws into
// view.figure and view.controls; the view keeps the rest in the current
// language.
export class View {
  constructor(section) {
    this.section = section;
    const id = section.id;
    this.heading = h('h2', { id: `h-${id}` });
    this.desc = h('p', { class: 'desc' });
    this.controls = h('div', { class: 'controls' });
    this.figure = h('div', { class: 'figure' });
    this.status = h('p', { class: 'status', role: 'status' });
    this.csvButton = h('button', { type: 'button', class: 'csv', onclick: () => this.downloadCSV() });
    this.csvHint = h('span', { class: 'hint' });
    this.tableSummary = h('summary');
    // A region of its own that the keyboard can scroll: the table may be
    // wider and taller than its box.
    this.tableWrap = h('div', { class: 'table-wrap', role: 'region', tabindex: '0' });
    this.tableDetails = section.kind === 'table' ? null : h('details', { class: 'data' }, this.tableSummary, this.tableWrap);
    this.tableDetails?.addEventListener('toggle', () => this.renderTable());
    this.querySummary = h('summary');
    this.queryBody = h('div', { class: 'query-body' });
    this.el = h(
      'section',
      { id: `s-${id}`, class: `card kind-${section.kind}`, 'aria-labelledby': `h-${id}`, 'data-state': 'loading' },
      this.heading,
      this.desc,
      this.controls,
      h(
        'div',
        { class: 'body' },
        this.figure,
        h(
          'aside',
          { class: 'side' },
          h('div', { class: 'download' }, this.csvButton, this.csvHint),
          this.tableDetails,
          h('details', { class: 'query' }, this.querySummary, this.queryBody),
        ),
      ),
      this.status,
    );
    this.rows = [];
  }

  set state(s) {
    this.el.dataset.state = s;
    this.csvButton.disabled = s !== 'ready';
  }

  get state() {
    return this.el.dataset.state;
  }

  // setRows records the rows the figure is drawn from: the CSV and the
  // table are made from these, so they say what the chart says.
  setRows(rows) {
    this.rows = rows;
  }

  // update puts every text of the frame in the current language.
  update() {
    const s = this.section;
    this.heading.textContent = t(`${s.id}.title`);
    this.desc.textContent = t(`${s.id}.desc`);
    this.csvButton.textContent = t('csv');
    this.csvButton.setAttribute('aria-label', `${t('csv')}: ${t(`${s.id}.title`)}`);
    this.csvHint.textContent = this.state === 'ready' ? `${t('rows', this.rows.length)}; ${t('csv.hint')}` : '';
    this.tableSummary.textContent = t('table');
    this.querySummary.textContent = t('query');
    this.renderQueries();
    this.renderTable();
    if (this.state === 'loading') this.status.textContent = t('loading');
    else if (this.state === 'ready') this.status.textContent = '';
  }

  fail(err) {
    this.state = 'error';
    console.error(`${this.section.id}:`, err);
    this.status.setAttribute('role', 'alert');
    this.status.textContent = `${t('error')}: ${err.message}`;
  }

  // renderQueries shows the queries the section ran, with their variables,
  // each with a link that opens it in GraphiQL.
  renderQueries() {
    const queries = this.section.queries();
    this.queryBody.replaceChildren(
      ...queries.flatMap(({ text, variables }) => [
        h('pre', { tabindex: '0' }, h('code', { text })),
        variables ? h('p', { class: 'vars-label', text: t('variables') }) : null,
        variables ? h('pre', { tabindex: '0' }, h('code', { text: JSON.stringify(variables, null, 2) })) : null,
        h('p', {}, h('a', { href: graphiqlLink(text, variables), class: 'graphiql', text: t('graphiql') })),
      ]).filter(Boolean),
    );
  }

  // renderTable fills the data table, only while it is open: most readers
  // never open it, and the trend's has a row per year, region and sex.
  renderTable() {
    if (!this.tableDetails?.open) return;
    this.tableWrap.replaceChildren(dataTable(this.section.columns, this.rows, t(`${this.section.id}.title`)));
    this.tableWrap.setAttribute('aria-label', `${t('table')}: ${t(`${this.section.id}.title`)}`);
  }

  downloadCSV() {
    const date = new Date().toISOString().slice(0, 10);
    download(`civic-ledger-${this.section.csvName}-${date}.csv`, toCSV(this.section.columns, this.rows));
  }
}

// dataTable shows rows under the columns that have a label, each cell
// formatted for the reader (column.show), or as it is.
export function dataTable(columns, rows, caption) {
  const shown = columns.filter((c) => c.label);
  const numeric = (c) => c.numeric;
  return h(
    'table',
    {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, ...shown.map((c) => h('th', { scope: 'col', class: numeric(c) ? 'num' : null, text: t(c.label) })))),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h(
          'tr',
          {},
          ...shown.map((c) => {
            const v = c.show ? c.show(row) : row[c.key];
            return h('td', { class: numeric(c) ? 'num' : null }, v instanceof Node ? v : String(v ?? ''));
          }),
        ),
      ),
    ),
  );
}

// chartBox makes the container an ECharts chart is drawn in: an image to
// assistive technology, with its label, and the height the rows need.
export function chartBox(view, height) {
  let box = view.figure.querySelector('.chart');
  if (!box) {
    box = h('div', { class: 'chart', role: 'img' });
    view.figure.replaceChildren(box);
  }
  box.style.height = `${height}px`;
  box.setAttribute('aria-label', t('chart.label', t(`${view.section.id}.title`)));
  box.lang = lang();
  return box;
}

// keepFocus redraws part of the page without losing the keyboard's place:
// a section redrawn (a region chosen, the language switched) makes its
// controls anew, so the element that had focus is found again by its id
// or its region and focused.
export function keepFocus(container, redraw) {
  const active = document.activeElement;
  let selector = null;
  if (active && active !== document.body && container.contains(active)) {
    if (active.id) selector = `#${CSS.escape(active.id)}`;
    else if (active.dataset.region) selector = `[data-region="${CSS.escape(active.dataset.region)}"]`;
  }
  redraw();
  if (selector && !container.contains(document.activeElement)) container.querySelector(selector)?.focus();
}
