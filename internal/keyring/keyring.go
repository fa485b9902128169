// Package keyring is the PostgreSQL keyring of personal data
// (domain.Keyring): the AES-256 keys that personal fields are sealed with
// in the log, one live key per data subject, in a table of their own
// (schema privacy) outside the log. Erasing a subject sets its keys to
// NULL; the row stays, so the erasure is known.
//
// It also scans the log for personal data written in plain text before
// the log sealed it (ScanPlain), so that such subjects can be erased too:
// their data is then withheld from every read path, but its bytes stay in
// the log, which only a rewrite of history, which its signed checkpoints
// and witnesses show, could remove.
package keyring

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the keyring's schema.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Apply(ctx, db, "keyring", sub)
	return err
}

// Keyring is the keyring in PostgreSQL.
type Keyring struct{ db *pgxpool.Pool }

var _ domain.Keyring = (*Keyring)(nil)

// New returns the keyring of db, whose schema Migrate made.
func New(db *pgxpool.Pool) *Keyring { return &Keyring{db: db} }

// Current implements domain.Keyring, in one statement: the subject's live
// key, or a new one. Two callers making a subject's first key at once
// agree on one: the second insert conflicts, and it reads the first's.
//
// A new key's commit does not wait for its WAL to reach the disk
// (synchronous_commit off, for that statement's transaction alone): the
// event sealed with it is appended next, and its own, durable commit
// flushes the WAL up to itself, the key with it; a crash in between loses
// a key nothing was sealed with. With a commit of its own and a round trip
// per step, a new subject's first event cost three times an event without
// personal data (BenchmarkPersonalData).
func (k *Keyring) Current(ctx context.Context, subject string) (domain.KeyRef, []byte, error) {
	for range 3 {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return domain.KeyRef{}, nil, err
		}
		var gen int
		var key []byte
		err := k.db.QueryRow(ctx, `
			WITH live AS (
				SELECT generation, key FROM privacy.keys WHERE subject = $1 AND key IS NOT NULL
			), async AS (
				SELECT set_config('synchronous_commit', 'off', true)
			), made AS (
				INSERT INTO privacy.keys (subject, generation, key)
				SELECT $1, coalesce((SELECT max(generation) FROM privacy.keys WHERE subject = $1), 0) + 1, $2
				FROM async WHERE NOT EXISTS (SELECT FROM live)
				ON CONFLICT DO NOTHING
				RETURNING generation, key
			)
			SELECT generation, key FROM live UNION ALL SELECT generation, key FROM made`, subject, fresh).Scan(&gen, &key)
		if err == nil {
			return domain.KeyRef{Subject: subject, Generation: gen}, key, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return domain.KeyRef{}, nil, fmt.Errorf("key of %s: %w", subject, err)
		}
		// Another caller made it first: read theirs.
	}
	return domain.KeyRef{}, nil, fmt.Errorf("key of %s: contended", subject)
}

// Keys implements domain.Keyring, in one statement.
func (k *Keyring) Keys(ctx context.Context, refs []domain.KeyRef) (map[domain.KeyRef][]byte, error) {
	subjects := make([]string, len(refs))
	gens := make([]int32, len(refs))
	for i, r := range refs {
		subjects[i], gens[i] = r.Subject, int32(r.Generation)
	}
	rows, err := k.db.Query(ctx, `
		SELECT k.subject, k.generation, k.key
		FROM privacy.keys k JOIN unnest($1::text[], $2::int[]) AS r(subject, generation) USING (subject, generation)
		WHERE k.key IS NOT NULL`, subjects, gens)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	out := map[domain.KeyRef][]byte{}
	for rows.Next() {
		var r domain.KeyRef
		var key []byte
		if err := rows.Scan(&r.Subject, &r.Generation, &key); err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		out[r] = key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return out, nil
}

// Erased implements domain.Keyring.
func (k *Keyring) Erased(ctx context.Context, subjects []string) (map[string]bool, error) {
	rows, err := k.db.Query(ctx, `SELECT DISTINCT subject FROM privacy.keys WHERE subject = ANY($1) AND erased_at IS NOT NULL`, subjects)
	if err != nil {
		return nil, fmt.Errorf("erased subjects: %w", err)
	}
	out := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("erased subjects: %w", err)
		}
		out[s] = true
	}
	return out, rows.Err()
}

