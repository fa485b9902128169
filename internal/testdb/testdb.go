// Package testdb gives tests a real PostgreSQL database, never a mock: one
// private cluster per test binary (see pgembed), and a fresh, empty database
// per test that is dropped when the test ends.
//
// A package using it must call Main from TestMain, so the cluster is stopped
// and its temporary directory removed:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
//
// The cluster starts lazily on the first URL, Pool or Cluster call, so test
// binaries that never touch the database pay nothing. It runs from the
// PostgreSQL server binaries on the machine (see pgembed.FindBinaries); if
// they are missing, tests that need a database fail with instructions rather
// than skip, so a missing database can never make a suite pass vacuously.
//
// Set CIVIC_TEST_DATABASE_URL to use a server you run yourself instead; the
// per-test databases are then created in it and dropped afterwards, which
// needs a role allowed to create databases.
//
// Server settings: max_connections is raised to 300 because tests run in
// parallel with their own pools. For plain test runs, durability is switched
// off (fsync, synchronous_commit and full_page_writes off), which makes
// commits and database creation much faster and loses nothing that matters,
// since the cluster is thrown away. When the test binary runs benchmarks
// (-test.bench is set), the production defaults are kept instead, so that
// benchmark numbers, and ratios between them, reflect real commit costs.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/civicledger/civicledger/internal/pgembed"
)

// EnvURL names the environment variable that points the tests at an
// existing server instead of a private cluster.
const EnvURL = "CIVIC_TEST_DATABASE_URL"

// opTimeout bounds each create or drop, and a cluster start.
const opTimeout = 60 * time.Second

// shared is the harness behind the package functions; tests of the harness
// itself build their own.
var shared = &harness{findBinaries: pgembed.FindBinaries}

var dbCounter atomic.Int64

// harness holds one test binary's database server, started on first use.
type harness struct {
	findBinaries func() (string, error)

	clusterOnce sync.Once
	cluster     *pgembed.Cluster
	clusterDir  string
	clusterErr  error

	serverOnce sync.Once
	srv        server
	serverErr  error
}

// server is where per-test databases are made: the private cluster or the
// one named by CIVIC_TEST_DATABASE_URL.
type server interface {
	URL(database string) string
	CreateDatabase(ctx context.Context, name string) error
	DropDatabase(ctx context.Context, name string) error
}

// Main runs the tests and then stops the shared cluster, if one was started,
// and removes its directory. Call it from TestMain; it does not return.
func Main(m *testing.M) {
	code := m.Run()
	shared.close()
	os.Exit(code)
}

func (h *harness) close() {
	// Synchronises with a start made by any test goroutine, and stops a
	// straggler from starting a cluster nobody would stop.
	h.clusterOnce.Do(func() {})
	if h.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if err := h.cluster.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: stopping the test cluster: %v\n", err)
		}
		cancel()
	}
	if h.clusterDir != "" {
		os.RemoveAll(h.clusterDir)
	}
}

// URL creates a fresh, empty database for the test and returns a connection
// string for it. The database is dropped when the test ends, even if
// connections to it are still open.
func URL(t testing.TB) string {
	t.Helper()
	return shared.url(t)
}

func (h *harness) url(t testing.TB) string {
	t.Helper()
	s, err := h.server()
	if err != nil {
		t.Fatal(err)
	}
	name := newDatabaseName()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return s.URL(name)
}

// Pool returns a connection pool on a fresh database (see URL). The pool is
// closed when the test ends, before the database is dropped.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return shared.pool(t)
}

func (h *harness) pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := h.url(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(pool.Close) // registered after URL's drop, so it runs first
	return pool
}

// Cluster returns the shared private cluster, starting it if needed, for
// tests that exercise the cluster itself. It always uses a private cluster,
// even when CIVIC_TEST_DATABASE_URL is set, because only a private cluster
// offers the pgembed API. It fails the test if the cluster cannot start.
func Cluster(t testing.TB) *pgembed.Cluster {
	t.Helper()
	c, err := shared.getCluster()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *harness) server() (server, error) {
	h.serverOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			h.srv, h.serverErr = newExternal(u)
			return
		}
		h.srv, h.serverErr = h.getCluster()
	})
	return h.srv, h.serverErr
}

