package postgres_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
)

// signedLog fills a fresh database with 50 events, one per append over five
// streams, each sequenced before the next is appended, so that checkpoints
// fall at exactly 10, 20, ..., 50; then it stops the sequencer so that the
// test can tamper undisturbed.
func signedLog(t *testing.T) (*pgxpool.Pool, ed25519.PublicKey) {
	t.Helper()
	return signedLogWith(t, testKey(t))
}

// signedLogWith is signedLog with the key given.
func signedLogWith(t *testing.T, key ed25519.PrivateKey) (*pgxpool.Pool, ed25519.PublicKey) {
	t.Helper()
	pool := newPool(t)
	s := postgres.New(pool, postgres.Options{SigningKey: key, CheckpointEvery: 10, CheckpointInterval: time.Hour})
	defer s.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.RunSequencer(ctx) }()
	defer func() { stop(); <-done }()
	for i := range 50 {
		res, err := s.Append(ctx, fmt.Sprintf("org-%d", i%5), eventstore.Any(), event(i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
	}
	var cps []int64
	rows, err := pool.Query(ctx, `SELECT size FROM eventstore.tree_checkpoints ORDER BY size`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p int64
		rows.Scan(&p)
		cps = append(cps, p)
	}
	if fmt.Sprint(cps) != "[10 20 30 40 50]" {
		t.Fatalf("checkpoints at %v, want [10 20 30 40 50]", cps)
	}
	return pool, key.Public().(ed25519.PublicKey)
}

// tamper runs SQL as a superuser who bypasses the append-only triggers,
// the attacker (or careless administrator) verification exists to catch.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `SET session_replication_role = DEFAULT`)
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("tamper: %s: %v", sql, err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("tamper: %s changed %d rows, want 1", sql, tag.RowsAffected())
	}
}

