package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/eventstore/dense"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"
)

// nopCloser stands for the KurrentDB client, which an in-memory backend
// does not have.
type nopCloser struct{}

func (nopCloser) Close() {}

// TestAppOverSparseLog runs the whole application as it runs over
// KurrentDB, with the one difference that the events live in memory with
// KurrentDB's positions (inmem.NewSparse, offsets that are not 1, 2,
// 3...): the dense follower indexes them while the demo loads (the
// registry, the 2019 certification cycle, civil-society activity, the
// activity history, the participatory budgets, whose counts read ballots
// by category and position, and the benchmark, which waits for the read
// models); every read model catches up with no failure; each budget's
// declared results recount the same from the log; the log verifies,
// leaves, tree and signed checkpoints. So nothing above the event store
// assumes KurrentDB's positions are dense, or that events are in
// PostgreSQL.
func TestAppOverSparseLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c, err := (&Main{Getenv: func(k string) string {
		return map[string]string{"DATABASE_URL": testdb.URL(t), "CIVIC_DATA_DIR": t.TempDir()}[k]
	}}).config()
	if err != nil {
		t.Fatal(err)
	}
	c.eventStore = "kurrent" // as the configuration would say; the backend is built below
	log := slog.New(slog.DiscardHandler)
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	if err := dense.Migrate(ctx, db.pool); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	origin := postgres.DefaultOrigin(key.Public().(ed25519.PublicKey))
	signer, err := tlog.NewSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := tlog.NewVerifier(origin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	src := inmem.NewSparse()
	store := &kurrentLog{Store: dense.New(db.pool, src, dense.Options{Signer: signer, Origin: origin,
		Verifiers: []note.Verifier{verifier}, CheckpointEvery: 1000, CheckpointAfter: time.Second}), src: nopCloser{}}
	defer store.Close()
	a := newApp(c, log, db, store)

	bg, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { defer func() { done <- struct{}{} }(); a.store.RunSequencer(bg) }()
	go func() { defer func() { done <- struct{}{} }(); a.runner.Run(bg) }()
	defer func() { stop(); <-done; <-done }()

	if _, err := a.importRegistry(ctx); err != nil {
		t.Fatal(err)
	}
	demo, err := a.importDemo(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if demo.benchmark, err = a.importBenchmark(ctx); err != nil {
		t.Fatal(err)
	}
	if demo.certification.Certified == 0 || demo.budgets.Cycles == 0 || demo.budgets.Ballots == 0 || demo.benchmark.Scores == 0 {
		t.Fatalf("the demo loaded %+v", demo)
	}

	head, err := a.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := src.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if raw == head {
		t.Fatalf("the backend's head %d equals the dense head: its positions are dense, and the test proves nothing", raw)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := a.runner.WaitFor(wctx, head); err != nil {
		t.Fatalf("the read models at %d: %v", head, err)
	}
	statuses, err := a.runner.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		if s.Failing {
			t.Errorf("projection %s is failing at %d", s.Name, s.Position)
		}
	}

	cycles, err := db.pool.Query(ctx, `SELECT DISTINCT substr(stream_id, length($1) + 1)
		FROM ledger.entries WHERE category = 'budget_cycle'`, budgeting.CycleStream(""))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for cycles.Next() {
		var id string
		if err := cycles.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := cycles.Err(); err != nil || len(ids) != demo.budgets.Cycles {
		t.Fatalf("the index holds %d budget cycles (%v), the demo loaded %d", len(ids), err, demo.budgets.Cycles)
	}
	for _, id := range ids {
		r, err := a.budgeting.Recount(ctx, id)
		if err != nil {
			t.Fatalf("recount %s: %v", id, err)
		}
		if r.Verdict != budgeting.Followed {
			t.Errorf("recount %s: %s, want the declared results followed", id, r.Verdict)
		}
	}

	// /metrics and /readyz tell the follower's state: caught up (the
	// heads read again: the recounts may have recorded what they found).
	for {
		lag, err := store.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head, raw = lag.Head, lag.SourceHead; !lag.Behind {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.runner.WaitFor(wctx, head); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(civicCollector{a: a, log: log}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if len(f.GetMetric()) == 1 && f.GetMetric()[0].GetGauge() != nil {
			got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"civic_kurrentdb_up": 1, "civic_follower_behind": 0, "civic_kurrentdb_head_position": float64(raw),
		"civic_follower_indexed_kurrentdb_position": float64(raw), "civic_eventstore_head": float64(head),
		"civic_eventstore_sequencer_leader": 1, "civic_eventstore_pending": 0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("/metrics %s = %v (present: %t), want %v", name, v, ok, want)
		}
	}
	rec := httptest.NewRecorder()
	readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil), a, log)
	var ready struct {
		Eventstore struct {
			Backend   string `json:"backend"`
			Head      int64  `json:"head"`
			Kurrentdb struct {
				Behind bool  `json:"behind"`
				Head   int64 `json:"head_position"`
			} `json:"kurrentdb"`
		} `json:"eventstore"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ready); err != nil || rec.Code != http.StatusOK ||
		ready.Eventstore.Backend != "kurrent" || ready.Eventstore.Head != head || ready.Eventstore.Kurrentdb.Behind || ready.Eventstore.Kurrentdb.Head != raw {
		t.Errorf("/readyz = %d %s (%v)", rec.Code, rec.Body, err)
	}

	// The final checkpoint is signed when the follower stops: sign it now
	// by waiting for the interval, then verify the whole log.
	time.Sleep(1500 * time.Millisecond)
	v, err := a.store.VerifyRange(ctx, 1, head)
	if err != nil || !v.Intact() || v.Events != head || v.Checkpoints == 0 {
		t.Fatalf("VerifyRange(1, %d) = %+v, %v; want every event intact and checkpoints checked", head, v, err)
	}
	t.Logf("%d events at KurrentDB-like positions up to %d, dense to %d; %d checkpoints; %d budget cycles recounted",
		v.Events, raw, head, v.Checkpoints, len(ids))
}
