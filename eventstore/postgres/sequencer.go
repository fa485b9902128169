package postgres

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/mod/sumdb/note"
)

// seqState is where the sequencer stands: the last position it assigned,
// that event's (epoch, tx, seq), the hash chain's link there (kept only while it
// signs), and the Merkle tree over the log so far. It is derived from the log at each election and kept in memory
// after; the tree is grown in place, so a state whose batch failed to be
// written is never used again (the sequencer stands down and reloads).
type seqState struct {
	position int64
	epoch    int32
	tx       uint64
	seq      int64
	hash     []byte
	tree     *tlog.Tree
	// planned is the size of the last checkpoint written or planned.
	planned int64
}

// cpState is where the last checkpoint stands: its size, when it was
// signed, and its body, which the next one links to.
type cpState struct {
	position int64
	at       time.Time
	body     []byte
	origin   string
}

// treeHead is the tree's root, and the chain's hash, at a size: what a
// checkpoint signs.
type treeHead struct {
	size  int64
	root  []byte
	chain []byte
}

// batch is the log entries for the events after a state, ready to write.
type batch struct {
	entries [][]any // position, epoch, tx, seq, leaf: rows of eventstore.log
	nodes   [][]any // level, idx, hash: rows of eventstore.tree
	// heads are the checkpoints due within the batch, every
	// CheckpointEvery positions; end is the tree at the batch's end, which
	// one is signed at when the interval has passed.
	heads []treeHead
	end   treeHead
	next  seqState // the state once the entries are written
}

