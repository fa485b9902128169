package projections_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// TestRebuild rebuilds a projection while Run maintains it and readers
// query it: readers must never fail or see it go back, the new generation
// must hold what the old one did, and Run must carry on with it.
func TestRebuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// sameRunner rebuilds through the Runner that runs Run, as an admin
		// action in the server would; otherwise through a second Runner on
		// its own pool, as `civic rebuild` does.
		sameRunner bool
		// busy keeps appending during the rebuild, so the active generation
		// moves on while the new one is built.
		busy bool
	}{
		{name: "civic rebuild beside a quiet server"},
		{name: "in the server while events arrive", sameRunner: true, busy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRunnerEnv(t)
			ctx := context.Background()
			p := &tally{name: "reb", repeats: true, delay: time.Millisecond}
			head := appendEvents(t, e.store, 300, 12)
			r := projections.NewRunner(e.pool, e.store, []projections.Projection{p}, e.options("serve"))
			runUntilCleanup(t, r)
			waitForPosition(t, r, head)
			before := projtest.Tables(t, e.pool, p, "proj_reb_1")

			rebuilder := r
			if !tt.sameRunner {
				pool2 := e.newPool(t)
				rebuilder = projections.NewRunner(pool2, e.newStore(t, pool2),
					[]projections.Projection{&tally{name: "reb", repeats: true, delay: time.Millisecond}}, e.options("rebuild"))
			}
			rd := startViewReader(t, e.pool, `SELECT coalesce(sum(events), 0)::bigint FROM rm.reb_streams`)
			stopWriter, writerDone := make(chan struct{}), make(chan error, 1)
			if tt.busy {
				go func() {
					for {
						select {
						case <-stopWriter:
							writerDone <- nil
							return
						case <-time.After(5 * time.Millisecond):
						}
						if _, err := e.store.Append(ctx, "org-busy", eventstore.Any(), eventstore.EventData{
							ID: eventstore.NewID(), Type: "test.counted", Data: []byte(`{}`),
						}); err != nil {
							writerDone <- err
							return
						}
					}
				}()
			} else {
				close(writerDone)
			}

			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := rebuilder.Rebuild(rctx, "reb"); err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			close(stopWriter)
			if err := <-writerDone; err != nil {
				t.Fatalf("append during the rebuild: %v", err)
			}
			rd.check(t)

			old, gen2 := mustGeneration(t, r, "reb", 1), mustGeneration(t, r, "reb", 2)
			if old.State != projections.StateRetired || gen2.State != projections.StateActive || gen2.Version != 1 {
				t.Fatalf("generations %+v and %+v; want 1 retired and 2 active", old, gen2)
			}
			var schemaLeft bool
			if err := e.pool.QueryRow(ctx, `SELECT to_regnamespace('proj_reb_1') IS NOT NULL`).Scan(&schemaLeft); err != nil || schemaLeft {
				t.Fatalf("the old generation's schema is still there (%v)", err)
			}
			if !tt.busy {
				after := projtest.Tables(t, e.pool, p, "rm")
				if gen2.Position != head || fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("after the rebuild, at position %d, rm holds\n%v\nwant what generation 1 held at %d:\n%v", gen2.Position, after, head, before)
				}
			}

			// Run keeps the new generation current.
			head = appendEvents(t, e.store, 40, 5)
			waitForPosition(t, r, head)
			if st := mustGeneration(t, r, "reb", 2); st.Position != head || st.State != projections.StateActive {
				t.Fatalf("after more events, generation 2 is %+v; want it active at %d", st, head)
			}
			checkExactlyOnce(t, e.pool, p, "rm", head, 1)
			checkCleanRun(t, e.pool, e.store, p)
		})
	}
}

