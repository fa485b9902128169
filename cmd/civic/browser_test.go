package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/gorilla/websocket"
)

// browserTests is where the browser tests live: a small npm package
// (playwright-core, pinned) and a script per page, *.test.mjs.
const browserTests = "../../web/browsertest"

// TestBrowser runs the pages civic serves in headless chromium: one real
// civic serve with the demo data, every web/browsertest/*.test.mjs
// against it as a subtest (node, with BASE_URL and SCREENSHOT_DIR), and
// every GraphiQL example with a key of its role. Chromium and node are
// required, not optional: without them the test fails and says what to
// install.
func TestBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the browser tests run on Node.js 20 or later (apt-get install nodejs npm)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no chromium at %s: install Debian's (apt-get install chromium), or set CHROMIUM to another build", chromium)
	}
	installPlaywright(t)
	scripts, err := filepath.Glob(filepath.Join(browserTests, "*.test.mjs"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no browser tests in %s (%v)", browserTests, err)
	}
	// The screenshots outlive the test, so they can be looked at: in
	// CIVIC_SCREENSHOTS when set, else in a new directory the log names.
	shots := os.Getenv("CIVIC_SCREENSHOTS")
	if shots == "" {
		if shots, err = os.MkdirTemp("", "civic-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", shots)

	url := testdb.URL(t)
	keyPath := filepath.Join(t.TempDir(), "key.pem")
	if _, err := loadSigningKey(keyPath, true); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	s := startDemoServer(t, "DATABASE_URL="+url, "CIVIC_SIGNING_KEY="+keyPath, "CIVIC_DATA_DIR="+t.TempDir(), "CIVIC_DEMO=on")
	t.Logf("civic serve with the demo data loaded and read in %s", time.Since(started).Round(time.Second))
	base := "http://" + s.addr

	t.Run("examples", func(t *testing.T) {
		testExamples(t, base, map[string]string{"DATABASE_URL": url, "CIVIC_SIGNING_KEY": keyPath})
	})
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".test.mjs")
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(shots, name)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Base(script))
			cmd.Dir = browserTests
			cmd.Env = append(os.Environ(), "BASE_URL="+base, "SCREENSHOT_DIR="+dir, "CHROMIUM="+chromium, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("node %s (%s):\n%s", filepath.Base(script), time.Since(t0).Round(100*time.Millisecond), out)
			if err != nil {
				t.Fatalf("node %s: %v", filepath.Base(script), err)
			}
			pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))
			if len(pngs) == 0 {
				t.Fatalf("node %s passed but left no screenshot in %s", filepath.Base(script), dir)
			}
		})
	}
}

// installPlaywright installs the browser tests' npm package (playwright-
// core, as its lock file pins it) when node_modules is missing or older
// than the lock file, as `make test` on a fresh clone needs; never a
// browser download: the tests drive Debian's chromium.
func installPlaywright(t *testing.T) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(browserTests, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if inst, err := os.Stat(filepath.Join(browserTests, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed: the browser tests install playwright-core with it (apt-get install nodejs npm)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = browserTests
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in web/browsertest: %v\n%s", err, out)
	}
}

// demoServer is civic serve as a child process whose output can be read
// while it runs (startServer's cannot, without a race).
type demoServer struct {
	addr string
	mu   sync.Mutex
	logs bytes.Buffer
}

func (s *demoServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func (s *demoServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// startDemoServer runs civic serve and returns once the demo data is
// loaded (its last part, the benchmark, goes in after the server starts
// answering) and every read model has read the whole log.
func startDemoServer(t *testing.T, env ...string) *demoServer {
	t.Helper()
	s := &demoServer{addr: freeAddr(t)}
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), append(env, "CIVIC_TEST_MAIN=1", "CIVIC_ADDR="+s.addr)...)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	// The demo loads for a minute or two on an idle machine; the bound
	// leaves room for a busy one.
	deadline := time.Now().Add(8 * time.Minute)
	for loaded := false; ; time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("civic serve exited (%v):\n%s", err, s.output())
		default:
		}
		logs := s.output()
		if strings.Contains(logs, "demo participatory budgets not loaded") || strings.Contains(logs, "demo benchmark not loaded") {
			t.Fatalf("the demo data did not load:\n%s", logs)
		}
		loaded = loaded || strings.Contains(logs, "demo benchmark imported")
		if loaded && caughtUp(s.addr) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo data not loaded and read within 8 minutes:\n%s", logs)
		}
	}
}

// caughtUp reports whether /readyz says ready and every read model has
// read the whole log.
func caughtUp(addr string) bool {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Ready       bool
		Projections []struct {
			LagEvents int64 `json:"lag_events"`
		}
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || !body.Ready || len(body.Projections) == 0 {
		return false
	}
	for _, p := range body.Projections {
		if p.LagEvents != 0 {
			return false
		}
	}
	return true
}

