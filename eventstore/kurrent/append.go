package kurrent

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
)

// expectedRevision maps the contract's expected version (1-based) onto
// KurrentDB's expected revision (0-based). It takes a validated one.
func expectedRevision(e eventstore.ExpectedVersion) esdb.ExpectedRevision {
	switch e.Kind() {
	case eventstore.KindNoStream:
		return esdb.NoStream{}
	case eventstore.KindStreamExists:
		return esdb.StreamExists{}
	case eventstore.KindExact:
		return esdb.StreamRevision{Value: uint64(e.Version() - 1)}
	}
	return esdb.Any{}
}

// wireSize is an event's size as KurrentDB counts it against its
// append limit (Event.SizeOnDisk: data, metadata, and the type in UTF-16
// code units of two bytes; the ledger's types are ASCII).
func wireSize(e esdb.EventData) int {
	return len(e.Data) + len(e.Metadata) + 2*len(e.EventType)
}

// toWire encodes a prepared append for KurrentDB and refuses, before
// anything is sent, one the server would refuse for its size: an event
// alone over the limit, or all of them together. Nothing is split: an
// append is one transaction or it is not made.
func toWire(p *eventstore.Prepared, limit int) ([]esdb.EventData, error) {
	out := make([]esdb.EventData, len(p.Events))
	total := 0
	for i, pe := range p.Events {
		meta, err := encodeMetadata(pe)
		if err != nil {
			return nil, &eventstore.InvalidError{Index: i, Field: "metadata", Problem: err.Error()}
		}
		out[i] = esdb.EventData{EventType: pe.Type, ContentType: esdb.ContentTypeJson, Data: pe.Data, Metadata: meta}
		copy(out[i].EventID[:], pe.ID[:]) // both are RFC 9562 UUIDs, byte for byte
		n := wireSize(out[i])
		if n > limit {
			return nil, &eventstore.InvalidError{Index: i, Field: "size", Problem: fmt.Sprintf(
				"%d bytes as KurrentDB counts them (data, metadata and twice the type), over its limit of %d per append", n, limit)}
		}
		total += n
	}
	if total > limit {
		return nil, &eventstore.InvalidError{Index: -1, Field: "size", Problem: fmt.Sprintf(
			"%d events of %d bytes in all as KurrentDB counts them, over its limit of %d per append: append fewer at a time", len(out), total, limit)}
	}
	return out, nil
}

// Append implements eventstore.Store. The input is checked as every
// backend checks it (eventstore.Prepare) and against KurrentDB's size
// limit before anything is sent; KurrentDB writes the events as one
// transaction, all or none.
//
// Retries: a repeat of an append this Store made (its event IDs at the
// same versions of the same stream) returns the first result whatever its
// expected version, decided by eventstore.RetryOf from the IDs the Store
// remembers. A repeat of another process's append reaches KurrentDB, which
// recognises it when the expected version is the one first sent (it
// checks the IDs at that place), or for Any and StreamExists among its
// recently written events; a refused repeat is then read back at the place
// it expected and decided by eventstore.RetryOf too. IDs are unique per
// stream only: the same ID in another stream is another event.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	p, err := eventstore.Prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	wire, err := toWire(p, s.opts.MaxAppendSize)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if res, ok, err := eventstore.RetryOf(p, s.remembered(p)); ok || err != nil {
		return res, err
	}
	op := "append to " + stream
	wr, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, s.wire(stream), esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}, wire...)
	})
	if err != nil {
		var ee *esdb.Error
		if ctx.Err() == nil && errors.As(err, &ee) && ee.Code() == esdb.ErrorCodeWrongExpectedVersion {
			return s.refused(ctx, p, ee)
		}
		return eventstore.AppendResult{}, s.fail(ctx, op, err)
	}
	res, err := appendResult(p, wr)
	if err != nil {
		return eventstore.AppendResult{}, &storeError{op: op, msg: "KurrentDB's answer", cause: err}
	}
	s.remember(p, res)
	return res, nil
}

// appendResult reads KurrentDB's answer to an append of p.
func appendResult(p *eventstore.Prepared, wr *esdb.WriteResult) (eventstore.AppendResult, error) {
	version := int64(wr.NextExpectedVersion) + 1
	if version < int64(len(p.Events)) {
		return eventstore.AppendResult{}, fmt.Errorf("stream revision %d after appending %d events", wr.NextExpectedVersion, len(p.Events))
	}
	pos, err := appendPosition(wr.CommitPosition)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return eventstore.AppendResult{Version: version, Position: pos, LastID: p.Events[len(p.Events)-1].ID}, nil
}

