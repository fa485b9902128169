package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// hostileMix is what the flooding clients send, in turn: each refused or
// bounded by a limit, some after a database query (an all-dimension
// trend is allowed once per request, through the expensive gate).
func hostileMix() [][]byte {
	var out [][]byte
	for _, q := range []string{
		fragmentBomb(31),
		"{ " + strings.Repeat("__typename ", 5000) + "}",
		"{ regions " + strings.Repeat("@include(if: true) ", 1000) + "{ code } }",
		aliases(200, "__schema { types { name } }"),
		aliases(10, allDimensions),
		"{ " + allDimensions + " }",
		`{ organisations(filter: {search: "a\u0000b"}) { totalCount } }`,
	} {
		b, _ := json.Marshal(map[string]any{"query": q})
		out = append(out, b)
	}
	return out
}

// BenchmarkGoodClientUnderFlood measures what 32 hostile clients do to a
// well-behaved one: the good client's p99 latency for the list query
// (benchListQuery, one request at a time) alone and while 32 goroutines
// send hostileMix as fast as they are answered, in alternating rounds.
// flood-ratio = p99 under the flood / p99 alone. many-addresses: the
// rate limit off, as if the flood came from many addresses (the worst
// case); one-address: the default rate limit, the flood from one address
// as the good client's key is limited apart. max-rss-mb is the process's
// peak resident memory (server and clients), against the 256 MiB bound.
func BenchmarkGoodClientUnderFlood(b *testing.B) {
	b.Run("many-addresses", func(b *testing.B) { goodClientUnderFlood(b, graph.Config{RatePerSecond: -1}, 0) })
	// 50 requests a second per principal; the good client keeps to 40.
	b.Run("one-address", func(b *testing.B) {
		goodClientUnderFlood(b, graph.Config{RatePerSecond: 50, RateBurst: 100}, 25*time.Millisecond)
	})
}

// goodClientUnderFlood runs the benchmark with the server's cfg, the good
// client sending a request every pace at most.
func goodClientUnderFlood(b *testing.B, cfg graph.Config, pace time.Duration) {
	defer debug.SetGCPercent(debug.SetGCPercent(graph.GCPercent))
	e := newEnv(b, cfg)
	benchRegister(b, e, 200)
	ctx := context.Background()
	client := &http.Client{}
	body, _ := json.Marshal(map[string]any{"query": benchListQuery})
	if err := benchGraphQL(ctx, client, e.url, body); err != nil {
		b.Fatal(err)
	}
	mix := hostileMix()
	hostile := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}
	b.Cleanup(hostile.CloseIdleConnections)

	// The good client has a key of its own; the flood is anonymous.
	key := e.keys[domain.Analyst]
	good := func(n int) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for range n {
			t := time.Now()
			if _, err := benchPost(ctx, client, e.url, key, body); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t)
			lat = append(lat, d)
			time.Sleep(pace - d)
		}
		return lat
	}
	var sent, refused atomic.Int64
	flood := func() (stop func()) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		for i := range benchClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := i; ; j++ {
					select {
					case <-done:
						return
					default:
					}
					resp, err := hostile.Post(e.url+"/graphql", "application/json", bytes.NewReader(mix[j%len(mix)]))
					if err != nil {
						continue
					}
					var r struct{ Errors []any }
					json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					sent.Add(1)
					if len(r.Errors) > 0 {
						refused.Add(1)
					}
				}
			}()
		}
		time.Sleep(200 * time.Millisecond) // let it build up
		return func() { close(done); wg.Wait() }
	}

	const rounds = 4
	perRound := max(b.N/rounds, 1)
	var alone, flooded []time.Duration
	var floodTime time.Duration
	b.ResetTimer()
	for range rounds {
		alone = append(alone, good(perRound)...)
		stop := flood()
		t := time.Now()
		flooded = append(flooded, good(perRound)...)
		floodTime += time.Since(t)
		stop()
	}
	b.StopTimer()
	p99 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[min(len(l)*99/100, len(l)-1)].Microseconds()) / 1000
	}
	pa, pf := p99(alone), p99(flooded)
	b.ReportMetric(pa, "alone-p99-ms")
	b.ReportMetric(pf, "flood-p99-ms")
	b.ReportMetric(pf/pa, "flood-ratio")
	b.ReportMetric(float64(sent.Load())/floodTime.Seconds(), "hostile-req/s")
	b.ReportMetric(float64(refused.Load())/float64(max(sent.Load(), 1)), "hostile-refused")
	b.ReportMetric(peakRSS(b), "max-rss-mb")
}

// peakRSS is the process's peak resident set, in MiB (Linux: VmHWM).
func peakRSS(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
