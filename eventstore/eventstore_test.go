package eventstore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

func TestNewIDIsOrderedVersion7(t *testing.T) {
	const n = 20_000
	prev := eventstore.NewID()
	seen := map[eventstore.ID]bool{prev: true}
	for range n {
		id := eventstore.NewID()
		if v := id[6] >> 4; v != 7 {
			t.Fatalf("NewID() = %s: version %d, want 7", id, v)
		}
		if id[8]>>6 != 0b10 {
			t.Fatalf("NewID() = %s: variant bits %02b, want 10", id, id[8]>>6)
		}
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("NewID() = %s after %s: not increasing", id, prev)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %s", id)
		}
		seen[id] = true
		prev = id
	}
}

func TestParseID(t *testing.T) {
	id := eventstore.NewID()
	got, err := eventstore.ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID(%q) = %s, %v; want %s", id.String(), got, err, id)
	}
	if got, err := eventstore.ParseID(strings.ToUpper(id.String())); err != nil || got != id {
		t.Errorf("ParseID(upper case) = %s, %v; want %s", got, err, id)
	}
	for _, s := range []string{
		"", "0190c3e4", "0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8", "0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8fa",
		"0190c3e45b7a-7c1d-8e2f-3a4b5c6d7e8f0", "0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8g",
	} {
		if _, err := eventstore.ParseID(s); err == nil {
			t.Errorf("ParseID(%q) succeeded, want an error", s)
		}
	}
	var back eventstore.ID
	b, _ := json.Marshal(id)
	if err := json.Unmarshal(b, &back); err != nil || back != id {
		t.Errorf("JSON round trip of %s = %s, %v", id, back, err)
	}
}

func TestExpectedVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    eventstore.ExpectedVersion
		allows  []int64
		refuses []int64
	}{
		{"any", eventstore.Any(), []int64{0, 1, 9}, nil},
		{"no_stream", eventstore.NoStream(), []int64{0}, []int64{1, 9}},
		{"stream_exists", eventstore.StreamExists(), []int64{1, 9}, []int64{0}},
		{"3", eventstore.Exact(3), []int64{3}, []int64{0, 2, 4}},
	}
	for _, tt := range tests {
		got, err := eventstore.ParseExpectedVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseExpectedVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
		for _, v := range tt.allows {
			if !got.Allows(v) {
				t.Errorf("%v.Allows(%d) = false, want true", got, v)
			}
		}
		for _, v := range tt.refuses {
			if got.Allows(v) {
				t.Errorf("%v.Allows(%d) = true, want false", got, v)
			}
		}
	}
	for _, in := range []string{"", "latest", "0", "-1", "1.5", "ANY"} {
		_, err := eventstore.ParseExpectedVersion(in)
		var ie *eventstore.InvalidError
		if !errors.As(err, &ie) || ie.Field != "expected version" {
			t.Errorf("ParseExpectedVersion(%q) error = %v, want an InvalidError on the expected version", in, err)
		}
	}
	if err := (eventstore.ExpectedVersion{}).Validate(); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("zero ExpectedVersion: Validate() = %v, want ErrInvalid", err)
	}
	if (eventstore.ExpectedVersion{}).Allows(0) {
		t.Error("zero ExpectedVersion allows an append")
	}
}

