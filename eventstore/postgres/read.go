package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// eventColumns are scanned by an eventScanner, after any leading columns.
const eventColumns = `e.event_id, e.stream_id, e.version, e.type, e.schema_version,
	e.occurred_at, e.recorded_at, e.data::text,
	e.actor, e.role, e.correlation_id, e.causation_id, e.command_id`

// eventScanner scans rows of leading columns and eventColumns into events.
// It builds its list of destinations once per query, not once per row:
// reading the log is the hot path of every projection and subscription.
type eventScanner struct {
	e    eventstore.Event
	id   [16]byte
	dest []any
}

func newEventScanner(lead ...any) *eventScanner {
	sc := &eventScanner{}
	e, m := &sc.e, &sc.e.Metadata
	sc.dest = append(lead, &sc.id, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion,
		&e.OccurredAt, &e.RecordedAt, &e.Data,
		&m.Actor, &m.Role, &m.CorrelationID, &m.CausationID, &m.CommandID)
	return sc
}

// scan reads the current row; the leading destinations are filled too.
func (sc *eventScanner) scan(rows pgx.Rows) (eventstore.Event, error) {
	sc.e = eventstore.Event{}
	if err := rows.Scan(sc.dest...); err != nil {
		return eventstore.Event{}, err
	}
	sc.e.ID = sc.id
	return sc.e, nil
}

// collectEvents reads rows of position, leaf hash and eventColumns, as ReadStream
// selects them.
func collectEvents(rows pgx.Rows, err error) ([]eventstore.Event, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []eventstore.Event
	var pos *int64
	var hash []byte
	sc := newEventScanner(&pos, &hash)
	for rows.Next() {
		e, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		if pos != nil {
			e.Position = *pos
		}
		e.Hash, hash = hash, nil
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReadStream implements eventstore.Store. Events not yet sequenced have
// Position 0 and no Hash.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.Event, error) {
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var limit *int
	if opts.Limit > 0 {
		limit = &opts.Limit
	}
	q := `SELECT l.position, l.leaf, ` + eventColumns + `
		FROM eventstore.events e ` + positionJoin + `
		WHERE e.stream_id = $1 AND e.version >= $2 ORDER BY e.version LIMIT $3`
	from := max(opts.From, 1)
	if opts.Direction == eventstore.Backward {
		q = `SELECT l.position, l.leaf, ` + eventColumns + `
		FROM eventstore.events e ` + positionJoin + `
		WHERE e.stream_id = $1 AND e.version <= $2 ORDER BY e.version DESC LIMIT $3`
		from = opts.From
		if from == 0 {
			from = 1<<63 - 1
		}
	}
	events, err := collectEvents(s.db.Query(ctx, q, stream, from, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	for _, e := range events {
		s.heads.saw(stream, e.Version)
	}
	return events, nil
}

// positionJoin attaches each event's log entry, if it has one yet, by index
// lookup. LATERAL pins that plan: the planner badly underestimates joins on
// xid8 and would otherwise hash-join the whole log.
const positionJoin = `LEFT JOIN LATERAL (SELECT position, leaf FROM eventstore.log l
	WHERE l.seq = e.seq AND l.tx = e.tx AND l.epoch = e.epoch) l ON true`

// A page of the global log is read as two range scans zipped in Go, rather
// than one index lookup per entry: the log is in (epoch, tx, seq) order, so
// the entries after a position and the events from that entry's (epoch,
// tx, seq) on are the same sequence. readLogSQL takes the entries; readEventsSQL takes
// the events between the page's first and last entries.
const (
	readLogSQL = `SELECT position, leaf, epoch, tx::text, seq FROM eventstore.log
		WHERE position > $1 ORDER BY position LIMIT $2`
	readEventsSQL = `
		WITH first AS (SELECT epoch, tx, seq FROM eventstore.log WHERE position = $1 + 1),
		     last AS (SELECT epoch, tx, seq FROM eventstore.log
		              WHERE position = LEAST($1 + $2, (SELECT max(position) FROM eventstore.log)))
		SELECT e.epoch, e.tx::text, e.seq, ` + eventColumns + `
		FROM eventstore.events e
		WHERE (e.epoch, e.tx, e.seq) >= ((SELECT epoch FROM first), (SELECT tx FROM first), (SELECT seq FROM first))
		  AND (e.epoch, e.tx, e.seq) <= ((SELECT epoch FROM last), (SELECT tx FROM last), (SELECT seq FROM last))
		ORDER BY e.epoch, e.tx, e.seq LIMIT $2`
)

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadAll(after, limit); err != nil {
		return nil, err
	}
	events, err := s.readAll(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read all after %d: %w", after, err)
	}
	return events, nil
}

func (s *Store) readAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	batch := &pgx.Batch{}
	batch.Queue(readLogSQL, after, limit)
	batch.Queue(readEventsSQL, after, limit)
	br := s.db.SendBatch(ctx, batch)
	defer br.Close()

	type entry struct {
		position int64
		hash     []byte
		epoch    int32
		tx       string
		seq      int64
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) {
		var e entry
		err := r.Scan(&e.position, &e.hash, &e.epoch, &e.tx, &e.seq)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]eventstore.Event, 0, len(entries))
	var epoch int32
	var tx string
	var seq int64
	sc := newEventScanner(&epoch, &tx, &seq)
	for rows.Next() && len(out) < len(entries) {
		e, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		want := entries[len(out)]
		if epoch != want.epoch || tx != want.tx || seq != want.seq {
			return nil, fmt.Errorf("log position %d names event (%d, %s, %d) but the events table has (%d, %s, %d) there: run civic verify",
				want.position, want.epoch, want.tx, want.seq, epoch, tx, seq)
		}
		e.Position, e.Hash = want.position, want.hash
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) < len(entries) {
		return nil, fmt.Errorf("log position %d has no event row: run civic verify", entries[len(out)].position)
	}
	return out, nil
}

