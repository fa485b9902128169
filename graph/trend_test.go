package graph_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/seed"
)

// TestTrendOptions: participationTrend per capita, ordered, cut, and by
// certification, against figures worked from the registry's census and the
// attendance recorded; identical polls answered from the cache until a
// write moves the read model.
func TestTrendOptions(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	if _, err := seed.Certification2019(context.Background(), &certification.Service{Repo: e.repo}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(day(t, "2019-09-01"))
	org := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(1)).ok(t).get("registerOrganisation.organisation.id"))
	hold := func(id, municipality string, n int) string {
		e.clock.Set(day(t, "2019-09-01"))
		e.do(domain.Admin, fmt.Sprintf(`mutation { scheduleActivity(input: {id: %q, type: FORUM, title: {ka: "ფორუმი", en: "Forum"}, organisers: [%q],
			municipality: %q, start: "2019-09-10", end: "2019-09-10"}) { position } }`, id, org, municipality), nil).ok(t)
		e.clock.Set(day(t, "2019-09-11"))
		r := e.do(domain.Admin, `mutation($id: ID!, $a: AttendanceInput!) { recordActivityHeld(id: $id, attendance: $a) { position } }`,
			map[string]any{"id": id, "a": map[string]any{"total": n, "groups": []any{map[string]any{"sex": "FEMALE", "count": n}}}}).ok(t)
		return fmt.Sprint(r.get("recordActivityHeld.position"))
	}
	hold("forum-marneuli", "marneuli", 20)
	pos := hold("forum-gori", "gori", 30)

	pop := map[string]float64{}
	m := e.do(domain.Anonymous, `{ municipalities { code population2014 } }`, nil).ok(t)
	for _, x := range m.get("municipalities").([]any) {
		if p, ok := x.(map[string]any)["population2014"].(float64); ok {
			pop[x.(map[string]any)["code"].(string)] = p
		}
	}
	per := func(n float64, code string) float64 { return math.Round(n*1000/pop[code]*100) / 100 }

	const trend = `query($g: [TrendDimension!]!, $f: ParticipationFilter, $p: Boolean, $o: [TrendOrder!], $l: Int) {
		participationTrend(groupBy: $g, filter: $f, perCapita: $p, orderBy: $o, limit: $l) { municipality { code } certified attendance population attendancePer1000 } }`
	ask := func(vars map[string]any) string {
		return fmt.Sprint(e.do(domain.Anonymous, trend, vars, "Civic-Min-Position", pos).ok(t).get("participationTrend"))
	}
	byPer := map[string]any{"g": []string{"MUNICIPALITY"}, "p": true, "o": []any{map[string]any{"by": "ATTENDANCE_PER_1000", "desc": true}}}
	first, second := "gori", "marneuli"
	if per(20, "marneuli") > per(30, "gori") {
		first, second = second, first
	}
	att := map[string]float64{"gori": 30, "marneuli": 20}
	want := fmt.Sprintf("[map[attendance:%v attendancePer1000:%v certified:<nil> municipality:map[code:%s] population:%v] map[attendance:%v attendancePer1000:%v certified:<nil> municipality:map[code:%s] population:%v]]",
		att[first], per(att[first], first), first, pop[first], att[second], per(att[second], second), second, pop[second])
	if got := ask(byPer); got != want {
		t.Errorf("per 1,000 by municipality, highest first:\n got %s\nwant %s", got, want)
	}
	byPer["l"] = 1
	if got := ask(byPer); !strings.HasPrefix(want, strings.TrimSuffix(got, "]")) || strings.Count(got, "municipality") != 1 {
		t.Errorf("the top one: %s", got)
	}
	// Gori held a certificate in 2019 (valid from June 2019); Marneuli none.
	if got := ask(map[string]any{"g": []string{"CERTIFIED"}}); got != "[map[attendance:20 attendancePer1000:<nil> certified:false municipality:<nil> population:<nil>] "+
		"map[attendance:30 attendancePer1000:<nil> certified:true municipality:<nil> population:<nil>]]" {
		t.Errorf("by certification: %s", got)
	}
	if got := ask(map[string]any{"g": []string{"MUNICIPALITY"}, "f": map[string]any{"certified": true}}); !strings.Contains(got, "code:gori") || strings.Contains(got, "marneuli") {
		t.Errorf("certified only: %s", got)
	}
	for _, c := range []struct {
		vars map[string]any
		text string
	}{
		{map[string]any{"g": []string{"CERTIFIED"}, "p": true}, "perCapita: per capita with CERTIFIED needs MUNICIPALITY"},
		{map[string]any{"g": []string{"YEAR"}, "o": []any{map[string]any{"by": "ATTENDANCE_PER_1000"}}}, "orderBy[0]: ordering by attendance per 1,000 needs perCapita"},
		{map[string]any{"g": []string{"YEAR"}, "l": 0}, "limit: 0 is outside 1..10000"},
		{map[string]any{"g": []string{"YEAR"}, "l": 10001}, "limit: 10001 is outside 1..10000"},
	} {
		r := e.do(domain.Anonymous, trend, c.vars)
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(fmt.Sprint(r.Errors), c.text) {
			t.Errorf("%v: %s %v; want BAD_USER_INPUT naming %q", c.vars, r.code(), r.Errors, c.text)
		}
	}

	// The same poll again: from the cache, the same answer. A write that
	// moves the activities read model: answered afresh, with it.
	hits, misses := e.srv.TrendCache()
	q := map[string]any{"g": []string{"MUNICIPALITY"}}
	a1, a2 := ask(q), ask(q)
	h2, m2 := e.srv.TrendCache()
	if a1 != a2 || h2-hits != 1 || m2-misses != 1 {
		t.Errorf("two identical polls: %d hits and %d misses (want 1 and 1); %s, then %s", h2-hits, m2-misses, a1, a2)
	}
	pos = hold("forum-gori-2", "gori", 5)
	if got := ask(q); !strings.Contains(got, "attendance:35") {
		t.Errorf("after another forum in Gori: %s", got)
	}
	if h3, _ := e.srv.TrendCache(); h3 != h2 {
		t.Errorf("the answer after a write came from the cache (%d hits, %d before)", h3, h2)
	}

	// The trend kept current: the answer now, then a new one when an
	// activity is held; a bad query is refused when subscribing.
	sub := e.subscribeKey("", `subscription { trend(groupBy: [MUNICIPALITY], orderBy: [{by: ATTENDANCE, desc: true}]) { municipality { code } attendance } }`, nil)
	if m := sub.next(); fmt.Sprint(m["payload"]) != "map[data:map[trend:[map[attendance:35 municipality:map[code:gori]] map[attendance:20 municipality:map[code:marneuli]]]]]" {
		t.Fatalf("the trend subscribed to: %v", m)
	}
	hold("forum-marneuli-2", "marneuli", 40)
	if m := sub.next(); fmt.Sprint(m["payload"]) != "map[data:map[trend:[map[attendance:60 municipality:map[code:marneuli]] map[attendance:35 municipality:map[code:gori]]]]]" {
		t.Fatalf("the trend after another forum in Marneuli: %v", m)
	}
	// Its cost is the query's: ten aliases of an 11-dimension trend are
	// over the complexity budget, as they would be in a query (refused
	// before the single-root-field rule is looked at).
	var aliases strings.Builder
	for i := range 10 {
		fmt.Fprintf(&aliases, " t%d: trend(groupBy: [YEAR, QUARTER, MONTH, REGION, MUNICIPALITY, ACTIVITY_TYPE, PROJECT, SECTOR, SEX, AGE_BAND, ETHNIC_MINORITY]) { year }", i)
	}
	costly := e.subscribeKey("", "subscription {"+aliases.String()+" }", nil)
	if m := costly.next(); !strings.Contains(strings.ToLower(fmt.Sprint(m["payload"])), "complexity") {
		t.Errorf("ten costly trends in one subscription: %v; want refused for complexity", m)
	}
	// Two root fields break GraphQL's single-root-field rule: refused as
	// invalid, not failed as internal.
	two := e.subscribeKey("", `subscription { a: trend(groupBy: [YEAR]) { year } b: trend(groupBy: [REGION]) { year } }`, nil)
	if m := two.next(); m["type"] != "error" || !strings.Contains(fmt.Sprint(m["payload"]), "GRAPHQL_VALIDATION_FAILED") || !strings.Contains(fmt.Sprint(m["payload"]), "exactly one root field") {
		t.Errorf("a subscription of two root fields: %v", m)
	}
	bad := e.subscribeKey("", `subscription { trend(groupBy: [YEAR], limit: 0) { year } }`, nil)
	if m := bad.next(); !strings.Contains(fmt.Sprint(m["payload"]), "code:BAD_USER_INPUT") || !strings.Contains(fmt.Sprint(m["payload"]), "limit: 0 is outside 1..10000") {
		t.Errorf("a trend subscription with limit 0: %v", m)
	}
}