// at selects the event row at a log position.
const at = `(tx, seq) = (SELECT tx, seq FROM eventstore.log WHERE position = %d)`

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, pool *pgxpool.Pool)
		opts    postgres.VerifyOptions
		bad     int64
		problem string
	}{
		{"untouched", func(*testing.T, *pgxpool.Pool) {}, postgres.VerifyOptions{}, 0, ""},
		{"untouched, a range", func(*testing.T, *pgxpool.Pool) {}, postgres.VerifyOptions{From: 25, To: 35}, 0, ""},
		{"event data changed", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.events SET data = '{"n":999}' WHERE `+fmt.Sprintf(at, 23))
		}, postgres.VerifyOptions{}, 23, "hash mismatch"},
		{"event actor changed", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.events SET actor = 'someone else' WHERE `+fmt.Sprintf(at, 30))
		}, postgres.VerifyOptions{}, 30, "hash mismatch"},
		{"event recorded_at changed", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.events SET recorded_at = recorded_at - interval '1 day' WHERE `+fmt.Sprintf(at, 8))
		}, postgres.VerifyOptions{}, 8, "hash mismatch"},
		{"event row deleted", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `DELETE FROM eventstore.events WHERE `+fmt.Sprintf(at, 17))
		}, postgres.VerifyOptions{}, 17, "missing"},
		{"log row deleted", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `DELETE FROM eventstore.log WHERE position = 40`)
		}, postgres.VerifyOptions{}, 40, "missing from the log"},
		{"event row inserted into history", func(t *testing.T, p *pgxpool.Pool) {
			// Between positions 11 and 12 in (tx, seq) order, as a forged
			// earlier append would sit.
			tamper(t, p, `INSERT INTO eventstore.events
				(tx, seq, event_id, stream_id, version, type, schema_version, occurred_at, data)
				OVERRIDING SYSTEM VALUE
				SELECT l.tx, l.seq - 1, gen_random_uuid(), 'org-forged', 1, 'test.happened', 1, now(), '{"n":-1}'
				FROM eventstore.log l WHERE l.position = 12`)
		}, postgres.VerifyOptions{}, 12, "inserted"},
		{"log row inserted at the end", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `INSERT INTO eventstore.events
				(tx, seq, event_id, stream_id, version, type, schema_version, occurred_at, data)
				OVERRIDING SYSTEM VALUE
				SELECT l.tx, l.seq + 1000, gen_random_uuid(), 'org-forged', 1, 'test.happened', 1, now(), '{"n":-1}'
				FROM eventstore.log l WHERE l.position = 50`)
			tamper(t, p, `INSERT INTO eventstore.log (position, epoch, tx, seq, leaf)
				SELECT 51, l.epoch, l.tx, l.seq + 1000, sha256('forged') FROM eventstore.log l WHERE l.position = 50`)
		}, postgres.VerifyOptions{}, 51, "hash mismatch"},
		{"leaf hash changed", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.log SET leaf = sha256(leaf) WHERE position = 14`)
		}, postgres.VerifyOptions{}, 14, "hash mismatch"},
		{"tree node changed", func(t *testing.T, p *pgxpool.Pool) {
			// The node over positions 17..32.
			tamper(t, p, `UPDATE eventstore.tree SET hash = sha256(hash) WHERE level = 4 AND idx = 1`)
		}, postgres.VerifyOptions{}, 17, "stored node over positions 17..32"},
		{"tree node deleted", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `DELETE FROM eventstore.tree WHERE level = 4 AND idx = 2`)
		}, postgres.VerifyOptions{}, 33, "node over positions 33..48 is missing"},
		{"checkpoint note altered", func(t *testing.T, p *pgxpool.Pool) {
			// Its signature no longer holds; the one after no longer
			// links to it. Positions 31..40 lose their checkpoint.
			tamper(t, p, `UPDATE eventstore.tree_checkpoints SET note = replace(note, 'civicledger time', 'civicledger tine')
				WHERE size = 40`)
		}, postgres.VerifyOptions{}, 31, "invalid signature"},
		{"checkpoint row's root altered", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.tree_checkpoints SET root = sha256(root) WHERE size = 20`)
		}, postgres.VerifyOptions{}, 11, "differs from its signed note"},
		{"log truncated at the end", func(t *testing.T, p *pgxpool.Pool) {
			// The checkpoint at 50 cannot be checked without entry 50,
			// so 41..49 rest on nothing signed.
			tamper(t, p, `DELETE FROM eventstore.log WHERE position = 50`)
		}, postgres.VerifyOptions{}, 41, "deleted from its end"},
		{"tampering outside the range checked", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.events SET data = '{"n":999}' WHERE `+fmt.Sprintf(at, 45))
		}, postgres.VerifyOptions{From: 5, To: 30}, 0, ""},
		{"tampering inside the range checked", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.events SET data = '{"n":999}' WHERE `+fmt.Sprintf(at, 27))
		}, postgres.VerifyOptions{From: 25, To: 30}, 27, "hash mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, pub := signedLog(t)
			tt.tamper(t, pool)
			opts := tt.opts
			opts.Keys = []ed25519.PublicKey{pub}
			rep, err := postgres.Verify(context.Background(), pool, opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.FirstBad != tt.bad || !strings.Contains(rep.Problem, tt.problem) {
				t.Fatalf("Verify = %v (first bad %d); want first bad %d with %q", rep, rep.FirstBad, tt.bad, tt.problem)
			}
			if tt.bad == 0 && (rep.Events == 0 || rep.Checkpoints == 0) {
				t.Fatalf("Verify = %+v: intact, but it checked %d events and %d checkpoints", rep, rep.Events, rep.Checkpoints)
			}
		})
	}
}

func TestVerifyRefusesUntrustedKey(t *testing.T) {
	pool, _ := signedLog(t)
	other := testKey(t).Public().(ed25519.PublicKey)
	rep, err := postgres.Verify(context.Background(), pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{other}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !strings.Contains(rep.Problem, "not signed by a trusted key") {
		t.Fatalf("Verify with a stranger's key = %v; want a checkpoint signed by an untrusted key", rep)
	}
	if _, err := postgres.Verify(context.Background(), pool, postgres.VerifyOptions{From: 9, To: 3}); err == nil {
		t.Fatal("Verify(from 9 to 3) succeeded, want a range error")
	}
}

func TestOutOfOrderGuard(t *testing.T) {
	s, pool := newStore(t, postgres.Options{})
	ctx := context.Background()
	// The store takes the log up before its first append; planted before
	// that, a transaction ID the cluster has not issued would make it
	// take up a new epoch (a diverged copy), after which nothing is out
	// of order.
	if _, err := s.Append(ctx, "first-1", eventstore.NoStream(), event(0)); err != nil {
		t.Fatal(err)
	}
	// A stream whose last event carries a transaction ID from the future,
	// which only a transaction that wrote before appending could produce.
	tamper(t, pool, `INSERT INTO eventstore.events
		(tx, event_id, stream_id, version, type, schema_version, occurred_at, data)
		VALUES ((pg_current_xact_id()::text::bigint + 1000000)::text::xid8, gen_random_uuid(), 'future-1', 1, 'test.happened', 1, now(), '{}')`)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	_, err = s.AppendTx(ctx, tx, "future-1", eventstore.Any(), event(1))
	if !errors.Is(err, postgres.ErrOutOfOrder) {
		t.Fatalf("AppendTx behind a later transaction: %v, want ErrOutOfOrder", err)
	}
	tx.Rollback(ctx)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM eventstore.events WHERE stream_id = 'future-1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("future-1 has %d events, %v; want the 1 planted", n, err)
	}
}

// TestAuditorChecks holds the auditor's two checks to what they promise:
// CheckEvents catches an edited event row, and a deleted one by the gap it
// leaves in its stream; VerifyRange and Hashes agree with the log.
func TestAuditorChecks(t *testing.T) {
	t.Parallel()
	pool, pub := signedLog(t)
	ctx := context.Background()
	s := postgres.New(pool, postgres.Options{TrustedKeys: []ed25519.PublicKey{pub}})
	defer s.Close()
	// org-1 holds positions 2, 7, 12, ..., 47.
	read := func() []eventstore.Event {
		events, err := s.ReadStream(ctx, "org-1", eventstore.ReadOptions{})
		if err != nil || len(events) == 0 {
			t.Fatalf("ReadStream(org-1) = %d events, %v", len(events), err)
		}
		return events
	}
	hashes, v, err := s.CheckEvents(ctx, read())
	if err != nil || !v.Intact() || v.Events != 10 || v.From != 2 || v.To != 47 || len(hashes) != 10 {
		t.Fatalf("CheckEvents on an intact log = %d hashes, %+v, %v; want 10 intact from 2 to 47", len(hashes), v, err)
	}
	stored, err := s.Hashes(ctx, []int64{2, 7})
	if err != nil || fmt.Sprint(stored[7]) != fmt.Sprint(hashes[7]) || len(stored) != 2 {
		t.Fatalf("Hashes = %v, %v; want the hashes CheckEvents saw", stored, err)
	}
	if full, err := s.VerifyRange(ctx, 5, 33); err != nil || !full.Intact() || full.Checkpoints != 3 {
		t.Fatalf("VerifyRange(5, 33) = %+v, %v; want intact with the checkpoints at 10, 20 and 30", full, err)
	}

	tamper(t, pool, `UPDATE eventstore.events SET data = '{"n":-12}' WHERE (tx, seq) = (SELECT tx, seq FROM eventstore.log WHERE position = 12)`)
	if _, v, err := s.CheckEvents(ctx, read()); err != nil || v.FirstBad != 12 || !strings.Contains(v.Problem, "hash mismatch") {
		t.Fatalf("CheckEvents after event 12 was edited = %+v, %v; want it broken at 12", v, err)
	}
	other, err := s.ReadStream(ctx, "org-2", eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.CheckEvents(ctx, other); err != nil || !v.Intact() {
		t.Fatalf("CheckEvents of another stream = %+v, %v; want intact: it checks only the events given", v, err)
	}
	tamper(t, pool, `DELETE FROM eventstore.events WHERE (tx, seq) = (SELECT tx, seq FROM eventstore.log WHERE position = 7)`)
	if _, v, err := s.CheckEvents(ctx, read()); err != nil || v.FirstBad != 12 || !strings.Contains(v.Problem, "org-1 version 3 follows version 1") {
		t.Fatalf("CheckEvents after event 7 was deleted = %+v, %v; want the gap it leaves reported at the next event, 12", v, err)
	}
}

// superuser returns a connection on which the append-only triggers are
// off (session_replication_role = replica), as a database superuser can
// make them: the attacker the tree and its checkpoints exist to catch.
func superuser(t *testing.T, pool *pgxpool.Pool) *pgxpool.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(ctx, `SET session_replication_role = DEFAULT`)
		conn.Release()
	})
	return conn
}

// rewrite is the attack of a superuser who knows how the log is built
// and lacks only the signing key: it changes the event at pos and
// recomputes its leaf, then the whole stored tree, so that every hash in
// the database agrees with the new history.
func rewrite(t *testing.T, pool *pgxpool.Pool, pos int64) {
	t.Helper()
	ctx := context.Background()
	conn := superuser(t, pool)
	if _, err := conn.Exec(ctx, `UPDATE eventstore.events SET data = '{"n":-1}' WHERE `+fmt.Sprintf(at, pos)); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `
		SELECT l.position, e.event_id, e.stream_id, e.version, e.type, e.schema_version, e.occurred_at, e.recorded_at,
		       e.data::text, e.actor, e.role, e.correlation_id, e.causation_id, e.command_id
		FROM eventstore.log l JOIN eventstore.events e USING (tx, seq) ORDER BY l.position`)
	if err != nil {
		t.Fatal(err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventstore.Event, error) {
		var e eventstore.Event
		var data string
		m := &e.Metadata
		err := r.Scan(&e.Position, &e.ID, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion, &e.OccurredAt, &e.RecordedAt,
			&data, &m.Actor, &m.Role, &m.CorrelationID, &m.CausationID, &m.CommandID)
		e.Data = []byte(data)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.NewTree()
	var nodes []tlog.Node
	for i := range events {
		e := &events[i]
		leaf := tlog.LeafHash(e)
		if err := tree.Append(leaf, func(n tlog.Node) { nodes = append(nodes, n) }); err != nil {
			t.Fatal(err)
		}
		if e.Position == pos {
			if _, err := conn.Exec(ctx, `UPDATE eventstore.log SET leaf = $2 WHERE position = $1`, e.Position, leaf); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `DELETE FROM eventstore.tree`); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, err := conn.Exec(ctx, `INSERT INTO eventstore.tree (level, idx, hash) VALUES ($1, $2, $3)`, n.Level, n.Index, n.Hash); err != nil {
			t.Fatal(err)
		}
	}
}

// truncate deletes the log's end from position from on: entries, events,
// the tree's nodes over them and the checkpoints that cover them.
func truncate(t *testing.T, pool *pgxpool.Pool, from int64) {
	t.Helper()
	ctx := context.Background()
	conn := superuser(t, pool)
	for _, sql := range []string{
		`DELETE FROM eventstore.events e USING eventstore.log l WHERE (e.epoch, e.tx, e.seq) = (l.epoch, l.tx, l.seq) AND l.position >= $1`,
		`DELETE FROM eventstore.log WHERE position >= $1`,
		`DELETE FROM eventstore.tree WHERE (idx + 1) << level >= $1`,
		`DELETE FROM eventstore.tree_checkpoints WHERE size >= $1`,
	} {
		if _, err := conn.Exec(ctx, sql, from); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// deleteCheckpoints deletes the log's checkpoints of the sizes given, or
// all of them.
func deleteCheckpoints(t *testing.T, pool *pgxpool.Pool, sizes ...int64) {
	t.Helper()
	sql := `DELETE FROM eventstore.tree_checkpoints WHERE $1::bigint[] IS NULL OR size = ANY($1)`
	if _, err := superuser(t, pool).Exec(context.Background(), sql, sizes); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyCatchesASuperuser is the attacks of issue 11, each made from a
// superuser session against a signed log of 50 entries (checkpoints at 10,
// 20, ..., 50), each checked twice: with the database's own checkpoints
// only, by an auditor who comes after the unsigned window has passed; and
// at once, by an auditor holding the checkpoints of sizes 20 and 50 that a
// witness saved outside the database. Each names the first position that
// cannot be trusted.
func TestVerifyCatchesASuperuser(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		attack func(t *testing.T, pool *pgxpool.Pool)
		// own and outside are the first untrustworthy positions found
		// each way; 0: found intact.
		own, outside int64
		problem      string
	}{
		{"rechained after deleting every checkpoint", func(t *testing.T, p *pgxpool.Pool) {
			deleteCheckpoints(t, p)
			rewrite(t, p, 23)
		}, 1, 1, ""},
		{"rechained under the checkpoints", func(t *testing.T, p *pgxpool.Pool) {
			rewrite(t, p, 23)
		}, 21, 21, "history was rewritten"},
		{"rechained after the last checkpoint, deleted", func(t *testing.T, p *pgxpool.Pool) {
			deleteCheckpoints(t, p, 50)
			rewrite(t, p, 45)
		}, 41, 41, ""},
		{"a checkpoint deleted between two others", func(t *testing.T, p *pgxpool.Pool) {
			deleteCheckpoints(t, p, 30)
		}, 21, 21, "the checkpoint of size 30 is missing"},
		{"the last checkpoint deleted", func(t *testing.T, p *pgxpool.Pool) {
			deleteCheckpoints(t, p, 50)
		}, 41, 41, ""},
		{"the last event deleted, with its checkpoint", func(t *testing.T, p *pgxpool.Pool) {
			truncate(t, p, 50)
		}, 41, 41, ""},
		{"truncated inside a checkpoint's window", func(t *testing.T, p *pgxpool.Pool) {
			truncate(t, p, 35)
		}, 31, 31, ""},
		// Truncated just after a checkpoint, the log is what it was at
		// that checkpoint: from inside the database that is an older
		// backup restored, which only a memory outside it can tell.
		{"truncated at a checkpoint", func(t *testing.T, p *pgxpool.Pool) {
			truncate(t, p, 31)
		}, 0, 31, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool, pub := signedLog(t)
			ctx := context.Background()
			var witnessed [][]byte
			for _, size := range []int64{20, 50} {
				var n string
				if err := pool.QueryRow(ctx, `SELECT note FROM eventstore.tree_checkpoints WHERE size = $1`, size).Scan(&n); err != nil {
					t.Fatal(err)
				}
				witnessed = append(witnessed, []byte(n))
			}
			tc.attack(t, pool)
			check := func(mode string, opts postgres.VerifyOptions, want int64) {
				t.Helper()
				opts.Keys, opts.Every = []ed25519.PublicKey{pub}, 10
				rep, err := postgres.Verify(ctx, pool, opts)
				if err != nil {
					t.Fatalf("%s: Verify: %v", mode, err)
				}
				if rep.FirstBad != want || !strings.Contains(rep.Problem, tc.problem) {
					t.Errorf("%s: Verify = %v; want first bad %d (%q)", mode, rep, want, tc.problem)
				}
			}
			check("own checkpoints, two minutes on", postgres.VerifyOptions{Now: time.Now().Add(2 * time.Minute)}, tc.own)
			check("outside checkpoints, at once", postgres.VerifyOptions{Against: witnessed}, tc.outside)
		})
	}
}

// TestVerifyHoldsTheLogToItsRhythm: entries left unsigned are broken once
// they are older than Stale, and at once when more than Every of them.
func TestVerifyHoldsTheLogToItsRhythm(t *testing.T) {
	t.Parallel()
	pool, pub := signedLog(t)
	ctx := context.Background()
	// Twelve more events, sequenced by a server without the key.
	s := startStore(t, pool, postgres.Options{})
	for i := range 12 {
		res, err := s.Append(ctx, "late-1", eventstore.Any(), event(i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
	}
	keys := []ed25519.PublicKey{pub}
	for _, tc := range []struct {
		name string
		opts postgres.VerifyOptions
		bad  int64
		want string
	}{
		{"fresh", postgres.VerifyOptions{Every: 20}, 0, ""},
		{"stale", postgres.VerifyOptions{Every: 20, Now: time.Now().Add(61 * time.Second)}, 51, "positions 51..62 are covered by no checkpoint, and the oldest of them was recorded"},
		{"too many", postgres.VerifyOptions{Every: 10}, 51, "12 entries, more than the 10"},
		{"stale allowed longer", postgres.VerifyOptions{Every: 20, Stale: time.Hour, Now: time.Now().Add(time.Minute)}, 0, ""},
	} {
		tc.opts.Keys = keys
		rep, err := postgres.Verify(ctx, pool, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.FirstBad != tc.bad || !strings.Contains(rep.Problem, tc.want) {
			t.Errorf("%s: Verify = %v; want first bad %d (%q)", tc.name, rep, tc.bad, tc.want)
		}
	}
}

// TestVerifyRefusesABadOutsideCheckpoint: an outside checkpoint signed
// by a stranger, of another log, or malformed is an error, not a report.
func TestVerifyRefusesABadOutsideCheckpoint(t *testing.T) {
	t.Parallel()
	pool, pub := signedLog(t)
	ctx := context.Background()
	var good string
	if err := pool.QueryRow(ctx, `SELECT note FROM eventstore.tree_checkpoints WHERE size = 30`).Scan(&good); err != nil {
		t.Fatal(err)
	}
	stranger := testKey(t)
	body, _, _ := strings.Cut(good, "\n\n")
	forged, err := tlog.Sign(mustParse(t, body+"\n"), mustSigner(t, postgres.DefaultOrigin(pub), stranger))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		note []byte
		want error
	}{
		"signed by a stranger": {forged, tlog.ErrUntrusted},
		"malformed":            {[]byte("not a note"), nil},
		"truncated signature":  {[]byte(good[:len(good)-10] + "\n"), nil},
	} {
		_, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{pub}, Against: [][]byte{tc.note}})
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v; want an error (%v)", name, err, tc.want)
		}
	}
}

func mustParse(t *testing.T, body string) tlog.Checkpoint {
	t.Helper()
	c, err := tlog.ParseBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSigner(t *testing.T, origin string, key ed25519.PrivateKey) note.Signer {
	t.Helper()
	s, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLeafHashInSQL: the SQL function that gave the entries sequenced
// before the tree their leaves computes what the sequencer does, for
// events with text beyond ASCII and every metadata field set.
func TestLeafHashInSQL(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, postgres.Options{})
	ctx := context.Background()
	e := eventstore.EventData{ID: eventstore.NewID(), Type: "test.happened", Data: json.RawMessage(`{"name":"თბილისი","n":1.50}`),
		Metadata: eventstore.Metadata{Actor: "ანა", Role: "admin", CorrelationID: "c-1", CausationID: "c-0", CommandID: "cmd-9"}}
	res, err := s.Append(ctx, "leaf-1", eventstore.NoStream(), e, event(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
		t.Fatal(err)
	}
	var n, same int
	err = pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE l.leaf = eventstore.leaf_hash(l.position, e))
		FROM eventstore.log l JOIN eventstore.events e USING (tx, seq)`).Scan(&n, &same)
	if err != nil || n != 2 || same != n {
		t.Fatalf("%d of %d leaves agree with eventstore.leaf_hash (%v); want 2 of 2", same, n, err)
	}
}

