package testdb

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/civicledger/civicledger/internal/pgembed"
)

func TestMain(m *testing.M) { Main(m) }

func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func databaseName(t testing.TB, connString string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", connString, err)
	}
	return cfg.Database
}

func databaseExists(t testing.TB, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var exists bool
	if err := pool.QueryRow(ctx(t), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func tableExists(t testing.TB, pool *pgxpool.Pool, table string) bool {
	t.Helper()
	var exists bool
	if err := pool.QueryRow(ctx(t), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func TestDatabasesAreIsolatedAndDropped(t *testing.T) {
	urlA, urlB := URL(t), URL(t)
	nameA, nameB := databaseName(t, urlA), databaseName(t, urlB)
	if nameA == nameB {
		t.Fatalf("two URL calls gave the same database %q", nameA)
	}
	for _, name := range []string{nameA, nameB} {
		if !strings.HasPrefix(name, "t_") {
			t.Errorf("database name %q lacks the t_ prefix", name)
		}
	}

	poolA, err := pgxpool.New(ctx(t), urlA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolA.Close)
	poolB, err := pgxpool.New(ctx(t), urlB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)

	if _, err := poolA.Exec(ctx(t), "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, poolA, "only_in_a") {
		t.Fatal("table missing in the database that created it")
	}
	if tableExists(t, poolB, "only_in_a") {
		t.Fatal("table created in one test database is visible in another")
	}

	var subName string
	var subPool *pgxpool.Pool
	var leaked *pgx.Conn
	t.Run("subtest", func(t *testing.T) {
		subPool = Pool(t)
		subName = subPool.Config().ConnConfig.Database
		if _, err := subPool.Exec(ctx(t), "CREATE TABLE scratch (id int)"); err != nil {
			t.Fatal(err)
		}
		// A connection the test forgets to close must not keep its
		// database alive.
		leaked, err = pgx.Connect(ctx(t), URL(t))
		if err != nil {
			t.Fatal(err)
		}
		if !databaseExists(t, poolA, subName) {
			t.Fatalf("database %s not visible from another database during the test", subName)
		}
	})
	t.Cleanup(func() { leaked.Close(context.Background()) })
	if subName == "" {
		t.Fatal("subtest did not get a database")
	}
	if databaseExists(t, poolA, subName) {
		t.Fatalf("database %s still exists after its test ended", subName)
	}
	if databaseExists(t, poolA, leaked.Config().Database) {
		t.Fatalf("database %s with a leaked connection still exists after its test ended", leaked.Config().Database)
	}
	if err := subPool.Ping(ctx(t)); err == nil {
		t.Fatal("Pool still usable after its test ended")
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		benchmarks bool
		want       map[string]string
	}{
		{false, map[string]string{"max_connections": "300", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}},
		{true, map[string]string{"max_connections": "300"}},
	}
	for _, tt := range tests {
		got := settings(tt.benchmarks)
		if len(got) != len(tt.want) {
			t.Errorf("settings(%v) = %v, want %v", tt.benchmarks, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("settings(%v)[%s] = %q, want %q", tt.benchmarks, k, got[k], v)
			}
		}
	}
}

func TestClusterRunsWithTestSettings(t *testing.T) {
	c := Cluster(t)
	conn, err := pgx.Connect(ctx(t), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	want := settings(benchmarking())
	for name, value := range want {
		var got string
		if err := conn.QueryRow(ctx(t), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
}

func TestExternalURL(t *testing.T) {
	tests := []struct {
		given, want string
	}{
		{"postgres://u:p@db.example:5433/admin?sslmode=require", "postgres://u:p@db.example:5433/t_1_ab?sslmode=require"},
		{"postgresql://u@localhost", "postgresql://u@localhost/t_1_ab"},
		{"host=db user=u dbname=admin", "host=db user=u dbname=admin dbname='t_1_ab'"},
	}
	for _, tt := range tests {
		e, err := newExternal(tt.given)
		if err != nil {
			t.Fatal(err)
		}
		got := e.URL("t_1_ab")
		if got != tt.want {
			t.Errorf("URL from %q = %q, want %q", tt.given, got, tt.want)
		}
		if name := databaseName(t, got); name != "t_1_ab" {
			t.Errorf("%q connects to database %q, want t_1_ab", got, name)
		}
	}
}

// outcomeRecorder stands in for a test so that a harness's failures (and
// any skip, which would be a bug) can be inspected instead of failing the
// real test.
type outcomeRecorder struct {
	testing.TB
	mu      sync.Mutex
	fatal   []string
	skipped bool
}

func (r *outcomeRecorder) Helper() {}

func (r *outcomeRecorder) Fatal(args ...any) {
	r.mu.Lock()
	r.fatal = append(r.fatal, fmt.Sprint(args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *outcomeRecorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }

func (r *outcomeRecorder) SkipNow() {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *outcomeRecorder) Skip(...any)          { r.SkipNow() }
func (r *outcomeRecorder) Skipf(string, ...any) { r.SkipNow() }

// run calls fn the way the testing package calls a test, in its own
// goroutine so that Fatal's Goexit ends only fn.
func (r *outcomeRecorder) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestMissingBinariesFailTheTest(t *testing.T) {
	t.Setenv(EnvURL, "") // make sure the harness wants a private cluster
	notFound := &pgembed.NotFoundError{Looked: []string{"PG_BIN", "PATH"}}
	tests := []struct {
		name string
		call func(h *harness, tb testing.TB)
	}{
		{"URL", func(h *harness, tb testing.TB) { h.url(tb) }},
		{"Pool", func(h *harness, tb testing.TB) { h.pool(tb) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &harness{findBinaries: func() (string, error) { return "", notFound }}
			rec := &outcomeRecorder{TB: t}
			rec.run(func() { tt.call(h, rec) })
			if rec.skipped {
				t.Fatal("missing binaries skipped the test instead of failing it")
			}
			if len(rec.fatal) != 1 || !strings.Contains(rec.fatal[0], notFound.Error()) {
				t.Fatalf("fatal messages = %q, want one containing %q", rec.fatal, notFound.Error())
			}
			h.close()
		})
	}
}

func TestExternalServer(t *testing.T) {
	// A private cluster stands in for a server the developer runs.
	e, err := newExternal(Cluster(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgxpool.New(ctx(t), e.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)

	name := newDatabaseName()
	if err := e.CreateDatabase(ctx(t), name); err != nil {
		t.Fatal(err)
	}
	held, err := pgx.Connect(ctx(t), e.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close(context.Background())
	if err := e.DropDatabase(ctx(t), name); err != nil {
		t.Fatal(err)
	}
	if databaseExists(t, admin, name) {
		t.Fatalf("database %s still exists after DropDatabase", name)
	}
}
