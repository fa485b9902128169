package main

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/internal/testdb"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsExposition: /metrics of a real civic serve is valid
// Prometheus text exposition, a parser's view and not a substring's, and
// holds the event store's and every read model's figures, the process's
// and the Go runtime's, and the requests it answered by route.
func TestMetricsExposition(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "DATABASE_URL="+url, "CIVIC_SIGNING_KEY="+keyPath, "CIVIC_DATA_DIR="+t.TempDir())
	waitReadyz(t, s.addr, http.StatusOK, "")
	base := "http://" + s.addr
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(`{"query":"{ regions { code } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /graphql = %d, want 200", resp.StatusCode)
	}
	// The same trend twice: a miss, then a hit of the anonymous answer
	// cache; the same trend once more with the first's position, so
	// past that cache: a hit of the trend cache.
	for i := range 3 {
		req, err := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ participationTrend(groupBy: [YEAR]) { year attendance } }"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if i == 2 {
			req.Header.Set("Civic-Min-Position", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A made-up path is counted as "other", not under a label of its own.
	if resp, err = http.Get(base + "/no/such/path"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if resp, err = http.Get(base + "/metrics"); err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q, want 200 and the text exposition format", resp.StatusCode, ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid text exposition: %v", err)
	}
	for _, name := range []string{"civic_eventstore_head", "civic_eventstore_sequencer_failing", "civic_projection_lag_events",
		"civic_outbox_pending", "go_goroutines", "process_resident_memory_bytes", "civic_http_requests_total", "civic_http_request_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for _, name := range []string{"civic_trend_cache_hits_total", "civic_trend_cache_misses_total", "civic_answer_cache_hits_total", "civic_answer_cache_misses_total"} {
		if f := families[name]; f == nil || f.Metric[0].GetCounter().GetValue() < 1 {
			t.Errorf("%s = %v, want a counter of at least 1 after the same trend twice", name, f)
		}
	}
	if head := families["civic_eventstore_head"]; head != nil && head.Metric[0].GetGauge().GetValue() <= 0 {
		t.Errorf("civic_eventstore_head = %v, want the imported registry's last position", head.Metric[0].GetGauge().GetValue())
	}

	// A series per read model, each labelled as before.
	lagging := map[string]bool{}
	if f := families["civic_projection_lag_events"]; f != nil {
		for _, m := range f.Metric {
			l := labels(m)
			if l["generation"] == "" || l["state"] == "" {
				t.Errorf("civic_projection_lag_events%v: want name, generation and state", l)
			}
			lagging[l["name"]] = true
		}
	}
	for _, p := range readModels() {
		if !lagging[p.Name()] {
			t.Errorf("civic_projection_lag_events has no series for read model %s", p.Name())
		}
	}

	// The GraphQL request, counted by route, method and code; no raw path.
	graphql := false
	if f := families["civic_http_requests_total"]; f != nil {
		for _, m := range f.Metric {
			l := labels(m)
			if !slices.Contains(httpRoutes, l["route"]) {
				t.Errorf("civic_http_requests_total%v: route is not one of %v", l, httpRoutes)
			}
			if l["route"] == "graphql" && l["method"] == "post" && l["code"] == "200" && m.GetCounter().GetValue() >= 1 {
				graphql = true
			}
		}
	}
	if !graphql {
		t.Errorf("civic_http_requests_total has no route=graphql, method=post, code=200 series counting the request: %v", families["civic_http_requests_total"])
	}
	if f := families["civic_http_request_duration_seconds"]; f != nil {
		timed := false
		for _, m := range f.Metric {
			if labels(m)["route"] == "graphql" && m.GetHistogram().GetSampleCount() >= 1 {
				timed = true
			}
		}
		if !timed {
			t.Errorf("civic_http_request_duration_seconds has not timed the GraphQL request: %v", f)
		}
	}
}

// TestMetricsRouteOf: the route label comes from a fixed few, whatever the
// path.
func TestMetricsRouteOf(t *testing.T) {
	for path, want := range map[string]string{
		"/graphql": "graphql", "/log/checkpoint": "log", "/log/proof/inclusion": "log", "/log": "log",
		"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics",
		"/": "other", "/graphql/x": "other", "/logs": "other", "/metrics/": "other", "/%00": "other",
	} {
		if got := routeOf(path); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", path, got, want)
		}
	}
}

// labels returns a series' labels by name.
func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	return l
}
