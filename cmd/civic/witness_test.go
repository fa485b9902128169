package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestWitnessOfAServer is an auditor's witness against a real civic
// serve: set up, co-sign, keep the checkpoints; then a superuser cuts the
// log back to an earlier checkpoint, as restoring an older backup would,
// which the database alone cannot show: civic verify --against the
// witness's checkpoints and the witness itself both do.
func TestWitnessOfAServer(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	key, err := loadSigningKey(keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	logKey, err := tlog.VerifierKey(postgres.DefaultOrigin(pub), pub)
	if err != nil {
		t.Fatal(err)
	}
	wdir := filepath.Join(t.TempDir(), "witness")
	env := map[string]string{"DATABASE_URL": url, "CIVIC_SIGNING_KEY": keyPath, "CIVIC_DATA_DIR": t.TempDir(), "CIVIC_CHECKPOINT_EVERY": "20"}
	code, out, errOut := run(t, env, "witness", "init", "--dir", wdir, "--name", "auditor.example/witness", "--log-key", logKey)
	if code != 0 || !strings.Contains(out, "CIVIC_WITNESSES") {
		t.Fatalf("civic witness init = %d, %q, %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	env["CIVIC_WITNESSES"] = lines[len(lines)-1]
	var serveEnv []string
	for k, v := range env {
		serveEnv = append(serveEnv, k+"="+v)
	}
	s := startServer(t, serveEnv...)
	readyzOf(t, s.addr)

	code, out, errOut = run(t, env, "checkpoint")
	if code != 0 || !strings.HasPrefix(out, postgres.DefaultOrigin(pub)+"\n") {
		t.Fatalf("civic checkpoint = %d, %q, %q; want the signed note", code, out, errOut)
	}
	base := "http://" + s.addr
	code, out, errOut = run(t, env, "witness", "run", "--dir", wdir, "--log", base)
	if code != 0 || !strings.Contains(out, "co-signed the checkpoint of size") {
		t.Fatalf("civic witness run = %d, %q, %q", code, out, errOut)
	}
	resp, err := http.Get(base + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	note, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(note), "\u2014 auditor.example/witness ") {
		t.Fatalf("GET /log/checkpoint after the witness co-signed:\n%s\nwant its signature", note)
	}
	code, out, _ = run(t, env, "verify", "--against", wdir)
	if code != 0 || !strings.Contains(out, "1 outside checkpoints agree") || !strings.Contains(out, "1 witness co-signatures") {
		t.Fatalf("civic verify --against the witness = %d, %q; want intact, its checkpoint agreeing and its co-signature counted", code, out)
	}
	bad := filepath.Join(t.TempDir(), "forged.note")
	if err := os.WriteFile(bad, []byte("civic-ledger/x\n1\nAAAA\n\n— x AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, env, "verify", "--against", bad); code != 2 || !strings.Contains(errOut, bad) {
		t.Fatalf("civic verify --against a malformed checkpoint = %d, %q; want 2 naming the file", code, errOut)
	}
	s.stop(t, syscall.SIGTERM)

	// Cut the log back to its checkpoint of size 40.
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`SET session_replication_role = replica`,
		`DELETE FROM eventstore.events e USING eventstore.log l WHERE (e.tx, e.seq) = (l.tx, l.seq) AND l.position > 40`,
		`DELETE FROM eventstore.log WHERE position > 40`,
		`DELETE FROM eventstore.tree WHERE (idx + 1) << level > 40`,
		`DELETE FROM eventstore.cosignatures WHERE size > 40`,
		`DELETE FROM eventstore.tree_checkpoints WHERE size > 40`,
		`SET session_replication_role = DEFAULT`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	conn.Release()

	code, out, _ = run(t, env, "verify")
	if code != 0 {
		t.Fatalf("civic verify with the database alone = %d, %q; want intact: an older state restored is all it can see", code, out)
	}
	code, out, _ = run(t, env, "verify", "--against", wdir)
	if code != 1 || !strings.Contains(out, "position 41 onwards cannot be trusted") || !strings.Contains(out, "deleted from its end") {
		t.Fatalf("civic verify --against the witness = %d, %q; want 1 and position 41", code, out)
	}
	// The server, started again, signs the log it finds; the witness
	// refuses it.
	s = startServer(t, serveEnv...)
	readyzOf(t, s.addr)
	if code, out, errOut := run(t, env, "checkpoint"); code != 0 {
		t.Fatalf("civic checkpoint = %d, %q, %q", code, out, errOut)
	}
	code, out, errOut = run(t, env, "witness", "run", "--dir", wdir, "--log", "http://"+s.addr)
	if code != 1 || !strings.Contains(out, "ALERT") {
		t.Fatalf("civic witness run after the cut = %d, %q, %q; want 1 and an alert", code, out, errOut)
	}
}

// TestReadyzTellsTheTruth: a server whose sequencer cannot lead (here,
// because the stored tree was altered under the last checkpoint) answers
// /readyz with 503 and the reason, and /metrics says the sequencer fails,
// though it still serves reads.
func TestReadyzTellsTheTruth(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	env := []string{"DATABASE_URL=" + url, "CIVIC_SIGNING_KEY=" + keyPath, "CIVIC_DATA_DIR=" + t.TempDir()}
	s := startServer(t, env...)
	readyzOf(t, s.addr)
	// The tampering below is found against a signed checkpoint: wait for
	// one that covers the registry the server imported (on a loaded
	// machine the server may be stopped before its first).
	signedHead(t, s.addr, 81)
	s.stop(t, syscall.SIGTERM)

	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `SET session_replication_role = replica;
		UPDATE eventstore.tree SET hash = sha256(hash) WHERE level = 4 AND idx = 0`); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, env...)
	var body map[string]any
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body = map[string]any{}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(fmt.Sprint(body["reasons"]), "is not the one its last checkpoint signed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %v after 30s; want 503 naming the sequencer's failure", resp.StatusCode, body)
		}
	}
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "civic_eventstore_sequencer_failing 1") {
		t.Fatalf("/metrics does not say the sequencer fails:\n%s", metrics)
	}
}

// TestReadyzListsLiveGenerations: after a rebuild, /readyz lists each
// read model's live generations, not the retired ones it replaced.
func TestReadyzListsLiveGenerations(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": url, "CIVIC_SIGNING_KEY": keyPath, "CIVIC_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, env, "rebuild", "keys"); code != 0 {
		t.Fatalf("rebuild: %s", errOut)
	}
	s := startServer(t, "DATABASE_URL="+url, "CIVIC_SIGNING_KEY="+keyPath, "CIVIC_DATA_DIR="+t.TempDir())
	waitReadyz(t, s.addr, http.StatusOK, "")
	if code, _, errOut := run(t, env, "rebuild", "keys"); code != 0 {
		t.Fatalf("rebuild: %s", errOut)
	}
	body := readyzOf(t, s.addr)
	keys := 0
	for _, p := range body["projections"].([]any) {
		p := p.(map[string]any)
		if p["state"] == "retired" {
			t.Errorf("/readyz lists a retired generation: %v", p)
		}
		if p["name"] == "keys" {
			keys++
		}
	}
	if keys != 1 {
		t.Errorf("/readyz lists %d generations of keys, want the live one", keys)
	}
}

// signedHead waits until the server at addr serves a checkpoint of size
// at least n.
func signedHead(t *testing.T, addr string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(string(body), "\n")
		if len(lines) > 1 {
			if size, err := strconv.Atoi(lines[1]); err == nil && size >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d within 20s: %d %s", n, resp.StatusCode, body)
		}
	}
}
