package postgres

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// seqState is where the sequencer stands: the last position it assigned,
// that event's (tx, seq) and chain hash, and the last checkpoint. It is
// derived from the log at each election and kept in memory after.
type seqState struct {
	position int64
	tx       uint64
	seq      int64
	hash     []byte
	cpPos    int64
	cpTime   time.Time
}

// batchSQL reads the next settled events in (tx, seq) order. Transactions
// below pg_snapshot_xmin have all ended, and any transaction still to commit
// has a larger ID, so nothing can later appear before the rows read here.
const batchSQL = `
	SELECT e.tx::text, e.seq, ` + eventColumns + `
	FROM eventstore.events e
	WHERE (e.tx, e.seq) > ($1::text::xid8, $2)
	  AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
	ORDER BY e.tx, e.seq
	LIMIT $3`

// RunSequencer assigns global positions until ctx ends. Run it in every
// server: one at a time leads (a session advisory lock held on the
// sequencer's own connection), the others wait to take over the moment the
// leader's session ends. It returns nil when ctx ends.
func (s *Store) RunSequencer(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.opts.Logger.Error("eventstore: sequencer stopped; retrying", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// lead campaigns for leadership and, once elected, sequences until ctx ends
// or the connection fails.
func (s *Store) lead(ctx context.Context) error {
	pc, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer conn.Close(context.Background())

	// Blocks until this session is leader.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, lockClass, lockSequencer); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channelAppended); err != nil {
		return err
	}
	// The log is a deterministic function of the events, which appends
	// commit durably: a log batch lost in a crash is rebuilt identically
	// (same order, same positions, same hashes) by the next leader. So its
	// commits need not wait for a WAL flush, which would otherwise double
	// the flushes per append at low concurrency.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	st, err := loadState(ctx, conn)
	if err != nil {
		return err
	}
	s.leading.Store(true)
	defer s.leading.Store(false)
	s.opts.Logger.Info("eventstore: sequencer leading", "position", st.position)
	if s.opts.SigningKey == nil {
		s.opts.Logger.Warn("eventstore: no signing key; the log gets no signed checkpoints")
	}

	for {
		started := time.Now()
		n, err := s.sequence(ctx, conn, &st)
		if err != nil {
			return err
		}
		if n == s.opts.BatchSize {
			continue // more are waiting
		}
		if s.checkpointDue(&st, time.Now()) {
			next, batch := st, &pgx.Batch{}
			s.queueCheckpoint(batch, &next)
			if err := conn.SendBatch(ctx, batch).Close(); err != nil {
				return fmt.Errorf("write checkpoint: %w", err)
			}
			st = next
		}
		if n > 0 {
			// Under load, let events gather for a moment: a batch costs
			// about as much as one event, so few large batches leave the
			// writers more of the machine than many small ones.
			select {
			case <-time.After(s.opts.SequencerLinger - time.Since(started)):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		if err := s.idle(ctx, conn); err != nil {
			return err
		}
	}
}

// idle waits for a reason to look for events: an append in this process, a
// notification from another, or the poll interval.
func (s *Store) idle(ctx context.Context, conn *pgx.Conn) error {
	waitCtx, cancel := context.WithTimeout(ctx, s.opts.SequencerPoll)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.wakeSequencer:
			cancel()
		case <-stop:
		}
	}()
	_, err := conn.WaitForNotification(waitCtx)
	if err != nil && ctx.Err() == nil && waitCtx.Err() != nil {
		return nil // poll interval or local wake-up
	}
	return err
}

func loadState(ctx context.Context, conn *pgx.Conn) (seqState, error) {
	var st seqState
	var tx string
	err := conn.QueryRow(ctx, `SELECT position, tx::text, seq, hash FROM eventstore.log ORDER BY position DESC LIMIT 1`).
		Scan(&st.position, &tx, &st.seq, &st.hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		tx = "0"
	case err != nil:
		return st, fmt.Errorf("load sequencer state: %w", err)
	}
	if st.tx, err = strconv.ParseUint(tx, 10, 64); err != nil {
		return st, fmt.Errorf("load sequencer state: tx %q: %w", tx, err)
	}
	err = conn.QueryRow(ctx, `SELECT position, signed_at FROM eventstore.checkpoints ORDER BY position DESC LIMIT 1`).
		Scan(&st.cpPos, &st.cpTime)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		st.cpTime = time.Now() // the interval runs from the first leader's start
	case err != nil:
		return st, fmt.Errorf("load sequencer state: %w", err)
	}
	// A transaction ID this server has not handed out yet comes from another
	// cluster (a logical dump does not carry the transaction counter): new
	// appends would sort before the restored events, so refuse rather than
	// sequence them in the wrong order.
	var ahead bool
	if err := conn.QueryRow(ctx, `SELECT $1::text::xid8 >= pg_snapshot_xmax(pg_current_snapshot())`, tx).Scan(&ahead); err != nil {
		return st, fmt.Errorf("load sequencer state: %w", err)
	}
	if ahead {
		return st, fmt.Errorf("the log's last transaction ID %s is one this server has not issued: the database was restored from a logical dump of another cluster; restore from a physical backup (pg_basebackup) instead", tx)
	}
	return st, nil
}

