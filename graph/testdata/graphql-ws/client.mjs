// The npm graphql-ws client against the server, as a dashboard would run
// it: graph/ws_test.go starts this script and judges what it prints.
//
//   CIVIC_KEY=<key> node client.mjs <ws URL> <query> [variables JSON] [results to take]
//
// With no key the client connects anonymously. With "results to take" N > 0
// the client completes the operation itself after N results; with 0 it
// waits for the server to complete it. It retries as a dashboard would
// (5 attempts), only quickly. It prints one JSON line: the sockets it
// opened, the closes it saw (the first 20 codes and reasons), the results,
// and the error the operation ended with, if any.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

const [url, query, variables = '{}', take = '0'] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node client.mjs <ws URL> <query> [variables JSON] [results to take]');
  process.exit(2);
}
const key = process.env.CIVIC_KEY ?? '';
const want = Number(take);

const report = {
  connecting: 0,
  opened: 0,
  connected: 0,
  closes: 0,
  closeCodes: [],
  closeReasons: [],
  results: [],
  completed: false,
  error: null,
  timedOut: false,
};

// describe makes what the client rejects with printable: a close event,
// the GraphQL errors of an error message, or an Error.
function describe(err) {
  if (Array.isArray(err)) return { graphqlErrors: err };
  if (err && typeof err === 'object' && 'code' in err) return { code: err.code, reason: err.reason };
  return { message: String(err?.message ?? err) };
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: key ? { Authorization: `Bearer ${key}` } : {},
  retryAttempts: 5,
  retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
  on: {
    connecting: () => report.connecting++,
    opened: () => report.opened++,
    connected: () => report.connected++,
    closed: (event) => {
      // A client reconnecting in a loop closes thousands of sockets: the
      // count says so, the first codes say why.
      if (report.closes++ < 20) {
        report.closeCodes.push(event?.code);
        report.closeReasons.push(event?.reason);
      }
    },
  },
});

const timeout = setTimeout(() => finish({ timedOut: true }), 20_000);

await new Promise((resolve) => {
  let dispose = () => {};
  dispose = client.subscribe(
    { query, variables: JSON.parse(variables) },
    {
      next: (value) => {
        report.results.push(value);
        if (want > 0 && report.results.length >= want) dispose();
      },
      error: (err) => {
        report.error = describe(err);
        resolve();
      },
      complete: () => {
        report.completed = true;
        resolve();
      },
    },
  );
});
await client.dispose();
// The closed event of the client's own close comes a moment later.
setTimeout(() => finish({}), 300);

function finish(extra) {
  clearTimeout(timeout);
  Object.assign(report, extra);
  // Exit once the line is written: a pipe is written asynchronously.
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
}
