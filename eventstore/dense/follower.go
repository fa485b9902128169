package dense

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
)

// The follower's session advisory lock: one leader among the servers
// sharing the index, as the PostgreSQL sequencer has.
const (
	lockClass    = 0x6c656467 // "ledg"
	lockFollower = 1
)

// Status is where the follower stands, for /readyz and /metrics.
type Status struct {
	// Leading: this process's follower holds the lock and indexes.
	Leading bool
	// Position is the last dense position indexed, Source the backend's
	// position of that event, IndexedAt when it was indexed (zero before
	// the first batch of this process).
	Position, Source int64
	IndexedAt        time.Time
	// Events is how many events this process's follower has indexed.
	Events int64
	// Failure is why the follower last stopped leading, and FailingSince
	// when it began to fail; empty while it leads without trouble.
	Failure      string
	FailingSince time.Time
}

// Status returns the follower's state in this process.
func (s *Store) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// RunFollower indexes the backend's log until ctx ends: run it in every
// server, and one at a time leads while the others wait to take over the
// moment its session ends. A failure (the backend unreachable, the index's
// database gone) is logged and retried after a pause; it returns nil when
// ctx ends.
func (s *Store) RunFollower(ctx context.Context) error {
	pause := 100 * time.Millisecond
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			s.setLeading(false)
			return nil
		}
		s.mu.Lock()
		s.status.Leading = false
		if s.status.Failure == "" {
			s.status.FailingSince = time.Now()
		}
		s.status.Failure = err.Error()
		s.mu.Unlock()
		s.log.Warn("ledger: the follower stopped; it tries again", "err", err, "after", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

func (s *Store) setLeading(leading bool) {
	s.mu.Lock()
	s.status.Leading = leading
	s.mu.Unlock()
}

// followed is one value of the backend's subscription.
type followed struct {
	e   eventstore.Event
	err error
}

// lead campaigns for the lock and, once elected, indexes the backend's log
// until ctx ends or something fails.
func (s *Store) lead(ctx context.Context) error {
	pc, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, lockClass, lockFollower); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}

	// Where the index stands, and the tree over it, from the index.
	var pos, source int64
	err = conn.QueryRow(ctx, `SELECT position, source FROM ledger.entries ORDER BY position DESC LIMIT 1`).Scan(&pos, &source)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read the index's head: %w", err)
	}
	rng, err := tlog.Range(ctx, reader(conn), uint64(pos))
	if err != nil {
		return fmt.Errorf("rebuild the tree at %d: %w", pos, err)
	}
	tree, err := tlog.TreeFrom(rng)
	if err != nil {
		return err
	}
	cp, err := s.lastCheckpoint(ctx, conn, tree, pos)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.status.Leading, s.status.Position, s.status.Source, s.status.Failure = true, pos, source, ""
	s.mu.Unlock()
	s.log.Info("ledger: the follower leads", "position", pos, "source", source)

	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan followed, s.opts.Batch)
	go func() {
		defer close(feed)
		for e, err := range s.src.SubscribeAll(sub, source) {
			select {
			case feed <- followed{e, err}:
			case <-sub.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// A writer commits each batch while the next is read and hashed, as
	// the sequencer overlaps its writes: on its own connection's
	// session, which holds the lock; it alone uses conn from here.
	jobs := make(chan *job, 1)
	written := make(chan error, 1)
	go func() {
		for j := range jobs {
			if err := s.commit(ctx, conn, j); err != nil {
				written <- err // the loop stops sending when it reads it
				return
			}
		}
		written <- nil
	}()
	writing := true
	stopWriter := func() error {
		if !writing {
			return nil
		}
		writing = false
		close(jobs)
		return <-written
	}
	defer stopWriter()
	send := func(j *job) error {
		select {
		case jobs <- j:
			return nil
		case err := <-written:
			writing = false
			return err
		}
	}

	batch := make([]eventstore.Event, 0, s.opts.Batch)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var due <-chan time.Time
		timer.Stop()
		if s.opts.Signer != nil && cp.size < pos {
			timer.Reset(time.Until(cp.dueBy))
			due = timer.C
		}
		batch = batch[:0]
		select {
		case <-ctx.Done():
			if err := stopWriter(); err != nil {
				return err
			}
			if s.opts.Signer != nil && cp.size < pos {
				// The last checkpoint covers all this leader indexed.
				j, err := s.prepare(nil, tree, pos, &cp, true)
				if err != nil {
					return err
				}
				return s.commit(ctx, conn, j)
			}
			return nil
		case err := <-written:
			writing = false
			return err
		case <-due:
			j, err := s.prepare(nil, tree, pos, &cp, true)
			if err != nil {
				return err
			}
			if err := send(j); err != nil {
				return err
			}
			continue
		case f, ok := <-feed:
			if !ok {
				return errors.New("the backend's subscription ended")
			}
			if f.err != nil {
				return fmt.Errorf("follow the backend's log after %d: %w", source, f.err)
			}
			batch = append(batch, f.e)
		}
	drain:
		for len(batch) < s.opts.Batch {
			select {
			case f, ok := <-feed:
				if !ok || f.err != nil {
					break drain // the next receive reports it
				}
				batch = append(batch, f.e)
			default:
				break drain
			}
		}
		for i := range batch {
			e := &batch[i]
			if e.Position <= source {
				return fmt.Errorf("the backend's log went back: position %d after %d", e.Position, source)
			}
			source = e.Position
		}
		j, err := s.prepare(batch, tree, pos, &cp, false)
		if err != nil {
			return err
		}
		if err := send(j); err != nil {
			return err
		}
		pos += int64(len(batch))
	}
}

// cpState is where the checkpoints stand.
type cpState struct {
	size     int64
	bodyHash []byte
	// dueBy is when the next checkpoint is due, if events wait for one.
	dueBy time.Time
}

// lastCheckpoint reads the last signed checkpoint and checks that the
// stored tree is the one it signed: a follower that took a rewritten
// index as it found it would sign the rewrite.
func (s *Store) lastCheckpoint(ctx context.Context, conn *pgx.Conn, tree *tlog.Tree, pos int64) (cpState, error) {
	var cp cpState
	var note string
	err := conn.QueryRow(ctx, `SELECT size, note FROM ledger.checkpoints ORDER BY size DESC LIMIT 1`).Scan(&cp.size, &note)
	if errors.Is(err, pgx.ErrNoRows) {
		cp.dueBy = time.Now().Add(s.opts.CheckpointAfter)
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read the last checkpoint: %w", err)
	}
	c, _, err := tlog.Open([]byte(note), s.opts.Origin, s.opts.Verifiers)
	if err != nil {
		return cp, fmt.Errorf("the last checkpoint (size %d): %w", cp.size, err)
	}
	root, err := tlog.RootAt(ctx, reader(conn), uint64(cp.size))
	if err != nil {
		return cp, fmt.Errorf("the tree at the last checkpoint (size %d): %w", cp.size, err)
	}
	if string(root) != string(c.Root) {
		return cp, fmt.Errorf("the stored tree at size %d is not the one its checkpoint signed: the index was rewritten; run civic verify", cp.size)
	}
	cp.bodyHash = tlog.BodyHash(c.Body())
	cp.dueBy = time.Now().Add(s.opts.CheckpointAfter)
	return cp, nil
}

// job is a batch ready to commit: its index rows, the tree's new nodes,
// and the checkpoint when one is due.
type job struct {
	rows, nodes [][]any
	// The positions from+1..end.
	from, end int64
	// checkpoint is the signed note to store, nil when none is due.
	checkpoint *tlog.Checkpoint
	note       []byte
}

// prepare hashes batch (the events after pos), grows the tree over it and
// signs a checkpoint when one is due (or forced): everything but the
// write, which commit does. The tree and cp move on as if the write
// succeeded; when it fails, the leader stands down and the next one
// rebuilds both from the index.
func (s *Store) prepare(batch []eventstore.Event, tree *tlog.Tree, pos int64, cp *cpState, force bool) (*job, error) {
	n := len(batch)
	j := &job{rows: make([][]any, n), from: pos, end: pos + int64(n)}
	for i := range batch {
		e := batch[i] // a copy: the leaf is over the dense position
		source := e.Position
		e.Position, e.Hash = pos+int64(i)+1, nil
		leaf := tlog.LeafHash(&e)
		j.rows[i] = []any{e.Position, source, e.ID, e.Stream, e.Version, leaf}
		if err := tree.Append(leaf, func(nd tlog.Node) {
			j.nodes = append(j.nodes, []any{int16(nd.Level), int64(nd.Index), nd.Hash})
		}); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	if n > 0 && cp.size == pos {
		// The first events after a checkpoint start the clock to the next.
		cp.dueBy = now.Add(s.opts.CheckpointAfter)
	}
	if s.opts.Signer == nil || j.end <= cp.size || !(force || j.end-cp.size >= s.opts.CheckpointEvery || !now.Before(cp.dueBy)) {
		return j, nil
	}
	root, err := tree.Root()
	if err != nil {
		return nil, err
	}
	c := tlog.Checkpoint{Origin: s.opts.Origin, Size: uint64(j.end), Root: root, Time: now.UTC()}
	if cp.size > 0 {
		c.PreviousSize, c.PreviousHash = uint64(cp.size), cp.bodyHash
	}
	if j.note, err = tlog.Sign(c, s.opts.Signer); err != nil {
		return nil, fmt.Errorf("sign the checkpoint at %d: %w", j.end, err)
	}
	j.checkpoint = &c
	*cp = cpState{size: j.end, bodyHash: tlog.BodyHash(c.Body()), dueBy: now.Add(s.opts.CheckpointAfter)}
	return j, nil
}

// commitTimeout bounds a commit once begun. It runs under a context that
// is not cancelled when the follower is told to stop (pgx closes a
// connection whose statement is cancelled, and a stopping follower still
// signs what it indexed on it), but bounded all the same.
const commitTimeout = 30 * time.Second

// commit writes a prepared job in one transaction and wakes the readers
// waiting for the index.
func (s *Store) commit(ctx context.Context, conn *pgx.Conn, j *job) error {
	if len(j.rows) == 0 && j.checkpoint == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if len(j.rows) > 0 {
		// COPY, as the sequencer writes its entries.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ledger", "entries"},
			[]string{"position", "source", "event_id", "stream_id", "version", "leaf"}, pgx.CopyFromRows(j.rows)); err != nil {
			return fmt.Errorf("index positions %d..%d: %w", j.from+1, j.end, err)
		}
		if len(j.nodes) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ledger", "tree"}, []string{"level", "idx", "hash"}, pgx.CopyFromRows(j.nodes)); err != nil {
				return fmt.Errorf("store the tree's nodes to %d: %w", j.end, err)
			}
		}
	}
	if c := j.checkpoint; c != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger.checkpoints (size, root, signed_at, note) VALUES ($1, $2, $3, $4)`,
			j.end, c.Root, c.Time, string(j.note)); err != nil {
			return fmt.Errorf("store the checkpoint at %d: %w", j.end, err)
		}
	}
	if len(j.rows) > 0 {
		// Delivered at commit to the other processes' readers.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channelIndexed, strconv.FormatInt(j.end, 10)); err != nil {
			return fmt.Errorf("announce positions %d..%d: %w", j.from+1, j.end, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("index positions %d..%d: %w", j.from+1, j.end, err)
	}
	s.mu.Lock()
	if n := len(j.rows); n > 0 {
		s.status.Position, s.status.Source, s.status.IndexedAt = j.end, j.rows[n-1][1].(int64), time.Now()
		s.status.Events += int64(n)
	}
	s.mu.Unlock()
	s.wake()
	return nil
}

// Lag is how far the index is behind the backend, for /readyz and
// /metrics. The backend's positions are not dense, so the distance is not
// a count of events: it is whether the backend holds events the index
// does not, and for how long the index has not moved while it does.
type Lag struct {
	// SourceHead is the backend's last position; Indexed the backend's
	// position of the last event indexed, and Head its dense position.
	SourceHead, Indexed, Head int64
	// Behind: the backend holds events the index does not yet.
	Behind bool
	// Stalled is how long the index has not advanced while Behind: an
	// upper bound on how long the oldest unindexed event has waited.
	Stalled time.Duration
	// LeaderAnywhere: some process holds the follower's lock.
	LeaderAnywhere bool
}

// Lag reads the index's head, asks the backend for its own (a call to
// it, which also says whether it answers) and whether a follower leads
// anywhere.
func (s *Store) Lag(ctx context.Context) (Lag, error) {
	var l Lag
	var at *time.Time
	err := s.db.QueryRow(ctx, `
		SELECT coalesce((SELECT position FROM ledger.entries ORDER BY position DESC LIMIT 1), 0),
		       coalesce((SELECT source FROM ledger.entries ORDER BY position DESC LIMIT 1), 0),
		       (SELECT indexed_at FROM ledger.entries ORDER BY position DESC LIMIT 1),
		       EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
		               WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
		                 AND l.objsubid = 2 AND l.granted AND d.datname = current_database())`,
		int64(lockClass), int64(lockFollower)).Scan(&l.Head, &l.Indexed, &at, &l.LeaderAnywhere)
	if err != nil {
		return l, fmt.Errorf("the index's head: %w", err)
	}
	if l.SourceHead, err = s.src.Head(ctx); err != nil {
		return l, fmt.Errorf("the backend's head: %w", err)
	}
	if l.Behind = l.SourceHead > l.Indexed; l.Behind {
		since := s.Status().IndexedAt
		if at != nil && at.After(since) {
			since = *at
		}
		if !since.IsZero() {
			l.Stalled = time.Since(since)
		}
	}
	return l, nil
}