// remembered returns what the Store knows of p's IDs in p's stream, for
// eventstore.RetryOf. IDs stored in other streams are left out: KurrentDB
// keeps IDs unique per stream only, so there they are other events.
func (s *Store) remembered(p *eventstore.Prepared) map[eventstore.ID]eventstore.StoredRef {
	var stored map[eventstore.ID]eventstore.StoredRef
	for _, pe := range p.Events {
		ref, ok := s.ids.Peek(pe.ID)
		if !ok || ref.stream != p.Stream {
			continue
		}
		if stored == nil {
			stored = make(map[eventstore.ID]eventstore.StoredRef, len(p.Events))
		}
		stored[pe.ID] = eventstore.StoredRef{ID: pe.ID, Stream: ref.stream, Version: ref.version, Position: ref.position}
	}
	return stored
}

// remember records where an append's events are. Only the last one's
// position is known from the answer; AwaitPosition reads the others'.
func (s *Store) remember(p *eventstore.Prepared, res eventstore.AppendResult) {
	first := res.Version - int64(len(p.Events)) + 1
	for i, pe := range p.Events {
		ref := idRef{stream: p.Stream, version: first + int64(i)}
		if i == len(p.Events)-1 {
			ref.position = res.Position
		}
		s.ids.Add(pe.ID, ref)
	}
}

// tailWindow is how far back refused locates an Any or StreamExists append
// that KurrentDB took for a partial repeat: its IDs are among the stream's
// recent events.
const tailWindow = 64

// refused decides what a wrong expected version means. KurrentDB answers
// so both when the stream's version does not satisfy the expectation and
// when some, not all, of the append's IDs are already at the place it
// expected (a partial repeat). So the events at that place (or, for Any
// and StreamExists, at the stream's end) are read and given to
// eventstore.RetryOf: a repeat returns the first result, a partial one is
// ErrDuplicateID, anything else ErrConcurrency with the version KurrentDB
// saw.
func (s *Store) refused(ctx context.Context, p *eventstore.Prepared, cause *esdb.Error) (eventstore.AppendResult, error) {
	op := "append to " + p.Stream
	n := len(p.Events)
	var opts eventstore.ReadOptions
	switch p.Expected.Kind() {
	case eventstore.KindExact:
		opts = eventstore.ReadOptions{From: p.Expected.Version() + 1, Limit: n}
	case eventstore.KindNoStream:
		opts = eventstore.ReadOptions{From: 1, Limit: n}
	default:
		opts = eventstore.ReadOptions{Direction: eventstore.Backward, Limit: n + tailWindow}
	}
	found, err := s.ReadStream(ctx, p.Stream, opts)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("%s: refused for its expected version %s, and reading the stream to tell why failed: %w", op, p.Expected, err)
	}
	want := make(map[eventstore.ID]bool, n)
	for _, pe := range p.Events {
		want[pe.ID] = true
	}
	stored := map[eventstore.ID]eventstore.StoredRef{}
	for _, e := range found {
		if want[e.ID] {
			stored[e.ID] = eventstore.StoredRef{ID: e.ID, Stream: p.Stream, Version: e.Version, Position: e.Position}
		}
	}
	if res, ok, err := eventstore.RetryOf(p, stored); ok || err != nil {
		if ok {
			s.remember(p, res)
		}
		return res, err
	}
	actual, ok := parseActual(cause.Error())
	if !ok {
		last, err := s.ReadStream(ctx, p.Stream, eventstore.ReadOptions{Direction: eventstore.Backward, Limit: 1})
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%s: refused for its expected version %s, and reading the stream's version failed: %w", op, p.Expected, err)
		}
		if len(last) == 1 {
			actual = last[0].Version
		}
	}
	if p.Expected.Allows(actual) {
		// The version was right, so KurrentDB refused a partial repeat
		// whose stored IDs lie beyond what was read.
		return eventstore.AppendResult{}, &storeError{op: op, kind: eventstore.ErrDuplicateID,
			msg: fmt.Sprintf("KurrentDB refused it as a partial repeat: some of its event IDs are stored in the stream already, not among its last %d events", n+tailWindow), cause: cause}
	}
	return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: p.Stream, Expected: p.Expected, Actual: actual}
}
