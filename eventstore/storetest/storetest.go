// Package storetest is the conformance suite of the eventstore contract.
// Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return newEmptyStore(t) }, storetest.Capabilities{})
//	}
//
// The suite assumes each call of open returns an empty store of its own.
//
// What is inherent to a backend is declared in its Capabilities, never
// skipped: a backend whose positions are not dense is held to what its
// positions do promise (they ascend, a read resumes exactly after any of
// them), and to having declared it truthfully.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
)

// Capabilities declares what is inherent to a backend, so that the suite
// asserts what the backend does promise instead of skipping what it
// cannot. The zero value is the full contract: dense positions, leaf
// hashes, event IDs unique across the store (the postgres backend).
type Capabilities struct {
	// SparsePositions: global positions ascend and a read resumes after
	// any of them, but they are not the numbers 1, 2, 3...: KurrentDB's
	// $all positions are byte offsets in its transaction log. The suite
	// then checks that they are indeed not dense, so that a backend
	// configured to be sparse (inmem.NewSparse) really tests the layers
	// above for an assumption of density.
	SparsePositions bool
	// NoHashes: the backend keeps no Merkle tree, so every event's Hash
	// is nil (KurrentDB; eventstore/dense adds the tree over it).
	NoHashes bool
	// IDsUniquePerStream: an event ID is idempotent within its stream
	// only; the same ID appended to another stream is a new event there
	// (KurrentDB keeps no index by ID across streams).
	IDsUniquePerStream bool
	// NoIDIndex: AwaitPosition knows only the events this Store appended;
	// for another ID it returns eventstore.ErrNoIDIndex, never
	// ErrNotFound, since it cannot know (KurrentDB).
	NoIDIndex bool
}

// Run runs the whole suite against the backend that open creates, held
// to the capabilities it declares.
func Run(t *testing.T, open func(t *testing.T) eventstore.Store, caps Capabilities) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s eventstore.Store)
	}{
		{"ExpectedVersion", testExpectedVersion},
		{"Envelope", testEnvelope},
		{"OccurredAtDefaultsToRecordedAt", testOccurredAtDefault},
		{"IdempotentRetry", testIdempotentRetry},
		{"DuplicateIDs", testDuplicateIDs},
		{"AllOrNothing", testAllOrNothing},
		{"InvalidInput", testInvalidInput},
		{"ReadStream", testReadStream},
		{"ReadAll", testReadAll},
		{"ReadCategory", testReadCategory},
		{"StreamOrderInLog", testStreamOrderInLog},
		{"SubscribeCatchUpThenLive", testSubscribe},
		{"SubscribeEndsWithContext", testSubscribeEnds},
		{"AwaitPositionUnknown", testAwaitUnknown},
		{"HashChain", testHashChain},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ResumeAfterAnyPosition", testResume},
		{"DeclaredPositions", testDeclaredPositions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, declaredStore{open(t), caps})
		})
	}
}

// declaredStore is the store under test with what its backend declares,
// so that every test function takes the one argument.
type declaredStore struct {
	eventstore.Store
	caps Capabilities
}

// capsOf returns what the backend of s declares.
func capsOf(s eventstore.Store) Capabilities { return s.(declaredStore).caps }

// checkPositions checks that log's positions follow after as the backend
// of s declares: after+1, after+2... when dense, ascending when sparse.
func checkPositions(t testing.TB, s eventstore.Store, log []eventstore.Event, after int64) {
	t.Helper()
	sparse := capsOf(s).SparsePositions
	prev := after
	for i, e := range log {
		switch {
		case !sparse && e.Position != prev+1:
			t.Fatalf("event %d (after %d) has position %d, want %d", i, after, e.Position, prev+1)
		case sparse && e.Position <= prev:
			t.Fatalf("event %d (after %d) has position %d, not above %d", i, after, e.Position, prev)
		}
		prev = e.Position
	}
}

func ctxFor(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ev returns an event of type test.happened whose data records n.
func ev(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:   eventstore.NewID(),
		Type: "test.happened",
		Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{
			Actor: "storetest", Role: "admin", CorrelationID: "corr-1",
			CausationID: "cause-1", CommandID: "cmd-1",
		},
	}
}

