// The "Examples" panel: a menu of example operations per role, taken
// from web/graphiql/examples (build.mjs validates them against
// graph/schema and bundles them as the civic:examples module), and the
// API key that goes with them.
import { useState } from 'react';
import {
  useGraphiQLActions,
  useOperationsEditorState,
  useVariablesEditorState,
  useHeadersEditorState,
} from '@graphiql/react';
import { parse, Kind } from 'graphql';
import catalogue from 'civic:examples';

// GraphiQL opens on the anonymous role's first example: something that
// answers on a fresh server without a key.
export const defaultExample = catalogue[0].examples[0];

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <path d="M4 5h16M4 10h16M4 15h10M4 20h7" strokeLinecap="round" />
    </svg>
  );
}

// withKey returns the headers editor's JSON with Authorization set to
// the key, or without it when the key is empty; other headers stay.
function withKey(headersText, key) {
  let headers = {};
  try {
    const parsed = JSON.parse(headersText || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) headers = parsed;
  } catch {
    // Not JSON (the user is typing): start afresh rather than lose the key.
  }
  delete headers.Authorization;
  delete headers.authorization;
  const k = key.trim();
  if (k) headers.Authorization = /^bearer\s/i.test(k) ? k : `Bearer ${k}`;
  return Object.keys(headers).length ? JSON.stringify(headers, null, 2) : '';
}

function Examples() {
  const { addTab, setOperationFacts } = useGraphiQLActions();
  const [, setQuery] = useOperationsEditorState();
  const [, setVariables] = useVariablesEditorState();
  const [headers, setHeaders] = useHeadersEditorState();
  const [roleName, setRoleName] = useState(catalogue[0].role);
  const [key, setKey] = useState('');
  const role = catalogue.find((r) => r.role === roleName) ?? catalogue[0];

  const open = (example) => {
    addTab();
    setQuery(example.query);
    // GraphiQL learns the operation's name and kind from the editor 100 ms
    // after it changes; Execute pressed sooner sent the previous tab's
    // operation name (and, for a subscription, went over HTTP). The
    // examples are valid (build.mjs checks them), so say it at once.
    const documentAST = parse(example.query);
    const operations = documentAST.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    setOperationFacts({ documentAST, operations, operationName: operations[0]?.name?.value });
    setVariables(example.variables ?? '');
    setHeaders(withKey(headers, role.role === 'anonymous' ? '' : key));
  };

  return (
    <div className="civic-examples">
      <div className="graphiql-doc-explorer-title">Examples</div>
      <label className="civic-field">
        <span>Role</span>
        <select value={role.role} onChange={(e) => setRoleName(e.target.value)} aria-label="Role">
          {catalogue.map((r) => (
            <option key={r.role} value={r.role}>{r.label}</option>
          ))}
        </select>
      </label>
      <p className="civic-about">{role.about}</p>
      {role.keyCommand && (
        <>
          <p className="civic-about">
            A key of this role: <code>{role.keyCommand}</code>
          </p>
          <label className="civic-field">
            <span>API key</span>
            <input
              type="password"
              autoComplete="off"
              spellCheck="false"
              placeholder="civ_…"
              value={key}
              aria-label="API key"
              onChange={(e) => setKey(e.target.value)}
            />
          </label>
          <button type="button" className="graphiql-button civic-use-key" onClick={() => setHeaders(withKey(headers, key))}>
            Put the key in this tab's headers
          </button>
        </>
      )}
      <ul className="civic-list">
        {role.examples.map((ex) => (
          <li key={ex.name}>
            <button type="button" className="graphiql-un-styled civic-example" onClick={() => open(ex)} data-example={ex.name}>
              <span className="civic-title">{ex.title}</span>
              {ex.kind !== 'query' && <span className="civic-kind">{ex.kind}</span>}
              <span className="civic-description">{ex.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function examplesPlugin() {
  return { title: 'Examples', icon: ExamplesIcon, content: Examples };
}
