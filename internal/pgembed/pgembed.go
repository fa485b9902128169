// Package pgembed runs a private PostgreSQL cluster from the server binaries
// already installed on the machine, so that `civic serve` and the tests need
// no separately administered database server.
//
// The cluster lives in one directory (Options.Dir) and survives restarts:
// the first Start runs initdb, later Starts reuse the data. The server is run
// as a direct child process rather than through pg_ctl so that its lifetime
// is tied to ours: Stop shuts it down, and on Linux it is also told to shut
// down if our process dies without calling Stop. It listens only on
// 127.0.0.1 with password (scram-sha-256) authentication, and Unix-domain
// sockets are disabled, so nothing outside the loopback interface, and no
// local user without the password in Dir/password, can reach it.
//
// PostgreSQL refuses to run as root. When our process is root, the server
// and initdb run as the `postgres` system user (or as the existing owner of
// the data directory), which therefore needs to be able to traverse every
// directory leading to Dir.
//
// Two processes using the same Dir share one server: the second Start finds
// the first's postmaster.pid and attaches to it instead of starting another.
//
// The package builds on Unix systems only; DROP DATABASE ... WITH (FORCE)
// needs PostgreSQL 13 or later.
package pgembed

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// superuser is the cluster's only role; URL connects as it.
const superuser = "civic"

const (
	// defaultStartTimeout bounds Start when the caller's context has no
	// deadline: a server that has not come up by then is not going to.
	defaultStartTimeout = 60 * time.Second
	// fastShutdownTimeout is how long Stop lets a fast shutdown (which
	// checkpoints) run before resorting to an immediate shutdown.
	fastShutdownTimeout = 30 * time.Second
	// quitTimeout is how long an immediate shutdown may take before the
	// postmaster is killed outright.
	quitTimeout = 10 * time.Second
	// portAttempts bounds retries when a port chosen as free was taken by
	// someone else before the server could bind it.
	portAttempts = 3
)

// reservedSettings are managed by Start; letting Settings override them
// would break the guarantee that the server listens only on loopback TCP.
var reservedSettings = []string{"listen_addresses", "port", "unix_socket_directories"}

// Options configures Start. Only Dir is required.
type Options struct {
	// Dir is the root directory of the cluster, created if missing. It holds
	// Dir/pgdata (the data directory), Dir/password (the superuser password,
	// mode 0600; keep it, the data is unreachable without it) and
	// Dir/postgres.log (initdb and server output, appended to across runs),
	// plus Dir/start.lock, which keeps concurrent Starts from colliding.
	Dir string
	// Port is the TCP port on 127.0.0.1. Zero picks a free port at each
	// start, so the port may change across restarts: always ask Port or URL.
	Port int
	// BinDir is the directory holding initdb and postgres; empty means
	// FindBinaries().
	BinDir string
	// Settings are extra server settings, passed as -c name=value at every
	// start (e.g. "fsync": "off" for tests, "max_connections"). They cannot
	// override listen_addresses, port or unix_socket_directories. When
	// fsync is "off", initdb also skips syncing, since the caller has
	// declared it does not need durability.
	Settings map[string]string
	// Logger receives start and stop events at Info level; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Cluster is a running PostgreSQL server, either started by Start or, when
// Attached reports true, one that was already running on the same Dir.
// Its methods are safe for concurrent use.
type Cluster struct {
	dir      string
	port     int
	password string
	attached bool
	pid      int
	logger   *slog.Logger

	// Set only when we started the server.
	proc    *os.Process
	logPath string
	logFrom int64         // offset in the log where this run's output begins
	exited  chan struct{} // closed once the server process has been reaped
	waitErr error         // the server's exit status; read only after exited is closed

	stopMu  sync.Mutex
	stopped bool
	stopErr error
}

// Port returns the TCP port the server listens on at 127.0.0.1. It can
// differ between runs when Options.Port is zero.
func (c *Cluster) Port() int { return c.port }

// Attached reports whether Start attached to a server it did not start
// (another process using the same Dir); Stop then leaves that server alone.
func (c *Cluster) Attached() bool { return c.attached }

// URL returns a connection string for the given database, authenticating as
// the cluster's superuser "civic":
// postgres://civic:<escaped password>@127.0.0.1:<port>/<database>?sslmode=disable.
// TLS is disabled because the server only listens on loopback.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates the database unless it already exists, so callers
// can call it at every start without checking first.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("pgembed: empty database name")
	}
	return c.admin(ctx, func(conn *pgx.Conn) error {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return fmt.Errorf("pgembed: check database %q: %w", name, err)
		}
		if exists {
			return nil
		}
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a concurrent caller won
			return nil
		}
		if err != nil {
			return fmt.Errorf("pgembed: create database %q: %w", name, err)
		}
		return nil
	})
}