func (h *harness) getCluster() (*pgembed.Cluster, error) {
	h.clusterOnce.Do(func() {
		h.cluster, h.clusterDir, h.clusterErr = h.startCluster()
	})
	return h.cluster, h.clusterErr
}

func (h *harness) startCluster() (*pgembed.Cluster, string, error) {
	// Find the binaries first, so that a machine without them gets the
	// NotFoundError's instructions verbatim.
	bin, err := h.findBinaries()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "civic-testpg-*")
	if err != nil {
		return nil, "", fmt.Errorf("testdb: %w", err)
	}
	// When the tests run as root, the server runs as `postgres`, which must
	// be able to enter this directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("testdb: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := pgembed.Start(ctx, pgembed.Options{Dir: dir, BinDir: bin, Settings: settings(benchmarking())})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("testdb: start the test cluster: %w", err)
	}
	return c, dir, nil
}

// settings returns the server settings for the shared cluster; see the
// package comment for why benchmarks get different ones.
func settings(benchmarks bool) map[string]string {
	s := map[string]string{"max_connections": "300"}
	if !benchmarks {
		s["fsync"] = "off"
		s["synchronous_commit"] = "off"
		s["full_page_writes"] = "off"
	}
	return s
}

func benchmarking() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}

// newDatabaseName returns "t_<counter>_<random>". The counter keeps names
// unique within the binary; the random part keeps them unique across test
// binaries sharing one server via CIVIC_TEST_DATABASE_URL.
func newDatabaseName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("t_%d_%s", dbCounter.Add(1), hex.EncodeToString(b[:]))
}

// external is a server run by the developer, named by CIVIC_TEST_DATABASE_URL.
type external struct {
	admin string // the connection string as given, used to create and drop
	cfg   *pgx.ConnConfig
}

func newExternal(connString string) (*external, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("testdb: %s: %w", EnvURL, err)
	}
	return &external{admin: connString, cfg: cfg}, nil
}

// URL derives a connection string for database from the given one, keeping
// its host, credentials and options.
func (e *external) URL(database string) string {
	if u, err := url.Parse(e.admin); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + database
		u.RawPath = ""
		return u.String()
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return e.admin + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(database) + "'"
}

// CreateDatabase creates the database on the external server.
func (e *external) CreateDatabase(ctx context.Context, name string) error {
	return e.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// DropDatabase drops the database, closing its sessions.
func (e *external) DropDatabase(ctx context.Context, name string) error {
	return e.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func (e *external) exec(ctx context.Context, sql string) error {
	conn, err := pgx.ConnectConfig(ctx, e.cfg.Copy())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// NewCluster starts a private cluster of the test's own, apart from the
// shared one, for a test that moves a database between clusters (a
// restore from a dump, a physical copy): a cluster with its own identity
// and transaction counter. It returns the cluster's directory too (Dir in
// pgembed.Options), and stops the cluster and removes the directory when
// the test ends. It takes a few seconds (initdb).
func NewCluster(t testing.TB) (*pgembed.Cluster, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "civic-testpg-own-*")
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// As in the shared cluster: the server, run as `postgres` when the
	// tests run as root, must be able to enter it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return StartCluster(t, dir), dir
}

// StartCluster starts the cluster in dir, a pgembed directory that already
// holds one (a data directory copied from another cluster, with its
// password file), and stops it when the test ends.
func StartCluster(t testing.TB, dir string) *pgembed.Cluster {
	t.Helper()
	bin, err := shared.findBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := pgembed.Start(ctx, pgembed.Options{Dir: dir, BinDir: bin, Settings: settings(benchmarking())})
	if err != nil {
		t.Fatalf("testdb: start a cluster in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("testdb: stop the cluster in %s: %v", dir, err)
		}
	})
	return c
}
