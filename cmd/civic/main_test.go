package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/pabulib"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestMain doubles as the civic binary when CIVIC_TEST_MAIN is set, so the
// end-to-end tests can run real processes and signal them.
func TestMain(m *testing.M) {
	if os.Getenv("CIVIC_TEST_MAIN") == "1" {
		main()
		return
	}
	testdb.Main(m)
}

// run runs a civic command in-process with the given environment.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = m.Run(ctx, args)
	return code, out.String(), errOut.String()
}

// publicDir returns a new directory that the postgres system user can
// traverse, which t.TempDir's are not.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "civic-cmd-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestVerifyCommand(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	key, err := loadSigningKey(keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": url, "CIVIC_SIGNING_KEY": keyPath, "CIVIC_DATA_DIR": t.TempDir()}
	if code, out, errOut := run(t, env, "migrate"); code != 0 {
		t.Fatalf("civic migrate = %d: %s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "verify"); code != 0 || !strings.Contains(out, "log intact") {
		t.Fatalf("civic verify on an empty log = %d: %s%s; want 0 and intact", code, out, errOut)
	}

	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	appendSigned(t, pool, key, 20)

	tests := []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"verify"}, 0, "log intact: positions 1..20"},
		{[]string{"verify", "--from", "5", "--to", "9"}, 0, "log intact: positions 5..9"},
		{[]string{"verify", "--bogus"}, 2, ""},
		{[]string{"verify", "--from", "9", "--to", "3"}, 2, ""},
		{[]string{"verify", "extra"}, 2, ""},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, env, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.output) {
			t.Errorf("civic %s = %d, %q (stderr %q); want %d and %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.output)
		}
	}

	// An administrator edits the data of the event at position 7.
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(context.Background(), `SET session_replication_role = replica;
		UPDATE eventstore.events SET data = '{"n":-7}'
		WHERE (tx, seq) = (SELECT tx, seq FROM eventstore.log WHERE position = 7)`); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, env, "verify"); code != 1 || !strings.Contains(out, "position 7 onwards cannot be trusted") {
		t.Errorf("civic verify after an edit = %d, %q; want 1 and position 7", code, out)
	}
	// The range is recomputed from the last checkpoint before it: from 8
	// that is the checkpoint at 5, so the break at 7 still shows; from 11
	// (checkpoint at 10) the range is intact.
	if code, out, _ := run(t, env, "verify", "--from", "8"); code != 1 || !strings.Contains(out, "position 7") {
		t.Errorf("civic verify --from 8 after an edit at 7 = %d, %q; want 1 and position 7", code, out)
	}
	if code, out, _ := run(t, env, "verify", "--from", "11"); code != 0 || !strings.Contains(out, "positions 11..20") {
		t.Errorf("civic verify --from 11 after an edit at 7 = %d, %q; want 0", code, out)
	}
	// Without the key the checkpoints cannot be checked: an error, not a pass.
	noKey := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, noKey, "verify"); code != 2 || !strings.Contains(errOut, "no public key") {
		t.Errorf("civic verify without a key = %d, %q; want 2 and a request for a key", code, errOut)
	}
}

// appendSigned appends n events one at a time with a sequencer signing every
// 5 (so at 5, 10, ...: n must be a multiple of 5), and waits
// for the last checkpoint.
func appendSigned(t *testing.T, pool *pgxpool.Pool, key ed25519.PrivateKey, n int) {
	t.Helper()
	s := postgres.New(pool, postgres.Options{SigningKey: key, CheckpointEvery: 5, CheckpointInterval: time.Hour})
	defer s.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.RunSequencer(ctx) }()
	defer func() { stop(); <-done }()
	for i := range n {
		res, err := s.Append(ctx, fmt.Sprintf("org-%d", i%3), eventstore.Any(), eventstore.EventData{
			Type: "test.happened", Data: []byte(fmt.Sprintf(`{"n":%d}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var top int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(size), 0) FROM eventstore.tree_checkpoints`).Scan(&top); err != nil {
			t.Fatal(err)
		}
		if top == int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint at %d within 30s", n)
		}
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := run(t, nil); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("civic with no command = %d, %q; want 2 and usage", code, errOut)
	}
	if code, _, errOut := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("civic frobnicate = %d, %q; want 2 naming the command", code, errOut)
	}
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "civic serve") {
		t.Errorf("civic help = %d, %q", code, out)
	}
	bad := map[string]string{"CIVIC_LOG_FORMAT": "xml", "DATABASE_URL": "postgres://127.0.0.1:1/x"}
	if code, _, errOut := run(t, bad, "migrate"); code != 2 || !strings.Contains(errOut, "CIVIC_LOG_FORMAT") {
		t.Errorf("civic migrate with CIVIC_LOG_FORMAT=xml = %d, %q; want 2 naming the variable", code, errOut)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is civic serve running as a child process.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	done chan error
}