// batchSQL reads the next settled events in (epoch, tx, seq) order.
// Transactions below pg_snapshot_xmin have all ended, and any transaction
// still to commit has a larger ID, so nothing can later appear before the
// rows read here. An older epoch's events ($4 is this cluster's) are all
// settled: they were committed on another cluster, or before the log
// moved, and taking up an epoch waits for the appends in flight (see
// eventstore.take_up in 0003_epochs.sql). Their transaction IDs mean
// nothing to this cluster, so they are not compared with its snapshot.
const batchSQL = `
	SELECT e.epoch, e.tx::text, e.seq, ` + eventColumns + `
	FROM eventstore.events e
	WHERE (e.epoch, e.tx, e.seq) > ($1, $2::text::xid8, $3)
	  AND (e.epoch < $4 OR e.tx < pg_snapshot_xmin(pg_current_snapshot()))
	ORDER BY e.epoch, e.tx, e.seq
	LIMIT $5`

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
		if s.failure.Load() == nil {
			backoff = 100 * time.Millisecond // it led, then failed: a new failure
		}
		s.failed(err)
		s.opts.Logger.Error("eventstore: sequencer stopped; retrying", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// failure is why this process's sequencer stopped, and since when it
// has not led.
type failure struct {
	err   string
	since time.Time
}

// failed records err as why the sequencer does not lead, keeping the time
// the failures began.
func (s *Store) failed(err error) {
	f := &failure{err: err.Error(), since: time.Now()}
	if old := s.failure.Load(); old != nil {
		f.since = old.since
	}
	s.failure.Store(f)
}

// lead campaigns for leadership and, once elected, sequences until ctx ends
// or the connection fails.
func (s *Store) lead(ctx context.Context) (err error) {
	var written chan error // the batch write in flight, if any
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
	if _, err := conn.Exec(ctx, "LISTEN "+channelCheckpoint); err != nil {
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
	st, cp, err := s.loadState(ctx, conn)
	if err != nil {
		return err
	}
	if err := s.takeKey(cp); err != nil {
		return err
	}
	if err := s.checkSigned(ctx, conn, cp); err != nil {
		return err
	}
	if err := s.restoreChain(ctx, conn, &st, cp); err != nil {
		return err
	}
	s.leading.Store(true)
	s.failure.Store(nil)
	defer s.leading.Store(false)
	s.opts.Logger.Info("eventstore: sequencer leading", "position", st.position)
	if s.signer == nil {
		s.opts.Logger.Warn("eventstore: no signing key; the log gets no signed checkpoints")
	}
	// A server stopping signs what it sequenced, so a clean stop leaves no
	// entry without a checkpoint.
	defer func() {
		if written != nil || s.signer == nil || st.position <= cp.position {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.checkpointNow(fctx, conn, st, &cp); err != nil {
			s.opts.Logger.Error("eventstore: final checkpoint", "err", err)
		}
	}()

	// Reading a batch (through the pool) and writing the one before it (on
	// the leader's connection) overlap: catching up then takes about as
	// long as the slower of the two, not their sum.
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
		nctx, cancel := writeContext(ctx)
		defer cancel()
		_, err = conn.Exec(nctx, `SELECT pg_notify($1, $2)`, channelSequenced, strconv.FormatInt(st.position, 10))
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
			go func() {
				wctx, cancel := writeContext(ctx)
				defer cancel()
				written <- s.writeBatch(wctx, conn, &inflight, &cp)
			}()
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
		requested, err := s.idle(ctx, conn)
		if err != nil {
			return err
		}
		if (requested || s.checkpointDue(st.position, cp, time.Now())) && s.signer != nil && st.position > cp.position {
			wctx, cancel := writeContext(ctx)
			err := s.checkpointNow(wctx, conn, st, &cp)
			cancel()
			if err != nil {
				return err
			}
		}
	}
}

// writeTimeout bounds a write of the leader's connection once it has
// begun (writeContext).
const writeTimeout = 30 * time.Second

// writeContext is the context a write on the leader's connection runs
// under: not cancelled when the sequencer is told to stop, since pgx
// closes a connection whose statement is cancelled, and a stopping
// sequencer still signs what it sequenced on it (the final checkpoint),
// but bounded all the same. The stop is seen at the next wait.
func writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
}

// takeKey sets the signer of the log's checkpoints: the signing key
// under the origin the log's checkpoints carry, which never changes.
func (s *Store) takeKey(cp cpState) error {
	if s.opts.SigningKey == nil {
		return nil
	}
	origin := s.opts.Origin
	switch {
	case cp.origin != "" && origin != "" && origin != cp.origin:
		return fmt.Errorf("the log's checkpoints name it %q, but its origin is set to %q: a log keeps its name (unset the origin, or set it to %[1]q)", cp.origin, origin)
	case cp.origin != "":
		origin = cp.origin
	case origin == "":
		origin = DefaultOrigin(s.opts.SigningKey.Public().(ed25519.PublicKey))
	}
	signer, err := tlog.NewSigner(origin, s.opts.SigningKey)
	if err != nil {
		return err
	}
	s.signer, s.origin = signer, origin
	return nil
}

// restoreChain sets the hash chain's link at the log's head, which the
// log does not store: from the one the last checkpoint signed, over the
// entries after it (a few, unless the log went long unsigned). Only a
// sequencer that signs keeps the chain.
func (s *Store) restoreChain(ctx context.Context, conn *pgx.Conn, st *seqState, cp cpState) error {
	if s.signer == nil || s.opts.chainOnly {
		return nil
	}
	from := int64(0)
	if cp.body != nil {
		c, err := tlog.ParseBody(cp.body)
		if err != nil {
			return fmt.Errorf("the last checkpoint: %w", err)
		}
		from, st.hash = cp.position, c.Chain
	}
	if from < st.position {
		s.opts.Logger.Info("eventstore: restoring the hash chain", "from", from, "to", st.position)
	}
	// A log never signed as a tree may have been signed as a chain: the
	// first checkpoint must not vouch for a chain those signatures did not.
	legacy := map[int64][]byte{}
	if from == 0 {
		var err error
		if legacy, err = s.legacyChain(ctx, conn); err != nil {
			return err
		}
	}
	for from < st.position {
		rows, err := conn.Query(ctx, `SELECT l.position, `+eventColumns+`
			FROM eventstore.log l JOIN eventstore.events e ON e.epoch = l.epoch AND e.tx = l.tx AND e.seq = l.seq
			WHERE l.position > $1 AND l.position <= $2 ORDER BY l.position`, from, min(from+10_000, st.position))
		if err != nil {
			return fmt.Errorf("restore the chain: %w", err)
		}
		var pos int64
		sc := newEventScanner(&pos)
		for rows.Next() {
			e, err := sc.scan(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("restore the chain: %w", err)
			}
			if pos != from+1 {
				rows.Close()
				return fmt.Errorf("restore the chain: position %d has no event row: run civic verify", from+1)
			}
			e.Position = pos
			st.hash, from = eventstore.ChainHash(st.hash, &e), pos
			if want, ok := legacy[pos]; ok && !bytes.Equal(want, st.hash) {
				rows.Close()
				return fmt.Errorf("the log's hash chain at %d is not the one its checkpoint signed there before the tree: history was altered in the database; run civic verify", pos)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("restore the chain: %w", err)
		}
	}
	return nil
}

// legacyChain returns the chain's hashes that checkpoints signed before
// the tree, by position, each signature checked with the signing key or
// a trusted key.
func (s *Store) legacyChain(ctx context.Context, conn *pgx.Conn) (map[int64][]byte, error) {
	keys := map[string]ed25519.PublicKey{}
	for _, k := range append([]ed25519.PublicKey{s.opts.SigningKey.Public().(ed25519.PublicKey)}, s.opts.TrustedKeys...) {
		keys[KeyID(k)] = k
	}
	rows, err := conn.Query(ctx, `SELECT position, hash, signed_at, key_id, signature FROM eventstore.chain_checkpoints`)
	if err != nil {
		return nil, fmt.Errorf("the chain's checkpoints: %w", err)
	}
	out := map[int64][]byte{}
	var pos int64
	var hash, sig []byte
	var at time.Time
	var keyID string
	_, err = pgx.ForEachRow(rows, []any{&pos, &hash, &at, &keyID, &sig}, func() error {
		k, ok := keys[keyID]
		if !ok || !ed25519.Verify(k, eventstore.LegacyCheckpointMessage(pos, hash, at), sig) {
			return fmt.Errorf("the chain's checkpoint at %d does not verify with the signing key or the trusted keys: the database was altered, or the key changed (list the old key in the trusted keys); run civic verify", pos)
		}
		out[pos] = bytes.Clone(hash)
		return nil
	})
	return out, err
}

// checkSigned refuses to lead a log whose stored tree is not the one its
// last checkpoint signed. A superuser who rewrote history in the database
// (entries, leaves and nodes alike) cannot re-sign it, but a sequencer
// that took the stored tree as it found it would: it would sign its next
// checkpoint over the rewritten history. So the tree is checked against
// the last signature first, with the keys the log trusts.
func (s *Store) checkSigned(ctx context.Context, conn *pgx.Conn, cp cpState) error {
	if cp.body == nil || s.signer == nil {
		return nil
	}
	var text string
	if err := conn.QueryRow(ctx, `SELECT note FROM eventstore.tree_checkpoints WHERE size = $1`, cp.position).Scan(&text); err != nil {
		return fmt.Errorf("check the last checkpoint: %w", err)
	}
	var verifiers []note.Verifier
	for _, k := range append([]ed25519.PublicKey{s.opts.SigningKey.Public().(ed25519.PublicKey)}, s.opts.TrustedKeys...) {
		v, err := tlog.NewVerifier(s.origin, k)
		if err != nil {
			return err
		}
		verifiers = append(verifiers, v)
	}
	c, _, err := tlog.Open([]byte(text), s.origin, verifiers)
	if err != nil {
		return fmt.Errorf("the log's last checkpoint (size %d) does not verify with the signing key or the trusted keys (%w): the database was altered, or the key changed (list the old key in the trusted keys); run civic verify", cp.position, err)
	}
	root, err := tlog.RootAt(ctx, reader(conn), c.Size)
	if err != nil || !bytes.Equal(root, c.Root) {
		return fmt.Errorf("the log's stored tree of size %d is not the one its last checkpoint signed (%v): history was altered in the database; run civic verify", c.Size, err)
	}
	return nil
}

// idle waits for a reason to look for events: an append in this process, a
// notification from another, or the poll interval. It reports whether a
// checkpoint was asked for (civic checkpoint).
func (s *Store) idle(ctx context.Context, conn *pgx.Conn) (bool, error) {
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
	n, err := conn.WaitForNotification(waitCtx)
	if err != nil && ctx.Err() == nil && waitCtx.Err() != nil {
		return false, nil // poll interval or local wake-up
	}
	if err != nil {
		return false, err
	}
	return n.Channel == channelCheckpoint, nil
}

// loadState reads where the log stands: its last entry, the tree over it
// (made first for entries sequenced before the tree existed), and the last
// signed checkpoint.
func (s *Store) loadState(ctx context.Context, conn *pgx.Conn) (seqState, cpState, error) {
	var st seqState
	var cp cpState
	var tx string
	err := conn.QueryRow(ctx, `SELECT position, epoch, tx::text, seq FROM eventstore.log ORDER BY position DESC LIMIT 1`).
		Scan(&st.position, &st.epoch, &tx, &st.seq)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		tx = "0"
	case err != nil:
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	}
	if st.tx, err = strconv.ParseUint(tx, 10, 64); err != nil {
		return st, cp, fmt.Errorf("load sequencer state: tx %q: %w", tx, err)
	}
	var note string
	err = conn.QueryRow(ctx, `SELECT size, signed_at, note FROM eventstore.tree_checkpoints ORDER BY size DESC LIMIT 1`).
		Scan(&cp.position, &cp.at, &note)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		cp.at = time.Now() // the interval runs from the first leader's start
	case err != nil:
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	default:
		body, _, _ := strings.Cut(note, "\n\n")
		cp.body = []byte(body + "\n")
		cp.origin = tlog.Origin(cp.body)
	}
	st.planned = cp.position
	// The cluster's epoch: recorded by Migrate when the process opened the
	// database, or now, if the database moved since.
	if err := conn.QueryRow(ctx, `SELECT eventstore.take_up()`).Scan(&s.epoch); err != nil {
		return st, cp, fmt.Errorf("load sequencer state: take up the log on this cluster: %w", err)
	}
	if st.tree, err = s.loadTree(ctx, conn, st.position); err != nil {
		return st, cp, fmt.Errorf("load sequencer state: %w", err)
	}
	return st, cp, nil
}