func TestValidateStream(t *testing.T) {
	for _, s := range []string{"organisation-42", "certification_application-0190c3e4-5b7a-7c1d-8e2f-3a4b5c6d7e8f", "cycle-2019", "a-b.c_d:e-f", "x1-Tbilisi"} {
		if err := eventstore.ValidateStream(s); err != nil {
			t.Errorf("ValidateStream(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "organisation", "organisation-", "-42", "Org-1", "1org-1", "org-a b", "org-é", "$ce-org", "org/x-1", "org-" + strings.Repeat("9", 197)} {
		if err := eventstore.ValidateStream(s); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ValidateStream(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if got := eventstore.Category("certification_application-2019-x"); got != "certification_application" {
		t.Errorf("Category = %q, want certification_application", got)
	}
}

func TestValidateType(t *testing.T) {
	for _, s := range []string{"registry.organisation_registered", "certification.score_recorded", "a.b", "hub2.meeting_held.v2", "a.b.v10"} {
		if err := eventstore.ValidateType(s); err != nil {
			t.Errorf("ValidateType(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{"", "registry", ".x", "x.", "Registry.x", "registry.OrgRenamed", "a.b.c", "a.b.v", "a.b.v0", "a.b.v2.v3", "a-b.c", "a.b c", strings.Repeat("a", 60) + "." + strings.Repeat("b", 60)} {
		if err := eventstore.ValidateType(s); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("ValidateType(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestPrepareNormalises(t *testing.T) {
	occurred := time.Date(2019, 5, 1, 10, 0, 0, 123456789, time.UTC)
	p, err := eventstore.Prepare("org-1", eventstore.Any(), []eventstore.EventData{
		{Type: "a.b", Data: json.RawMessage(" {\n \"x\" : [1, 2] } "), OccurredAt: occurred},
		{Type: "a.c", SchemaVersion: 2, Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{Actor: "me"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e0, e1 := p.Events[0], p.Events[1]
	if e0.ID.IsZero() || e1.ID.IsZero() || e0.ID == e1.ID {
		t.Errorf("IDs %s, %s: want two new distinct IDs", e0.ID, e1.ID)
	}
	if string(e0.Data) != "{\n \"x\" : [1, 2] }" {
		t.Errorf("Data = %q, want as given, trimmed", e0.Data)
	}
	if e0.SchemaVersion != 1 || e1.SchemaVersion != 2 {
		t.Errorf("schema versions %d, %d; want 1 (default) and 2", e0.SchemaVersion, e1.SchemaVersion)
	}
	if !e0.OccurredAt.Equal(occurred.Truncate(time.Microsecond)) || !e1.OccurredAt.IsZero() {
		t.Errorf("OccurredAt = %v, %v; want truncated to µs, and zero", e0.OccurredAt, e1.OccurredAt)
	}
	if e1.Metadata.Actor != "me" {
		t.Errorf("Metadata = %+v, want actor me", e1.Metadata)
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	base := eventstore.Event{
		ID: eventstore.NewID(), Stream: "org-1", Version: 3, Type: "a.b", SchemaVersion: 1,
		Data: json.RawMessage(`{"x":1}`), OccurredAt: time.Unix(1_600_000_000, 1000), RecordedAt: time.Unix(1_600_000_001, 2000),
		Position: 7, Metadata: eventstore.Metadata{Actor: "a"},
	}
	prev := bytes.Repeat([]byte{1}, 32)
	h := eventstore.ChainHash(prev, &base)
	if len(h) != eventstore.HashSize {
		t.Fatalf("hash is %d bytes, want %d", len(h), eventstore.HashSize)
	}
	if !bytes.Equal(h, eventstore.ChainHash(prev, &base)) {
		t.Fatal("ChainHash is not deterministic")
	}
	if !bytes.Equal(eventstore.ChainHash(nil, &base), eventstore.ChainHash(make([]byte, 32), &base)) {
		t.Error("nil prev does not hash as 32 zero bytes")
	}
	changes := map[string]func(*eventstore.Event){
		"id":             func(e *eventstore.Event) { e.ID[0] ^= 1 },
		"stream":         func(e *eventstore.Event) { e.Stream = "org-2" },
		"version":        func(e *eventstore.Event) { e.Version = 4 },
		"type":           func(e *eventstore.Event) { e.Type = "a.c" },
		"schema version": func(e *eventstore.Event) { e.SchemaVersion = 2 },
		"data":           func(e *eventstore.Event) { e.Data = json.RawMessage(`{"x":2}`) },
		"occurred_at":    func(e *eventstore.Event) { e.OccurredAt = e.OccurredAt.Add(time.Microsecond) },
		"recorded_at":    func(e *eventstore.Event) { e.RecordedAt = e.RecordedAt.Add(time.Microsecond) },
		"position":       func(e *eventstore.Event) { e.Position = 8 },
		// Length prefixes keep a byte from moving between fields unnoticed.
		"boundary": func(e *eventstore.Event) { e.Stream, e.Type = "org-1a", ".b" },
	}
	for name, change := range changes {
		e := base
		change(&e)
		if bytes.Equal(h, eventstore.ChainHash(prev, &e)) {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
	for name, m := range map[string]eventstore.Metadata{
		"actor": {Actor: "b"}, "role": {Role: "b"}, "correlation": {CorrelationID: "b"},
		"causation": {CausationID: "b"}, "command": {CommandID: "b"},
		"field boundary": {Actor: "", Role: "a"},
	} {
		e := base
		e.Metadata = m
		if bytes.Equal(h, eventstore.ChainHash(prev, &e)) {
			t.Errorf("changing metadata (%s) leaves the hash unchanged", name)
		}
	}
	if bytes.Equal(h, eventstore.ChainHash(bytes.Repeat([]byte{2}, 32), &base)) {
		t.Error("changing prev leaves the hash unchanged")
	}
}

func TestRetryOf(t *testing.T) {
	p, err := eventstore.Prepare("org-1", eventstore.Any(), []eventstore.EventData{
		{Type: "a.b", Data: json.RawMessage(`{}`)}, {Type: "a.b", Data: json.RawMessage(`{}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Events[0].ID, p.Events[1].ID
	ref := func(id eventstore.ID, stream string, v int64) eventstore.StoredRef {
		return eventstore.StoredRef{ID: id, Stream: stream, Version: v, Position: v + 10}
	}
	tests := []struct {
		name   string
		stored map[eventstore.ID]eventstore.StoredRef
		retry  bool
		dup    bool
	}{
		{"none stored", nil, false, false},
		{"all stored in order", map[eventstore.ID]eventstore.StoredRef{a: ref(a, "org-1", 4), b: ref(b, "org-1", 5)}, true, false},
		{"other stream", map[eventstore.ID]eventstore.StoredRef{a: ref(a, "org-2", 4), b: ref(b, "org-2", 5)}, false, true},
		{"other order", map[eventstore.ID]eventstore.StoredRef{a: ref(a, "org-1", 5), b: ref(b, "org-1", 4)}, false, true},
		{"gap", map[eventstore.ID]eventstore.StoredRef{a: ref(a, "org-1", 4), b: ref(b, "org-1", 6)}, false, true},
		{"first only", map[eventstore.ID]eventstore.StoredRef{a: ref(a, "org-1", 4)}, false, true},
		{"second only", map[eventstore.ID]eventstore.StoredRef{b: ref(b, "org-1", 4)}, false, true},
	}
	for _, tt := range tests {
		res, retry, err := eventstore.RetryOf(p, tt.stored)
		if retry != tt.retry || errors.Is(err, eventstore.ErrDuplicateID) != tt.dup {
			t.Errorf("%s: RetryOf = %v, %v; want retry %v, duplicate %v", tt.name, retry, err, tt.retry, tt.dup)
		}
		if retry && (res.Version != 5 || res.LastID != b || res.Position != 15) {
			t.Errorf("%s: result %+v, want version 5, last ID %s, position 15", tt.name, res, b)
		}
	}
}

// TestChainAndLeafBytes: the chain's link and the leaf's bytes made from
// one encoding are the ones made apart.
func TestChainAndLeafBytes(t *testing.T) {
	e := eventstore.Event{ID: eventstore.NewID(), Stream: "org-1", Version: 3, Type: "t.x", SchemaVersion: 1,
		Data: []byte(`{"a":"ბ"}`), Position: 9, OccurredAt: time.Unix(1700000000, 123000), RecordedAt: time.Unix(1700000001, 0),
		Metadata: eventstore.Metadata{Actor: "a", Role: "r", CorrelationID: "c", CausationID: "d", CommandID: "e"}}
	for _, prev := range [][]byte{nil, eventstore.ChainHash(nil, &e)} {
		chain, leaf := eventstore.ChainAndLeafBytes(prev, &e)
		if string(chain) != string(eventstore.ChainHash(prev, &e)) || string(leaf) != string(eventstore.LeafBytes(&e)) {
			t.Fatalf("ChainAndLeafBytes(%x) = %x, %x; want %x, %x", prev, chain, leaf, eventstore.ChainHash(prev, &e), eventstore.LeafBytes(&e))
		}
	}
}