// AnyErased implements domain.Keyring.
func (k *Keyring) AnyErased(ctx context.Context) (bool, error) {
	var some bool
	if err := k.db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM privacy.keys WHERE erased_at IS NOT NULL)`).Scan(&some); err != nil {
		return false, fmt.Errorf("erased subjects: %w", err)
	}
	return some, nil
}

// Erase implements domain.Keyring: one transaction destroys the
// subject's live key and marks every generation erased.
func (k *Keyring) Erase(ctx context.Context, subject string) (domain.Erasure, error) {
	var out domain.Erasure
	err := pgx.BeginFunc(ctx, k.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			WITH d AS (
				UPDATE privacy.keys SET key = NULL, erased_at = now()
				WHERE subject = $1 AND erased_at IS NULL
				RETURNING generation
			)
			SELECT count(*) FILTER (WHERE generation > 0) FROM d`, subject).Scan(&out.Destroyed); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(max(generation), 0) FROM privacy.keys WHERE subject = $1`, subject).
			Scan(&n, &out.Through); err != nil {
			return err
		}
		out.Known = n > 0
		return nil
	})
	if err != nil {
		return domain.Erasure{}, fmt.Errorf("erase %s: %w", subject, err)
	}
	return out, nil
}

// PlainScan is what ScanPlain found.
type PlainScan struct {
	// From and To are the positions scanned this time (none when equal).
	From, To int64
	// Events holding personal data in plain text found this time, and
	// Subjects recorded for them.
	Events, Subjects int
	// Total is how many such events the log holds, over every scan.
	Total int64
}

// ScanPlain reads the log from where its last scan stopped to its head and
// records every data subject with personal data in plain text, written
// before the log sealed personal data, so that the subject can be erased.
// New events are sealed, so after the first scan it finds nothing more;
// civic serve and civic erase run it so that it is always done.
func (k *Keyring) ScanPlain(ctx context.Context, store eventstore.Store, types *domain.Types) (PlainScan, error) {
	var out PlainScan
	if err := k.db.QueryRow(ctx, `SELECT position, events FROM privacy.plain_scan`).Scan(&out.From, &out.Total); err != nil {
		return out, fmt.Errorf("plain-text scan: %w", err)
	}
	out.To = out.From
	for {
		events, err := store.ReadAll(ctx, out.To, 5000)
		if err != nil {
			return out, fmt.Errorf("plain-text scan: %w", err)
		}
		if len(events) == 0 {
			break
		}
		var subjects []string
		found := 0
		for _, e := range events {
			s, err := types.Subjects(e)
			if err != nil {
				return out, fmt.Errorf("plain-text scan: %w", err)
			}
			if len(s) > 0 {
				found++
				subjects = append(subjects, s...)
			}
		}
		last := events[len(events)-1].Position
		err = pgx.BeginFunc(ctx, k.db, func(tx pgx.Tx) error {
			if len(subjects) > 0 {
				tag, err := tx.Exec(ctx, `INSERT INTO privacy.keys (subject, generation) SELECT DISTINCT unnest($1::text[]), 0 ON CONFLICT DO NOTHING`, subjects)
				if err != nil {
					return err
				}
				out.Subjects += int(tag.RowsAffected())
			}
			tag, err := tx.Exec(ctx, `UPDATE privacy.plain_scan SET position = $2, events = events + $3, updated_at = now() WHERE position = $1`,
				out.To, last, found)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errors.New("another scan moved the checkpoint; run it again")
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("plain-text scan: %w", err)
		}
		out.To, out.Events, out.Total = last, out.Events+found, out.Total+int64(found)
	}
	return out, nil
}
