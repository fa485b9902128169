package pgembed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// fastSettings trade durability for speed; none of these tests crash the
// server, so a clean shutdown still persists everything.
var fastSettings = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

// parentDeathMarker tells a re-executed test binary that it is the child of
// TestServerStopsWhenParentDies, and which cluster directory to use.
const parentDeathMarker = "PGEMBED_TEST_PARENT_DEATH_DIR"

// helperMarker tells a re-executed test binary that it is the child of
// TestStartAsNormalUser.
const helperMarker = "PGEMBED_TEST_NORMAL_USER_HELPER"

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// clusterDir returns a fresh directory for a cluster. It is not t.TempDir
// because, when the tests run as root, the server runs as `postgres`, which
// must be able to traverse every parent directory; t.TempDir's are 0700.
func clusterDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgembed-test-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start starts a cluster and stops it when the test ends, so a failing test
// does not leave a server behind.
func start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Settings == nil {
		opts.Settings = fastSettings
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	c, err := Start(testCtx(t), opts)
	if err != nil {
		t.Fatalf("Start(%s): %v", opts.Dir, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("cleanup Stop: %v", err)
		}
	})
	return c
}

func stop(t testing.TB, c *Cluster) {
	t.Helper()
	if err := c.Stop(testCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func connect(t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t testing.TB, connString, sql string, args ...any) {
	t.Helper()
	conn := connect(t, connString)
	if _, err := conn.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	conn.Close(context.Background())
}

func queryString(t testing.TB, connString, sql string, args ...any) string {
	t.Helper()
	conn := connect(t, connString)
	var s string
	if err := conn.QueryRow(testCtx(t), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	conn.Close(context.Background())
	return s
}

// roundTrip is the core promise of the package: data written before Stop is
// there after the next Start on the same Dir.
func roundTrip(t testing.TB, dir string) {
	t.Helper()
	c := start(t, Options{Dir: dir})
	if c.Attached() {
		t.Fatal("first Start reports Attached")
	}
	mustExec(t, c.URL("postgres"), "CREATE TABLE notes (body text NOT NULL)")
	mustExec(t, c.URL("postgres"), "INSERT INTO notes VALUES ($1)", "kept across restart")
	stop(t, c)
	if err := c.Stop(testCtx(t)); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c2 := start(t, Options{Dir: dir})
	if got := queryString(t, c2.URL("postgres"), "SELECT body FROM notes"); got != "kept across restart" {
		t.Fatalf("after restart got %q, want %q", got, "kept across restart")
	}
	stop(t, c2)
}

func TestStartPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	roundTrip(t, dir)

	for _, name := range []string{"password", "postgres.log", "pgdata/PG_VERSION"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("expected %s in the cluster dir: %v", name, err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "password"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("password file mode = %v, want 0600", perm)
	}
}

func TestStartRequiresPassword(t *testing.T) {
	t.Parallel()
	c := start(t, Options{Dir: clusterDir(t)})
	if got := queryString(t, c.URL("postgres"), "SELECT current_user"); got != "civic" {
		t.Fatalf("current_user = %q, want civic", got)
	}
	if got := queryString(t, c.URL("postgres"), "SHOW listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, want 127.0.0.1", got)
	}
	if got := queryString(t, c.URL("postgres"), "SHOW unix_socket_directories"); got != "" {
		t.Errorf("unix_socket_directories = %q, want none", got)
	}

	tests := []struct {
		name, user, password string
	}{
		{"wrong password", "civic", "not-the-password"},
		{"empty password", "civic", ""},
		{"unknown role", "mallory", "not-the-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(c.URL("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(tt.user, tt.password)
			conn, err := pgx.Connect(testCtx(t), u.String())
			if err == nil {
				conn.Close(context.Background())
				t.Fatal("connection with bad credentials succeeded")
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "28P01" { // invalid_password
				t.Fatalf("got %v, want a server-side authentication failure (28P01)", err)
			}
		})
	}
}

func TestStartAsNormalUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		normalUserRoundTrip(t)
		return
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root needs a postgres user: %v", err)
	}
	u, err := toOSUser(pgUser)
	if err != nil {
		t.Fatal(err)
	}

	// The test binary usually lives in a 0700 build directory, so give the
	// child a copy it can execute, and a TMPDIR and HOME it can write.
	binDir, err := os.MkdirTemp("", "pgembed-helper-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "pgembed.test")
	copyFile(t, os.Args[0], bin, 0o755)
	childTmp := filepath.Join(binDir, "tmp")
	if err := os.Mkdir(childTmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(childTmp, int(u.uid), int(u.gid)); err != nil {
		t.Fatal(err)
	}

	var out []byte
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(testCtx(t), bin, "-test.run=^TestHelperNormalUser$", "-test.v", "-test.count=1", "-test.timeout=60s")
		cmd.Dir = binDir
		// GOCOVERDIR, if set, is a directory the child could not write to.
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOCOVERDIR=") }),
			helperMarker+"=1", "TMPDIR="+childTmp, "HOME="+childTmp)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}}
		out, err = cmd.CombinedOutput()
		// A child forked by another test while the copy was open for
		// writing holds it open until it execs: the copy is "busy" for a
		// moment (golang/go#22315). Try again shortly.
		if errors.Is(err, syscall.ETXTBSY) && attempt < 5 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("helper running as %s failed: %v\n%s", u.name, err, out)
	}
	// Exit status 0 alone would also mean "no tests matched".
	if !strings.Contains(string(out), "--- PASS: TestHelperNormalUser") {
		t.Fatalf("helper did not report a pass:\n%s", out)
	}
}