func startServer(t *testing.T, env ...string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), logs: &bytes.Buffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(os.Args[0], "serve")
	s.cmd.Env = append(os.Environ(), append(env, "CIVIC_TEST_MAIN=1", "CIVIC_ADDR="+s.addr)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + s.addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("civic serve exited early (%v):\n%s", err, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("civic serve not healthy within 90s:\n%s", s.logs)
		}
	}
}

// stop signals the server and waits for a clean exit.
func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("civic serve exited with %v after %v:\n%s", err, sig, s.logs)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("civic serve still running 60s after %v:\n%s", sig, s.logs)
	}
}

func readyzOf(t *testing.T, addr string) map[string]any {
	t.Helper()
	// A server just started may still be building its read models: it
	// is not ready until they are active, which takes a moment on a busy
	// machine.
	var body map[string]any
	var status int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body = map[string]any{}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		status = resp.StatusCode
		if status == http.StatusOK && body["ready"] == true {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %v after 30s, want 200 and ready", status, body)
		}
	}
}

// TestServeEmbedded runs civic serve on its private cluster the way
// `make run` does: start, answer, stop cleanly on SIGTERM, start again over
// the same data, let `civic verify` attach meanwhile, stop on SIGINT.
func TestServeEmbedded(t *testing.T) {
	dir := publicDir(t)
	env := []string{"CIVIC_DATA_DIR=" + dir, "DATABASE_URL="}
	s := startServer(t, env...)
	readyzOf(t, s.addr)
	if _, err := os.Stat(filepath.Join(dir, "signing-key.pem")); err != nil {
		t.Fatalf("serve did not create the default signing key: %v", err)
	}
	s.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(dir, "postgres", "pgdata", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("PostgreSQL still running after serve stopped (postmaster.pid: %v)", err)
	}

	s = startServer(t, env...)
	// The sequencer campaigns in the background; it should lead promptly.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		body := readyzOf(t, s.addr)
		if es, ok := body["eventstore"].(map[string]any); ok && es["sequencer_leader"] == true {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("/readyz eventstore = %v after 30s, want this server leading the sequencer", body["eventstore"])
		}
	}
	// The registry was imported on first start and the read models caught
	// up: the example query of GraphiQL answers.
	resp, err := http.Post("http://"+s.addr+"/graphql", "application/json", strings.NewReader(`{"query":"{ regions { code } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	var gq struct {
		Data struct{ Regions []struct{ Code string } }
	}
	json.NewDecoder(resp.Body).Decode(&gq)
	resp.Body.Close()
	if len(gq.Data.Regions) != 12 {
		t.Errorf("GraphQL regions = %d, want 12", len(gq.Data.Regions))
	}
	code, out, errOut := run(t, map[string]string{"CIVIC_DATA_DIR": dir}, "verify")
	if code != 0 || !strings.Contains(out, "log intact") {
		t.Errorf("civic verify beside a running server = %d, %q, %q; want 0", code, out, errOut)
	}
	s.stop(t, syscall.SIGINT)
	if !strings.Contains(s.logs.String(), "civic shutting down") {
		t.Errorf("no shutdown in the logs:\n%s", s.logs)
	}
}

func TestServeRefusesBadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, map[string]string{"CIVIC_SIGNING_KEY": path, "DATABASE_URL": "postgres://127.0.0.1:1/x"}, "serve")
	if code != 2 || !strings.Contains(errOut, "signing key") {
		t.Errorf("serve with a broken key = %d, %q; want 2 naming the signing key", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	code, _, errOut = run(t, map[string]string{"CIVIC_SIGNING_KEY": missing, "DATABASE_URL": "postgres://127.0.0.1:1/x"}, "serve")
	if code != 2 || !strings.Contains(errOut, "signing key") {
		t.Errorf("serve with a missing configured key = %d, %q; want 2 (only the default key is created)", code, errOut)
	}
}

// sequence runs a sequencer on the database until the test ends, as a
// `civic serve` beside the command under test would.
func sequence(t *testing.T, url string) *postgres.Store {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool, postgres.Options{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.RunSequencer(ctx) }()
	t.Cleanup(func() { stop(); <-done; s.Close(); pool.Close() })
	return s
}

func TestImportAndRebuildCommands(t *testing.T) {
	url := testdb.URL(t)
	env := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir()}
	store := sequence(t, url)
	if code, out, errOut := run(t, env, "import", "registry"); code != 0 || !strings.Contains(out, "registered 12 regions and 69 municipalities") {
		t.Fatalf("civic import registry = %d, %q, %q", code, out, errOut)
	}
	if code, out, _ := run(t, env, "import", "registry"); code != 0 || !strings.Contains(out, "registered 0 regions and 0 municipalities") {
		t.Fatalf("second civic import registry = %d, %q; want nothing registered", code, out)
	}
	if code, _, errOut := run(t, env, "import", "everything"); code != 2 || !strings.Contains(errOut, "usage: civic import registry") {
		t.Errorf("civic import everything = %d, %q; want 2 and the usage", code, errOut)
	}
	// Wait for the import's events to have positions, then rebuild.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err := store.Status(context.Background()); err == nil && st.Pending == 0 && st.Head == 81 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import's 81 events were not sequenced within 30s")
		}
	}
	if code, out, errOut := run(t, env, "rebuild", "places"); code != 0 || !strings.Contains(out, "rebuilt places") {
		t.Fatalf("civic rebuild places = %d, %q, %q", code, out, errOut)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var regions, munis int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM rm.regions), (SELECT count(*) FROM rm.municipalities)`).Scan(&regions, &munis); err != nil || regions != 12 || munis != 69 {
		t.Fatalf("after rebuild: %d regions, %d municipalities, %v; want 12 and 69", regions, munis, err)
	}
	if code, _, errOut := run(t, env, "rebuild", "nonsense"); code != 2 || errOut == "" {
		t.Errorf("civic rebuild nonsense = %d, %q; want 2 and an error", code, errOut)
	}
}