// DropDatabase drops the database if it exists, disconnecting any sessions
// still using it (WITH (FORCE)) so that leaked connections cannot block it.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("pgembed: empty database name")
	}
	return c.admin(ctx, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("pgembed: drop database %q: %w", name, err)
		}
		return nil
	})
}

func (c *Cluster) admin(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgembed: connect to %s: %w", c.dir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// Stop shuts the server down cleanly and waits for it to exit: a fast
// shutdown (SIGINT), which disconnects clients and checkpoints, escalating to
// an immediate shutdown (SIGQUIT) if that has not finished within 30 s or by
// ctx's deadline, and to SIGKILL if even that hangs. Escalation is reported
// as an error, but the data remains safe (the next start replays the WAL).
// Stop is safe to call more than once (later calls return the first
// result) and is a no-op on an attached cluster, whose server belongs to
// another process.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.attached {
		return nil
	}
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if !c.stopped {
		c.stopped = true
		c.stopErr = c.shutdown(ctx)
	}
	return c.stopErr
}

func (c *Cluster) shutdown(ctx context.Context) error {
	select {
	case <-c.exited:
		return fmt.Errorf("pgembed: server in %s had already exited (%v)%s", c.dir, c.waitErr, c.logTail())
	default:
	}
	_ = c.proc.Signal(syscall.SIGINT)
	fast := time.NewTimer(fastShutdownTimeout)
	defer fast.Stop()
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("pgembed: server in %s exited with %v during shutdown%s", c.dir, c.waitErr, c.logTail())
		}
		c.logger.Info("postgres stopped", "dir", c.dir, "port", c.port)
		return nil
	case <-fast.C:
	case <-ctx.Done():
	}
	_ = c.proc.Signal(syscall.SIGQUIT)
	quit := time.NewTimer(quitTimeout)
	defer quit.Stop()
	select {
	case <-c.exited:
	case <-quit.C:
		_ = c.proc.Kill()
		<-c.exited
	}
	c.logger.Warn("postgres stopped by immediate shutdown", "dir", c.dir, "port", c.port)
	return fmt.Errorf("pgembed: fast shutdown of server in %s did not finish in time; forced an immediate shutdown (WAL will be replayed at next start)", c.dir)
}

// Start makes a server available on Options.Dir and returns once it accepts
// connections. On first use it initialises the cluster (superuser "civic",
// UTF8, locale C.UTF-8 or C, scram-sha-256 with a random password written
// to Dir/password). If a server is already running on Dir/pgdata (its
// postmaster.pid names a live process), Start attaches to it instead of
// starting a second one; a postmaster.pid left behind by a dead server is
// ignored. Otherwise Start runs `postgres` as its child, listening only on
// 127.0.0.1, and the caller must Stop it.
//
// When ctx has no deadline, Start gives up after 60 s. If the server exits
// early, the error includes the end of Dir/postgres.log. When running as
// root, the server runs as the `postgres` user (or the existing owner of
// Dir/pgdata); Start fails, naming the directory, if that user cannot reach
// Dir.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgembed: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	for _, name := range reservedSettings {
		if _, ok := opts.Settings[name]; ok {
			return nil, fmt.Errorf("pgembed: setting %s is managed by pgembed and cannot be overridden", name)
		}
	}
	for name := range opts.Settings {
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			return nil, fmt.Errorf("pgembed: invalid setting name %q", name)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindBinaries(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}

	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	s := &starter{dir: dir, dataDir: filepath.Join(dir, "pgdata"), binDir: binDir, opts: opts, logger: logger}
	if c, err := s.attach(ctx); c != nil || err != nil {
		return c, err
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		c, err := s.launch(ctx)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, errPortInUse) && opts.Port == 0 && attempt < portAttempts {
			continue
		}
		// Another process may have started a server on this Dir between
		// our attach check and our launch; ours then failed on the lock.
		if c, aerr := s.attach(ctx); c != nil && aerr == nil {
			return c, nil
		}
		return nil, err
	}
}

