package postgres_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/storetest"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// newStore returns a store over a fresh database with its sequencer running.
func newStore(t testing.TB, opts postgres.Options) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := newPool(t)
	return startStore(t, pool, opts), pool
}

// newPool returns a pool over a fresh, migrated database, with room for 32
// writers besides the store's own connections.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return pool
}

// startStore opens a store over pool and runs its sequencer until cleanup.
func startStore(t testing.TB, pool *pgxpool.Pool, opts postgres.Options) *postgres.Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := postgres.New(pool, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.RunSequencer(ctx); err != nil {
			t.Errorf("RunSequencer: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return s
}

func testKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s, _ := newStore(t, postgres.Options{SigningKey: testKey(t)})
		return s
	}, storetest.Capabilities{})
}

func event(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:       eventstore.NewID(),
		Type:     "test.happened",
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{Actor: "test", Role: "admin"},
	}
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err)
	}
	return int(v.Int64())
}

// TestNoEventLostUnderConcurrency runs 16 writers appending 20,000 events
// over 200 streams, one append in ten held open with pg_sleep before its
// commit, while a subscriber reads from position 0. Every committed event
// must arrive exactly once, positions must be dense, and each stream's
// versions must ascend in global order.
func TestNoEventLostUnderConcurrency(t *testing.T) {
	const (
		writers = 16
		total   = 20_000
		streams = 200
	)
	s, pool := newStore(t, postgres.Options{SigningKey: testKey(t), CheckpointEvery: 2000})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The subscriber starts first, so it catches up and follows live.
	delivered := make(chan []eventstore.Event, 1)
	subErr := make(chan error, 1)
	go func() {
		var got []eventstore.Event
		for e, err := range s.SubscribeAll(ctx, 0) {
			if err != nil {
				subErr <- err
				return
			}
			got = append(got, e)
			if len(got) == total {
				delivered <- got
				return
			}
		}
	}()

	committed := make(chan eventstore.ID, total)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			written := 0
			for call := 0; written < total/writers; call++ {
				n := min(1+randInt(4), total/writers-written)
				batch := make([]eventstore.EventData, n)
				for i := range batch {
					batch[i] = event(w*1_000_000 + written + i)
				}
				stream := fmt.Sprintf("org-%d", randInt(streams))
				var err error
				if call%10 == 0 {
					err = slowAppend(ctx, s, pool, stream, batch)
				} else {
					_, err = s.Append(ctx, stream, eventstore.Any(), batch...)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				for _, e := range batch {
					committed <- e.ID
				}
				written += n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(committed)

	var got []eventstore.Event
	select {
	case got = <-delivered:
	case err := <-subErr:
		t.Fatalf("subscription ended: %v", err)
	case <-ctx.Done():
		t.Fatalf("subscriber did not receive %d events in time", total)
	}

	want := make(map[eventstore.ID]bool, total)
	for id := range committed {
		want[id] = true
	}
	if len(want) != total {
		t.Fatalf("writers committed %d events, want %d", len(want), total)
	}
	seen := make(map[eventstore.ID]bool, total)
	version := map[string]int64{}
	for i, e := range got {
		if e.Position != int64(i)+1 {
			t.Fatalf("delivery %d has position %d: positions are not dense", i, e.Position)
		}
		if seen[e.ID] {
			t.Fatalf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
		if !want[e.ID] {
			t.Fatalf("event %s delivered but never committed", e.ID)
		}
		if e.Version != version[e.Stream]+1 {
			t.Fatalf("position %d: %s version %d follows version %d in global order", e.Position, e.Stream, e.Version, version[e.Stream])
		}
		version[e.Stream] = e.Version
	}
	// Nothing more than what was committed: the log ends where deliveries did.
	if head, err := s.Head(ctx); err != nil || head != total {
		t.Fatalf("Head = %d, %v; want %d", head, err, total)
	}
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: nil})
	if err == nil || rep != nil {
		t.Fatalf("Verify without keys over a signed log = %v, %v; want an error asking for a key", rep, err)
	}
}

// slowAppend appends in a transaction it keeps open for 20-60ms after the
// append, as a slow client would.
func slowAppend(ctx context.Context, s *postgres.Store, pool *pgxpool.Pool, stream string, batch []eventstore.EventData) error {
	for {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := s.AppendTx(ctx, tx, stream, eventstore.Any(), batch...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `SELECT pg_sleep($1)`, 0.02+float64(randInt(40))/1000)
			return err
		})
		if errors.Is(err, eventstore.ErrConcurrency) {
			continue // lost a race for the stream's next version; the transaction rolled back
		}
		return err
	}
}

