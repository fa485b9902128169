package postgres

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// VerifyOptions selects what Verify checks.
type VerifyOptions struct {
	// From and To bound the positions checked; 0 means the first and the
	// last. The chain is recomputed from the last checkpoint before From,
	// since the range's hashes rest on it, and a break found on the way
	// there is reported too.
	From, To int64
	// Keys are the public keys trusted to have signed checkpoints. A
	// checkpoint signed by any other key is a failure.
	Keys []ed25519.PublicKey
}

// Report is the outcome of Verify.
type Report struct {
	From, To    int64 // the positions checked
	Events      int64 // log entries whose hash was recomputed
	Checkpoints int   // checkpoints whose signature was checked
	// FirstBad is the first position found wrong, 0 when all is intact;
	// Problem says what is wrong there.
	FirstBad int64
	Problem  string
}

// OK reports whether the range verified intact.
func (r *Report) OK() bool { return r.FirstBad == 0 }

// String summarises the report in one line, as civic verify prints it.
func (r *Report) String() string {
	if r.OK() {
		return fmt.Sprintf("log intact: positions %d..%d, %d events hashed, %d checkpoint signatures valid", r.From, r.To, r.Events, r.Checkpoints)
	}
	return fmt.Sprintf("log broken at position %d: %s", r.FirstBad, r.Problem)
}

type checkpointRow struct {
	position  int64
	hash      []byte
	signedAt  time.Time
	keyID     string
	signature []byte
}

// Verify recomputes the hash chain over the log, checks that positions are
// contiguous, that each stream's versions ascend by one, that every event
// row is in the log and every log entry has its event, and that each
// checkpoint's signature holds and matches the chain. It reads only: it
// returns an error when it cannot do its work, and a Report naming the first
// bad position when the data is wrong.
func Verify(ctx context.Context, db *pgxpool.Pool, opts VerifyOptions) (*Report, error) {
	if opts.From < 0 || opts.To < 0 || opts.To > 0 && opts.From > opts.To {
		return nil, fmt.Errorf("verify: range %d..%d: want 0 <= from <= to", opts.From, opts.To)
	}
	keys := make(map[string]ed25519.PublicKey, len(opts.Keys))
	for _, k := range opts.Keys {
		keys[KeyID(k)] = k
	}
	// One snapshot for the whole check, so appends running meanwhile
	// cannot look like tampering.
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer tx.Rollback(context.Background())

	var head int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM eventstore.log`).Scan(&head); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r := &Report{From: max(opts.From, 1), To: opts.To}
	if r.To == 0 || r.To > head {
		r.To = head
	}
	cps, err := loadCheckpoints(ctx, tx)
	if err != nil {
		return nil, err
	}
	if len(cps) > 0 && len(keys) == 0 {
		return nil, errors.New("verify: no public key to check checkpoint signatures against: configure the signing key or trusted keys")
	}
	if n := len(cps); n > 0 && cps[n-1].position > head && opts.To == 0 {
		r.FirstBad = head + 1
		r.Problem = fmt.Sprintf("the log ends at position %d but a checkpoint was signed at %d: entries were deleted from its end", head, cps[n-1].position)
		return r, nil
	}
	if head == 0 {
		r.From = 0
		return r, nil
	}

	// Start from the last checkpoint before From, trusting its hash only
	// once its signature is checked.
	start, prev := int64(1), []byte(nil)
	byPos := make(map[int64]checkpointRow, len(cps))
	var base *checkpointRow
	for i, cp := range cps {
		byPos[cp.position] = cp
		if cp.position < r.From {
			base = &cps[i]
		}
	}
	if base != nil {
		if problem := checkSignature(*base, keys); problem != "" {
			r.FirstBad, r.Problem = base.position, problem
			return r, nil
		}
		start, prev = base.position+1, base.hash
		r.Checkpoints++
	}

	w := walker{r: r, prev: prev, pos: start - 1, keys: keys, checkpoints: byPos, versions: map[string]int64{}, fromStart: start == 1}
	if err := w.walk(ctx, tx, start, r.To); err != nil {
		return nil, err
	}
	if err := findOrphans(ctx, tx, r); err != nil {
		return nil, err
	}
	return r, nil
}

func loadCheckpoints(ctx context.Context, tx pgx.Tx) ([]checkpointRow, error) {
	rows, err := tx.Query(ctx, `SELECT position, hash, signed_at, key_id, signature FROM eventstore.checkpoints ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("verify: checkpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (checkpointRow, error) {
		var c checkpointRow
		err := row.Scan(&c.position, &c.hash, &c.signedAt, &c.keyID, &c.signature)
		return c, err
	})
}

func checkSignature(cp checkpointRow, keys map[string]ed25519.PublicKey) string {
	key, ok := keys[cp.keyID]
	if !ok {
		return fmt.Sprintf("checkpoint at %d is signed by key %s, which is not trusted", cp.position, cp.keyID)
	}
	if !ed25519.Verify(key, eventstore.CheckpointMessage(cp.position, cp.hash, cp.signedAt), cp.signature) {
		return fmt.Sprintf("checkpoint at %d: signature does not verify (the checkpoint was altered)", cp.position)
	}
	return ""
}

// walker recomputes the chain entry by entry.
type walker struct {
	r           *Report
	prev        []byte
	pos         int64 // last position checked
	lastTx      string
	lastSeq     int64
	keys        map[string]ed25519.PublicKey
	checkpoints map[int64]checkpointRow
	versions    map[string]int64 // stream -> last version seen
	fromStart   bool             // the walk began at position 1, so streams must start at version 1
}

const verifyPage = 10_000