// readCategorySQL takes a category's streams by a range scan of the
// events' primary key ((stream_id, version): the stream IDs of category c
// are those from "c-" up to "c." exclusive, '.' following '-'), then
// their log entries by the inner form of positionJoin, which drops the
// events not yet positioned.
const readCategorySQL = `SELECT l.position, l.leaf, ` + eventColumns + `
	FROM eventstore.events e JOIN LATERAL (SELECT position, leaf FROM eventstore.log l
		WHERE l.seq = e.seq AND l.tx = e.tx AND l.epoch = e.epoch) l ON true
	WHERE e.stream_id >= $1 AND e.stream_id < $2 AND l.position > $3
	ORDER BY l.position LIMIT $4`

// ReadCategory implements eventstore.Store.
func (s *Store) ReadCategory(ctx context.Context, category string, after int64, limit int) ([]eventstore.Event, error) {
	if err := eventstore.ValidateReadCategory(category, after, limit); err != nil {
		return nil, err
	}
	events, err := collectEvents(s.db.Query(ctx, readCategorySQL, category+"-", category+".", after, limit))
	if err != nil {
		return nil, fmt.Errorf("read category %s after %d: %w", category, after, err)
	}
	return events, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.db.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM eventstore.log`).Scan(&head); err != nil {
		return 0, fmt.Errorf("head: %w", err)
	}
	s.advance(head)
	return head, nil
}

// AwaitPosition implements eventstore.Store.
func (s *Store) AwaitPosition(ctx context.Context, id eventstore.ID) (int64, error) {
	for {
		seen := s.head.Load()
		var pos *int64
		err := s.db.QueryRow(ctx, `
			SELECT l.position FROM eventstore.events e `+positionJoin+`
			WHERE e.event_id = $1`, [16]byte(id)).Scan(&pos)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return 0, fmt.Errorf("event %s: %w", id, eventstore.ErrNotFound)
		case err != nil:
			return 0, fmt.Errorf("position of %s: %w", id, err)
		case pos != nil:
			s.advance(*pos)
			return *pos, nil
		}
		if err := s.wait(ctx, seen); err != nil {
			return 0, err
		}
	}
}

// KnownHead returns the log's head as this store last learned it, with
// no query: from the sequencer's notifications, which a store that
// follows the log (SubscribeAll, as the projections do) listens to, so
// it is behind by a notification's delay at most. ok is false when
// nothing here follows the log: then read it (Head). It serves keys of
// caches, which a head a few milliseconds old leaves correct: an answer
// is only ever newer than its key says.
func (s *Store) KnownHead() (head int64, ok bool) {
	if !s.listens.Load() {
		return 0, false
	}
	return s.head.Load(), true
}

// SubscribeAll implements eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, after int64) iter.Seq2[eventstore.Event, error] {
	if err := eventstore.ValidateReadAll(after, 1); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return eventstore.Follow(ctx, after, 1000, s.ReadAll, s.wait)
}

// wait returns once the log may hold a position after the given one: on a
// notification from the sequencer, or after SubscriberPoll if the head has
// grown meanwhile.
func (s *Store) wait(ctx context.Context, after int64) error {
	s.listening.Do(func() {
		s.wg.Add(1)
		s.listens.Store(true)
		go s.listen()
	})
	poll := time.NewTimer(s.opts.SubscriberPoll)
	defer poll.Stop()
	for {
		ch := s.sequencedChan()
		if s.head.Load() > after {
			return nil
		}
		select {
		case <-ch:
		case <-poll.C:
			if _, err := s.Head(ctx); err != nil {
				return err
			}
			poll.Reset(s.opts.SubscriberPoll)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// listen follows the sequencer's notifications on a connection of its own
// and advances head, until Close.
func (s *Store) listen() {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.listenConn()
		if s.ctx.Err() != nil {
			return
		}
		s.opts.Logger.Warn("eventstore: listen for sequenced positions", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenConn() error {
	pc, err := s.db.Acquire(s.ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(s.ctx, "LISTEN "+channelSequenced); err != nil {
		return err
	}
	// Catch up on what was sequenced before LISTEN took effect.
	var head int64
	if err := conn.QueryRow(s.ctx, `SELECT coalesce(max(position), 0) FROM eventstore.log`).Scan(&head); err != nil {
		return err
	}
	s.advance(head)
	for {
		n, err := conn.WaitForNotification(s.ctx)
		if err != nil {
			return err
		}
		if pos, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			s.advance(pos)
		}
	}
}
