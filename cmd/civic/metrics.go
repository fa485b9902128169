package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/internal/notify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry returns the registry /metrics serves: the event store's,
// the projections' and the notification outbox's state, read at each
// scrape, and the process's and the Go runtime's. It is the server's own,
// not the client library's global one, so that /metrics serves what this
// file says and nothing a dependency registers there unasked.
func newRegistry(a *app, log *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		civicCollector{a: a, log: log},
	)
	return reg
}

// metricsHandler serves reg in the Prometheus exposition format, which
// the client library writes and escapes correctly. A scrape queries the
// database, so only a few run at once: a flood of them gets 503s rather
// than the connections the API needs. A family that cannot be read is
// left out (civicCollector logs why) and the rest still served.
func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg,
		MaxRequestsInFlight: metricsInFlight,
	})
}

// metricsInFlight is how many scrapes of /metrics run at once; Prometheus
// sends one per scraper at a time.
const metricsInFlight = 4

// metricsTimeout bounds the database reads of a scrape, as it bounds
// /readyz's: a scraper gives up after 10 s by default, and an answer
// without the families that did not come in time beats none.
const metricsTimeout = 3 * time.Second

// civicCollector reads the event store's, the projections' and the
// notification outbox's state when scraped, so that the figures are those
// of the database at that moment, whichever process changed them. A part
// that cannot be read is logged and its families left out: a gap in a
// graph says the database did not answer, where a stale or zero value
// would mislead.
type civicCollector struct {
	a   *app
	log *slog.Logger
}

// gaugeDesc describes one of civic's gauges.
func gaugeDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// projectionLabels tell a projection generation's series apart: a read
// model has one generation per build, and a rebuild runs beside the
// active one until it catches up.
var projectionLabels = []string{"name", "generation", "state"}

// The families civicCollector serves. Their names, help and labels are
// those dashboards and alerts already use: they do not change.
var (
	// eventstoreHead and the rest of eventstore* are the event store's
	// (postgres.Status).
	eventstoreHead             = gaugeDesc("civic_eventstore_head", "Last position in the global event log.")
	eventstorePending          = gaugeDesc("civic_eventstore_pending", "Events committed but not yet given a position.")
	eventstoreOldestWriteTx    = gaugeDesc("civic_eventstore_oldest_write_tx_seconds", "Age of the oldest open write transaction; it holds back the sequencer.")
	eventstoreLeader           = gaugeDesc("civic_eventstore_sequencer_leader", "1 when this process leads the sequencer.")
	eventstoreLeaderAnywhere   = gaugeDesc("civic_eventstore_sequencer_leader_anywhere", "1 when some process leads the sequencer.")
	eventstoreSequencerFailing = gaugeDesc("civic_eventstore_sequencer_failing", "1 while this process's sequencer keeps failing to lead (its error is in the log and /readyz).")
	eventstoreOldestPending    = gaugeDesc("civic_eventstore_oldest_pending_seconds", "Age of the oldest event not yet given a position: how long a write has been invisible.")

	// kurrent* are served over KurrentDB only (CIVIC_EVENTSTORE=kurrent):
	// the connection, and the dense follower against the cluster's $all.
	kurrentUp             = gaugeDesc("civic_kurrentdb_up", "1 when the scrape read KurrentDB's head and the dense index's, 0 when either failed (the server's log says which).")
	kurrentHeadPosition   = gaugeDesc("civic_kurrentdb_head_position", "KurrentDB's last $all position (a byte offset, not a count of events).")
	followerIndexedSource = gaugeDesc("civic_follower_indexed_kurrentdb_position", "KurrentDB position of the last event the dense follower indexed.")
	followerBehind        = gaugeDesc("civic_follower_behind", "1 while KurrentDB holds events the dense index does not.")
	followerStalled       = gaugeDesc("civic_follower_stalled_seconds", "How long the dense index has not advanced while KurrentDB is ahead of it: the follower's lag in time.")

	// projectionPosition and the rest of projection* are each projection
	// generation's (projections.Status), retired ones included.
	projectionPosition   = gaugeDesc("civic_projection_position", "Last log position a projection generation has applied.", projectionLabels...)
	projectionLagEvents  = gaugeDesc("civic_projection_lag_events", "Events a projection generation has yet to apply.", projectionLabels...)
	projectionLagSeconds = gaugeDesc("civic_projection_lag_seconds", "Age of the oldest event a projection generation has yet to apply.", projectionLabels...)
	projectionFailing    = gaugeDesc("civic_projection_failing", "1 while a projection generation is stopped at an event it cannot apply.", projectionLabels...)

	// outboxPosition and the rest of outbox* are the notification
	// outbox's (notify.Status).
	outboxPosition      = gaugeDesc("civic_outbox_position", "Last log position the notification outbox has read.")
	outboxPending       = gaugeDesc("civic_outbox_pending", "Notifications waiting to be sent.")
	outboxFailing       = gaugeDesc("civic_outbox_failing", "Pending notifications whose last attempt failed; they are retried with backoff.")
	outboxOldestPending = gaugeDesc("civic_outbox_oldest_pending_seconds", "How long the oldest pending notification has waited.")
	outboxSkipped       = gaugeDesc("civic_outbox_skipped", "Notifications of events too old to announce (CIVIC_NOTIFY_MAX_AGE), never sent.")

	// trendCacheHits and trendCacheMisses are the participation trend
	// answer cache's (graph.Server.TrendCache): a dashboard's polls should
	// be hits, but for one miss per change of the data.
	trendCacheHits   = gaugeDesc("civic_trend_cache_hits_total", "Participation trends answered from the answer cache, since the process started.")
	trendCacheMisses = gaugeDesc("civic_trend_cache_misses_total", "Participation trends answered by a read-model statement, since the process started.")

	// answerCacheHits and answerCacheMisses are the anonymous answer
	// cache's (graph.Server.AnswerCache).
	answerCacheHits   = gaugeDesc("civic_answer_cache_hits_total", "Anonymous queries answered from the answer cache, since the process started.")
	answerCacheMisses = gaugeDesc("civic_answer_cache_misses_total", "Anonymous queries run because the answer cache did not hold their answer, since the process started.")
)