// loadTree returns the tree over the log's first size entries. The nodes
// of entries sequenced before the tree existed (their leaves came with the
// migration) are made first, once, from the leaves.
func (s *Store) loadTree(ctx context.Context, conn *pgx.Conn, size int64) (*tlog.Tree, error) {
	var have int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM eventstore.tree WHERE level = $1`, tlog.Stride).Scan(&have); err != nil {
		return nil, err
	}
	if want := size >> tlog.Stride; have < want {
		s.opts.Logger.Info("eventstore: building the Merkle tree over the log", "entries", size)
		if err := buildTree(ctx, conn, size); err != nil {
			return nil, fmt.Errorf("build the tree: %w", err)
		}
	}
	rng, err := tlog.Range(ctx, reader(conn), uint64(size))
	if err != nil {
		return nil, err
	}
	return tlog.TreeFrom(rng)
}

// buildTree writes the stored nodes of the tree over the first size
// entries from their leaves, page by page; nodes written before are kept.
func buildTree(ctx context.Context, conn *pgx.Conn, size int64) error {
	tree := tlog.NewTree()
	for from := int64(1); from <= size; from += 50_000 {
		rows, err := conn.Query(ctx, `SELECT leaf FROM eventstore.log WHERE position BETWEEN $1 AND $2 ORDER BY position`, from, min(from+49_999, size))
		if err != nil {
			return err
		}
		var nodes [][]any
		var leaf []byte
		_, err = pgx.ForEachRow(rows, []any{&leaf}, func() error {
			return tree.Append(bytes.Clone(leaf), func(n tlog.Node) {
				nodes = append(nodes, []any{int16(n.Level), int64(n.Index), n.Hash})
			})
		})
		if err != nil {
			return err
		}
		if len(nodes) > 0 {
			if _, err := conn.Exec(ctx, `INSERT INTO eventstore.tree (level, idx, hash)
				SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`, column(nodes, 0), column(nodes, 1), column(nodes, 2)); err != nil {
				return err
			}
		}
	}
	if uint64(size) != tree.Size() {
		return fmt.Errorf("the log holds %d leaves up to position %d", tree.Size(), size)
	}
	return nil
}

// column is column i of rows, for unnest.
func column(rows [][]any, i int) []any {
	out := make([]any, len(rows))
	for j, r := range rows {
		out[j] = r[i]
	}
	return out
}

// readBatch reads the settled events after st and computes their log
// entries: chain hash, leaf hash, the tree's new stored nodes, and the
// checkpoints due every CheckpointEvery positions. It reads through the
// pool, so that it can overlap the write of the batch before.
func (s *Store) readBatch(ctx context.Context, st seqState) (batch, error) {
	b := batch{next: st}
	rows, err := s.db.Query(ctx, batchSQL, st.epoch, strconv.FormatUint(st.tx, 10), st.seq, s.epoch, s.opts.BatchSize)
	if err != nil {
		return b, fmt.Errorf("read settled events: %w", err)
	}
	defer rows.Close()
	next := &b.next
	var txText string
	sc := newEventScanner(&next.epoch, &txText, &next.seq)
	store := func(n tlog.Node) { b.nodes = append(b.nodes, []any{int16(n.Level), int64(n.Index), n.Hash}) }
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
		if s.opts.chainOnly {
			// The baseline stores the chain's link where the leaf goes:
			// the row the log had before the tree.
			next.hash = eventstore.ChainHash(next.hash, &e)
			b.entries = append(b.entries, []any{next.position, next.epoch, int64(next.tx), next.seq, next.hash})
			continue
		}
		var leaf []byte
		if s.signer != nil {
			var leafBytes []byte
			next.hash, leafBytes = eventstore.ChainAndLeafBytes(next.hash, &e)
			leaf = tlog.Hasher.HashLeaf(leafBytes)
		} else {
			leaf = tlog.LeafHash(&e)
		}
		if err := next.tree.Append(leaf, store); err != nil {
			return b, fmt.Errorf("grow the tree: %w", err)
		}
		b.entries = append(b.entries, []any{next.position, next.epoch, int64(next.tx), next.seq, leaf})
		if s.signer != nil && next.position-next.planned >= s.opts.CheckpointEvery {
			head, err := headOf(*next)
			if err != nil {
				return b, err
			}
			b.heads = append(b.heads, head)
			next.planned = next.position
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("read settled events: %w", err)
	}
	if len(b.entries) > 0 {
		if b.end, err = headOf(*next); err != nil {
			return b, err
		}
	}
	return b, nil
}

// headOf is the tree's head at st.
func headOf(st seqState) (treeHead, error) {
	root, err := st.tree.Root()
	if err != nil {
		return treeHead{}, fmt.Errorf("tree root: %w", err)
	}
	return treeHead{size: st.position, root: root, chain: st.hash}, nil
}

// writeBatch writes a batch's log entries and tree nodes with COPY, and its
// checkpoints in the same transaction: those due every CheckpointEvery
// positions, and one at its end when CheckpointInterval has passed.
func (s *Store) writeBatch(ctx context.Context, conn *pgx.Conn, b *batch, cp *cpState) error {
	next := *cp
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"eventstore", "log"}, []string{"position", "epoch", "tx", "seq", "leaf"}, pgx.CopyFromRows(b.entries)); err != nil {
			return err
		}
		if len(b.nodes) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"eventstore", "tree"}, []string{"level", "idx", "hash"}, pgx.CopyFromRows(b.nodes)); err != nil {
				return err
			}
		}
		q := &pgx.Batch{}
		for _, h := range b.heads {
			if err := s.queueCheckpoint(q, h, &next); err != nil {
				return err
			}
		}
		// The batch's end is signed too once the interval has passed
		// since the last checkpoint, counting those just queued.
		if s.checkpointDue(b.end.size, next, time.Now()) {
			if err := s.queueCheckpoint(q, b.end, &next); err != nil {
				return err
			}
		}
		if q.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, q).Close()
	})
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	*cp = next // only once the checkpoints are committed
	return nil
}

// checkpointNow signs the tree as st leaves it, on its own.
func (s *Store) checkpointNow(ctx context.Context, conn *pgx.Conn, st seqState, cp *cpState) error {
	head, err := headOf(st)
	if err != nil {
		return err
	}
	next := *cp
	q := &pgx.Batch{}
	if err := s.queueCheckpoint(q, head, &next); err != nil {
		return err
	}
	if err := conn.SendBatch(ctx, q).Close(); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	*cp = next
	return nil
}

func (s *Store) checkpointDue(position int64, cp cpState, now time.Time) bool {
	if s.signer == nil || position <= cp.position {
		return false
	}
	return position-cp.position >= s.opts.CheckpointEvery || now.Sub(cp.at) >= s.opts.CheckpointInterval
}

// queueCheckpoint queues the signed checkpoint of head, linked to the one
// cp stands at, and moves cp to it (the caller discards cp if the batch
// fails).
func (s *Store) queueCheckpoint(q *pgx.Batch, head treeHead, cp *cpState) error {
	if head.size <= cp.position {
		return nil
	}
	signedAt := time.Now().Truncate(time.Microsecond)
	c := tlog.Checkpoint{Origin: s.origin, Size: uint64(head.size), Root: head.root, Chain: head.chain, Time: signedAt}
	if cp.body != nil {
		c.PreviousSize, c.PreviousHash = uint64(cp.position), tlog.BodyHash(cp.body)
	}
	note, err := tlog.Sign(c, s.signer)
	if err != nil {
		return fmt.Errorf("sign checkpoint: %w", err)
	}
	q.Queue(`INSERT INTO eventstore.tree_checkpoints (size, root, signed_at, note) VALUES ($1, $2, $3, $4)`,
		head.size, head.root, signedAt, string(note))
	*cp = cpState{position: head.size, at: signedAt, body: c.Body()}
	return nil
}
