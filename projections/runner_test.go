package projections_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
)

func TestCatchUpAndFollow(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	p := &tally{name: "follow", repeats: true}
	before := appendEvents(t, e.store, 120, 7)
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, e.options("runner"))

	// Before Run there is no generation, and everything is lag.
	sts, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].Name != "follow" || sts[0].Generation != 0 || sts[0].State != "" ||
		sts[0].LagEvents != before || sts[0].LagSeconds <= 0 {
		t.Fatalf("Status before Run = %+v; want one row for follow, no generation, lagging %d events", sts, before)
	}

	runUntilCleanup(t, r)
	waitForPosition(t, r, before)
	checkExactlyOnce(t, e.pool, p, "rm", before, 1)

	// Live: new events are applied as they come, and Changed says so.
	changed := r.Changed()
	head := appendEvents(t, e.store, 80, 5)
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("Changed was not closed by the batches that followed")
	}
	waitForPosition(t, r, head)
	checkExactlyOnce(t, e.pool, p, "rm", head, 1)
	checkCleanRun(t, e.pool, e.store, p)

	st := mustGeneration(t, r, "follow", 1)
	if st.State != projections.StateActive || st.Version != 1 || st.Position != head || st.Head != head ||
		st.LagEvents != 0 || st.LagSeconds != 0 || st.Failing || st.LastError != "" || st.UpdatedAt.IsZero() {
		t.Fatalf("Status = %+v; want generation 1 active at the head (%d), no lag, not failing", st, head)
	}
}

// TestFailingBatchIsRetriedNotSkipped fails a batch after it has written
// some of its events, as a crash between the table changes and the
// checkpoint would: the projection must stay at the last good batch,
// showing the failure, and once the failure clears end up exactly as a
// clean run.
func TestFailingBatchIsRetriedNotSkipped(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	const failAt = 37
	var failing atomic.Bool
	failing.Store(true)
	var attempts atomic.Int64
	// The failing batch reports what it wrote, uncommitted and about to be
	// lost, through a sequence (whose changes no rollback undoes); then it
	// fails on the server.
	probe := newProbe(t, e.pool, "crash_probe")
	p := &tally{name: "crash", repeats: true}
	p.hook = func(b *projections.Batch, ev eventstore.Event) error {
		if ev.Position != failAt || !failing.Load() {
			return nil
		}
		attempts.Add(1)
		b.Queue(`SELECT setval('public.crash_probe', (SELECT count(*) FROM crash_applied))`)
		b.Queue(`SELECT $1::text::int`, "boom")
		return nil
	}
	head := appendEvents(t, e.store, 60, 6)
	opts := e.options("runner")
	opts.BatchSize = 20
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, opts)
	runUntilCleanup(t, r)

	var stuck projections.Status
	eventually(t, 10*time.Second, "generation 1 failing", func() error {
		st, err := generationStatus(ctx, r, "crash", 1)
		if err == nil && !st.Failing {
			err = errors.New("not failing")
		}
		stuck = st
		return err
	})
	if stuck.Position >= failAt || stuck.State != projections.StateBuilding ||
		!strings.Contains(stuck.LastError, "event 37") || !strings.Contains(stuck.LastError, "boom") ||
		stuck.ErrorSince.IsZero() || stuck.LagEvents != head-stuck.Position {
		t.Fatalf("Status = %+v; want it building, stopped before event %d, with the error and the lag", stuck, failAt)
	}
	if written := probe.value(t); written <= stuck.Position {
		t.Fatalf("the failing batch had written %d events, no more than the checkpoint %d: the test did not fail a batch midway",
			written, stuck.Position)
	}
	// Only what the good batches committed is there.
	checkExactlyOnce(t, e.pool, p, "proj_crash_1", stuck.Position, 1)

	// Retries leave it there: the event is never skipped.
	eventually(t, 10*time.Second, "several retries", func() error {
		if attempts.Load() < 4 {
			return errors.New("fewer than 4 attempts")
		}
		return nil
	})
	again := mustGeneration(t, r, "crash", 1)
	if again.Position != stuck.Position || !again.Failing || !again.ErrorSince.Equal(stuck.ErrorSince) {
		t.Fatalf("after retries Status = %+v; want it still failing at %d since %v", again, stuck.Position, stuck.ErrorSince)
	}

	failing.Store(false)
	waitForPosition(t, r, head)
	checkExactlyOnce(t, e.pool, p, "rm", head, 1)
	checkCleanRun(t, e.pool, e.store, p)
	st := mustGeneration(t, r, "crash", 1)
	if st.Failing || st.LastError != "" || !st.ErrorSince.IsZero() || st.State != projections.StateActive || st.Position != head {
		t.Fatalf("after recovery Status = %+v; want it active at %d with the error cleared", st, head)
	}
}

