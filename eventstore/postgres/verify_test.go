package postgres_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// signedLog fills a fresh database with 50 events, one per append over five
// streams, each sequenced before the next is appended, so that checkpoints
// fall at exactly 10, 20, ..., 50; then it stops the sequencer so that the
// test can tamper undisturbed.
func signedLog(t *testing.T) (*pgxpool.Pool, ed25519.PublicKey) {
	t.Helper()
	pool := newPool(t)
	key := testKey(t)
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
	rows, err := pool.Query(ctx, `SELECT position FROM eventstore.checkpoints ORDER BY position`)
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
		{"log hash changed", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.log SET hash = sha256(hash) WHERE position = 33`)
		}, postgres.VerifyOptions{}, 33, "hash mismatch"},
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
			tamper(t, p, `INSERT INTO eventstore.log (position, tx, seq, hash)
				SELECT 51, l.tx, l.seq + 1000, sha256('forged') FROM eventstore.log l WHERE l.position = 50`)
		}, postgres.VerifyOptions{}, 51, "hash mismatch"},
		{"checkpoint signature altered", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `UPDATE eventstore.checkpoints SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1)
				WHERE position = 40`)
		}, postgres.VerifyOptions{}, 40, "signature does not verify"},
		{"log truncated at the end", func(t *testing.T, p *pgxpool.Pool) {
			tamper(t, p, `DELETE FROM eventstore.log WHERE position = 50`)
		}, postgres.VerifyOptions{}, 50, "deleted from its end"},
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
	if rep.OK() || !strings.Contains(rep.Problem, "not trusted") {
		t.Fatalf("Verify with a stranger's key = %v; want a checkpoint signed by an untrusted key", rep)
	}
	if _, err := postgres.Verify(context.Background(), pool, postgres.VerifyOptions{From: 9, To: 3}); err == nil {
		t.Fatal("Verify(from 9 to 3) succeeded, want a range error")
	}
}

func TestOutOfOrderGuard(t *testing.T) {
	s, pool := newStore(t, postgres.Options{})
	ctx := context.Background()
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