// TestPersistedETag: a persisted GET carries an ETag of what its answer
// depends on and a Cache-Control; If-None-Match with it is 304 with no
// body; a write that moves a read model, or another caller, gives another
// tag.
func TestPersistedETag(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	q := `{ organisations(first: 5) { edges { node { id } } } }`
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + sha256Hex(q) + `"}}`
	e.raw(request{body: `{"query":` + mustJSON(q) + `,"extensions":` + ext + `}`}).ok(t)
	get := func(key, ifNoneMatch string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.url+"/graphql?extensions="+urlEscape(ext), nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := get("", "")
	tag := first.Header.Get("ETag")
	if first.StatusCode != 200 || tag == "" || first.Header.Get("Cache-Control") != "public, no-cache" {
		t.Fatalf("a persisted GET: %d, ETag %q, Cache-Control %q", first.StatusCode, tag, first.Header.Get("Cache-Control"))
	}
	if r := get("", tag); r.StatusCode != http.StatusNotModified || r.ContentLength > 0 {
		t.Errorf("If-None-Match with the tag: %d, want 304 without a body", r.StatusCode)
	}
	if r := get("", `"other", `+tag); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match listing the tag among others: %d, want 304", r.StatusCode)
	}
	keyed := get(e.keys[domain.Analyst], "")
	if keyed.Header.Get("ETag") == tag || keyed.Header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("an analyst's tag %q (anonymous %q), Cache-Control %q: want another tag, private", keyed.Header.Get("ETag"), tag, keyed.Header.Get("Cache-Control"))
	}
	r := e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	pos := fmt.Sprint(r.get("registerOrganisation.position"))
	e.do(domain.Anonymous, `{ organisations(first: 1) { edges { node { id } } } }`, nil, "Civic-Min-Position", pos).ok(t)
	if r := get("", tag); r.StatusCode != 200 || r.Header.Get("ETag") == tag {
		t.Errorf("after a new organisation: %d with ETag %q; want 200 and a new tag", r.StatusCode, r.Header.Get("ETag"))
	}
}

