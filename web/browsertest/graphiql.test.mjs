// GraphiQL, embedded in the civic binary, in headless chromium:
//
//   BASE_URL=http://127.0.0.1:8080 SCREENSHOT_DIR=/tmp/shots node web/browsertest/graphiql.test.mjs
//
// It loads with requests to BASE_URL only (the offline proof: any other
// origin fails the test), its explorer lists the schema's Query fields,
// a query runs and shows the data the API gives, the Examples menu has a
// role's examples and puts an API key in the headers, a subscription
// receives messages over graphql-ws, and a link (?query=&variables=, as
// the dashboard makes) opens its operation. A screenshot of each step goes to
// SCREENSHOT_DIR. Against a server holding the demo data.
import { env, fail, launch, shot, step, watchOrigins } from './browser.mjs';

const { base, shots } = env();
const started = Date.now();

// api asks the server directly, as the page's fetcher would: what the
// page shows is checked against it, not against figures written here.
async function api(query, variables, headers = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (!res.ok || body.errors) throw new Error(`${query.slice(0, 60)}…: HTTP ${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

// editorText reads a Monaco model of the page by the end of its URI
// (GraphiQL names them operation.graphql, variables.json,
// request-headers.json, response.json): Monaco renders only the lines in
// view, so the DOM does not hold the whole text.
const editorText = (page, suffix) =>
  page.evaluate((s) => {
    const m = globalThis.__MONACO?.editor.getModels().find((x) => x.uri.toString().endsWith(s));
    return m ? m.getValue() : null;
  }, suffix);

// response waits until the response editor holds JSON that pred accepts
// and returns it.
async function response(page, pred, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (await editorText(page, 'response.json')) ?? '';
    try {
      const v = JSON.parse(last);
      if (pred(v)) return v;
    } catch {
      // Not JSON yet (empty, or a subscription's message being written).
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`no response with ${what} within ${timeout} ms; the response editor holds: ${last.slice(0, 400)}`);
}

const browser = await launch();
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const origins = watchOrigins(context, base);
  const problems = [];
  context.on('page', (p) => {
    p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    p.on('console', (msg) => {
      // A Content-Security-Policy violation is how a request to another
      // origin that the policy stopped shows: fail on it too.
      if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  });
  page = await context.newPage();

  await step('GraphiQL loads from the server alone', async () => {
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    if (res.status() !== 200) throw new Error(`GET / = ${res.status()}`);
    await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => globalThis.__MONACO?.editor.getModels().some((m) => m.uri.toString().endsWith('operation.graphql') && m.getValue().length > 0), null, { timeout: 20_000 });
    const query = await editorText(page, 'operation.graphql');
    if (!/query Welcome/.test(query)) throw new Error(`the editor opened on ${JSON.stringify(query.slice(0, 80))}, want the Welcome example`);
    // The schema is introspected once the page is up; its Monaco workers
    // start with the editors.
    await page.waitForLoadState('networkidle');
    await shot(page, shots, 'graphiql-1-loaded');
    return `${origins.seen.requests} requests, all to ${base}`;
  });

  await step('the explorer lists the schema', async () => {
    const data = await api('{ __schema { queryType { fields { name } } } }');
    const fields = data.__schema.queryType.fields.map((f) => f.name);
    await page.getByRole('button', { name: 'Show GraphiQL Explorer' }).click();
    const panel = page.locator('.graphiql-plugin');
    await panel.getByText('certificates', { exact: true }).first().waitFor({ timeout: 10_000 });
    const text = await panel.innerText();
    const missing = fields.filter((f) => !new RegExp(`(^|\\W)${f}(\\W|$)`).test(text));
    if (missing.length) throw new Error(`the explorer lacks ${missing.length} of the ${fields.length} Query fields: ${missing.join(', ')}`);
    await shot(page, shots, 'graphiql-2-explorer');
    return `all ${fields.length} Query fields listed`;
  });

  await step('a query runs and shows its data', async () => {
    const query = await editorText(page, 'operation.graphql');
    const want = await api(query);
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const got = await response(page, (v) => v.data?.certificates, 'data.certificates');
    if (got.errors) throw new Error(`errors: ${JSON.stringify(got.errors)}`);
    if (got.data.certificates.length === 0) throw new Error('no certificates: is the demo data loaded?');
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(got.data.certificates, want.certificates) || !same(got.data.regions, want.regions)) {
      throw new Error('the page shows other certificates or regions than the API answers');
    }
    await shot(page, shots, 'graphiql-3-query');
    return `${got.data.certificates.length} certificates and ${got.data.regions.length} regions, as the API answers`;
  });

  await step('the Examples menu has each role and puts a key in the headers', async () => {
    await page.getByRole('button', { name: 'Show Examples' }).click();
    const select = page.getByRole('combobox', { name: 'Role' });
    const roles = await select.locator('option').allInnerTexts();
    if (roles.length < 2 || !/no key/.test(roles[0])) throw new Error(`roles: ${roles.join(', ')}`);
    await select.selectOption({ label: 'Auditor' });
    const examples = page.locator('.civic-example');
    const titles = await examples.locator('.civic-title').allInnerTexts();
    if (titles.length === 0) throw new Error('the Auditor role has no examples');
    await examples.first().click();
    await page.getByLabel('API key').fill('civ_example_key');
    await page.getByRole('button', { name: "Put the key in this tab's headers" }).click();
    const headers = await editorText(page, 'request-headers.json');
    if (!/"Authorization":\s*"Bearer civ_example_key"/.test(headers ?? '')) throw new Error(`headers editor: ${headers}`);
    const query = await editorText(page, 'operation.graphql');
    if (!query.includes(titles[0])) throw new Error(`the tab opened on ${JSON.stringify(query.slice(0, 80))}, not on "${titles[0]}"`);
    await shot(page, shots, 'graphiql-4-examples');
    return `${roles.length} roles (${roles.join(', ')}); the auditor's ${titles.length} examples; the key in the headers`;
  });

  await step('a subscription receives messages over graphql-ws', async () => {
    await page.getByRole('combobox', { name: 'Role' }).selectOption({ index: 0 });
    // From a little before the log's head: the last public events come at
    // once, then the live ones.
    const { projections } = await api('{ projections { head } }');
    const after = Math.max(0, Math.max(...projections.map((p) => p.head)) - 200);
    // Execute follows the example's opening at once, as a quick user's
    // click would: GraphiQL must already know the new operation (it sent
    // the previous tab's name when it learnt it only from the editor).
    await page.locator('.civic-example', { hasText: 'Subscription: events as they enter the log' }).click();
    await page.evaluate((v) => {
      globalThis.__MONACO.editor.getModels().find((m) => m.uri.toString().endsWith('variables.json')).setValue(v);
    }, JSON.stringify({ after }));
    const socketsBefore = origins.seen.sockets;
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const got = await response(page, (v) => v.data?.events?.position > after, `data.events after position ${after}`);
    if (origins.seen.sockets <= socketsBefore) throw new Error('the subscription opened no WebSocket');
    await shot(page, shots, 'graphiql-5-subscription');
    await page.getByRole('button', { name: /^Stop query/ }).click();
    return `event ${got.data.events.type} at position ${got.data.events.position} (after ${after}), over ${base.replace(/^http/, 'ws')}/graphql`;
  });

  await step('a link opens its operation in a tab of its own', async () => {
    const { regions } = await api('{ regions { code } }');
    const query = 'query Linked($code: ID!) { region(code: $code) { code name { en } population2014 } }';
    const variables = JSON.stringify({ code: regions[regions.length - 1].code });
    await page.goto(`${base}/?${new URLSearchParams({ query, variables })}`, { waitUntil: 'load' });
    await page.waitForFunction((q) => globalThis.__MONACO?.editor.getModels().some((m) => m.uri.toString().endsWith('operation.graphql') && m.getValue() === q), query, { timeout: 20_000 });
    const tabs = await page.locator('.graphiql-tab').count();
    if (tabs < 2) throw new Error(`${tabs} tab(s): the linked operation should open beside the tabs kept from before`);
    if ((await editorText(page, 'variables.json')) !== variables) throw new Error('the variables of the link are not in the variables editor');
    const want = await api(query, JSON.parse(variables));
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const got = await response(page, (v) => v.data?.region, 'data.region');
    if (JSON.stringify(got.data) !== JSON.stringify(want)) throw new Error(`the page shows ${JSON.stringify(got.data)}, the API ${JSON.stringify(want)}`);
    await shot(page, shots, 'graphiql-6-link');
    return `${tabs} tabs, the linked one active; ${got.data.region.name.en} as the API answers`;
  });

  await step('nothing was requested from another origin', async () => {
    if (origins.foreign.length) throw new Error(`requests to other origins: ${origins.foreign.join(', ')}`);
    if (problems.length) throw new Error(problems.join('\n'));
    return `${origins.seen.requests} requests and ${origins.seen.sockets} WebSockets, all to ${new URL(base).host}`;
  });
} catch (err) {
  if (page) await shot(page, shots, 'graphiql-failure').catch(() => {});
  await browser.close();
  fail(err?.stack || String(err));
}
await browser.close();
console.log(`PASS graphiql in ${((Date.now() - started) / 1000).toFixed(1)} s`);