// lockDir serialises Starts on the same Dir, across processes and within
// one, so that two first starts cannot both run initdb and a second start
// attaches to the first's server instead of racing its launch. The lock is
// released when Start returns; the running server is guarded by its own
// postmaster.pid.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	path := filepath.Join(dir, "start.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the file releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("pgembed: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("pgembed: another process is still starting the cluster in %s: %w", dir, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// starter carries the state Start accumulates; it exists to keep Start's
// steps small.
type starter struct {
	dir, dataDir, binDir string
	opts                 Options
	logger               *slog.Logger
	runAs                *osUser // nil: run as ourselves
}

// osUser is the identity the server runs as when we are root.
type osUser struct {
	name     string
	uid, gid uint32
	groups   []uint32
}

var errPortInUse = errors.New("port already in use")

// errServerGone reports that a server we were attaching to exited meanwhile.
var errServerGone = errors.New("server exited")

// attach returns a Cluster for a server already running on dataDir, or
// (nil, nil) when there is none.
func (s *starter) attach(ctx context.Context) (*Cluster, error) {
	pid, port, ok := readPostmasterPID(filepath.Join(s.dataDir, "postmaster.pid"))
	if !ok {
		return nil, nil
	}
	if !postmasterAlive(pid) {
		s.logger.Info("ignoring stale postmaster.pid", "dir", s.dir, "pid", pid)
		return nil, nil
	}
	password, err := readPassword(s.dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: s.dir, port: port, password: password, attached: true, pid: pid, logger: s.logger}
	err = c.waitReady(ctx, func() bool { return !postmasterAlive(pid) })
	if errors.Is(err, errServerGone) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgembed: a server (pid %d) is running on %s but %w", pid, s.dataDir, err)
	}
	s.logger.Info("attached to running postgres", "dir", s.dir, "port", port, "pid", pid)
	return c, nil
}

// prepare settles who the server runs as, checks that it can reach Dir, and
// initialises the cluster if needed.
func (s *starter) prepare(ctx context.Context) error {
	initialised := fileExists(filepath.Join(s.dataDir, "PG_VERSION"))
	if os.Geteuid() == 0 {
		u, err := serverUser(s.dataDir, initialised)
		if err != nil {
			return err
		}
		s.runAs = u
		if err := s.checkReachable(); err != nil {
			return err
		}
		if initialised {
			if err := ensureOwner(s.dataDir, u); err != nil {
				return err
			}
		}
	}
	if initialised {
		if !fileExists(filepath.Join(s.dir, "password")) {
			return fmt.Errorf("pgembed: %s exists but %s is missing, so the server cannot be reached; restore the file or remove %s to start afresh",
				s.dataDir, filepath.Join(s.dir, "password"), s.dataDir)
		}
		return nil
	}
	return s.initdb(ctx)
}

// serverUser picks the account to run the server as when we are root. An
// existing data directory keeps its owner, because PostgreSQL insists on
// running as that owner and a normal user's cluster must stay usable by
// them; otherwise the conventional `postgres` account is used.
func serverUser(dataDir string, initialised bool) (*osUser, error) {
	if initialised {
		if fi, err := os.Stat(dataDir); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				if u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil {
					return toOSUser(u)
				}
				return &osUser{name: "uid " + strconv.FormatUint(uint64(st.Uid), 10), uid: st.Uid, gid: st.Gid, groups: []uint32{st.Gid}}, nil
			}
		}
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgembed: running as root, but PostgreSQL refuses to run as root and there is no `postgres` user to run it as (%v); create one (useradd --system postgres), run as a normal user, or set DATABASE_URL to use a server you run yourself", err)
	}
	return toOSUser(u)
}

func toOSUser(u *user.User) (*osUser, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgembed: user %s: %w", u.Username, err)
	}
	ou := &osUser{name: u.Username, uid: uint32(uid), gid: uint32(gid), groups: []uint32{uint32(gid)}}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil && !slices.Contains(ou.groups, uint32(g)) {
				ou.groups = append(ou.groups, uint32(g))
			}
		}
	}
	return ou, nil
}

