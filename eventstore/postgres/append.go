package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// An append is one statement, in one of two forms. Both read the stream's
// last event, let the insert through only if the append is its
// transaction's first write and the expected version holds, and refuse
// (aborting the statement, so nothing is written) an append whose (epoch,
// transaction ID) is not above the stream's last one's (see migration
// 0003 for epochs). That guard sits in the select list on purpose: the planner evaluates stable functions such as
// pg_current_xact_id() found in a WHERE clause while estimating
// selectivity, which would take the transaction ID before the head is read.
//
// Expected kinds ($2): 1 any, 2 no stream, 3 stream exists, 4 exact ($3).

// appendOneSQL appends one event, the common case, in the leanest form: a
// single INSERT ... SELECT that returns the new version, or no row when the
// append was refused (the caller then finds out why).
const appendOneSQL = `
INSERT INTO eventstore.events
    (event_id, stream_id, version, type, schema_version, occurred_at, data,
     actor, role, correlation_id, causation_id, command_id, epoch)
SELECT $4, $1,
       CASE WHEN (h.epoch, h.tx) >= (c.epoch, pg_current_xact_id()) THEN eventstore.refuse_out_of_order(h.tx, pg_current_xact_id())
            ELSE coalesce(h.version, 0) + 1 END,
       $5, $6, coalesce($7, now()), $8, $9, $10, $11, $12, $13, c.epoch
FROM (SELECT max(epoch) AS epoch FROM eventstore.epochs) AS c
LEFT JOIN LATERAL (
    SELECT e.version, e.epoch, e.tx FROM eventstore.events e
    WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1
) AS h ON true
WHERE pg_current_xact_id_if_assigned() IS NULL
  AND CASE $2::int WHEN 1 THEN true WHEN 2 THEN h.version IS NULL WHEN 3 THEN h.version IS NOT NULL
      ELSE h.version = $3::bigint END
RETURNING version`

// appendManySQL appends the events given as parallel arrays. Here the checks
// run once, in a MATERIALIZED head, before any row is inserted: evaluated
// row by row, the first-write check would fail from the second row on. The
// result row says which check failed when nothing was inserted.
const appendManySQL = `
WITH head AS MATERIALIZED (
    SELECT coalesce(h.version, 0) AS v, h.epoch AS last_epoch, h.tx AS last_tx,
           pg_current_xact_id_if_assigned() IS NULL AS first_write
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT e.version, e.epoch, e.tx FROM eventstore.events e
        WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1
    ) AS h ON true
), ok AS (
    SELECT v FROM head
    WHERE first_write
      AND CASE $2::int WHEN 1 THEN true WHEN 2 THEN v = 0 WHEN 3 THEN v > 0 ELSE v = $3::bigint END
), ins AS (
    INSERT INTO eventstore.events
        (event_id, stream_id, version, type, schema_version, occurred_at, data,
         actor, role, correlation_id, causation_id, command_id, epoch)
    SELECT u.id, $1, ok.v + u.ord, u.type, u.sv, coalesce(u.occ, now()), u.data::json,
           u.actor, u.role, u.corr, u.cause, u.cmd, (SELECT max(epoch) FROM eventstore.epochs)
    FROM ok, unnest($4::uuid[], $5::text[], $6::int[], $7::timestamptz[], $8::text[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
        WITH ORDINALITY AS u(id, type, sv, occ, data, actor, role, corr, cause, cmd, ord)
    ORDER BY u.ord
    RETURNING epoch, tx
), done AS (SELECT count(*) AS n, min(epoch) AS epoch, min(tx) AS tx FROM ins)
SELECT head.v, head.first_write, done.n,
       CASE WHEN (done.epoch, done.tx) <= (head.last_epoch, head.last_tx) THEN eventstore.refuse_out_of_order(head.last_tx, done.tx) END
FROM head, done`

// sqlStateOutOfOrder is raised by eventstore.refuse_out_of_order.
const sqlStateOutOfOrder = "CL001"

// maxAppendAttempts bounds the retries of an Any or StreamExists append that
// lost a race for the stream's next version.
const maxAppendAttempts = 100