func evs(from, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev(from + i)
	}
	return out
}

// mustAppend appends and waits until the events are in the global log.
func mustAppend(t testing.TB, s eventstore.Store, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	ctx := ctxFor(t)
	res, err := s.Append(ctx, stream, expected, events...)
	if err != nil {
		t.Fatalf("Append(%s, %s, %d events): %v", stream, expected, len(events), err)
	}
	pos, err := s.AwaitPosition(ctx, res.LastID)
	if err != nil {
		t.Fatalf("AwaitPosition(%s): %v", res.LastID, err)
	}
	if res.Position != 0 && res.Position != pos {
		t.Fatalf("Append returned position %d, AwaitPosition says %d", res.Position, pos)
	}
	return res
}

func readStream(t testing.TB, s eventstore.Store, stream string) []eventstore.Event {
	t.Helper()
	events, err := s.ReadStream(ctxFor(t), stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("ReadStream(%s): %v", stream, err)
	}
	return events
}

func readAll(t testing.TB, s eventstore.Store) []eventstore.Event {
	t.Helper()
	events, err := s.ReadAll(ctxFor(t), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return events
}

func versions(events []eventstore.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Version
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testExpectedVersion(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	mustAppend(t, s, "account-two", eventstore.NoStream(), evs(1, 2)...)
	tests := []struct {
		stream   string
		expected eventstore.ExpectedVersion
		want     int64 // version after a successful append
		actual   int64 // the stream's version when refused
		ok       bool
	}{
		{"account-missing1", eventstore.Any(), 1, 0, true},
		{"account-missing2", eventstore.NoStream(), 1, 0, true},
		{"account-missing3", eventstore.StreamExists(), 0, 0, false},
		{"account-missing4", eventstore.Exact(1), 0, 0, false},
		{"account-two", eventstore.NoStream(), 0, 2, false},
		{"account-two", eventstore.Exact(1), 0, 2, false},
		{"account-two", eventstore.Exact(3), 0, 2, false},
		{"account-two", eventstore.Exact(2), 3, 0, true},
		{"account-two", eventstore.StreamExists(), 4, 0, true},
		{"account-two", eventstore.Any(), 5, 0, true},
	}
	for _, tt := range tests {
		res, err := s.Append(ctx, tt.stream, tt.expected, ev(0))
		if tt.ok {
			if err != nil || res.Version != tt.want {
				t.Errorf("Append(%s, %s) = version %d, %v; want version %d", tt.stream, tt.expected, res.Version, err, tt.want)
			}
			continue
		}
		var ce *eventstore.ConcurrencyError
		if !errors.Is(err, eventstore.ErrConcurrency) || !errors.As(err, &ce) {
			t.Errorf("Append(%s, %s) error = %v, want ErrConcurrency", tt.stream, tt.expected, err)
			continue
		}
		if ce.Actual != tt.actual || ce.Stream != tt.stream {
			t.Errorf("Append(%s, %s): ConcurrencyError{Stream: %s, Actual: %d}, want stream at %d", tt.stream, tt.expected, ce.Stream, ce.Actual, tt.actual)
		}
	}
	if got := versions(readStream(t, s, "account-two")); !equalInts(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("account-two versions = %v, want [1 2 3 4 5]", got)
	}
	if got := readStream(t, s, "account-missing3"); len(got) != 0 {
		t.Errorf("refused append to account-missing3 stored %d events", len(got))
	}
}

func testEnvelope(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	occurred := time.Date(2019, 3, 14, 9, 26, 53, 589793238, time.FixedZone("GET", 4*3600))
	in := eventstore.EventData{
		ID:            eventstore.NewID(),
		Type:          "registry.organisation_registered",
		SchemaVersion: 3,
		Data:          json.RawMessage(" \t{ \"name\" : {\"ka\": \"სამოქალაქო ინტეგრაციის ფონდი\", \"en\": \"Civic Integration Foundation\"},\n \"n\": 1.50 }\n"),
		Metadata: eventstore.Metadata{
			Actor: "key:analyst-1", Role: "consortium", CorrelationID: "c-1",
			CausationID: "e-0", CommandID: "cmd-7",
		},
		OccurredAt: occurred,
	}
	before := time.Now().Add(-time.Second)
	res := mustAppend(t, s, "organisation-cif", eventstore.NoStream(), in)
	after := time.Now().Add(time.Second)
	if res.Version != 1 || res.LastID != in.ID {
		t.Fatalf("Append = %+v, want version 1 and last ID %s", res, in.ID)
	}
	got := readStream(t, s, "organisation-cif")
	if len(got) != 1 {
		t.Fatalf("ReadStream returned %d events, want 1", len(got))
	}
	e := got[0]
	// Byte for byte as given, but for the surrounding white space.
	wantData := "{ \"name\" : {\"ka\": \"სამოქალაქო ინტეგრაციის ფონდი\", \"en\": \"Civic Integration Foundation\"},\n \"n\": 1.50 }"
	switch {
	case e.ID != in.ID:
		t.Errorf("ID = %s, want %s", e.ID, in.ID)
	case e.Stream != "organisation-cif" || e.Version != 1:
		t.Errorf("stream/version = %s/%d, want organisation-cif/1", e.Stream, e.Version)
	case e.Type != in.Type || e.SchemaVersion != 3:
		t.Errorf("type = %s v%d, want %s v3", e.Type, e.SchemaVersion, in.Type)
	case string(e.Data) != wantData:
		t.Errorf("Data = %q, want %q (as given, numbers, spacing and key order kept)", e.Data, wantData)
	case e.Metadata != in.Metadata:
		t.Errorf("Metadata = %+v, want %+v", e.Metadata, in.Metadata)
	case !e.OccurredAt.Equal(occurred.Truncate(time.Microsecond)):
		t.Errorf("OccurredAt = %v, want %v", e.OccurredAt, occurred.Truncate(time.Microsecond))
	case e.RecordedAt.Before(before) || e.RecordedAt.After(after):
		t.Errorf("RecordedAt = %v, want between %v and %v", e.RecordedAt, before, after)
	}
	all := readAll(t, s)
	if len(all) != 1 || all[0].ID != in.ID || string(all[0].Data) != wantData {
		t.Fatalf("ReadAll = %+v, want the one event", all)
	}
	checkPositions(t, s, all, 0)
	at := all[0].Position
	if p, err := s.AwaitPosition(ctx, in.ID); err != nil || p != at {
		t.Errorf("AwaitPosition = %d, %v; want %d", p, err, at)
	}
	if h, err := s.Head(ctx); err != nil || h != at {
		t.Errorf("Head = %d, %v; want %d", h, err, at)
	}
}

func testOccurredAtDefault(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, "clock-1", eventstore.Any(), ev(1))
	e := readStream(t, s, "clock-1")[0]
	if e.OccurredAt.IsZero() || !e.OccurredAt.Equal(e.RecordedAt) {
		t.Errorf("OccurredAt = %v, RecordedAt = %v; an unset OccurredAt should be the time of recording", e.OccurredAt, e.RecordedAt)
	}
}

func testIdempotentRetry(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	batch := evs(1, 3)
	first := mustAppend(t, s, "retry-1", eventstore.NoStream(), batch...)
	mustAppend(t, s, "other-1", eventstore.Any(), ev(9))
	// The retry's expected version no longer holds; it is a retry all the same.
	for _, expected := range []eventstore.ExpectedVersion{eventstore.NoStream(), eventstore.Any(), eventstore.Exact(3)} {
		again, err := s.Append(ctx, "retry-1", expected, batch...)
		if err != nil {
			t.Fatalf("retry with %s: %v", expected, err)
		}
		if again.Version != first.Version || again.LastID != first.LastID {
			t.Errorf("retry with %s = %+v, want the first result %+v", expected, again, first)
		}
	}
	if n := len(readStream(t, s, "retry-1")); n != 3 {
		t.Errorf("retry-1 has %d events after retries, want 3", n)
	}
	if n := len(readAll(t, s)); n != 4 {
		t.Errorf("log has %d events after retries, want 4", n)
	}
}

func testDuplicateIDs(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	batch := evs(1, 2)
	mustAppend(t, s, "dup-1", eventstore.NoStream(), batch...)
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
	}{
		{"same ID, other stream", "dup-2", batch},
		{"same IDs, other order", "dup-1", []eventstore.EventData{batch[1], batch[0]}},
		{"stored ID then new", "dup-1", []eventstore.EventData{batch[0], ev(3)}},
		{"new then stored ID", "dup-1", []eventstore.EventData{ev(4), batch[1]}},
	}
	for _, c := range cases {
		if c.stream != "dup-1" && capsOf(s).IDsUniquePerStream {
			// Declared: the same IDs in another stream are new events
			// there, appended as any others.
			if _, err := s.Append(ctx, c.stream, eventstore.NoStream(), c.events...); err != nil {
				t.Errorf("%s: %v; the backend declares IDs unique per stream, so want the append", c.name, err)
			}
			continue
		}
		_, err := s.Append(ctx, c.stream, eventstore.Any(), c.events...)
		var de *eventstore.DuplicateIDError
		if !errors.Is(err, eventstore.ErrDuplicateID) || !errors.As(err, &de) || de.Stream != "dup-1" {
			t.Errorf("%s: error = %v, want ErrDuplicateID naming dup-1", c.name, err)
		}
	}
	if n := len(readStream(t, s, "dup-1")); n != 2 {
		t.Errorf("dup-1 has %d events, want 2", n)
	}
	want := 0
	if capsOf(s).IDsUniquePerStream {
		want = len(batch)
	}
	if n := len(readStream(t, s, "dup-2")); n != want {
		t.Errorf("dup-2 has %d events, want %d", n, want)
	}
}

