package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// same reports how a copied event differs from its original in what Copy
// keeps, or "".
func same(a, b eventstore.Event) string {
	switch {
	case a.ID != b.ID:
		return fmt.Sprintf("ID %s, want %s", b.ID, a.ID)
	case a.Stream != b.Stream || a.Version != b.Version:
		return fmt.Sprintf("%s v%d, want %s v%d", b.Stream, b.Version, a.Stream, a.Version)
	case a.Type != b.Type || a.SchemaVersion != b.SchemaVersion:
		return fmt.Sprintf("type %s v%d, want %s v%d", b.Type, b.SchemaVersion, a.Type, a.SchemaVersion)
	case string(a.Data) != string(b.Data):
		return fmt.Sprintf("data %s, want %s", b.Data, a.Data)
	case a.Metadata != b.Metadata:
		return fmt.Sprintf("metadata %+v, want %+v", b.Metadata, a.Metadata)
	case !a.OccurredAt.Equal(b.OccurredAt):
		return fmt.Sprintf("occurred at %v, want %v", b.OccurredAt, a.OccurredAt)
	}
	return ""
}

// TestCopyRoundTrip copies a ledger from a store with dense positions to
// one with KurrentDB's and back, keeping IDs, streams, versions, order,
// data and metadata; a copy run again writes nothing; a destination whose
// stream holds other events refuses, naming it, and keeps what it had.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := inmem.New()
	occurred := time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range 60 {
		n := 1 + i%4
		batch := make([]eventstore.EventData, n)
		for j := range batch {
			batch[j] = eventstore.EventData{
				ID: eventstore.NewID(), Type: "test.happened", SchemaVersion: 1 + j%2,
				Data:       json.RawMessage(fmt.Sprintf(`{"i": %d, "j" : %d}`, i, j)),
				Metadata:   eventstore.Metadata{Actor: "key:copy", Role: "admin", CorrelationID: fmt.Sprint("c-", i), CommandID: "cmd"},
				OccurredAt: occurred.Add(time.Duration(i) * time.Hour),
			}
		}
		if _, err := src.Append(ctx, fmt.Sprintf("org-%d", i%7), eventstore.Any(), batch...); err != nil {
			t.Fatal(err)
		}
	}
	mid, back := inmem.NewSparse(), inmem.New()
	for _, hop := range []struct {
		from, to eventstore.Store
	}{{src, mid}, {mid, back}} {
		rep, err := eventstore.Copy(ctx, hop.from, hop.to, nil)
		if err != nil || rep.Events != 150 {
			t.Fatalf("Copy = %+v, %v; want 150 events", rep, err)
		}
	}
	want, _ := src.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	for _, s := range []eventstore.Store{mid, back} {
		got, _ := s.ReadAll(ctx, 0, eventstore.MaxReadLimit)
		if len(got) != len(want) {
			t.Fatalf("the copy holds %d events, want %d", len(got), len(want))
		}
		for i := range want {
			if d := same(want[i], got[i]); d != "" {
				t.Fatalf("event %d of the log: %s", i, d)
			}
		}
	}

	// Again: every append a retry, nothing written.
	if _, err := eventstore.Copy(ctx, src, back, nil); err != nil {
		t.Fatalf("a copy run again: %v", err)
	}
	if h, _ := back.Head(ctx); h != 150 {
		t.Errorf("a copy run again left the destination at %d events, want 150", h)
	}

	// A destination with events of its own in a stream the source has.
	other := inmem.New()
	if _, err := other.Append(ctx, "org-3", eventstore.NoStream(), eventstore.EventData{Type: "test.other", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := eventstore.Copy(ctx, src, other, nil)
	if !errors.Is(err, eventstore.ErrConcurrency) || !strings.Contains(err.Error(), "org-3") {
		t.Errorf("a copy into a destination whose org-3 differs: %v; want a concurrency error naming org-3", err)
	}
	if got, _ := other.ReadStream(ctx, "org-3", eventstore.ReadOptions{}); len(got) != 1 || got[0].Type != "test.other" {
		t.Errorf("the destination's org-3 changed: %d events", len(got))
	}
}

// TestCopySplitsLongRuns: one stream's run of events goes in appends of
// at most 500 events and 512 KiB of data, which KurrentDB's default limit
// on an append (1 MiB) takes.
func TestCopySplitsLongRuns(t *testing.T) {
	ctx := context.Background()
	src := inmem.New()
	many := make([]eventstore.EventData, 1200)
	for i := range many {
		many[i] = eventstore.EventData{Type: "test.happened", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
	}
	if _, err := src.Append(ctx, "org-1", eventstore.NoStream(), many...); err != nil {
		t.Fatal(err)
	}
	big := make([]eventstore.EventData, 3)
	for i := range big {
		big[i] = eventstore.EventData{Type: "test.happened", Data: json.RawMessage(`{"x":"` + strings.Repeat("a", 300<<10) + `"}`)}
	}
	if _, err := src.Append(ctx, "org-2", eventstore.NoStream(), big...); err != nil {
		t.Fatal(err)
	}
	var largest int
	dst := &sizes{Store: inmem.NewSparse(), largest: &largest}
	rep, err := eventstore.Copy(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 1,200 events: 500 + 500 (the first page of 1,000), then 200; the
	// three of 300 KiB one by one.
	if rep.Events != 1203 || rep.Appends != 6 || largest > 512<<10 {
		t.Errorf("Copy = %+v, largest append %d bytes; want 1,203 events in 6 appends, none over 512 KiB", rep, largest)
	}
}

// sizes is a store that records its largest append's data.
type sizes struct {
	eventstore.Store
	largest *int
}

func (s *sizes) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	n := 0
	for _, e := range events {
		n += len(e.Data)
	}
	*s.largest = max(*s.largest, n)
	return s.Store.Append(ctx, stream, expected, events...)
}
