package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/civicledger/civicledger/internal/notify"
	"github.com/civicledger/civicledger/projections"
)

// routes returns the HTTP handler: the GraphQL API and GraphiQL, and the
// operational endpoints beside them.
func routes(a *app, api http.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	// Liveness: the process answers. It checks nothing else, so that a
	// slow database does not get the process restarted.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { readyz(w, r, a, log) })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { metrics(w, r, a, log) })
	return mux
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
	st, err := a.store.Status(ctx)
	if err != nil {
		log.Warn("readiness: event store", "err", err)
		reasons = append(reasons, "database unavailable")
		body["error"] = "database unavailable"
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

// metrics writes the Prometheus text exposition of the event store's, the
// projections' and the notification outbox's state.
func metrics(w http.ResponseWriter, r *http.Request, a *app, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var b strings.Builder
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	if st, err := a.store.Status(ctx); err == nil {
		gauge("civic_eventstore_head", "Last position in the global event log.")
		fmt.Fprintf(&b, "civic_eventstore_head %d\n", st.Head)
		gauge("civic_eventstore_pending", "Events committed but not yet given a position.")
		fmt.Fprintf(&b, "civic_eventstore_pending %d\n", st.Pending)
		gauge("civic_eventstore_oldest_write_tx_seconds", "Age of the oldest open write transaction; it holds back the sequencer.")
		fmt.Fprintf(&b, "civic_eventstore_oldest_write_tx_seconds %g\n", st.OldestWriteTx.Seconds())
		gauge("civic_eventstore_sequencer_leader", "1 when this process leads the sequencer.")
		fmt.Fprintf(&b, "civic_eventstore_sequencer_leader %d\n", b2i(st.Leader))
		gauge("civic_eventstore_sequencer_leader_anywhere", "1 when some process leads the sequencer.")
		fmt.Fprintf(&b, "civic_eventstore_sequencer_leader_anywhere %d\n", b2i(st.LeaderAnywhere))
		gauge("civic_eventstore_sequencer_failing", "1 while this process's sequencer keeps failing to lead (its error is in the log and /readyz).")
		fmt.Fprintf(&b, "civic_eventstore_sequencer_failing %d\n", b2i(st.SequencerError != ""))
		gauge("civic_eventstore_oldest_pending_seconds", "Age of the oldest event not yet given a position: how long a write has been invisible.")
		fmt.Fprintf(&b, "civic_eventstore_oldest_pending_seconds %g\n", st.OldestPending.Seconds())
	} else {
		log.Warn("metrics: event store", "err", err)
	}
	if ps, err := a.runner.Status(ctx); err == nil {
		gauge("civic_projection_position", "Last log position a projection generation has applied.")
		for _, p := range ps {
			fmt.Fprintf(&b, "civic_projection_position{name=%q,generation=\"%d\",state=%q} %d\n", p.Name, p.Generation, p.State, p.Position)
		}
		gauge("civic_projection_lag_events", "Events a projection generation has yet to apply.")
		for _, p := range ps {
			fmt.Fprintf(&b, "civic_projection_lag_events{name=%q,generation=\"%d\",state=%q} %d\n", p.Name, p.Generation, p.State, p.LagEvents)
		}
		gauge("civic_projection_lag_seconds", "Age of the oldest event a projection generation has yet to apply.")
		for _, p := range ps {
			fmt.Fprintf(&b, "civic_projection_lag_seconds{name=%q,generation=\"%d\",state=%q} %g\n", p.Name, p.Generation, p.State, p.LagSeconds)
		}
		gauge("civic_projection_failing", "1 while a projection generation is stopped at an event it cannot apply.")
		for _, p := range ps {
			fmt.Fprintf(&b, "civic_projection_failing{name=%q,generation=\"%d\",state=%q} %d\n", p.Name, p.Generation, p.State, b2i(p.Failing))
		}
	} else {
		log.Warn("metrics: projections", "err", err)
	}
	if st, err := notify.ReadStatus(ctx, a.db.pool); err == nil {
		gauge("civic_outbox_position", "Last log position the notification outbox has read.")
		fmt.Fprintf(&b, "civic_outbox_position %d\n", st.Position)
		gauge("civic_outbox_pending", "Notifications waiting to be sent.")
		fmt.Fprintf(&b, "civic_outbox_pending %d\n", st.Pending)
		gauge("civic_outbox_failing", "Pending notifications whose last attempt failed; they are retried with backoff.")
		fmt.Fprintf(&b, "civic_outbox_failing %d\n", st.Failing)
		gauge("civic_outbox_oldest_pending_seconds", "How long the oldest pending notification has waited.")
		fmt.Fprintf(&b, "civic_outbox_oldest_pending_seconds %g\n", st.OldestPending.Seconds())
		gauge("civic_outbox_skipped", "Notifications of events too old to announce (CIVIC_NOTIFY_MAX_AGE), never sent.")
		fmt.Fprintf(&b, "civic_outbox_skipped %d\n", st.Skipped)
	} else {
		log.Warn("metrics: notification outbox", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(w, b.String())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
