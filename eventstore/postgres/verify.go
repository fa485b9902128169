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
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// VerifyOptions selects what Verify checks and what it trusts.
type VerifyOptions struct {
	// From and To bound the positions checked; 0 means the first and the
	// last. The walk starts at the last signed checkpoint before From,
	// whose tree the stored nodes must rebuild.
	From, To int64
	// Keys are the public keys trusted to sign the log's checkpoints, all
	// under Origin. A checkpoint signed by any other key is a failure.
	Keys []ed25519.PublicKey
	// Origin is the log's name in its checkpoints; "" means the name its
	// first checkpoint gives, or the first key's default (DefaultOrigin).
	Origin string
	// Witnesses verify co-signatures; those of other witnesses are
	// neither counted nor held against the log.
	Witnesses []note.Verifier
	// Against are signed checkpoints kept outside the database (by a
	// witness, or an auditor who saved one): the log must still hold each
	// one's tree. One not signed by Keys, or malformed, is an error, which
	// names it by AgainstNames (its file) when given.
	Against      [][]byte
	AgainstNames []string
	// Every is the most entries the log leaves without a checkpoint (the
	// server's CheckpointEvery, 1000); more at the log's end is broken.
	Every int64
	// Stale is how long an entry may stay without a checkpoint before the
	// log counts as broken (1 minute; the server signs within a second).
	Stale time.Duration
	// Now is the time the entries' age is measured at (time.Now).
	Now time.Time
}

// Report is the outcome of Verify.
type Report struct {
	From, To int64 // the positions checked
	Events   int64 // log entries whose leaf and chain link were recomputed
	// Checkpoints is how many of the log's checkpoints verified: their
	// signature, their link to the one before, and their root against
	// the tree rebuilt from the events. Outside is how many of the
	// checkpoints given in VerifyOptions.Against agree with the log, and
	// Cosignatures how many witnesses' co-signatures verified.
	Checkpoints, Outside, Cosignatures int
	// Latest is the size of the latest checkpoint that verified, and
	// LatestAt when it was signed.
	Latest   int64
	LatestAt time.Time
	// FirstBad is the first position that cannot be trusted, 0 when all
	// is intact; Problem says what is wrong.
	FirstBad int64
	Problem  string
}

// OK reports whether the range verified intact.
func (r *Report) OK() bool { return r.FirstBad == 0 }

// String summarises the report in one line, as civic verify prints it.
func (r *Report) String() string {
	if !r.OK() {
		return fmt.Sprintf("log broken: position %d onwards cannot be trusted: %s", r.FirstBad, r.Problem)
	}
	s := fmt.Sprintf("log intact: positions %d..%d, %d events hashed, %d checkpoints verified", r.From, r.To, r.Events, r.Checkpoints)
	if r.Latest > 0 {
		s += fmt.Sprintf(" (the latest of size %d, signed %s)", r.Latest, r.LatestAt.UTC().Format(time.RFC3339))
	}
	if r.Cosignatures > 0 {
		s += fmt.Sprintf(", %d witness co-signatures", r.Cosignatures)
	}
	if r.Outside > 0 {
		s += fmt.Sprintf(", %d outside checkpoints agree", r.Outside)
	}
	return s
}

// signed is a checkpoint Verify weighs: one of the log's own, or one
// from outside.
type signed struct {
	tlog.Checkpoint
	name    string // how the report names it
	outside bool
	body    []byte // the signed text, which the next checkpoint links to
	valid   bool   // signature and form hold
	matched bool   // its root is the tree's, rebuilt from the events
	faulty  bool   // a problem was found with it
}

// finding is a problem found: either at a position (an entry that is
// wrong), or with a checkpoint, which makes every position after the last
// good checkpoint before it untrustworthy.
type finding struct {
	position int64 // the entry, or the size of the checkpoint concerned
	evidence bool  // about a checkpoint, not an entry
	tail     bool  // about the log's unsigned end: position is its start
	problem  string
}

