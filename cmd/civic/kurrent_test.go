//go:build kurrent

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestCopyEventsKurrent moves a signed ledger from PostgreSQL to the
// KurrentDB at KURRENTDB_URL and back, with civic copy-events: civic
// verify passes on KurrentDB (through the dense index, in a database of
// its own) and on the PostgreSQL it came back to, and every event kept its
// ID, stream, version, data, metadata and place in the log. Run by make
// test-kurrent; it fails, never skips, without KURRENTDB_URL.
func TestCopyEventsKurrent(t *testing.T) {
	kurrentURL := os.Getenv("KURRENTDB_URL")
	if kurrentURL == "" {
		t.Fatal("KURRENTDB_URL is not set: make test-kurrent runs this against a KurrentDB (docker compose --profile kurrent up kurrentdb)")
	}
	ns := fmt.Sprintf("copy%d", time.Now().UnixNano())
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	key, err := loadSigningKey(keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	from, index, back := testdb.URL(t), testdb.URL(t), testdb.URL(t)
	env := func(db string, kurrent bool) map[string]string {
		e := map[string]string{"DATABASE_URL": db, "CIVIC_SIGNING_KEY": keyPath, "CIVIC_DATA_DIR": t.TempDir(),
			"KURRENTDB_URL": kurrentURL, "KURRENTDB_NAMESPACE": ns}
		if kurrent {
			e["CIVIC_EVENTSTORE"] = "kurrent"
		}
		return e
	}
	for _, db := range []string{from, back} {
		if code, out, errOut := run(t, map[string]string{"DATABASE_URL": db, "CIVIC_DATA_DIR": t.TempDir()}, "migrate"); code != 0 {
			t.Fatalf("civic migrate = %d: %s%s", code, out, errOut)
		}
	}
	pool, err := pgxpool.New(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	appendSigned(t, pool, key, 200)

	steps := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env(from, false), []string{"copy-events", "--from", "postgres", "--to", "kurrent"}, "copied 200 events"},
		{env(from, false), []string{"copy-events", "--from", "postgres", "--to", "kurrent"}, "copied 200 events"}, // again: retries
		{env(index, true), []string{"verify"}, "intact: positions 1..200 over KurrentDB"},
		{env(back, false), []string{"copy-events", "--from", "kurrent", "--to", "postgres"}, "copied 200 events"},
	}
	for _, s := range steps {
		if code, out, errOut := run(t, s.env, s.args...); code != 0 || !strings.Contains(out, s.want) {
			t.Fatalf("civic %s = %d: %s%s; want %q", strings.Join(s.args, " "), code, out, errOut, s.want)
		}
	}
	// The copy back is signed by the server's key when it next runs:
	// sign it here, then verify it.
	bp, err := pgxpool.New(context.Background(), back)
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	if code, out, errOut := run(t, env(back, false), "checkpoint"); code != 0 {
		t.Fatalf("civic checkpoint = %d: %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env(back, false), "verify"); code != 0 || !strings.Contains(out, "log intact: positions 1..200") {
		t.Fatalf("civic verify on the copy back = %d: %s%s", code, out, errOut)
	}
	ctx := context.Background()
	want, err := postgres.New(pool, postgres.Options{}).ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	got, err := postgres.New(bp, postgres.Options{}).ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the copy back holds %d events, want %d", len(got), len(want))
	}
	for i := range want {
		a, b := want[i], got[i]
		if a.ID != b.ID || a.Stream != b.Stream || a.Version != b.Version || a.Position != b.Position ||
			string(a.Data) != string(b.Data) || a.Metadata != b.Metadata || !a.OccurredAt.Equal(b.OccurredAt) || a.Type != b.Type {
			t.Fatalf("position %d: %+v came back as %+v", a.Position, a, b)
		}
	}
}
