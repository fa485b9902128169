package backup_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/backup"
	"github.com/civicledger/civicledger/internal/pgembed"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// open returns a pool over the database at u, migrated (which takes the
// log up on its cluster, as every civic command does).
func open(t *testing.T, u string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return pool
}

// sequence runs a signing sequencer over pool until stop (or the test's
// end), and returns its store.
func sequence(t *testing.T, pool *pgxpool.Pool, key ed25519.PrivateKey) (*postgres.Store, func()) {
	t.Helper()
	s := postgres.New(pool, postgres.Options{SigningKey: key, CheckpointEvery: 10, CheckpointInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.RunSequencer(ctx); err != nil {
			t.Errorf("RunSequencer: %v", err)
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			s.Close()
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// writer is a store that appends without sequencing: its events wait
// unpositioned, as a server's do while no sequencer leads.
func writer(t *testing.T, pool *pgxpool.Pool) *postgres.Store {
	s := postgres.New(pool, postgres.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(s.Close)
	return s
}

func appendEvents(t *testing.T, s *postgres.Store, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		e := eventstore.EventData{
			ID: eventstore.NewID(), Type: "test.happened",
			Data:     json.RawMessage(fmt.Sprintf(`{"n":%d,"of":%q}`, i, prefix)),
			Metadata: eventstore.Metadata{Actor: "test", Role: "admin"},
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("%s-%d", prefix, i%3), eventstore.Any(), e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID.String())
	}
	return ids
}

// logIDs returns the IDs of the log's events in position order.
func logIDs(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT e.event_id::text FROM eventstore.log l
		JOIN eventstore.events e ON (e.epoch, e.tx, e.seq) = (l.epoch, l.tx, l.seq) ORDER BY l.position`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitLog waits until the log has n entries.
func waitLog(t *testing.T, pool *pgxpool.Pool, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int64
		if err := pool.QueryRow(context.Background(), `SELECT coalesce(max(position), 0) FROM eventstore.log`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("the log has %d entries, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// intact runs civic verify's check over the whole log, checkpoints
// included, and fails unless it holds and a checkpoint covers the head.
func intact(t *testing.T, pool *pgxpool.Pool, key ed25519.PrivateKey) {
	t.Helper()
	r, err := postgres.Verify(context.Background(), pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, Every: 10})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !r.OK() || r.Checkpoints == 0 || r.Latest != r.To {
		t.Fatalf("verify: %s", r)
	}
}

// writeAndPosition appends one event with a running sequencer and returns
// its position: the restored ledger takes writes.
func writeAndPosition(t *testing.T, s *postgres.Store) int64 {
	t.Helper()
	res, err := s.Append(context.Background(), "after-restore", eventstore.Any(), eventstore.EventData{
		ID: eventstore.NewID(), Type: "test.happened", Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{Actor: "test", Role: "admin"},
	})
	if err != nil {
		t.Fatalf("append after the restore: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pos, err := s.AwaitPosition(ctx, res.LastID)
	if err != nil {
		t.Fatalf("the write after the restore got no position: %v", err)
	}
	return pos
}

// epochs returns the log's epochs' clusters, oldest first ("" for none).
func epochs(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT coalesce(system_id::text, '') FROM eventstore.epochs ORDER BY epoch`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func systemID(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var id string
	if err := pool.QueryRow(context.Background(), `SELECT system_identifier::text FROM pg_control_system()`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func leaves(t *testing.T, pool *pgxpool.Pool, upTo int64) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT string_agg(encode(leaf, 'hex'), ',' ORDER BY position) FROM eventstore.log WHERE position <= $1`, upTo).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// restored restores the backup at path into database db of cluster c
// (created empty), opens and migrates it.
func restored(t *testing.T, path string, c *pgembed.Cluster, db string, key ed25519.PrivateKey) *pgxpool.Pool {
	t.Helper()
	if err := c.CreateDatabase(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(context.Background(), path, backup.RestoreOptions{URL: c.URL(db), Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}}); err != nil {
		t.Fatalf("Restore into %s: %v", db, err)
	}
	return open(t, c.URL(db))
}

// TestRestorePaths moves one ledger through every way a PostgreSQL
// database is moved, and after each checks that nothing was lost,
// reordered or positioned twice: events positioned before keep their
// positions and leaves, events the dump held unpositioned come next in
// their original order, a new write follows, and verify (checkpoints
// included) holds.
func TestRestorePaths(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	src := testdb.URL(t) // on the shared cluster, A
	poolA := open(t, src)
	seqA, stopA := sequence(t, poolA, key)
	positioned := appendEvents(t, seqA, "before", 30)
	waitLog(t, poolA, 30)
	stopA() // signs the log at 30 as it stands down
	pending := appendEvents(t, writer(t, poolA), "pending", 5)

	path := filepath.Join(t.TempDir(), "ledger.backup")
	m, err := backup.Write(ctx, path, backup.Options{URL: src, Key: key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if m.Events != 35 || m.Positioned != 30 || m.KeyID != postgres.KeyID(key.Public().(ed25519.PublicKey)) || !strings.Contains(m.Checkpoint, "\n30\n") {
		t.Fatalf("manifest: %+v", m)
	}
	if _, err := backup.Write(ctx, path, backup.Options{URL: src}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second backup over the first: %v", err)
	}
	// Written after the dump's snapshot, before the restores: not in them.
	late := appendEvents(t, writer(t, poolA), "late", 3)
	wantOrder := append(slices.Clone(positioned), pending...)

	check := func(t *testing.T, pool *pgxpool.Pool, head int64) {
		t.Helper()
		s, stop := sequence(t, pool, key)
		waitLog(t, pool, head)
		got := logIDs(t, pool)
		if !slices.Equal(got[:35], wantOrder) {
			t.Fatalf("restored log order:\n got %v\nwant %v", got[:35], wantOrder)
		}
		for _, id := range late {
			if slices.Contains(got, id) {
				t.Fatalf("event %s, appended after the dump, is in the restored log", id)
			}
		}
		if leaves(t, pool, 30) != leaves(t, poolA, 30) {
			t.Fatal("the restored log's first 30 leaves differ from the source's")
		}
		if pos := writeAndPosition(t, s); pos != head+1 {
			t.Fatalf("the write after the restore got position %d, want %d", pos, head+1)
		}
		stop()
		intact(t, pool, key)
	}

	clusterB, dirB := testdb.NewCluster(t)
	r1 := restored(t, path, clusterB, "r1", key)
	t.Run("dump into a new cluster", func(t *testing.T) {
		if e := epochs(t, r1); len(e) != 3 || e[1] != systemID(t, poolA) || e[2] != systemID(t, r1) {
			t.Fatalf("epochs after a restore into a new cluster: %v", e)
		}
		check(t, r1, 35)
	})
	t.Run("the same dump again", func(t *testing.T) {
		check(t, restored(t, path, clusterB, "r2", key), 35)
	})
	t.Run("the dump into its own cluster", func(t *testing.T) {
		pool := restored(t, path, testdb.Cluster(t), "r3_"+fmt.Sprint(time.Now().UnixNano()), key)
		if e := epochs(t, pool); len(e) != 2 {
			t.Fatalf("epochs after a restore into the same cluster: %v (want no new epoch)", e)
		}
		check(t, pool, 35)
	})
	if t.Failed() {
		return
	}

	// The physical copy is taken now, before r1 moves on without it.
	dirC := basebackup(t, clusterB, dirB)
	t.Run("back to the first cluster", func(t *testing.T) {
		back := filepath.Join(t.TempDir(), "back.backup")
		if _, err := backup.Write(ctx, back, backup.Options{URL: clusterB.URL("r1")}); err != nil {
			t.Fatal(err)
		}
		pool := restored(t, back, testdb.Cluster(t), "r4_"+fmt.Sprint(time.Now().UnixNano()), key)
		// A's transaction IDs now would sort before B's epoch: A comes
		// back as a new epoch.
		if e := epochs(t, pool); len(e) != 4 || e[3] != systemID(t, poolA) {
			t.Fatalf("epochs after the ledger came back: %v", e)
		}
		s, stop := sequence(t, pool, key)
		waitLog(t, pool, 36)
		if pos := writeAndPosition(t, s); pos != 37 {
			t.Fatalf("position %d, want 37", pos)
		}
		stop()
		intact(t, pool, key)
	})
	t.Run("a physical copy", func(t *testing.T) {
		clusterC := testdb.StartCluster(t, dirC)
		pool := open(t, clusterC.URL("r1"))
		if e := epochs(t, pool); len(e) != 3 || e[2] != systemID(t, pool) {
			t.Fatalf("epochs on a physical copy: %v (want the copied cluster's epoch kept)", e)
		}
		s, stop := sequence(t, pool, key)
		if pos := writeAndPosition(t, s); pos != 37 {
			t.Fatalf("position %d, want 37", pos)
		}
		stop()
		intact(t, pool, key)

		// B goes on without its copy: its transaction counter passes
		// C's. A dump of B restored into C then holds transaction IDs
		// C has not issued, under C's own identity: C takes up a new
		// epoch rather than sort its writes before them.
		sB, stopB := sequence(t, r1, key)
		appendEvents(t, sB, "diverged", 200)
		waitLog(t, r1, 236)
		stopB()
		fromB := filepath.Join(t.TempDir(), "b.backup")
		if _, err := backup.Write(ctx, fromB, backup.Options{URL: clusterB.URL("r1")}); err != nil {
			t.Fatal(err)
		}
		r5 := restored(t, fromB, clusterC, "r5", key)
		if e := epochs(t, r5); len(e) != 4 || e[3] != e[2] {
			t.Fatalf("epochs after a diverged copy: %v (want a second epoch of the same cluster)", e)
		}
		s5, stop5 := sequence(t, r5, key)
		if pos := writeAndPosition(t, s5); pos != 237 {
			t.Fatalf("position %d, want 237", pos)
		}
		stop5()
		intact(t, r5, key)
	})
}

// basebackup copies cluster c (in dir) with pg_basebackup into a new
// directory, and returns it, ready for testdb.StartCluster.
func basebackup(t *testing.T, c *pgembed.Cluster, dir string) string {
	t.Helper()
	bin, err := pgembed.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	to, err := os.MkdirTemp("", "civic-testpg-copy-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(to) })
	if err := os.Chmod(to, 0o755); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	cmd := exec.Command(filepath.Join(bin, "pg_basebackup"), "--pgdata="+filepath.Join(to, "pgdata"), "--wal-method=stream",
		"--checkpoint=fast", "--no-sync", "--host=127.0.0.1", "--port="+u.Port(), "--username="+u.User.Username())
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pw)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v: %s", err, out)
	}
	pwFile, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "password"), pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	// The copy belongs to whoever owns the original: the server runs as
	// its data directory's owner.
	fi, err := os.Stat(filepath.Join(dir, "pgdata"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	err = filepath.WalkDir(filepath.Join(to, "pgdata"), func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// TestBackupWhileWriting: a backup taken while writers append holds every
// event acknowledged before it began, and the restored log positions them
// all, each once.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	src := testdb.URL(t)
	pool := open(t, src)
	s, _ := sequence(t, pool, key)
	var mu sync.Mutex
	var acked []string
	stopWriters := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				e := eventstore.EventData{ID: eventstore.NewID(), Type: "test.happened", Data: json.RawMessage(`{}`),
					Metadata: eventstore.Metadata{Actor: "test", Role: "admin"}}
				if _, err := s.Append(ctx, fmt.Sprintf("w%d-%d", w, i%5), eventstore.Any(), e); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, e.ID.String())
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	before := slices.Clone(acked)
	mu.Unlock()
	path := filepath.Join(t.TempDir(), "torn.backup")
	m, err := backup.Write(ctx, path, backup.Options{URL: src})
	time.Sleep(100 * time.Millisecond)
	close(stopWriters)
	wg.Wait()
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(before) < 20 {
		t.Fatalf("only %d appends before the backup: the test did not write while backing up", len(before))
	}
	cluster, _ := testdb.NewCluster(t)
	r := restored(t, path, cluster, "torn", key)
	_, stopR := sequence(t, r, key)
	waitLog(t, r, m.Events)
	stopR()
	got := logIDs(t, r)
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("event %s is positioned twice", id)
		}
		seen[id] = true
	}
	for _, id := range before {
		if !seen[id] {
			t.Fatalf("event %s, acknowledged before the backup began, is not in the restored log", id)
		}
	}
	t.Logf("%d events acknowledged before the backup, %d in it (%d positioned when it was taken)", len(before), m.Events, m.Positioned)
	intact(t, r, key)
}

// TestRestoreRefuses: a backup of another ledger, a damaged or truncated
// file, a file that is no backup, a database that is not empty: each is a
// clear error, and nothing is written.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	src := testdb.URL(t)
	pool := open(t, src)
	s, stop := sequence(t, pool, key)
	appendEvents(t, s, "x", 12)
	waitLog(t, pool, 12)
	stop()
	dir := t.TempDir()
	path := filepath.Join(dir, "good.backup")
	if _, err := backup.Write(ctx, path, backup.Options{URL: src}); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	damaged := slices.Clone(good)
	damaged[len(damaged)-3000] ^= 0xff // inside the dump, before tar's padding
	pub := key.Public().(ed25519.PublicKey)
	other := newKey(t).Public().(ed25519.PublicKey)
	cases := []struct {
		name, path string
		keys       []ed25519.PublicKey
		origin     string
		target     string // "" a new empty database; "ledger" the source; "migrated" an empty migrated one
		want       string
	}{
		{"another ledger's key", path, []ed25519.PublicKey{other}, "", "", "another ledger's backup"},
		{"another ledger's origin", path, []ed25519.PublicKey{pub}, "civic-ledger.example.ge/other", "", "is the backup of log"},
		{"no key to check it", path, nil, "", "", "no signing key"},
		{"truncated in the dump", variant("half.backup", good[:len(good)/2]), []ed25519.PublicKey{pub}, "", "", "truncated"},
		{"truncated in the manifest", variant("head.backup", good[:700]), []ed25519.PublicKey{pub}, "", "", "truncated"},
		{"damaged", variant("damaged.backup", damaged), []ed25519.PublicKey{pub}, "", "", "damaged"},
		{"not a backup", variant("notes.txt", []byte("hello\n")), []ed25519.PublicKey{pub}, "", "", "not a Civic Ledger backup"},
		{"into a ledger", path, []ed25519.PublicKey{pub}, "", "ledger", "already holds a ledger (12 events)"},
		{"into a database that is not empty", path, []ed25519.PublicKey{pub}, "", "migrated", "is not empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := testdb.URL(t)
			switch c.target {
			case "ledger":
				target = src
			case "migrated":
				open(t, target)
			}
			before := dbState(t, target)
			_, err := backup.Restore(ctx, c.path, backup.RestoreOptions{URL: target, Keys: c.keys, Origin: c.origin, TempDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Restore: %v, want an error saying %q", err, c.want)
			}
			if after := dbState(t, target); after != before {
				t.Fatalf("the refused restore changed the database: %s, was %s", after, before)
			}
			t.Log(err)
		})
	}
}

// dbState sums up what a database holds: its relations and the ledger's
// event count.
func dbState(t *testing.T, u string) string {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var rels int
	var events int64 = -1
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`).Scan(&rels); err != nil {
		t.Fatal(err)
	}
	var has bool
	pool.QueryRow(context.Background(), `SELECT to_regclass('eventstore.events') IS NOT NULL`).Scan(&has)
	if has {
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM eventstore.events`).Scan(&events); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("%d relations, %d events", rels, events)
}
