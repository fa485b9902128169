package graph_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// cpuTime is the CPU the test process has spent, server included: what a
// request costs is the difference around it, whatever the wall clock.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fragmentBomb is n fragments, each spreading the next twice: 2^n fields
// once expanded, in a document of a few hundred bytes per fragment.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("query { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { regions { code } }\n", n)
	return b.String()
}

// deepFragments nests regions/municipalities through fragments, depth
// levels deep.
func deepFragments(depth int) string {
	var b strings.Builder
	b.WriteString("query { regions { ...R0 } }\n")
	for i := range depth {
		if i%2 == 0 {
			fmt.Fprintf(&b, "fragment R%d on Region { municipalities { ...R%d } }\n", i, i+1)
		} else {
			fmt.Fprintf(&b, "fragment R%d on Municipality { region { ...R%d } }\n", i, i+1)
		}
	}
	if depth%2 == 0 {
		fmt.Fprintf(&b, "fragment R%d on Region { code }\n", depth)
	} else {
		fmt.Fprintf(&b, "fragment R%d on Municipality { code }\n", depth)
	}
	return b.String()
}

func aliases(n int, field string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	b.WriteString("}")
	return b.String()
}

const allDimensions = `participationTrend(groupBy: [YEAR, QUARTER, MONTH, REGION, MUNICIPALITY, ACTIVITY_TYPE, PROJECT, SECTOR, SEX, AGE_BAND, ETHNIC_MINORITY]) { year attendance }`

// TestHostileRequests sends each request the hostile-client review found
// costly, and holds the server to answering it with the right status and
// code, a short body, and little CPU: measured as the process's CPU time
// around the request (the originals cost from 0.6 s to minutes).
func TestHostileRequests(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1, PublicIntrospection: true})
	query := func(q string) string { return mustJSON(map[string]any{"query": q}) }
	withVar := func(q string, vars map[string]any) string {
		return mustJSON(map[string]any{"query": q, "variables": vars})
	}
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"fragment bomb, 31 levels", query(fragmentBomb(31)), 422, "QUERY_TOO_LARGE"},
		{"fragment bomb, 20 levels", query(fragmentBomb(20)), 422, "QUERY_TOO_LARGE"},
		{"depth through fragments", query(deepFragments(20)), 422, "DEPTH_LIMIT_EXCEEDED"},
		{"5,000 same-named fields", query("{ " + strings.Repeat("__typename ", 5000) + "}"), 422, "QUERY_TOO_LARGE"},
		{"40,000 same-named fields", query("{ " + strings.Repeat("__typename ", 40000) + "}"), 400, "GRAPHQL_PARSE_FAILED"},
		{"1,000 directives on a field", query("{ regions " + strings.Repeat("@include(if: true) ", 1000) + "{ code } }"), 422, "TOO_MANY_DIRECTIVES"},
		{"200 aliases of __schema", query(aliases(200, "__schema { types { name } }")), 422, "QUERY_TOO_LARGE"},
		{"10 aliases of an all-dimension trend", query(aliases(10, allDimensions)), 422, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"100 aliases of an all-dimension trend", query(aliases(100, allDimensions)), 422, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"1,000 aliases of an all-dimension trend", query(aliases(1000, allDimensions)), 400, "GRAPHQL_PARSE_FAILED"},
		{"a NUL byte in a search string", withVar(`query($s: String) { organisations(filter: {search: $s}) { totalCount } }`, map[string]any{"s": "Kutaisi\x00"}), 422, "BAD_USER_INPUT"},
		{"a NUL byte in a literal", query(`{ organisations(filter: {search: "a\u0000b"}) { totalCount } }`), 422, "BAD_USER_INPUT"},
		{"a quote in an ID", query(`{ application(id: "2019-gori'--") { id } }`), 422, "BAD_USER_INPUT"},
		{"an unknown region in a filter", query(`{ participationTrend(groupBy: [YEAR], filter: {regions: ["kakheti", "Imereti"]}) { year } }`), 422, "BAD_USER_INPUT"},
		{"an unknown municipality in a filter", withVar(`query($m: ID) { organisations(filter: {municipality: $m}) { totalCount } }`, map[string]any{"m": "tbilissi"}), 422, "BAD_USER_INPUT"},
		{"a control character in an ID", withVar(`query($id: ID!) { network(id: $id) { id } }`, map[string]any{"id": "cssige\x1b[2J"}), 422, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cpuTime(t)
			req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			spent := cpuTime(t) - before
			var got struct {
				Data   *json.RawMessage
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("not JSON: %s", body)
			}
			if resp.StatusCode != tt.status || len(got.Errors) == 0 || got.Errors[0].Extensions["code"] != tt.code {
				t.Fatalf("status %d, %s; want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if strings.Contains(string(body), `"data"`) {
				t.Errorf("a request refused before it ran has a data entry: %s", body)
			}
			if len(body) > 2000 {
				t.Errorf("a %d-byte answer to a refused request", len(body))
			}
			if spent > 300*time.Millisecond {
				t.Errorf("the request cost %v of CPU, over 300ms", spent)
			}
			t.Logf("%d %s in %v of CPU: %s", resp.StatusCode, tt.code, spent, got.Errors[0].Message)
		})
	}
	// The server still answers.
	e.do(domain.Anonymous, `{ regions { code } }`, nil).ok(t)
}

