package eventstore

import (
	"encoding/json"
	"time"
)

// Metadata says who caused an event and why. Every event carries it so that
// an auditor can answer "who did this, in which role, as part of what" from
// the log alone. Its fields are fixed, not a free-form map: they are stored
// as columns an auditor can query, and hashed into the chain one by one.
type Metadata struct {
	// Actor identifies who issued the command: an API key's name, a user, or
	// a system process such as "import".
	Actor string `json:"actor,omitempty"`
	// Role is the role the actor held when the command was checked.
	Role string `json:"role,omitempty"`
	// CorrelationID ties together everything one request caused.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the ID of the event or command that caused this one.
	CausationID string `json:"causation_id,omitempty"`
	// CommandID identifies the command that emitted the event.
	CommandID string `json:"command_id,omitempty"`
}

// EventData is an event to append: everything but what the store assigns.
type EventData struct {
	// ID makes appends idempotent: appending an event whose ID is stored
	// already returns the first result. The zero ID is replaced by NewID,
	// which makes a retry append twice, so callers that retry set it.
	ID ID
	// Type is the stable name of the fact, "<area>.<snake_case_fact>", for
	// example "certification.score_recorded". It is written by hand and never
	// renamed; a breaking change gets a ".v2" suffix and an upcaster.
	Type string
	// SchemaVersion is the version of Data's shape within Type; 0 means 1.
	SchemaVersion int
	// Data is the event's body: a JSON object.
	Data json.RawMessage
	// Metadata says who caused the event.
	Metadata Metadata
	// OccurredAt is business time: when the fact happened in the world,
	// which may be earlier than when it was recorded (an attendance sheet
	// typed in a week later). Zero means the time of recording. It is kept
	// to the microsecond.
	OccurredAt time.Time
}

// Event is a recorded event: the envelope the store returns.
type Event struct {
	ID            ID
	Stream        string
	Version       int64 // 1-based position of the event in its stream
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
	// OccurredAt is business time, as given to Append.
	OccurredAt time.Time
	// RecordedAt is system time: when the store committed the event.
	RecordedAt time.Time
	// Position is the event's place in the global log, dense from 1. It is
	// 0 on an event read from its stream before the backend has sequenced
	// it (the PostgreSQL backend assigns positions just after commit).
	Position int64
	// Hash is the event's leaf hash in the log's Merkle tree (tlog.LeafHash),
	// which inclusion proofs prove and an auditor recomputes from the
	// event alone; nil where the backend keeps no tree or the event has no
	// position yet.
	Hash []byte
}
