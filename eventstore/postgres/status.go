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
	// Leader reports whether this process's sequencer leads.
	Leader bool
	// OldestWriteTx is the age of the oldest open transaction holding a
	// transaction ID in this database. Nothing appended after it started
	// can be sequenced until it ends, so a large value stalls every reader.
	OldestWriteTx time.Duration
}

// Status reports the store's health.
func (s *Store) Status(ctx context.Context) (Status, error) {
	st := Status{Leader: s.leading.Load()}
	var oldest float64
	err := s.db.QueryRow(ctx, `
		WITH last AS (
			SELECT coalesce((SELECT tx FROM eventstore.log ORDER BY position DESC LIMIT 1), '0'::xid8) AS tx,
			       coalesce((SELECT seq FROM eventstore.log ORDER BY position DESC LIMIT 1), 0) AS seq)
		SELECT
			(SELECT coalesce(max(position), 0) FROM eventstore.log),
			(SELECT count(*) FROM (
				SELECT 1 FROM eventstore.events e, last
				WHERE (e.tx, e.seq) > (last.tx, last.seq) LIMIT 1000000) p),
			(SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)
			 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database())`).
		Scan(&st.Head, &st.Pending, &oldest)
	if err != nil {
		return st, fmt.Errorf("event store status: %w", err)
	}
	st.OldestWriteTx = time.Duration(oldest * float64(time.Second))
	s.advance(st.Head)
	return st, nil
}