// TestRequestErrorsSayWhatIsWrong: a malformed request is told what is
// wrong with it in its own terms, not in Go's.
func TestRequestErrorsSayWhatIsWrong(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	for body, want := range map[string]string{
		`{"query":"{ viewer { role } }","variables":"oops"}`: "variables must be a JSON object (or null), not a string",
		`{"query":42}`:                  "query must be a string (or null), not a number",
		`{"query":"{ viewer { role } }`: "the request body is not valid JSON",
		`"{ viewer { role } }"`:         "the request body must be a JSON object with a query",
	} {
		r := e.raw(request{body: body})
		if r.Status != http.StatusBadRequest || len(r.Errors) != 1 || r.Errors[0].Message != want {
			t.Errorf("%s: %d %+v, want 400 %q", body, r.Status, r.Errors, want)
		}
	}
}

// TestMutationReportsEveryInvalidField: a registration with several bad
// fields is told about all of them at once, each in extensions.problems.
func TestMutationReportsEveryInvalidField(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Admin, `mutation { registerOrganisation(input: {kind: CSO, name: {ka: ""}, website: "not a url", founded: "2999-01-01", contact: {email: "nobody"}}) { position } }`, nil)
	if r.code() != "BAD_USER_INPUT" {
		t.Fatalf("%+v, want BAD_USER_INPUT", r.Errors)
	}
	problems, _ := r.Errors[0].Extensions["problems"].([]any)
	var fields []string
	for _, p := range problems {
		field, _, _ := strings.Cut(p.(string), ":")
		fields = append(fields, field)
	}
	for _, want := range []string{"name", "contact.email", "website", "founded"} {
		if !slices.Contains(fields, want) {
			t.Errorf("problems %v: %s is missing", problems, want)
		}
	}
	if !strings.HasPrefix(r.Errors[0].Message, fmt.Sprintf("%d fields are invalid", len(problems))) {
		t.Errorf("message %q", r.Errors[0].Message)
	}
}

// TestEmptyOptionalFieldsAreNull: an optional field left empty is null,
// not "".
func TestEmptyOptionalFieldsAreNull(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	r := e.do(domain.Admin, `mutation { registerOrganisation(input: {kind: CSO, name: {ka: "ცარიელი"}, region: "kakheti"}) { organisation { id } } }`, nil).ok(t)
	id := r.get("registerOrganisation.organisation.id")
	r = e.do(domain.Admin, `query($id: ID!) { organisation(id: $id) { name { ka en } legalForm website closedReason contact { email phone address person } } }`, map[string]any{"id": id}).ok(t)
	for _, path := range []string{"organisation.name.en", "organisation.legalForm", "organisation.website", "organisation.closedReason",
		"organisation.contact.email", "organisation.contact.phone", "organisation.contact.address", "organisation.contact.person"} {
		if v := r.get(path); v != nil {
			t.Errorf("%s = %q, want null", path, v)
		}
	}
	if r.get("organisation.name.ka") != "ცარიელი" {
		t.Errorf("the name: %v", r.get("organisation.name"))
	}
}
