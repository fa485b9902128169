package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/internal/backup"
	"github.com/civicledger/civicledger/internal/pgembed"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestBackupAndRestoreCommands runs the commands as an operator would:
// back up a ledger on the private cluster (with an event still
// unpositioned in it), restore it into a new data directory, and serve it.
// The restore refuses until the signing key is there, refuses another
// ledger's key and a database that holds a ledger; a server on the
// restored ledger with the wrong key says it is not ready, and with the
// right one takes a mutation, whose read model catches up; verify holds.
func TestBackupAndRestoreCommands(t *testing.T) {
	d1 := publicDir(t)
	keyPath := filepath.Join(d1, "signing-key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	env1 := map[string]string{"CIVIC_DATA_DIR": d1}
	mustRun := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, env, args...)
		if code != 0 {
			t.Fatalf("civic %s = %d:\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	mustRun(env1, "import", "registry")
	mustRun(env1, "checkpoint")
	// Created after the last sequencer ran: unpositioned in the backup.
	apiKey := strings.TrimSpace(mustRun(env1, "keys", "create", "--role", "admin", "--name", "ops"))

	file := filepath.Join(t.TempDir(), "civic.backup")
	out := mustRun(env1, "backup", file)
	if !strings.Contains(out, "the signing key is not in the backup") || !strings.Contains(out, keyPath) {
		t.Fatalf("civic backup does not say where the signing key is:\n%s", out)
	}
	man, err := backup.ReadManifest(file)
	if err != nil {
		t.Fatal(err)
	}
	if man.Events != man.Positioned+1 {
		t.Fatalf("the backup holds %d events, %d positioned: want the new key's event unpositioned", man.Events, man.Positioned)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Join(strings.Split(strings.TrimSpace(string(keyPEM)), "\n")[1:2], "")
	if bytes.Contains(raw, block.Bytes) || strings.Contains(string(raw), body) {
		t.Fatal("the backup file holds the signing key")
	}

	d2 := publicDir(t)
	env2 := map[string]string{"CIVIC_DATA_DIR": d2}
	code, _, errOut := run(t, env2, "restore", file)
	if code != exitError || !strings.Contains(errOut, "no signing key at "+filepath.Join(d2, "signing-key.pem")) || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("restore without the key = %d, %q", code, errOut)
	}
	otherKey := filepath.Join(t.TempDir(), "other.pem")
	if _, err := loadSigningKey(otherKey, true); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, map[string]string{"CIVIC_DATA_DIR": d2, "CIVIC_SIGNING_KEY": otherKey}, "restore", file)
	if code != exitError || !strings.Contains(errOut, "another ledger's backup") {
		t.Fatalf("restore with another ledger's key = %d, %q", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(d2, "signing-key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(env2, "restore", "--check", file); !strings.Contains(out, "is whole and this ledger's") {
		t.Fatalf("restore --check: %s", out)
	}
	out = mustRun(env2, "restore", file)
	for _, want := range []string{"positioned the 1 event the backup held unpositioned", "verify: log intact", "civic serve"} {
		if !strings.Contains(out, want) {
			t.Fatalf("civic restore does not say %q:\n%s", want, out)
		}
	}
	code, _, errOut = run(t, env2, "restore", file)
	if code != exitError || !strings.Contains(errOut, "already holds a ledger") {
		t.Fatalf("a second restore into the same database = %d, %q", code, errOut)
	}

	// The wrong key: the sequencer cannot sign the restored log, and the
	// server says so rather than take writes it cannot position.
	s := startServer(t, "CIVIC_DATA_DIR="+d2, "DATABASE_URL=", "CIVIC_SIGNING_KEY="+otherKey)
	waitReadyz(t, s.addr, http.StatusServiceUnavailable, "does not verify with the signing key")
	s.stop(t, syscall.SIGTERM)

	s = startServer(t, "CIVIC_DATA_DIR="+d2, "DATABASE_URL=")
	waitReadyz(t, s.addr, http.StatusOK, "")
	resp := formNetwork(t, s.addr, apiKey, "after-restore")
	var gq struct {
		Data struct {
			FormNetwork struct {
				Position json.RawMessage
				Network  struct{ ID string }
			}
		}
		Errors []any
	}
	json.NewDecoder(resp.Body).Decode(&gq)
	resp.Body.Close()
	if gq.Data.FormNetwork.Network.ID != "after-restore" || strings.Trim(string(gq.Data.FormNetwork.Position), `"`) != fmt.Sprint(man.Events+1) {
		t.Fatalf("the mutation on the restored ledger: %+v (want position %d, the network in its read model)", gq, man.Events+1)
	}
	s.stop(t, syscall.SIGTERM)
	if code, out, errOut := run(t, env2, "verify"); code != 0 || !strings.Contains(out, "log intact") {
		t.Fatalf("civic verify on the restored ledger = %d, %q, %q", code, out, errOut)
	}

	// A superuser alters an event under a signed checkpoint, and the
	// backup taken after is whole (its manifest is honest about what it
	// holds): the restore goes through, and then says the log cannot be
	// trusted from that position on, exiting 1.
	cluster, err := pgembed.Start(context.Background(), pgembed.Options{Dir: filepath.Join(d2, "postgres")})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), cluster.URL("civic"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(context.Background(), `SET session_replication_role = replica;
		UPDATE eventstore.events e SET data = '{"altered":true}' FROM eventstore.log l
		WHERE (l.epoch, l.tx, l.seq) = (e.epoch, e.tx, e.seq) AND l.position = 40`)
	pool.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(t.TempDir(), "altered.backup")
	mustRun(env2, "backup", altered)
	d3 := publicDir(t)
	if err := os.WriteFile(filepath.Join(d3, "signing-key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, map[string]string{"CIVIC_DATA_DIR": d3}, "restore", altered)
	if code != exitFailed || !strings.Contains(out, "position 40 onwards cannot be trusted") {
		t.Fatalf("restoring a backup of an altered log = %d:\n%s", code, out)
	}
}

// formNetwork has the server at addr form a network with the given ID,
// as the holder of apiKey, asking for its position and the network as its
// read model shows it once caught up.
func formNetwork(t *testing.T, addr, apiKey, id string) *http.Response {
	t.Helper()
	q := fmt.Sprintf(`mutation { formNetwork(input: {id: %q, kind: CONSORTIUM, name: {ka: "ა", en: %q}, on: "2021-01-01"}) { position network { id } } }`, id, id)
	b, _ := json.Marshal(map[string]string{"query": q})
	req, _ := http.NewRequest("POST", "http://"+addr+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitReadyz waits for /readyz to answer status, with reason among its
// reasons when given.
func waitReadyz(t *testing.T, addr string, status int, reason string) {
	t.Helper()
	var body map[string]any
	var got int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body = map[string]any{}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		got = resp.StatusCode
		if got == status && strings.Contains(fmt.Sprint(body["reasons"]), reason) {
			return
		}
	}
	t.Fatalf("/readyz = %d %v after 30s; want %d %q", got, body, status, reason)
}

// TestKeyUsableAtOnce: a key works as soon as `civic keys create` returns,
// even where no sequencer runs and the keys read model has not applied
// it; a revoked key and a made-up one do not.
func TestKeyUsableAtOnce(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": testdb.URL(t), "CIVIC_DATA_DIR": t.TempDir()}
	m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer), Getenv: func(k string) string { return env[k] }}
	a, err := m.openTool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	// The read models exist, as on any server, and are caught up.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.runner.Run(rctx) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ps, err := a.runner.Status(ctx)
		active := 0
		for _, p := range ps {
			if p.State == "active" {
				active++
			}
		}
		if err == nil && active == len(readModels()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read models did not start: %v %v", ps, err)
		}
	}
	stop()
	<-done

	code, out, errOut := run(t, env, "keys", "create", "--role", "analyst", "--name", "dashboard")
	if code != 0 {
		t.Fatalf("keys create = %d: %s", code, errOut)
	}
	key := strings.TrimSpace(out)
	if _, err := a.reads.Actor(ctx, key); domain.KindOf(err) != domain.Unauthenticated {
		t.Fatalf("the keys read model knows the key already (%v): the test proves nothing", err)
	}
	lookup := keyLookup{a.reads, a.access}
	actor, err := lookup.Actor(ctx, key)
	if err != nil || actor.Role != domain.Analyst || !strings.HasPrefix(actor.ID, "key:dashboard#") {
		t.Fatalf("the new key: %+v, %v", actor, err)
	}
	id := actor.KeyID
	if code, _, errOut := run(t, env, "keys", "revoke", id); code != 0 {
		t.Fatalf("keys revoke = %d: %s", code, errOut)
	}
	if _, err := lookup.Actor(ctx, key); domain.KindOf(err) != domain.Unauthenticated {
		t.Fatalf("the revoked key: %v, want Unauthenticated", err)
	}
	madeUp := key[:len(key)-4] + "0000"
	if key == madeUp {
		madeUp = key[:len(key)-4] + "1111"
	}
	if _, err := lookup.Actor(ctx, madeUp); domain.KindOf(err) != domain.Unauthenticated {
		t.Fatalf("a key with the wrong secret: %v, want Unauthenticated", err)
	}
}

// TestServeAfterPgRestore is the operator's path with PostgreSQL's own
// tools, as the issue reported it: pg_dump -Fc of a ledger while its
// server runs, pg_restore into a new cluster, a key created there before
// any server started, then civic serve on it. The key's event gets its
// position and the key works, a mutation's read model catches up, and
// civic verify holds. (Before epochs the sequencer refused the restored
// log for ever while /readyz said 200.)
func TestServeAfterPgRestore(t *testing.T) {
	src := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": src, "CIVIC_SIGNING_KEY": keyPath, "CIVIC_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, env, "import", "registry"); code != 0 {
		t.Fatal(errOut)
	}
	s := startServer(t, "DATABASE_URL="+src, "CIVIC_SIGNING_KEY="+keyPath, "CIVIC_DATA_DIR="+t.TempDir())
	waitReadyz(t, s.addr, http.StatusOK, "")
	bin, err := pgembed.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "civic.dump")
	if out, err := exec.Command(filepath.Join(bin, "pg_dump"), "-Fc", "--file="+dump, "--dbname="+src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, out)
	}
	s.stop(t, syscall.SIGTERM)

	cluster, _ := testdb.NewCluster(t)
	if err := cluster.CreateDatabase(context.Background(), "restored"); err != nil {
		t.Fatal(err)
	}
	target := cluster.URL("restored")
	if out, err := exec.Command(filepath.Join(bin, "pg_restore"), "--no-owner", "--exit-on-error", "--dbname="+target, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	env["DATABASE_URL"] = target
	code, out, errOut := run(t, env, "keys", "create", "--role", "admin", "--name", "ops")
	if code != 0 {
		t.Fatal(errOut)
	}
	apiKey := strings.TrimSpace(out)

	s = startServer(t, "DATABASE_URL="+target, "CIVIC_SIGNING_KEY="+keyPath, "CIVIC_DATA_DIR="+t.TempDir())
	waitReadyz(t, s.addr, http.StatusOK, "")
	resp := formNetwork(t, s.addr, apiKey, "restored")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"network":{"id":"restored"}`) || !strings.Contains(string(body), `"position"`) {
		t.Fatalf("the mutation on the restored database: %d %s", resp.StatusCode, body)
	}
	readyz := readyzOf(t, s.addr)
	if es := readyz["eventstore"].(map[string]any); es["pending"] != float64(0) {
		t.Fatalf("events still unpositioned on the restored database: %v", es)
	}
	s.stop(t, syscall.SIGTERM)
	if code, out, errOut := run(t, env, "verify"); code != 0 || !strings.Contains(out, "log intact") {
		t.Fatalf("civic verify on the restored database = %d, %q, %q", code, out, errOut)
	}
}
