package postgres

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/internal/pgtree"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"golang.org/x/mod/sumdb/note"
)

// treeQuerier is what reads the tree: the pool, a connection or a transaction.
type treeQuerier = pgtree.Querier

// tables are the log's tables of its tree.
var tables = pgtree.Tables{Leaves: "eventstore.log", Tree: "eventstore.tree",
	Checkpoints: "eventstore.tree_checkpoints", Cosignatures: "eventstore.cosignatures"}

// reader reads the stored tree (tlog.Reader): the leaves beside the log
// entries, the nodes in eventstore.tree; in one statement.
func reader(q treeQuerier) pgtree.Reader { return pgtree.Reader{Q: q, T: tables} }

// errMissing is a reader's error for a leaf or node the store lacks.
var errMissing = pgtree.ErrMissing

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
	leaves, hashes, err := tlog.InclusionProofs(ctx, reader(s.db), indexes, uint64(size))
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
	p, err := tlog.ConsistencyProof(ctx, reader(s.db), uint64(size1), uint64(size2))
	if err != nil {
		return nil, s.beyond(ctx, err, "consistency proof", size2)
	}
	return p, nil
}

// Checkpoint implements eventstore.Prover.
func (s *Store) Checkpoint(ctx context.Context, size int64) (*eventstore.Checkpoint, error) {
	return pgtree.Checkpoint(ctx, s.db, tables, size)
}

// AddCosignatures records the co-signatures of witnesses on a checkpoint
// of the log (see pgtree.AddCosignatures).
func (s *Store) AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error) {
	return pgtree.AddCosignatures(ctx, s.db, tables, signed, witnesses)
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
