// Package projtest checks projections against real PostgreSQL, for the
// tests of each read model: that applying events again, in any batches,
// changes nothing (the Projection contract), and what a generation's
// tables hold.
//
// It runs a projection the way the Runner does (Setup, then Apply through
// projections.Apply in a transaction whose search_path starts with the
// generation's schema), but in a schema of its own, with no control tables
// or event store needed.
package projtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Build sets p up in a fresh schema, applies events to it in one
// transaction, and returns the schema's name, for a test to query p's
// tables (or pass to Tables). The schema is dropped when the test ends.
func Build(t testing.TB, db *pgxpool.Pool, p projections.Projection, events []eventstore.Event) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "projtest_" + p.Name() + "_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE SCHEMA `+ident(schema)); err != nil {
		t.Fatalf("projtest: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(context.Background(), `DROP SCHEMA `+ident(schema)+` CASCADE`); err != nil {
			t.Errorf("projtest: drop %s: %v", schema, err)
		}
	})
	if err := inSchema(ctx, db, schema, func(tx pgx.Tx) error { return p.Setup(ctx, tx) }); err != nil {
		t.Fatalf("projtest: %s: Setup: %v", p.Name(), err)
	}
	apply(t, db, p, schema, events)
	return schema
}

// newSchema creates an empty schema with p's tables, dropped when the test
// ends.
func newSchema(t testing.TB, db *pgxpool.Pool, p projections.Projection) string {
	t.Helper()
	return Build(t, db, p, nil)
}

// Idempotent applies events to p in a fresh schema, snapshots every table
// (all rows, ordered, as text), applies the same events again, and fails
// the test if any table changed. That is what the Runner relies on when a
// batch is retried after a commit it could not confirm.
//
// Since a projection may fold a batch's events together, it also builds
// the tables again from the same events cut into other batches (one event
// each; three runs; and runs that overlap, each replaying the second half
// of the one before) and fails the test unless each ends as the single
// batch did.
//
// It also fails when events is empty or leaves every table empty, since
// the check would then prove nothing.
func Idempotent(t testing.TB, db *pgxpool.Pool, p projections.Projection, events []eventstore.Event) {
	t.Helper()
	if len(events) == 0 {
		t.Fatalf("projtest: %s: no events, so the check would prove nothing", p.Name())
	}
	schema := Build(t, db, p, events)
	once := Tables(t, db, p, schema)
	empty := true
	for _, rows := range once {
		empty = empty && len(rows) == 0
	}
	if empty {
		t.Fatalf("projtest: %s: the events left every table empty, so the check would prove nothing", p.Name())
	}
	apply(t, db, p, schema, events)
	same(t, p, "applying the events again", once, Tables(t, db, p, schema))

	n := len(events)
	cuts := map[string][][2]int{"one event per batch": nil, "three batches": nil, "overlapping batches": nil}
	for i := range n {
		cuts["one event per batch"] = append(cuts["one event per batch"], [2]int{i, i + 1})
	}
	third := max(n/3, 1)
	for i := 0; i < n; i += third {
		cuts["three batches"] = append(cuts["three batches"], [2]int{i, min(i+third, n)})
	}
	for i := 0; i < n; {
		end := min(i+third, n)
		cuts["overlapping batches"] = append(cuts["overlapping batches"], [2]int{max(i-third/2, 0), end})
		i = end
	}
	for _, name := range []string{"one event per batch", "three batches", "overlapping batches"} {
		schema := newSchema(t, db, p)
		for _, c := range cuts[name] {
			apply(t, db, p, schema, events[c[0]:c[1]])
		}
		same(t, p, "applying the events in "+name, once, Tables(t, db, p, schema))
	}
}

// same fails the test if the tables differ from want.
func same(t testing.TB, p projections.Projection, what string, want, got map[string][]string) {
	t.Helper()
	for _, table := range p.Tables() {
		if d := diff(want[table], got[table]); d != "" {
			t.Errorf("projtest: %s: %s changed table %s:\n%s", p.Name(), what, table, d)
		}
	}
}

// Tables returns the rows of each of p's tables in schema (a generation's
// schema, one from Build, or "rm" for the views readers see), each row as
// its text form, sorted bytewise: a deterministic picture for comparing
// generations.
func Tables(t testing.TB, db *pgxpool.Pool, p projections.Projection, schema string) map[string][]string {
	t.Helper()
	out := make(map[string][]string, len(p.Tables()))
	for _, table := range p.Tables() {
		// The subquery names the row text r, which ORDER BY could confuse
		// with a column of the table named r.
		q := `SELECT r FROM (SELECT ROW(x.*)::text FROM ` + ident(schema) + `.` + ident(table) + ` AS x) s (r)
			ORDER BY r COLLATE "C"`
		rows, err := db.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("projtest: %s.%s: %v", schema, table, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("projtest: %s.%s: %v", schema, table, err)
		}
		out[table] = got
	}
	return out
}

func apply(t testing.TB, db *pgxpool.Pool, p projections.Projection, schema string, events []eventstore.Event) {
	t.Helper()
	if len(events) == 0 {
		return
	}
	ctx := context.Background()
	err := inSchema(ctx, db, schema, func(tx pgx.Tx) error { return projections.Apply(ctx, tx, p, events) })
	if err != nil {
		t.Fatalf("projtest: %s: Apply: %v", p.Name(), err)
	}
}

// inSchema runs f in a transaction with schema first on the search path,
// as the Runner runs Setup and Apply.
func inSchema(ctx context.Context, db *pgxpool.Pool, schema string, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, ident(schema)+", public"); err != nil {
			return err
		}
		return f(tx)
	})
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// diff describes how two sorted row lists differ, "" when they do not.
func diff(before, after []string) string {
	if slices.Equal(before, after) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %d rows before, %d after\n", len(before), len(after))
	i, j, shown := 0, 0, 0
	line := func(sign, row string) {
		if shown < 20 {
			fmt.Fprintf(&b, "  %s %s\n", sign, row)
		}
		shown++
	}
	for i < len(before) || j < len(after) {
		switch {
		case j == len(after) || i < len(before) && before[i] < after[j]:
			line("-", before[i])
			i++
		case i == len(before) || after[j] < before[i]:
			line("+", after[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	if shown > 20 {
		fmt.Fprintf(&b, "  … and %d more\n", shown-20)
	}
	return b.String()
}
