package follow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/follow"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newStore returns a store over a fresh database with its sequencer
// running until the test ends.
func newStore(t *testing.T) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool, postgres.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SubscriberPoll: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.RunSequencer(runCtx); err != nil {
			t.Errorf("RunSequencer: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return s
}

func appendN(t *testing.T, s eventstore.Store, stream string, n int) {
	t.Helper()
	for i := range n {
		data, _ := json.Marshal(map[string]int{"i": i})
		if _, err := s.Append(context.Background(), stream, eventstore.Any(),
			eventstore.EventData{Type: "test.happened", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
}

// take reads n events from f, checking each, within a deadline.
func take(t *testing.T, f *follow.Feed, n int) []eventstore.Event {
	t.Helper()
	var got []eventstore.Event
	deadline := time.After(20 * time.Second)
	for len(got) < n {
		select {
		case it := <-f.C():
			e, err := f.Check(it)
			if err != nil {
				t.Fatalf("after %d events: %v", len(got), err)
			}
			got = append(got, e)
		case <-deadline:
			t.Fatalf("%d of %d events arrived", len(got), n)
		}
	}
	return got
}

// TestFeedCatchesUpThenFollows: a feed started after a position delivers
// what the log holds after it, then what is appended later, densely, each
// run of events passed through Open before it is handed on.
func TestFeedCatchesUpThenFollows(t *testing.T) {
	s := newStore(t)
	appendN(t, s, "t-1", 5)
	opened := 0
	f := follow.Start(context.Background(), s, 2, follow.Options{Ahead: 2, Open: func(_ context.Context, run []eventstore.Event) error {
		if len(run) == 0 || len(run) > 2 {
			return fmt.Errorf("a run of %d events, outside 1..Ahead", len(run))
		}
		for i := range run {
			run[i].Type = "opened." + run[i].Type
			opened++
		}
		return nil
	}})
	defer f.Stop()
	got := take(t, f, 3)
	appendN(t, s, "t-2", 4)
	got = append(got, take(t, f, 4)...)
	for i, e := range got {
		if e.Position != int64(i+3) {
			t.Errorf("event %d at position %d, want %d", i, e.Position, i+3)
		}
		if e.Type != "opened.test.happened" {
			t.Errorf("event at %d has type %q: Open was not applied", e.Position, e.Type)
		}
	}
	if opened != 7 {
		t.Errorf("Open saw %d events, want 7", opened)
	}
	// Nothing more is ready: Drain returns at once with what it had.
	rest, err := f.Drain(nil, 10)
	if err != nil || len(rest) != 0 {
		t.Errorf("Drain with nothing new = %d events, %v", len(rest), err)
	}
}

// TestFeedOpenErrorEndsIt: an error from Open is the feed's last item,
// and no event of the run it failed on is handed on.
func TestFeedOpenErrorEndsIt(t *testing.T) {
	s := newStore(t)
	appendN(t, s, "t-1", 3)
	boom := errors.New("no key")
	f := follow.Start(context.Background(), s, 0, follow.Options{Open: func(context.Context, []eventstore.Event) error { return boom }})
	defer f.Stop()
	select {
	case it := <-f.C():
		if _, err := f.Check(it); !errors.Is(err, boom) {
			t.Fatalf("first item: %v, want the Open error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no item arrived")
	}
}

// TestCheckRefusesGapsAndRepeats: Check accepts only the position right
// after the last one accepted, so a consumer never skips or repeats one.
func TestCheckRefusesGapsAndRepeats(t *testing.T) {
	s := newStore(t)
	f := follow.Start(context.Background(), s, 4, follow.Options{})
	defer f.Stop()
	for _, tc := range []struct {
		pos  int64
		want string // "" for accepted
	}{
		{4, "position 4 where 5 was due"},
		{6, "position 6 where 5 was due"},
		{5, ""},
		{5, "position 5 where 6 was due"},
		{6, ""},
	} {
		_, err := f.Check(follow.Item{Event: eventstore.Event{Position: tc.pos}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%d) = %v, want it accepted", tc.pos, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Check(%d) = %v, want %q", tc.pos, err, tc.want)
		}
	}
	if _, err := f.Check(follow.Item{Err: io.ErrUnexpectedEOF}); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "after 6") {
		t.Errorf("Check(error item) = %v, want it wrapped with the position", err)
	}
}

// TestBackoff: waits double from Min up to Max, and Reset starts again.
func TestBackoff(t *testing.T) {
	b := follow.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{10, 20, 40, 50, 50}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
	b.Reset()
	if p, n := b.Peek(), b.Next(); p != 10*time.Millisecond || n != p {
		t.Errorf("after Reset: Peek %v, Next %v, want 10ms both", p, n)
	}
	var zero follow.Backoff
	if d := zero.Next(); d != follow.RetryMin {
		t.Errorf("zero Backoff's first wait %v, want RetryMin", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&follow.Backoff{Min: time.Hour}).Sleep(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v", err)
	}
}