// TestHelperNormalUser is the child half of TestStartAsNormalUser; in a
// normal run it has nothing to do.
func TestHelperNormalUser(t *testing.T) {
	if os.Getenv(helperMarker) == "" {
		return
	}
	normalUserRoundTrip(t)
}

func normalUserRoundTrip(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Fatal("expected to run as a normal user")
	}
	roundTrip(t, t.TempDir())
}

func copyFile(t testing.TB, from, to string, perm os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStartAttachesToRunningServer(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	first := start(t, Options{Dir: dir})
	mustExec(t, first.URL("postgres"), "CREATE TABLE shared (n int)")

	second := start(t, Options{Dir: dir})
	if !second.Attached() {
		t.Fatal("second Start on a running Dir is not Attached")
	}
	if first.Attached() {
		t.Fatal("first Start reports Attached")
	}
	if second.Port() != first.Port() {
		t.Fatalf("attached port %d, want %d", second.Port(), first.Port())
	}
	mustExec(t, second.URL("postgres"), "INSERT INTO shared VALUES (1)")
	stop(t, second)

	if got := queryString(t, first.URL("postgres"), "SELECT count(*)::text FROM shared"); got != "1" {
		t.Fatalf("after the attached Stop, count = %s, want 1", got)
	}
}

func TestStartIgnoresStalePostmasterPID(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	pidFile := filepath.Join(dir, "pgdata", "postmaster.pid")
	c := start(t, Options{Dir: dir})
	stale, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	stop(t, c)

	// What a crashed server leaves behind: its own lock file, naming a pid
	// that no longer runs.
	if err := os.WriteFile(pidFile, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Chown(pidFile, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
	pid, _, ok := readPostmasterPID(pidFile)
	if !ok {
		t.Fatalf("cannot parse the saved postmaster.pid:\n%s", stale)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d from the stale file is still running (kill: %v)", pid, err)
	}

	c2 := start(t, Options{Dir: dir})
	if c2.Attached() {
		t.Fatal("Start attached to a dead server")
	}
	if got := queryString(t, c2.URL("postgres"), "SELECT 'up'"); got != "up" {
		t.Fatalf("got %q", got)
	}
}

func TestStartReportsServerLogOnEarlyExit(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	_, err := Start(testCtx(t), Options{
		Dir:      dir,
		Settings: map[string]string{"fsync": "off", "max_connections": "lots"},
		Logger:   quietLogger,
	})
	if err == nil {
		t.Fatal("Start succeeded with an invalid setting")
	}
	for _, want := range []string{"postgres.log", "max_connections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, _, ok := readPostmasterPID(filepath.Join(dir, "pgdata", "postmaster.pid")); ok {
		t.Error("a server is still registered in postmaster.pid after a failed Start")
	}
}

func TestStartRejectsReservedSettings(t *testing.T) {
	for _, name := range []string{"listen_addresses", "port", "unix_socket_directories", "", "a=b"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "never-created")
			_, err := Start(testCtx(t), Options{Dir: dir, Settings: map[string]string{name: "x"}, Logger: quietLogger})
			if err == nil {
				t.Fatalf("Start accepted setting %q", name)
			}
			if _, statErr := os.Stat(dir); statErr == nil {
				t.Errorf("Start created %s before rejecting its options", dir)
			}
		})
	}
}

