package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/web"
)

// routes returns the HTTP handler: the GraphQL API and GraphiQL, and the
// operational endpoints beside them, with /metrics serving the server's
// state and its requests' counts and durations.
func routes(a *app, api http.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	// The dashboard (package web): charts of the public API, offline.
	mux.Handle("GET "+web.DashboardPrefix, web.Dashboard())
	// The open data (package opendata): every public table as CSV and
	// JSON, its Data Package and README, IATI XML and a ZIP of them all.
	mux.Handle("GET /opendata/", openDataHandler(a, log))
	// Liveness: the process answers. It checks nothing else, so that a
	// slow database does not get the process restarted.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { readyz(w, r, a, log) })
	reg := newRegistry(a, log)
	mux.Handle("GET /metrics", metricsHandler(reg, log))
	// Every request is counted and timed, the operational endpoints' too:
	// a scraper or a prober that gets errors shows there.
	return instrument(reg, mux)
}

// Bounds of readiness: how long the log may go without a sequencer, a
// sequencer keep failing, or a write wait for its position, before the
// server says it is not ready. Each is well above what a failover, a
// restart or a busy log takes.
const (
	readyNoLeader     = 5 * time.Second
	readySeqFailing   = 5 * time.Second
	readyWriteWaiting = 10 * time.Second
)

// readiness remembers since when no sequencer has led, across probes.
type readiness struct {
	mu            sync.Mutex
	noLeaderSince time.Time
}

// noLeaderFor records whether a sequencer leads now and returns how long
// none has.
func (rd *readiness) noLeaderFor(leads bool, now time.Time) time.Duration {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if leads {
		rd.noLeaderSince = time.Time{}
		return 0
	}
	if rd.noLeaderSince.IsZero() {
		rd.noLeaderSince = now
	}
	return now.Sub(rd.noLeaderSince)
}

// readyz answers whether the server can serve what it is asked, with the
// reasons when not: the database answers; a sequencer leads somewhere and
// this process's is not stuck failing (the log then freezes, and every
// write with it); no write has waited long for its position; every read
// model has an active generation that is not failing. Read-model lag does
// not make it unready (a busy log is not an outage); it is reported, as
// are the event store's numbers.
func readyz(w http.ResponseWriter, r *http.Request, a *app, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]any{}
	var reasons []string
	st, lag, err := logStatus(ctx, a.store)
	if err != nil {
		log.Warn("readiness: event store", "err", err)
		what := "database unavailable"
		if a.cfg.eventStore == "kurrent" {
			// Status asks both: the index's database and KurrentDB.
			what = "event store unavailable (KurrentDB or the database of its index): see the server's log"
		}
		reasons = append(reasons, what)
		body["error"] = what
	} else {
		now := time.Now()
		es := map[string]any{
			"head": st.Head, "pending": st.Pending, "sequencer_leader": st.Leader, "sequencer_leader_anywhere": st.LeaderAnywhere,
			"oldest_pending_seconds": st.OldestPending.Seconds(), "oldest_write_tx_seconds": st.OldestWriteTx.Seconds(),
		}
		if st.SequencerError != "" {
			es["sequencer_error"] = st.SequencerError
			if d := now.Sub(st.SequencerErrorSince); d >= readySeqFailing {
				reasons = append(reasons, fmt.Sprintf("the sequencer has failed for %s: %s", d.Round(time.Second), st.SequencerError))
			}
		}
		if d := a.ready.noLeaderFor(st.LeaderAnywhere, now); d >= readyNoLeader {
			reasons = append(reasons, fmt.Sprintf("no sequencer has led for %s: writes get no position", d.Round(time.Second)))
		}
		if st.OldestPending >= readyWriteWaiting {
			reasons = append(reasons, fmt.Sprintf("a write has waited %s for its position: it is not visible yet", st.OldestPending.Round(time.Second)))
		}
		es["backend"] = a.cfg.eventStore
		if lag != nil {
			es["kurrentdb"] = map[string]any{"head_position": lag.SourceHead, "indexed_position": lag.Indexed,
				"behind": lag.Behind, "stalled_seconds": lag.Stalled.Seconds()}
		}
		body["eventstore"] = es
	}
	if ps, err := a.runner.Status(ctx); err != nil {
		log.Warn("readiness: projections", "err", err)
		reasons = append(reasons, "read models unavailable")
	} else {
		active := map[string]bool{}
		var list []map[string]any
		for _, p := range ps {
			if p.State == projections.StateRetired {
				continue // history, not health: the list would only grow
			}
			list = append(list, map[string]any{
				"name": p.Name, "version": p.Version, "generation": p.Generation, "state": p.State,
				"position": p.Position, "lag_events": p.LagEvents, "lag_seconds": p.LagSeconds,
				"failing": p.Failing, "last_error": p.LastError,
			})
			if p.State == "active" && !p.Failing {
				active[p.Name] = true
			}
		}
		body["projections"] = list
		for _, p := range readModels() {
			if !active[p.Name()] {
				reasons = append(reasons, fmt.Sprintf("read model %s has no active generation that is not failing", p.Name()))
			}
		}
	}
	body["ready"] = len(reasons) == 0
	if len(reasons) > 0 {
		body["reasons"] = reasons
	}
	w.Header().Set("Content-Type", "application/json")
	if len(reasons) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}
