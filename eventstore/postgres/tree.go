package postgres

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// treeQuerier is what reads the tree: the pool, a connection or a transaction.
type treeQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// reader reads the stored tree (tlog.Reader): the leaves beside the log
// entries, the nodes in eventstore.tree; one statement each.
type reader struct{ q treeQuerier }

// Leaves implements tlog.Reader.
func (r reader) Leaves(ctx context.Context, indexes []uint64) ([][]byte, error) {
	positions := make([]int64, len(indexes))
	for i, j := range indexes {
		positions[i] = int64(j) + 1
	}
	rows, err := r.q.Query(ctx, `SELECT position, leaf FROM eventstore.log WHERE position = ANY($1)`, positions)
	if err != nil {
		return nil, fmt.Errorf("tree leaves: %w", err)
	}
	got := make(map[int64][]byte, len(positions))
	var pos int64
	var leaf []byte
	if _, err := pgx.ForEachRow(rows, []any{&pos, &leaf}, func() error { got[pos] = leaf; return nil }); err != nil {
		return nil, fmt.Errorf("tree leaves: %w", err)
	}
	out := make([][]byte, len(positions))
	for i, p := range positions {
		if out[i] = got[p]; out[i] == nil {
			return nil, fmt.Errorf("tree leaves: the log has no entry at position %d", p)
		}
	}
	return out, nil
}

// Nodes implements tlog.Reader.
func (r reader) Nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	levels := make([]int16, len(ids))
	idx := make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idx[i] = int16(id.Level), int64(id.Index)
	}
	rows, err := r.q.Query(ctx, `SELECT t.level, t.idx, t.hash FROM eventstore.tree t
		JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) USING (level, idx)`, levels, idx)
	if err != nil {
		return nil, fmt.Errorf("tree nodes: %w", err)
	}
	got := make(map[compact.NodeID][]byte, len(ids))
	var level int16
	var i int64
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&level, &i, &hash}, func() error {
		got[compact.NewNodeID(uint(level), uint64(i))] = hash
		return nil
	}); err != nil {
		return nil, fmt.Errorf("tree nodes: %w", err)
	}
	out := make([][]byte, len(ids))
	for j, id := range ids {
		if out[j] = got[id]; out[j] == nil {
			return nil, fmt.Errorf("tree nodes: node %d at level %d is missing", id.Index, id.Level)
		}
	}
	return out, nil
}

var _ eventstore.Prover = (*Store)(nil)

// ErrBeyondTree is eventstore.ErrBeyondTree.
var ErrBeyondTree = eventstore.ErrBeyondTree

