package graph_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// env is a whole server on a fresh database: event store with its
// sequencer, projections running, the registry imported, and one API key
// per role.
type env struct {
	t      testing.TB
	clock  *testClock
	url    string
	store  *postgres.Store
	runner *projections.Runner
	db     *pgxpool.Pool
	keys   map[domain.Role]string
	srv    *graph.Server
	// repo writes events as the services do; keyring holds the keys of
	// the personal data they seal.
	repo    *domain.Repository
	keyring *keyring.Keyring
	// signing signs the log's checkpoints.
	signing ed25519.PrivateKey
	// deps are the server's, for another server over the same database.
	deps graph.Deps
}

func newEnv(t testing.TB, cfg graph.Config) *env {
	t.Helper()
	return newEnvTimeout(t, cfg, 5*time.Second)
}

// newEnvTimeout is newEnv with the read connections' statement timeout.
func newEnvTimeout(t testing.TB, cfg graph.Config, statementTimeout time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	url := testdb.URL(t)
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reads, err := pgxpool.New(ctx, fmt.Sprintf("%s&options=-c%%20default_transaction_read_only%%3Don%%20-c%%20statement_timeout%%3D%d",
		url, statementTimeout.Milliseconds()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reads.Close)
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := projections.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := keyring.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	// A signing key, as a server has: the log's checkpoints and proofs
	// are part of what the API serves.
	_, signing, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.New(db, postgres.Options{Logger: quiet, SigningKey: signing})
	kr := keyring.New(db)
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: kr}
	runner := projections.NewRunner(db, store, projections.All(),
		projections.Options{Logger: quiet, Keys: kr})
	bg, stop := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Add(2)
	go func() { defer background.Done(); store.RunSequencer(bg) }()
	go func() { defer background.Done(); runner.Run(bg) }()
	t.Cleanup(func() { stop(); background.Wait(); store.Close() })

	regs := &registry.Service{Repo: repo}
	if _, err := seed.Registry(ctx, regs, access.SystemMeta("test", time.Now())); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: &testClock{}, store: store, runner: runner, db: db, keys: map[domain.Role]string{}, repo: repo, keyring: kr, signing: signing}
	keys := &access.Service{Repo: repo}
	var last int64
	for _, role := range domain.Roles {
		if role == domain.Anonymous {
			continue
		}
		// The roles that act for a place act for Rustavi, in Kvemo Kartli;
		// the ballot box for Rustavi's 2023 budgeting cycle.
		var muni, region, cycle string
		switch role {
		case domain.Applicant, domain.Officer:
			muni = "rustavi"
		case domain.Hub:
			region = "kvemo-kartli"
		case domain.BallotBox:
			cycle = "rustavi-2023"
		}
		key, _, res, err := keys.CreateKey(ctx, access.SystemMeta("test", time.Now()),
			access.CreateKey{Name: "test-" + string(role), Role: role, Municipality: muni, Region: region, Cycle: cycle})
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = key
		if last, err = store.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := runner.WaitFor(wctx, last); err != nil {
		t.Fatalf("read models did not catch up: %v", err)
	}
	deps := graph.Deps{
		Store: store, Registry: regs, Reads: &projections.Reads{DB: reads}, Runner: runner,
		Keys: &projections.Reads{DB: reads}, Logger: quiet, Certification: &certification.Service{Repo: repo}, Networks: &network.Service{Repo: repo}, Projects: &project.Service{Repo: repo}, Activities: &activity.Service{Repo: repo}, Budgeting: &budgeting.Service{Repo: repo}, Benchmark: &benchmark.Service{Repo: repo, Ledger: &projections.Reads{DB: reads}}, Now: e.clock.Now,
		Privacy: &privacy.Service{Repo: repo}, Keyring: kr,
	}
	e.deps = deps
	srv := graph.NewServer(deps, cfg)
	background.Add(1)
	go func() {
		defer background.Done()
		if err := srv.WatchRevocations(bg); err != nil {
			t.Errorf("watching revocations: %v", err)
		}
	}()
	hs := httptest.NewServer(srv.Handler())
	// The test server does not wait for hijacked connections: srv.Close
	// ends the WebSockets before the database goes.
	t.Cleanup(func() { hs.Close(); srv.Close() })
	e.url, e.srv = hs.URL, srv
	return e
}

