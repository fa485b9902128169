package dense

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/internal/pgtree"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
)

// tables are the index's tables of its tree.
var tables = pgtree.Tables{Leaves: "ledger.entries", Tree: "ledger.tree",
	Checkpoints: "ledger.checkpoints", Cosignatures: "ledger.cosignatures"}

// reader reads the stored tree (tlog.Reader): the leaves in the index,
// the nodes in ledger.tree, in one statement.
func reader(q pgtree.Querier) pgtree.Reader { return pgtree.Reader{Q: q, T: tables} }

// errMissing is a reader's error for a leaf or node the index lacks: a
// tree larger than the log.
var errMissing = pgtree.ErrMissing

// beyond turns a read of a tree the index lacks into ErrBeyondTree.
func beyond(err error, what string, size int64) error {
	if errors.Is(err, errMissing) {
		return fmt.Errorf("%s in the tree of size %d: %w", what, size, eventstore.ErrBeyondTree)
	}
	return err
}

// InclusionProofs implements eventstore.Prover, with one read of the
// stored tree.
func (s *Store) InclusionProofs(ctx context.Context, positions []int64, size int64) ([]eventstore.InclusionProof, error) {
	indexes := make([]uint64, len(positions))
	for i, p := range positions {
		if p < 1 || p > size {
			return nil, fmt.Errorf("inclusion proof of position %d in the tree of size %d: %w", p, size, eventstore.ErrBeyondTree)
		}
		indexes[i] = uint64(p - 1)
	}
	leaves, hashes, err := tlog.InclusionProofs(ctx, reader(s.db), indexes, uint64(size))
	if err != nil {
		return nil, beyond(err, "inclusion proof", size)
	}
	out := make([]eventstore.InclusionProof, len(positions))
	for i, p := range positions {
		out[i] = eventstore.InclusionProof{Position: p, TreeSize: size, LeafHash: leaves[i], Hashes: hashes[i]}
	}
	return out, nil
}

// ConsistencyProof implements eventstore.Prover.
func (s *Store) ConsistencyProof(ctx context.Context, size1, size2 int64) ([][]byte, error) {
	if size1 < 1 || size1 > size2 {
		return nil, fmt.Errorf("consistency proof from size %d to size %d: %w", size1, size2, eventstore.ErrBeyondTree)
	}
	if size1 == size2 {
		if n, err := s.Head(ctx); err != nil || size2 > n {
			return nil, beyond(errors.Join(errMissing, err), "consistency proof", size2)
		}
		return [][]byte{}, nil
	}
	p, err := tlog.ConsistencyProof(ctx, reader(s.db), uint64(size1), uint64(size2))
	if err != nil {
		return nil, beyond(err, "consistency proof", size2)
	}
	return p, nil
}

// Checkpoint implements eventstore.Prover: the latest signed checkpoint,
// or the one of size, with its witnesses' co-signatures; nil when there is
// none.
func (s *Store) Checkpoint(ctx context.Context, size int64) (*eventstore.Checkpoint, error) {
	return pgtree.Checkpoint(ctx, s.db, tables, size)
}

// VerifierKey is the note verifier key of the log's checkpoints
// (Options.VerifierKey), for witnesses (graph.Witnessed).
func (s *Store) VerifierKey(ctx context.Context) (string, error) {
	if s.opts.VerifierKey == "" {
		return "", errors.New("the log is not signed here: no signing key")
	}
	return s.opts.VerifierKey, nil
}

// AddCosignatures keeps witnesses' co-signatures of one of the log's
// checkpoints (graph.Witnessed), as the PostgreSQL log does (see
// pgtree.AddCosignatures).
func (s *Store) AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error) {
	return pgtree.AddCosignatures(ctx, s.db, tables, signed, witnesses)
}

// Hashes implements eventstore.Auditor: the leaves the index holds.
func (s *Store) Hashes(ctx context.Context, positions []int64) (map[int64][]byte, error) {
	rows, err := s.db.Query(ctx, `SELECT position, leaf FROM ledger.entries WHERE position = ANY($1)`, positions)
	if err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	out := make(map[int64][]byte, len(positions))
	var pos int64
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&pos, &hash}, func() error {
		out[pos] = hash
		return nil
	}); err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	return out, nil
}

