package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one append may carry. They keep one caller from holding a
// write transaction, and every reader behind it, for long.
const (
	// MaxEventBytes bounds one event's data plus metadata.
	MaxEventBytes = 1 << 20
	// MaxAppendEvents bounds the events of one append.
	MaxAppendEvents = 10_000
	// MaxAppendBytes bounds one append's data plus metadata in all.
	MaxAppendBytes = 64 << 20
	// MaxStreamIDLength bounds a stream ID, in bytes.
	MaxStreamIDLength = 200
	// MaxTypeLength bounds an event type, in bytes.
	MaxTypeLength = 100
	// maxMetadataField bounds each metadata string, in bytes.
	maxMetadataField = 1024
)

// ValidateStream checks that s is a stream ID of the form <category>-<id>:
// the category is lower-case letters, digits and underscores starting with a
// letter ("certification_application", "org"); the id is letters, digits and
// . _ : - ("2019", "0190c3e4-...", "tbilisi"). The first '-' ends the category.
func ValidateStream(s string) error {
	if s == "" {
		return invalid("stream ID", "empty")
	}
	if len(s) > MaxStreamIDLength {
		return invalid("stream ID", fmt.Sprintf("%d bytes, over the limit of %d", len(s), MaxStreamIDLength))
	}
	category, id, ok := strings.Cut(s, "-")
	if !ok {
		return invalid("stream ID", fmt.Sprintf("%q: want <category>-<id>, for example organisation-42", s))
	}
	if !isName(category) {
		return invalid("stream ID", fmt.Sprintf("%q: category %q must be lower-case letters, digits and _ and start with a letter", s, category))
	}
	if id == "" {
		return invalid("stream ID", fmt.Sprintf("%q: the id after %q is empty", s, category+"-"))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return invalid("stream ID", fmt.Sprintf("%q: character %q is not allowed in the id (letters, digits and . _ : - are)", s, c))
		}
	}
	return nil
}

// Category returns the category of a stream ID: "organisation" for
// "organisation-42".
func Category(stream string) string {
	category, _, _ := strings.Cut(stream, "-")
	return category
}

// ValidateType checks that t is "<area>.<fact>", both lower snake case,
// optionally followed by a schema-breaking ".v<N>" suffix:
// "certification.score_recorded", "registry.organisation_renamed.v2".
func ValidateType(t string) error {
	if problem := typeProblem(t); problem != "" {
		return invalid("type", problem)
	}
	return nil
}

func typeProblem(t string) string {
	if t == "" {
		return "empty: want <area>.<fact>, for example registry.organisation_registered"
	}
	if len(t) > MaxTypeLength {
		return fmt.Sprintf("%d bytes, over the limit of %d", len(t), MaxTypeLength)
	}
	area, rest, ok := strings.Cut(t, ".")
	fact, suffix, hasSuffix := strings.Cut(rest, ".")
	if !ok || !isName(area) || !isName(fact) || hasSuffix && !isVersionSuffix(suffix) {
		return fmt.Sprintf("%q: want <area>.<fact> in lower snake case, for example registry.organisation_registered", t)
	}
	return ""
}