// TestCompressedAnswers: an answer of more than a packet is gzipped for a
// client that accepts it, and plain for one that does not; a small one is
// plain either way.
func TestCompressedAnswers(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	post := func(query string, gz bool) (*http.Response, []byte) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, err := http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if gz {
			req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport then leaves the body compressed
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, raw
	}
	const big = `{ regions { code name { ka en } municipalities { code name { ka en } population2014 } } }`
	resp, raw := post(big, true)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a %d-byte answer to a client taking gzip: Content-Encoding %q", len(raw), resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Data struct{ Regions []json.RawMessage }
	}
	if err := json.Unmarshal(plain, &answer); err != nil || len(answer.Data.Regions) != 12 || len(raw)*3 > len(plain) {
		t.Errorf("the gzipped answer: %d bytes, %d unzipped, %d regions (%v); want 12 regions, a third of the size or less", len(raw), len(plain), len(answer.Data.Regions), err)
	}
	if resp, raw := post(big, false); resp.Header.Get("Content-Encoding") != "" || !json.Valid(raw) {
		t.Errorf("to a client not taking gzip: Content-Encoding %q, valid JSON %v", resp.Header.Get("Content-Encoding"), json.Valid(raw))
	}
	if resp, raw := post(`{ regions { code } }`, true); resp.Header.Get("Content-Encoding") != "" || !json.Valid(raw) {
		t.Errorf("a %d-byte answer: Content-Encoding %q; want it plain", len(raw), resp.Header.Get("Content-Encoding"))
	}
}

// TestAnswerCache: an anonymous query asked again is answered from the
// answer cache, the same bytes, until the data moves; a key's queries,
// a request waiting for a position and an answer with errors are not.
func TestAnswerCache(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	const q = `{ organisations(first: 5) { edges { node { id name { en } } } } }`
	body := `{"query":` + mustJSON(q) + `}`
	hits, misses := e.srv.AnswerCache()
	first := e.raw(request{body: body}).ok(t)
	second := e.raw(request{body: body}).ok(t)
	h, m := e.srv.AnswerCache()
	if h-hits != 1 || m-misses != 1 || fmt.Sprint(first.Data) != fmt.Sprint(second.Data) {
		t.Fatalf("the same anonymous query twice: %d hits, %d misses (want 1 and 1); %v then %v", h-hits, m-misses, first.Data, second.Data)
	}
	// A key's query goes past the cache, and is not kept in it.
	e.do(domain.Analyst, q, nil).ok(t)
	e.do(domain.Analyst, q, nil).ok(t)
	if h2, m2 := e.srv.AnswerCache(); h2 != h || m2 != m {
		t.Errorf("an analyst's queries touched the anonymous cache: %d hits, %d misses (were %d, %d)", h2, m2, h, m)
	}
	// A write: the next anonymous answer is run afresh and shows it.
	r := e.do(domain.Admin, registerOrg, orgInput(1)).ok(t)
	id := fmt.Sprint(r.get("registerOrganisation.organisation.id"))
	pos := fmt.Sprint(r.get("registerOrganisation.position"))
	waited := e.do(domain.Anonymous, q, nil, "Civic-Min-Position", pos).ok(t)
	if !strings.Contains(fmt.Sprint(waited.Data), id) {
		t.Fatalf("after the write, waiting for its position: %v lacks %s", waited.Data, id)
	}
	if h3, m3 := e.srv.AnswerCache(); h3 != h || m3 != m {
		t.Errorf("a request with Civic-Min-Position used the cache: %d hits, %d misses (were %d, %d)", h3, m3, h, m)
	}
	after := e.raw(request{body: body}).ok(t)
	if !strings.Contains(fmt.Sprint(after.Data), id) {
		t.Errorf("the anonymous answer after the write: %v lacks %s", after.Data, id)
	}
	if h4, _ := e.srv.AnswerCache(); h4 != h {
		t.Errorf("the answer after the write came from the cache")
	}
	// An answer with errors is not kept.
	bad := `{"query":"{ organisation(id: \"no such\") { id } }"}`
	e.raw(request{body: bad})
	e.raw(request{body: bad})
	if h5, _ := e.srv.AnswerCache(); h5 != h {
		t.Errorf("an answer with errors was served from the cache (%d hits, %d before)", h5, h)
	}
}
