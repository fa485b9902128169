// Package pgtree is the Merkle tree of a log as PostgreSQL keeps it,
// shared by the two backends that keep one there: postgres (its own log)
// and dense (the index over KurrentDB). Both store the leaves beside their
// log's entries, every tlog.Stride-th level of nodes in a table of their
// own, signed checkpoints and witnesses' co-signatures; only the tables'
// names differ.
package pgtree

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// Querier is what reads and writes the tree: a pool, a connection or a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Tables names a backend's tables, schema-qualified: Leaves has columns
// position and leaf; Tree level, idx and hash; Checkpoints size, root,
// signed_at and note; Cosignatures size, witness and signature.
type Tables struct {
	Leaves, Tree, Checkpoints, Cosignatures string
}

// ErrMissing is a Reader's error for a leaf or node the tables lack: a
// tree larger than the log.
var ErrMissing = errors.New("missing from the stored tree")

// Reader reads the stored tree (tlog.Reader), leaves and nodes in one
// statement.
type Reader struct {
	Q Querier
	T Tables
}

// Read implements tlog.Reader.
func (r Reader) Read(ctx context.Context, indexes []uint64, ids []compact.NodeID) ([][]byte, [][]byte, error) {
	positions := make([]int64, len(indexes))
	for i, j := range indexes {
		positions[i] = int64(j) + 1
	}
	levels, idx := make([]int16, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idx[i] = int16(id.Level), int64(id.Index)
	}
	// Leaves come back as level 0, indexed by position.
	rows, err := r.Q.Query(ctx, `
		SELECT 0::smallint, position, leaf FROM `+r.T.Leaves+` WHERE position = ANY($1)
		UNION ALL
		SELECT t.level, t.idx, t.hash FROM `+r.T.Tree+` t
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
			return nil, nil, fmt.Errorf("the leaf at position %d is %w", p, ErrMissing)
		}
	}
	nodes := make([][]byte, len(ids))
	for j, id := range ids {
		if nodes[j] = nodeAt[id]; nodes[j] == nil {
			return nil, nil, fmt.Errorf("the node over positions %d..%d is %w", id.Index<<id.Level+1, (id.Index+1)<<id.Level, ErrMissing)
		}
	}
	return leaves, nodes, nil
}

// Checkpoint returns the latest signed checkpoint, or the one of size
// when size is above 0, with its witnesses' co-signatures after the log's
// signature; nil when there is none.
func Checkpoint(ctx context.Context, q Querier, t Tables, size int64) (*eventstore.Checkpoint, error) {
	var c eventstore.Checkpoint
	var sigs []string
	err := q.QueryRow(ctx, `
		SELECT c.size, c.root, c.signed_at, c.note,
			coalesce(array_agg(w.witness ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}'),
			coalesce(array_agg(w.signature ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}')
		FROM (SELECT * FROM `+t.Checkpoints+` WHERE $1 = 0 OR size = $1 ORDER BY size DESC LIMIT 1) c
		LEFT JOIN `+t.Cosignatures+` w ON w.size = c.size
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

// AddCosignatures records witnesses' co-signatures of one of the log's
// checkpoints: signed is the checkpoint's note with the log's signature
// and any others; each signature of one of witnesses is kept, others are
// ignored (tlog.OpenCosigned). A note that is not, word for word, a
// checkpoint the tables hold is eventstore.ErrNotCheckpoint. It returns
// the names of the witnesses kept, sorted; adding one again changes
// nothing.
func AddCosignatures(ctx context.Context, q Querier, t Tables, signed []byte, witnesses []note.Verifier) ([]string, error) {
	c, err := tlog.OpenCosigned(signed, witnesses)
	if err != nil {
		return nil, err
	}
	var stored string
	err = q.QueryRow(ctx, `SELECT note FROM `+t.Checkpoints+` WHERE size = $1`, int64(c.Size)).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !strings.HasPrefix(stored, c.Text+"\n") {
		return nil, fmt.Errorf("co-signature of the checkpoint of size %d: %w", c.Size, eventstore.ErrNotCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("co-signature: %w", err)
	}
	var names []string
	for name, line := range c.Lines {
		names = append(names, name)
		if _, err := q.Exec(ctx, `INSERT INTO `+t.Cosignatures+` (size, witness, signature) VALUES ($1, $2, $3)
			ON CONFLICT (size, witness) DO NOTHING`, int64(c.Size), name, line); err != nil {
			return nil, fmt.Errorf("co-signature: %w", err)
		}
	}
	slices.Sort(names)
	return names, nil
}
