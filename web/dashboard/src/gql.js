// The dashboard's only source of data: the public GraphQL API, asked as an
// anonymous caller, so every figure on the page is one anybody can get
// with the query shown beside it.

// The API's address, relative to the page (/dashboard/ -> /graphql), so the
// page works wherever the binary is served.
export const ENDPOINT = new URL('../graphql', document.baseURI).href;

// GraphQLError carries the API's errors (message and extensions.code).
export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'GraphQLError';
    this.errors = errors;
  }
}

// gql runs one query. credentials: 'omit' keeps it anonymous even where the
// browser holds a cookie for the host: the page shows only what the public
// is shown. An answer with errors is an error, not a partial chart.
export async function gql(query, variables) {
  const res = await fetch(ENDPOINT, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`${ENDPOINT}: HTTP ${res.status}`);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors);
  if (!res.ok || !body.data) throw new Error(`${ENDPOINT}: HTTP ${res.status}`);
  return body.data;
}

// graphiqlLink opens the query in the server's GraphiQL (at /), which reads
// the query and variables from the address as GraphiQL's examples do.
export function graphiqlLink(query, variables) {
  const u = new URL('../', document.baseURI);
  u.searchParams.set('query', query);
  if (variables) u.searchParams.set('variables', JSON.stringify(variables, null, 2));
  return u.href;
}
