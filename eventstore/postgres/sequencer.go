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
	"github.com/jackc/pgx/v5/pgtype"
)

// seqState is where the sequencer stands: the last position it assigned,
// and that event's (tx, seq) and chain hash. It is derived from the log at
// each election and kept in memory after.
type seqState struct {
	position int64
	tx       uint64
	seq      int64
	hash     []byte
}

// cpState is where the last checkpoint stands.
type cpState struct {
	position int64
	at       time.Time
}

// batch is the log entries for the events after a state, ready to write.
type batch struct {
	entries [][]any  // position, tx, seq, hash: rows of eventstore.log
	next    seqState // the state once the entries are written
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

// lingerPerEvent is how much longer the sequencer waits before its next
// batch for each event in its last one.
const lingerPerEvent = 250 * time.Microsecond

// xid8OID is the type OID of xid8 (PostgreSQL 13 and later).
const xid8OID = 5069

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
	// COPY sends transaction IDs in binary; xid8's binary form is int8's.
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "xid8", OID: xid8OID, Codec: pgtype.Int8Codec{}})
	st, cp, err := loadState(ctx, conn)
	if err != nil {
		return err
	}
	s.leading.Store(true)
	defer s.leading.Store(false)
	s.opts.Logger.Info("eventstore: sequencer leading", "position", st.position)
	if s.opts.SigningKey == nil {
		s.opts.Logger.Warn("eventstore: no signing key; the log gets no signed checkpoints")
	}

	// Reading a batch (through the pool) and writing the one before it (on
	// the leader's connection) overlap: catching up then takes about as
	// long as the slower of the two, not their sum.
	var written chan error // the write in flight, if any
	var inflight batch
	settle := func() error {
		if written == nil {
			return nil
		}
		err := <-written
		written = nil
		if err != nil {
			return err
		}
		st = inflight.next
		s.advance(st.position)
		// After the commit, not in it: a NOTIFY in the transaction would
		// hold the server's notify lock across the commit's WAL flush.
		_, err = conn.Exec(ctx, `SELECT pg_notify($1, $2)`, channelSequenced, strconv.FormatInt(st.position, 10))
		return err
	}
	defer settle()

	for {
		started := time.Now()
		from := st
		if written != nil {
			from = inflight.next
		}
		b, err := s.readBatch(ctx, from)
		if serr := settle(); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
		if n := len(b.entries); n > 0 {
			inflight, written = b, make(chan error, 1)
			go func() { written <- s.writeBatch(ctx, conn, &inflight, &cp) }()
			if n == s.opts.BatchSize {
				continue // more are waiting: read on while this batch is written
			}
			if err := settle(); err != nil {
				return err
			}
			// Under load, let events gather for a moment: a batch costs
			// about as much as one event, so few large batches leave the
			// writers more of the machine than many small ones. The pause
			// grows with the batch just written (a quarter millisecond an
			// event, up to SequencerLinger), so a quiet log stays quick and
			// only a busy one trades latency for throughput.
			linger := min(s.opts.SequencerLinger, time.Duration(n)*lingerPerEvent)
			select {
			case <-time.After(linger - time.Since(started)):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		if s.checkpointDue(st, cp, time.Now()) {
			b := &pgx.Batch{}
			s.queueCheckpoint(b, st, &cp)
			if err := conn.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("write checkpoint: %w", err)
			}
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

func loadState(ctx context.Context, conn *pgx.Conn) (seqState, cpState, error) {
	var st seqState
	var cp cpState
	var tx string
	err := conn.QueryRow(ctx, `SELECT position, tx::text, seq, hash FROM eventstore.log ORDER BY position DESC LIMIT 1`).
		Scan(&st.position, &tx, &st.seq, &st.hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		tx = "0"
	case err != nil:
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	}
	if st.tx, err = strconv.ParseUint(tx, 10, 64); err != nil {
		return st, cp, fmt.Errorf("load sequencer state: tx %q: %w", tx, err)
	}
	err = conn.QueryRow(ctx, `SELECT position, signed_at FROM eventstore.checkpoints ORDER BY position DESC LIMIT 1`).
		Scan(&cp.position, &cp.at)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		cp.at = time.Now() // the interval runs from the first leader's start
	case err != nil:
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	}
	// A transaction ID this server has not handed out yet comes from another
	// cluster (a logical dump does not carry the transaction counter): new
	// appends would sort before the restored events, so refuse rather than
	// sequence them in the wrong order.
	var ahead bool
	if err := conn.QueryRow(ctx, `SELECT $1::text::xid8 >= pg_snapshot_xmax(pg_current_snapshot())`, tx).Scan(&ahead); err != nil {
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	}
	if ahead {
		return st, cp, fmt.Errorf("the log's last transaction ID %s is one this server has not issued: the database was restored from a logical dump of another cluster; restore from a physical backup (pg_basebackup) instead", tx)
	}
	return st, cp, nil
}

// readBatch reads the settled events after st and computes their log
// entries. It reads through the pool, so that it can overlap the write of
// the batch before.
func (s *Store) readBatch(ctx context.Context, st seqState) (batch, error) {
	b := batch{next: st}
	rows, err := s.db.Query(ctx, batchSQL, strconv.FormatUint(st.tx, 10), st.seq, s.opts.BatchSize)
	if err != nil {
		return b, fmt.Errorf("read settled events: %w", err)
	}
	defer rows.Close()
	next := &b.next
	var txText string
	sc := newEventScanner(&txText, &next.seq)
	for rows.Next() {
		e, err := sc.scan(rows)
		if err != nil {
			return b, fmt.Errorf("read settled events: %w", err)
		}
		if next.tx, err = strconv.ParseUint(txText, 10, 64); err != nil {
			return b, fmt.Errorf("read settled events: tx %q: %w", txText, err)
		}
		next.position++
		e.Position = next.position
		next.hash = eventstore.ChainHash(next.hash, &e)
		b.entries = append(b.entries, []any{next.position, int64(next.tx), next.seq, next.hash})
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("read settled events: %w", err)
	}
	return b, nil
}

// writeBatch writes a batch's log entries with COPY, and a checkpoint in
// the same transaction when one is due.
func (s *Store) writeBatch(ctx context.Context, conn *pgx.Conn, b *batch, cp *cpState) error {
	next := *cp
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"eventstore", "log"}, []string{"position", "tx", "seq", "hash"}, pgx.CopyFromRows(b.entries)); err != nil {
			return err
		}
		if !s.checkpointDue(b.next, next, time.Now()) {
			return nil
		}
		q := &pgx.Batch{}
		s.queueCheckpoint(q, b.next, &next)
		return tx.SendBatch(ctx, q).Close()
	})
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	*cp = next // only once the checkpoint is committed
	return nil
}

func (s *Store) checkpointDue(st seqState, cp cpState, now time.Time) bool {
	if s.opts.SigningKey == nil || st.position <= cp.position {
		return false
	}
	return st.position-cp.position >= s.opts.CheckpointEvery || now.Sub(cp.at) >= s.opts.CheckpointInterval
}

// queueCheckpoint queues the signed chain hash at st's position and moves
// cp there (the caller discards cp if the batch fails).
func (s *Store) queueCheckpoint(q *pgx.Batch, st seqState, cp *cpState) {
	signedAt := time.Now().Truncate(time.Microsecond)
	sig := ed25519.Sign(s.opts.SigningKey, eventstore.CheckpointMessage(st.position, st.hash, signedAt))
	pub := s.opts.SigningKey.Public().(ed25519.PublicKey)
	q.Queue(`INSERT INTO eventstore.checkpoints (position, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
		st.position, st.hash, signedAt, KeyID(pub), sig)
	*cp = cpState{position: st.position, at: signedAt}
}
