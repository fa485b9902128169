package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

// Event is a fact of the domain: a struct whose JSON form is the stored
// event's data. EventType names it in the log, "<area>.<snake_case_fact>",
// written by hand and never renamed (never derived from the Go type's name,
// which a refactoring may change).
type Event interface {
	EventType() string
}

// Upcaster turns the data of an older schema version of an event into the
// next version's shape.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// Types knows every event type of the system: how to decode a stored event
// into its Go value, and which schema version the code writes. Each area
// registers its events once, at init.
type Types struct {
	byName map[string]eventType
}

type eventType struct {
	goType    reflect.Type
	version   int              // schema version the code writes
	upcasters map[int]Upcaster // from version k to k+1
	rule      *eventRule       // who sees it; nil until declared
}

// Register adds the event type of T (a struct type implementing Event by
// value) at schema version 1. It panics on a duplicate name, a mistake to
// catch at start, not in production traffic.
func Register[T Event](types *Types) {
	RegisterVersion[T](types, 1, nil)
}

// RegisterVersion adds the event type of T written at schema version
// version, with an upcaster from each older version k (k → k+1).
func RegisterVersion[T Event](types *Types, version int, upcasters map[int]Upcaster) {
	var zero T
	name := zero.EventType()
	if err := eventstore.ValidateType(name); err != nil {
		panic(fmt.Sprintf("domain: event %T: %v", zero, err))
	}
	if types.byName == nil {
		types.byName = make(map[string]eventType)
	}
	if _, dup := types.byName[name]; dup {
		panic(fmt.Sprintf("domain: event type %s registered twice", name))
	}
	for k := 1; k < version; k++ {
		if upcasters[k] == nil {
			panic(fmt.Sprintf("domain: event type %s version %d: no upcaster from version %d", name, version, k))
		}
	}
	types.byName[name] = eventType{goType: reflect.TypeFor[T](), version: version, upcasters: upcasters}
}

// Known reports whether typ is registered.
func (t *Types) Known(typ string) bool {
	_, ok := t.byName[typ]
	return ok
}

// Decode returns the Go value of a stored event, upcast to the schema
// version the code reads.
func (t *Types) Decode(e eventstore.Event) (Event, error) {
	et, ok := t.byName[e.Type]
	if !ok {
		return nil, fmt.Errorf("event %s (%s v%d): unknown type %s", e.ID, e.Stream, e.Version, e.Type)
	}
	data := e.Data
	if e.SchemaVersion > et.version {
		return nil, fmt.Errorf("event %s: %s schema version %d is newer than this code's %d", e.ID, e.Type, e.SchemaVersion, et.version)
	}
	for v := max(e.SchemaVersion, 1); v < et.version; v++ {
		up, err := et.upcasters[v](data)
		if err != nil {
			return nil, fmt.Errorf("event %s: upcast %s from version %d: %w", e.ID, e.Type, v, err)
		}
		data = up
	}
	if et.rule != nil && et.rule.personal() {
		// Personal fields still sealed decode as empty: code that needs
		// them opens them first (Unseal); the rest never sees ciphertext.
		var err error
		if data, err = blankSealed(data, et.rule); err != nil {
			return nil, fmt.Errorf("event %s: decode %s: %w", e.ID, e.Type, err)
		}
	}
	ptr := reflect.New(et.goType)
	if err := json.Unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("event %s: decode %s: %w", e.ID, e.Type, err)
	}
	return ptr.Elem().Interface().(Event), nil
}

// encode returns the stored form of a domain event, its personal fields
// sealed with keys.
func (t *Types) encode(ctx context.Context, keys Keyring, e Event, meta Meta) (eventstore.EventData, error) {
	et, ok := t.byName[e.EventType()]
	if !ok {
		return eventstore.EventData{}, fmt.Errorf("encode %T: type %s is not registered", e, e.EventType())
	}
	data, err := json.Marshal(e)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode %s: %w", e.EventType(), err)
	}
	d := eventstore.EventData{
		ID:            eventstore.NewID(),
		Type:          e.EventType(),
		SchemaVersion: et.version,
		Data:          data,
		Metadata:      meta.metadata(),
		OccurredAt:    meta.occurredAt(),
	}
	if err := t.seal(ctx, keys, e, &d); err != nil {
		return eventstore.EventData{}, err
	}
	return d, nil
}

// Recorded is a decoded event with its place in the log and who caused it.
type Recorded struct {
	Event      Event
	ID         eventstore.ID
	Stream     string
	Version    int64
	Position   int64
	OccurredAt time.Time
	RecordedAt time.Time
	Metadata   eventstore.Metadata
}

// DecodeRecorded decodes a stored event with its envelope.
func (t *Types) DecodeRecorded(e eventstore.Event) (Recorded, error) {
	ev, err := t.Decode(e)
	if err != nil {
		return Recorded{}, err
	}
	return Recorded{
		Event: ev, ID: e.ID, Stream: e.Stream, Version: e.Version, Position: e.Position,
		OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, Metadata: e.Metadata,
	}, nil
}
