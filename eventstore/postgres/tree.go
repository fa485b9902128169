package postgres

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
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
// entries, the nodes in eventstore.tree; in one statement.
type reader struct{ q treeQuerier }

// errMissing is a reader's error for a leaf or node the store lacks.
var errMissing = errors.New("missing from the stored tree")

// Read implements tlog.Reader.
func (r reader) Read(ctx context.Context, indexes []uint64, ids []compact.NodeID) ([][]byte, [][]byte, error) {
	positions := make([]int64, len(indexes))
	for i, j := range indexes {
		positions[i] = int64(j) + 1
	}
	levels := make([]int16, len(ids))
	idx := make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idx[i] = int16(id.Level), int64(id.Index)
	}
	// Leaves come back as level 0, indexed by position.
	rows, err := r.q.Query(ctx, `
		SELECT 0::smallint, position, leaf FROM eventstore.log WHERE position = ANY($1)
		UNION ALL
		SELECT t.level, t.idx, t.hash FROM eventstore.tree t
		JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx) USING (level, idx)`, positions, levels, idx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the tree: %w", err)
	}
	leafAt := make(map[int64][]byte, len(positions))
	nodeAt := make(map[compact.NodeID][]byte, len(ids))
	var level int16
	var i int64
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&level, &i, &hash}, func() error {
		if level == 0 {
			leafAt[i] = hash
		} else {
			nodeAt[compact.NewNodeID(uint(level), uint64(i))] = hash
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("read the tree: %w", err)
	}
	leaves := make([][]byte, len(positions))
	for j, p := range positions {
		if leaves[j] = leafAt[p]; leaves[j] == nil {
			return nil, nil, fmt.Errorf("the leaf at position %d is %w", p, errMissing)
		}
	}
	nodes := make([][]byte, len(ids))
	for j, id := range ids {
		if nodes[j] = nodeAt[id]; nodes[j] == nil {
			return nil, nil, fmt.Errorf("the node over positions %d..%d is %w", id.Index<<id.Level+1, (id.Index+1)<<id.Level, errMissing)
		}
	}
	return leaves, nodes, nil
}

// beyond explains a proof that failed for want of a leaf or node: a tree
// larger than the log (ErrBeyondTree), or a stored tree with a hole.
func (s *Store) beyond(ctx context.Context, err error, what string, size int64) error {
	if !errors.Is(err, errMissing) {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, herr := head(ctx, s.db)
	if herr != nil {
		return fmt.Errorf("%s: %w", what, herr)
	}
	if size > n {
		return fmt.Errorf("%s: the tree of size %d is larger than the log, of %d entries: %w", what, size, n, ErrBeyondTree)
	}
	return fmt.Errorf("%s: %w (run civic verify)", what, err)
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

// InclusionProofs implements eventstore.Prover, with one read of the
// stored tree for all the positions together. A tree larger than the log
// is found by the leaves and nodes it lacks, so that the common case
// costs that one read.
func (s *Store) InclusionProofs(ctx context.Context, positions []int64, size int64) ([]eventstore.InclusionProof, error) {
	indexes := make([]uint64, len(positions))
	for i, p := range positions {
		if p < 1 || p > size {
			return nil, fmt.Errorf("inclusion proof of position %d in the tree of size %d: %w", p, size, ErrBeyondTree)
		}
		indexes[i] = uint64(p - 1)
	}
	leaves, hashes, err := tlog.InclusionProofs(ctx, reader{s.db}, indexes, uint64(size))
	if err != nil {
		return nil, s.beyond(ctx, err, "inclusion proof", size)
	}
	out := make([]eventstore.InclusionProof, len(positions))
	for i, p := range positions {
		out[i] = eventstore.InclusionProof{Position: p, TreeSize: size, LeafHash: leaves[i], Hashes: hashes[i]}
	}
	return out, nil
}

// ConsistencyProof implements eventstore.Prover, in one read.
func (s *Store) ConsistencyProof(ctx context.Context, size1, size2 int64) ([][]byte, error) {
	if size1 < 1 || size1 > size2 {
		return nil, fmt.Errorf("consistency proof from size %d to size %d: %w", size1, size2, ErrBeyondTree)
	}
	if size1 == size2 {
		// The empty proof reads nothing, so nothing shows the tree is
		// beyond the log: ask.
		if n, err := head(ctx, s.db); err != nil || size2 > n {
			return nil, s.beyond(ctx, errors.Join(errMissing, err), "consistency proof", size2)
		}
		return [][]byte{}, nil
	}
	p, err := tlog.ConsistencyProof(ctx, reader{s.db}, uint64(size1), uint64(size2))
	if err != nil {
		return nil, s.beyond(ctx, err, "consistency proof", size2)
	}
	return p, nil
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

// AddCosignatures records the co-signatures of witnesses on a checkpoint
// of the log: signed is the checkpoint's note, with the log's signature
// and any others, and each signature of a witness in witnesses (checked
// here) is kept; others are ignored. It returns the names of the
// witnesses whose co-signatures it kept; adding one again changes
// nothing.
func (s *Store) AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error) {
	c, err := tlog.OpenCosigned(signed, witnesses)
	if err != nil {
		return nil, err
	}
	var stored string
	err = s.db.QueryRow(ctx, `SELECT note FROM eventstore.tree_checkpoints WHERE size = $1`, int64(c.Size)).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !strings.HasPrefix(stored, c.Text+"\n") {
		return nil, fmt.Errorf("co-signature of the checkpoint of size %d: %w", c.Size, eventstore.ErrNotCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("co-signature: %w", err)
	}
	var names []string
	for name, line := range c.Lines {
		names = append(names, name)
		_, err := s.db.Exec(ctx, `INSERT INTO eventstore.cosignatures (size, witness, signature) VALUES ($1, $2, $3)
			ON CONFLICT (size, witness) DO NOTHING`, int64(c.Size), name, line)
		if err != nil {
			return nil, fmt.Errorf("co-signature: %w", err)
		}
	}
	slices.Sort(names)
	return names, nil
}

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
// covers it: every event committed when it was asked, those still waiting
// for their position included (an import just made, say). It returns that
// checkpoint.
func (s *Store) RequestCheckpoint(ctx context.Context) (*eventstore.Checkpoint, error) {
	st, err := s.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	n := st.Head + st.Pending
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