func testAllOrNothing(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	mustAppend(t, s, "atomic-1", eventstore.NoStream(), ev(1))
	bad := evs(2, 3)
	bad[2].Data = json.RawMessage(`[1,2]`)
	if _, err := s.Append(ctx, "atomic-1", eventstore.Any(), bad...); !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("append with a bad third event: %v, want ErrInvalid", err)
	}
	if _, err := s.Append(ctx, "atomic-1", eventstore.Exact(5), evs(2, 3)...); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("append at a wrong version: %v, want ErrConcurrency", err)
	}
	if got := versions(readStream(t, s, "atomic-1")); !equalInts(got, []int64{1}) {
		t.Errorf("versions after refused appends = %v, want [1]", got)
	}
	res := mustAppend(t, s, "atomic-1", eventstore.Exact(1), evs(2, 3)...)
	if res.Version != 4 {
		t.Errorf("Version = %d, want 4", res.Version)
	}
	if n := len(readAll(t, s)); n != 4 {
		t.Errorf("log has %d events, want 4", n)
	}
}

func testInvalidInput(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	with := func(f func(*eventstore.EventData)) []eventstore.EventData {
		e := ev(1)
		f(&e)
		return []eventstore.EventData{e}
	}
	id := eventstore.NewID()
	tests := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedVersion
		events   []eventstore.EventData
		field    string
	}{
		{"empty stream", "", eventstore.Any(), evs(1, 1), "stream ID"},
		{"stream without id", "organisation", eventstore.Any(), evs(1, 1), "stream ID"},
		{"stream with empty id", "organisation-", eventstore.Any(), evs(1, 1), "stream ID"},
		{"upper-case category", "Organisation-1", eventstore.Any(), evs(1, 1), "stream ID"},
		{"system stream", "$all-1", eventstore.Any(), evs(1, 1), "stream ID"},
		{"space in id", "organisation-a b", eventstore.Any(), evs(1, 1), "stream ID"},
		{"long stream", "organisation-" + strings.Repeat("x", 200), eventstore.Any(), evs(1, 1), "stream ID"},
		{"unset expected version", "ok-1", eventstore.ExpectedVersion{}, evs(1, 1), "expected version"},
		{"Exact(0)", "ok-1", eventstore.Exact(0), evs(1, 1), "expected version"},
		{"no events", "ok-1", eventstore.Any(), nil, "events"},
		{"too many events", "ok-1", eventstore.Any(), evs(1, eventstore.MaxAppendEvents+1), "events"},
		{"empty type", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "" }), "type"},
		{"type without fact", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "registry" }), "type"},
		{"camel-case type", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "registry.OrgRegistered" }), "type"},
		{"three-part type", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Type = "a.b.c" }), "type"},
		{"negative schema version", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.SchemaVersion = -1 }), "schema version"},
		{"empty data", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = nil }), "data"},
		{"array data", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage(`[]`) }), "data"},
		{"string data", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage(`"x"`) }), "data"},
		{"broken JSON", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{"a":`) }), "data"},
		{"two objects", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{}{}`) }), "data"},
		{"invalid UTF-8", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage("{\"a\":\"\xff\"}") }), "data"},
		{"NUL escape", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Data = json.RawMessage(`{"a":"\u0000"}`) }), "data"},
		{"event over 1 MiB", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) {
			e.Data = json.RawMessage(`{"a":"` + strings.Repeat("x", eventstore.MaxEventBytes) + `"}`)
		}), "data"},
		{"data and metadata over 1 MiB", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) {
			e.Data = json.RawMessage(`{"a":"` + strings.Repeat("x", eventstore.MaxEventBytes-100) + `"}`)
			e.Metadata.Actor = strings.Repeat("y", 1000)
		}), "size"},
		{"long actor", "ok-1", eventstore.Any(), with(func(e *eventstore.EventData) { e.Metadata.Actor = strings.Repeat("y", 2000) }), "metadata"},
		{"same ID twice", "ok-1", eventstore.Any(), []eventstore.EventData{{ID: id, Type: "a.b", Data: json.RawMessage(`{}`)}, {ID: id, Type: "a.b", Data: json.RawMessage(`{}`)}}, "ID"},
	}
	for _, tt := range tests {
		_, err := s.Append(ctx, tt.stream, tt.expected, tt.events...)
		var ie *eventstore.InvalidError
		if !errors.Is(err, eventstore.ErrInvalid) || !errors.As(err, &ie) {
			t.Errorf("%s: Append error = %v, want ErrInvalid", tt.name, err)
			continue
		}
		if ie.Field != tt.field {
			t.Errorf("%s: error %q names %q, want %q", tt.name, err, ie.Field, tt.field)
		}
	}
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Errorf("Head after refused appends = %d, %v; want 0", h, err)
	}
	if n := len(readStream(t, s, "ok-1")); n != 0 {
		t.Errorf("ok-1 has %d events after refused appends, want 0", n)
	}
	if _, err := s.ReadStream(ctx, "no id", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadStream of a malformed stream ID: %v, want ErrInvalid", err)
	}
	for _, opts := range []eventstore.ReadOptions{{From: -1}, {Limit: -1}, {Direction: 7}} {
		if _, err := s.ReadStream(ctx, "ok-1", opts); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadStream(%+v): %v, want ErrInvalid", opts, err)
		}
	}
	for _, c := range []struct {
		after int64
		limit int
	}{{-1, 10}, {0, 0}, {0, eventstore.MaxReadLimit + 1}} {
		if _, err := s.ReadAll(ctx, c.after, c.limit); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadAll(%d, %d): %v, want ErrInvalid", c.after, c.limit, err)
		}
	}
}