func TestCheckReachable(t *testing.T) {
	// Checked for a user who owns none of the directories, which is the
	// postgres user's position when root runs us. No privileges needed: the
	// check only reads permission bits.
	stranger := &osUser{name: "stranger", uid: uint32(os.Getuid()) + 4242, gid: uint32(os.Getgid()) + 4242}
	stranger.groups = []uint32{stranger.gid}

	tests := []struct {
		name       string
		parentMode os.FileMode
		dirMode    os.FileMode
		wantErr    bool
	}{
		{"traversable parent", 0o755, 0o700, false},
		{"execute-only parent", 0o711, 0o700, false},
		{"closed parent", 0o700, 0o755, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(clusterDir(t), "parent")
			dir := filepath.Join(parent, "cluster")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, tt.parentMode); err != nil {
				t.Fatal(err)
			}
			err := (&starter{dir: dir, runAs: stranger}).checkReachable()
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error for an untraversable parent")
				}
				for _, want := range []string{parent, "stranger", "DATABASE_URL"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error does not mention %q: %v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o001 == 0 {
				t.Errorf("cluster dir mode %v: not made traversable", fi.Mode().Perm())
			}
		})
	}
}

// fakeBinDir makes a directory with executable stand-ins for the given
// programs.
func fakeBinDir(t testing.TB, programs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range programs {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// symlinkBinDir makes a directory of symlinks into target, as some
// installations put on PATH.
func symlinkBinDir(t testing.TB, target string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := os.Symlink(filepath.Join(target, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBinaries(t *testing.T) {
	const system = "/usr/lib/postgresql/15/bin"
	tests := []struct {
		name  string
		pgBin string
		path  string
		want  string
	}{
		{"PG_BIN wins over PATH", system, fakeBinDir(t, "initdb", "pg_ctl", "postgres"), system},
		{"PATH used when PG_BIN unset", "", system, system},
		{"symlinks on PATH resolved", "", symlinkBinDir(t, system), system},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PG_BIN", tt.pgBin)
			t.Setenv("PATH", tt.path)
			got, err := FindBinaries()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("FindBinaries() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindBinariesIn(t *testing.T) {
	versioned := t.TempDir()
	for _, v := range []string{"9.6", "10", "15", "bogus"} {
		bin := filepath.Join(versioned, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, p), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	complete := fakeBinDir(t, "initdb", "pg_ctl", "postgres")
	noInitdb := fakeBinDir(t, "postgres")
	notExecutable := t.TempDir()
	for _, p := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(notExecutable, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		places []searchPlace
		want   string // "" means a NotFoundError is expected
	}{
		{"first place with both binaries", []searchPlace{{name: "A", dirs: []string{noInitdb}}, {name: "B", dirs: []string{complete}}}, complete},
		{"not executable is not found", []searchPlace{{name: "A", dirs: []string{notExecutable}}}, ""},
		{"highest version first", []searchPlace{{name: "glob", dirs: globByVersion(filepath.Join(versioned, "*", "bin"))}}, filepath.Join(versioned, "15", "bin")},
		{"nothing anywhere", []searchPlace{{name: "PG_BIN=" + t.TempDir(), dirs: []string{t.TempDir()}}, {name: "PATH"}, {name: "/nonexistent/*/bin"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findBinariesIn(tt.places)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("got (%q, %v), want %q", got, err, tt.want)
				}
				return
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("got (%q, %v), want a *NotFoundError", got, err)
			}
			if len(nf.Looked) != len(tt.places) {
				t.Errorf("Looked = %q, want one entry per place", nf.Looked)
			}
		})
	}
}

func TestNotFoundErrorExplainsFix(t *testing.T) {
	t.Setenv("PG_BIN", t.TempDir())
	t.Setenv("PATH", "")
	places := defaultSearchPlaces()[:2] // PG_BIN and PATH; the fallbacks exist on this machine
	_, err := findBinariesIn(places)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("got %v, want a *NotFoundError", err)
	}
	msg := err.Error()
	for _, want := range []string{"PG_BIN", "PATH", "apt-get install", "brew install", "DATABASE_URL", "initdb", "postgres"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not mention %q:\n%s", want, msg)
		}
	}
	full := (&NotFoundError{Looked: []string{"PG_BIN", "PATH", "/usr/lib/postgresql/*/bin"}}).Error()
	if !strings.Contains(full, "not found in PG_BIN, PATH or /usr/lib/postgresql/*/bin.") {
		t.Errorf("places not listed as a readable sentence:\n%s", full)
	}
}

func TestURL(t *testing.T) {
	c := &Cluster{port: 5433, password: "p@ss/word:?"}
	got := c.URL("my db")
	cfg, err := pgx.ParseConfig(got)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", got, err)
	}
	checks := []struct{ field, got, want string }{
		{"user", cfg.User, "civic"},
		{"password", cfg.Password, "p@ss/word:?"},
		{"host", cfg.Host, "127.0.0.1"},
		{"port", strconv.Itoa(int(cfg.Port)), "5433"},
		{"database", cfg.Database, "my db"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q (URL %s)", ch.field, ch.got, ch.want, got)
		}
	}
	if !strings.HasSuffix(got, "?sslmode=disable") {
		t.Errorf("URL %s does not disable TLS", got)
	}
}

func TestCreateAndDropDatabase(t *testing.T) {
	t.Parallel()
	c := start(t, Options{Dir: clusterDir(t)})
	ctx := testCtx(t)
	const name = `Odd "name"`
	for range 2 { // the second call must be a no-op
		if err := c.CreateDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	held := connect(t, c.URL(name)) // an open session must not block the drop
	if err := c.DropDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := held.Ping(ctx); err == nil {
		t.Error("session on the dropped database is still alive")
	}
	if got := queryString(t, c.URL("postgres"), "SELECT count(*)::text FROM pg_database WHERE datname = $1", name); got != "0" {
		t.Fatalf("database still listed after drop")
	}
	if err := c.DropDatabase(ctx, name); err != nil {
		t.Fatalf("dropping a missing database: %v", err)
	}
}

func TestServerStopsWhenParentDies(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^TestHelperParentDeath$", "-test.v", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), parentDeathMarker+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var output strings.Builder
	var serverPID int
	sc := bufio.NewScanner(stdout)
	for serverPID == 0 && sc.Scan() {
		output.WriteString(sc.Text() + "\n")
		if pid, ok := strings.CutPrefix(sc.Text(), "SERVER PID "); ok {
			serverPID, _ = strconv.Atoi(pid)
		}
	}
	if serverPID == 0 {
		cmd.Wait()
		t.Fatalf("helper never reported a running server:\n%s%s", output.String(), stderr.String())
	}

	// SIGKILL: the helper gets no chance to stop the server itself.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	pidFile := filepath.Join(dir, "pgdata", "postmaster.pid")
	deadline := time.Now().Add(20 * time.Second)
	for postmasterAlive(serverPID) || fileExists(pidFile) {
		if time.Now().After(deadline) {
			syscall.Kill(serverPID, syscall.SIGQUIT)
			t.Fatalf("server %d still running (or its postmaster.pid still present) after its parent was killed", serverPID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// postmaster.pid is removed only by an orderly shutdown, so the server
	// was not merely killed.
}

// TestHelperParentDeath is the child half of TestServerStopsWhenParentDies:
// it starts a server, reports its pid and waits to be killed.
func TestHelperParentDeath(t *testing.T) {
	dir := os.Getenv(parentDeathMarker)
	if dir == "" {
		return
	}
	c, err := Start(testCtx(t), Options{Dir: dir, Settings: fastSettings, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("SERVER PID %d\n", c.pid)
	time.Sleep(time.Minute)
	t.Fatal("helper was not killed")
}

func TestConcurrentStartsShareOneServer(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t) // fresh: both Starts find no cluster yet
	const n = 3
	clusters := make([]*Cluster, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			clusters[i], errs[i] = Start(testCtx(t), Options{Dir: dir, Settings: fastSettings, Logger: quietLogger})
		})
	}
	wg.Wait()
	t.Cleanup(func() { // attached clusters first: their Stop is a no-op either way
		for _, c := range clusters {
			if c != nil {
				c.Stop(context.Background())
			}
		}
	})
	owners := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Start %d: %v", i, err)
		}
		if !clusters[i].Attached() {
			owners++
		}
		if clusters[i].Port() != clusters[0].Port() {
			t.Errorf("Start %d got port %d, Start 0 got %d", i, clusters[i].Port(), clusters[0].Port())
		}
	}
	if owners != 1 {
		t.Fatalf("%d of %d concurrent Starts started a server, want exactly 1", owners, n)
	}
	if got := queryString(t, clusters[n-1].URL("postgres"), "SELECT 'shared'"); got != "shared" {
		t.Fatalf("got %q", got)
	}
}
