package kurrent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/civicledger/civicledger/eventstore"
)

// unbounded is the count asked of a read meant to run until the caller
// stops it or the stream ends. The server reads in pages whatever the
// count; int64's bound rather than uint64's keeps clear of any signed
// conversion on the way.
const unbounded = math.MaxInt64

// toEvent turns a recorded event of stream (the ledger's name, without
// the namespace) into the envelope.
func toEvent(rec *esdb.RecordedEvent, stream string) (eventstore.Event, error) {
	pos, err := positionOf(rec.Position)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("event %s (%s version %d): %w", rec.EventID, stream, rec.EventNumber+1, err)
	}
	env, err := decodeMetadata(rec.UserMetadata)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("event %s (%s version %d): %w", rec.EventID, stream, rec.EventNumber+1, err)
	}
	// The ledger keeps times to the microsecond; KurrentDB's are in
	// 100 ns ticks.
	recorded := rec.CreatedDate.UTC().Truncate(time.Microsecond)
	occurred := env.OccurredAt
	if occurred.IsZero() {
		occurred = recorded
	}
	return eventstore.Event{
		ID:            eventstore.ID(rec.EventID),
		Stream:        stream,
		Version:       int64(rec.EventNumber) + 1,
		Type:          rec.EventType,
		SchemaVersion: env.SchemaVersion,
		Data:          json.RawMessage(rec.Data),
		Metadata:      env.Metadata,
		OccurredAt:    occurred,
		RecordedAt:    recorded,
		Position:      pos,
	}, nil
}

// drain reads rs to its end, or until each says to stop, and closes it.
func drain(rs *esdb.ReadStream, each func(*esdb.ResolvedEvent) (more bool, err error)) error {
	defer rs.Close()
	for {
		re, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if more, err := each(re); err != nil || !more {
			return err
		}
	}
}

// ReadStream implements eventstore.Store. A stream KurrentDB does not know
// (or that was soft-deleted) reads as no events; a tombstoned one is
// ErrStreamDeleted.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ro := esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(uint64(max(opts.From, 1) - 1))}
	if opts.Direction == eventstore.Backward {
		ro.Direction, ro.From = esdb.Backwards, esdb.End{}
		if opts.From > 0 {
			// Beyond the end is fine: the server starts at the last event.
			ro.From = esdb.Revision(uint64(opts.From - 1))
		}
	}
	count := uint64(unbounded)
	if opts.Limit > 0 {
		count = uint64(opts.Limit)
	}
	out, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) ([]eventstore.Event, error) {
		rs, err := c.ReadStream(ctx, s.wire(stream), ro, count)
		if err != nil {
			return nil, err
		}
		var out []eventstore.Event
		err = drain(rs, func(re *esdb.ResolvedEvent) (bool, error) {
			if re.Event == nil {
				return true, nil
			}
			e, err := toEvent(re.Event, stream)
			if err != nil {
				return false, err
			}
			out = append(out, e)
			return true, nil
		})
		return out, err
	})
	if err != nil {
		if code, ok := codeOf(err); ok && code == esdb.ErrorCodeResourceNotFound && ctx.Err() == nil {
			return nil, nil
		}
		return nil, s.fail(ctx, "read "+stream, err)
	}
	return out, nil
}

// ReadAll implements eventstore.Store over $all, without system events
// and other namespaces' streams (see the package doc).
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadAll(after, limit); err != nil {
		return nil, err
	}
	return s.scan(ctx, "read $all", after, limit, "")
}

// ReadCategory implements eventstore.Store by reading $all and keeping the
// category's streams. The server's $ce-<category> streams would avoid the
// scan but need the by-category system projection running, which a
// KurrentDB does not run by default; see the package doc.
func (s *Store) ReadCategory(ctx context.Context, category string, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadCategory(category, after, limit); err != nil {
		return nil, err
	}
	return s.scan(ctx, "read category "+category, after, limit, category)
}

// scan reads $all forward after the given position and returns up to
// limit events of the view (of one category when category is set). One
// read runs until it has them or $all ends; the server pages it.
func (s *Store) scan(ctx context.Context, op string, after int64, limit int, category string) ([]eventstore.Event, error) {
	from := resumeFrom(after)
	if after < int64(s.floor.Commit) {
		from = s.floor
	}
	out, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) ([]eventstore.Event, error) {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: from}, unbounded)
		if err != nil {
			return nil, err
		}
		var out []eventstore.Event
		err = drain(rs, func(re *esdb.ResolvedEvent) (bool, error) {
			stream, ok := s.inView(re.Event)
			if !ok || category != "" && eventstore.Category(stream) != category {
				return true, nil
			}
			e, err := toEvent(re.Event, stream)
			if err != nil {
				return false, err
			}
			if e.Position <= after { // forward reads include their first event
				return true, nil
			}
			out = append(out, e)
			return len(out) < limit, nil
		})
		return out, err
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// Head implements eventstore.Store: the position of the last event of the
// view, found by reading $all backwards past system events and other
// namespaces' (down to where a new namespace began).
func (s *Store) Head(ctx context.Context) (int64, error) {
	head, err := call(ctx, s, func(ctx context.Context, c *esdb.Client) (int64, error) {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, unbounded)
		if err != nil {
			return 0, err
		}
		var head int64
		err = drain(rs, func(re *esdb.ResolvedEvent) (bool, error) {
			if re.Event == nil {
				return true, nil
			}
			if s.floor.Commit > 0 && re.Event.Position.Commit <= s.floor.Commit {
				return false, nil
			}
			if _, ok := s.inView(re.Event); !ok {
				return true, nil
			}
			p, err := positionOf(re.Event.Position)
			head = p
			return false, err
		})
		return head, err
	})
	if err != nil {
		return 0, s.fail(ctx, "read the head of $all", err)
	}
	return head, nil
}

