package postgres

import (
	"context"
	"fmt"
	"time"
)

// Status is the event store's health, for readiness checks and metrics.
type Status struct {
	// Head is the last position in the global log.
	Head int64
	// Pending counts events committed or in flight but not yet positioned
	// (capped at 1,000,000). A steady non-zero value with an idle database
	// means no sequencer is running.
	Pending int64
	// OldestPending is the age of the first event waiting for a position:
	// how long a write has been invisible to readers of the log.
	OldestPending time.Duration
	// Leader reports whether this process's sequencer leads, and
	// LeaderAnywhere whether any process's does (a session holds the
	// sequencer's lock).
	Leader, LeaderAnywhere bool
	// SequencerError is why this process's sequencer last stopped, while
	// it has not led since; SequencerErrorSince is when that began.
	SequencerError      string
	SequencerErrorSince time.Time
	// OldestWriteTx is the age of the oldest open transaction holding a
	// transaction ID in this database. Nothing appended after it started
	// can be sequenced until it ends, so a large value stalls every reader.
	OldestWriteTx time.Duration
}

// Status reports the store's health.
func (s *Store) Status(ctx context.Context) (Status, error) {
	st := Status{Leader: s.leading.Load()}
	if f := s.failure.Load(); f != nil {
		st.SequencerError, st.SequencerErrorSince = f.err, f.since
	}
	var oldest, pending float64
	err := s.db.QueryRow(ctx, `
		WITH last AS (
			SELECT coalesce((SELECT epoch FROM eventstore.log ORDER BY position DESC LIMIT 1), 0) AS epoch,
			       coalesce((SELECT tx FROM eventstore.log ORDER BY position DESC LIMIT 1), '0'::xid8) AS tx,
			       coalesce((SELECT seq FROM eventstore.log ORDER BY position DESC LIMIT 1), 0) AS seq)
		SELECT
			(SELECT coalesce(max(position), 0) FROM eventstore.log),
			(SELECT count(*) FROM (
				SELECT 1 FROM eventstore.events e, last
				WHERE (e.epoch, e.tx, e.seq) > (last.epoch, last.tx, last.seq) LIMIT 1000000) p),
			(SELECT coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0) FROM (
				SELECT e.recorded_at FROM eventstore.events e, last
				WHERE (e.epoch, e.tx, e.seq) > (last.epoch, last.tx, last.seq) ORDER BY e.epoch, e.tx, e.seq LIMIT 1) e),
			EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
				  AND l.granted AND d.datname = current_database()),
			(SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)
			 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database())`,
		int64(lockClass), int64(lockSequencer)).
		Scan(&st.Head, &st.Pending, &pending, &st.LeaderAnywhere, &oldest)
	if err != nil {
		return st, fmt.Errorf("event store status: %w", err)
	}
	st.OldestWriteTx = time.Duration(oldest * float64(time.Second))
	st.OldestPending = time.Duration(pending * float64(time.Second))
	s.advance(st.Head)
	return st, nil
}
