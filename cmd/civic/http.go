package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/civicledger/civicledger/internal/notify"
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

// readyz answers whether the server can serve queries: the database
// answers and every read model has an active generation that is not
// failing. Lag does not make it unready (a busy log is not an outage); it
// is reported, as are the event store's numbers.
func readyz(w http.ResponseWriter, r *http.Request, a *app, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]any{}
	ready := true
	st, err := a.store.Status(ctx)
	if err != nil {
		log.Warn("readiness: event store", "err", err)
		ready = false
		body["error"] = "database unavailable"
	} else {
		body["eventstore"] = map[string]any{
			"head": st.Head, "pending": st.Pending, "sequencer_leader": st.Leader,
			"oldest_write_tx_seconds": st.OldestWriteTx.Seconds(),
		}
	}
	if ps, err := a.runner.Status(ctx); err != nil {
		log.Warn("readiness: projections", "err", err)
		ready = false
	} else {
		active := map[string]bool{}
		var list []map[string]any
		for _, p := range ps {
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
				ready = false
			}
		}
	}
	body["ready"] = ready
	w.Header().Set("Content-Type", "application/json")
	if !ready {
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