func testReadStream(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	mustAppend(t, s, "read-1", eventstore.NoStream(), evs(1, 5)...)
	mustAppend(t, s, "read-2", eventstore.NoStream(), evs(1, 2)...)
	tests := []struct {
		opts eventstore.ReadOptions
		want []int64
	}{
		{eventstore.ReadOptions{}, []int64{1, 2, 3, 4, 5}},
		{eventstore.ReadOptions{From: 3}, []int64{3, 4, 5}},
		{eventstore.ReadOptions{From: 2, Limit: 2}, []int64{2, 3}},
		{eventstore.ReadOptions{From: 6}, nil},
		{eventstore.ReadOptions{Direction: eventstore.Backward}, []int64{5, 4, 3, 2, 1}},
		{eventstore.ReadOptions{Direction: eventstore.Backward, Limit: 1}, []int64{5}},
		{eventstore.ReadOptions{Direction: eventstore.Backward, From: 3}, []int64{3, 2, 1}},
		{eventstore.ReadOptions{Direction: eventstore.Backward, From: 4, Limit: 2}, []int64{4, 3}},
		{eventstore.ReadOptions{Direction: eventstore.Backward, From: 99}, []int64{5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		got, err := s.ReadStream(ctx, "read-1", tt.opts)
		if err != nil {
			t.Errorf("ReadStream(read-1, %+v): %v", tt.opts, err)
			continue
		}
		if !equalInts(versions(got), tt.want) {
			t.Errorf("ReadStream(read-1, %+v) = versions %v, want %v", tt.opts, versions(got), tt.want)
		}
		for _, e := range got {
			if e.Stream != "read-1" || e.Position == 0 {
				t.Errorf("ReadStream(read-1) returned %s v%d at position %d, want read-1 events with positions", e.Stream, e.Version, e.Position)
			}
		}
	}
	if got, err := s.ReadStream(ctx, "read-404", eventstore.ReadOptions{}); err != nil || len(got) != 0 {
		t.Errorf("ReadStream(read-404) = %d events, %v; want none and no error", len(got), err)
	}
}

func testReadAll(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	for i := range 10 {
		mustAppend(t, s, fmt.Sprintf("all-%d", i%3), eventstore.Any(), evs(i*3, 3)...)
	}
	all := readAll(t, s)
	if len(all) != 30 {
		t.Fatalf("ReadAll returned %d events, want 30", len(all))
	}
	checkPositions(t, s, all, 0)
	tenth, last := all[9].Position, all[29].Position
	page, err := s.ReadAll(ctx, tenth, 5)
	if err != nil || len(page) != 5 || page[0].Position != all[10].Position || page[4].Position != all[14].Position {
		t.Errorf("ReadAll(%d, 5) = %d events from %v, %v; want the 11th to the 15th", tenth, len(page), page, err)
	}
	if page, err := s.ReadAll(ctx, last, 5); err != nil || len(page) != 0 {
		t.Errorf("ReadAll(%d, 5) after the last = %d events, %v; want none", last, len(page), err)
	}
	if h, err := s.Head(ctx); err != nil || h != last {
		t.Errorf("Head = %d, %v; want %d", h, err, last)
	}
}

// testReadCategory: a category's streams, and no other's (not even one
// whose name it begins: ballot_a is not ballot_ab), in log order, paged.
func testReadCategory(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	want := map[int64]bool{}
	for i := range 12 {
		stream := []string{"ballot_a-v1", "ballot_ab-v1", "ballot_a-v2.x", "other-1"}[i%4]
		res := mustAppend(t, s, stream, eventstore.Any(), ev(i))
		if stream == "ballot_a-v1" || stream == "ballot_a-v2.x" {
			pos, err := s.AwaitPosition(ctx, res.LastID)
			if err != nil {
				t.Fatal(err)
			}
			want[pos] = true
		}
	}
	got, err := s.ReadCategory(ctx, "ballot_a", 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("ReadCategory(ballot_a) = %d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		if !want[e.Position] || eventstore.Category(e.Stream) != "ballot_a" || (i > 0 && e.Position <= got[i-1].Position) {
			t.Errorf("event %d: %s at %d, out of the category or out of order", i, e.Stream, e.Position)
		}
		if (len(e.Hash) == 0) != capsOf(s).NoHashes || e.Data == nil {
			t.Errorf("event %d at %d came without its data, or its hash is not as declared (no hashes: %t)", i, e.Position, capsOf(s).NoHashes)
		}
	}
	page, err := s.ReadCategory(ctx, "ballot_a", got[1].Position, 2)
	if err != nil || len(page) != 2 || page[0].Position != got[2].Position || page[1].Position != got[3].Position {
		t.Errorf("ReadCategory after %d, 2 = %v, %v; want the third and fourth", got[1].Position, page, err)
	}
	if rest, err := s.ReadCategory(ctx, "ballot_a", got[len(got)-1].Position, 10); err != nil || len(rest) != 0 {
		t.Errorf("ReadCategory after the last = %d events, %v", len(rest), err)
	}
	if none, err := s.ReadCategory(ctx, "nothing", 0, 10); err != nil || len(none) != 0 {
		t.Errorf("ReadCategory of an empty category = %d events, %v", len(none), err)
	}
	for _, bad := range []string{"", "Ballot", "ballot-a", "1x"} {
		if _, err := s.ReadCategory(ctx, bad, 0, 10); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadCategory(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := s.ReadCategory(ctx, "ballot_a", 0, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadCategory with limit 0 = %v, want ErrInvalid", err)
	}
}

func testStreamOrderInLog(t *testing.T, s eventstore.Store) {
	for i := range 40 {
		mustAppend(t, s, fmt.Sprintf("order-%d", i%4), eventstore.Any(), evs(i, 1+i%3)...)
	}
	checkLog(t, s, readAll(t, s))
}

// checkLog checks that positions are as declared from the start and that
// each stream's versions ascend by one in log order.
func checkLog(t testing.TB, s eventstore.Store, log []eventstore.Event) {
	t.Helper()
	checkPositions(t, s, log, 0)
	last := map[string]int64{}
	for _, e := range log {
		if e.Version != last[e.Stream]+1 {
			t.Fatalf("position %d: %s version %d follows version %d", e.Position, e.Stream, e.Version, last[e.Stream])
		}
		last[e.Stream] = e.Version
	}
}

func testSubscribe(t *testing.T, s eventstore.Store) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	for i := range 5 {
		mustAppend(t, s, "sub-1", eventstore.Any(), evs(i*2, 2)...)
	}
	stored := readAll(t, s)
	type got struct {
		e   eventstore.Event
		err error
	}
	ch := make(chan got)
	go func() {
		defer close(ch)
		for e, err := range s.SubscribeAll(ctx, stored[2].Position) {
			select {
			case ch <- got{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	next := func() eventstore.Event {
		t.Helper()
		select {
		case g, ok := <-ch:
			if !ok || g.err != nil {
				t.Fatalf("subscription ended: %v", g.err)
			}
			return g.e
		case <-time.After(30 * time.Second):
			t.Fatal("no event from the subscription within 30s")
		}
		return eventstore.Event{}
	}
	for _, want := range stored[3:] {
		if e := next(); e.Position != want.Position || e.ID != want.ID {
			t.Fatalf("catch-up delivered %s at %d, want %s at %d", e.ID, e.Position, want.ID, want.Position)
		}
	}
	prev := stored[len(stored)-1].Position
	// Caught up: now live.
	for i := range 3 {
		res, err := s.Append(ctx, "sub-2", eventstore.Any(), ev(100+i))
		if err != nil {
			t.Fatal(err)
		}
		e := next()
		at, err := s.AwaitPosition(ctx, res.LastID)
		if err != nil {
			t.Fatal(err)
		}
		if e.ID != res.LastID || e.Position != at {
			t.Fatalf("live event = %s at %d, want %s at %d", e.ID, e.Position, res.LastID, at)
		}
		checkPositions(t, s, []eventstore.Event{e}, prev)
		prev = e.Position
	}
	select {
	case g := <-ch:
		t.Fatalf("unexpected extra delivery: %+v", g)
	case <-time.After(100 * time.Millisecond):
	}
}

func testSubscribeEnds(t *testing.T, s eventstore.Store) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	mustAppend(t, s, "end-1", eventstore.Any(), ev(1))
	var n int
	var last error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, err := range s.SubscribeAll(ctx, 0) {
			if err != nil {
				last = err
				return
			}
			n++
			if n == 1 {
				cancel()
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("subscription did not end within 30s of its context")
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Errorf("subscription delivered %d events and ended with %v; want 1 and context.Canceled", n, last)
	}
	if _, err := s.Append(context.Background(), "end-1", eventstore.Any(), ev(2)); err != nil {
		t.Errorf("append after the subscription ended: %v", err)
	}
}

func testAwaitUnknown(t *testing.T, s eventstore.Store) {
	_, err := s.AwaitPosition(ctxFor(t), eventstore.NewID())
	if capsOf(s).NoIDIndex {
		if !errors.Is(err, eventstore.ErrNoIDIndex) || errors.Is(err, eventstore.ErrNotFound) {
			t.Errorf("AwaitPosition(unknown) error = %v, want ErrNoIDIndex (declared), not ErrNotFound", err)
		}
		return
	}
	if !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("AwaitPosition(unknown) error = %v, want ErrNotFound", err)
	}
}

func testHashChain(t *testing.T, s eventstore.Store) {
	for i := range 5 {
		mustAppend(t, s, "chain-1", eventstore.Any(), evs(i, 2)...)
	}
	for _, e := range readAll(t, s) {
		if capsOf(s).NoHashes {
			if e.Hash != nil {
				t.Fatalf("position %d has a hash, but the backend declares it keeps none", e.Position)
			}
			continue
		}
		if e.Hash == nil {
			t.Fatalf("position %d has no hash", e.Position)
		}
		if want := tlog.LeafHash(&e); string(want) != string(e.Hash) {
			t.Fatalf("position %d: hash %x, recomputed %x", e.Position, e.Hash, want)
		}
	}
}

func testConcurrentAppends(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var lastIDs sync.Map
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				stream := fmt.Sprintf("shared-%d", i%3)
				if i%2 == 0 {
					stream = fmt.Sprintf("own-%d", w)
				}
				res, err := s.Append(ctx, stream, eventstore.Any(), evs(i, 1+i%2)...)
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				lastIDs.Store(res.LastID, true)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lastIDs.Range(func(k, _ any) bool {
		if _, err := s.AwaitPosition(ctx, k.(eventstore.ID)); err != nil {
			t.Fatalf("AwaitPosition: %v", err)
		}
		return true
	})
	log := readAll(t, s)
	want := 0
	for i := range each { // even i: 1 event, odd i: 2
		want += 1 + i%2
	}
	want *= writers
	if len(log) != want {
		t.Fatalf("log has %d events, want %d", len(log), want)
	}
	checkLog(t, s, log)
}

// testResume: a read and a subscription resume exactly after any
// position of the log, however the backend numbers them.
func testResume(t *testing.T, s eventstore.Store) {
	ctx := ctxFor(t)
	for i := range 6 {
		mustAppend(t, s, fmt.Sprintf("resume-%d", i%2), eventstore.Any(), evs(i*2, 1+i%3)...)
	}
	all := readAll(t, s)
	for i, e := range all {
		rest, err := s.ReadAll(ctx, e.Position, eventstore.MaxReadLimit)
		if err != nil {
			t.Fatalf("ReadAll(%d): %v", e.Position, err)
		}
		if len(rest) != len(all)-i-1 {
			t.Fatalf("ReadAll(%d) = %d events, want %d", e.Position, len(rest), len(all)-i-1)
		}
		for j, r := range rest {
			if r.ID != all[i+1+j].ID {
				t.Fatalf("ReadAll(%d)[%d] = %s, want %s", e.Position, j, r.ID, all[i+1+j].ID)
			}
		}
	}
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	mid := all[len(all)/2]
	var got []eventstore.ID
	for e, err := range s.SubscribeAll(sub, mid.Position) {
		if err != nil {
			t.Fatalf("SubscribeAll(%d): %v", mid.Position, err)
		}
		got = append(got, e.ID)
		if e.ID == all[len(all)-1].ID {
			break
		}
	}
	if len(got) != len(all)-len(all)/2-1 || got[0] != all[len(all)/2+1].ID {
		t.Errorf("SubscribeAll(%d) delivered %d events starting %v, want the %d after it", mid.Position, len(got), got[:min(1, len(got))], len(all)-len(all)/2-1)
	}
}

// testDeclaredPositions holds the declaration to the truth: a backend
// that declares sparse positions must have them (else a sparse test
// configuration proves nothing), one that does not must be dense.
func testDeclaredPositions(t *testing.T, s eventstore.Store) {
	for i := range 5 {
		mustAppend(t, s, "declared-1", eventstore.Any(), evs(i*3, 3)...)
	}
	all := readAll(t, s)
	dense := true
	for i, e := range all {
		dense = dense && e.Position == int64(i)+1
	}
	if sparse := capsOf(s).SparsePositions; dense == sparse {
		t.Errorf("positions %d..%d of %d events are dense: %t; the backend declares them sparse: %t", all[0].Position, all[len(all)-1].Position, len(all), dense, sparse)
	}
}
