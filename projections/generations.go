package projections

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/civicledger/civicledger/domain/catalog"
	"io/fs"
	"regexp"
	"time"

	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates the control schema (projections) and the
// readers' schema (rm). Every process that runs, rebuilds or reports on
// projections expects it applied; concurrent calls are safe.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Apply(ctx, db, "projections", sub)
	return err
}

// States of a generation.
const (
	// StateBuilding: filling from position 0; readers do not see it yet.
	StateBuilding = "building"
	// StateActive: the generation the rm views show. At most one per
	// projection.
	StateActive = "active"
	// StateRetired: replaced by a newer generation, or abandoned before it
	// was activated. Its schema is dropped.
	StateRetired = "retired"
)

// stateRank orders states the way a generation moves through them, so that
// a stale read never takes a generation back.
func stateRank(s string) int {
	switch s {
	case StateBuilding:
		return 1
	case StateActive:
		return 2
	case StateRetired:
		return 3
	}
	return 0
}

// generation is a row of projections.generations.
type generation struct {
	name         string
	gen          int
	version      int
	schema       string
	state        string
	position     int64
	lastError    string
	errorSince   time.Time // zero when not failing
	updatedAt    time.Time
	createdAt    time.Time
	activatedAt  time.Time // zero until activated
	schemaExists bool
}

func (g generation) key() string { return lockName(g.name, g.gen) }

// lockName names a generation's leader lock (and is the advisory lock's
// second key, through hashtext).
func lockName(name string, gen int) string { return fmt.Sprintf("%s/%d", name, gen) }

func schemaName(name string, gen int) string { return fmt.Sprintf("proj_%s_%d", name, gen) }

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// searchPath is the search_path a generation's Setup and Handle run with:
// its schema first, so projections name their tables unqualified, then
// public for shared functions and types.
func searchPath(schema string) string { return quoteIdent(schema) + ", public" }

const setSearchPathSQL = `SELECT set_config('search_path', $1, true)`

const generationColumns = `name, generation, version, schema, state, position,
	coalesce(last_error, ''), error_since, updated_at, created_at, activated_at,
	to_regnamespace(schema) IS NOT NULL`

func scanGeneration(row pgx.Row) (generation, error) {
	var g generation
	var errorSince, activatedAt *time.Time
	err := row.Scan(&g.name, &g.gen, &g.version, &g.schema, &g.state, &g.position,
		&g.lastError, &errorSince, &g.updatedAt, &g.createdAt, &activatedAt, &g.schemaExists)
	if errorSince != nil {
		g.errorSince = *errorSince
	}
	if activatedAt != nil {
		g.activatedAt = *activatedAt
	}
	return g, err
}

// loadGenerations reads every generation of every projection, ordered by
// name and generation.
func loadGenerations(ctx context.Context, db *pgxpool.Pool) ([]generation, error) {
	rows, err := db.Query(ctx, `SELECT `+generationColumns+` FROM projections.generations ORDER BY name, generation`)
	if err != nil {
		return nil, fmt.Errorf("generations: %w", err)
	}
	gens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (generation, error) { return scanGeneration(r) })
	if err != nil {
		return nil, fmt.Errorf("generations: %w", err)
	}
	return gens, nil
}

// loadGeneration reads one generation; ok is false when there is none.
func loadGeneration(ctx context.Context, db *pgxpool.Pool, name string, gen int) (g generation, ok bool, err error) {
	g, err = scanGeneration(db.QueryRow(ctx, `SELECT `+generationColumns+`
		FROM projections.generations WHERE name = $1 AND generation = $2`, name, gen))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return generation{}, false, nil
	case err != nil:
		return generation{}, false, fmt.Errorf("generation %s: %w", lockName(name, gen), err)
	}
	return g, true, nil
}

// insertGeneration records generation gen of p, building and empty. The
// caller holds gen's leader lock already: a runner that finds a building
// generation nobody leads may take it over, so nobody may see the row before
// its builder leads it. It reports false when another process took the
// number, or started a build of p, first.
func insertGeneration(ctx context.Context, db *pgxpool.Pool, p Projection, gen int) (bool, error) {
	tag, err := db.Exec(ctx, `INSERT INTO projections.generations (name, generation, version, schema, state)
		VALUES ($1, $2, $3, $4, 'building') ON CONFLICT DO NOTHING`,
		p.Name(), gen, p.Version(), schemaName(p.Name(), gen))
	if err != nil {
		return false, fmt.Errorf("new generation %s: %w", lockName(p.Name(), gen), err)
	}
	return tag.RowsAffected() == 1, nil
}

// errGone: the generation was retired (or never recorded), so its leader
// has nothing left to do.
var errGone = errors.New("generation retired")

// errObsolete: a newer generation became active while this one was built.
var errObsolete = errors.New("a newer generation became active meanwhile")

