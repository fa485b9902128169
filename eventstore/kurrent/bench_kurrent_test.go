//go:build kurrent

package kurrent

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
)

// benchEvents is the events of one append in BenchmarkAppend: ten small
// events, a typical command's output.
const benchEvents = 10

func benchBatch(n int) []eventstore.EventData {
	return batchOf(n, "bench.appended", func(i int) string { return fmt.Sprintf(`{"i":%d,"note":"a typical small event"}`, i) })
}

// BenchmarkAppend appends ten events a call from 1 and from 32 writers,
// each to a stream of its own, through the Store and then through the
// client's own AppendToStream with the same bytes, and reports both and
// their ratio: what the Store's checks, encoding and bookkeeping cost.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := freshStore(b)
			conf, _, err := parseURL("KURRENTDB_URL", liveURL(b))
			if err != nil {
				b.Fatal(err)
			}
			conf.Logger = esdb.NoopLogging()
			raw, err := esdb.NewClient(conf)
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			// The raw side sends exactly what the Store sends, prepared
			// outside the timing.
			p, err := eventstore.Prepare("bench-raw", eventstore.Any(), benchBatch(benchEvents))
			if err != nil {
				b.Fatal(err)
			}
			wire, err := toWire(p, DefaultMaxAppendSize)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			run := func(appendOne func(w int) error) time.Duration {
				var wg sync.WaitGroup
				errs := make(chan error, writers)
				start := time.Now()
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := w; i < b.N; i += writers {
							if err := appendOne(w); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				d := time.Since(start)
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				return d
			}
			b.ResetTimer()
			store := run(func(w int) error {
				_, err := s.Append(ctx, "bench-"+strconv.Itoa(w), eventstore.Any(), benchBatch(benchEvents)...)
				return err
			})
			direct := run(func(w int) error {
				events := make([]esdb.EventData, len(wire))
				copy(events, wire)
				for i := range events {
					events[i].EventID = [16]byte(eventstore.NewID())
				}
				_, err := raw.AppendToStream(ctx, s.wire("bench_raw-"+strconv.Itoa(w)), esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, events...)
				return err
			})
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(store.Nanoseconds())/n, "store-ns/append")
			b.ReportMetric(float64(direct.Nanoseconds())/n, "raw-ns/append")
			b.ReportMetric(float64(store)/float64(direct), "store/raw")
			b.ReportMetric(n*benchEvents/store.Seconds(), "store-events/s")
		})
	}
}

// catchUp is the log BenchmarkCatchUp reads: written once per process.
var catchUp struct {
	sync.Once
	s   *Store
	n   int
	err error
}

// BenchmarkCatchUp subscribes to a log of N events from its start and
// reads them all: how fast a new projection or follower catches up. N is
// KURRENT_BENCH_EVENTS, 1,000,000 by default; the events are written once,
// before the timing, by 32 writers in appends of 500.
func BenchmarkCatchUp(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("KURRENT_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("KURRENT_BENCH_EVENTS=%q: want a positive number", v)
		}
	}
	url := liveURL(b)
	catchUp.Do(func() {
		// Not closed: it serves every run of the benchmark in the process.
		s, err := Open(context.Background(), url, Options{Namespace: newNamespace(), NewNamespace: true})
		if err != nil {
			catchUp.err = err
			return
		}
		catchUp.s, catchUp.n, catchUp.err = s, n, fill(s, n)
	})
	if catchUp.err != nil {
		b.Fatal(catchUp.err)
	}
	s, n := catchUp.s, catchUp.n
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		got := 0
		for _, err := range s.SubscribeAll(ctx, 0) {
			if err != nil {
				cancel()
				b.Fatal(err)
			}
			if got++; got == n {
				break
			}
		}
		cancel()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// fill appends n events to s, 500 an append, from 32 writers.
func fill(s *Store, n int) error {
	const per, writers = 500, 32
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := w * per; from < n; from += writers * per {
				if _, err := s.Append(ctx, "catchup-"+strconv.Itoa(w), eventstore.Any(), benchBatch(min(per, n-from))...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
