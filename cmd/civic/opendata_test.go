package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/opendata"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
)

// TestExportOpenDataCommand: `civic export DIR` writes the open data,
// every file the ZIP holds, byte for byte, and the ZIP.
func TestExportOpenDataCommand(t *testing.T) {
	url := testdb.URL(t)
	env := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir()}
	store := sequence(t, url)
	if code, out, errOut := run(t, env, "import", "registry"); code != 0 {
		t.Fatalf("civic import registry = %d, %q, %q", code, out, errOut)
	}
	// The read models, built as a server's projections would.
	ctx, stop := context.WithCancel(context.Background())
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []func(context.Context, *pgxpool.Pool) error{projections.Migrate, keyring.Migrate} {
		if err := m(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	runner := projections.NewRunner(pool, store, projections.All(), projections.Options{Keys: keyring.New(pool)})
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done; pool.Close() })
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		st, err := store.Status(wctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && st.Head >= 81 {
			if err := runner.WaitFor(wctx, st.Head); err != nil {
				t.Fatal(err)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	dir := t.TempDir()
	code, out, errOut := run(t, env, "export", dir)
	if code != 0 || !strings.Contains(out, "at log position") {
		t.Fatalf("civic export DIR = %d, %q, %q", code, out, errOut)
	}
	if err := opendata.VerifyDir(dir); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"datapackage.json", "README.md", opendata.IATIName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("civic export DIR wrote no %s: %v", name, err)
		}
	}
	muni, _ := os.ReadFile(filepath.Join(dir, "municipalities.csv"))
	if n := bytes.Count(muni, []byte("\n")); n != 70 {
		t.Errorf("municipalities.csv has %d lines, want a header and 69 municipalities", n)
	}

	// The same through `civic export opendata DIR`; and the usage.
	other := t.TempDir()
	if code, _, errOut := run(t, env, "export", "opendata", other); code != 0 {
		t.Fatalf("civic export opendata DIR = %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(other, "README.md")); err != nil {
		t.Error(err)
	}
	if code, _, errOut := run(t, env, "export"); code != 2 || !strings.Contains(errOut, "civic export DIR") {
		t.Errorf("civic export = %d, %q; want 2 and the usage", code, errOut)
	}
	if code, _, errOut := run(t, env, "export", filepath.Join(dir, "missing")); code != 2 || !strings.Contains(errOut, "is not a directory") {
		t.Errorf("civic export MISSING = %d, %q", code, errOut)
	}
}