// TestKilledMidBatch stops the process while a batch is half applied: the
// next process must resume from the last checkpoint with nothing lost and
// nothing applied twice.
func TestKilledMidBatch(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	const killAt = 45
	var resumed atomic.Bool
	// The batch holding event killAt reports what it wrote so far through
	// a sequence (which no rollback undoes), then hangs on the server until
	// the test kills it, as kill -9 would end the process and its
	// connection.
	probe := newProbe(t, e.pool, "killed_probe")
	p := &tally{name: "killed", repeats: true}
	p.hook = func(b *projections.Batch, ev eventstore.Event) error {
		if ev.Position == killAt && !resumed.Load() {
			b.Queue(`SELECT setval('public.killed_probe', (SELECT count(*) FROM killed_applied)), pg_sleep(600)`)
		}
		return nil
	}
	head := appendEvents(t, e.store, 80, 4)
	opts := e.options("first")
	opts.BatchSize = 30
	stop := runUntilCleanup(t, projections.NewRunner(e.pool, e.store, []projections.Projection{p}, opts))
	eventually(t, 15*time.Second, "the batch holding the fatal event running", func() error {
		if !probe.set(t) {
			return errors.New("not yet")
		}
		return nil
	})
	written := probe.value(t)
	stop()
	if _, err := e.pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE '%killed_probe%pg_sleep%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}

	var pos int64
	if err := e.pool.QueryRow(context.Background(), `SELECT position FROM projections.generations WHERE name = 'killed'`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	if pos >= killAt || written <= pos {
		t.Fatalf("checkpoint %d with %d events written by the killed batch; want the batch to have written past the checkpoint, which stays before %d", pos, written, killAt)
	}
	checkExactlyOnce(t, e.pool, p, "proj_killed_1", pos, 1)

	resumed.Store(true)
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, e.options("second"))
	runUntilCleanup(t, r)
	waitForPosition(t, r, head)
	checkExactlyOnce(t, e.pool, p, "rm", head, 1)
	checkCleanRun(t, e.pool, e.store, p)
}

// TestTwoRunners runs the same projection in two processes: each event must
// be applied exactly once, and stopping the leader must hand over.
func TestTwoRunners(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	pool2 := e.newPool(t)
	store2 := e.newStore(t, pool2)
	pa, pb := &tally{name: "shared", repeats: true}, &tally{name: "shared", repeats: true}
	ra := projections.NewRunner(e.pool, e.store, []projections.Projection{pa}, e.options("a"))
	rb := projections.NewRunner(pool2, store2, []projections.Projection{pb}, e.options("b"))

	appendEvents(t, e.store, 100, 10)
	stopA := runUntilCleanup(t, ra)
	stopB := runUntilCleanup(t, rb)
	head := appendEvents(t, e.store, 100, 10)
	waitForPosition(t, ra, head)
	waitForPosition(t, rb, head)
	checkExactlyOnce(t, e.pool, pa, "rm", head, 1)

	// a stops; b leads now, if it did not already.
	stopA()
	head = appendEvents(t, store2, 50, 5)
	waitForPosition(t, rb, head)
	checkExactlyOnce(t, e.pool, pa, "rm", head, 1)

	// A new process replaces a, then b, the leader, stops.
	ra2 := projections.NewRunner(e.pool, e.store, []projections.Projection{pa}, e.options("a2"))
	runUntilCleanup(t, ra2)
	stopB()
	head = appendEvents(t, e.store, 50, 5)
	waitForPosition(t, ra2, head)
	checkExactlyOnce(t, e.pool, pa, "rm", head, 1)

	sts, err := ra2.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].Generation != 1 || sts[0].State != projections.StateActive {
		t.Fatalf("Status = %+v; want the one generation both started on, active", sts)
	}
	// The leader locks kept the two apart: neither had a batch refused
	// because the other had moved the checkpoint.
	if strings.Contains(e.logs.String(), "checkpoint moved elsewhere") {
		t.Fatal("a runner found the checkpoint moved by the other: both applied batches")
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	good := &tally{name: "wait", repeats: true}
	var stuckFrom atomic.Int64
	stuckFrom.Store(1 << 62)
	stuck := &tally{name: "stuck"}
	stuck.hook = func(b *projections.Batch, ev eventstore.Event) error {
		if ev.Position >= stuckFrom.Load() {
			return errBoom
		}
		return nil
	}
	opts := e.options("runner")
	// Long, so that a prompt return cannot come from a poll: it must be
	// the batch's commit that wakes WaitFor.
	opts.Poll = time.Second
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{good, stuck}, opts)
	runUntilCleanup(t, r)
	waitForPosition(t, r, appendEvents(t, e.store, 10, 2))

	t.Run("wakes on the batch", func(t *testing.T) {
		var slowest time.Duration
		for range 10 {
			pos := appendEvents(t, e.store, 1, 1)
			start := time.Now()
			waitForPosition(t, r, pos, "wait")
			slowest = max(slowest, time.Since(start))
			var times int
			if err := e.pool.QueryRow(ctx, `SELECT times FROM rm.wait_applied WHERE position = $1`, pos).Scan(&times); err != nil || times != 1 {
				t.Fatalf("after WaitFor(%d), rm.wait_applied has times = %d, %v; want the event applied", pos, times, err)
			}
		}
		if slowest > opts.Poll/2 {
			t.Fatalf("WaitFor took up to %v after the event had its position; want it prompt, not at the next poll (%v)", slowest, opts.Poll)
		}
	})

	t.Run("sees another process within Poll", func(t *testing.T) {
		// A runner that does not Run, as in a process where another leads.
		otherOpts := e.options("other")
		otherOpts.Poll = 200 * time.Millisecond
		other := projections.NewRunner(e.newPool(t), e.store, []projections.Projection{good, stuck}, otherOpts)
		waitForPosition(t, other, 1, "wait") // its first read of the generations
		pos := appendEvents(t, e.store, 1, 1)
		waitForPosition(t, r, pos, "wait")
		start := time.Now()
		waitForPosition(t, other, pos, "wait")
		if d := time.Since(start); d > otherOpts.Poll+200*time.Millisecond {
			t.Fatalf("WaitFor in another process took %v; want Poll (%v) at most, give or take", d, otherOpts.Poll)
		}
	})

	t.Run("deadline while failing", func(t *testing.T) {
		pos := appendEvents(t, e.store, 1, 1)
		stuckFrom.Store(pos)
		pos = appendEvents(t, e.store, 1, 1)
		eventually(t, 10*time.Second, "stuck failing", func() error {
			st, err := generationStatus(ctx, r, "stuck", 1)
			if err == nil && !st.Failing {
				err = errors.New("not failing")
			}
			return err
		})
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := r.WaitFor(dctx, pos)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 250*time.Millisecond {
			t.Fatalf("WaitFor on a failing projection = %v after %v; want the deadline's error at the deadline", err, time.Since(start))
		}
		waitForPosition(t, r, pos, "wait") // the other one is not held up
	})

	t.Run("unknown projection", func(t *testing.T) {
		if err := r.WaitFor(ctx, 1, "nosuch"); err == nil || !strings.Contains(err.Error(), "nosuch") {
			t.Fatalf("WaitFor(nosuch) = %v; want an error naming it", err)
		}
	})
}