// setupGeneration creates g's schema and p's tables in it, in one
// transaction, so a generation's schema exists exactly when it is set up.
func setupGeneration(ctx context.Context, db *pgxpool.Pool, p Projection, g generation) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM projections.generations
			WHERE name = $1 AND generation = $2 FOR UPDATE`, g.name, g.gen).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && state != StateBuilding {
			return errGone
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+quoteIdent(g.schema)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setSearchPathSQL, searchPath(g.schema)); err != nil {
			return err
		}
		if err := callSafely(func() error { return p.Setup(ctx, tx) }); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		return nil
	})
}

// retireGeneration retires g if it is still in state from, and reports
// whether it did.
func retireGeneration(ctx context.Context, db *pgxpool.Pool, g generation, from string) (bool, error) {
	tag, err := db.Exec(ctx, `UPDATE projections.generations SET state = 'retired', updated_at = now()
		WHERE name = $1 AND generation = $2 AND state = $3`, g.name, g.gen, from)
	if err != nil {
		return false, fmt.Errorf("retire %s: %w", g.key(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// dropSchema drops the schema of a retired generation, waiting for queries
// still reading it. It never drops the schema of a generation in any other
// state.
func dropSchema(ctx context.Context, db *pgxpool.Pool, schema string) error {
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// The switching leader and any runner tidying up may drop the same
		// schema at once; they take turns, and the second finds it gone.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClass, "drop/"+schema); err != nil {
			return err
		}
		var retired bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM projections.generations
			WHERE schema = $1 AND state = 'retired')`, schema).Scan(&retired); err != nil {
			return err
		}
		if !retired {
			return fmt.Errorf("schema %s belongs to no retired generation", schema)
		}
		_, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(schema)+` CASCADE`)
		return err
	})
	if err != nil {
		return fmt.Errorf("drop %s: %w", schema, err)
	}
	return nil
}

// switchLockTimeout bounds how long a switch waits for readers of the rm
// views. Readers arriving meanwhile queue behind it, so it gives up early
// and tries again rather than stall them behind one long query.
const switchLockTimeout = "2s"

// activate switches readers to g, which this process leads and has built
// up to g.position. In one transaction it brings g level with the active
// generation if that one moved on meanwhile (so that readers never see the
// read model go back, which would break read-your-writes), re-points the rm
// views, retires the old generation and activates g. It returns the retired
// generation's schema, "" when there was none, and updates g.
func (r *Runner) activate(ctx context.Context, p Projection, g *generation) (string, error) {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)

	// Locking the rows waits for a batch of the active generation in
	// flight (its checkpoint update holds the row) and keeps later ones
	// out until the switch commits; they then find it retired.
	rows, err := tx.Query(ctx, `SELECT `+generationColumns+` FROM projections.generations
		WHERE name = $1 AND state IN ('building', 'active') ORDER BY generation FOR UPDATE`, g.name)
	if err != nil {
		return "", fmt.Errorf("lock generations: %w", err)
	}
	gens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (generation, error) { return scanGeneration(r) })
	if err != nil {
		return "", fmt.Errorf("lock generations: %w", err)
	}
	var self, old *generation
	for i := range gens {
		switch {
		case gens[i].gen == g.gen:
			self = &gens[i]
		case gens[i].state == StateActive:
			old = &gens[i]
		}
	}
	if self == nil || self.state != StateBuilding || self.position != g.position {
		return "", errConflict
	}
	if old != nil && (old.version > g.version || old.gen > g.gen) {
		if _, err := tx.Exec(ctx, `UPDATE projections.generations SET state = 'retired', updated_at = now()
			WHERE name = $1 AND generation = $2`, g.name, g.gen); err != nil {
			return "", err
		}
		if err := tx.Commit(ctx); err != nil {
			return "", err
		}
		g.state = StateRetired
		return "", errObsolete
	}

	pos := g.position
	if old != nil && old.position > pos {
		if _, err := tx.Exec(ctx, setSearchPathSQL, searchPath(g.schema)); err != nil {
			return "", err
		}
		for pos < old.position {
			events, err := r.store.ReadAll(ctx, pos, int(min(old.position-pos, int64(r.opts.BatchSize))))
			if err != nil {
				return "", err
			}
			if len(events) == 0 {
				return "", fmt.Errorf("log ends at %d, before the active generation's position %d", pos, old.position)
			}
			if _, err := catalog.Types.Unseal(ctx, r.opts.Keys, events); err != nil {
				return "", err
			}
			if err := Apply(ctx, tx, p, events); err != nil {
				return "", err
			}
			pos = events[len(events)-1].Position
		}
	}

	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+switchLockTimeout+`'`); err != nil {
		return "", err
	}
	oldSchema := ""
	if old != nil {
		oldSchema = old.schema
		// Before activating g: the unique index allows one active row.
		if _, err := tx.Exec(ctx, `UPDATE projections.generations SET state = 'retired', updated_at = now()
			WHERE name = $1 AND generation = $2`, old.name, old.gen); err != nil {
			return "", fmt.Errorf("retire %s: %w", old.key(), err)
		}
	}
	var activatedAt time.Time
	if err := tx.QueryRow(ctx, `UPDATE projections.generations
		SET state = 'active', position = $3, activated_at = now(), updated_at = now(),
		    last_error = NULL, error_since = NULL
		WHERE name = $1 AND generation = $2 RETURNING activated_at`, g.name, g.gen, pos).Scan(&activatedAt); err != nil {
		return "", fmt.Errorf("activate: %w", err)
	}
	if err := repoint(ctx, tx, p.Tables(), g.schema, oldSchema); err != nil {
		return "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("commit switch: %w", err)
	}
	g.state, g.position, g.activatedAt, g.updatedAt = StateActive, pos, activatedAt, activatedAt
	g.lastError, g.errorSince = "", time.Time{}
	return oldSchema, nil
}