// TestRebuildRefusesConcurrentBuild: a second Rebuild while one runs must
// refuse rather than race it, and a Rebuild cut short leaves no build.
func TestRebuildRefusesConcurrentBuild(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	fctx, cancelFirst := context.WithCancel(ctx)
	slow := &tally{name: "busy"}
	slow.hook = func(b *projections.Batch, ev eventstore.Event) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return nil
		case <-fctx.Done():
			return fctx.Err()
		}
	}
	appendEvents(t, e.store, 5, 1)
	first := projections.NewRunner(e.pool, e.store, []projections.Projection{slow}, e.options("first"))
	done := make(chan error, 1)
	go func() { done <- first.Rebuild(fctx, "busy") }()
	<-entered

	second := projections.NewRunner(e.newPool(t), e.store, []projections.Projection{&tally{name: "busy"}}, e.options("second"))
	if err := second.Rebuild(ctx, "busy"); err == nil {
		t.Fatal("a second Rebuild while the first builds succeeded; want it refused")
	}

	cancelFirst()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Rebuild = %v; want context.Canceled", err)
	}
	st := mustGeneration(t, second, "busy", 1)
	if st.State != projections.StateRetired {
		t.Fatalf("the cancelled build is %+v; want it retired", st)
	}
	close(release)
	if err := second.Rebuild(ctx, "busy"); err != nil {
		t.Fatalf("Rebuild after the first was cancelled: %v", err)
	}
	if st := mustGeneration(t, second, "busy", 2); st.State != projections.StateActive || st.Position != 5 {
		t.Fatalf("generation 2 = %+v; want it active at 5", st)
	}
}

// TestVersionChange restarts the runner with a new version of the
// projection (a different handler and an extra column): it must build the
// new version beside the old one, which readers keep seeing, and switch
// them over in one step.
func TestVersionChange(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t)
	ctx := context.Background()
	v1 := &tally{name: "ver", repeats: true}
	head := appendEvents(t, e.store, 200, 8)
	r1 := projections.NewRunner(e.pool, e.store, []projections.Projection{v1}, e.options("v1"))
	stop := runUntilCleanup(t, r1)
	waitForPosition(t, r1, head)
	stop()

	rd := startViewReader(t, e.pool, `SELECT coalesce(sum(events), 0)::bigint FROM rm.ver_streams`)
	var midBuild atomic.Int64
	midBuild.Store(-1)
	v2 := &tally{name: "ver", version: 2, weight: 10, repeats: true, delay: time.Millisecond}
	v2.hook = func(b *projections.Batch, ev eventstore.Event) error {
		if ev.Position == 100 { // halfway through the build: what do readers see?
			var sum int64
			if err := e.pool.QueryRow(ctx, `SELECT sum(events)::bigint FROM rm.ver_streams`).Scan(&sum); err != nil {
				return err
			}
			midBuild.Store(sum)
		}
		return nil
	}
	r2 := projections.NewRunner(e.pool, e.store, []projections.Projection{v2}, e.options("v2"))
	runUntilCleanup(t, r2)
	eventually(t, 20*time.Second, "generation 2 active", func() error {
		st, err := generationStatus(ctx, r2, "ver", 2)
		if err == nil && st.State != projections.StateActive {
			err = fmt.Errorf("generation 2 is %s", st.State)
		}
		return err
	})
	rd.check(t)
	if got := midBuild.Load(); got != head {
		t.Fatalf("while version 2 was built, readers saw a total of %d; want version 1's %d", got, head)
	}
	if want := []int64{head, 10 * head}; !slices.Equal(rd.values, want) {
		t.Fatalf("readers saw totals %v; want %v: the old data, then the new, nothing between", rd.values, want)
	}
	old := mustGeneration(t, r2, "ver", 1)
	if old.State != projections.StateRetired || old.Version != 1 || mustGeneration(t, r2, "ver", 2).Version != 2 {
		t.Fatalf("generation 1 = %+v; want version 1 retired beside version 2", old)
	}
	var hasColumn bool
	if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns
		WHERE table_schema = 'rm' AND table_name = 'ver_streams' AND column_name = 'since_v2')`).Scan(&hasColumn); err != nil || !hasColumn {
		t.Fatalf("rm.ver_streams lacks version 2's column (%v)", err)
	}
	eventually(t, 10*time.Second, "the old schema dropped", func() error {
		var left bool
		if err := e.pool.QueryRow(ctx, `SELECT to_regnamespace('proj_ver_1') IS NOT NULL`).Scan(&left); err != nil || left {
			return fmt.Errorf("still there (%v)", err)
		}
		return nil
	})

	head = appendEvents(t, e.store, 30, 3)
	waitForPosition(t, r2, head)
	checkExactlyOnce(t, e.pool, v2, "rm", head, 10)
	checkCleanRun(t, e.pool, e.store, v2)
}
