package kurrent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

// The keys of the metadata object. They are the envelope's own names
// (eventstore.Metadata's JSON tags), so that an operator browsing
// KurrentDB's UI reads the same words as in the ledger's API.
const (
	keyActor         = "actor"
	keyRole          = "role"
	keyCorrelationID = "correlation_id"
	keyCausationID   = "causation_id"
	keyCommandID     = "command_id"
	keySchemaVersion = "schema_version"
	keyOccurredAt    = "occurred_at"
)

// wireMetadata is the one JSON object in KurrentDB's metadata field that
// carries what the envelope holds beyond type and data. Empty strings are
// left out to keep every event smaller; schema_version is always there so
// that the object says which shape of the data it goes with.
type wireMetadata struct {
	Actor         string `json:"actor,omitempty"`
	Role          string `json:"role,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
	CommandID     string `json:"command_id,omitempty"`
	SchemaVersion int    `json:"schema_version"`
	OccurredAt    string `json:"occurred_at,omitempty"`
}

// envelope is what decodeMetadata recovers from an event's metadata.
type envelope struct {
	Metadata      eventstore.Metadata
	SchemaVersion int
	// OccurredAt is zero when the event was appended without one; the
	// reader then takes the time of recording, as the contract says.
	OccurredAt time.Time
}

// encodeMetadata returns the metadata object of a prepared event.
// OccurredAt is written in UTC with RFC 3339's nanosecond form, which
// keeps the microseconds Prepare left.
func encodeMetadata(e eventstore.PreparedEvent) ([]byte, error) {
	w := wireMetadata{
		Actor: e.Metadata.Actor, Role: e.Metadata.Role, CorrelationID: e.Metadata.CorrelationID,
		CausationID: e.Metadata.CausationID, CommandID: e.Metadata.CommandID,
		SchemaVersion: e.SchemaVersion,
	}
	if !e.OccurredAt.IsZero() {
		w.OccurredAt = e.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(w)
}

// decodeMetadata reads an event's metadata back. It also reads what
// another writer may have put there: keys it does not know are ignored,
// keys it knows but misses take their defaults (schema version 1, no
// business time), and no metadata at all (or JSON null) is an event
// without any. What it
// cannot take for the envelope (not a JSON object, a field of the wrong
// type, a time that is not RFC 3339) is an error naming the field, never a
// silent guess.
func decodeMetadata(raw []byte) (envelope, error) {
	env := envelope{SchemaVersion: 1}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return env, nil
	}
	if raw[0] != '{' {
		return env, fmt.Errorf("metadata is not a JSON object (starts with %q)", raw[0])
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return env, fmt.Errorf("metadata is not a JSON object: %v", err)
	}
	for _, f := range [...]struct {
		key string
		to  *string
	}{
		{keyActor, &env.Metadata.Actor}, {keyRole, &env.Metadata.Role},
		{keyCorrelationID, &env.Metadata.CorrelationID}, {keyCausationID, &env.Metadata.CausationID},
		{keyCommandID, &env.Metadata.CommandID},
	} {
		v, ok := fields[f.key]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.to); err != nil {
			return env, fmt.Errorf("metadata %s: not a string: %s", f.key, clip(v))
		}
	}
	if v, ok := fields[keySchemaVersion]; ok && string(v) != "null" {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return env, fmt.Errorf("metadata %s: want a whole number from 1, got %s", keySchemaVersion, clip(v))
		}
		env.SchemaVersion = n
	}
	if v, ok := fields[keyOccurredAt]; ok && string(v) != "null" {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return env, fmt.Errorf("metadata %s: not a string: %s", keyOccurredAt, clip(v))
		}
		if s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return env, fmt.Errorf("metadata %s: not an RFC 3339 time: %q", keyOccurredAt, s)
			}
			env.OccurredAt = t
		}
	}
	return env, nil
}

// clip shortens a JSON value quoted in an error, so that a large foreign
// value does not flood a log line.
func clip(v json.RawMessage) string {
	const most = 40
	if len(v) <= most {
		return string(v)
	}
	return string(v[:most]) + "..."
}
