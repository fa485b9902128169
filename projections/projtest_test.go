package projections_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// tallyEvents makes n events over the given number of streams, positioned 1..n,
// as the log would hand them to a projection.
func tallyEvents(n, streams int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	version := map[string]int64{}
	for i := range out {
		stream := fmt.Sprintf("org-%d", i%streams)
		version[stream]++
		out[i] = eventstore.Event{
			ID: eventstore.NewID(), Stream: stream, Version: version[stream], Type: "test.counted",
			SchemaVersion: 1, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			OccurredAt: time.Now(), RecordedAt: time.Now(), Position: int64(i + 1),
		}
	}
	return out
}

// fakeTB records failures instead of failing the test, so a test can check
// that a helper fails when it should. Everything else goes to the real test.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) record(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, msg)
}

func (f *fakeTB) Fail()                             { f.record("Fail") }
func (f *fakeTB) Error(args ...any)                 { f.record(fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) { f.record(fmt.Sprintf(format, args...)) }
func (f *fakeTB) FailNow()                          { f.record("FailNow"); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)                 { f.record(fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs) > 0
}

func (f *fakeTB) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "\n")
}

// recordFailures runs check against a fresh fake in a goroutine of its own, where
// the fake's Fatal can end it, and returns the fake.
func recordFailures(t *testing.T, check func(tb testing.TB)) *fakeTB {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	return f
}

func TestIdempotent(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	evs := tallyEvents(40, 6)
	tests := []struct {
		name string
		p    projections.Projection
		evs  []eventstore.Event
		want string // in the failure; "" for none
	}{
		{name: "idempotent", p: &tally{name: "idem"}, evs: evs},
		{name: "counts repeats", p: &tally{name: "again", repeats: true}, evs: evs, want: "changed table again_applied"},
		{name: "no events", p: &tally{name: "none"}, want: "no events"},
		{name: "ignores the events", p: &deaf{tally{name: "deaf"}}, evs: evs, want: "left every table empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := recordFailures(t, func(tb testing.TB) { projtest.Idempotent(tb, pool, tt.p, tt.evs) })
			switch {
			case tt.want == "" && f.Failed():
				t.Fatalf("Idempotent failed:\n%s", f)
			case tt.want != "" && !strings.Contains(f.String(), tt.want):
				t.Fatalf("Idempotent said %q; want a failure saying %q", f, tt.want)
			}
		})
	}
}

// deaf sets up its tables but ignores every event.
type deaf struct{ tally }

func (*deaf) Apply(*projections.Batch, []eventstore.Event) error { return nil }

// TestTables checks the picture Tables gives: every row, as text, in a
// fixed order, per table.
func TestTables(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	p := &tally{name: "pic"}
	evs := tallyEvents(5, 2)
	got := projtest.Tables(t, pool, p, projtest.Build(t, pool, p, evs))
	want := map[string][]string{
		"pic_streams": {"(org-0,3,5)", "(org-1,2,4)"},
		"pic_applied": {"(1,1)", "(2,1)", "(3,1)", "(4,1)", "(5,1)"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Tables = %v; want %v", got, want)
	}
	// The same events in another order of arrival give the same picture.
	if again := projtest.Tables(t, pool, p, projtest.Build(t, pool, p, evs)); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Fatalf("a second build gives %v; want %v", again, got)
	}
}