// TestSequencerWillNotSignARewrite: a server started on a database whose
// stored tree was rewritten under its last checkpoint refuses to lead,
// rather than sign the rewritten history; and when the superuser deleted
// the checkpoints back to before the rewrite, so that a server signs it
// again, the stretch its new checkpoint spans gives it away.
func TestSequencerWillNotSignARewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := testKey(t)

	pool, pub := signedLogWith(t, key)
	rewrite(t, pool, 25)
	var logs syncBuffer
	s := postgres.New(pool, postgres.Options{SigningKey: key, CheckpointEvery: 10, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	runCtx, stop := context.WithTimeout(ctx, 3*time.Second)
	s.RunSequencer(runCtx)
	stop()
	if !strings.Contains(logs.String(), "is not the one its last checkpoint signed") {
		t.Fatalf("the sequencer over a rewritten tree logged:\n%s\nwant it to refuse to lead", logs.String())
	}
	// Its status says so, for /readyz.
	if st, err := s.Status(ctx); err != nil || st.Leader || !strings.Contains(st.SequencerError, "is not the one its last checkpoint signed") ||
		time.Since(st.SequencerErrorSince) < 2*time.Second {
		t.Fatalf("Status of the refusing sequencer = %+v, %v; want its error, standing since it first failed", st, err)
	}
	s.Close()

	pool, _ = signedLogWith(t, key)
	rewrite(t, pool, 25)
	deleteCheckpoints(t, pool, 30, 40, 50)
	s = startStore(t, pool, postgres.Options{SigningKey: key, CheckpointEvery: 10})
	if _, err := s.RequestCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{pub}, Every: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstBad != 21 || !strings.Contains(rep.Problem, "30 entries lie between the checkpoint of size 20 and the checkpoint of size 50") {
		t.Fatalf("Verify after a re-signed rewrite = %v; want position 21 and the stretch named", rep)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestChainAcrossLeaders: the hash chain, which the log does not store,
// is taken up by each new leader from the last checkpoint (or from the
// start, for a log never signed before) and signed on; civic verify finds
// every checkpoint's chain line right.
func TestChainAcrossLeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := testKey(t)
	pub := key.Public().(ed25519.PublicKey)
	pool := newPool(t)
	unsigned, stopUnsigned := startStopper(t, pool, postgres.Options{})
	for i := range 7 {
		res, err := unsigned.Append(ctx, "unsigned-1", eventstore.Any(), event(i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unsigned.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
	}
	stopUnsigned()
	for round := range 3 {
		s, stop := startStopper(t, pool, postgres.Options{SigningKey: key, CheckpointInterval: time.Hour})
		appendN(t, s, 100*round, 5)
		if _, err := s.RequestCheckpoint(ctx); err != nil {
			t.Fatal(err)
		}
		stop()
	}
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{pub}})
	if err != nil || !rep.OK() || rep.Checkpoints != 3 || rep.Latest != 22 {
		t.Fatalf("Verify = %v, %v; want intact with 3 checkpoints, the latest of size 22", rep, err)
	}
}

// legacyLog is a log of 20 entries as an upgrade finds it: sequenced,
// with the chain's checkpoints an older version signed at 10 and 20 (in
// eventstore.chain_checkpoints), and no tree checkpoint yet.
func legacyLog(t *testing.T, key ed25519.PrivateKey) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool := newPool(t)
	s, stop := startStopper(t, pool, postgres.Options{})
	appendN(t, s, 0, 20)
	stop()
	events, err := s.ReadAll(ctx, 0, 100)
	if err != nil || len(events) != 20 {
		t.Fatalf("ReadAll = %d events, %v", len(events), err)
	}
	var chain []byte
	for i := range events {
		chain = eventstore.ChainHash(chain, &events[i])
		if p := events[i].Position; p%10 == 0 {
			at := time.Now().Truncate(time.Microsecond)
			sig := ed25519.Sign(key, eventstore.LegacyCheckpointMessage(p, chain, at))
			if _, err := pool.Exec(ctx, `INSERT INTO eventstore.chain_checkpoints (position, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
				p, chain, at, postgres.KeyID(key.Public().(ed25519.PublicKey)), sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	return pool
}

// TestLegacyCheckpoints: the chain's checkpoints signed before the tree
// are still evidence: verify checks them, a rewrite under them is found,
// and a server will not sign its first tree over a chain they do not
// vouch for.
func TestLegacyCheckpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := testKey(t)
	keys := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}

	pool := legacyLog(t, key)
	// As the upgrade finds it: no tree stored yet either (the migration
	// gives the entries their leaves; the first sequencer to lead builds
	// the nodes).
	if _, err := superuser(t, pool).Exec(ctx, `DELETE FROM eventstore.tree`); err != nil {
		t.Fatal(err)
	}
	if rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: keys}); err != nil || !rep.OK() || rep.Checkpoints != 2 {
		t.Fatalf("Verify of the upgraded log = %v, %v; want intact with its 2 chain checkpoints", rep, err)
	}
	s, stop := startStopper(t, pool, postgres.Options{SigningKey: key})
	if _, err := s.RequestCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: keys}); err != nil || !rep.OK() || rep.Checkpoints != 3 {
		t.Fatalf("Verify once signed as a tree = %v, %v; want intact with 3 checkpoints", rep, err)
	}

	pool = legacyLog(t, key)
	rewrite(t, pool, 15)
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: keys})
	if err != nil || rep.FirstBad != 11 || !strings.Contains(rep.Problem, "chain's checkpoint there") {
		t.Fatalf("Verify after a rewrite under the chain's checkpoint at 20 = %v, %v; want position 11", rep, err)
	}
	var logs syncBuffer
	s = postgres.New(pool, postgres.Options{SigningKey: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	s.RunSequencer(runCtx)
	cancel()
	s.Close()
	if !strings.Contains(logs.String(), "is not the one its checkpoint signed there before the tree") {
		t.Fatalf("the sequencer over the rewritten log logged:\n%s\nwant it to refuse to sign it", logs.String())
	}
}