// AwaitPosition implements eventstore.Store for the events this Store
// appended: their positions are known at commit (the last of each append's
// from KurrentDB's answer, the others read from their stream). KurrentDB
// has no index by event ID, so of any other ID it cannot say whether it
// exists: that is eventstore.ErrNoIDIndex, not ErrNotFound.
func (s *Store) AwaitPosition(ctx context.Context, id eventstore.ID) (int64, error) {
	op := "position of event " + id.String()
	ref, ok := s.ids.Get(id)
	if !ok {
		return 0, &storeError{op: op, kind: eventstore.ErrNoIDIndex,
			msg: fmt.Sprintf("this Store did not append it, or no longer remembers it (it keeps the last %d IDs)", s.opts.RememberIDs)}
	}
	if ref.position > 0 {
		return ref.position, nil
	}
	got, err := s.ReadStream(ctx, ref.stream, eventstore.ReadOptions{From: ref.version, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(got) != 1 || got[0].ID != id || got[0].Position == 0 {
		return 0, &storeError{op: op, kind: eventstore.ErrNotFound,
			msg: fmt.Sprintf("it is no longer %s version %d in KurrentDB (the stream was deleted or truncated?)", ref.stream, ref.version)}
	}
	ref.position = got[0].Position
	s.ids.Add(id, ref)
	return ref.position, nil
}

// subscriptionWindow is how many events of $all the server considers per
// page while a filtered subscription catches up; the client's default of
// 32 makes a long catch-up needlessly chatty inside the server.
const subscriptionWindow = 512

// SubscribeAll implements eventstore.Store with a catch-up subscription to
// $all, filtered on the server (the namespace's prefix, or no system
// events) and again here (the view). A subscription KurrentDB drops (a
// restart, a new leader) is taken up again after the last event
// delivered, so that nothing is skipped or repeated; it ends with an error
// after maxAttempts drops in a row without an event between them.
func (s *Store) SubscribeAll(ctx context.Context, after int64) iter.Seq2[eventstore.Event, error] {
	if err := eventstore.ValidateReadAll(after, 1); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return func(yield func(eventstore.Event, error) bool) {
		last := after
		failures := 0
		for {
			sub, err := s.subscribe(ctx, last)
			if err == nil {
				var progressed, stopped bool
				progressed, stopped, err = s.deliver(sub, &last, yield)
				sub.Close()
				if stopped {
					return
				}
				if progressed {
					failures = 0
				}
			}
			if cerr := ctx.Err(); cerr != nil {
				yield(eventstore.Event{}, cerr)
				return
			}
			if code, isClient := codeOf(err); !errors.Is(err, errDropped) && !(isClient && retryable(code)) {
				yield(eventstore.Event{}, s.fail(ctx, "subscribe to $all", err))
				return
			}
			if failures++; failures >= maxAttempts {
				if errors.Is(err, errDropped) {
					err = &storeError{op: "subscribe to $all", kind: ErrUnavailable,
						msg: fmt.Sprintf("KurrentDB at %s ended the subscription %d times in a row", s.addr, failures), cause: err}
				}
				yield(eventstore.Event{}, s.fail(ctx, "subscribe to $all", err))
				return
			}
			if sleep(ctx, backoff(failures-1)) != nil {
				yield(eventstore.Event{}, ctx.Err())
				return
			}
		}
	}
}

// errDropped marks a subscription KurrentDB ended, which is taken up again.
var errDropped = errors.New("KurrentDB dropped the subscription")

// subscribe starts a subscription after the given position.
func (s *Store) subscribe(ctx context.Context, after int64) (*esdb.Subscription, error) {
	from := resumeFrom(after)
	if after < int64(s.floor.Commit) {
		from = s.floor
	}
	filter := esdb.ExcludeSystemEventsFilter()
	if s.prefix != "" {
		filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}}
	}
	return call(ctx, s, func(ctx context.Context, c *esdb.Client) (*esdb.Subscription, error) {
		return c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: filter, MaxSearchWindow: subscriptionWindow})
	})
}

// deliver yields a subscription's events of the view after *last until it
// drops (err wraps errDropped, or is the conversion error that makes going
// on pointless) or the consumer stops (stopped).
func (s *Store) deliver(sub *esdb.Subscription, last *int64, yield func(eventstore.Event, error) bool) (progressed, stopped bool, err error) {
	for {
		se := sub.Recv()
		switch {
		case se.SubscriptionDropped != nil:
			return progressed, false, fmt.Errorf("%w: %v", errDropped, se.SubscriptionDropped.Error)
		case se.EventAppeared == nil:
			continue // checkpoints, caught up, fell behind
		}
		rec := se.EventAppeared.Event
		stream, ok := s.inView(rec)
		if !ok {
			continue
		}
		e, cerr := toEvent(rec, stream)
		if cerr != nil {
			return progressed, false, cerr
		}
		if e.Position <= *last { // a subscription taken up again, or a server's inclusive start
			continue
		}
		if !yield(e, nil) {
			return progressed, true, nil
		}
		*last, progressed = e.Position, true
	}
}