func (w *walker) walk(ctx context.Context, tx pgx.Tx, start, to int64) error {
	for from := start; from <= to; from += verifyPage {
		rows, err := tx.Query(ctx, `
			SELECT l.position, l.tx::text, l.seq, l.hash, e.event_id, e.stream_id, e.version, e.type,
			       e.schema_version, e.occurred_at, e.recorded_at, e.data::text,
			       e.actor, e.role, e.correlation_id, e.causation_id, e.command_id
			FROM (SELECT * FROM eventstore.log WHERE position >= $1 AND position <= $2) l
			LEFT JOIN LATERAL (SELECT * FROM eventstore.events e WHERE e.tx = l.tx AND e.seq = l.seq) e ON true
			ORDER BY l.position`, from, min(from+verifyPage-1, to))
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		for rows.Next() {
			var (
				pos, seq         int64
				txText           string
				stored           []byte
				id               *[16]byte
				stream, typ      *string
				version          *int64
				sv               *int
				occurred, record *time.Time
				data             []byte
				meta             [5]*string // NULL when the event row is missing
			)
			if err := rows.Scan(&pos, &txText, &seq, &stored, &id, &stream, &version, &typ, &sv, &occurred, &record, &data,
				&meta[0], &meta[1], &meta[2], &meta[3], &meta[4]); err != nil {
				rows.Close()
				return fmt.Errorf("verify: %w", err)
			}
			if id == nil {
				w.fail(pos, "the event row of this log entry is missing (deleted)")
			} else {
				e := eventstore.Event{ID: *id, Stream: *stream, Version: *version, Type: *typ, SchemaVersion: *sv,
					OccurredAt: *occurred, RecordedAt: *record, Data: data, Position: pos,
					Metadata: eventstore.Metadata{Actor: *meta[0], Role: *meta[1], CorrelationID: *meta[2], CausationID: *meta[3], CommandID: *meta[4]}}
				w.check(pos, txText, seq, stored, &e)
			}
			if !w.r.OK() {
				rows.Close()
				return nil
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if w.pos < min(from+verifyPage-1, to) {
			w.fail(w.pos+1, fmt.Sprintf("position %d is missing from the log (deleted)", w.pos+1))
			return nil
		}
	}
	return nil
}

func (w *walker) fail(pos int64, problem string) {
	if w.r.OK() {
		w.r.FirstBad, w.r.Problem = pos, problem
	}
}

func (w *walker) check(pos int64, txText string, seq int64, stored []byte, e *eventstore.Event) {
	if pos != w.pos+1 {
		w.fail(w.pos+1, fmt.Sprintf("position %d is missing from the log (deleted); the next entry is %d", w.pos+1, pos))
		return
	}
	if w.lastTx != "" && !tidLess(w.lastTx, w.lastSeq, txText, seq) {
		w.fail(pos, "log entries are out of (transaction, sequence) order (moved or inserted)")
		return
	}
	h := eventstore.ChainHash(w.prev, e)
	if !bytes.Equal(h, stored) {
		w.fail(pos, fmt.Sprintf("hash mismatch: %s version %d (%s) was altered, or its log entry was", e.Stream, e.Version, e.ID))
		return
	}
	if last, seen := w.versions[e.Stream]; (seen || w.fromStart) && e.Version != last+1 {
		w.fail(pos, fmt.Sprintf("%s version %d follows version %d", e.Stream, e.Version, last))
		return
	}
	w.versions[e.Stream] = e.Version
	if cp, ok := w.checkpoints[pos]; ok {
		if !bytes.Equal(cp.hash, h) {
			w.fail(pos, "the chain hash differs from the one signed in the checkpoint here (history was rewritten)")
			return
		}
		if problem := checkSignature(cp, w.keys); problem != "" {
			w.fail(pos, problem)
			return
		}
		w.r.Checkpoints++
	}
	w.prev, w.pos, w.lastTx, w.lastSeq = h, pos, txText, seq
	w.r.Events++
}

// tidLess compares (tx, seq) pairs, tx given as decimal text.
func tidLess(tx1 string, seq1 int64, tx2 string, seq2 int64) bool {
	a, _ := strconv.ParseUint(tx1, 10, 64)
	b, _ := strconv.ParseUint(tx2, 10, 64)
	return a < b || a == b && seq1 < seq2
}

// findOrphans looks for event rows behind the sequencer's last entry that
// the log does not hold: rows inserted into history. It reports the position
// where the first one would have been, if that is before what was found.
func findOrphans(ctx context.Context, tx pgx.Tx, r *Report) error {
	var txText, stream string
	var seq, version int64
	err := tx.QueryRow(ctx, `
		WITH last AS (SELECT tx, seq FROM eventstore.log ORDER BY position DESC LIMIT 1)
		SELECT e.tx::text, e.seq, e.stream_id, e.version
		FROM eventstore.events e, last
		WHERE (e.tx, e.seq) < (last.tx, last.seq)
		  AND NOT EXISTS (SELECT 1 FROM eventstore.log l WHERE l.seq = e.seq AND l.tx = e.tx)
		ORDER BY e.tx, e.seq LIMIT 1`).Scan(&txText, &seq, &stream, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: orphans: %w", err)
	}
	var at int64
	err = tx.QueryRow(ctx, `SELECT position FROM eventstore.log WHERE (tx, seq) > ($1::text::xid8, $2) ORDER BY position LIMIT 1`, txText, seq).Scan(&at)
	if err != nil {
		return fmt.Errorf("verify: orphans: %w", err)
	}
	if at >= r.From && at <= r.To && (r.OK() || at < r.FirstBad) {
		r.FirstBad = at
		r.Problem = fmt.Sprintf("an event row not in the log (%s version %d) sits before this position: inserted into history", stream, version)
	}
	return nil
}