// columnsSQL compares the columns (names and types, in order) of relations
// $1 and $2, and tells which exist.
const columnsSQL = `
	WITH cols AS (
		SELECT c.rel, array_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) AS list
		FROM (VALUES (1, to_regclass($1)), (2, to_regclass($2))) c (rel, oid)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		GROUP BY c.rel)
	SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL,
		(SELECT list FROM cols WHERE rel = 1) IS NOT DISTINCT FROM (SELECT list FROM cols WHERE rel = 2)`

// staleViewsSQL finds the views in rm that read tables of schema $1.
const staleViewsSQL = `
	SELECT DISTINCT v.relname::text
	FROM pg_depend d
	JOIN pg_rewrite w ON w.oid = d.objid
	JOIN pg_class v ON v.oid = w.ev_class
	JOIN pg_class t ON t.oid = d.refobjid
	WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
	  AND v.relnamespace = 'rm'::regnamespace AND t.relnamespace = to_regnamespace($1)
	ORDER BY 1`

// repoint makes each rm view of tables read schema's table of the same
// name, and drops the rm views still reading oldSchema: tables the new
// version no longer has. A view keeps its identity (CREATE OR REPLACE) when
// the columns are unchanged, and is dropped and created again otherwise,
// which PostgreSQL requires.
func repoint(ctx context.Context, tx pgx.Tx, tables []string, schema, oldSchema string) error {
	for _, t := range tables {
		view, table := "rm."+quoteIdent(t), quoteIdent(schema)+"."+quoteIdent(t)
		var viewExists, tableExists, same bool
		if err := tx.QueryRow(ctx, columnsSQL, view, table).Scan(&viewExists, &tableExists, &same); err != nil {
			return fmt.Errorf("view %s: %w", view, err)
		}
		if !tableExists {
			return fmt.Errorf("view %s: no table %s (Setup must create every table Tables lists)", view, table)
		}
		if viewExists && !same {
			if _, err := tx.Exec(ctx, `DROP VIEW `+view); err != nil {
				return fmt.Errorf("view %s: %w", view, err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE OR REPLACE VIEW `+view+` AS SELECT * FROM `+table); err != nil {
			return fmt.Errorf("view %s: %w", view, err)
		}
	}
	if oldSchema == "" {
		return nil
	}
	rows, err := tx.Query(ctx, staleViewsSQL, oldSchema)
	if err != nil {
		return fmt.Errorf("views of %s: %w", oldSchema, err)
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("views of %s: %w", oldSchema, err)
	}
	for _, v := range stale {
		if _, err := tx.Exec(ctx, `DROP VIEW rm.`+quoteIdent(v)); err != nil {
			return fmt.Errorf("view rm.%s: %w", v, err)
		}
	}
	return nil
}

// callSafely turns a panic in projection code into an error, so that one
// broken projection is retried like a failing one instead of taking every
// other projection (and the server) down with it.
func callSafely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return f()
}

// isLockTimeout reports whether err is PostgreSQL giving up on a lock.
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// maxNameLen keeps proj_<name>_<generation> within PostgreSQL's 63-byte
// identifiers.
const maxNameLen = 40

// validateProjections checks that the projections can live side by side: names usable
// in schema names, and no rm view claimed twice.
func validateProjections(ps []Projection) error {
	names := map[string]bool{}
	tables := map[string]string{}
	for _, p := range ps {
		name := p.Name()
		if !identRE.MatchString(name) || len(name) > maxNameLen {
			return fmt.Errorf("projection %q: a name is lowercase letters, digits and _, starting with a letter, at most %d bytes", name, maxNameLen)
		}
		if names[name] {
			return fmt.Errorf("projection %s: named twice", name)
		}
		names[name] = true
		if len(p.Tables()) == 0 {
			return fmt.Errorf("projection %s: lists no tables", name)
		}
		for _, t := range p.Tables() {
			if !identRE.MatchString(t) || len(t) > 63 {
				return fmt.Errorf("projection %s: table %q: a table name is lowercase letters, digits and _, starting with a letter, at most 63 bytes", name, t)
			}
			if other, ok := tables[t]; ok {
				return fmt.Errorf("projection %s: table %s is claimed by %s too (both would be rm.%s)", name, t, other, t)
			}
			tables[t] = name
		}
	}
	return nil
}