func TestKeysCommand(t *testing.T) {
	url := testdb.URL(t)
	env := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir()}
	if code, _, errOut := run(t, env, "import", "registry"); code != 0 {
		t.Fatalf("import: %s", errOut)
	}
	for args, want := range map[string]string{
		"--role analyst":            "--name is required",
		"--name x":                  "--role is required",
		"--role anonymous --name x": "not a role a key can have",
	} {
		if code, _, errOut := run(t, env, append([]string{"keys", "create"}, strings.Fields(args)...)...); code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("keys create %s = %d, %q; want an error saying %q", args, code, errOut, want)
		}
	}
	code, out, errOut := run(t, env, "keys", "create", "--role", "analyst", "--name", "dashboard.example")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "civ_") || !strings.Contains(errOut, "shown once") {
		t.Fatalf("keys create = %d, %q, %q; want the key on stdout", code, out, errOut)
	}
	if _, err := access.ParseKey(key); err != nil {
		t.Fatalf("the printed key does not parse: %v", err)
	}
	id := strings.Split(key, "_")[1]
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"keys", "create", "--role", "applicant", "--name", "gori"}, 2, "municipality"},
		{[]string{"keys", "create", "--role", "applicant", "--name", "gori", "--municipality", "atlantis"}, 2, "not registered"},
		{[]string{"keys", "create", "--role", "applicant", "--name", "gori", "--municipality", "gori"}, 0, ""},
		{[]string{"keys", "create", "--role", "hub", "--name", "kvemo-kartli-hub"}, 2, "region"},
		{[]string{"keys", "create", "--role", "hub", "--name", "kvemo-kartli-hub", "--region", "atlantis"}, 2, "not registered"},
		{[]string{"keys", "create", "--role", "hub", "--name", "kvemo-kartli-hub", "--region", "kvemo-kartli"}, 0, ""},
		{[]string{"keys", "create", "--role", "analyst", "--name", "x", "--region", "kvemo-kartli"}, 2, "region"},
		{[]string{"keys", "create", "--role", "root", "--name", "x"}, 2, "unknown role"},
		{[]string{"keys", "create", "--role", "admin", "--name", "Bad Name"}, 2, "name"},
		{[]string{"keys", "create", "--role", "officer", "--name", "keda-office"}, 2, "municipality"},
		{[]string{"keys", "create", "--role", "officer", "--name", "keda-office", "--municipality", "atlantis"}, 2, "not registered"},
		{[]string{"keys", "create", "--role", "officer", "--name", "keda-office", "--municipality", "keda", "--cycle", "keda-2023"}, 2, "--cycle: only ballot-box keys"},
		{[]string{"keys", "create", "--role", "officer", "--name", "keda-office", "--municipality", "keda"}, 0, ""},
		{[]string{"keys", "create", "--role", "ballot-box", "--name", "keda-vote"}, 2, "--cycle: a ballot-box key is bound to one budgeting cycle"},
		{[]string{"keys", "create", "--role", "ballot-box", "--name", "keda-vote", "--cycle", "keda"}, 2, "--cycle: \"keda\""},
		{[]string{"keys", "create", "--role", "ballot-box", "--name", "keda-vote", "--cycle", "keda-1999"}, 2, "--cycle: \"keda-1999\""},
		{[]string{"keys", "create", "--role", "ballot-box", "--name", "keda-vote", "--cycle", "atlantis-2023"}, 2,
			"--cycle \"atlantis-2023\": municipality \"atlantis\" is not registered"},
		{[]string{"keys", "create", "--role", "ballot-box", "--name", "keda-vote", "--municipality", "keda", "--cycle", "keda-2023"}, 2, "municipality"},
		{[]string{"keys", "create", "--role", "analyst", "--name", "x", "--cycle", "keda-2023"}, 2, "--cycle: only ballot-box keys"},
		{[]string{"keys", "create", "--role", "ballot_box", "--name", "x", "--cycle", "keda-2023"}, 2, "unknown role"},
		{[]string{"keys", "create", "--role", "assessor", "--name", "assessor-1", "--municipality", "keda"}, 2, "municipality: only applicant and officer keys"},
		{[]string{"keys", "create", "--role", "assessor", "--name", "assessor-1", "--region", "kvemo-kartli"}, 2, "region: only hub keys"},
		{[]string{"keys", "create", "--role", "assessor", "--name", "assessor-1", "--cycle", "keda-2023"}, 2, "--cycle: only ballot-box keys"},
		{[]string{"keys", "create", "--role", "assessors", "--name", "assessor-1"}, 2, "unknown role"},
		{[]string{"keys", "create", "--name", "assessor-1"}, 2, "--role is required: analyst, applicant, hub, expert, consortium, auditor, admin, officer, ballot-box or assessor"},
		{[]string{"keys", "revoke", id, "--reason", "rotated"}, 0, ""},
		{[]string{"keys", "revoke", id}, 2, "revoked already"},
		{[]string{"keys", "revoke", "000000000000"}, 2, "no API key"},
		{[]string{"keys"}, 2, "usage"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, env, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("civic %s = %d, %q, %q; want %d and %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
		}
	}
	// The key's secret is nowhere in the log.
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// A ballot box for Keda's 2023 budgeting cycle: the key is printed,
	// and the log records the cycle and the cycle's municipality.
	code, out, errOut = run(t, env, "keys", "create", "--role", "ballot-box", "--name", "keda-vote", "--cycle", "keda-2023")
	box := strings.TrimSpace(out)
	boxID, err := access.ParseKey(box)
	if code != 0 || err != nil || !strings.Contains(errOut, "(keda-vote, ballot-box)") {
		t.Fatalf("keys create --role ballot-box --cycle keda-2023 = %d, %q, %q (%v); want a key on stdout", code, out, errOut, err)
	}
	var role, municipality, cycle string
	if err := pool.QueryRow(context.Background(), `SELECT data->>'role', data->>'municipality', data->>'cycle' FROM eventstore.events
		WHERE type = 'access.key_created' AND data->>'id' = $1`, boxID).Scan(&role, &municipality, &cycle); err != nil ||
		role != "ballot-box" || municipality != "keda" || cycle != "keda-2023" {
		t.Errorf("the ballot box's key_created holds role %q, municipality %q, cycle %q (%v); want ballot-box, keda, keda-2023", role, municipality, cycle, err)
	}
	// An assessor of the benchmark: bound to nothing, so the log records
	// its role alone.
	code, out, errOut = run(t, env, "keys", "create", "--role", "assessor", "--name", "benchmark-assessor")
	assessorID, err := access.ParseKey(strings.TrimSpace(out))
	if code != 0 || err != nil || !strings.Contains(errOut, "(benchmark-assessor, assessor)") {
		t.Fatalf("keys create --role assessor = %d, %q, %q (%v); want a key on stdout", code, out, errOut, err)
	}
	var region string
	if err := pool.QueryRow(context.Background(), `SELECT data->>'role', coalesce(data->>'municipality', ''), coalesce(data->>'region', ''), coalesce(data->>'cycle', '')
		FROM eventstore.events WHERE type = 'access.key_created' AND data->>'id' = $1`, assessorID).Scan(&role, &municipality, &region, &cycle); err != nil ||
		role != "assessor" || municipality != "" || region != "" || cycle != "" {
		t.Errorf("the assessor's key_created holds role %q, municipality %q, region %q, cycle %q (%v); want assessor and nothing else", role, municipality, region, cycle, err)
	}
	var leaks int
	secret := strings.Split(key, "_")[2]
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM eventstore.events WHERE data::text LIKE '%' || $1 || '%'`, secret).Scan(&leaks); err != nil || leaks != 0 {
		t.Errorf("the key's secret appears in %d events (%v)", leaks, err)
	}
}

// TestReplayCommand replays a demo decision, then the same after an
// administrator edited one of its scores in the database.
func TestReplayCommand(t *testing.T) {
	url := testdb.URL(t)
	env := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir()}
	store := sequence(t, url)
	if code, out, errOut := run(t, env, "import", "demo"); code != 0 || !strings.Contains(out, "loaded the 2019 certification cycle: 9 applications, 8 certified") ||
		!strings.Contains(out, "loaded civil-society activity: ") || !strings.Contains(out, "loaded an illustrative activity history: 6000 activities") ||
		!strings.Contains(out, "loaded the civic-engagement benchmark: 3 rounds") {
		t.Fatalf("civic import demo = %d, %q, %q", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "import", "demo"); code != 0 || strings.Count(out, "exists already") != 4 ||
		!strings.Contains(out, "the participatory budgets exist already") || !strings.Contains(out, "the benchmark exists already") {
		t.Fatalf("civic import demo again = %d, %q, %q; want each part found there already", code, out, errOut)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err := store.Status(context.Background()); err == nil && st.Pending == 0 && st.Head > 81 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import's events were not sequenced within 30s")
		}
	}
	code, out, errOut := run(t, env, "replay", "application", "2019-batumi")
	if code != 0 || !strings.Contains(out, "log: intact") || !strings.Contains(out, "verdict: FOLLOWED") ||
		!strings.Contains(out, "certification.decision_taken") {
		t.Fatalf("civic replay application 2019-batumi = %d:\n%s%s\nwant 0, the events, the log intact and FOLLOWED", code, out, errOut)
	}
	for _, args := range [][]string{{"replay", "application", "batumi"}, {"replay", "application", "2019-tbilisi"}, {"replay", "2019-batumi"}} {
		if code, _, errOut := run(t, env, args...); code != 2 || errOut == "" {
			t.Errorf("civic %s = %d, %q; want 2 and an error", strings.Join(args, " "), code, errOut)
		}
	}

	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tag, err := conn.Exec(context.Background(), `SET session_replication_role = replica;
		UPDATE eventstore.events SET data = jsonb_set(data::jsonb, '{score}', '0')::json
		WHERE (stream_id, version) = (SELECT stream_id, min(version) FROM eventstore.events
			WHERE stream_id = 'application-2019-batumi' AND type = 'certification.score_recorded' GROUP BY stream_id)`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("editing a score: %v, %d rows", err, tag.RowsAffected())
	}
	code, out, errOut = run(t, env, "replay", "application", "2019-batumi")
	if code != 1 || !strings.Contains(out, "log: BROKEN at position") || !strings.Contains(out, "verdict: MISMATCH") {
		t.Fatalf("after the edit, civic replay = %d:\n%s%s\nwant 1, the log broken and MISMATCH", code, out, errOut)
	}

	// A participatory budget of the demo: recounted, exported, and
	// recounted again after a ballot is edited.
	if code, out, errOut := run(t, env, "replay", "cycle", "keda-2023"); code != 0 || !strings.Contains(out, "recount: followed") ||
		!strings.Contains(out, "pot zvare: ") {
		t.Fatalf("civic replay cycle keda-2023 = %d:\n%s%s\nwant 0 and followed", code, out, errOut)
	}
	dir := t.TempDir()
	code, out, errOut = run(t, env, "export", "pabulib", "keda-2023", dir)
	if code != 0 || strings.Count(out, ".pb: ") != 5 {
		t.Fatalf("civic export pabulib = %d, %q, %q; want the five villages' files", code, out, errOut)
	}
	f, err := os.Open(filepath.Join(dir, "georgia_keda_2023_zvare.pb"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := pabulib.Read(f, pabulib.Limits{})
	f.Close()
	if err != nil || in.MetaValue("unit") != "Keda" || in.MetaValue("rule") != "greedy" || in.MetaValue("date_begin") != "08.12.2023" || len(in.Votes.Rows) == 0 {
		t.Fatalf("the Zvare file: %v, META %v, %d votes", err, in.Meta.Rows, len(in.Votes.Rows))
	}
	if code, _, errOut := run(t, env, "export", "pabulib", "keda-2099", dir); code != 2 || !strings.Contains(errOut, "no participatory budget cycle keda-2099") {
		t.Errorf("exporting a cycle that does not exist = %d, %q", code, errOut)
	}
	tag, err = conn.Exec(context.Background(), `UPDATE eventstore.events SET data = jsonb_set(data::jsonb, '{ballots,0,projects}', '[]')::json
		WHERE (stream_id, version) = (SELECT stream_id, 1 FROM eventstore.events WHERE type = 'budgeting.paper_batch_entered'
			AND data::jsonb->>'cycle' = 'keda-2023' ORDER BY stream_id LIMIT 1)`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("editing a paper ballot: %v, %d rows", err, tag.RowsAffected())
	}
	if code, out, errOut := run(t, env, "replay", "cycle", "keda-2023"); code != 1 || !strings.Contains(out, "recount: MISMATCH") ||
		!strings.Contains(out, "inputs digest recomputed") {
		t.Fatalf("after the edit, civic replay cycle = %d:\n%s%s\nwant 1 and MISMATCH", code, out, errOut)
	}

	// A benchmark score of the demo: Poti's 2021, recomputed from its
	// events, then again after one of them is edited.
	if code, out, errOut := run(t, env, "replay", "score", "2021", "poti"); code != 0 || !strings.Contains(out, "replay: followed") ||
		!strings.Contains(out, "published   total 70.") {
		t.Fatalf("civic replay score 2021 poti = %d:\n%s%s\nwant 0, followed and Poti's 70%%", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "replay", "score", "2021", "atlantis"); code != 2 || !strings.Contains(errOut, "atlantis") {
		t.Errorf("replaying a municipality not in the round = %d, %q", code, errOut)
	}
	tag, err = conn.Exec(context.Background(), `UPDATE eventstore.events SET data = jsonb_set(data::jsonb, '{value}', '0')::json
		WHERE (stream_id, version) = (SELECT stream_id, min(version) FROM eventstore.events
			WHERE stream_id = 'benchmark_scorecard-2021.poti' AND type = 'benchmark.scored' AND data::jsonb->>'value' NOT IN ('0', 'null')
			GROUP BY stream_id)`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("editing a score: %v, %d rows", err, tag.RowsAffected())
	}
	if code, out, errOut := run(t, env, "replay", "score", "2021", "poti"); code != 1 || !strings.Contains(out, "replay: MISMATCH") ||
		!strings.Contains(out, "inputs digest recomputed") {
		t.Fatalf("after the edit, civic replay score = %d:\n%s%s\nwant 1 and MISMATCH", code, out, errOut)
	}
}

// TestEraseCommand: civic erase subject destroys a contact person's key
// and records the erasure; erasing again, an unknown subject, or no reason
// are refused; the log still verifies and the demo's decisions still
// replay as they were taken. Personal data written in plain text before
// the log sealed it is withheld once its subject is erased, and the
// command says its bytes stay in the log.
func TestEraseCommand(t *testing.T) {
	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	key, err := loadSigningKey(keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": url, "CIVIC_DATA_DIR": t.TempDir(), "CIVIC_SIGNING_KEY": keyPath}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.Options{SigningKey: key})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); store.RunSequencer(ctx) }()
	defer func() { stop(); <-done; store.Close() }()

	// An organisation registered before personal data was sealed: its
	// contact in plain text, as an older version of civic wrote it.
	if _, err := store.Append(context.Background(), "organisation-legacy-1", eventstore.NoStream(), eventstore.EventData{
		Type: "registry.organisation_registered", Data: []byte(`{"id":"legacy-1","kind":"cso","name":{"ka":"ძველი","en":"Old"},"legal_form":"",
		"region":"","municipality":"","contact":{"email":"old@example.ge","phone":"","address":"","person":"Eka Old"},"website":"","founded":""}`),
		Metadata: eventstore.Metadata{Actor: "system:old", Role: "system"}}); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, env, "import", "demo"); code != 0 {
		t.Fatalf("civic import demo = %d, %q, %q", code, out, errOut)
	}
	var cif string
	if err := pool.QueryRow(context.Background(), `SELECT data->>'id' FROM eventstore.events
		WHERE type = 'registry.organisation_registered' AND data->'name'->>'en' LIKE '%(CIF)%'`).Scan(&cif); err != nil {
		t.Fatal(err)
	}
	var plain int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM eventstore.events WHERE data::text LIKE '%cifgeo@gmail.com%'`).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("%d events hold CIF's e-mail in plain text, %v; want it sealed", plain, err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"erase", "subject", "organisation:" + cif + ":contact", "--reason", "the person asked"}, 0, "1 key(s) destroyed"},
		{[]string{"erase", "subject", "organisation:" + cif + ":contact", "--reason", "again"}, 2, "erased already"},
		{[]string{"erase", "subject", "organisation:legacy-1:contact", "--reason", "the person asked"}, 0, "bytes stay in the log"},
		{[]string{"erase", "subject", "organisation:nobody:contact", "--reason", "asked"}, 2, "no personal data"},
		{[]string{"erase", "subject", "organisation:" + cif + ":contact"}, 2, "reason"},
		{[]string{"erase", "organisation:" + cif + ":contact"}, 2, "usage"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, env, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("civic %s = %d, %q, %q; want %d and %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err := store.Status(context.Background()); err == nil && st.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the events were not sequenced within 30s")
		}
	}
	if code, out, errOut := run(t, env, "verify"); code != 0 || !strings.Contains(out, "log intact") {
		t.Fatalf("civic verify after the erasures = %d: %s%s; want 0 and intact", code, out, errOut)
	}
	for _, id := range []string{"2019-batumi", "2019-gori", "2019-akhaltsikhe"} {
		if code, out, errOut := run(t, env, "replay", "application", id); code != 0 || !strings.Contains(out, "verdict: FOLLOWED") {
			t.Fatalf("civic replay application %s after the erasures = %d:\n%s%s", id, code, out, errOut)
		}
	}
	var keys, erased int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE key IS NOT NULL), count(*) FILTER (WHERE erased_at IS NOT NULL)
		FROM privacy.keys WHERE subject IN ($1, 'organisation:legacy-1:contact')`, "organisation:"+cif+":contact").Scan(&keys, &erased); err != nil || keys != 0 || erased != 2 {
		t.Fatalf("the erased subjects' rows: %d live keys, %d erased, %v; want none live, both erased", keys, erased, err)
	}
}

// TestCountPabulibCommand counts the published instances of the tests'
// data, which all agree, then one whose published winners were changed.
func TestCountPabulibCommand(t *testing.T) {
	files, err := filepath.Glob("../../domain/budgeting/testdata/pabulib/*.pb")
	if err != nil || len(files) < 8 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	code, out, errOut := run(t, nil, append([]string{"count", "pabulib"}, files...)...)
	if code != 0 || !strings.HasSuffix(out, "8 agree, 0 differ, 0 skipped\n") || !strings.Contains(out, "poland_wieliczka_2023.pb: agrees: 30 winners, 6586 ballots") {
		t.Fatalf("civic count pabulib = %d:\n%s%s", code, out, errOut)
	}
	raw, err := os.ReadFile("../../domain/budgeting/testdata/pabulib/poland_warszawa_2017_wars.pb")
	if err != nil {
		t.Fatal(err)
	}
	// Project 950, the most voted, published as not selected.
	altered := strings.Replace(string(raw), "Bezpieczne przejścia dla pieszych i przejazdy dla rowerzystów;youth,adults,seniors;1",
		"Bezpieczne przejścia dla pieszych i przejazdy dla rowerzystów;youth,adults,seniors;0", 1)
	if altered == string(raw) {
		t.Fatal("the edit did not apply")
	}
	name := filepath.Join(t.TempDir(), "altered.pb")
	if err := os.WriteFile(name, []byte(altered), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, nil, "count", "pabulib", name)
	if code != 1 || !strings.Contains(out, "DIFFERS: counted also [950]") {
		t.Fatalf("the altered file: %d, %q; want 1 and project 950 named", code, out)
	}
	if code, _, errOut := run(t, nil, "count", "pabulib", filepath.Join(t.TempDir(), "none.pb")); code != 2 || errOut == "" {
		t.Errorf("a missing file: %d, %q", code, errOut)
	}
}

// TestImportPabulibCommand records two published instances and refuses
// one of them again.
func TestImportPabulibCommand(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testdb.URL(t), "CIVIC_DATA_DIR": t.TempDir()}
	files := []string{"../../domain/budgeting/testdata/pabulib/poland_warszawa_2017_wars.pb", "../../domain/budgeting/testdata/pabulib/poland_wieliczka_2023.pb"}
	code, out, errOut := run(t, env, append([]string{"import", "pabulib"}, files...)...)
	if code != 0 || strings.Count(out, ": its published winners") != 2 || !strings.Contains(out, "cycle poland-wieliczka-green-budget-2023, 64 projects, 6586 ballots") {
		t.Fatalf("civic import pabulib = %d:\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "import", "pabulib", files[0]); code != 2 || !strings.Contains(errOut, "has a participatory budget cycle for 2017 already") {
		t.Errorf("importing again = %d, %q", code, errOut)
	}
	if code, out, errOut := run(t, env, "replay", "cycle", "poland-warszawa-wars-2017"); code != 0 || !strings.Contains(out, "recount: followed") {
		t.Errorf("the imported cycle's recount = %d:\n%s%s", code, out, errOut)
	}
}
