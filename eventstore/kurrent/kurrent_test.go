package kurrent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
	lru "github.com/hashicorp/golang-lru/v2"
)

// offline returns a Store with no client, closed: whatever these tests
// ask of it must be answered before KurrentDB would be asked, since a call
// would return ErrClosed.
func offline(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.MaxAppendSize == 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	ids, err := lru.New[eventstore.ID, idRef](100)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{opts: opts, ids: ids, addr: "offline:2113", closed: true}
	if opts.Namespace != "" {
		s.prefix = opts.Namespace + "."
	}
	return s
}

func ev(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       eventstore.NewID(),
		Type:     "test.happened",
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{Actor: "kurrent_test", Role: "admin"},
	}
}

func TestExpectedRevision(t *testing.T) {
	tests := []struct {
		in   eventstore.ExpectedVersion
		want esdb.ExpectedRevision
	}{
		{eventstore.Any(), esdb.Any{}},
		{eventstore.NoStream(), esdb.NoStream{}},
		{eventstore.StreamExists(), esdb.StreamExists{}},
		{eventstore.Exact(1), esdb.StreamRevision{Value: 0}},
		{eventstore.Exact(2), esdb.StreamRevision{Value: 1}},
		{eventstore.Exact(1_000_000), esdb.StreamRevision{Value: 999_999}},
	}
	for _, tt := range tests {
		if got := expectedRevision(tt.in); got != tt.want {
			t.Errorf("expectedRevision(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	occurred := time.Date(2019, 3, 14, 9, 26, 53, 589793000, time.FixedZone("GET", 4*3600))
	tests := []eventstore.PreparedEvent{
		{SchemaVersion: 1},
		{SchemaVersion: 3, OccurredAt: occurred, Metadata: eventstore.Metadata{
			Actor: "key:analyst-1", Role: "consortium", CorrelationID: "c-1", CausationID: "e-0", CommandID: "cmd-7"}},
		{SchemaVersion: 2, Metadata: eventstore.Metadata{Actor: `<"quoted"> & ფონდი`}},
		{SchemaVersion: 1, OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)},
	}
	for _, pe := range tests {
		raw, err := encodeMetadata(pe)
		if err != nil {
			t.Fatalf("encodeMetadata(%+v): %v", pe, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("encodeMetadata(%+v) = %s, not one JSON object: %v", pe, raw, err)
		}
		env, err := decodeMetadata(raw)
		if err != nil {
			t.Fatalf("decodeMetadata(%s): %v", raw, err)
		}
		if env.Metadata != pe.Metadata || env.SchemaVersion != pe.SchemaVersion || !env.OccurredAt.Equal(pe.OccurredAt) {
			t.Errorf("round trip of %+v through %s = %+v", pe, raw, env)
		}
	}
	raw, _ := encodeMetadata(eventstore.PreparedEvent{SchemaVersion: 1, Metadata: eventstore.Metadata{Actor: "a"}})
	if string(raw) != `{"actor":"a","schema_version":1}` {
		t.Errorf("encodeMetadata = %s; want empty fields and an unset occurred_at left out", raw)
	}
	raw, _ = encodeMetadata(eventstore.PreparedEvent{SchemaVersion: 1, OccurredAt: occurred})
	if !strings.Contains(string(raw), `"occurred_at":"2019-03-14T05:26:53.589793Z"`) {
		t.Errorf("encodeMetadata = %s; want occurred_at in UTC, RFC 3339", raw)
	}
}

// TestDecodeForeignMetadata: metadata written by someone else decodes
// without a panic, into defaults where keys are missing, and into a clear
// error where it cannot be the envelope's.
func TestDecodeForeignMetadata(t *testing.T) {
	tests := []struct {
		raw     string
		want    envelope
		problem string // "" when it decodes
	}{
		{"", envelope{SchemaVersion: 1}, ""},
		{"  \n", envelope{SchemaVersion: 1}, ""},
		{"null", envelope{SchemaVersion: 1}, ""},
		{"{}", envelope{SchemaVersion: 1}, ""},
		{`{"$correlationId":"x","$causationId":"y","tenant":{"id":7}}`, envelope{SchemaVersion: 1}, ""},
		{`{"actor":"a","unknown":[1,2],"schema_version":4}`, envelope{Metadata: eventstore.Metadata{Actor: "a"}, SchemaVersion: 4}, ""},
		{`{"actor":null,"schema_version":null,"occurred_at":null}`, envelope{SchemaVersion: 1}, ""},
		{`{"occurred_at":""}`, envelope{SchemaVersion: 1}, ""},
		{`{"occurred_at":"2024-02-29T12:00:00.000001+01:00"}`, envelope{SchemaVersion: 1, OccurredAt: time.Date(2024, 2, 29, 11, 0, 0, 1000, time.UTC)}, ""},
		{"not json", envelope{}, "not a JSON object"},
		{"[1,2]", envelope{}, "not a JSON object"},
		{`"actor"`, envelope{}, "not a JSON object"},
		{`{"actor":`, envelope{}, "not a JSON object"},
		{"\x00\x01binary", envelope{}, "not a JSON object"},
		{`{"actor":42}`, envelope{}, "actor: not a string"},
		{`{"role":{"name":"x"}}`, envelope{}, "role: not a string"},
		{`{"schema_version":"2"}`, envelope{}, "schema_version"},
		{`{"schema_version":0}`, envelope{}, "schema_version"},
		{`{"schema_version":1.5}`, envelope{}, "schema_version"},
		{`{"occurred_at":"yesterday"}`, envelope{}, "occurred_at: not an RFC 3339 time"},
		{`{"occurred_at":1700000000}`, envelope{}, "occurred_at: not a string"},
	}
	for _, tt := range tests {
		got, err := decodeMetadata([]byte(tt.raw))
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("decodeMetadata(%q) error = %v, want one saying %q", tt.raw, err, tt.problem)
			}
			continue
		}
		if err != nil || got.Metadata != tt.want.Metadata || got.SchemaVersion != tt.want.SchemaVersion || !got.OccurredAt.Equal(tt.want.OccurredAt) {
			t.Errorf("decodeMetadata(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

// TestClassifyEveryCode maps each code the v4 client defines, and checks
// that none is left to the default by accident.
func TestClassifyEveryCode(t *testing.T) {
	want := map[esdb.ErrorCode]struct {
		f     failure
		retry bool
		is    error // what describe's error matches, nil for none
		says  string
	}{
		esdb.ErrorCodeUnknown:               {failOther, false, nil, "KurrentDB"},
		esdb.ErrorCodeUnsupportedFeature:    {failUnsupported, false, nil, "does not support"},
		esdb.ErrorCodeDeadlineExceeded:      {failUnavailable, false, ErrUnavailable, "unavailable"},
		esdb.ErrorCodeUnauthenticated:       {failAuth, false, nil, "refused the credentials"},
		esdb.ErrorCodeResourceNotFound:      {failNotFound, false, eventstore.ErrNotFound, "not found"},
		esdb.ErrorCodeResourceAlreadyExists: {failOther, false, nil, "KurrentDB"},
		esdb.ErrorCodeConnectionClosed:      {failUnavailable, true, ErrUnavailable, "unavailable"},
		esdb.ErrorCodeWrongExpectedVersion:  {failConcurrency, false, eventstore.ErrConcurrency, "wrong expected version"},
		esdb.ErrorCodeAccessDenied:          {failDenied, false, nil, "denied access"},
		esdb.ErrorCodeStreamDeleted:         {failDeleted, false, ErrStreamDeleted, "deleted"},
		esdb.ErrorCodeParsing:               {failOther, false, nil, "KurrentDB"},
		esdb.ErrorCodeInternalClient:        {failOther, false, nil, "KurrentDB"},
		esdb.ErrorCodeInternalServer:        {failOther, false, nil, "KurrentDB"},
		esdb.ErrorCodeNotLeader:             {failNotLeader, true, ErrUnavailable, "no leader"},
		esdb.ErrorAborted:                   {failUnavailable, false, ErrUnavailable, "unavailable"},
		esdb.ErrorUnavailable:               {failUnavailable, true, ErrUnavailable, "unavailable"},
	}
	for code := esdb.ErrorCodeUnknown; code <= esdb.ErrorUnavailable; code++ {
		w, ok := want[code]
		if !ok {
			t.Errorf("code %d is not in the table", code)
			continue
		}
		if got := classify(code); got != w.f {
			t.Errorf("classify(%d) = %d, want %d", code, got, w.f)
		}
		if got := retryable(code); got != w.retry {
			t.Errorf("retryable(%d) = %t, want %t", code, got, w.retry)
		}
		cause := errors.New("the cause")
		err := describe("append to ballot-1", "db:2113", code, cause)
		if !strings.HasPrefix(err.Error(), "append to ballot-1: ") || !strings.Contains(err.Error(), w.says) || !errors.Is(err, cause) {
			t.Errorf("describe(%d) = %q; want the operation, %q and the cause", code, err, w.says)
		}
		for _, sentinel := range []error{ErrUnavailable, ErrStreamDeleted, eventstore.ErrNotFound, eventstore.ErrConcurrency, eventstore.ErrInvalid, eventstore.ErrDuplicateID, eventstore.ErrNoIDIndex} {
			if got := errors.Is(err, sentinel); got != (sentinel == w.is) {
				t.Errorf("describe(%d) matches %v: %t", code, sentinel, got)
			}
		}
	}
	if _, ok := codeOf(fmt.Errorf("wrapped: %w", &esdb.Error{})); !ok {
		t.Error("codeOf does not see a wrapped *esdb.Error")
	}
	if _, ok := codeOf(errors.New("plain")); ok {
		t.Error("codeOf takes a plain error for the client's")
	}
}

func TestBackoff(t *testing.T) {
	var total time.Duration
	for n := range maxAttempts - 1 {
		total += backoff(n)
	}
	if backoff(0) != 100*time.Millisecond || backoff(1) != 300*time.Millisecond || total > 2*time.Second {
		t.Errorf("backoff = %s, %s, ..., %s in all", backoff(0), backoff(1), total)
	}
}

func TestParseActual(t *testing.T) {
	tests := []struct {
		msg  string
		want int64
		ok   bool
	}{
		{"[ErrorCodeWrongExpectedVersion] an append request failed the optimistic concurrency on the server: wrong expected version: expecting '2' but got '4'", 5, true},
		{"wrong expected version: expecting 'no_stream' but got '0'", 1, true},
		{"wrong expected version: expecting 'stream_exists' but got 'no_stream'", 0, true},
		{"wrong expected version: expecting 'any' but got '41'", 42, true},
		{"wrong expected version: expecting '1' but got '-1'", 0, false},
		{"wrong expected version: expecting '1' but got 'x'", 0, false},
		{"wrong expected version: expecting '1' but got '3", 0, false},
		{"[ErrorCodeWrongExpectedVersion] an append request failed the optimistic concurrency on the server", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseActual(tt.msg)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseActual(%q) = %d, %t; want %d, %t", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPositions(t *testing.T) {
	tests := []struct {
		in   esdb.Position
		want int64
		ok   bool
	}{
		{esdb.Position{Commit: 167, Prepare: 167}, 167, true},
		{esdb.Position{Commit: 11607557, Prepare: 11607557}, 11607557, true},
		{esdb.Position{Commit: math.MaxInt64, Prepare: math.MaxInt64}, math.MaxInt64, true},
		{esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}, 0, true}, // no position sent
		{esdb.Position{Commit: 3000, Prepare: 2800}, 0, false},                    // explicit transaction
		{esdb.Position{}, 0, false},
		{esdb.Position{Commit: math.MaxInt64 + 1, Prepare: math.MaxInt64 + 1}, 0, false},
	}
	for _, tt := range tests {
		got, err := positionOf(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("positionOf(%+v) = %d, %v; want %d, ok %t", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got := resumeFrom(0); got != (esdb.Start{}) {
		t.Errorf("resumeFrom(0) = %#v, want the start", got)
	}
	if got := resumeFrom(11607557); got != (esdb.Position{Commit: 11607557, Prepare: 11607557}) {
		t.Errorf("resumeFrom(11607557) = %#v", got)
	}
	for _, tt := range []struct {
		commit uint64
		want   int64
		ok     bool
	}{{0, 0, true}, {1788, 1788, true}, {math.MaxUint64, 0, false}} {
		got, err := appendPosition(tt.commit)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("appendPosition(%d) = %d, %v", tt.commit, got, err)
		}
	}
}

func TestAppendResult(t *testing.T) {
	p, err := eventstore.Prepare("ballot-1", eventstore.Any(), []eventstore.EventData{ev(1), ev(2), ev(3)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := appendResult(p, &esdb.WriteResult{NextExpectedVersion: 4, CommitPosition: 9000, PreparePosition: 9000})
	if err != nil || res.Version != 5 || res.Position != 9000 || res.LastID != p.Events[2].ID {
		t.Errorf("appendResult = %+v, %v; want version 5 at 9000, last ID %s", res, err, p.Events[2].ID)
	}
	res, err = appendResult(p, &esdb.WriteResult{NextExpectedVersion: 2})
	if err != nil || res.Version != 3 || res.Position != 0 {
		t.Errorf("appendResult without a position = %+v, %v; want version 3, position 0", res, err)
	}
	if _, err := appendResult(p, &esdb.WriteResult{NextExpectedVersion: 0, CommitPosition: 10}); err == nil {
		t.Error("appendResult accepted revision 0 after appending 3 events")
	}
}

// TestSizeLimit: an append over KurrentDB's limit is refused before
// anything is sent, naming the event or the size, whole: never split.
func TestSizeLimit(t *testing.T) {
	s := offline(t, Options{})
	ctx := context.Background()
	big := func(n int) eventstore.EventData {
		e := ev(0)
		e.Data = json.RawMessage(`{"a":"` + strings.Repeat("x", n) + `"}`)
		return e
	}
	atPrepareLimit := big(eventstore.MaxEventBytes - len(`{"a":""}`) - len("kurrent_test") - len("admin"))
	if _, err := eventstore.Prepare("ballot-1", eventstore.Any(), []eventstore.EventData{atPrepareLimit}); err != nil {
		t.Fatalf("Prepare refuses the event meant to pass it: %v", err)
	}
	tests := []struct {
		name   string
		events []eventstore.EventData
		index  int
	}{
		// Prepare takes it (1 MiB of data and metadata fields); KurrentDB
		// would not (the metadata object's keys and twice the type on top).
		{"one event of 1 MiB", []eventstore.EventData{atPrepareLimit}, 0},
		{"third of three", []eventstore.EventData{ev(1), ev(2), atPrepareLimit}, 2},
		{"together", []eventstore.EventData{big(400_000), big(400_000), big(400_000)}, -1},
	}
	for _, tt := range tests {
		_, err := s.Append(ctx, "ballot-1", eventstore.Any(), tt.events...)
		var ie *eventstore.InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: Append error = %v, want *eventstore.InvalidError", tt.name, err)
			continue
		}
		if ie.Index != tt.index || ie.Field != "size" || !strings.Contains(ie.Problem, "KurrentDB") {
			t.Errorf("%s: %+v; want event %d's size named", tt.name, ie, tt.index)
		}
	}
	// At the limit exactly it goes: what the server counts, we count.
	e := big(0)
	p, err := eventstore.Prepare("ballot-1", eventstore.Any(), []eventstore.EventData{e})
	if err != nil {
		t.Fatal(err)
	}
	wire, err := toWire(p, DefaultMaxAppendSize)
	if err != nil {
		t.Fatal(err)
	}
	n := wireSize(wire[0])
	if n != len(p.Events[0].Data)+len(wire[0].Metadata)+2*len("test.happened") {
		t.Errorf("wireSize = %d, not data + metadata + twice the type", n)
	}
	if _, err := toWire(p, n); err != nil {
		t.Errorf("toWire at the limit of %d: %v", n, err)
	}
	if _, err := toWire(p, n-1); err == nil {
		t.Errorf("toWire over the limit of %d went through", n-1)
	}
	if wire[0].ContentType != esdb.ContentTypeJson || wire[0].EventType != "test.happened" || eventstore.ID(wire[0].EventID) != p.Events[0].ID {
		t.Errorf("toWire = %+v, want JSON, the type and the ID as given", wire[0])
	}
	limited := offline(t, Options{MaxAppendSize: 4 << 20})
	p3, _ := eventstore.Prepare("ballot-1", eventstore.Any(), tests[2].events)
	if _, err := toWire(p3, limited.opts.MaxAppendSize); err != nil {
		t.Errorf("1.2 MB under a 4 MiB MaxAppendSize: %v", err)
	}
}

// TestReservedStreams: KurrentDB's own streams start with '$'; the
// contract's stream names cannot, so nothing reaches them.
func TestReservedStreams(t *testing.T) {
	s := offline(t, Options{})
	ctx := context.Background()
	for _, stream := range []string{"$all", "$all-1", "$ce-ballot", "$et-test.happened", "$$ballot-1", "$stats-127.0.0.1:2113", "$projections-$all", "$scavenges-1", "ballot-1$"} {
		_, err := s.Append(ctx, stream, eventstore.Any(), ev(1))
		var ie *eventstore.InvalidError
		if !errors.As(err, &ie) || ie.Field != "stream ID" || !strings.Contains(err.Error(), stream) {
			t.Errorf("Append(%q) = %v; want an *InvalidError naming the stream", stream, err)
		}
		if _, err := s.ReadStream(ctx, stream, eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ReadStream(%q) = %v; want ErrInvalid", stream, err)
		}
	}
	if _, err := s.ReadCategory(ctx, "$ce", 0, 10); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadCategory($ce) = %v; want ErrInvalid", err)
	}
}

func TestInView(t *testing.T) {
	rec := func(stream, typ string) *esdb.RecordedEvent {
		return &esdb.RecordedEvent{StreamID: stream, EventType: typ}
	}
	plain, spaced := offline(t, Options{}), offline(t, Options{Namespace: "t1a"})
	tests := []struct {
		rec           *esdb.RecordedEvent
		plain, spaced string // "" when out of that view
	}{
		{rec("ballot_a-v1", "test.happened"), "ballot_a-v1", ""},
		{rec("t1a.ballot_a-v1", "test.happened"), "", "ballot_a-v1"},
		{rec("t1ab.ballot_a-v1", "test.happened"), "", ""},
		{rec("t2.ballot_a-v1", "test.happened"), "", ""},
		{rec("$ce-ballot_a", "$>"), "", ""},
		{rec("$$ballot_a-v1", "$metadata"), "", ""},
		{rec("$stats-127.0.0.1:2113", "$statsCollected"), "", ""},
		{rec("ballot_a-v1", "$streamDeleted"), "", ""},
		{rec("t1a.ballot_a-v1", "$streamDeleted"), "", ""},
		{rec("Order-1", "OrderPlaced"), "", ""},
		{rec("t1a.Order-1", "OrderPlaced"), "", ""},
		{rec("noid", "test.happened"), "", ""},
		{nil, "", ""},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			s    *Store
			want string
		}{{plain, tt.plain}, {spaced, tt.spaced}} {
			got, ok := v.s.inView(tt.rec)
			if ok != (v.want != "") || ok && got != v.want {
				t.Errorf("inView(%+v) with prefix %q = %q, %t; want %q", tt.rec, v.s.prefix, got, ok, v.want)
			}
		}
	}
	if got := spaced.wire("ballot_a-v1"); got != "t1a.ballot_a-v1" {
		t.Errorf("wire = %q", got)
	}
}

func TestToEvent(t *testing.T) {
	id := eventstore.NewID()
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456700, time.UTC)
	rec := &esdb.RecordedEvent{
		EventType: "registry.organisation_registered", ContentType: "application/json",
		StreamID: "t1.organisation-cif", EventNumber: 0, Position: esdb.Position{Commit: 4096, Prepare: 4096},
		CreatedDate: created, Data: []byte(`{"n":1}`),
		UserMetadata: []byte(`{"actor":"a","command_id":"c","schema_version":3}`),
	}
	copy(rec.EventID[:], id[:])
	e, err := toEvent(rec, "organisation-cif")
	if err != nil {
		t.Fatal(err)
	}
	want := eventstore.Event{
		ID: id, Stream: "organisation-cif", Version: 1, Type: "registry.organisation_registered", SchemaVersion: 3,
		Data: json.RawMessage(`{"n":1}`), Metadata: eventstore.Metadata{Actor: "a", CommandID: "c"},
		OccurredAt: created.Truncate(time.Microsecond), RecordedAt: created.Truncate(time.Microsecond), Position: 4096,
	}
	if e.ID != want.ID || e.Stream != want.Stream || e.Version != want.Version || e.Type != want.Type ||
		e.SchemaVersion != want.SchemaVersion || string(e.Data) != string(want.Data) || e.Metadata != want.Metadata ||
		!e.OccurredAt.Equal(want.OccurredAt) || !e.RecordedAt.Equal(want.RecordedAt) || e.Position != want.Position || e.Hash != nil {
		t.Errorf("toEvent = %+v\nwant %+v", e, want)
	}
	rec.UserMetadata = []byte("{oops")
	if _, err := toEvent(rec, "organisation-cif"); err == nil || !strings.Contains(err.Error(), id.String()) {
		t.Errorf("toEvent with broken metadata: %v; want an error naming the event", err)
	}
}

// TestRetryRemembered: a repeat of an append this Store made is answered
// from what it remembers, whatever the expected version, without asking
// KurrentDB (the offline store has no connection); the same IDs in
// another stream are not taken for it.
func TestRetryRemembered(t *testing.T) {
	s := offline(t, Options{})
	ctx := context.Background()
	batch := []eventstore.EventData{ev(1), ev(2), ev(3)}
	p, err := eventstore.Prepare("retry-1", eventstore.NoStream(), batch)
	if err != nil {
		t.Fatal(err)
	}
	first := eventstore.AppendResult{Version: 3, Position: 7777, LastID: batch[2].ID}
	s.remember(p, first)
	for _, expected := range []eventstore.ExpectedVersion{eventstore.NoStream(), eventstore.Any(), eventstore.StreamExists(), eventstore.Exact(3), eventstore.Exact(9)} {
		got, err := s.Append(ctx, "retry-1", expected, batch...)
		if err != nil || got != first {
			t.Errorf("repeat with %s = %+v, %v; want %+v", expected, got, err, first)
		}
	}
	for _, events := range [][]eventstore.EventData{{batch[1], batch[0]}, {batch[0], ev(4)}, {ev(5), batch[2]}} {
		_, err := s.Append(ctx, "retry-1", eventstore.Any(), events...)
		var de *eventstore.DuplicateIDError
		if !errors.As(err, &de) || de.Stream != "retry-1" {
			t.Errorf("partial repeat: %v; want *DuplicateIDError naming retry-1", err)
		}
	}
	other, _ := eventstore.Prepare("retry-2", eventstore.NoStream(), batch)
	if got := s.remembered(other); len(got) != 0 {
		t.Errorf("IDs of retry-1 taken for retry-2's: %v", got)
	}
	if pos, err := s.AwaitPosition(ctx, batch[2].ID); err != nil || pos != 7777 {
		t.Errorf("AwaitPosition(last) = %d, %v; want 7777", pos, err)
	}
	_, err = s.AwaitPosition(ctx, eventstore.NewID())
	if !errors.Is(err, eventstore.ErrNoIDIndex) || errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("AwaitPosition(unknown) = %v; want ErrNoIDIndex, not ErrNotFound", err)
	}
}

func TestCheckSettings(t *testing.T) {
	for _, q := range []string{"", "tls=false", "TLS=false&tlsVerifyCert=true", "nodePreference=leader&defaultDeadline=1"} {
		if err := checkSettings(q); err != nil {
			t.Errorf("checkSettings(%q): %v", q, err)
		}
	}
	for _, q := range []string{"tlsverifycerts=false", "connectionName=x", "defaultDeadline=-1", "defaultDeadline=soon", "a=%"} {
		if err := checkSettings(q); err == nil {
			t.Errorf("checkSettings(%q) passed", q)
		}
	}
}

// TestUnavailableIsTheContracts: KurrentDB's unavailability is the
// contract's, so that the API answers it as UNAVAILABLE, whatever the
// backend.
func TestUnavailableIsTheContracts(t *testing.T) {
	err := error(&storeError{op: "append to org-1", kind: ErrUnavailable, msg: "KurrentDB at node1:2113 is unavailable"})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("errors.Is(%v): ErrUnavailable %t, eventstore.ErrUnavailable %t; want both", err, errors.Is(err, ErrUnavailable), errors.Is(err, eventstore.ErrUnavailable))
	}
	if errors.Is(&storeError{kind: ErrStreamDeleted}, eventstore.ErrUnavailable) {
		t.Error("a deleted stream matches eventstore.ErrUnavailable")
	}
}
