package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestEventStoreSetting: CIVIC_EVENTSTORE and KURRENTDB_URL are checked
// together, and the demo is not loaded into a KurrentDB by default.
func TestEventStoreSetting(t *testing.T) {
	tests := []struct {
		env  map[string]string
		err  string
		demo bool
	}{
		{map[string]string{}, "", true},
		{map[string]string{"CIVIC_EVENTSTORE": "postgres"}, "", true},
		{map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://localhost:2113"}, "", false},
		{map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://localhost:2113", "CIVIC_DEMO": "on"}, "", true},
		{map[string]string{"CIVIC_EVENTSTORE": "eventstoredb"}, `CIVIC_EVENTSTORE "eventstoredb": want postgres or kurrent`, false},
		{map[string]string{"CIVIC_EVENTSTORE": "kurrent"}, "CIVIC_EVENTSTORE=kurrent needs KURRENTDB_URL", false},
		{map[string]string{"KURRENTDB_URL": "esdb://localhost:2113"}, "KURRENTDB_URL is set but CIVIC_EVENTSTORE is not kurrent", false},
		// Checked with the configuration, before anything starts.
		{map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://localhost:2113?tls=maybe"}, "KURRENTDB_URL", false},
		{map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://localhost:2113", "KURRENTDB_NAMESPACE": "Staging.1"}, `KURRENTDB_NAMESPACE "Staging.1"`, false},
	}
	for _, tt := range tests {
		m := &Main{Getenv: func(k string) string { return tt.env[k] }}
		c, err := m.config()
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("config(%v) = %v; want an error containing %q", tt.env, err, tt.err)
			}
		case err != nil:
			t.Errorf("config(%v) = %v", tt.env, err)
		case c.loadDemo() != tt.demo:
			t.Errorf("config(%v).loadDemo() = %v; want %v", tt.env, c.loadDemo(), tt.demo)
		}
	}
}

// TestKurrentBadInput: a malformed KURRENTDB_URL, and a KurrentDB that
// does not answer, are refused naming them (never echoing a password),
// within a bound, with nothing written to the ledger's database.
func TestKurrentBadInput(t *testing.T) {
	url := testdb.URL(t)
	base := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir(), "CIVIC_EVENTSTORE": "kurrent"}
	tests := []struct {
		url, want string
	}{
		{"kurrentdb://civic:s3cret@[::1", "KURRENTDB_URL"},
		{"http://localhost:2113", `KURRENTDB_URL: unknown scheme "http"`},
		{"kurrentdb://", "KURRENTDB_URL: no host"},
		{"kurrentdb://civic:s3cret@127.0.0.1:1?tls=false", "KurrentDB at 127.0.0.1:1 unreachable"},
	}
	for _, tt := range tests {
		env := map[string]string{"KURRENTDB_URL": tt.url}
		for k, v := range base {
			env[k] = v
		}
		start := time.Now()
		code, out, errOut := run(t, env, "import", "registry")
		if code != exitError || !strings.Contains(errOut, tt.want) || strings.Contains(errOut+out, "s3cret") {
			t.Errorf("civic import registry with KURRENTDB_URL=%s = %d, %q; want %d naming %q, without the password", tt.url, code, errOut, exitError, tt.want)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("KURRENTDB_URL=%s took %s to refuse", tt.url, d)
		}
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM eventstore.events`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the database holds %d events after the refusals (%v); want none", n, err)
	}

	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"copy-events", "--from", "postgres", "--to", "postgres"}, nil, "--from and --to are both postgres"},
		{[]string{"backup", "/tmp/civic-never-written.backup"}, map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://127.0.0.1:1"}, "the events are in KurrentDB"},
		{[]string{"checkpoint"}, map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://127.0.0.1:1"}, "the server's follower signs the log"},
		{[]string{"restore", "/tmp/civic-never-written.backup"}, map[string]string{"CIVIC_EVENTSTORE": "kurrent", "KURRENTDB_URL": "kurrentdb://127.0.0.1:1"}, "the events are in KurrentDB"},
		{[]string{"copy-events", "--from", "mysql", "--to", "kurrent"}, nil, `--from "mysql": want postgres or kurrent`},
		{[]string{"copy-events", "--from", "postgres"}, nil, `--to "": want postgres or kurrent`},
		{[]string{"copy-events", "--from", "postgres", "--to", "kurrent"}, map[string]string{"DATABASE_URL": url}, "KURRENTDB_URL is not set"},
		{[]string{"copy-events", "--from", "postgres", "--to", "kurrent"}, map[string]string{"DATABASE_URL": url, "KURRENTDB_URL": "kurrentdb://127.0.0.1:1?tls=false"}, "unreachable"},
	} {
		code, _, errOut := run(t, tt.env, tt.args...)
		if code != exitError || !strings.Contains(errOut, tt.want) {
			t.Errorf("civic %s = %d, %q; want %d naming %q", strings.Join(tt.args, " "), code, errOut, exitError, tt.want)
		}
	}
}