// Describe implements prometheus.Collector: every family civicCollector
// may serve, so that the registry checks what it collects.
func (c civicCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		eventstoreHead, eventstorePending, eventstoreOldestWriteTx, eventstoreLeader, eventstoreLeaderAnywhere, eventstoreSequencerFailing, eventstoreOldestPending,
		kurrentUp, kurrentHeadPosition, followerIndexedSource, followerBehind, followerStalled,
		projectionPosition, projectionLagEvents, projectionLagSeconds, projectionFailing,
		outboxPosition, outboxPending, outboxFailing, outboxOldestPending, outboxSkipped,
		trendCacheHits, trendCacheMisses, answerCacheHits, answerCacheMisses,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c civicCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st, lag, err := logStatus(ctx, c.a.store)
	if err == nil {
		gauge(eventstoreHead, float64(st.Head))
		gauge(eventstorePending, float64(st.Pending))
		gauge(eventstoreOldestWriteTx, st.OldestWriteTx.Seconds())
		gauge(eventstoreLeader, b2f(st.Leader))
		gauge(eventstoreLeaderAnywhere, b2f(st.LeaderAnywhere))
		gauge(eventstoreSequencerFailing, b2f(st.SequencerError != ""))
		gauge(eventstoreOldestPending, st.OldestPending.Seconds())
	} else {
		c.log.Warn("metrics: event store", "err", err)
	}
	if lag != nil {
		gauge(kurrentUp, b2f(err == nil))
		if err == nil {
			gauge(kurrentHeadPosition, float64(lag.SourceHead))
			gauge(followerIndexedSource, float64(lag.Indexed))
			gauge(followerBehind, b2f(lag.Behind))
			gauge(followerStalled, lag.Stalled.Seconds())
		}
	}
	if ps, err := c.a.runner.Status(ctx); err == nil {
		for _, p := range ps {
			l := []string{p.Name, strconv.Itoa(p.Generation), p.State}
			gauge(projectionPosition, float64(p.Position), l...)
			gauge(projectionLagEvents, float64(p.LagEvents), l...)
			gauge(projectionLagSeconds, p.LagSeconds, l...)
			gauge(projectionFailing, b2f(p.Failing), l...)
		}
	} else {
		c.log.Warn("metrics: projections", "err", err)
	}
	if st, err := notify.ReadStatus(ctx, c.a.db.pool); err == nil {
		gauge(outboxPosition, float64(st.Position))
		gauge(outboxPending, float64(st.Pending))
		gauge(outboxFailing, float64(st.Failing))
		gauge(outboxOldestPending, st.OldestPending.Seconds())
		gauge(outboxSkipped, float64(st.Skipped))
	} else {
		c.log.Warn("metrics: notification outbox", "err", err)
	}
	if c.a.api != nil {
		hits, misses := c.a.api.TrendCache()
		ch <- prometheus.MustNewConstMetric(trendCacheHits, prometheus.CounterValue, float64(hits))
		ch <- prometheus.MustNewConstMetric(trendCacheMisses, prometheus.CounterValue, float64(misses))
		hits, misses = c.a.api.AnswerCache()
		ch <- prometheus.MustNewConstMetric(answerCacheHits, prometheus.CounterValue, float64(hits))
		ch <- prometheus.MustNewConstMetric(answerCacheMisses, prometheus.CounterValue, float64(misses))
	}
}

