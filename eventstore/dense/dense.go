// Package dense gives a backend whose global positions are not dense
// numbers (KurrentDB, whose $all positions are byte offsets) the log the
// layers above Civic Ledger's event store rely on: dense positions 1, 2,
// 3..., each event's leaf hash, the Merkle tree over them and its signed
// checkpoints, with the proofs and the verification the PostgreSQL backend
// offers.
//
// It is the PostgreSQL sequencer's counterpart. A follower (RunFollower,
// one leader at a time among the servers, elected with a session advisory
// lock as the sequencer is) subscribes to the backend's global log and
// records, for each event in the backend's order, its dense position, the
// backend's position, its ID, stream and version, and its leaf hash,
// computed over the event as the backend returns it, in PostgreSQL beside
// the read models (schema ledger). The events stay in the backend: the
// index is some 120 bytes an event.
//
// Store answers the eventstore contract with dense positions: appends go to
// the backend as they are, and an appended event has its position once
// the follower has indexed it (AwaitPosition waits for it, as it waits for
// the PostgreSQL sequencer); reads by position look the backend's positions
// up in the index and read the events from the backend, checking each one
// against the index (its ID, and its leaf hash when asked to verify).
//
// Event IDs are unique across streams as far as the index knows: an append
// whose IDs the index holds is a retry or a conflict, decided as every
// backend does (eventstore.RetryOf). Two appends of the same ID to two
// streams within the follower's lag both reach KurrentDB, which keeps IDs
// unique per stream only; both are then in the log, and AwaitPosition
// answers the first.
package dense

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the ledger schema: the index, the tree and
// the checkpoints.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Apply(ctx, db, "ledger", sub)
	return err
}

// Options configure a Store.
type Options struct {
	// Logger receives the follower's election and failures; nil discards.
	Logger *slog.Logger
	// Batch bounds the events the follower indexes in one transaction;
	// 0 means 5,000, the PostgreSQL sequencer's batch.
	Batch int
	// Poll is how often a reader waiting for the index checks it anyway;
	// 0 means 250 ms. Readers are woken at once by this process's follower,
	// and by another process's through PostgreSQL's notifications (see
	// listen): polling is what is left when the notifications' connection
	// is lost.
	Poll time.Duration
	// Signer, when set, signs checkpoints of the tree under Origin, every
	// CheckpointEvery events (0 means 1,000) or CheckpointAfter (0 means
	// 10 s) after the first unsigned one, whichever comes first; the
	// follower signs a last one when it stops. Verifiers check them.
	Signer    note.Signer
	Origin    string
	Verifiers []note.Verifier
	// VerifierKey is the note verifier key of Signer (tlog.VerifierKey),
	// which witnesses fetch from the log (GET /log/key).
	VerifierKey     string
	CheckpointEvery int64
	CheckpointAfter time.Duration
}

// Store is an eventstore.Store with dense positions over a backend whose
// positions are not dense. It is safe for concurrent use.
type Store struct {
	src  eventstore.Store
	db   *pgxpool.Pool
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	// advanced is closed and replaced each time the index grows (this
	// process's follower commits, or another's notification arrives),
	// waking the readers waiting for it.
	advanced chan struct{}
	status   Status

	// listening starts the listener with the first wait; stop ends it.
	listening sync.Once
	stop      context.CancelFunc
	stopped   chan struct{}
}

var (
	_ eventstore.Store   = (*Store)(nil)
	_ eventstore.Auditor = (*Store)(nil)
	_ eventstore.Prover  = (*Store)(nil)
)

