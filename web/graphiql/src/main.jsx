// GraphiQL for Civic Ledger, bundled by web/build.mjs into
// web/graphiql/dist and served by the civic binary at /: every byte it
// needs (code, styles, fonts, Monaco's workers) comes from the server it
// is served by, so it works on a closed network.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './civic.css';
import { examplesPlugin, defaultExample } from './examples.jsx';

// Monaco runs its language services in web workers. They are bundled
// beside this file (build.mjs passes their names in CIVIC_WORKERS), never
// fetched from a CDN as graphiql's setup-workers/esm.sh would.
globalThis.MonacoEnvironment = {
  getWorker(_id, label) {
    const name = CIVIC_WORKERS[label === 'json' || label === 'graphql' ? label : 'editor'];
    return new Worker(new URL(name, import.meta.url), { name: `monaco-${label}` });
  },
};

const endpoint = new URL('/graphql', window.location.href);
const subscriptions = new URL(endpoint);
subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

// Queries and mutations go by POST; subscriptions over graphql-ws
// (graphql-transport-ws, what graph/ws.go speaks). The toolkit opens a
// socket per subscription with the headers editor's JSON as the
// connection_init payload, which is where the server reads an
// Authorization header on a WebSocket. The server has no incremental
// delivery (@defer), so plain JSON responses are asked for.
const fetcher = createGraphiQLFetcher({
  url: endpoint.href,
  subscriptionUrl: subscriptions.href,
  enableIncrementalDelivery: false,
});

const explorer = explorerPlugin();
const examples = examplesPlugin();

// A link may carry an operation to open (?query=...&variables=...), as the
// dashboard's "Open in GraphiQL" links do: it opens in a tab of its own,
// beside the tabs kept from before. Never headers: a key does not belong
// in an address.
const linked = new URLSearchParams(window.location.search);
const linkedQuery = linked.get('query') ?? undefined;
const linkedVariables = linkedQuery === undefined ? undefined : (linked.get('variables') ?? undefined);

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL
    fetcher={fetcher}
    plugins={[examples, explorer]}
    visiblePlugin={examples}
    defaultQuery={defaultExample.query}
    initialQuery={linkedQuery}
    initialVariables={linkedVariables}
    // An API key is a secret: kept in the tab, not in localStorage,
    // unless the user asks for it in the settings.
    shouldPersistHeaders={false}
    defaultEditorToolsVisibility={true}
  >
    <GraphiQL.Logo>Civic Ledger</GraphiQL.Logo>
  </GraphiQL>,
);
