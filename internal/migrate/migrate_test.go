package migrate_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/civicledger/civicledger/internal/migrate"
	"github.com/civicledger/civicledger/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func files(m map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for name, sql := range m {
		fs[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fs
}

func TestApplyOnceInOrder(t *testing.T) {
	db := testdb.Pool(t)
	ctx := context.Background()
	fs := files(map[string]string{
		"0002_add.sql":    `INSERT INTO things VALUES (2)`,
		"0001_create.sql": `CREATE TABLE things (n int); INSERT INTO things VALUES (1)`,
		"0010_more.sql":   `INSERT INTO things VALUES (10)`,
		"README.md":       `not a migration`,
	})
	applied, err := migrate.Apply(ctx, db, "test", fs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(applied, ","); got != "0001_create.sql,0002_add.sql,0010_more.sql" {
		t.Fatalf("applied %s, want the three in version order", got)
	}
	again, err := migrate.Apply(ctx, db, "test", fs)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Apply = %v, %v; want nothing applied", again, err)
	}
	var sum int
	if err := db.QueryRow(ctx, `SELECT sum(n) FROM things`).Scan(&sum); err != nil || sum != 13 {
		t.Fatalf("sum(n) = %d, %v; want 13 (each migration once)", sum, err)
	}
	// Another component's migrations are tracked apart.
	other, err := migrate.Apply(ctx, db, "other", files(map[string]string{"0001_x.sql": `CREATE TABLE other_things (n int)`}))
	if err != nil || len(other) != 1 {
		t.Fatalf("other component: %v, %v; want its one migration applied", other, err)
	}
}

func TestApplyRefusesEditedMigration(t *testing.T) {
	db := testdb.Pool(t)
	ctx := context.Background()
	if _, err := migrate.Apply(ctx, db, "test", files(map[string]string{"0001_a.sql": `CREATE TABLE a (n int)`})); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Apply(ctx, db, "test", files(map[string]string{
		"0001_a.sql": `CREATE TABLE a (n bigint)`,
		"0002_b.sql": `CREATE TABLE b (n int)`,
	}))
	if err == nil || !strings.Contains(err.Error(), "0001_a.sql was changed") {
		t.Fatalf("Apply over an edited migration: %v, want an error naming it", err)
	}
	var exists bool
	if err := db.QueryRow(ctx, `SELECT to_regclass('b') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("table b exists = %v, %v; nothing after the edited migration may run", exists, err)
	}
}

func TestApplyRollsBackAFailedMigration(t *testing.T) {
	db := testdb.Pool(t)
	ctx := context.Background()
	_, err := migrate.Apply(ctx, db, "test", files(map[string]string{
		"0001_ok.sql":  `CREATE TABLE ok (n int)`,
		"0002_bad.sql": `CREATE TABLE half (n int); SELECT no_such_function()`,
	}))
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("Apply with a failing migration: %v, want an error naming it", err)
	}
	var half bool
	if err := db.QueryRow(ctx, `SELECT to_regclass('half') IS NOT NULL`).Scan(&half); err != nil || half {
		t.Fatalf("half-applied migration left table half = %v, %v", half, err)
	}
	// Fixed, it applies; the good one before it is not applied twice.
	applied, err := migrate.Apply(ctx, db, "test", files(map[string]string{
		"0001_ok.sql":  `CREATE TABLE ok (n int)`,
		"0002_bad.sql": `CREATE TABLE half (n int)`,
	}))
	if err != nil || strings.Join(applied, ",") != "0002_bad.sql" {
		t.Fatalf("Apply after the fix = %v, %v; want only 0002_bad.sql", applied, err)
	}
}

func TestApplyConcurrently(t *testing.T) {
	db := testdb.Pool(t)
	fs := files(map[string]string{"0001_t.sql": `CREATE TABLE t (n int)`})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	total := make(chan int, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied, err := migrate.Apply(context.Background(), db, "test", fs)
			errs <- err
			total <- len(applied)
		}()
	}
	wg.Wait()
	close(errs)
	close(total)
	n := 0
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range total {
		n += k
	}
	if n != 1 {
		t.Fatalf("four concurrent Applies applied the migration %d times, want 1", n)
	}
}

func TestLoadRejectsBadNames(t *testing.T) {
	for _, fs := range []fstest.MapFS{
		files(map[string]string{"create.sql": ``}),
		files(map[string]string{"0001_a.sql": ``, "1_b.sql": ``}),
		files(map[string]string{"0000_zero.sql": ``}),
	} {
		if _, err := migrate.Load(fs); err == nil {
			t.Errorf("Load(%v) succeeded, want an error", fs)
		}
	}
}
