package dense

import (
	"bytes"
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

// querier is what reads the tree: the pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// reader reads the stored tree (tlog.Reader): the leaves in the index,
// the nodes in ledger.tree, in one statement.
type reader struct{ q querier }

// errMissing is a reader's error for a leaf or node the index lacks: a
// tree larger than the log.
var errMissing = errors.New("missing from the stored tree")

// Read implements tlog.Reader.
func (r reader) Read(ctx context.Context, indexes []uint64, ids []compact.NodeID) ([][]byte, [][]byte, error) {
	positions := make([]int64, len(indexes))
	for i, j := range indexes {
		positions[i] = int64(j) + 1
	}
	levels, idx := make([]int16, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idx[i] = int16(id.Level), int64(id.Index)
	}
	rows, err := r.q.Query(ctx, `
		SELECT 0::smallint, position, leaf FROM ledger.entries WHERE position = ANY($1)
		UNION ALL
		SELECT t.level, t.idx, t.hash FROM ledger.tree t
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
	leaves, hashes, err := tlog.InclusionProofs(ctx, reader{s.db}, indexes, uint64(size))
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
	p, err := tlog.ConsistencyProof(ctx, reader{s.db}, uint64(size1), uint64(size2))
	if err != nil {
		return nil, beyond(err, "consistency proof", size2)
	}
	return p, nil
}

// Checkpoint implements eventstore.Prover: the latest signed checkpoint,
// or the one of size, with its witnesses' co-signatures; nil when there is
// none.
func (s *Store) Checkpoint(ctx context.Context, size int64) (*eventstore.Checkpoint, error) {
	var c eventstore.Checkpoint
	var sigs []string
	err := s.db.QueryRow(ctx, `
		SELECT c.size, c.root, c.signed_at, c.note,
			coalesce(array_agg(w.witness ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}'),
			coalesce(array_agg(w.signature ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}')
		FROM (SELECT * FROM ledger.checkpoints WHERE $1 = 0 OR size = $1 ORDER BY size DESC LIMIT 1) c
		LEFT JOIN ledger.cosignatures w ON w.size = c.size
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

// VerifierKey is the note verifier key of the log's checkpoints
// (Options.VerifierKey), for witnesses (graph.Witnessed).
func (s *Store) VerifierKey(ctx context.Context) (string, error) {
	if s.opts.VerifierKey == "" {
		return "", errors.New("the log is not signed here: no signing key")
	}
	return s.opts.VerifierKey, nil
}

// AddCosignatures keeps witnesses' co-signatures of one of the log's
// checkpoints (graph.Witnessed), as the PostgreSQL log does: each
// signature by one of witnesses is kept, others ignored; adding one again
// changes nothing. It returns the names of the witnesses kept.
func (s *Store) AddCosignatures(ctx context.Context, signed []byte, witnesses []note.Verifier) ([]string, error) {
	c, err := tlog.OpenCosigned(signed, witnesses)
	if err != nil {
		return nil, err
	}
	var stored string
	err = s.db.QueryRow(ctx, `SELECT note FROM ledger.checkpoints WHERE size = $1`, int64(c.Size)).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !strings.HasPrefix(stored, c.Text+"\n") {
		return nil, fmt.Errorf("co-signature of the checkpoint of size %d: %w", c.Size, eventstore.ErrNotCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("co-signature: %w", err)
	}
	var names []string
	for name, line := range c.Lines {
		names = append(names, name)
		if _, err := s.db.Exec(ctx, `INSERT INTO ledger.cosignatures (size, witness, signature) VALUES ($1, $2, $3)
			ON CONFLICT (size, witness) DO NOTHING`, int64(c.Size), name, line); err != nil {
			return nil, fmt.Errorf("co-signature: %w", err)
		}
	}
	slices.Sort(names)
	return names, nil
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
	rng, err := tlog.Range(ctx, reader{s.db}, uint64(from-1))
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
		root, err := tlog.RootAt(ctx, reader{s.db}, uint64(size))
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
