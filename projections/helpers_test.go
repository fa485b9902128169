package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// tally counts events per stream, in <name>_streams (idempotent: guarded by
// the stream's last applied position), and records each event in
// <name>_applied. With repeats, <name>_applied counts every application
// instead, which is not idempotent but shows an event applied twice: the
// runner must never do that.
type tally struct {
	name    string
	version int   // 0 means 1; version 2 adds a column to <name>_streams
	weight  int64 // added to a stream's count per event; 0 means 1
	repeats bool
	delay   time.Duration // per event, to stretch a build
	// hook, when set, runs before each event is queued. It may queue
	// statements of its own, which run (in the batch's transaction) after
	// the earlier events' and before this event's, or return an error,
	// which fails the batch before anything is sent.
	hook func(b *projections.Batch, e eventstore.Event) error
}

func (p *tally) Name() string     { return p.name }
func (p *tally) Version() int     { return max(p.version, 1) }
func (p *tally) Tables() []string { return []string{p.name + "_streams", p.name + "_applied"} }

func (p *tally) Setup(ctx context.Context, tx pgx.Tx) error {
	extra := ""
	if p.Version() >= 2 {
		extra = ", since_v2 boolean NOT NULL DEFAULT true"
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE %s (stream text PRIMARY KEY, events bigint NOT NULL, last_position bigint NOT NULL%s);
		CREATE TABLE %s (position bigint PRIMARY KEY, times int NOT NULL)`,
		p.name+"_streams", extra, p.name+"_applied"))
	return err
}

func (p *tally) Apply(b *projections.Batch, events []eventstore.Event) error {
	weight := p.weight
	if weight == 0 {
		weight = 1
	}
	onRepeat := `DO NOTHING`
	if p.repeats {
		onRepeat = `DO UPDATE SET times = a.times + 1`
	}
	return b.Each(events, func(e eventstore.Event) error {
		if p.hook != nil {
			if err := p.hook(b, e); err != nil {
				return err
			}
		}
		if p.delay > 0 {
			time.Sleep(p.delay)
		}
		b.Queue(`INSERT INTO `+p.name+`_streams AS s (stream, events, last_position) VALUES ($1, $2, $3)
			ON CONFLICT (stream) DO UPDATE SET events = s.events + excluded.events, last_position = excluded.last_position
			WHERE s.last_position < excluded.last_position`, e.Stream, weight, e.Position)
		b.Queue(`INSERT INTO `+p.name+`_applied AS a (position, times) VALUES ($1, 1)
			ON CONFLICT (position) `+onRepeat, e.Position)
		return nil
	})
}

// runnerEnv is a fresh database with the event store and projections migrated,
// and a store whose sequencer runs until the test ends.
type runnerEnv struct {
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
	logs  *syncBuffer
	// keys holds the keys of the personal data the log holds sealed.
	keys *keyring.Keyring
}

func newRunnerEnv(t testing.TB) *runnerEnv {
	t.Helper()
	e := &runnerEnv{url: testdb.URL(t), logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", e.logs.String())
		}
	})
	e.pool = e.newPool(t)
	if err := postgres.Migrate(context.Background(), e.pool); err != nil {
		t.Fatalf("eventstore Migrate: %v", err)
	}
	if err := projections.Migrate(context.Background(), e.pool); err != nil {
		t.Fatalf("projections Migrate: %v", err)
	}
	if err := keyring.Migrate(context.Background(), e.pool); err != nil {
		t.Fatalf("keyring Migrate: %v", err)
	}
	e.keys = keyring.New(e.pool)
	e.store = e.newStore(t, e.pool)
	return e
}

// newPool opens another pool on the database, as another process would.
func (e *runnerEnv) newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(e.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore opens a store over pool with its sequencer running until the
// test ends.
func (e *runnerEnv) newStore(t testing.TB, pool *pgxpool.Pool) *postgres.Store {
	t.Helper()
	s := postgres.New(pool, postgres.Options{Logger: e.logger("eventstore"), SubscriberPoll: 50 * time.Millisecond})
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

func (e *runnerEnv) logger(who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", who)
}

// options are quick enough for tests.
func (e *runnerEnv) options(who string) projections.Options {
	return projections.Options{
		BatchSize:   50,
		RetryMin:    10 * time.Millisecond,
		RetryMax:    100 * time.Millisecond,
		Poll:        20 * time.Millisecond,
		LeaderRetry: 100 * time.Millisecond,
		Logger:      e.logger(who),
		Keys:        e.keys,
	}
}

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// appendEvents appends n events spread over the given number of streams,
// and returns the position of the last.
func appendEvents(t testing.TB, s eventstore.Store, n, streams int) int64 {
	t.Helper()
	ctx := context.Background()
	var last eventstore.ID
	for i := range n {
		res, err := s.Append(ctx, fmt.Sprintf("org-%d", i%streams), eventstore.Any(), eventstore.EventData{
			ID:       eventstore.NewID(),
			Type:     "test.counted",
			Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Metadata: eventstore.Metadata{Actor: "test"},
		})
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		last = res.LastID
	}
	return awaitPosition(t, s, last)
}

func awaitPosition(t testing.TB, s eventstore.Store, id eventstore.ID) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pos, err := s.AwaitPosition(ctx, id)
	if err != nil {
		t.Fatalf("AwaitPosition: %v", err)
	}
	return pos
}

// runUntilCleanup runs r until the returned stop is called or the test ends, and fails
// the test if Run returns an error.
func runUntilCleanup(t testing.TB, r *projections.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitForPosition waits for the projections to reach position, failing the test
// after 20s.
func waitForPosition(t testing.TB, r *projections.Runner, position int64, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, position, names...); err != nil {
		t.Fatalf("WaitFor(%d, %v): %v", position, names, err)
	}
}

// eventually retries check until it returns nil, failing the test with its
// last error after within.
func eventually(t testing.TB, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v: %v", what, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// generationStatus returns the Status of one generation, or an error if there
// is none.
func generationStatus(ctx context.Context, r *projections.Runner, name string, gen int) (projections.Status, error) {
	sts, err := r.Status(ctx)
	if err != nil {
		return projections.Status{}, err
	}
	for _, st := range sts {
		if st.Name == name && st.Generation == gen {
			return st, nil
		}
	}
	return projections.Status{}, fmt.Errorf("no generation %d of %s in %+v", gen, name, sts)
}

func mustGeneration(t testing.TB, r *projections.Runner, name string, gen int) projections.Status {
	t.Helper()
	st, err := generationStatus(context.Background(), r, name, gen)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkExactlyOnce fails the test unless the tally's tables in schema hold
// each event 1..head applied exactly once, each weighing weight.
func checkExactlyOnce(t testing.TB, pool *pgxpool.Pool, p *tally, schema string, head, weight int64) {
	t.Helper()
	var n, maxTimes, lo, hi, sum int64
	err := pool.QueryRow(context.Background(), fmt.Sprintf(`
		SELECT count(*), coalesce(max(times), 0), coalesce(min(position), 0), coalesce(max(position), 0),
			(SELECT coalesce(sum(events), 0)::bigint FROM %[1]s.%[2]s_streams)
		FROM %[1]s.%[2]s_applied`, pgx.Identifier{schema}.Sanitize(), p.name)).Scan(&n, &maxTimes, &lo, &hi, &sum)
	if err != nil {
		t.Fatal(err)
	}
	if n != head || maxTimes != 1 || lo != min(1, head) || hi != head || sum != head*weight {
		t.Fatalf("%s: %d events applied (positions %d..%d), the most often %d times, counts summing to %d; want events 1..%d each applied once, summing to %d",
			schema, n, lo, hi, maxTimes, sum, head, head*weight)
	}
}

// checkCleanRun fails the test unless the rm views of p hold what a clean
// build of the whole log gives.
func checkCleanRun(t testing.TB, pool *pgxpool.Pool, s eventstore.Store, p *tally) {
	t.Helper()
	events, err := s.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	clean := *p
	clean.hook, clean.delay = nil, 0
	want := projtest.Tables(t, pool, &clean, projtest.Build(t, pool, &clean, events))
	got := projtest.Tables(t, pool, p, "rm")
	for _, table := range p.Tables() {
		if len(want[table]) == 0 {
			t.Fatalf("clean build of %s is empty: the comparison would prove nothing", table)
		}
		if fmt.Sprint(got[table]) != fmt.Sprint(want[table]) {
			t.Errorf("rm.%s differs from a clean build:\n got %v\nwant %v", table, got[table], want[table])
		}
	}
}

// viewReader queries a view over and over until stopped, as the GraphQL layer
// would, recording every error and whether the value ever went back.
type viewReader struct {
	stop    chan struct{}
	done    chan struct{}
	queries int
	values  []int64 // distinct values seen, in order
	errs    []error
}

func startViewReader(t testing.TB, pool *pgxpool.Pool, query string) *viewReader {
	t.Helper()
	rd := &viewReader{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(rd.done)
		for {
			select {
			case <-rd.stop:
				return
			default:
			}
			var v int64
			if err := pool.QueryRow(context.Background(), query).Scan(&v); err != nil {
				rd.errs = append(rd.errs, err)
			} else if len(rd.values) == 0 || rd.values[len(rd.values)-1] != v {
				rd.values = append(rd.values, v)
			}
			rd.queries++
		}
	}()
	t.Cleanup(rd.finish)
	return rd
}

func (rd *viewReader) finish() {
	select {
	case <-rd.stop:
	default:
		close(rd.stop)
	}
	<-rd.done
}

// check stops the reader and fails the test if any query failed or the
// value ever went back.
func (rd *viewReader) check(t testing.TB) {
	t.Helper()
	rd.finish()
	if rd.queries < 10 {
		t.Fatalf("reader ran only %d queries: too few to show anything", rd.queries)
	}
	if len(rd.errs) > 0 {
		t.Fatalf("%d of %d reader queries failed, first: %v", len(rd.errs), rd.queries, rd.errs[0])
	}
	for i := 1; i < len(rd.values); i++ {
		if rd.values[i] < rd.values[i-1] {
			t.Fatalf("readers saw the read model go back: %v", rd.values)
		}
	}
}

var errBoom = errors.New("boom")

// probe is a sequence in schema public through which a batch reports a
// number before it fails or hangs: a sequence's changes survive the
// rollback of the transaction that made them.
type probe struct {
	pool *pgxpool.Pool
	name string
}

func newProbe(t testing.TB, pool *pgxpool.Pool, name string) probe {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `CREATE SEQUENCE public.`+name+` MINVALUE 0`); err != nil {
		t.Fatal(err)
	}
	return probe{pool, name}
}

// set reports whether a batch has reported yet.
func (p probe) set(t testing.TB) bool {
	t.Helper()
	var called bool
	if err := p.pool.QueryRow(context.Background(), `SELECT is_called FROM public.`+p.name).Scan(&called); err != nil {
		t.Fatal(err)
	}
	return called
}

// value is the number the last batch reported; the test fails if none did.
func (p probe) value(t testing.TB) int64 {
	t.Helper()
	var v int64
	var called bool
	if err := p.pool.QueryRow(context.Background(), `SELECT last_value, is_called FROM public.`+p.name).Scan(&v, &called); err != nil {
		t.Fatal(err)
	}
	if !called {
		t.Fatalf("no batch reported through %s", p.name)
	}
	return v
}