// CheckEvents implements eventstore.Auditor: each event's leaf,
// recomputed from it as read, against the index's; each stream's versions
// in sequence.
func (s *Store) CheckEvents(ctx context.Context, events []eventstore.Event) (map[int64][]byte, eventstore.Verification, error) {
	var v eventstore.Verification
	var positions []int64
	for _, e := range events {
		if e.Position > 0 {
			positions = append(positions, e.Position)
		}
	}
	stored, err := s.Hashes(ctx, positions)
	if err != nil {
		return nil, v, fmt.Errorf("check events: %w", err)
	}
	last := map[string]int64{}
	for i := range events {
		e := events[i]
		if prev, seen := last[e.Stream]; seen && e.Version != prev+1 && v.Intact() {
			v.FirstBad = e.Position
			v.Problem = fmt.Sprintf("%s version %d follows version %d: the events between were deleted", e.Stream, e.Version, prev)
		}
		last[e.Stream] = e.Version
		if e.Position == 0 {
			continue
		}
		if v.From == 0 || e.Position < v.From {
			v.From = e.Position
		}
		v.To = max(v.To, e.Position)
		v.Events++
		h, ok := stored[e.Position]
		e.Hash = nil
		switch {
		case !v.Intact():
		case !ok:
			v.FirstBad, v.Problem = e.Position, "the index has no entry at this position (deleted)"
		case !bytes.Equal(tlog.LeafHash(&e), h):
			v.FirstBad, v.Problem = e.Position, fmt.Sprintf("hash mismatch: %s version %d (%s) in the backend is not the event indexed", e.Stream, e.Version, e.ID)
		}
	}
	return stored, v, nil
}

// VerifyRange implements eventstore.Auditor: the backend's events over
// from..to rehashed against the index's leaves, the tree rebuilt from
// them against the stored nodes, and every signed checkpoint up to to
// checked with the Verifiers against the root the leaves give. It reads
// the events from the checkpoint before from (or the first), so that
// the tree over them is rebuilt whole.
func (s *Store) VerifyRange(ctx context.Context, from, to int64) (eventstore.Verification, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return eventstore.Verification{}, err
	}
	from, to = max(from, 1), min(to, head)
	if to == 0 {
		to = head
	}
	v := eventstore.Verification{From: from, To: to}
	if from > to {
		return v, nil
	}
	// The tree up to from-1 from the stored nodes: it is checked against
	// the stored nodes as it grows, and against the checkpoints.
	rng, err := tlog.Range(ctx, reader(s.db), uint64(from-1))
	if err != nil {
		return v, fmt.Errorf("verify: the tree before %d: %w", from, err)
	}
	tree, err := tlog.TreeFrom(rng)
	if err != nil {
		return v, err
	}
	cps, badAt, problem, err := s.checkpoints(ctx, to)
	if err != nil {
		return v, err
	}
	if badAt > 0 {
		v.FirstBad, v.Problem = badAt, problem
		return v, nil
	}
	stored := map[[2]int64][]byte{}
	rows, err := s.db.Query(ctx, `SELECT level, idx, hash FROM ledger.tree WHERE (idx + 1) << level::int > $1 - 1 AND idx << level::int < $2`, from, to)
	if err != nil {
		return v, fmt.Errorf("verify: read the tree: %w", err)
	}
	var level int16
	var idx int64
	var hash []byte
	if _, err := pgx.ForEachRow(rows, []any{&level, &idx, &hash}, func() error {
		stored[[2]int64{int64(level), idx}] = hash
		return nil
	}); err != nil {
		return v, fmt.Errorf("verify: read the tree: %w", err)
	}
	bad := func(at int64, problem string) (eventstore.Verification, error) {
		v.FirstBad, v.Problem = at, problem
		return v, nil
	}
	for pos := from - 1; pos < to; {
		events, err := s.ReadAll(ctx, pos, min(eventstore.MaxReadLimit, 10_000))
		var dv *DivergedError
		if errors.As(err, &dv) {
			return bad(dv.Position, dv.Error())
		}
		if err != nil {
			return v, fmt.Errorf("verify: read after %d: %w", pos, err)
		}
		if len(events) == 0 {
			return bad(pos+1, "the index ends before the range does")
		}
		for i := range events {
			e := events[i]
			if e.Position > to {
				break
			}
			leaf := e.Hash
			e.Hash = nil
			if !bytes.Equal(tlog.LeafHash(&e), leaf) {
				return bad(e.Position, fmt.Sprintf("hash mismatch: %s version %d (%s) in the backend is not the event indexed", e.Stream, e.Version, e.ID))
			}
			var wrong string
			if err := tree.Append(leaf, func(nd tlog.Node) {
				if h, ok := stored[[2]int64{int64(nd.Level), int64(nd.Index)}]; !ok || !bytes.Equal(h, nd.Hash) {
					wrong = fmt.Sprintf("the stored tree node at level %d, index %d is not the hash of the leaves under it", nd.Level, nd.Index)
				}
			}); err != nil {
				return v, err
			}
			if wrong != "" {
				return bad(e.Position, wrong)
			}
			v.Events++
			if c, ok := cps[e.Position]; ok {
				root, err := tree.Root()
				if err != nil {
					return v, err
				}
				if !bytes.Equal(root, c.Root) {
					return bad(e.Position, fmt.Sprintf("the signed checkpoint of size %d has another root than the leaves give", e.Position))
				}
				v.Checkpoints++
			}
			pos = e.Position
		}
	}
	return v, nil
}