// checkReachable makes sure the server's user can traverse every directory
// down to Dir; otherwise initdb and postgres fail with an obscure
// "permission denied" deep inside the server log. Dir itself belongs to the
// cluster, so it is made traversable rather than rejected.
func (s *starter) checkReachable() error {
	var parents []string
	for p := filepath.Dir(s.dir); ; p = filepath.Dir(p) {
		parents = append(parents, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	slices.Reverse(parents) // report the outermost blocker first
	for _, p := range parents {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if !canTraverse(fi, s.runAs) {
			return fmt.Errorf("pgembed: directory %s (mode %#o) is not traversable by user %s, which the PostgreSQL server must run as because it refuses to run as root; put the cluster under a directory that user can reach (e.g. /var/lib/civic or /tmp), make %s traversable (chmod o+x), or set DATABASE_URL to use a server you run yourself",
				p, fi.Mode().Perm(), s.runAs.name, p)
		}
	}
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if !canTraverse(fi, s.runAs) {
		if err := os.Chmod(s.dir, fi.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("pgembed: make %s traversable by %s: %w", s.dir, s.runAs.name, err)
		}
	}
	return nil
}

// canTraverse applies the classic owner/group/other permission check; ACLs
// are not consulted.
func canTraverse(fi os.FileInfo, u *osUser) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == u.uid:
		return perm&0o100 != 0
	case slices.Contains(u.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// ensureOwner hands a data directory left owned by root (which PostgreSQL
// would refuse to use) to the server user.
func ensureOwner(dataDir string, u *osUser) error {
	fi, err := os.Stat(dataDir)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid == u.uid {
		return nil
	}
	return chownTree(dataDir, u)
}

func chownTree(root string, u *osUser) error {
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.uid), int(u.gid))
	})
	if err != nil {
		return fmt.Errorf("pgembed: give %s to %s: %w", root, u.name, err)
	}
	return nil
}

// initdb creates the cluster in a scratch directory and renames it into
// place only once it is complete, so that an interrupted first start cannot
// leave a half-initialised Dir/pgdata that later starts would trip over.
func (s *starter) initdb(ctx context.Context) error {
	if fileExists(s.dataDir) {
		entries, err := os.ReadDir(s.dataDir)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("pgembed: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or remove it", s.dataDir)
		}
		if err := os.Remove(s.dataDir); err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
	}
	scratch := s.dataDir + ".initdb"
	pwFile := filepath.Join(s.dir, ".initdb-pwfile")
	defer os.RemoveAll(scratch)
	defer os.Remove(pwFile)

	password := rand.Text()
	// initdb reads the password from a file; it runs as the server user, so
	// that user must own this short-lived copy.
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if err := s.chown(pwFile); err != nil {
		return err
	}

	logFile, logFrom, err := openLog(s.dir, "initdb")
	if err != nil {
		return err
	}
	defer logFile.Close()

	s.logger.Info("initialising postgres cluster", "dir", s.dir)
	var lastErr error
	// C.UTF-8 sorts and classifies non-ASCII text sensibly and is available
	// on modern glibc; plain C is the fallback that exists everywhere.
	for _, locale := range []string{"C.UTF-8", "C"} {
		if err := os.RemoveAll(scratch); err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		// initdb cannot create the directory itself when it runs as another
		// user inside a root-owned Dir.
		if err := os.Mkdir(scratch, 0o700); err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if err := s.chown(scratch); err != nil {
			return err
		}
		args := []string{
			"-D", scratch,
			"-U", superuser,
			"--encoding=UTF8",
			"--locale=" + locale,
			"--auth-host=scram-sha-256",
			"--auth-local=scram-sha-256",
			"--pwfile=" + pwFile,
		}
		if strings.EqualFold(s.opts.Settings["fsync"], "off") {
			args = append(args, "--no-sync")
		}
		cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "initdb"), args...)
		cmd.Dir = s.dir
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.credential()}
		if lastErr = cmd.Run(); lastErr == nil {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if lastErr != nil {
		return fmt.Errorf("pgembed: initdb in %s failed: %w%s", s.dir, lastErr, tailOf(filepath.Join(s.dir, "postgres.log"), logFrom))
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "password"), []byte(password+"\n")); err != nil {
		return err
	}
	if err := os.Rename(scratch, s.dataDir); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	return nil
}

func (s *starter) chown(path string) error {
	if s.runAs == nil {
		return nil
	}
	if err := os.Chown(path, int(s.runAs.uid), int(s.runAs.gid)); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	return nil
}

func (s *starter) credential() *syscall.Credential {
	if s.runAs == nil {
		return nil
	}
	return &syscall.Credential{Uid: s.runAs.uid, Gid: s.runAs.gid, Groups: s.runAs.groups}
}

