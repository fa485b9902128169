package graph_test

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
	"github.com/gorilla/websocket"
)

// BenchmarkEventsSubscription measures the events subscription, in events
// delivered a second over a WebSocket, three ways in the same run:
//
//   - nopolicy: a server built without the visibility policy
//     (graph.WithoutPolicy), an admin's key: each event opened (its
//     contact person's sealed details) and sent whole;
//   - whole: the server as it runs, an admin's key: each event also asked
//     of the domain's rules (domain.Watch), which give it whole;
//   - redacted: the same server, an analyst's key: the rules withhold each
//     event's contact person's name, e-mail and phone, so the data is
//     parsed, cut and written again.
//
// The log holds 5,000 organisations registered through the domain, each
// with a contact person; each side subscribes from the start of the log to
// their registrations and counts them in. b.N is the number of rounds, the
// sides taking turns in each (use -benchtime 5x). policy-ratio = whole /
// nopolicy: what asking the rules costs; redaction-ratio = redacted /
// whole: what withholding fields costs on top.
func BenchmarkEventsSubscription(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, graph.WithoutAnswerCache(graph.Config{RatePerSecond: -1}))
	const n = 5000
	start := e.head()
	benchRegister(b, e, n)
	open := e.serve(graph.WithoutAnswerCache(graph.WithoutPolicy(graph.Config{RatePerSecond: -1})))
	query := fmt.Sprintf(`subscription { events(after: %d, filter: {types: ["registry.organisation_registered"]}) { position data withheld } }`, start)
	sides := []struct {
		name, url string
		role      domain.Role
		withheld  bool
	}{
		{"nopolicy", open, domain.Admin, false},
		{"whole", e.url, domain.Admin, false},
		{"redacted", e.url, domain.Analyst, true},
	}
	took := make([]time.Duration, len(sides))
	b.ResetTimer()
	for range b.N {
		for i, s := range sides {
			d, err := benchSubscribe(e, s.url, e.keys[s.role], query, n, s.withheld)
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			took[i] += d
		}
	}
	b.StopTimer()
	rate := func(i int) float64 { return float64(b.N*n) / took[i].Seconds() }
	b.ReportMetric(rate(0), "nopolicy-ev/s")
	b.ReportMetric(rate(1), "whole-ev/s")
	b.ReportMetric(rate(2), "redacted-ev/s")
	b.ReportMetric(rate(1)/rate(0), "policy-ratio")
	b.ReportMetric(rate(2)/rate(1), "redaction-ratio")
}

// benchSubscribe subscribes with key and returns how long n events took
// to arrive, from the subscribe message to the last, checking each one:
// withheld or not as want says.
func benchSubscribe(e *env, url, key, query string, n int, withheld bool) (time.Duration, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+url[len("http"):]+"/graphql", nil)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	send := func(m any) error { return conn.WriteJSON(m) }
	if err := send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}}); err != nil {
		return 0, err
	}
	var m struct {
		Type    string `json:"type"`
		Payload struct {
			Data struct {
				Events struct {
					Data     json.RawMessage `json:"data"`
					Withheld []string        `json:"withheld"`
				} `json:"events"`
			} `json:"data"`
		} `json:"payload"`
	}
	if err := conn.ReadJSON(&m); err != nil || m.Type != "connection_ack" {
		return 0, fmt.Errorf("connection_init: %s, %v", m.Type, err)
	}
	began := time.Now()
	if err := send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		return 0, err
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
	for got := 0; got < n; {
		m.Payload.Data.Events.Withheld = nil
		if err := conn.ReadJSON(&m); err != nil {
			return 0, err
		}
		switch m.Type {
		case "ping":
			send(map[string]any{"type": "pong"})
			continue
		case "next":
		default:
			return 0, fmt.Errorf("message %s", m.Type)
		}
		if (len(m.Payload.Data.Events.Withheld) > 0) != withheld {
			return 0, fmt.Errorf("event withholding %v", m.Payload.Data.Events.Withheld)
		}
		got++
	}
	return time.Since(began), nil
}
