// Package inmem is an in-memory event store for unit tests: the whole
// eventstore contract, leaf hashes included, with no database. Data lives as
// long as the Store value.
//
// NewSparse gives KurrentDB's shape instead: positions that ascend as
// byte offsets do, not 1, 2, 3..., and no leaf hashes. Code meant to run
// over KurrentDB (eventstore/dense, the projections over it) is tested
// against it here, where no KurrentDB server can be had, so that an
// assumption of dense positions fails a test.
package inmem

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"sync"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
)

// Store is an in-memory eventstore.Store. Positions are assigned at append,
// so AppendResult.Position is always set. It is safe for concurrent use.
type Store struct {
	// Now returns the time of recording; tests may replace it before first
	// use to pin recorded_at.
	Now func() time.Time

	// sparse: positions are offsets (see NewSparse) and events carry no
	// hash.
	sparse bool

	mu       sync.Mutex
	log      []eventstore.Event    // in position order; position i+1 unless sparse
	streams  map[string][]int      // stream -> indexes into log
	byID     map[eventstore.ID]int // event ID -> index into log
	appended chan struct{}         // closed and replaced on every append
}

var _ eventstore.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		Now:      time.Now,
		streams:  make(map[string][]int),
		byID:     make(map[eventstore.ID]int),
		appended: make(chan struct{}),
	}
}

// NewSparse returns an empty store with KurrentDB's positions: each
// event's position is the previous one plus its size and a record header,
// as the offsets of a transaction log are, starting past a first record
// of the store's own (KurrentDB's $all starts with system events). Events
// carry no hash: KurrentDB keeps no tree.
func NewSparse() *Store {
	s := New()
	s.sparse = true
	return s
}

// sparseStart and sparseHeader shape NewSparse's offsets: nothing of the
// store's counts but that they ascend unevenly.
const (
	sparseStart  = 1024
	sparseHeader = 117
)

// nextPosition is the position of an event after last (nil: the first).
func (s *Store) nextPosition(last *eventstore.Event) int64 {
	switch {
	case !s.sparse:
		return int64(len(s.log)) + 1
	case last == nil:
		return sparseStart
	default:
		return last.Position + sparseHeader + int64(len(last.Data)+len(last.Type)+len(last.Stream))
	}
}

// index returns the index into log of the first event after position.
// Sparse, as KurrentDB, it takes only 0 or a position the store gave: any
// other number is not the start of a record in KurrentDB's log.
func (s *Store) index(after int64) (int, error) {
	if !s.sparse {
		return int(min(max(after, 0), int64(len(s.log)))), nil
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].Position > after })
	if after != 0 && (i == 0 || s.log[i-1].Position != after) {
		return 0, fmt.Errorf("inmem: position %d is not one this store gave (KurrentDB reads only from a record's start)", after)
	}
	return i, nil
}

// head is the last event's position, 0 for an empty log.
func (s *Store) head() int64 {
	if len(s.log) == 0 {
		return 0
	}
	return s.log[len(s.log)-1].Position
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	p, err := eventstore.Prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if res, ok, err := s.retried(p); ok || err != nil {
		return res, err
	}
	current := int64(len(s.streams[stream]))
	if !expected.Allows(current) {
		return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: stream, Expected: expected, Actual: current}
	}
	now := s.Now().Truncate(time.Microsecond)
	for i, pe := range p.Events {
		occurred := pe.OccurredAt
		if occurred.IsZero() {
			occurred = now
		}
		var last *eventstore.Event
		if len(s.log) > 0 {
			last = &s.log[len(s.log)-1]
		}
		e := eventstore.Event{
			ID: pe.ID, Stream: stream, Version: current + int64(i) + 1,
			Type: pe.Type, SchemaVersion: pe.SchemaVersion, Data: pe.Data,
			Metadata: pe.Metadata, OccurredAt: occurred, RecordedAt: now,
			Position: s.nextPosition(last),
		}
		if !s.sparse {
			e.Hash = tlog.LeafHash(&e)
		}
		s.byID[e.ID] = len(s.log)
		s.streams[stream] = append(s.streams[stream], len(s.log))
		s.log = append(s.log, e)
	}
	close(s.appended)
	s.appended = make(chan struct{})
	last := s.log[len(s.log)-1]
	return eventstore.AppendResult{Version: last.Version, Position: last.Position, LastID: last.ID}, nil
}

// retried looks p's IDs up for eventstore.RetryOf.
func (s *Store) retried(p *eventstore.Prepared) (eventstore.AppendResult, bool, error) {
	stored := make(map[eventstore.ID]eventstore.StoredRef)
	for _, pe := range p.Events {
		if at, ok := s.byID[pe.ID]; ok {
			e := s.log[at]
			stored[e.ID] = eventstore.StoredRef{ID: e.ID, Stream: e.Stream, Version: e.Version, Position: e.Position}
		}
	}
	return eventstore.RetryOf(p, stored)
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.streams[stream]
	var out []eventstore.Event
	add := func(i int) bool {
		out = append(out, s.log[idx[i]])
		return opts.Limit == 0 || len(out) < opts.Limit
	}
	if opts.Direction == eventstore.Forward {
		for i := max(opts.From, 1) - 1; i < int64(len(idx)) && add(int(i)); i++ {
		}
	} else {
		from := int64(len(idx))
		if opts.From > 0 {
			from = min(opts.From, from)
		}
		for i := from - 1; i >= 0 && add(int(i)); i-- {
		}
	}
	return out, ctx.Err()
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadAll(after, limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, err := s.index(after)
	if err != nil {
		return nil, err
	}
	end := min(from+limit, len(s.log))
	out := make([]eventstore.Event, 0, end-from)
	return append(out, s.log[from:end]...), ctx.Err()
}

// ReadCategory implements eventstore.Store.
func (s *Store) ReadCategory(ctx context.Context, category string, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadCategory(category, after, limit); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, err := s.index(after)
	if err != nil {
		return nil, err
	}
	var out []eventstore.Event
	for _, e := range s.log[from:] {
		if len(out) == limit {
			break
		}
		if eventstore.Category(e.Stream) == category {
			out = append(out, e)
		}
	}
	return out, ctx.Err()
}

// SubscribeAll implements eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, after int64) iter.Seq2[eventstore.Event, error] {
	if err := eventstore.ValidateReadAll(after, 1); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	if s.sparse {
		return eventstore.FollowSparse(ctx, after, 1000, s.ReadAll, s.wait)
	}
	return eventstore.Follow(ctx, after, 1000, s.ReadAll, s.wait)
}

// wait returns once the log holds a position after the given one.
func (s *Store) wait(ctx context.Context, after int64) error {
	for {
		s.mu.Lock()
		n, ch := s.head(), s.appended
		s.mu.Unlock()
		if n > after {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AwaitPosition implements eventstore.Store. Positions are assigned at
// append, so it never waits.
func (s *Store) AwaitPosition(ctx context.Context, id eventstore.ID) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return 0, fmt.Errorf("event %s: %w", id, eventstore.ErrNotFound)
	}
	return s.log[i].Position, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head(), ctx.Err()
}