func isVersionSuffix(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isName reports whether s is [a-z][a-z0-9_]*.
func isName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Prepared is an append checked and normalised by Prepare: what a backend
// stores, byte for byte.
type Prepared struct {
	Stream   string
	Expected ExpectedVersion
	Events   []PreparedEvent
}

// PreparedEvent is one event of a Prepared append.
type PreparedEvent struct {
	ID            ID
	Type          string
	SchemaVersion int
	// Data is the JSON object that is stored and hashed, as given but for
	// surrounding white space.
	Data     []byte
	Metadata Metadata
	// OccurredAt is truncated to the microsecond, or zero: the backend then
	// uses the time of recording.
	OccurredAt time.Time
}

// Prepare checks an append's input and returns it in the form every backend
// stores, so that the backends refuse the same input with the same errors and
// hash the same bytes. New IDs are assigned to events without one.
func Prepare(stream string, expected ExpectedVersion, events []EventData) (*Prepared, error) {
	if err := ValidateStream(stream); err != nil {
		return nil, err
	}
	if err := expected.Validate(); err != nil {
		return nil, err
	}
	switch {
	case len(events) == 0:
		return nil, invalid("events", "none given")
	case len(events) > MaxAppendEvents:
		return nil, invalid("events", fmt.Sprintf("%d in one append, over the limit of %d", len(events), MaxAppendEvents))
	}
	p := &Prepared{Stream: stream, Expected: expected, Events: make([]PreparedEvent, len(events))}
	seen := make(map[ID]int, len(events))
	total := 0
	for i, e := range events {
		if problem := typeProblem(e.Type); problem != "" {
			return nil, invalidEvent(i, "type", problem)
		}
		if e.SchemaVersion < 0 {
			return nil, invalidEvent(i, "schema version", fmt.Sprintf("%d is negative", e.SchemaVersion))
		}
		data, err := checkObject(e.Data)
		if err != nil {
			return nil, invalidEvent(i, "data", err.Error())
		}
		meta, err := checkMetadata(e.Metadata)
		if err != nil {
			return nil, invalidEvent(i, "metadata", err.Error())
		}
		if n := len(data) + meta; n > MaxEventBytes {
			return nil, invalidEvent(i, "size", fmt.Sprintf("%d bytes of data and metadata, over the limit of %d (1 MiB)", n, MaxEventBytes))
		} else if total += n; total > MaxAppendBytes {
			return nil, invalid("size", fmt.Sprintf("over %d bytes in one append", MaxAppendBytes))
		}
		id := e.ID
		if id.IsZero() {
			id = NewID()
		}
		if j, dup := seen[id]; dup {
			return nil, invalidEvent(i, "ID", fmt.Sprintf("%s is also the ID of event %d of this append", id, j))
		}
		seen[id] = i
		sv := e.SchemaVersion
		if sv == 0 {
			sv = 1
		}
		var occurred time.Time
		if !e.OccurredAt.IsZero() {
			occurred = e.OccurredAt.Truncate(time.Microsecond)
		}
		p.Events[i] = PreparedEvent{ID: id, Type: e.Type, SchemaVersion: sv, Data: data, Metadata: e.Metadata, OccurredAt: occurred}
	}
	return p, nil
}

// checkObject returns data, trimmed of surrounding white space, after
// checking that it is one JSON object that PostgreSQL's json and jsonb types
// can hold (valid UTF-8, no \u0000). The bytes are otherwise kept as given:
// what a client sent is what is stored and hashed.
func checkObject(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("empty: want a JSON object")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("not a JSON object (starts with %q)", trimmed[0])
	}
	if len(trimmed) > MaxEventBytes {
		return nil, fmt.Errorf("%d bytes, over the limit of %d (1 MiB)", len(trimmed), MaxEventBytes)
	}
	if !utf8.Valid(trimmed) {
		return nil, fmt.Errorf("not valid UTF-8")
	}
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v) // only to say what is wrong
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if bytes.Contains(trimmed, []byte(`\u0000`)) {
		return nil, fmt.Errorf(`contains \u0000, which PostgreSQL text cannot hold`)
	}
	return trimmed, nil
}

// checkMetadata checks each metadata field and returns their total size.
func checkMetadata(m Metadata) (int, error) {
	n := 0
	for _, f := range [...]struct{ name, v string }{
		{"actor", m.Actor}, {"role", m.Role}, {"correlation_id", m.CorrelationID},
		{"causation_id", m.CausationID}, {"command_id", m.CommandID},
	} {
		if len(f.v) > maxMetadataField {
			return 0, fmt.Errorf("%s: %d bytes, over the limit of %d", f.name, len(f.v), maxMetadataField)
		}
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return 0, fmt.Errorf("%s: not valid UTF-8 text", f.name)
		}
		n += len(f.v)
	}
	return n, nil
}