// TestGuardRefusesAppendAfterOtherWrite: a transaction that wrote before
// appending holds an older transaction ID than appends that committed since;
// its append must be refused, leaving the stream's order intact.
func TestGuardRefusesAppendAfterOtherWrite(t *testing.T) {
	s, pool := newStore(t, postgres.Options{})
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE scratch (n int)`); err != nil {
		t.Fatal(err)
	}

	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx)
	if _, err := early.Exec(ctx, `INSERT INTO scratch VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	// A later transaction appends version 1 and commits.
	first := event(1)
	if _, err := s.Append(ctx, "guard-1", eventstore.NoStream(), first); err != nil {
		t.Fatal(err)
	}
	// The early transaction, whose ID is older, tries to append version 2.
	_, err = s.AppendTx(ctx, early, "guard-1", eventstore.Any(), event(2))
	if !errors.Is(err, postgres.ErrNotFirstWrite) {
		t.Fatalf("AppendTx after another write: %v, want ErrNotFirstWrite", err)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	second := event(3)
	res, err := s.Append(ctx, "guard-1", eventstore.Exact(1), second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
		t.Fatal(err)
	}
	log, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].ID != first.ID || log[1].ID != second.ID || log[0].Version != 1 || log[1].Version != 2 {
		t.Fatalf("log = %v, want guard-1 v1 (%s) then v2 (%s)", log, first.ID, second.ID)
	}

	// A first write that is the append is fine inside a transaction, and
	// what the transaction writes after it commits with it.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := s.AppendTx(ctx, tx, "guard-1", eventstore.Exact(2), event(4)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scratch VALUES (2)`)
		return err
	})
	if err != nil {
		t.Fatalf("AppendTx as the first write: %v", err)
	}
	if evs, err := s.ReadStream(ctx, "guard-1", eventstore.ReadOptions{}); err != nil || len(evs) != 3 {
		t.Fatalf("guard-1 has %d events, %v; want 3", len(evs), err)
	}
}