// TestFailingProjectionDoesNotBlockOthers runs a healthy projection beside
// one failing at an event and one whose Setup fails.
func TestFailingProjectionDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	good := &tally{name: "good", repeats: true}
	bad := &tally{name: "bad"}
	bad.hook = func(b *projections.Batch, ev eventstore.Event) error {
		if ev.Position >= 10 {
			b.Queue(`SELECT $1::text::int`, "boom")
		}
		return nil
	}
	broken := &brokenSetup{tally{name: "broken"}}
	head := appendEvents(t, e.store, 60, 3)
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{bad, broken, good}, e.options("runner"))
	runUntilCleanup(t, r)
	waitForPosition(t, r, head, "good")
	head = appendEvents(t, e.store, 30, 3)
	waitForPosition(t, r, head, "good")
	checkExactlyOnce(t, e.pool, good, "rm", head, 1)

	eventually(t, 10*time.Second, "bad and broken failing", func() error {
		sts, err := r.Status(ctx)
		if err != nil {
			return err
		}
		seen := 0
		for _, st := range sts {
			switch {
			case st.Name == "bad" && st.Failing && st.Position < 10 && strings.Contains(st.LastError, "event 10"),
				st.Name == "broken" && st.Failing && strings.Contains(st.LastError, "no setup for you"):
				seen++
			case st.Name == "good" && (st.Failing || st.Position != head || st.State != projections.StateActive):
				return errors.New("good is not current")
			}
		}
		if seen != 2 {
			return errors.New("not both failing yet")
		}
		return nil
	})
}

type brokenSetup struct{ tally }

func (p *brokenSetup) Setup(ctx context.Context, tx pgx.Tx) error {
	return errors.New("no setup for you")
}