// launch starts the server and waits until it accepts connections.
func (s *starter) launch(ctx context.Context) (*Cluster, error) {
	password, err := readPassword(s.dir)
	if err != nil {
		return nil, err
	}
	port := s.opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	logFile, logFrom, err := openLog(s.dir, fmt.Sprintf("postgres on 127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor

	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", // no socket: TCP with a password is the only way in
	}
	for _, name := range slices.Sorted(maps.Keys(s.opts.Settings)) {
		args = append(args, "-c", name+"="+s.opts.Settings[name])
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.credential(),
		// Own process group: a Ctrl-C at the terminal reaches only us, and
		// we decide when and how the server stops.
		Setpgid: true,
	}
	setParentDeathSignal(cmd.SysProcAttr)

	c := &Cluster{
		dir: s.dir, port: port, password: password, logger: s.logger,
		logPath: filepath.Join(s.dir, "postgres.log"), logFrom: logFrom,
		exited: make(chan struct{}),
	}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that forked the
		// child exits, not when the process does; Go may retire an idle
		// thread at any time, so fork from a locked thread and keep it busy
		// waiting for the server. The thread is never unlocked: when this
		// goroutine returns, the runtime discards it.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("pgembed: start postgres: %w", err)
	}
	c.proc = cmd.Process
	c.pid = cmd.Process.Pid

	if err := c.waitReady(ctx, func() bool { return false }); err != nil {
		c.kill()
		tail := c.logTail()
		if strings.Contains(tail, "could not bind") || strings.Contains(tail, "could not create any TCP/IP sockets") {
			err = fmt.Errorf("%w: %w", errPortInUse, err)
		}
		return nil, fmt.Errorf("pgembed: postgres in %s did not start: %w%s", s.dir, err, tail)
	}
	s.logger.Info("postgres started", "dir", s.dir, "port", port, "pid", c.pid)
	return c, nil
}

// kill ends a server that failed to become ready, so a failed Start leaves
// nothing running.
func (c *Cluster) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(quitTimeout):
		_ = c.proc.Kill()
		<-c.exited
	}
}

// waitReady polls until the server accepts an authenticated connection.
// gone reports that an attached server has exited.
func (c *Cluster) waitReady(ctx context.Context, gone func() bool) error {
	const interval = 50 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code != "57P03" { // 57P03: starting up or shutting down
			return fmt.Errorf("the server refused the connection: %w", err)
		}
		if c.exited != nil {
			select {
			case <-c.exited:
				return fmt.Errorf("server exited early (%v)", c.waitErr)
			default:
			}
		} else if gone() {
			return errServerGone
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no connection accepted before the deadline (%w); last error: %v", ctx.Err(), err)
		case <-c.exited: // nil channel when attached: never ready
		case <-time.After(interval):
		}
	}
}

func (c *Cluster) logTail() string {
	if c.logPath == "" {
		return ""
	}
	return tailOf(c.logPath, c.logFrom)
}

// openLog opens Dir/postgres.log for appending and marks where this run's
// output begins, so errors can quote just that part.
func openLog(dir, what string) (*os.File, int64, error) {
	f, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("pgembed: %w", err)
	}
	if _, err := fmt.Fprintf(f, "--- pgembed: %s, %s ---\n", what, time.Now().Format(time.RFC3339)); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("pgembed: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("pgembed: %w", err)
	}
	return f, fi.Size(), nil
}

// tailOf returns the last lines written to the log since offset, formatted
// to be appended to an error message.
func tailOf(path string, offset int64) string {
	const maxBytes, maxLines = 4096, 30
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if fi.Size()-offset > maxBytes {
		offset = fi.Size() - maxBytes
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	text := strings.Join(lines, "\n")
	if strings.TrimSpace(text) == "" {
		return " (" + path + " is empty)"
	}
	return "\n--- end of " + path + " ---\n" + text
}

func readPassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		return "", fmt.Errorf("pgembed: read superuser password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pgembed: %w", err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgembed: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readPostmasterPID extracts the postmaster's pid (line 1) and port
// (line 4) from a postmaster.pid file.
func readPostmasterPID(path string) (pid, port int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if len(lines) < 4 {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(lines[0])
	port, err2 := strconv.Atoi(lines[3])
	if err1 != nil || err2 != nil || pid <= 0 || port <= 0 {
		return 0, 0, false
	}
	return pid, port, true
}

// postmasterAlive reports whether pid is a live PostgreSQL server. A bare
// existence check is not enough: after a crash or reboot the recorded pid
// may have been reused by an unrelated process.
func postmasterAlive(pid int) bool {
	if pid == os.Getpid() {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	name, zombie, known := processInfo(pid)
	if !known {
		return true
	}
	return !zombie && (name == "postgres" || name == "postmaster")
}