// b2f is a flag as a gauge's value.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// httpRoutes are the values of the route label of the request metrics:
// a fixed few, so that a client requesting made-up paths cannot make a
// series of each.
var httpRoutes = []string{"graphql", "log", "healthz", "readyz", "metrics", "other"}

// routeOf is the route label of a request for path: the API, the log's
// proofs and checkpoints, each operational endpoint, and everything else
// (GraphiQL, and paths that answer 404).
func routeOf(path string) string {
	switch {
	case path == "/graphql":
		return "graphql"
	case path == "/log" || strings.HasPrefix(path, "/log/"):
		return "log"
	case path == "/healthz":
		return "healthz"
	case path == "/readyz":
		return "readyz"
	case path == "/metrics":
		return "metrics"
	}
	return "other"
}

// httpDurationBuckets are the request duration histogram's upper bounds,
// in seconds: the client library's default ones, and beyond them
// CIVIC_REQUEST_TIMEOUT's default (15s), so that the requests cut off by
// it stand apart.
var httpDurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30}

// instrument counts the requests h answers, by route, method and status
// code, and times them by route, registering both families with reg. The
// method label is the client library's: a method it does not know is
// "unknown", so it too stays bounded. A WebSocket (a GraphQL
// subscription) is counted when it closes, with code 200 (the library
// sees no status on a connection taken over from net/http), but not
// timed: it lasts as long as the client listens, and would swamp the
// API's latencies.
func instrument(reg prometheus.Registerer, h http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civic_http_requests_total",
		Help: "HTTP requests answered, by route, method and status code; a WebSocket is counted, as 200, when it closes.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "civic_http_request_duration_seconds",
		Help:    "How long HTTP requests took to answer, by route; WebSockets are not timed.",
		Buckets: httpDurationBuckets,
	}, []string{"route"})
	reg.MustRegister(requests, duration)
	type handlers struct{ timed, counted http.Handler }
	byRoute := make(map[string]handlers, len(httpRoutes))
	for _, r := range httpRoutes {
		l := prometheus.Labels{"route": r}
		counted := promhttp.InstrumentHandlerCounter(requests.MustCurryWith(l), h)
		byRoute[r] = handlers{timed: promhttp.InstrumentHandlerDuration(duration.MustCurryWith(l), counted), counted: counted}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := byRoute[routeOf(r.URL.Path)]
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			hs.counted.ServeHTTP(w, r)
			return
		}
		hs.timed.ServeHTTP(w, r)
	})
}
