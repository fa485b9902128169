// The dashboard: seven sections, each one query (or two) of the public
// GraphQL API drawn as a chart, a tile grid or a table, in Georgian or
// English.
import './style.css';
import 'virtual:fonts.css';
import { LANGS, lang, setLang, t, initialLang } from './i18n.js';
import { View, keepFocus } from './ui.js';
import * as echarts from 'echarts/core';
import regions from './sections/regions.js';
import trend from './sections/trend.js';
import percapita from './sections/percapita.js';
import certificates from './sections/certificates.js';
import indicators from './sections/indicators.js';
import budgets from './sections/budgets.js';
import ranking from './sections/ranking.js';

const SECTIONS = [regions, trend, percapita, certificates, indicators, budgets, ranking];
const STORED = 'civic-dashboard-lang';

// app is what sections share: the region chosen (by a tile or the trend's
// chooser), and a way to redraw a section.
const app = {
  state: { region: '' },
  views: new Map(),
  selectRegion(code) {
    this.state.region = code;
    this.rerender('regions');
    this.rerender('trend');
  },
  rerender(id) {
    const view = this.views.get(id);
    if (view?.state !== 'ready') return;
    keepFocus(view.el, () => {
      view.section.render(this, view);
      view.update();
    });
  },
};

// The fonts are in the bundle; charts measure their labels when drawn, so
// they wait for the fonts (which load while the queries run) to measure
// with the right ones. A font that fails to load is no reason not to draw.
const fontsLoaded = Promise.all(
  ['400 1em "Noto Sans"', '700 1em "Noto Sans"', '400 1em "Noto Sans Georgian"', '700 1em "Noto Sans Georgian"'].map((f) =>
    document.fonts.load(f, f.includes('Georgian') ? 'ა' : 'a'),
  ),
).catch(() => {});

function applyLang(l) {
  setLang(l);
  document.documentElement.lang = l;
  document.title = `${t('title')} · Civic Ledger`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const b of document.querySelectorAll('.lang button')) b.setAttribute('aria-pressed', String(b.dataset.lang === l));
  for (const view of app.views.values()) {
    keepFocus(view.el, () => {
      if (view.state === 'ready') view.section.render(app, view);
      view.update();
    });
  }
}

function start() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORED);
  } catch {
    // Storage may be refused (private windows, policies): the choice is then not remembered.
  }
  const main = document.getElementById('main');
  for (const section of SECTIONS) {
    const view = new View(section);
    app.views.set(section.id, view);
    main.append(view.el);
  }
  applyLang(initialLang(location.search, stored, navigator.languages));
  for (const b of document.querySelectorAll('.lang button')) {
    b.addEventListener('click', () => {
      const l = b.dataset.lang;
      if (!LANGS.includes(l) || l === lang()) return;
      try {
        localStorage.setItem(STORED, l);
      } catch {
        // not remembered; see above
      }
      applyLang(l);
    });
  }

  // Every section loads at once; each draws as soon as its data and the
  // fonts are in, and shows its own error if its query fails.
  const loads = [...app.views.values()].map(async (view) => {
    try {
      await view.section.load(app, view);
      await fontsLoaded;
      view.state = 'ready';
      // Each section's drawing is measured (render:<id> in the browser's
      // performance timeline), for docs/PERFORMANCE.md and for anyone
      // profiling the page.
      performance.mark(`render-start:${view.section.id}`);
      view.section.render(app, view);
      view.update();
      performance.measure(`render:${view.section.id}`, `render-start:${view.section.id}`);
    } catch (err) {
      view.fail(err);
      throw err;
    }
  });
  const ready = Promise.allSettled(loads).then((results) => {
    const failed = results.filter((r) => r.status === 'rejected').length;
    document.body.dataset.state = failed ? 'error' : 'ready';
    performance.mark('dashboard-ready');
    return { failed };
  });

  // For the browser test and for anyone curious in the console: the chart
  // instances by section, and a promise of the first full draw.
  window.civicDashboard = {
    ready,
    charts() {
      const out = {};
      for (const [id, view] of app.views) {
        const el = view.figure.querySelector('.chart');
        const chart = el && echarts.getInstanceByDom(el);
        if (chart) out[id] = chart;
      }
      return out;
    },
    rows: (id) => app.views.get(id)?.rows,
  };
}

start();