// serve starts another server over the env's database and services, with
// cfg, and returns its URL.
func (e *env) serve(cfg graph.Config) string {
	e.t.Helper()
	srv := graph.NewServer(e.deps, cfg)
	hs := httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs.URL
}

// testClock is the commands' clock: the real time until a test sets it.
type testClock struct{ at atomic.Int64 }

// Now is the clock's time.
func (c *testClock) Now() time.Time {
	if n := c.at.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Now()
}

// Set makes the clock show t, in Tbilisi, from now on.
func (c *testClock) Set(t time.Time) { c.at.Store(t.UnixNano()) }

// response is a GraphQL response as the tests read it.
type response struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
	ContentType string
}

// code is the first error's code, "" when there is none.
func (r response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

type request struct {
	method      string
	key         string
	contentType string
	body        string
	header      map[string]string
	path        string
}

func (e *env) raw(rq request) response {
	e.t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	if rq.contentType == "" && rq.method == http.MethodPost {
		rq.contentType = "application/json"
	}
	if rq.path == "" {
		rq.path = "/graphql"
	}
	req, err := http.NewRequest(rq.method, e.url+rq.path, strings.NewReader(rq.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if rq.key != "" {
		req.Header.Set("Authorization", "Bearer "+rq.key)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("%s %s: response is not JSON (%d): %s", rq.method, rq.path, resp.StatusCode, b)
	}
	return out
}

// do POSTs a query as role (anonymous: no key).
func (e *env) do(role domain.Role, query string, vars map[string]any, header ...string) response {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return e.raw(request{key: e.keys[role], body: string(body), header: h})
}

// ok fails the test unless the response has data and no errors.
func (r response) ok(t testing.TB) response {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
	}
	return r
}

// get walks the data by a dotted path.
func (r response) get(path string) any {
	var v any = r.Data
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

const registerOrg = `mutation($in: RegisterOrganisationInput!) {
  registerOrganisation(input: $in) { position version organisation { id name { ka en } kind municipality { code } region { code } } }
}`

func orgInput(n int) map[string]any {
	return map[string]any{"in": map[string]any{
		"kind": "CSO", "name": map[string]any{"ka": fmt.Sprintf("სამოქალაქო ინტეგრაციის ფონდი %d", n), "en": fmt.Sprintf("Civic Integration Foundation %d", n)},
		"municipality": "rustavi", "legalForm": "non-commercial legal entity",
		"contact": map[string]any{"email": "info@example.ge", "phone": "+995 32 200 00 00", "person": "Nino"},
		"website": "https://example.ge", "founded": "2005-03-01",
	}}
}

func TestMutationThenReadYourWrite(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	for i := range 20 {
		r := e.do(domain.Admin, registerOrg, orgInput(i)).ok(t)
		pos := fmt.Sprint(r.get("registerOrganisation.position"))
		id, _ := r.get("registerOrganisation.organisation.id").(string)
		if id == "" || r.get("registerOrganisation.organisation.region.code") != "kvemo-kartli" {
			t.Fatalf("payload = %+v, want the organisation as registered, placed in rustavi's region", r.Data)
		}
		// Renamed, then read at the rename's position: the new name, every time.
		ren := e.do(domain.Admin, `mutation($id: ID!, $n: String!) { renameOrganisation(input: {id: $id, name: {ka: $n}}) { position } }`,
			map[string]any{"id": id, "n": fmt.Sprintf("ახალი სახელი %d", i)}).ok(t)
		pos = fmt.Sprint(ren.get("renameOrganisation.position"))
		got := e.do(domain.Anonymous, `query($id: ID!) { organisation(id: $id) { name { ka } version } }`,
			map[string]any{"id": id}, "Civic-Min-Position", pos).ok(t)
		if got.get("organisation.name.ka") != fmt.Sprintf("ახალი სახელი %d", i) || fmt.Sprint(got.get("organisation.version")) != "2" {
			t.Fatalf("read at position %s = %+v, want the new name at version 2", pos, got.Data)
		}
	}
}

func TestRolesAgainstMutations(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	id := r.get("registerOrganisation.organisation.id").(string)
	mutations := []struct {
		name, query string
		vars        map[string]any
	}{
		{"registerOrganisation", registerOrg, orgInput(2)},
		{"renameOrganisation", `mutation($id: ID!) { renameOrganisation(input: {id: $id, name: {ka: "სხვა"}}) { position } }`, map[string]any{"id": id}},
		{"changeOrganisationContact", `mutation($id: ID!) { changeOrganisationContact(input: {id: $id, contact: {email: "x@example.ge"}}) { position } }`, map[string]any{"id": id}},
		{"moveOrganisation", `mutation($id: ID!) { moveOrganisation(input: {id: $id, municipality: "gori"}) { position } }`, map[string]any{"id": id}},
		{"closeOrganisation", `mutation($id: ID!) { closeOrganisation(input: {id: $id, reason: "merged", on: "2024-01-31"}) { position } }`, map[string]any{"id": id}},
	}
	allowed := map[domain.Role]bool{domain.Admin: true}
	for _, m := range mutations {
		for _, role := range domain.Roles {
			if allowed[role] {
				continue
			}
			before, err := e.store.Head(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := e.do(role, m.query, m.vars)
			want := "FORBIDDEN"
			if role == domain.Anonymous {
				want = "UNAUTHENTICATED" // no key at all: sign in, rather than ask for a role
			}
			if got.Status != http.StatusOK || got.code() != want {
				t.Errorf("%s as %s: status %d, code %q (%+v); want 200 and %s", m.name, role, got.Status, got.code(), got.Errors, want)
			}
			time.Sleep(20 * time.Millisecond) // anything written would be sequenced by now
			if after, _ := e.store.Head(context.Background()); after != before {
				t.Errorf("%s as %s wrote events (head %d → %d)", m.name, role, before, after)
			}
		}
		if got := e.do(domain.Admin, m.query, m.vars); got.Status != http.StatusOK || len(got.Errors) > 0 {
			t.Errorf("%s as admin: %d %+v, want success", m.name, got.Status, got.Errors)
		}
	}
}

// TestViewer: every role's key is shown as that role, with the place it
// acts for, if any, and a ballot box's cycle.
func TestViewer(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	const q = `{ viewer { role name municipality { code } region { code } cycle } }`
	for _, role := range domain.Roles {
		// The enum's name: BALLOT_BOX for ballot-box.
		want := map[string]any{"role": strings.ToUpper(strings.ReplaceAll(string(role), "-", "_")), "name": nil, "municipality": nil, "region": nil, "cycle": nil}
		if role != domain.Anonymous {
			want["name"] = "(the key's name)"
		}
		switch role {
		case domain.Applicant, domain.Officer:
			want["municipality"] = map[string]any{"code": "rustavi"}
		case domain.Hub:
			want["region"] = map[string]any{"code": "kvemo-kartli"}
		case domain.BallotBox:
			want["municipality"] = map[string]any{"code": "rustavi"}
			want["cycle"] = "rustavi-2023"
		}
		got, _ := e.do(role, q, nil).ok(t).get("viewer").(map[string]any)
		if name, ok := got["name"].(string); ok && strings.HasPrefix(name, "key:test-"+string(role)+"#") {
			got["name"] = "(the key's name)"
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("viewer as %s = %v, want %v", role, got, want)
		}
	}
}

// TestWhoSeesAContact: an organisation's address is for signed-in
// callers; its contact person's name, e-mail and phone, personal data,
// for admins, auditors and the hub of its region only.
func TestWhoSeesAContact(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	pos := fmt.Sprint(r.get("registerOrganisation.position"))
	q := `{ organisations(first: 5) { edges { node { name { en } contact { email phone person erased } } } } }`
	for _, tc := range []struct {
		role     domain.Role
		contact  bool // the contact object at all
		personal bool
	}{
		{domain.Anonymous, false, false},
		{domain.Analyst, true, false},
		{domain.Applicant, true, false},
		{domain.Expert, true, false},
		{domain.Consortium, true, false},
		{domain.Hub, true, true}, // the env's hub acts for Kvemo Kartli, where Rustavi is
		{domain.Auditor, true, true},
		{domain.Admin, true, true},
	} {
		got := e.do(tc.role, q, nil, "Civic-Min-Position", pos).ok(t)
		edges, _ := got.get("organisations.edges").([]any)
		if len(edges) != 1 {
			t.Fatalf("%s: %+v, want one organisation", tc.role, got.Data)
		}
		node := edges[0].(map[string]any)["node"].(map[string]any)
		if node["name"] == nil {
			t.Fatalf("%s: no organisation in %+v", tc.role, got.Data)
		}
		c, _ := node["contact"].(map[string]any)
		if (c != nil) != tc.contact {
			t.Errorf("%s sees a contact object: %v, want %v", tc.role, c != nil, tc.contact)
		}
		if sees := strings.Contains(fmt.Sprint(got.Data), "info@example.ge") && strings.Contains(fmt.Sprint(got.Data), "Nino"); sees != tc.personal {
			t.Errorf("%s sees the contact person's e-mail and name: %v, want %v (%+v)", tc.role, sees, tc.personal, got.Data)
		}
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t, graph.Config{MaxBodyBytes: 4096, MaxDepth: 5, MaxComplexity: 500, RatePerSecond: -1})
	deep := `{ regions { municipalities { region { municipalities { region { code } } } } } }`
	tests := []struct {
		name   string
		rq     request
		status int
		code   string
	}{
		{"malformed JSON", request{body: `{"query": `}, 400, "BAD_REQUEST"},
		{"wrong content type", request{contentType: "text/plain", body: `{"query":"{ viewer { role } }"}`}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"unacceptable response type", request{body: `{"query":"{ viewer { role } }"}`, header: map[string]string{"Accept": "text/html"}}, 406, "NOT_ACCEPTABLE"},
		{"unparseable query", request{body: `{"query":"{ regions { "}`}, 400, "GRAPHQL_PARSE_FAILED"},
		{"invalid query", request{body: `{"query":"{ regions { nonsense } }"}`}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"bad variables", request{body: `{"query":"query($n: Int) { organisations(first: $n) { totalCount } }","variables":{"n":"many"}}`}, 400, "GRAPHQL_VALIDATION_FAILED"},
		{"bad variables, as application/json", request{body: `{"query":"query($n: Int) { organisations(first: $n) { totalCount } }","variables":{"n":"many"}}`, header: map[string]string{"Accept": "application/json"}}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"variables not an object", request{body: `{"query":"{ viewer { role } }","variables":"oops"}`}, 400, "BAD_REQUEST"},
		{"a body that is not an object", request{body: `["{ viewer { role } }"]`}, 400, "BAD_REQUEST"},
		{"over the depth limit", request{body: mustJSON(map[string]any{"query": deep})}, 422, "DEPTH_LIMIT_EXCEEDED"},
		{"over the complexity limit", request{body: `{"query":"{ organisations(first: 100) { edges { node { id kind name { ka } } } } }"}`}, 422, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"page over the cap", request{body: `{"query":"{ organisations(first: 1000) { totalCount } }"}`}, 200, "BAD_USER_INPUT"},
		{"body over the cap", request{body: `{"query":"{ viewer { role } }", "pad": "` + strings.Repeat("x", 5000) + `"}`}, 413, "PAYLOAD_TOO_LARGE"},
		{"unknown API key", request{key: "civ_000000000000_" + strings.Repeat("0", 64), body: `{"query":"{ viewer { role } }"}`}, 401, "UNAUTHENTICATED"},
		{"malformed API key", request{key: "hunter2", body: `{"query":"{ viewer { role } }"}`}, 401, "UNAUTHENTICATED"},
		{"Civic-Min-Position beyond the head", request{body: `{"query":"{ viewer { role } }"}`, header: map[string]string{"Civic-Min-Position": "999999999"}}, 400, "BAD_REQUEST"},
		{"GET without a persisted query", request{method: http.MethodGet, path: "/graphql?query=%7Bviewer%7Brole%7D%7D"}, 400, "PERSISTED_QUERY_REQUIRED"},
		{"subscription over POST", request{body: `{"query":"subscription { projectionStatus { name } }"}`}, 405, "METHOD_NOT_ALLOWED"},
		{"role without the right", request{key: "analyst", body: mustJSON(map[string]any{"query": registerOrg, "variables": orgInput(9)})}, 200, "FORBIDDEN"},
		{"invalid input", request{key: "admin", body: `{"query":"mutation { registerOrganisation(input: {kind: CSO, name: {ka: \"\"}}) { position } }"}`}, 200, "BAD_USER_INPUT"},
		{"invalid date literal", request{key: "admin", body: `{"query":"mutation { registerOrganisation(input: {kind: CSO, name: {ka: \"ა\"}, founded: \"yesterday\"}) { position } }"}`}, 200, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		if r, ok := map[string]domain.Role{"analyst": domain.Analyst, "admin": domain.Admin}[tt.rq.key]; ok {
			tt.rq.key = e.keys[r]
		}
		before, _ := e.store.Head(context.Background())
		got := e.raw(tt.rq)
		if got.Status != tt.status || got.code() != tt.code {
			t.Errorf("%s: status %d, code %q (%+v); want %d and %s", tt.name, got.Status, got.code(), got.Errors, tt.status, tt.code)
		}
		if len(got.Errors) > 0 && got.Errors[0].Message == "" {
			t.Errorf("%s: the error has no message", tt.name)
		}
		time.Sleep(10 * time.Millisecond)
		if after, _ := e.store.Head(context.Background()); after != before {
			t.Errorf("%s wrote events (head %d → %d)", tt.name, before, after)
		}
	}
	// The server is still up and well.
	e.do(domain.Anonymous, `{ regions { code } }`, nil).ok(t)
}

func TestResponseMediaType(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	if r := e.raw(request{body: `{"query":"{ viewer { role } }"}`}); r.ContentType != "application/graphql-response+json" {
		t.Errorf("default Content-Type = %q, want application/graphql-response+json", r.ContentType)
	}
	if r := e.raw(request{body: `{"query":"{ viewer { role } }"}`, header: map[string]string{"Accept": "application/json"}}); r.ContentType != "application/json" {
		t.Errorf("Accept: application/json → Content-Type %q", r.ContentType)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: 1, RateBurst: 3})
	var limited response
	for range 10 {
		if r := e.do(domain.Analyst, `{ viewer { role } }`, nil); r.Status == http.StatusTooManyRequests {
			limited = r
			break
		}
	}
	if limited.Status != http.StatusTooManyRequests || limited.code() != "RATE_LIMITED" {
		t.Fatalf("10 quick requests with a burst of 3: last %d %q, want 429 RATE_LIMITED", limited.Status, limited.code())
	}
	// Another key has its own bucket.
	e.do(domain.Auditor, `{ viewer { role } }`, nil).ok(t)
}

func TestIntrospectionForSignedInOnly(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	q := `{ __schema { queryType { name } } }`
	if r := e.do(domain.Anonymous, q, nil); r.code() == "" {
		t.Errorf("anonymous introspection = %+v, want refused", r.Data)
	}
	if r := e.do(domain.Analyst, q, nil).ok(t); r.get("__schema.queryType.name") != "Query" {
		t.Errorf("analyst introspection = %+v", r.Data)
	}
	pub := newEnv(t, graph.Config{RatePerSecond: -1, PublicIntrospection: true})
	pub.do(domain.Anonymous, q, nil).ok(t)
}

func TestPersistedQueries(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	q := `{ regions { code } }`
	hash := sha256Hex(q)
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`
	get := func() response {
		return e.raw(request{method: http.MethodGet, path: "/graphql?extensions=" + urlEscape(ext)})
	}
	if r := get(); r.Status != 200 || r.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unknown hash: %d %q, want 200 PERSISTED_QUERY_NOT_FOUND", r.Status, r.code())
	}
	e.raw(request{body: `{"query":` + mustJSON(q) + `,"extensions":` + ext + `}`}).ok(t)
	if r := get().ok(t); len(r.get("regions").([]any)) != 12 {
		t.Fatalf("persisted GET = %+v, want 12 regions", r.Data)
	}
}

func TestRegistryQueries(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Anonymous, `{ regions { code kind population2014 municipalities { code } } region(code: "tbilisi") { name { ka en } } municipality(code: "gori") { kind region { code } population2014 } }`, nil).ok(t)
	regions := r.get("regions").([]any)
	if len(regions) != 12 {
		t.Fatalf("%d regions, want 12", len(regions))
	}
	total, munis := 0.0, 0
	for _, x := range regions {
		reg := x.(map[string]any)
		if p, ok := reg["population2014"].(float64); ok {
			total += p
		}
		munis += len(reg["municipalities"].([]any))
	}
	if total != 3713804 || munis != 69 {
		t.Errorf("regions sum to %v people in %d municipalities, want 3713804 in 69", total, munis)
	}
	if r.get("region.name.ka") != "თბილისი" || r.get("municipality.region.code") != "shida-kartli" || r.get("municipality.population2014") != 125692.0 {
		t.Errorf("lookups = %+v", r.Data)
	}
	// Organisations: search in either language, filters, keyset pages.
	for i := range 7 {
		e.do(domain.Admin, registerOrg, orgInput(i)).ok(t)
	}
	last := e.do(domain.Admin, registerOrg, map[string]any{"in": map[string]any{"kind": "DONOR", "name": map[string]any{"ka": "პურის მსოფლიო", "en": "Bread for the World"}}}).ok(t)
	pos := fmt.Sprint(last.get("registerOrganisation.position"))
	for _, tt := range []struct {
		filter string
		want   int
	}{
		{`{}`, 8}, {`{search: "bread"}`, 1}, {`{search: "პურის"}`, 1}, {`{search: "FOUNDATION"}`, 7},
		{`{kind: [DONOR]}`, 1}, {`{municipality: "rustavi"}`, 7}, {`{region: "kvemo-kartli", kind: [CSO, DONOR]}`, 7},
		{`{search: "100%_"}`, 0},
		// Georgian and English names are searched apart, not run together.
		{`{search: "ფონდი 1 civic"}`, 0},
	} {
		got := e.do(domain.Anonymous, `{ organisations(first: 3, filter: `+tt.filter+`) { totalCount } }`, nil, "Civic-Min-Position", pos).ok(t)
		if n := got.get("organisations.totalCount"); n != float64(tt.want) {
			t.Errorf("filter %s: totalCount %v, want %d", tt.filter, n, tt.want)
		}
	}
	seen := map[string]bool{}
	after := ""
	for page := 0; ; page++ {
		got := e.do(domain.Anonymous, `query($after: String) { organisations(first: 3, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": nilIfEmpty(after)}, "Civic-Min-Position", pos).ok(t)
		for _, x := range got.get("organisations.edges").([]any) {
			id := x.(map[string]any)["node"].(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("page %d repeats %s", page, id)
			}
			seen[id] = true
		}
		if got.get("organisations.pageInfo.hasNextPage") != true {
			break
		}
		after = got.get("organisations.pageInfo.endCursor").(string)
	}
	if len(seen) != 8 {
		t.Errorf("paging saw %d organisations, want 8", len(seen))
	}
	if r := e.do(domain.Anonymous, `{ organisations(after: "garbage") { totalCount } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Errorf("a forged cursor: %q, want BAD_USER_INPUT", r.code())
	}
}

func TestProjectionStatusQuery(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Anonymous, `{ projections { name state failing position head lagEvents } }`, nil).ok(t)
	names := map[string]bool{}
	for _, x := range r.get("projections").([]any) {
		p := x.(map[string]any)
		names[p["name"].(string)] = true
		if p["state"] != "ACTIVE" || p["failing"] != false {
			t.Errorf("projection %+v, want active and not failing", p)
		}
	}
	for _, n := range []string{"places", "organisations", "keys"} {
		if !names[n] {
			t.Errorf("projection %s missing from %v", n, names)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var _ = bytes.NewReader

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// wsClient speaks graphql-transport-ws, the protocol GraphiQL and most
// dashboards' clients use for subscriptions.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func (e *env) subscribe(role domain.Role, query string, vars map[string]any) *wsClient {
	e.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/graphql", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: e.t, conn: conn}
	init := map[string]any{"type": "connection_init", "payload": map[string]any{}}
	if key := e.keys[role]; key != "" {
		init["payload"] = map[string]any{"Authorization": "Bearer " + key}
	}
	c.send(init)
	if m := c.next(); m["type"] != "connection_ack" {
		e.t.Fatalf("connection_init: got %v, want connection_ack", m)
	}
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	return c
}

func (c *wsClient) send(m map[string]any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message other than a ping. The deadline is for
// the message, not each read: the server pings every 15 seconds.
func (c *wsClient) next() map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.conn.SetReadDeadline(deadline)
		var m map[string]any
		if err := c.conn.ReadJSON(&m); err != nil {
			c.t.Fatalf("subscription: %v", err)
		}
		if m["type"] == "ping" {
			c.send(map[string]any{"type": "pong"})
			continue
		}
		return m
	}
}

func TestSubscriptionReceivesLaterMutation(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	sub := e.subscribe(domain.Analyst, `subscription { events(filter: {streamPrefix: "organisation-", types: ["registry.organisation_registered"]}) { type stream position actor role data } }`, nil)
	// The subscription starts at the head; give its first read a moment.
	time.Sleep(200 * time.Millisecond)
	r := e.do(domain.Admin, registerOrg, orgInput(42)).ok(t)
	id := r.get("registerOrganisation.organisation.id").(string)
	m := sub.next()
	if m["type"] != "next" {
		t.Fatalf("got %v, want a next message", m)
	}
	ev := m["payload"].(map[string]any)["data"].(map[string]any)["events"].(map[string]any)
	if ev["stream"] != "organisation-"+id || ev["type"] != "registry.organisation_registered" || ev["role"] != "admin" ||
		fmt.Sprint(ev["position"]) != fmt.Sprint(r.get("registerOrganisation.position")) {
		t.Fatalf("event = %v, want the registration of %s by an admin at the mutation's position", ev, id)
	}
	if !strings.Contains(fmt.Sprint(ev["data"]), "Civic Integration Foundation 42") {
		t.Errorf("event data = %v", ev["data"])
	}
}

// TestAnonymousSubscribesToPublicEventsOnly: an anonymous subscriber gets
// the public events, without contacts, and is refused a type it may never
// see, with the code that says why.
func TestAnonymousSubscribesToPublicEventsOnly(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	sub := e.subscribe(domain.Anonymous, `subscription { events(filter: {types: ["access.key_created"]}) { type } }`, nil)
	m := sub.next()
	if m["type"] != "next" && m["type"] != "error" || !strings.Contains(fmt.Sprint(m["payload"]), "code:UNAUTHENTICATED") {
		t.Fatalf("anonymous subscription to the key events: %v, want an UNAUTHENTICATED error", m)
	}
	sub = e.subscribe(domain.Anonymous, `subscription { events(after: 0) { type stream data withheld } }`, nil)
	e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	for {
		m := sub.next()
		if m["type"] != "next" {
			t.Fatalf("anonymous subscription: %v, want events", m)
		}
		got := fmt.Sprint(m["payload"])
		if strings.Contains(got, "access.") || strings.Contains(got, "info@example.ge") || strings.Contains(got, "+995 32 200 00 00") {
			t.Fatalf("anonymous subscriber received %s", got)
		}
		if strings.Contains(got, "registry.organisation_registered") {
			if !strings.Contains(got, "contact.person") || !strings.Contains(got, "contact.address") {
				t.Fatalf("the organisation's registration without its contact listed as withheld: %s", got)
			}
			return
		}
	}
}

func TestProjectionStatusSubscription(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	sub := e.subscribe(domain.Anonymous, `subscription { projectionStatus { name position } }`, nil)
	first := sub.next()
	if first["type"] != "next" {
		t.Fatalf("got %v, want the current status", first)
	}
	pos := func(m map[string]any, name string) float64 {
		for _, x := range m["payload"].(map[string]any)["data"].(map[string]any)["projectionStatus"].([]any) {
			p := x.(map[string]any)
			if p["name"] == name {
				return p["position"].(float64)
			}
		}
		t.Fatalf("no %s in %v", name, m)
		return 0
	}
	before := pos(first, "organisations")
	e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if pos(sub.next(), "organisations") > before {
			return
		}
	}
	t.Fatal("no status update after a mutation")
}

// TestStatementTimeout holds a lock the organisations list must wait for
// past the read connections' statement timeout: the query must fail with
// TIMEOUT, and the server answer the same query once the lock is gone.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	e := newEnvTimeout(t, graph.Config{}, 300*time.Millisecond)
	ctx := context.Background()
	const list = `{ organisations(first: 5) { totalCount } }`
	if r := e.do(domain.Anonymous, list, nil); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Fatalf("before the lock: %+v", r)
	}
	tx, err := e.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE rm.organisations IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// Another query than the one answered before: that one's answer is in
	// the anonymous answer cache, rightly, as nothing has changed.
	r := e.do(domain.Anonymous, `{ organisations(first: 4) { totalCount } }`, nil)
	if r.Status != http.StatusOK || r.code() != "TIMEOUT" || !strings.Contains(r.Errors[0].Message, "took longer") {
		t.Fatalf("while the table is locked: status %d, errors %+v; want 200 with TIMEOUT", r.Status, r.Errors)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.do(domain.Anonymous, list, nil); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Fatalf("after the lock: %+v", r)
	}
}