// TestOptimisticConcurrency: 50 goroutines race to append at the same
// expected version, twenty times over; exactly one wins each version.
func TestOptimisticConcurrency(t *testing.T) {
	s, _ := newStore(t, postgres.Options{})
	ctx := context.Background()
	const racers, rounds = 50, 20
	winners := make([]eventstore.ID, rounds)
	for v := range int64(rounds) {
		expected := eventstore.Exact(v)
		if v == 0 {
			expected = eventstore.NoStream()
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		var mu sync.Mutex
		var won []eventstore.ID
		lost := 0
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := event(int(v))
				<-start
				_, err := s.Append(ctx, "race-1", expected, e)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, e.ID)
				case errors.Is(err, eventstore.ErrConcurrency):
					lost++
				default:
					t.Errorf("round %d: %v", v, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(won) != 1 || lost != racers-1 {
			t.Fatalf("round %d (expect %s): %d won, %d refused; want 1 and %d", v, expected, len(won), lost, racers-1)
		}
		winners[v] = won[0]
	}
	got, err := s.ReadStream(ctx, "race-1", eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != rounds {
		t.Fatalf("race-1 has %d events, want %d", len(got), rounds)
	}
	for i, e := range got {
		if e.Version != int64(i)+1 || e.ID != winners[i] {
			t.Errorf("version %d is %s, want the round's winner %s", e.Version, e.ID, winners[i])
		}
	}
}

// TestSequencerFailover: two servers run sequencers on one database; when
// the leader stops, the other takes over and positions stay dense.
func TestSequencerFailover(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	key := testKey(t)
	a := postgres.New(pool, postgres.Options{SigningKey: key, CheckpointEvery: 5})
	defer a.Close()
	actx, stopA := context.WithCancel(ctx)
	aDone := make(chan struct{})
	go func() { defer close(aDone); a.RunSequencer(actx) }()
	waitLeader(t, a)
	b := startStore(t, pool, postgres.Options{SigningKey: key, CheckpointEvery: 5})

	appendN := func(s *postgres.Store, from, n int) {
		t.Helper()
		for i := range n {
			res, err := s.Append(ctx, fmt.Sprintf("fail-%d", i%3), eventstore.Any(), event(from+i))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(b, 0, 20) // sequenced by a, the leader, woken by b's NOTIFY
	if st, _ := a.Status(ctx); !st.Leader {
		t.Fatal("a is not leading")
	}
	stopA()
	<-aDone
	appendN(b, 20, 20) // sequenced by b after it takes over
	if st, _ := b.Status(ctx); !st.Leader {
		t.Fatal("b did not take over")
	}
	log, err := b.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 40 {
		t.Fatalf("log has %d events, want 40", len(log))
	}
	for i, e := range log {
		if e.Position != int64(i)+1 {
			t.Fatalf("log[%d] at position %d", i, e.Position)
		}
	}
	rep, err := postgres.Verify(ctx, pool, postgres.VerifyOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	if err != nil || !rep.OK() || rep.Events != 40 || rep.Checkpoints < 6 {
		t.Fatalf("Verify after failover = %v, %v; want intact, 40 events, 6+ checkpoints", rep, err)
	}
}

// TestStatus: what /readyz and /metrics read. An event waits, and ages,
// while no sequencer leads anywhere; once one leads in another process,
// it is positioned.
func TestStatus(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	a := postgres.New(pool, postgres.Options{})
	defer a.Close()
	res, err := a.Append(ctx, "status-1", eventstore.NoStream(), event(1))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	st, err := a.Status(ctx)
	if err != nil || st.Leader || st.LeaderAnywhere || st.Pending != 1 || st.OldestPending < 100*time.Millisecond || st.SequencerError != "" {
		t.Fatalf("Status with no sequencer = %+v, %v; want one event pending for 100ms or more, no leader anywhere", st, err)
	}
	b := startStore(t, pool, postgres.Options{})
	if _, err := b.AwaitPosition(ctx, res.LastID); err != nil {
		t.Fatal(err)
	}
	st, err = a.Status(ctx)
	if err != nil || st.Leader || !st.LeaderAnywhere || st.Pending != 0 || st.OldestPending != 0 || st.Head != 1 {
		t.Fatalf("Status with another process leading = %+v, %v; want a leader elsewhere, nothing pending", st, err)
	}
}

func waitLeader(t testing.TB, s *postgres.Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := s.Status(context.Background()); err == nil && st.Leader {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("sequencer did not become leader within 30s")
}

func TestHistoryIsAppendOnly(t *testing.T) {
	s, pool := newStore(t, postgres.Options{})
	ctx := context.Background()
	res, err := s.Append(ctx, "immutable-1", eventstore.NoStream(), event(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AwaitPosition(ctx, res.LastID); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE eventstore.events SET data = '{"n":2}'`,
		`DELETE FROM eventstore.events`,
		`TRUNCATE eventstore.events CASCADE`,
		`UPDATE eventstore.log SET leaf = leaf`,
		`DELETE FROM eventstore.log`,
	} {
		if _, err := pool.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded; history must be append-only", stmt)
		}
	}
	got, err := s.ReadAll(ctx, 0, 10)
	if err != nil || len(got) != 1 || string(got[0].Data) != `{"n":1}` {
		t.Fatalf("after refused changes: %v, %v; want the event unchanged", got, err)
	}
}

// TestStaleKnownHeads: a store that remembers a stream's head from its own
// appends must not trust it once another process has appended: Exact on a
// stale head is refused, Any lands after the other process's events.
func TestStaleKnownHeads(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	a := startStore(t, pool, postgres.Options{})
	b := postgres.New(pool, postgres.Options{Logger: slog.New(slog.DiscardHandler)}) // another process, sharing a's sequencer
	defer b.Close()

	if _, err := a.Append(ctx, "stale-1", eventstore.NoStream(), event(1), event(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "stale-1", eventstore.Exact(2), event(3)); err != nil {
		t.Fatal(err)
	}
	// a still remembers version 2 as the head.
	_, err := a.Append(ctx, "stale-1", eventstore.Exact(2), event(4))
	var ce *eventstore.ConcurrencyError
	if !errors.As(err, &ce) || ce.Actual != 3 {
		t.Fatalf("Exact(2) on a stale head: %v, want ErrConcurrency with the stream at 3", err)
	}
	res, err := a.Append(ctx, "stale-1", eventstore.Any(), event(5))
	if err != nil || res.Version != 4 {
		t.Fatalf("Any on a stale head = version %d, %v; want 4", res.Version, err)
	}
	res, err = a.Append(ctx, "stale-1", eventstore.StreamExists(), event(6), event(7))
	if err != nil || res.Version != 6 {
		t.Fatalf("StreamExists after = version %d, %v; want 6", res.Version, err)
	}
	// Exact beyond anything known reads the head and refuses.
	if _, err := a.Append(ctx, "stale-1", eventstore.Exact(9), event(8)); !errors.As(err, &ce) || ce.Actual != 6 {
		t.Fatalf("Exact(9) on a stream at 6: %v, want ErrConcurrency with the stream at 6", err)
	}
	if _, err := a.AwaitPosition(ctx, res.LastID); err != nil {
		t.Fatal(err)
	}
	got, err := a.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if e.Version != int64(i)+1 || e.Stream != "stale-1" {
			t.Fatalf("log[%d] = %s v%d, want stale-1 v%d: versions must be dense and in order", i, e.Stream, e.Version, i+1)
		}
	}
	if len(got) != 6 {
		t.Fatalf("log has %d events, want 6", len(got))
	}
}