// exampleRole is a role of GraphiQL's example menu
// (web/graphiql/examples/roles.json).
type exampleRole struct {
	Role       string `json:"role"`
	KeyCommand string `json:"keyCommand"`
}

// testExamples runs every example of GraphiQL's menu with a key made by
// its role's keyCommand (anonymous: none), as the menu tells a user to:
// each must answer without errors. Each role's examples must also show
// something its key adds: at least one answers otherwise without it.
func testExamples(t *testing.T, base string, env map[string]string) {
	dir := "../../web/graphiql/examples"
	raw, err := os.ReadFile(filepath.Join(dir, "roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []exampleRole
	if err := json.Unmarshal(raw, &roles); err != nil {
		t.Fatalf("roles.json: %v", err)
	}
	ran := 0
	for _, role := range roles {
		key := ""
		if role.Role != "anonymous" {
			args := strings.Fields(role.KeyCommand)
			if len(args) < 3 || args[0] != "civic" {
				t.Fatalf("role %s: keyCommand %q is not a civic command", role.Role, role.KeyCommand)
			}
			code, out, errOut := run(t, env, args[1:]...)
			if code != 0 {
				t.Fatalf("role %s: %s = %d: %s", role.Role, role.KeyCommand, code, errOut)
			}
			key = strings.TrimSpace(out)
		}
		files, _ := filepath.Glob(filepath.Join(dir, role.Role, "*.graphql"))
		if len(files) == 0 {
			t.Errorf("role %s has no examples", role.Role)
		}
		differs := false
		for _, f := range files {
			query, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			variables := json.RawMessage("null")
			if v, err := os.ReadFile(strings.TrimSuffix(f, ".graphql") + ".json"); err == nil {
				variables = v
			}
			name := role.Role + "/" + filepath.Base(f)
			ran++
			if isSubscription.Match(query) {
				if msg := subscribeOnce(t, base, key, name, string(query), variables); msg != "" {
					t.Logf("%s: %s", name, msg)
				}
				continue
			}
			with := postExample(t, base, key, name, query, variables)
			if key != "" && !differs {
				without := postExample(t, base, "", "", query, variables)
				differs = !bytes.Equal(with, without)
			}
		}
		if key != "" && !differs {
			t.Errorf("role %s: each of its examples answers the same without a key: they show nothing of the role", role.Role)
		}
	}
	t.Logf("%d examples of %d roles ran", ran, len(roles))
}

// postExample runs a query or mutation and returns its data; name
// empty, it tolerates errors (the caller compares answers with and
// without a key, and an anonymous caller is refused some fields).
func postExample(t *testing.T, base, key, name string, query []byte, variables json.RawMessage) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": string(query), "variables": variables})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Data   json.RawMessage
		Errors []json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if name != "" && (resp.StatusCode != http.StatusOK || len(res.Errors) > 0 || len(res.Data) == 0 || string(res.Data) == "null") {
		t.Errorf("%s: HTTP %d, errors %s", name, resp.StatusCode, res.Errors)
	}
	return append(res.Data, fmt.Sprint(res.Errors)...)
}

// subscribeOnce starts a subscription over graphql-transport-ws with the
// key in connection_init, as GraphiQL does, and waits up to 3 s for its
// first message: an error fails the test; no message (a subscription to
// events yet to come) is an accepted subscription. It returns what came.
func subscribeOnce(t *testing.T, base, key, name, query string, variables json.RawMessage) string {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	init := map[string]any{"type": "connection_init"}
	if key != "" {
		init["payload"] = map[string]string{"Authorization": "Bearer " + key}
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if err := conn.WriteJSON(init); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type    string
		Payload json.RawMessage
	}
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("%s: connection_init: %v %s %s", name, err, msg.Type, msg.Payload)
	}
	if err := conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": variables}}); err != nil {
		t.Fatal(err)
	}
	for {
		msg.Type, msg.Payload = "", nil
		if err := conn.ReadJSON(&msg); err != nil {
			return "accepted; no message within 3 s"
		}
		switch msg.Type {
		case "ping":
			conn.WriteJSON(map[string]string{"type": "pong"})
		case "next":
			var p struct{ Errors []json.RawMessage }
			json.Unmarshal(msg.Payload, &p)
			if len(p.Errors) > 0 {
				t.Errorf("%s: %s", name, msg.Payload)
			}
			return fmt.Sprintf("first message %.120s", msg.Payload)
		case "error":
			t.Errorf("%s: refused: %s", name, msg.Payload)
			return ""
		case "complete":
			return "completed at once"
		}
	}
}

// isSubscription matches an example whose operation is a subscription.
var isSubscription = regexp.MustCompile(`(?m)^subscription\b`)