// sequence positions one batch of settled events and returns how many.
func (s *Store) sequence(ctx context.Context, conn *pgx.Conn, st *seqState) (int, error) {
	// The read needs no transaction: settled rows do not change.
	rows, err := conn.Query(ctx, batchSQL, strconv.FormatUint(st.tx, 10), st.seq, s.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read settled events: %w", err)
	}
	next := *st
	var positions, seqs []int64
	var txs []string
	var hashes [][]byte
	for rows.Next() {
		var e eventstore.Event
		var id [16]byte
		var txText string
		m := &e.Metadata
		if err := rows.Scan(&txText, &next.seq, &id, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion,
			&e.OccurredAt, &e.RecordedAt, &e.Data, &m.Actor, &m.Role, &m.CorrelationID, &m.CausationID, &m.CommandID); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read settled events: %w", err)
		}
		e.ID = id
		next.position++
		e.Position = next.position
		next.hash = eventstore.ChainHash(next.hash, &e)
		if next.tx, err = strconv.ParseUint(txText, 10, 64); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read settled events: tx %q: %w", txText, err)
		}
		positions = append(positions, next.position)
		txs = append(txs, txText)
		seqs = append(seqs, next.seq)
		hashes = append(hashes, next.hash)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read settled events: %w", err)
	}
	if len(positions) == 0 {
		return 0, nil
	}

	// The log rows and a due checkpoint go in one pipelined batch, which the
	// server runs as one implicit transaction: one round trip, one commit.
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO eventstore.log (position, tx, seq, hash)
		SELECT * FROM unnest($1::bigint[], $2::text[]::xid8[], $3::bigint[], $4::bytea[])`,
		positions, txs, seqs, hashes)
	if s.checkpointDue(&next, time.Now()) {
		s.queueCheckpoint(batch, &next)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return 0, fmt.Errorf("write log: %w", err)
	}
	*st = next
	s.advance(st.position)
	// After the commit, not in it: a NOTIFY in the transaction would hold
	// the server's notify lock across the commit's WAL flush.
	if _, err := conn.Exec(ctx, `SELECT pg_notify($1, $2)`, channelSequenced, strconv.FormatInt(st.position, 10)); err != nil {
		return 0, err
	}
	return len(positions), nil
}

func (s *Store) checkpointDue(st *seqState, now time.Time) bool {
	if s.opts.SigningKey == nil || st.position <= st.cpPos {
		return false
	}
	return st.position-st.cpPos >= s.opts.CheckpointEvery || now.Sub(st.cpTime) >= s.opts.CheckpointInterval
}

// queueCheckpoint queues the signed chain hash at st's position and moves
// st's checkpoint there (the caller discards st if the batch fails).
func (s *Store) queueCheckpoint(batch *pgx.Batch, st *seqState) {
	signedAt := time.Now().Truncate(time.Microsecond)
	sig := ed25519.Sign(s.opts.SigningKey, eventstore.CheckpointMessage(st.position, st.hash, signedAt))
	pub := s.opts.SigningKey.Public().(ed25519.PublicKey)
	batch.Queue(`INSERT INTO eventstore.checkpoints (position, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
		st.position, st.hash, signedAt, KeyID(pub), sig)
	st.cpPos, st.cpTime = st.position, signedAt
}
