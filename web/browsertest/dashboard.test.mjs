// The dashboard (/dashboard/), embedded in the civic binary, in headless
// chromium:
//
//   BASE_URL=http://127.0.0.1:8080 SCREENSHOT_DIR=/tmp/shots node web/browsertest/dashboard.test.mjs
//
// Against a server holding the demo data. It checks that the page loads
// with requests to BASE_URL only (the offline proof), that every chart is
// drawn from data and shows what the API answers to the query printed
// beside it, that every section's CSV file is that answer field for field
// (UTF-8 with a byte-order mark), that the language buttons switch the
// page between Georgian and English by mouse and keyboard, that a region
// tile filters the trend, and that the page fits 360 px. It prints the
// first load's bytes, requests and time until every chart is drawn, and
// saves screenshots in both languages and at 360 px.
import { readFile } from 'node:fs/promises';
import { env, fail, launch, shot, step, watchOrigins } from './browser.mjs';

const { base, shots } = env();
const url = `${base}/dashboard/`;

// api asks the server directly: what the page shows is checked against
// the API's own answer, never against figures written here.
async function api(query, variables) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (!res.ok || body.errors) throw new Error(`${query.slice(0, 60)}…: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

// flatten turns an answer's object into one row: nested objects' fields
// joined by "_" (municipality { name { ka } } is municipality_name_ka),
// the naming the dashboard's CSV files promise.
function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}_${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

// parseCSV reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into
// rows of strings. Written here rather than shared with the page, so a
// mistake in the page's writer is not repeated in the reading.
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') throw new Error(`bare line break at ${i}: want CRLF`);
    else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) throw new Error('the last line has no CRLF');
  return rows;
}

// The sections, and how a section's CSV rows come out of the answer to
// the query the page shows beside it (ranking adds the round it ran for).
const SECTIONS = {
  regions: (d) => {
    const f = new Map(d.participationTrend.map((r) => [r.region.code, r]));
    return d.regions.map((r) => ({
      ...flatten(r),
      activities: f.get(r.code)?.activities ?? 0,
      attendance: f.get(r.code)?.attendance ?? 0,
      attendancePer1000: f.get(r.code)?.attendancePer1000 ?? null,
    }));
  },
  trend: (d) => d.participationTrend.map((r) => flatten(r)),
  percapita: (d) => d.participationTrend.map((r) => flatten(r)),
  certificates: (d) => d.certificates.map((r) => flatten(r)),
  indicators: (d) =>
    d.projects.flatMap((p) =>
      p.indicators.map((i) => ({
        ...flatten({ id: p.id, title: p.title }, 'project'),
        ...flatten({ ...i, target: i.target ?? { value: null, start: null, end: null } }),
      })),
    ),
  budgets: (d) => d.budgetCycles.edges.map((e) => e.node).filter((c) => c.statistics.delivery && c.municipality).map((c) => flatten(c)),
  ranking: (d, v) => d.ranking.map((r) => ({ round: v.round, ...flatten(r) })),
};
const CHARTS = ['trend', 'percapita', 'indicators', 'budgets', 'ranking'];
const georgian = /[\u10D0-\u10FF]/;

// The demo data loads in the background after the server starts (the
// benchmark last, about a minute in): wait, within bounds, until every
// section has something to show, so the page is judged on full data.
await step('the demo data is in the API', async () => {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const d = await api(`{ certificates { number } projects { id } benchmarkRounds { publishedOn }
      budgetCycles(first: 1) { edges { node { id } } } participationTrend(groupBy: []) { attendance } }`).catch((err) => ({ err }));
    const ready =
      !d.err &&
      d.certificates.length > 0 &&
      d.projects.length > 0 &&
      d.benchmarkRounds.some((r) => r.publishedOn) &&
      d.budgetCycles.edges.length > 0 &&
      d.participationTrend[0]?.attendance > 0;
    if (ready) return `${d.certificates.length} certificates, ${d.projects.length} projects, ${d.benchmarkRounds.length} benchmark rounds`;
    if (Date.now() > deadline) throw new Error(`not all there after 300 s: ${d.err?.message ?? JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
});