// querier is what appends run on: the pool, or a caller's transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Append implements eventstore.Store. It commits on its own, in one
// round trip.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	p, err := eventstore.Prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.takeUp(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	for attempt := 1; ; attempt++ {
		res, known, err := s.appendKnown(ctx, p)
		if !known || errors.Is(err, errVersionTaken) {
			// No shortcut, or the guessed head was wrong: read it.
			res, err = s.append(ctx, s.db, p)
		}
		if err == nil {
			s.heads.saw(p.Stream, res.Version)
		}
		if retryable(err) && attempt < maxAppendAttempts {
			// Another writer took the version we computed (Any or
			// StreamExists), or in theory the ordering guard fired: both are
			// settled by the next attempt, which sees the newer head.
			time.Sleep(time.Duration(attempt) * 100 * time.Microsecond)
			continue
		}
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
		}
		s.poke()
		return res, nil
	}
}

// AppendTx appends within the caller's transaction tx, for a caller that
// must record something else atomically with the events (after them: the
// append must be tx's first write, or it returns ErrNotFirstWrite). Commit
// promptly: until tx ends, no event appended after tx began can be
// sequenced. On a lost race for the stream's next version it returns
// ErrConcurrency whatever the expected version, as tx is then aborted.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	p, err := eventstore.Prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.takeUp(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.append(ctx, tx, p)
	if errors.Is(err, errVersionTaken) {
		err = &eventstore.ConcurrencyError{Stream: stream, Expected: expected, Actual: s.currentVersion(ctx, stream)}
	}
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	// tx has not committed yet, so this wake-up finds nothing settled; the
	// sequencer's poll picks the events up after the commit.
	s.poke()
	return res, nil
}

// appendKnown appends without reading the stream's head when the head need
// not be read: for NoStream (the new versions are 1..n), and for Exact(v)
// with version v known committed (the new versions are v+1..v+n). The
// stream's unique (stream, version) key then does all the checking: if any
// new version is taken, committed or in flight, the insert fails and nothing
// is written. The ordering guarantee holds without the guard the full
// statement carries, because this transaction starts after version v
// committed (it was seen committed) and writes nothing before the insert,
// so its ID is above every ID that wrote the stream's versions up to v.
// For Any and StreamExists, the last version known is a guess at the head;
// a wrong guess fails on the key and the caller retries with the full
// statement. known is false when the fast path does not apply.
func (s *Store) appendKnown(ctx context.Context, p *eventstore.Prepared) (res eventstore.AppendResult, known bool, err error) {
	var base int64
	switch p.Expected.Kind() {
	case eventstore.KindNoStream:
		base = 0
	case eventstore.KindExact:
		if base = p.Expected.Version(); s.heads.get(p.Stream) < base {
			return res, false, nil
		}
	default:
		if base = s.heads.get(p.Stream); base == 0 {
			return res, false, nil
		}
	}
	last := p.Events[len(p.Events)-1].ID
	if len(p.Events) == 1 {
		e := p.Events[0]
		m := &e.Metadata
		_, err = s.db.Exec(ctx, appendKnownOneSQL, p.Stream, base+1,
			[16]byte(e.ID), e.Type, e.SchemaVersion, nullTime(e.OccurredAt), e.Data,
			m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID)
	} else {
		a := columns(p)
		_, err = s.db.Exec(ctx, appendKnownManySQL, p.Stream, base,
			a.ids, a.types, a.svs, a.occ, a.data, a.actor, a.role, a.corr, a.cause, a.cmd)
	}
	if err != nil {
		res, err = s.appendFailed(ctx, p, err)
		return res, true, err
	}
	return eventstore.AppendResult{Version: base + int64(len(p.Events)), LastID: last}, true, nil
}