// TestLeaderConnectionLost kills the runner's leader connection: it must
// start over and carry on, applying each event once.
func TestLeaderConnectionLost(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	p := &tally{name: "lost", repeats: true}
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, e.options("runner"))
	runUntilCleanup(t, r)
	waitForPosition(t, r, appendEvents(t, e.store, 50, 5))

	var killed int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'civic projections leader' AND datname = current_database()) k`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d leader connections; want the runner's one", killed)
	}
	head := appendEvents(t, e.store, 50, 5)
	waitForPosition(t, r, head)
	checkExactlyOnce(t, e.pool, p, "rm", head, 1)
	if !strings.Contains(e.logs.String(), "leader connection lost") {
		t.Fatal("the runner did not notice it lost its leader connection")
	}
	eventually(t, 10*time.Second, "a new leader connection", func() error {
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'civic projections leader' AND datname = current_database()`).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return errors.New("no leader connection")
		}
		return nil
	})
}

func TestInvalidProjections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ps   []projections.Projection
		want string
	}{
		{"bad name", []projections.Projection{&tally{name: "Bad-Name"}}, "lowercase"},
		{"long name", []projections.Projection{&tally{name: strings.Repeat("x", 41)}}, "at most 40"},
		{"same name", []projections.Projection{&tally{name: "a"}, &tally{name: "a"}}, "named twice"},
		{"no tables", []projections.Projection{&noTables{tally{name: "a"}}}, "no tables"},
		{"shared view", []projections.Projection{&tally{name: "a"}, &otherTables{tally{name: "b"}, []string{"a_streams"}}}, "claimed by a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := projections.NewRunner(nil, nil, tt.ps, projections.Options{})
			for what, err := range map[string]error{
				"Run":     r.Run(context.Background()),
				"Rebuild": r.Rebuild(context.Background(), "a"),
				"WaitFor": r.WaitFor(context.Background(), 1),
			} {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s = %v; want an error saying %q", what, err, tt.want)
				}
			}
		})
	}
}

type noTables struct{ tally }

func (*noTables) Tables() []string { return nil }

type otherTables struct {
	tally
	tables []string
}

func (p *otherTables) Tables() []string { return p.tables }

// bulk applies a whole batch with one statement, as the organisations
// projection does, into a table whose check refuses the event at poison.
type bulk struct{ poison int64 }

func (*bulk) Name() string     { return "bulk" }
func (*bulk) Version() int     { return 1 }
func (*bulk) Tables() []string { return []string{"bulk_seen"} }
func (b *bulk) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE bulk_seen (position bigint PRIMARY KEY,
		CONSTRAINT poison CHECK (position <> %d))`, b.poison))
	return err
}

func (*bulk) Apply(b *projections.Batch, events []eventstore.Event) error {
	positions := make([]int64, len(events))
	for i, e := range events {
		positions[i] = e.Position
	}
	b.Queue(`INSERT INTO bulk_seen SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING`, positions)
	return nil
}

// TestFailureInBulkStatementIsNarrowedToItsEvent: a statement that applies
// a whole batch fails for one event in it. The runner must retry in
// smaller batches until the failure names that one event, commit
// everything before it, and go on once the cause is gone.
func TestFailureInBulkStatementIsNarrowedToItsEvent(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	const poison = 173
	p := &bulk{poison: poison}
	head := appendEvents(t, e.store, 300, 7)
	opts := e.options("runner")
	opts.BatchSize = 100
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, opts)
	runUntilCleanup(t, r)

	eventually(t, 20*time.Second, "the failure narrowed to its event", func() error {
		st, err := generationStatus(ctx, r, "bulk", 1)
		if err != nil {
			return err
		}
		if !st.Failing || st.Position != poison-1 {
			return fmt.Errorf("status %+v", st)
		}
		if want := fmt.Sprintf("event %d (", poison); !strings.HasPrefix(st.LastError, want) || !strings.Contains(st.LastError, "poison") {
			return fmt.Errorf("the error is %q; want it to start %q and name the check", st.LastError, want)
		}
		return nil
	})
	schema, _ := generationSchema(t, e.pool, "bulk", projections.StateBuilding)
	var n, hi int64
	if err := e.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(position), 0) FROM `+pgx.Identifier{schema, "bulk_seen"}.Sanitize()).Scan(&n, &hi); err != nil {
		t.Fatal(err)
	}
	if n != poison-1 || hi != poison-1 {
		t.Fatalf("%d events applied, up to %d; want the %d before the poisoned one", n, hi, poison-1)
	}

	if _, err := e.pool.Exec(ctx, `ALTER TABLE `+pgx.Identifier{schema, "bulk_seen"}.Sanitize()+` DROP CONSTRAINT poison`); err != nil {
		t.Fatal(err)
	}
	waitForPosition(t, r, head)
	if err := e.pool.QueryRow(ctx, `SELECT count(*), max(position) FROM rm.bulk_seen`).Scan(&n, &hi); err != nil {
		t.Fatal(err)
	}
	if n != head || hi != head {
		t.Fatalf("after the cause was removed, %d events applied, up to %d; want all %d", n, hi, head)
	}
}