const browser = await launch();
let page;
const passed = [];
const check = async (name, fn) => {
  await step(name, fn);
  passed.push(name);
};
try {
  // A Georgian browser, a cold cache: the first load as a new visitor
  // in Tbilisi makes it.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ka-GE', acceptDownloads: true });
  const origins = watchOrigins(context, base);
  const problems = [];
  context.on('page', (p) => {
    p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    p.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
  });
  page = await context.newPage();

  // The first load's figures from the browser's own network events:
  // bytes as they came over the wire (headers and compressed bodies).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  const load = { bytes: 0, requests: 0, graphql: 0 };
  cdp.on('Network.requestWillBeSent', (e) => {
    load.requests++;
    if (e.request.url.endsWith('/graphql')) load.graphql++;
  });
  cdp.on('Network.loadingFinished', (e) => {
    load.bytes += e.encodedDataLength;
  });

  let timing;
  await check('the dashboard loads, every section ready', async () => {
    const t0 = Date.now();
    const res = await page.goto(url, { waitUntil: 'load' });
    if (res.status() !== 200) throw new Error(`GET ${url} = ${res.status()}`);
    const csp = res.headers()['content-security-policy'] || '';
    if (!/default-src 'self'/.test(csp)) throw new Error(`no same-origin Content-Security-Policy: ${csp}`);
    await page.waitForFunction(() => globalThis.civicDashboard, null, { timeout: 20_000 });
    const { failed } = await page.evaluate(() => civicDashboard.ready);
    const wall = Date.now() - t0;
    if (failed) {
      const errors = await page.locator('section[data-state="error"] .status').allTextContents();
      throw new Error(`${failed} sections failed: ${errors.join(' | ')}`);
    }
    timing = await page.evaluate(() => ({
      ready: performance.getEntriesByName('dashboard-ready')[0].startTime,
      dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    }));
    timing.wall = wall;
    // The first load ends here: later requests (downloads, a round chosen) are not part of it.
    timing.load = { ...load };
    // Nothing the page wrote came out as a JavaScript placeholder, open
    // panels or closed ones.
    const junk = (await page.locator('main').textContent()).match(/.{0,40}(null|undefined|\bNaN\b|\[object Object\]).{0,40}/);
    if (junk) throw new Error(`the page shows ${JSON.stringify(junk[0])}`);
    const states = await page.locator('main > section').evaluateAll((ss) => ss.map((s) => `${s.id}=${s.dataset.state}`));
    if (states.length !== Object.keys(SECTIONS).length || states.some((s) => !s.endsWith('=ready'))) throw new Error(states.join(', '));
    return states.join(', ');
  });

  await check('a Georgian browser gets the page in Georgian', async () => {
    const lang = await page.evaluate(() => document.documentElement.lang);
    const h1 = await page.locator('h1').textContent();
    if (lang !== 'ka' || !georgian.test(h1)) throw new Error(`lang=${lang}, h1=${h1}`);
    const pressed = await page.locator('.lang button[aria-pressed="true"]').getAttribute('data-lang');
    if (pressed !== 'ka') throw new Error(`the pressed language button is ${pressed}`);
    return h1;
  });

  // The queries beside the charts, as the page shows them: the test runs
  // these very texts, so a query shown is a query that gives the chart.
  const shown = {};
  for (const id of Object.keys(SECTIONS)) {
    const pres = await page.locator(`#s-${id} details.query pre code`).allTextContents();
    shown[id] = { query: pres.find((p) => /^query /.test(p) && (id !== 'ranking' || /ranking\(/.test(p))) };
    if (id === 'ranking') shown[id].variables = JSON.parse(pres[pres.length - 1]);
    if (!shown[id].query) throw new Error(`#s-${id} shows no query`);
  }

  await check('every chart is drawn from data, and its figures are the API’s', async () => {
    const charts = await page.evaluate(() =>
      Object.fromEntries(
        Object.entries(civicDashboard.charts()).map(([id, c]) => [
          id,
          {
            series: c.getOption().series.map((s) => ({
              name: s.name,
              type: s.type,
              data: s.data.map((d) => (d !== null && typeof d === 'object' ? d.value : d)),
            })),
            svgShapes: c.getDom().querySelectorAll('svg path, svg rect').length,
            label: c.getDom().getAttribute('aria-label'),
            role: c.getDom().getAttribute('role'),
          },
        ]),
      ),
    );
    const out = [];
    for (const id of CHARTS) {
      const c = charts[id];
      if (!c) throw new Error(`${id}: no ECharts instance`);
      const points = c.series.reduce((n, s) => n + s.data.filter((v) => typeof v === 'number').length, 0);
      if (!c.series.length || points === 0) throw new Error(`${id}: ${c.series.length} series, ${points} points`);
      if (c.svgShapes < points) throw new Error(`${id}: ${points} points but ${c.svgShapes} shapes drawn`);
      if (c.role !== 'img' || !c.label) throw new Error(`${id}: role=${c.role} aria-label=${c.label}`);
      out.push(`${id} ${c.series.length} series/${points} points`);
    }

    // The trend's bars, with every region shown, add up to the API's
    // attendance by year and sex.
    const trend = await api(shown.trend.query);
    const years = [...new Set(trend.participationTrend.map((r) => r.year))].sort((a, b) => a - b);
    const women = years.map((y) => trend.participationTrend.filter((r) => r.year === y && r.sex === 'FEMALE').reduce((n, r) => n + r.attendance, 0));
    const bar = charts.trend.series.find((s) => s.name === 'ქალი');
    if (JSON.stringify(bar?.data) !== JSON.stringify(women)) throw new Error(`trend: women ${JSON.stringify(bar?.data)}, API ${JSON.stringify(women)}`);

    // Attendance per 1,000: a bar per row, in the API's order.
    const pc = (await api(shown.percapita.query)).participationTrend;
    const bars = pc.map((_, i) => charts.percapita.series.map((s) => s.data[i]).find((v) => typeof v === 'number'));
    if (JSON.stringify(bars) !== JSON.stringify(pc.map((r) => r.attendancePer1000))) throw new Error(`percapita: ${JSON.stringify(bars)}`);

    // The ranking: a bar per municipality at its score.
    const rk = (await api(shown.ranking.query, shown.ranking.variables)).ranking;
    const scores = rk.map((_, i) => charts.ranking.series.map((s) => s.data[i]).find((v) => typeof v === 'number') ?? null);
    if (JSON.stringify(scores) !== JSON.stringify(rk.map((r) => r.score))) throw new Error(`ranking: ${JSON.stringify(scores)}`);
    return out.join('; ');
  });

  await check('the region tiles and the certificate table hold the API’s rows', async () => {
    const d = await api(shown.regions.query);
    const tiles = await page.locator('#s-regions .tile').evaluateAll((ts) => ts.map((t) => t.dataset.region));
    if (JSON.stringify(tiles) !== JSON.stringify(d.regions.map((r) => r.code))) throw new Error(`tiles ${tiles}`);
    const certs = (await api(shown.certificates.query)).certificates;
    const numbers = await page.locator('#s-certificates tbody tr td:first-child').allTextContents();
    if (JSON.stringify(numbers) !== JSON.stringify(certs.map((c) => c.number))) throw new Error(`certificates ${numbers}`);
    return `${tiles.length} tiles, ${numbers.length} certificates`;
  });

  await check('a region tile, pressed from the keyboard, filters the trend to that region', async () => {
    const code = 'kvemo-kartli';
    await page.locator(`#s-regions .tile[data-region="${code}"]`).focus();
    await page.keyboard.press('Enter');
    const focused = await page.evaluate(() => document.activeElement?.dataset.region);
    if (focused !== code) throw new Error(`focus went to ${focused}, want the tile pressed: the keyboard lost its place`);
    if ((await page.locator('#trend-region').inputValue()) !== code) throw new Error('the region chooser did not follow the tile');
    if ((await page.locator(`#s-regions .tile[data-region="${code}"]`).getAttribute('aria-pressed')) !== 'true') throw new Error('the tile is not pressed');
    const d = await api(shown.trend.query);
    const years = [...new Set(d.participationTrend.map((r) => r.year))].sort((a, b) => a - b);
    const men = years.map((y) => d.participationTrend.filter((r) => r.year === y && r.sex === 'MALE' && r.region.code === code).reduce((n, r) => n + r.attendance, 0));
    const bar = await page.evaluate(() => civicDashboard.charts().trend.getOption().series.find((s) => s.name === 'კაცი').data);
    if (JSON.stringify(bar) !== JSON.stringify(men)) throw new Error(`men in ${code}: ${JSON.stringify(bar)}, API ${JSON.stringify(men)}`);
    await page.locator('#trend-region').selectOption('');
    return `men by year in ${code}: ${men.join(', ')}`;
  });

  await check('every section’s CSV is the API’s answer to its query, field for field', async () => {
    const out = [];
    for (const [id, rowsOf] of Object.entries(SECTIONS)) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`#s-${id} button.csv`).click()]);
      const bytes = await readFile(await download.path());
      if (bytes[0] !== 0xef || bytes[1] !== 0xbb || bytes[2] !== 0xbf) throw new Error(`${id}: no UTF-8 byte-order mark`);
      const [header, ...cells] = parseCSV(bytes.subarray(3).toString('utf8'));
      const want = rowsOf(await api(shown[id].query, shown[id].variables), shown[id].variables);
      const keys = Object.keys(want[0] ?? {});
      if (JSON.stringify([...header].sort()) !== JSON.stringify([...keys].sort())) throw new Error(`${id}: columns ${header}, the query's fields ${keys}`);
      if (cells.length !== want.length) throw new Error(`${id}: ${cells.length} rows, API ${want.length}`);
      cells.forEach((row, i) => {
        header.forEach((col, j) => {
          const v = want[i][col];
          const expect = v === null || v === undefined ? '' : String(v);
          if (row[j] !== expect) throw new Error(`${id} row ${i + 1} ${col}: ${JSON.stringify(row[j])}, API ${JSON.stringify(expect)}`);
        });
      });
      const geo = cells.some((r) => r.some((c) => georgian.test(c)));
      out.push(`${id} ${download.suggestedFilename()} ${cells.length}x${header.length}${geo ? ' (Georgian)' : ''}`);
    }
    return out.join('; ');
  });

  await check('each query links to GraphiQL on this server', async () => {
    const links = await page.locator('details.query a.graphiql').evaluateAll((as) => as.map((a) => a.href));
    for (const l of links) {
      const u = new URL(l);
      if (u.origin !== new URL(base).origin || u.pathname !== '/' || !/^query /.test(u.searchParams.get('query') || '')) throw new Error(l);
    }
    return `${links.length} links`;
  });

  await shot(page, shots, 'dashboard-ka');

  await check('the language buttons switch Georgian to English and back, by keyboard', async () => {
    const h2 = page.locator('#h-trend');
    const before = await h2.textContent();
    if (!georgian.test(before)) throw new Error(`heading before: ${before}`);
    await page.locator('.lang button[data-lang="en"]').focus();
    await page.keyboard.press('Enter');
    const after = await h2.textContent();
    if (after !== 'Participation over time by region and sex') throw new Error(`heading after: ${after}`);
    const lang = await page.evaluate(() => document.documentElement.lang);
    const legend = await page.evaluate(() => civicDashboard.charts().trend.getOption().series.map((s) => s.name));
    if (lang !== 'en' || !legend.includes('Women') || legend.some((n) => georgian.test(n))) throw new Error(`lang=${lang}, legend=${legend}`);
    const label = await page.locator('#s-trend .chart').getAttribute('aria-label');
    if (georgian.test(label)) throw new Error(`aria-label still Georgian: ${label}`);
    await shot(page, shots, 'dashboard-en');
    await page.locator('.lang button[data-lang="ka"]').focus();
    await page.keyboard.press('Space');
    const back = await h2.textContent();
    if (back !== before) throw new Error(`heading back: ${back}`);
    return `${JSON.stringify(before)} -> ${JSON.stringify(after)} -> back`;
  });

  await check('the page fits 360 px, and an English browser gets English', async () => {
    const narrow = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'en-GB', deviceScaleFactor: 2 });
    const o2 = watchOrigins(narrow, base);
    const p = await narrow.newPage();
    await p.goto(url, { waitUntil: 'load' });
    await p.waitForFunction(() => globalThis.civicDashboard);
    const { failed } = await p.evaluate(() => civicDashboard.ready);
    if (failed) throw new Error(`${failed} sections failed at 360 px`);
    const lang = await p.evaluate(() => document.documentElement.lang);
    if (lang !== 'en') throw new Error(`lang=${lang}`);
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    if (width > 360) throw new Error(`the page is ${width} px wide`);
    const tooWide = await p.evaluate(() =>
      Object.entries(civicDashboard.charts())
        .filter(([, c]) => c.getWidth() > 360)
        .map(([id]) => id),
    );
    if (tooWide.length) throw new Error(`charts wider than the screen: ${tooWide}`);
    await shot(p, shots, 'dashboard-360-en');
    if (o2.foreign.length) throw new Error(`requests to other origins: ${o2.foreign}`);
    await narrow.close();
    return `scrollWidth ${width}`;
  });

  await check('no request left BASE_URL, and no error in the console', async () => {
    if (origins.foreign.length) throw new Error(`requests to other origins: ${origins.foreign.join(', ')}`);
    if (problems.length) throw new Error(problems.join('; '));
    return `${origins.seen.requests} requests, all to ${new URL(base).origin}`;
  });

  console.log(
    `first load (cold cache, chromium): ${timing.load.requests} requests (${timing.load.graphql} GraphQL), ` +
      `${(timing.load.bytes / 1024).toFixed(1)} KiB transferred, every chart drawn ${Math.round(timing.ready)} ms after navigation ` +
      `(DOMContentLoaded ${Math.round(timing.dcl)} ms; ${timing.wall} ms by the test's clock)`,
  );
  console.log(`dashboard: ${passed.length} checks passed`);
} catch (err) {
  if (page) await shot(page, shots, 'dashboard-failure').catch(() => {});
  fail(err.message);
} finally {
  await browser.close();
}