// checkpoints returns the log's checkpoints of sizes up to to, each
// signature checked with the Verifiers and each linked to the one before
// it (its previous line names that one's size and body hash), so that
// none was deleted, replaced or slipped in between. What is wrong is a
// finding, not an error: the size where it is, and what.
func (s *Store) checkpoints(ctx context.Context, to int64) (map[int64]tlog.Checkpoint, int64, string, error) {
	rows, err := s.db.Query(ctx, `SELECT size, note FROM ledger.checkpoints WHERE size <= $1 ORDER BY size`, to)
	if err != nil {
		return nil, 0, "", fmt.Errorf("verify: read the checkpoints: %w", err)
	}
	out := map[int64]tlog.Checkpoint{}
	var size, badAt, prevSize int64
	var note, problem string
	var prevHash []byte
	if _, err := pgx.ForEachRow(rows, []any{&size, &note}, func() error {
		if badAt > 0 {
			return nil
		}
		c, _, err := tlog.Open([]byte(note), s.opts.Origin, s.opts.Verifiers)
		switch {
		case err != nil:
			badAt, problem = size, fmt.Sprintf("the checkpoint of size %d is not the log's: %v", size, err)
		case int64(c.Size) != size:
			badAt, problem = size, fmt.Sprintf("the checkpoint stored at size %d signs size %d", size, c.Size)
		case int64(c.PreviousSize) != prevSize || !bytes.Equal(c.PreviousHash, prevHash):
			badAt, problem = size, fmt.Sprintf("the checkpoint of size %d follows the one of size %d, not the %d stored before it: a checkpoint was deleted or replaced", size, c.PreviousSize, prevSize)
		default:
			out[size] = c
			prevSize, prevHash = size, tlog.BodyHash(c.Body())
		}
		return nil
	}); err != nil {
		return nil, 0, "", fmt.Errorf("verify: read the checkpoints: %w", err)
	}
	return out, badAt, problem, nil
}

// CheckOutside holds the log to signed checkpoints kept outside it (a
// witness's directory, an auditor's files), as civic verify --against
// does over PostgreSQL: each must be signed with the log's keys
// (Verifiers), and be the log's own checkpoint of its size word for word,
// over the tree the index holds. names name them in what it reports. An
// outside checkpoint not signed by the log is an error; one the log does
// not agree with is the Verification's finding.
func (s *Store) CheckOutside(ctx context.Context, notes [][]byte, names []string) (eventstore.Verification, error) {
	var v eventstore.Verification
	head, err := s.Head(ctx)
	if err != nil {
		return v, err
	}
	for i, text := range notes {
		name := fmt.Sprintf("outside checkpoint %d", i+1)
		if i < len(names) {
			name = names[i]
		}
		c, n, err := tlog.Open(text, s.opts.Origin, s.opts.Verifiers)
		if err != nil {
			return v, fmt.Errorf("%s: %w", name, err)
		}
		size := int64(c.Size)
		v.Checkpoints++
		if size > head {
			v.FirstBad, v.Problem = head+1, fmt.Sprintf("the log ends at position %d, but %s shows it held %d entries: entries were deleted from its end", head, name, size)
			return v, nil
		}
		var stored string
		err = s.db.QueryRow(ctx, `SELECT note FROM ledger.checkpoints WHERE size = $1`, size).Scan(&stored)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			v.FirstBad, v.Problem = size, fmt.Sprintf("the log signed a checkpoint of size %d (%s) that the index does not hold (deleted)", size, name)
			return v, nil
		case err != nil:
			return v, fmt.Errorf("%s: %w", name, err)
		case !strings.HasPrefix(stored, n.Text+"\n"):
			v.FirstBad, v.Problem = size, fmt.Sprintf("the index's checkpoint of size %d is not the one the log signed (%s): replaced", size, name)
			return v, nil
		}
		root, err := tlog.RootAt(ctx, reader(s.db), uint64(size))
		if err != nil {
			return v, fmt.Errorf("%s: the tree at %d: %w", name, size, err)
		}
		if !bytes.Equal(root, c.Root) {
			v.FirstBad, v.Problem = size, fmt.Sprintf("the stored tree at size %d is not the one %s signed: rewritten", size, name)
			return v, nil
		}
	}
	return v, nil
}
