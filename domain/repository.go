package domain

import (
	"context"
	"errors"
	"fmt"

	"github.com/civicledger/civicledger/eventstore"
)

// Aggregate is the state of one stream, rebuilt by applying its events in
// order. Apply returns an error for an event it does not know: a stream
// holding an event its aggregate cannot interpret is a bug to surface, not
// to skip.
type Aggregate interface {
	Apply(Event) error
}

// Repository loads aggregates from their streams and appends the events
// their commands emit. Decisions are made on the aggregate's own events,
// never on a read model.
type Repository struct {
	Store eventstore.Store
	Types *Types
	// Keys seals personal data on the way into the log and opens it on
	// the way out (see Keyring); a repository without one refuses events
	// that carry personal data.
	Keys Keyring
}

// Load applies every event of stream to agg and returns the stream's
// version (0 when the stream does not exist).
func (r *Repository) Load(ctx context.Context, stream string, agg Aggregate) (int64, error) {
	events, err := r.Store.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if errors.Is(err, eventstore.ErrInvalid) {
		// An ID from the caller that cannot name a stream (a space, a
		// slash): bad input, which callers name the field of, never an
		// internal error.
		return 0, Errorf(Invalid, "%q cannot name a stream: %v", stream, err)
	}
	if err != nil {
		return 0, Wrap(err, "load "+stream)
	}
	if _, err := r.Types.Unseal(ctx, r.Keys, events); err != nil {
		return 0, Wrap(err, "load "+stream)
	}
	var version int64
	for _, se := range events {
		e, err := r.Types.Decode(se)
		if err != nil {
			return 0, Wrap(err, "load "+stream)
		}
		if err := agg.Apply(e); err != nil {
			return 0, Wrap(err, fmt.Sprintf("load %s at version %d", stream, se.Version))
		}
		version = se.Version
	}
	return version, nil
}

// Save appends events to stream, expecting the stream to be at version
// (0: the stream must not exist yet). A stream that moved on since it was
// loaded is a Conflict: the caller reloads and decides again.
func (r *Repository) Save(ctx context.Context, stream string, version int64, meta Meta, events ...Event) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{Version: version}, nil
	}
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		d, err := r.Types.encode(ctx, r.Keys, e, meta)
		if err != nil {
			return eventstore.AppendResult{}, Wrap(err, "save "+stream)
		}
		data[i] = d
	}
	expected := eventstore.Exact(version)
	if version == 0 {
		expected = eventstore.NoStream()
	}
	res, err := r.Store.Append(ctx, stream, expected, data...)
	var ce *eventstore.ConcurrencyError
	switch {
	case errors.As(err, &ce):
		return res, &Error{Kind: Conflict, Message: fmt.Sprintf("%s changed meanwhile (now at version %d, expected %d); reload and try again", stream, ce.Actual, version), cause: err}
	case errors.Is(err, eventstore.ErrInvalid):
		return res, &Error{Kind: Invalid, Message: err.Error(), cause: err}
	case err != nil:
		return res, Wrap(err, "save "+stream)
	}
	return res, nil
}

// Target is the stream a command acts on, as Handle takes it.
type Target struct {
	// Stream is the aggregate's stream.
	Stream string
	// What names the aggregate in errors: "activity cif-2023-05" gives
	// "no activity cif-2023-05".
	What string
	// Creates: the command may start the stream. Otherwise a stream that
	// does not exist is NotFound.
	Creates bool
	// Expected is the version the caller decided on (an edit made against
	// what it saw), or 0 for whatever is current: a stream at another
	// version is a Conflict.
	Expected int64
}

// Handle is every command's load, decide and save: it rebuilds the
// aggregate of t.Stream (A, through its pointer P), checks it exists
// unless the command creates it and is at the version the caller
// expected, lets decide emit events from it, and appends them expecting
// the version it loaded, so a stream that moved on meanwhile is a
// Conflict rather than a decision made on stale state.
func Handle[A any, P interface {
	*A
	Aggregate
}](ctx context.Context, r *Repository, meta Meta, t Target, decide func(P) ([]Event, error)) (eventstore.AppendResult, error) {
	if t.Expected < 0 {
		return eventstore.AppendResult{}, InvalidField("expectedVersion", "%d: a version is 1 or more (0 or none: any)", t.Expected)
	}
	agg := P(new(A))
	version, err := r.Load(ctx, t.Stream, agg)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if version == 0 && !t.Creates {
		return eventstore.AppendResult{}, Errorf(NotFound, "no %s", t.What)
	}
	if t.Expected > 0 && version != t.Expected {
		return eventstore.AppendResult{}, Errorf(Conflict, "%s is at version %d, not %d as expected: reload it and decide again", t.What, version, t.Expected)
	}
	events, err := decide(agg)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return r.Save(ctx, t.Stream, version, meta, events...)
}