// New returns a Store over src, indexing into db (migrated with Migrate).
// Run RunFollower beside it, in this process or another.
func New(db *pgxpool.Pool, src eventstore.Store, opts Options) *Store {
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	if opts.CheckpointAfter <= 0 {
		opts.CheckpointAfter = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{src: src, db: db, opts: opts, log: log, advanced: make(chan struct{}), stopped: make(chan struct{})}
}

// channelIndexed is the notification the follower sends with each batch
// it commits; its payload is the new head.
const channelIndexed = "ledger_indexed"

// wake wakes the readers waiting for the index.
func (s *Store) wake() {
	s.mu.Lock()
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.mu.Unlock()
}

// listen wakes the readers whenever another process's follower commits,
// on a connection of its own, until ctx ends; it reconnects after a
// failure, the readers polling meanwhile.
func (s *Store) listen(ctx context.Context) {
	defer close(s.stopped)
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := func() error {
			pc, err := s.db.Acquire(ctx)
			if err != nil {
				return err
			}
			conn := pc.Hijack()
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "LISTEN "+channelIndexed); err != nil {
				return err
			}
			s.wake() // anything committed before LISTEN took effect
			pause = 100 * time.Millisecond
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				s.wake()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("ledger: notifications lost; readers poll until they are back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// Close stops the Store's listener, if it started. The follower stops
// with its own context.
func (s *Store) Close() {
	s.listening.Do(func() { close(s.stopped) }) // never started: nothing to stop
	if s.stop != nil {
		s.stop()
		<-s.stopped
	}
}

// entry is one row of the index.
type entry struct {
	position, source int64
	id               eventstore.ID
	stream           string
	version          int64
	leaf             []byte
}

// Append implements eventstore.Store: the events go to the backend as
// they are, after the index is asked whether their IDs are stored already
// (a retry, or a conflict with another stream). The result carries no
// position: the follower assigns it, and AwaitPosition tells it.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	p, err := eventstore.Prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	ids := make([]eventstore.ID, len(p.Events))
	for i, e := range p.Events {
		ids[i] = e.ID
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (event_id) event_id, stream_id, version, position
		FROM ledger.entries WHERE event_id = ANY($1) ORDER BY event_id, position`, ids)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("look the append's IDs up: %w", err)
	}
	stored := make(map[eventstore.ID]eventstore.StoredRef)
	var ref eventstore.StoredRef
	if _, err := pgx.ForEachRow(rows, []any{&ref.ID, &ref.Stream, &ref.Version, &ref.Position}, func() error {
		stored[ref.ID] = ref
		return nil
	}); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("look the append's IDs up: %w", err)
	}
	if res, ok, err := eventstore.RetryOf(p, stored); ok || err != nil {
		return res, err
	}
	// The prepared events, IDs assigned, so that a retry by the backend's
	// client appends the same ones.
	data := make([]eventstore.EventData, len(p.Events))
	for i, e := range p.Events {
		data[i] = eventstore.EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion,
			Data: e.Data, Metadata: e.Metadata, OccurredAt: e.OccurredAt}
	}
	res, err := s.src.Append(ctx, stream, expected, data...)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	res.Position = 0 // the backend's; the dense one comes from the follower
	return res, nil
}

// ReadStream implements eventstore.Store: the backend's events, each with
// its dense position and leaf hash once the follower has indexed it (0 and
// nil before: the contract allows a stream's events ahead of the log).
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	events, err := s.src.ReadStream(ctx, stream, opts)
	if err != nil || len(events) == 0 {
		return events, err
	}
	sources := make([]int64, len(events))
	for i, e := range events {
		sources[i] = e.Position
	}
	rows, err := s.db.Query(ctx, `SELECT source, position, event_id, leaf FROM ledger.entries WHERE source = ANY($1)`, sources)
	if err != nil {
		return nil, fmt.Errorf("read %s's positions: %w", stream, err)
	}
	type at struct {
		position int64
		id       eventstore.ID
		leaf     []byte
	}
	found := make(map[int64]at, len(events))
	var src int64
	var a at
	if _, err := pgx.ForEachRow(rows, []any{&src, &a.position, &a.id, &a.leaf}, func() error {
		found[src] = a
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read %s's positions: %w", stream, err)
	}
	for i := range events {
		e := &events[i]
		a, ok := found[e.Position]
		if ok && a.id != e.ID {
			return nil, &DivergedError{Position: a.position, Source: e.Position, Indexed: a.id, Read: e.ID}
		}
		e.Position, e.Hash = a.position, a.leaf // zero when not indexed yet
	}
	return events, nil
}

// DivergedError reports that the backend's log is not the one the index
// recorded: the event at a backend position is another than the one
// indexed there. It means the backend's log was rewritten or replaced (a
// restore of another cluster, a scavenge of events the index holds), and
// nothing is read past it until an operator has looked.
type DivergedError struct {
	Position, Source int64
	Indexed, Read    eventstore.ID
}

// Error names the position, the backend's position and both events.
func (e *DivergedError) Error() string {
	return fmt.Sprintf("the backend's log diverges from the index at position %d (backend position %d): event %s indexed, %s read",
		e.Position, e.Source, e.Indexed, e.Read)
}

// ReadAll implements eventstore.Store: the index's entries after the
// position, then the same events from the backend, each checked to be the
// one indexed there.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadAll(after, limit); err != nil {
		return nil, err
	}
	entries, before, err := s.entries(ctx, `position > $1`, after, limit)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	return s.fetch(ctx, entries, before, func(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
		return s.src.ReadAll(ctx, after, limit)
	})
}

// ReadCategory implements eventstore.Store, by the index's category
// column, reading the events from the backend's category.
func (s *Store) ReadCategory(ctx context.Context, category string, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadCategory(category, after, limit); err != nil {
		return nil, err
	}
	entries, before, err := s.entries(ctx, `category = $3 AND position > $1`, after, limit, category)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	// The event before the first of the page, of whatever category: no
	// event of this one lies between it and the first.
	return s.fetch(ctx, entries, before, func(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
		return s.src.ReadCategory(ctx, category, after, limit)
	})
}

// entries reads a page of index rows: cond is the statement's condition,
// with $1 the position after which and $2 the limit. It also returns the
// backend's position of the event before the page's first (0 when that
// is the log's first): a read of the backend resumes after it.
func (s *Store) entries(ctx context.Context, cond string, args ...any) ([]entry, int64, error) {
	rows, err := s.db.Query(ctx, `
		WITH page AS (
			SELECT position, source, event_id, stream_id, version, leaf FROM ledger.entries
			WHERE `+cond+` ORDER BY position LIMIT $2)
		SELECT page.*, coalesce((SELECT p.source FROM ledger.entries p WHERE p.position = (SELECT min(position) FROM page) - 1), 0)
		FROM page ORDER BY position`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read the index: %w", err)
	}
	var out []entry
	var e entry
	var before int64
	if _, err := pgx.ForEachRow(rows, []any{&e.position, &e.source, &e.id, &e.stream, &e.version, &e.leaf, &before}, func() error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("read the index: %w", err)
	}
	return out, before, nil
}

// fetch reads the events of entries (consecutive in what read reads) from
// the backend, after before (the backend's position of the event before
// the first entry: a position the backend gave, as KurrentDB needs, since
// another number need not be the start of a record in its log), and gives
// them their dense positions and leaves.
func (s *Store) fetch(ctx context.Context, entries []entry, before int64, read func(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)) ([]eventstore.Event, error) {
	events, err := read(ctx, before, len(entries))
	if err != nil {
		return nil, err
	}
	if len(events) != len(entries) {
		x := entries[min(len(events), len(entries)-1)]
		return nil, fmt.Errorf("the backend returned %d events after its position %d where the index holds %d: %w",
			len(events), before, len(entries), &DivergedError{Position: x.position, Source: x.source, Indexed: x.id})
	}
	for i := range events {
		e, x := &events[i], entries[i]
		if e.Position != x.source || e.ID != x.id || e.Stream != x.stream || e.Version != x.version {
			return nil, &DivergedError{Position: x.position, Source: x.source, Indexed: x.id, Read: e.ID}
		}
		e.Position, e.Hash = x.position, x.leaf
	}
	return events, nil
}

// SubscribeAll implements eventstore.Store over the dense log: pages of
// ReadAll, waiting on the follower between them.
func (s *Store) SubscribeAll(ctx context.Context, after int64) iter.Seq2[eventstore.Event, error] {
	if err := eventstore.ValidateReadAll(after, 1); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return eventstore.Follow(ctx, after, s.opts.Batch, s.ReadAll, s.waitHead)
}

// waitHead returns once the index holds a position after the given one.
func (s *Store) waitHead(ctx context.Context, after int64) error {
	return s.wait(ctx, func(ctx context.Context) (bool, error) {
		h, err := s.Head(ctx)
		return h > after, err
	})
}

// wait polls done until it holds, woken early when the index grows.
func (s *Store) wait(ctx context.Context, done func(ctx context.Context) (bool, error)) error {
	s.listening.Do(func() {
		lctx, stop := context.WithCancel(context.Background())
		s.stop = stop
		go s.listen(lctx)
	})
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		s.mu.Lock()
		ch := s.advanced
		s.mu.Unlock()
		ok, err := done(ctx)
		if err != nil || ok {
			return err
		}
		t.Reset(s.opts.Poll)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AwaitPosition implements eventstore.Store: the position the follower
// gave the event, waiting for it when the backend has the event and the
// index not yet. ErrNotFound when neither has it: over a backend without
// an index by ID (KurrentDB, for an ID this process did not append), once
// the index holds everything the backend held when asked.
func (s *Store) AwaitPosition(ctx context.Context, id eventstore.ID) (int64, error) {
	var pos int64
	asked := false
	// over is the backend's head once the backend said it cannot tell
	// (ErrNoIDIndex): when the index has caught up with it and still
	// lacks the event, no event committed before the call has the ID.
	over := int64(-1)
	err := s.wait(ctx, func(ctx context.Context) (bool, error) {
		var at *int64
		var indexed int64
		err := s.db.QueryRow(ctx, `SELECT (SELECT position FROM ledger.entries WHERE event_id = $1 ORDER BY position LIMIT 1),
			coalesce((SELECT source FROM ledger.entries ORDER BY position DESC LIMIT 1), 0)`, id).Scan(&at, &indexed)
		if err != nil {
			return false, fmt.Errorf("await event %s: %w", id, err)
		}
		if at != nil {
			pos = *at
			return true, nil
		}
		if over >= 0 && indexed >= over {
			return false, fmt.Errorf("event %s: %w", id, eventstore.ErrNotFound)
		}
		if !asked {
			// Once: the backend may know the event is not there at all,
			// and that ends the wait. A backend that cannot look an
			// event up by ID (KurrentDB, for another server's append)
			// leaves it to the index, up to the backend's head now.
			asked = true
			_, err := s.src.AwaitPosition(ctx, id)
			switch {
			case errors.Is(err, eventstore.ErrNoIDIndex):
				if over, err = s.src.Head(ctx); err != nil {
					return false, err
				}
				if indexed >= over {
					return false, fmt.Errorf("event %s: %w", id, eventstore.ErrNotFound)
				}
			case err != nil:
				return false, err
			}
		}
		return false, nil
	})
	return pos, err
}

// Head implements eventstore.Store: the last dense position indexed.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var h int64
	err := s.db.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM ledger.entries`).Scan(&h)
	if err != nil {
		return 0, fmt.Errorf("read the index's head: %w", err)
	}
	return h, nil
}