// appendKnownOneSQL and appendKnownManySQL insert at versions given by the
// caller (see appendKnown); they run in their own transaction only.
const (
	appendKnownOneSQL = `
INSERT INTO eventstore.events
    (stream_id, version, event_id, type, schema_version, occurred_at, data,
     actor, role, correlation_id, causation_id, command_id, epoch)
VALUES ($1, $2, $3, $4, $5, coalesce($6, now()), $7, $8, $9, $10, $11, $12,
        (SELECT max(epoch) FROM eventstore.epochs))`
	appendKnownManySQL = `
INSERT INTO eventstore.events
    (stream_id, version, event_id, type, schema_version, occurred_at, data,
     actor, role, correlation_id, causation_id, command_id, epoch)
SELECT $1, $2::bigint + u.ord, u.id, u.type, u.sv, coalesce(u.occ, now()), u.data::json,
       u.actor, u.role, u.corr, u.cause, u.cmd, (SELECT max(epoch) FROM eventstore.epochs)
FROM unnest($3::uuid[], $4::text[], $5::int[], $6::timestamptz[], $7::text[],
            $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
    WITH ORDINALITY AS u(id, type, sv, occ, data, actor, role, corr, cause, cmd, ord)
ORDER BY u.ord`
)

// eventArrays is an append's events as parallel arrays, for unnest.
type eventArrays struct {
	ids                           [][16]byte
	types                         []string
	svs                           []int32
	occ                           []*time.Time
	data                          []string
	actor, role, corr, cause, cmd []string
}

func columns(p *eventstore.Prepared) eventArrays {
	n := len(p.Events)
	a := eventArrays{
		ids: make([][16]byte, n), types: make([]string, n), svs: make([]int32, n),
		occ: make([]*time.Time, n), data: make([]string, n),
		actor: make([]string, n), role: make([]string, n), corr: make([]string, n), cause: make([]string, n), cmd: make([]string, n),
	}
	for i, e := range p.Events {
		a.ids[i], a.types[i], a.svs[i] = e.ID, e.Type, int32(e.SchemaVersion)
		a.occ[i], a.data[i] = nullTime(e.OccurredAt), string(e.Data)
		m := &e.Metadata
		a.actor[i], a.role[i], a.corr[i], a.cause[i], a.cmd[i] = m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID
	}
	return a
}

// errVersionTaken: a concurrent append took the stream version this one
// computed.
var errVersionTaken = errors.New("stream version taken by a concurrent append")

func retryable(err error) bool {
	return errors.Is(err, errVersionTaken) || errors.Is(err, ErrOutOfOrder)
}

func (s *Store) append(ctx context.Context, q querier, p *eventstore.Prepared) (eventstore.AppendResult, error) {
	kind, exact := int(p.Expected.Kind()), p.Expected.Version()
	last := p.Events[len(p.Events)-1].ID
	if len(p.Events) == 1 {
		e := p.Events[0]
		m := &e.Metadata
		var version int64
		err := q.QueryRow(ctx, appendOneSQL, p.Stream, kind, exact,
			[16]byte(e.ID), e.Type, e.SchemaVersion, nullTime(e.OccurredAt), e.Data,
			m.Actor, m.Role, m.CorrelationID, m.CausationID, m.CommandID).Scan(&version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return s.refused(ctx, q, p, -1)
		case err != nil:
			return s.appendFailed(ctx, p, err)
		}
		return eventstore.AppendResult{Version: version, LastID: last}, nil
	}

	n := len(p.Events)
	a := columns(p)
	var current int64
	var firstWrite bool
	var inserted int
	err := q.QueryRow(ctx, appendManySQL, p.Stream, kind, exact, a.ids, a.types, a.svs, a.occ, a.data,
		a.actor, a.role, a.corr, a.cause, a.cmd).Scan(&current, &firstWrite, &inserted, nil) // the last column only carries the ordering guard
	switch {
	case err != nil:
		return s.appendFailed(ctx, p, err)
	case inserted == n:
		return eventstore.AppendResult{Version: current + int64(n), LastID: last}, nil
	case !firstWrite:
		return eventstore.AppendResult{}, ErrNotFirstWrite
	}
	return s.refused(ctx, q, p, current)
}

