// Package migrate applies a component's embedded SQL migrations once each,
// in order, and refuses to run over a database whose applied migrations were
// edited since: a changed migration means the schema in the database is not
// the one the code was written for.
package migrate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey serialises migrations of every component, so two servers starting
// at once do not both apply the same file.
const lockKey = 0x6d696772 // "migr"

// Migration is one SQL file: NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations of fsys (every *.sql file at its root), sorted
// by version. Names must start with a number and be unique by it.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: path.Base(name), SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// Apply applies the migrations of fsys not yet recorded for component, each
// in its own transaction, and returns the names it applied. It returns an
// error, applying nothing more, when an applied migration's text has changed.
func Apply(ctx context.Context, db *pgxpool.Pool, component string, fsys fs.FS) ([]string, error) {
	migrations, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", component, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return nil, fmt.Errorf("migrate %s: lock: %w", component, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.civic_migrations (
		component  text        NOT NULL,
		version    integer     NOT NULL,
		name       text        NOT NULL,
		checksum   bytea       NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", component, err)
	}
	applied := map[int][]byte{}
	rows, err := conn.Query(ctx, `SELECT version, checksum FROM public.civic_migrations WHERE component = $1`, component)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", component, err)
	}
	for rows.Next() {
		var v int
		var sum []byte
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		applied[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", component, err)
	}

	var done []string
	for _, m := range migrations {
		sum := sha256.Sum256([]byte(m.SQL))
		if prev, ok := applied[m.Version]; ok {
			if string(prev) != string(sum[:]) {
				return done, fmt.Errorf("migrate %s: %s was changed after it was applied; add a new migration instead", component, m.Name)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO public.civic_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)`,
				component, m.Version, m.Name, sum[:])
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migrate %s: %s: %w", component, m.Name, err)
		}
		done = append(done, m.Name)
	}
	return done, nil
}