// head is the log's size.
func head(ctx context.Context, q treeQuerier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM eventstore.log`).Scan(&n)
	return n, err
}

// InclusionProofs implements eventstore.Prover, with two reads of the
// stored tree for all the positions together.
func (s *Store) InclusionProofs(ctx context.Context, positions []int64, size int64) ([]eventstore.InclusionProof, error) {
	n, err := head(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	indexes := make([]uint64, len(positions))
	for i, p := range positions {
		if p < 1 || p > size || size > n {
			return nil, fmt.Errorf("inclusion proof of position %d in the tree of size %d, with %d entries in the log: %w", p, size, n, ErrBeyondTree)
		}
		indexes[i] = uint64(p - 1)
	}
	r := reader{s.db}
	leaves, err := r.Leaves(ctx, indexes)
	if err != nil {
		return nil, err
	}
	hashes, err := tlog.InclusionProofs(ctx, r, indexes, uint64(size))
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	out := make([]eventstore.InclusionProof, len(positions))
	for i, p := range positions {
		out[i] = eventstore.InclusionProof{Position: p, TreeSize: size, LeafHash: leaves[i], Hashes: hashes[i]}
	}
	return out, nil
}

// ConsistencyProof implements eventstore.Prover.
func (s *Store) ConsistencyProof(ctx context.Context, size1, size2 int64) ([][]byte, error) {
	n, err := head(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	if size1 < 1 || size1 > size2 || size2 > n {
		return nil, fmt.Errorf("consistency proof from size %d to size %d, with %d entries in the log: %w", size1, size2, n, ErrBeyondTree)
	}
	p, err := tlog.ConsistencyProof(ctx, reader{s.db}, uint64(size1), uint64(size2))
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	return p, nil
}

// RootAt returns the root of the tree of size, as the stored tree gives
// it.
func (s *Store) RootAt(ctx context.Context, size int64) ([]byte, error) {
	n, err := head(ctx, s.db)
	if err != nil {
		return nil, err
	}
	if size < 0 || size > n {
		return nil, fmt.Errorf("root of a tree of %d, with %d entries in the log: %w", size, n, ErrBeyondTree)
	}
	return tlog.RootAt(ctx, reader{s.db}, uint64(size))
}

// Checkpoint implements eventstore.Prover.
func (s *Store) Checkpoint(ctx context.Context, size int64) (*eventstore.Checkpoint, error) {
	var c eventstore.Checkpoint
	var sigs []string
	err := s.db.QueryRow(ctx, `
		SELECT c.size, c.root, c.signed_at, c.note,
			coalesce(array_agg(w.witness ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}'),
			coalesce(array_agg(w.signature ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}')
		FROM (SELECT * FROM eventstore.tree_checkpoints WHERE $1 = 0 OR size = $1 ORDER BY size DESC LIMIT 1) c
		LEFT JOIN eventstore.cosignatures w ON w.size = c.size
		GROUP BY c.size, c.root, c.signed_at, c.note`, size).Scan(&c.Size, &c.Root, &c.SignedAt, &c.Note, &c.Witnesses, &sigs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c.Origin = tlog.Origin([]byte(c.Note))
	// A note's signatures are its last lines: the witnesses' follow the
	// log's.
	for _, sig := range sigs {
		c.Note += sig + "\n"
	}
	return &c, nil
}

// CheckpointCovering implements eventstore.Prover.
func (s *Store) CheckpointCovering(ctx context.Context, position int64) (*eventstore.Checkpoint, error) {
	var size int64
	err := s.db.QueryRow(ctx, `SELECT size FROM eventstore.tree_checkpoints WHERE size >= $1 ORDER BY size LIMIT 1`, position).Scan(&size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return s.Checkpoint(ctx, size)
}

// AddCosignatures records the co-signatures of witnesses on a checkpoint
// of the log: signed is the checkpoint's note, with the log's signature
// and any others, and each signature of a witness in witnesses (checked
// here) is kept; others are ignored. It returns the names of the
// witnesses whose co-signatures it kept; adding one again changes
// nothing.
func (s *Store) AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error) {
	if len(signed) > maxNote {
		return nil, fmt.Errorf("co-signature: %d bytes, over the limit of %d: %w", len(signed), maxNote, eventstore.ErrInvalid)
	}
	n, err := note.Open(signed, note.VerifierList(witnesses...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		return nil, fmt.Errorf("co-signature: %w", eventstore.ErrUnknownWitness)
	case err != nil:
		return nil, fmt.Errorf("co-signature: %v: %w", err, eventstore.ErrInvalid)
	}
	c, err := tlog.ParseBody([]byte(n.Text))
	if err != nil {
		return nil, fmt.Errorf("co-signature: %v: %w", err, eventstore.ErrInvalid)
	}
	var stored string
	err = s.db.QueryRow(ctx, `SELECT note FROM eventstore.tree_checkpoints WHERE size = $1`, int64(c.Size)).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !strings.HasPrefix(stored, n.Text+"\n") {
		return nil, fmt.Errorf("co-signature of the checkpoint of size %d: %w", c.Size, eventstore.ErrNotCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("co-signature: %w", err)
	}
	var names []string
	for _, sig := range n.Sigs {
		names = append(names, sig.Name)
		_, err := s.db.Exec(ctx, `INSERT INTO eventstore.cosignatures (size, witness, signature) VALUES ($1, $2, $3)
			ON CONFLICT (size, witness) DO NOTHING`, int64(c.Size), sig.Name, "\u2014 "+sig.Name+" "+sig.Base64)
		if err != nil {
			return nil, fmt.Errorf("co-signature: %w", err)
		}
	}
	return names, nil
}

// maxNote bounds a note taken in: a body and a few dozen signatures.
const maxNote = 16 << 10

// VerifierKey implements graph.Witnessed: the note verifier key of the
// log's checkpoints, under the origin they carry (or will carry).
func (s *Store) VerifierKey(ctx context.Context) (string, error) {
	if s.opts.SigningKey == nil {
		return "", errors.New("the log is not signed here: no signing key")
	}
	origin := s.opts.Origin
	if c, err := s.Checkpoint(ctx, 0); err != nil {
		return "", err
	} else if c != nil {
		origin = c.Origin
	}
	if origin == "" {
		origin = DefaultOrigin(s.opts.SigningKey.Public().(ed25519.PublicKey))
	}
	return tlog.VerifierKey(origin, s.opts.SigningKey.Public().(ed25519.PublicKey))
}

// RequestCheckpoint asks the leading sequencer, in whichever process, to
// sign the log as it stands, and waits (within ctx) for a checkpoint that
// covers the head as it was asked. It returns that checkpoint.
func (s *Store) RequestCheckpoint(ctx context.Context) (*eventstore.Checkpoint, error) {
	n, err := head(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if n == 0 {
		return nil, errors.New("checkpoint: the log is empty")
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for asked := false; ; {
		c, err := s.Checkpoint(ctx, 0)
		if err != nil {
			return nil, err
		}
		if c != nil && c.Size >= n {
			return c, nil
		}
		if !asked {
			if _, err := s.db.Exec(ctx, `SELECT pg_notify($1, '')`, channelCheckpoint); err != nil {
				return nil, fmt.Errorf("checkpoint: %w", err)
			}
			asked = true
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("checkpoint: no sequencer signed the log within the time allowed (is civic serve running with its signing key?): %w", ctx.Err())
		}
	}
}