// refused explains an append that inserted nothing: not its transaction's
// first write, or a stream version that did not satisfy the expectation
// (current, when known, else -1). It may find the append to be a retry of
// one already stored.
func (s *Store) refused(ctx context.Context, q querier, p *eventstore.Prepared, current int64) (eventstore.AppendResult, error) {
	if current < 0 {
		if _, inTx := q.(pgx.Tx); inTx {
			var first bool
			if err := q.QueryRow(ctx, `SELECT pg_current_xact_id_if_assigned() IS NULL`).Scan(&first); err != nil {
				return eventstore.AppendResult{}, err
			}
			if !first {
				return eventstore.AppendResult{}, ErrNotFirstWrite
			}
		}
		if current = s.currentVersion(ctx, p.Stream); p.Expected.Allows(current) {
			return eventstore.AppendResult{}, errVersionTaken // the stream moved on since the statement read it
		}
	}
	if res, retry, err := s.retryOf(ctx, p); err != nil || retry {
		return res, err
	}
	return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: p.Stream, Expected: p.Expected, Actual: current}
}

// appendFailed maps an error from an append statement.
func (s *Store) appendFailed(ctx context.Context, p *eventstore.Prepared, err error) (eventstore.AppendResult, error) {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == sqlStateOutOfOrder:
		return eventstore.AppendResult{}, ErrOutOfOrder
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_event_id":
		res, retry, rerr := s.retryOf(ctx, p)
		if rerr != nil || retry {
			return res, rerr
		}
		return eventstore.AppendResult{}, err // the ID was removed again: cannot happen in an append-only table
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_version":
		if k := p.Expected.Kind(); k == eventstore.KindAny || k == eventstore.KindStreamExists {
			return eventstore.AppendResult{}, errVersionTaken
		}
		// The version we expected was the head when we read it; a writer
		// that committed since has moved the stream on.
		if res, retry, rerr := s.retryOf(ctx, p); rerr != nil || retry {
			return res, rerr
		}
		return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: p.Stream, Expected: p.Expected, Actual: s.currentVersion(ctx, p.Stream)}
	}
	return eventstore.AppendResult{}, err
}

// retryOf looks up the append's event IDs to tell a retry from a conflict.
// It reads through the pool: a caller's transaction may be aborted by now.
func (s *Store) retryOf(ctx context.Context, p *eventstore.Prepared) (eventstore.AppendResult, bool, error) {
	ids := make([][16]byte, len(p.Events))
	for i, e := range p.Events {
		ids[i] = e.ID
	}
	rows, err := s.db.Query(ctx, `
		SELECT e.event_id, e.stream_id, e.version, coalesce(l.position, 0)
		FROM eventstore.events e `+positionJoin+`
		WHERE e.event_id = ANY($1)`, ids)
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	stored := make(map[eventstore.ID]eventstore.StoredRef)
	for rows.Next() {
		var r eventstore.StoredRef
		var id [16]byte
		if err := rows.Scan(&id, &r.Stream, &r.Version, &r.Position); err != nil {
			return eventstore.AppendResult{}, false, err
		}
		r.ID = id
		stored[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return eventstore.AppendResult{}, false, err
	}
	return eventstore.RetryOf(p, stored)
}

// currentVersion reads a stream's version for an error message; a failure
// to read reports -1 rather than hiding the concurrency error.
func (s *Store) currentVersion(ctx context.Context, stream string) int64 {
	var v int64
	err := s.db.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM eventstore.events WHERE stream_id = $1`, stream).Scan(&v)
	if err != nil {
		return -1
	}
	return v
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// takeUp takes the log up on this cluster (eventstore.take_up) before the
// process's first append: a database moved to another cluster since it
// was migrated starts its new epoch before anything is appended to it,
// whatever opened it. Appends themselves take the newest epoch without
// asking the cluster who it is, which costs a read of the control file
// (see 0004_epoch_per_row.sql).
func (s *Store) takeUp(ctx context.Context) error {
	if s.takenUp.Load() {
		return nil
	}
	if _, err := s.db.Exec(ctx, `SELECT eventstore.take_up()`); err != nil {
		return fmt.Errorf("take up the log on this cluster: %w", err)
	}
	s.takenUp.Store(true)
	return nil
}