// Verify checks the log the way an auditor who trusts nothing in the
// database would. From the events alone it recomputes every entry's leaf
// hash and chain link, the Merkle tree over them and each checkpoint's
// root; it checks each checkpoint's signature with Keys and its link to
// the one before, so none can be deleted between two others unseen; it
// holds the log to its signing rhythm, so entries long left unsigned at
// its end (checkpoints deleted, or an end truncated and re-grown) are
// reported; it checks the checkpoints kept outside (Against), which catch
// what a superuser can do to the database alone (delete its last
// checkpoints and truncate, or restore an older backup). It also checks
// that positions are contiguous, stream versions ascend by one, every log
// entry has its event and no event sits unlogged in history.
//
// It reads only, in one snapshot. It returns an error when it cannot do
// its work or an outside checkpoint is not a valid one of the log, and
// otherwise a Report naming the first position that cannot be trusted.
func Verify(ctx context.Context, db *pgxpool.Pool, opts VerifyOptions) (*Report, error) {
	if opts.From < 0 || opts.To < 0 || opts.To > 0 && opts.From > opts.To {
		return nil, fmt.Errorf("verify: range %d..%d: want 0 <= from <= to", opts.From, opts.To)
	}
	if opts.Every <= 0 {
		opts.Every = 1000
	}
	if opts.Stale <= 0 {
		opts.Stale = time.Minute
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	// One snapshot for the whole check, so appends running meanwhile
	// cannot look like tampering.
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer tx.Rollback(context.Background())

	v := &verification{opts: opts, tx: tx, at: map[int64][]*signed{}, versions: map[string]int64{}}
	h, err := head(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r := &v.r
	r.From, r.To = max(opts.From, 1), opts.To
	if r.To == 0 || r.To > h {
		r.To = h
	}
	whole := opts.To == 0 || opts.To >= h // the check reaches the log's end
	if err := v.loadOwn(ctx); err != nil {
		return nil, err
	}
	if err := v.loadLegacy(ctx); err != nil {
		return nil, err
	}
	for i, text := range opts.Against {
		if err := v.addOutside(i, text, h); err != nil {
			return nil, err
		}
	}
	v.checkLinks()
	if whole {
		v.beyondHead(h)
		for p := range v.legacy {
			if p > h {
				v.evidence(nil, h+1, fmt.Sprintf("the log ends at position %d, but the chain's checkpoint at %d was signed: entries were deleted from its end", h, p))
				break
			}
		}
	}
	if h > 0 && r.From <= r.To {
		if err := v.walk(ctx, r.From, r.To); err != nil {
			return nil, err
		}
		if err := v.findOrphans(ctx); err != nil {
			return nil, err
		}
	} else {
		r.From = 0
	}
	// The log's end is judged only when the walk reached it.
	if whole && v.pos == h {
		if err := v.expectations(ctx, h); err != nil {
			return nil, err
		}
	}
	v.resolve(whole)
	return r, nil
}

// verification is one run of Verify.
type verification struct {
	opts      VerifyOptions
	tx        pgx.Tx
	verifiers []note.Verifier
	r         Report
	own       []*signed           // the log's checkpoints, by size
	at        map[int64][]*signed // every checkpoint, own and outside, by size
	// legacy are the chain's checkpoints signed before the tree, by
	// position.
	legacy   map[int64]*legacyCheckpoint
	findings []finding

	// The walk: where it stands.
	tree      *tlog.Tree
	chain     []byte
	pos       int64
	last      *tid             // the last entry's, nil before the first
	versions  map[string]int64 // stream -> last version seen
	fromStart bool             // the walk began at position 1, so streams start at version 1
	nodes     []tlog.Node      // the stored nodes the current page completes
}

func (v *verification) entry(pos int64, problem string) {
	v.findings = append(v.findings, finding{position: pos, problem: problem})
}

func (v *verification) evidence(c *signed, size int64, problem string) {
	if c != nil {
		c.faulty = true
	}
	v.findings = append(v.findings, finding{position: size, evidence: true, problem: problem})
}

// loadOwn reads the log's checkpoints and checks each one's signature,
// its row against its note, and its witnesses' co-signatures.
func (v *verification) loadOwn(ctx context.Context) error {
	type row struct {
		size   int64
		root   []byte
		text   string
		cosigs []string
	}
	rows, err := v.tx.Query(ctx, `
		SELECT c.size, c.root, c.note, coalesce(array_agg(w.signature ORDER BY w.witness) FILTER (WHERE w.witness IS NOT NULL), '{}')
		FROM eventstore.tree_checkpoints c LEFT JOIN eventstore.cosignatures w ON w.size = c.size
		GROUP BY c.size ORDER BY c.size`)
	if err != nil {
		return fmt.Errorf("verify: checkpoints: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.size, &x.root, &x.text, &x.cosigs)
	})
	if err != nil {
		return fmt.Errorf("verify: checkpoints: %w", err)
	}
	if len(all) > 0 && len(v.opts.Keys) == 0 {
		return errors.New("verify: no public key to check checkpoint signatures against: configure the signing key or trusted keys")
	}
	// The log's name: as configured, or as its first checkpoint gives it
	// (a name binds nothing the key does not: a note of another origin
	// still fails, since the key signed it under its own name).
	switch {
	case v.opts.Origin != "":
	case len(all) > 0:
		v.opts.Origin = tlog.Origin([]byte(all[0].text))
	case len(v.opts.Keys) > 0:
		v.opts.Origin = DefaultOrigin(v.opts.Keys[0])
	}
	for _, k := range v.opts.Keys {
		nv, err := tlog.NewVerifier(v.opts.Origin, k)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		v.verifiers = append(v.verifiers, nv)
	}
	for _, x := range all {
		c := &signed{name: fmt.Sprintf("the checkpoint of size %d", x.size)}
		c.Size = uint64(x.size)
		v.own = append(v.own, c)
		v.at[x.size] = append(v.at[x.size], c)
		body, _, _ := strings.Cut(x.text, "\n\n")
		c.body = []byte(body + "\n")
		opened, _, err := tlog.Open([]byte(x.text), v.opts.Origin, v.verifiers)
		switch {
		case errors.Is(err, tlog.ErrUntrusted):
			v.evidence(c, x.size, fmt.Sprintf("%s is not signed by a trusted key of log %s (forged, or signed with a key verify was not given)", c.name, v.opts.Origin))
			continue
		case err != nil:
			v.evidence(c, x.size, fmt.Sprintf("%s: %v", c.name, err))
			continue
		}
		if opened.Size != uint64(x.size) || !bytes.Equal(opened.Root, x.root) {
			v.evidence(c, x.size, fmt.Sprintf("%s: its row's size or root differs from its signed note (altered)", c.name))
			continue
		}
		c.Checkpoint, c.valid = opened, true
		for _, line := range x.cosigs {
			v.checkCosignature(c, line)
		}
	}
	return nil
}

// legacyCheckpoint is a checkpoint of the chain signed before the tree
// (eventstore.chain_checkpoints).
type legacyCheckpoint struct {
	hash      []byte
	signedAt  time.Time
	keyID     string
	signature []byte
	good      bool // its signature holds and the chain has its hash
}

// loadLegacy reads the chain's checkpoints signed before the tree.
func (v *verification) loadLegacy(ctx context.Context) error {
	rows, err := v.tx.Query(ctx, `SELECT position, hash, signed_at, key_id, signature FROM eventstore.chain_checkpoints`)
	if err != nil {
		return fmt.Errorf("verify: the chain's checkpoints: %w", err)
	}
	v.legacy = map[int64]*legacyCheckpoint{}
	var pos int64
	var c legacyCheckpoint
	_, err = pgx.ForEachRow(rows, []any{&pos, &c.hash, &c.signedAt, &c.keyID, &c.signature}, func() error {
		lc := c
		v.legacy[pos] = &lc
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: the chain's checkpoints: %w", err)
	}
	if len(v.legacy) > 0 && len(v.opts.Keys) == 0 {
		return errors.New("verify: no public key to check checkpoint signatures against: configure the signing key or trusted keys")
	}
	return nil
}

// checkLegacy checks a chain checkpoint signed before the tree against
// the chain's link at its position.
func (v *verification) checkLegacy(lc *legacyCheckpoint, chain []byte) {
	pos := v.pos
	var key ed25519.PublicKey
	for _, k := range v.opts.Keys {
		if KeyID(k) == lc.keyID {
			key = k
		}
	}
	switch {
	case key == nil:
		v.evidence(nil, pos, fmt.Sprintf("the chain's checkpoint at %d is signed by key %s, which is not trusted", pos, lc.keyID))
	case !ed25519.Verify(key, eventstore.LegacyCheckpointMessage(pos, lc.hash, lc.signedAt), lc.signature):
		v.evidence(nil, pos, fmt.Sprintf("the chain's checkpoint at %d: its signature does not verify (altered)", pos))
	case !bytes.Equal(lc.hash, chain):
		v.evidence(nil, pos, fmt.Sprintf("the hash chain at %d differs from the one signed in the chain's checkpoint there (history was rewritten)", pos))
	default:
		lc.good = true
	}
}

// checkCosignature checks a witness's signature line on c.
func (v *verification) checkCosignature(c *signed, line string) {
	if len(v.opts.Witnesses) == 0 {
		return
	}
	_, err := note.Open(append(append(bytes.Clone(c.body), '\n'), line+"\n"...), note.VerifierList(v.opts.Witnesses...))
	var unknown *note.UnverifiedNoteError
	switch {
	case err == nil:
		v.r.Cosignatures++
	case errors.As(err, &unknown):
		// A witness verify was not told of.
	default:
		v.evidence(c, int64(c.Size), fmt.Sprintf("a witness's co-signature of %s does not verify (forged or altered): %v", c.name, err))
	}
}

// addOutside takes in the i'th checkpoint of VerifyOptions.Against.
func (v *verification) addOutside(i int, text []byte, head int64) error {
	opened, n, err := tlog.Open(text, v.opts.Origin, v.verifiers)
	if err != nil {
		name := fmt.Sprintf("outside checkpoint %d", i+1)
		if i < len(v.opts.AgainstNames) {
			name = v.opts.AgainstNames[i]
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	size := int64(opened.Size)
	c := &signed{Checkpoint: opened, outside: true, valid: true, body: []byte(n.Text),
		name: fmt.Sprintf("the outside checkpoint of size %d", size)}
	if size > head {
		v.evidence(c, head+1, fmt.Sprintf("the log ends at position %d, but %s shows it held %d entries: entries were deleted from its end", head, c.name, size))
		return nil
	}
	// Every checkpoint the log signs is in the database from the moment
	// anyone can see it (it is written in the batch it signs), so one
	// from outside must be there too, word for word.
	var own *signed
	for _, o := range v.at[size] {
		if !o.outside {
			own = o
		}
	}
	switch {
	case own == nil:
		v.evidence(nil, size, fmt.Sprintf("the log signed a checkpoint of size %d (given from outside) that the database does not hold (deleted)", size))
	case !bytes.Equal(own.body, c.body):
		v.evidence(own, size, fmt.Sprintf("the database's checkpoint of size %d is not the one the log signed (given from outside): replaced", size))
	}
	v.at[size] = append(v.at[size], c)
	return nil
}

// beyondHead reports the log's own checkpoints of trees larger than the
// log: its end was deleted.
func (v *verification) beyondHead(head int64) {
	for _, c := range v.own {
		if c.valid && int64(c.Size) > head {
			v.evidence(c, head+1, fmt.Sprintf("the log ends at position %d, but %s was signed: entries were deleted from its end", head, c.name))
			return
		}
	}
}

// checkLinks checks that each of the log's checkpoints names the one
// before it, so none was deleted, replaced or slipped in between.
func (v *verification) checkLinks() {
	bySize := make(map[uint64]*signed, len(v.own))
	for _, c := range v.own {
		bySize[c.Size] = c
	}
	for i, c := range v.own {
		if !c.valid {
			continue
		}
		var prev *signed
		if i > 0 {
			prev = v.own[i-1]
		}
		switch {
		case c.PreviousHash == nil && prev != nil:
			v.evidence(c, int64(c.Size), fmt.Sprintf("%s names no checkpoint before it, yet the one of size %d precedes it", c.name, prev.Size))
		case c.PreviousHash == nil:
		case bySize[c.PreviousSize] == nil:
			v.evidence(c, int64(c.PreviousSize), fmt.Sprintf("the checkpoint of size %d is missing (deleted): %s follows it", c.PreviousSize, c.name))
		case prev.Size != c.PreviousSize:
			v.evidence(prev, int64(prev.Size), fmt.Sprintf("%s is not in the log's sequence of checkpoints: %s follows the one of size %d", prev.name, c.name, c.PreviousSize))
		case !bytes.Equal(tlog.BodyHash(prev.body), c.PreviousHash):
			v.evidence(prev, int64(prev.Size), fmt.Sprintf("%s is not the one %s follows (replaced)", prev.name, c.name))
		case int64(c.Size-c.PreviousSize) > v.opts.Every:
			// The server signs every Every entries; a longer stretch means
			// the checkpoints within it were deleted and the log signed
			// again from the stored tree, which the stretch's entries may
			// have been rewritten in (or it ran without its key).
			v.evidence(nil, int64(c.Size), fmt.Sprintf("%d entries lie between the checkpoint of size %d and %s, more than the %d the log is signed every: checkpoints between were deleted (or the log was kept without its signing key)",
				c.Size-c.PreviousSize, c.PreviousSize, c.name, v.opts.Every))
		}
	}
}

// verifyPage is how many entries the walk reads at once.
const verifyPage = 10_000

// walk recomputes the log from..to: from position 1, or from the last
// valid checkpoint before from whose tree the stored nodes rebuild.
func (v *verification) walk(ctx context.Context, from, to int64) error {
	start := int64(1)
	v.tree = tlog.NewTree()
	for i := len(v.own) - 1; i >= 0 && from > 1; i-- {
		c := v.own[i]
		if !c.valid || c.faulty || int64(c.Size) >= from {
			continue
		}
		rng, err := tlog.Range(ctx, reader(v.tx), c.Size)
		if err != nil {
			break
		}
		if root, err := rng.GetRootHash(nil); err != nil || !bytes.Equal(root, c.Root) {
			break // the stored nodes are not the signed tree: walk it all
		}
		if v.tree, err = tlog.TreeFrom(rng); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		start, v.chain, c.matched = int64(c.Size)+1, c.Chain, true
		break
	}
	v.fromStart, v.pos = start == 1, start-1
	for page := start; page <= to; page += verifyPage {
		end := min(page+verifyPage-1, to)
		stop, err := v.walkPage(ctx, page, end)
		if err != nil {
			return err
		}
		if err := v.checkNodes(ctx); err != nil {
			return err
		}
		if stop {
			return nil
		}
		if v.pos < end {
			v.entry(v.pos+1, fmt.Sprintf("position %d is missing from the log (deleted)", v.pos+1))
			return nil
		}
	}
	return nil
}

// walkPage checks the entries from..to; it reports whether it found one
// wrong, where the walk stops.
func (v *verification) walkPage(ctx context.Context, from, to int64) (bool, error) {
	rows, err := v.tx.Query(ctx, `
		SELECT l.position, l.epoch, l.tx::text, l.seq, l.leaf, e.event_id, e.stream_id, e.version, e.type,
		       e.schema_version, e.occurred_at, e.recorded_at, e.data::text,
		       e.actor, e.role, e.correlation_id, e.causation_id, e.command_id
		FROM (SELECT * FROM eventstore.log WHERE position >= $1 AND position <= $2) l
		LEFT JOIN LATERAL (SELECT * FROM eventstore.events e WHERE e.epoch = l.epoch AND e.tx = l.tx AND e.seq = l.seq) e ON true
		ORDER BY l.position`, from, to)
	if err != nil {
		return false, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pos, seq         int64
			txText           string
			epoch            int32
			leaf             []byte
			id               *[16]byte
			stream, typ      *string
			version          *int64
			sv               *int
			occurred, record *time.Time
			data             []byte
			meta             [5]*string // NULL when the event row is missing
		)
		if err := rows.Scan(&pos, &epoch, &txText, &seq, &leaf, &id, &stream, &version, &typ, &sv, &occurred, &record, &data,
			&meta[0], &meta[1], &meta[2], &meta[3], &meta[4]); err != nil {
			return false, fmt.Errorf("verify: %w", err)
		}
		if id == nil {
			v.entry(pos, "the event row of this log entry is missing (deleted)")
			return true, nil
		}
		e := eventstore.Event{ID: *id, Stream: *stream, Version: *version, Type: *typ, SchemaVersion: *sv,
			OccurredAt: *occurred, RecordedAt: *record, Data: data, Position: pos,
			Metadata: eventstore.Metadata{Actor: *meta[0], Role: *meta[1], CorrelationID: *meta[2], CausationID: *meta[3], CommandID: *meta[4]}}
		t, err := parseTid(epoch, txText, seq)
		if err != nil {
			return false, fmt.Errorf("verify: %w", err)
		}
		if !v.check(pos, t, leaf, &e) {
			return true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("verify: %w", err)
	}
	return false, nil
}

// check checks one entry and the checkpoints of the tree it completes.
func (v *verification) check(pos int64, t tid, storedLeaf []byte, e *eventstore.Event) bool {
	if pos != v.pos+1 {
		v.entry(v.pos+1, fmt.Sprintf("position %d is missing from the log (deleted); the next entry is %d", v.pos+1, pos))
		return false
	}
	if v.last != nil && !v.last.less(t) {
		v.entry(pos, "log entries are out of (transaction, sequence) order (moved or inserted)")
		return false
	}
	chain := eventstore.ChainHash(v.chain, e)
	leaf := tlog.LeafHash(e)
	if !bytes.Equal(leaf, storedLeaf) {
		v.entry(pos, fmt.Sprintf("hash mismatch: %s version %d (%s) was altered, or its log entry was", e.Stream, e.Version, e.ID))
		return false
	}
	if last, seen := v.versions[e.Stream]; (seen || v.fromStart) && e.Version != last+1 {
		v.entry(pos, fmt.Sprintf("%s version %d follows version %d", e.Stream, e.Version, last))
		return false
	}
	if err := v.tree.Append(leaf, func(n tlog.Node) { v.nodes = append(v.nodes, n) }); err != nil {
		v.entry(pos, fmt.Sprintf("the tree cannot take this entry: %v", err))
		return false
	}
	v.versions[e.Stream] = e.Version
	v.chain, v.pos, v.last = chain, pos, &t
	v.r.Events++
	if lc := v.legacy[pos]; lc != nil {
		v.checkLegacy(lc, chain)
	}
	if cps := v.at[pos]; len(cps) > 0 {
		root, err := v.tree.Root()
		if err != nil {
			v.entry(pos, fmt.Sprintf("the tree has no root here: %v", err))
			return false
		}
		for _, c := range cps {
			switch {
			case !c.valid:
			case !bytes.Equal(root, c.Root):
				v.evidence(c, pos, fmt.Sprintf("the tree rebuilt from the events up to %d differs from the one signed in %s (history was rewritten)", pos, c.name))
			case c.Chain != nil && !bytes.Equal(chain, c.Chain):
				v.evidence(c, pos, fmt.Sprintf("the hash chain at %d differs from the link signed in %s (history was rewritten)", pos, c.name))
			default:
				c.matched = true
			}
		}
	}
	return true
}

// checkNodes compares the stored nodes of the tree with those the walk
// rebuilt: proofs are served from them, so a changed or missing one
// would make a proof fail, or vouch for a rewritten history. A node is
// missing legitimately only where no tree checkpoint covers it yet: a log
// from before the tree has its nodes made by the first sequencer to lead
// after the upgrade, and every checkpoint since is written with the nodes
// under it.
func (v *verification) checkNodes(ctx context.Context) error {
	defer func() { v.nodes = v.nodes[:0] }()
	if len(v.nodes) == 0 {
		return nil
	}
	var signedUpTo uint64
	for _, c := range v.own {
		if c.valid {
			signedUpTo = max(signedUpTo, c.Size)
		}
	}
	ids := make([]compact.NodeID, len(v.nodes))
	for i, n := range v.nodes {
		ids[i] = compact.NewNodeID(n.Level, n.Index)
	}
	_, stored, err := reader(v.tx).Read(ctx, nil, ids)
	if err != nil && !errors.Is(err, errMissing) {
		return fmt.Errorf("verify: %w", err)
	}
	for i, n := range v.nodes {
		first, last := n.Index<<n.Level+1, (n.Index+1)<<n.Level
		var hash []byte
		if err == nil {
			hash = stored[i]
		} else if _, one, err := reader(v.tx).Read(ctx, nil, ids[i:i+1]); err == nil {
			hash = one[0]
		} else if !errors.Is(err, errMissing) {
			return fmt.Errorf("verify: %w", err)
		}
		switch {
		case hash == nil && last <= signedUpTo:
			v.entry(int64(first), fmt.Sprintf("the tree's node over positions %d..%d is missing (deleted)", first, last))
			return nil
		case hash != nil && !bytes.Equal(hash, n.Hash):
			v.entry(int64(first), fmt.Sprintf("the tree's stored node over positions %d..%d differs from the one rebuilt from the events (altered)", first, last))
			return nil
		}
	}
	return nil
}

// expectations holds the log's end to the rhythm the server signs at:
// a checkpoint at least every Every entries and within a second of any
// entry. Entries past the last checkpoint beyond those bounds mean
// checkpoints were deleted (or the server ran without its key, or
// stopped uncleanly and has not started since).
func (v *verification) expectations(ctx context.Context, head int64) error {
	var last *signed
	for _, c := range v.own {
		if c.valid && !c.faulty && c.matched {
			last = c
		}
	}
	covered := int64(0)
	if last != nil {
		covered = int64(last.Size)
	}
	for p, lc := range v.legacy {
		if lc.good && p > covered {
			covered = p
		}
	}
	// A checkpoint kept outside vouches for the entries it covers too.
	for size, cs := range v.at {
		for _, c := range cs {
			if c.outside && c.matched && !c.faulty && size > covered {
				covered = size
			}
		}
	}
	if head <= covered {
		return nil
	}
	what := "no checkpoint covers the log"
	if covered > 0 {
		what = fmt.Sprintf("positions %d..%d are covered by no checkpoint", covered+1, head)
	}
	if n := head - covered; n > v.opts.Every {
		v.findings = append(v.findings, finding{position: covered + 1, tail: true, problem: fmt.Sprintf(
			"%s: %d entries, more than the %d the log is signed every (checkpoints were deleted, or the log was kept without its signing key)", what, n, v.opts.Every)})
		return nil
	}
	var oldest time.Time
	err := v.tx.QueryRow(ctx, `SELECT min(e.recorded_at) FROM eventstore.log l JOIN eventstore.events e ON e.epoch = l.epoch AND e.tx = l.tx AND e.seq = l.seq
		WHERE l.position > $1`, covered).Scan(&oldest)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if age := v.opts.Now.Sub(oldest); age > v.opts.Stale {
		v.findings = append(v.findings, finding{position: covered + 1, tail: true, problem: fmt.Sprintf(
			"%s, and the oldest of them was recorded %s ago, longer than the %s allowed (the server signs within a second): checkpoints were deleted, or the server stopped uncleanly (start it, or run civic checkpoint)",
			what, age.Round(time.Second), v.opts.Stale)})
	}
	return nil
}

// resolve turns the findings into the report: the first position that
// cannot be trusted. A wrong entry is untrustworthy itself; a checkpoint
// found wrong (forged, unlinked, not the tree's) leaves untrustworthy
// every position after the last good checkpoint before it. What comes
// after a wrong entry follows from it and is not weighed; nor, when
// only a range was checked, what lies beyond it.
func (v *verification) resolve(whole bool) {
	var good []int64 // sizes of checkpoints that verified
	for _, c := range v.own {
		if c.valid && !c.faulty && c.matched {
			good = append(good, int64(c.Size))
			v.r.Checkpoints++
			v.r.Latest, v.r.LatestAt = int64(c.Size), c.Time
		}
	}
	for _, cs := range v.at {
		for _, c := range cs {
			if c.outside && c.matched && !c.faulty {
				good = append(good, int64(c.Size))
				v.r.Outside++
			}
		}
	}
	for p, lc := range v.legacy {
		if lc.good {
			good = append(good, p)
			v.r.Checkpoints++
		}
	}
	lastGood := func(before int64) int64 {
		var g int64
		for _, s := range good {
			if s < before {
				g = max(g, s)
			}
		}
		return g
	}
	firstEntry := int64(0)
	for _, f := range v.findings {
		if !f.evidence && !f.tail && (firstEntry == 0 || f.position < firstEntry) {
			firstEntry = f.position
		}
	}
	for _, f := range v.findings {
		at := f.position
		if f.evidence {
			if firstEntry != 0 && f.position >= firstEntry {
				continue
			}
			at = lastGood(f.position) + 1
		}
		if !whole && at > v.r.To {
			continue // beyond the range checked
		}
		if v.r.FirstBad == 0 || at < v.r.FirstBad {
			v.r.FirstBad, v.r.Problem = at, f.problem
		}
	}
}

// tid is where an event sits in the log's order: (epoch, transaction,
// sequence).
type tid struct {
	epoch int32
	tx    uint64
	seq   int64
}

// parseTid makes a tid of a transaction ID given as decimal text.
func parseTid(epoch int32, tx string, seq int64) (tid, error) {
	n, err := strconv.ParseUint(tx, 10, 64)
	if err != nil {
		return tid{}, fmt.Errorf("transaction ID %q: %w", tx, err)
	}
	return tid{epoch, n, seq}, nil
}

func (a tid) less(b tid) bool {
	if a.epoch != b.epoch {
		return a.epoch < b.epoch
	}
	return a.tx < b.tx || a.tx == b.tx && a.seq < b.seq
}

// findOrphans looks for event rows behind the sequencer's last entry that
// the log does not hold: rows inserted into history. It reports the position
// where the first one would have been.
func (v *verification) findOrphans(ctx context.Context) error {
	var txText, stream string
	var seq, version int64
	var epoch int32
	err := v.tx.QueryRow(ctx, `
		WITH last AS (SELECT epoch, tx, seq FROM eventstore.log ORDER BY position DESC LIMIT 1)
		SELECT e.epoch, e.tx::text, e.seq, e.stream_id, e.version
		FROM eventstore.events e, last
		WHERE (e.epoch, e.tx, e.seq) < (last.epoch, last.tx, last.seq)
		  AND NOT EXISTS (SELECT 1 FROM eventstore.log l WHERE l.seq = e.seq AND l.tx = e.tx)
		ORDER BY e.epoch, e.tx, e.seq LIMIT 1`).Scan(&epoch, &txText, &seq, &stream, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: orphans: %w", err)
	}
	var at int64
	err = v.tx.QueryRow(ctx, `SELECT position FROM eventstore.log WHERE (epoch, tx, seq) > ($1, $2::text::xid8, $3) ORDER BY position LIMIT 1`, epoch, txText, seq).Scan(&at)
	if err != nil {
		return fmt.Errorf("verify: orphans: %w", err)
	}
	if at >= v.r.From && at <= v.r.To {
		v.entry(at, fmt.Sprintf("an event row not in the log (%s version %d) sits before this position: inserted into history", stream, version))
	}
	return nil
}
