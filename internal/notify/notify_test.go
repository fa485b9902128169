package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/notify"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// env is a fresh database with the event store and the outbox migrated,
// and a store whose sequencer runs until the test ends.
type env struct {
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
	repo  *domain.Repository
	logs  *syncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{url: testdb.URL(t), logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", e.logs.String())
		}
	})
	e.pool = e.newPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, e.pool); err != nil {
		t.Fatalf("eventstore Migrate: %v", err)
	}
	if err := notify.Migrate(ctx, e.pool); err != nil {
		t.Fatalf("notify Migrate: %v", err)
	}
	e.store = postgres.New(e.pool, postgres.Options{Logger: e.logger("eventstore"), SubscriberPoll: 50 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.store.RunSequencer(runCtx); err != nil {
			t.Errorf("RunSequencer: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		e.store.Close()
	})
	e.repo = &domain.Repository{Store: e.store, Types: catalog.Types}
	return e
}

// newPool opens another pool on the database, as another process would.
func (e *env) newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore opens a store over pool, as another process would, without a
// sequencer: the env's store sequences for all.
func (e *env) newStore(t *testing.T, pool *pgxpool.Pool) *postgres.Store {
	t.Helper()
	s := postgres.New(pool, postgres.Options{Logger: e.logger("eventstore"), SubscriberPoll: 20 * time.Millisecond})
	t.Cleanup(s.Close)
	return s
}

func (e *env) logger(who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", who)
}

// start runs a notifier over pool until the test ends (or stop is called).
func (e *env) start(t *testing.T, pool *pgxpool.Pool, store eventstore.Store, who string, opts notify.NotifierOptions) (stop func()) {
	t.Helper()
	opts.RetryMin, opts.RetryMax = 10*time.Millisecond, 100*time.Millisecond
	opts.Logger = e.logger(who)
	n := notify.NewNotifier(pool, store, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := n.Run(ctx); err != nil {
			t.Errorf("%s Run: %v", who, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// save appends events to stream (at version, 0 for a new stream) as the
// system, occurring at when, and returns the stream's new version and
// the position of its last event.
func (e *env) save(t *testing.T, stream string, version int64, when time.Time, events ...domain.Event) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	meta := domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, CorrelationID: "test", Now: when}
	res, err := e.repo.Save(ctx, stream, version, meta, events...)
	if err != nil {
		t.Fatalf("save %s: %v", stream, err)
	}
	pos, err := e.store.AwaitPosition(ctx, res.LastID)
	if err != nil {
		t.Fatalf("await %s: %v", stream, err)
	}
	return res.Version, pos
}

// waitCheckpoint waits until the outbox's checkpoint reaches pos.
func (e *env) waitCheckpoint(t *testing.T, pos int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := notify.ReadStatus(context.Background(), e.pool)
		if err != nil {
			t.Fatal(err)
		}
		if st.Position >= pos {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox checkpoint at %d after 20s, want %d", st.Position, pos)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// row is a notification as stored.
type row struct {
	Position     int64
	Kind         string
	Municipality string
	Year         int
	Subject      string
	Body         string
	Skipped      string
	Sent         bool
	Attempts     int
	LastError    string
	// Wait is next_attempt_at - last_attempt_at, and Due whether
	// next_attempt_at has passed.
	Wait      time.Duration
	Due       bool
	CreatedAt time.Time
}

func rows(t *testing.T, pool *pgxpool.Pool) []row {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT position, kind, municipality, year, subject, body,
		coalesce(skipped, ''), sent_at IS NOT NULL, attempts, coalesce(last_error, ''),
		coalesce(extract(epoch FROM next_attempt_at - last_attempt_at), 0)::float8, next_attempt_at <= now(), created_at
		FROM outbox.notifications ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var wait float64
		if err := rs.Scan(&r.Position, &r.Kind, &r.Municipality, &r.Year, &r.Subject, &r.Body, &r.Skipped, &r.Sent,
			&r.Attempts, &r.LastError, &wait, &r.Due, &r.CreatedAt); err != nil {
			t.Fatal(err)
		}
		r.Wait = time.Duration(wait * float64(time.Second))
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// workflow holds the log positions of the events of a 2019 cycle that call
// for notifications.
type workflow struct {
	invitation, resultBatumi, certificate, resultTelavi int64
	head                                                int64
}

const appBatumi, appTelavi = "2019-batumi", "2019-telavi"

// appendWorkflow appends, occurring at when, Batumi's registration, the
// 2019 cycle and Batumi's nomination, Batumi's application certified with
// a recommendation, and Telavi's (not in this registry) refused.
func appendWorkflow(t *testing.T, e *env, when time.Time) workflow {
	t.Helper()
	var w workflow
	e.save(t, registry.MunicipalityStream("batumi"), 0, when, registry.MunicipalityRegistered{
		Code: "batumi", Name: domain.LocalizedText{Ka: "ბათუმი", En: "Batumi"}, Region: "adjara", Kind: registry.SelfGoverningCity,
	})
	v, _ := e.save(t, certification.CycleStream(2019), 0, when, certification.CycleOpened{
		Year: 2019, Title: domain.LocalizedText{Ka: "სერტიფიცირება 2019", En: "Certification 2019"},
		Schedule: certification.Schedule{CallOpens: "2019-02-15", ApplicationDeadline: "2019-03-31",
			QuestionnaireDeadline: "2019-04-15", ResultsDate: "2019-06-15", CeremonyDate: "2019-06-30"},
		Rules: certification.Rules{Version: 1, ExpertsRequired: 2, PassScore: 60, ValidityMonths: 24,
			Criteria: []certification.Criterion{{Code: "impact", Name: domain.LocalizedText{Ka: "გავლენა"}, Weight: 1, ScaleMax: 10}}},
	})
	_, w.invitation = e.save(t, certification.CycleStream(2019), v, when, certification.MunicipalityNominated{
		Year: 2019, Municipality: "batumi", Reason: "runs a civic budget since 2017", By: "key:analyst",
	})
	v, _ = e.save(t, certification.ApplicationStream(appBatumi), 0, when,
		certification.ApplicationDrafted{ID: appBatumi, Year: 2019, Municipality: "batumi"},
		certification.ApplicationSubmitted{ID: appBatumi, On: "2019-03-20"},
		certification.DecisionTaken{ID: appBatumi, Certified: true, RulesVersion: 1,
			Recommendations: []domain.LocalizedText{{Ka: "გამოაქვეყნეთ ხმის მიცემის შედეგები", En: "publish the votes"}, {Ka: "მხოლოდ ქართულად"}}},
	)
	// Announced and issued in one append, as the service does.
	var batumi int64
	batumi, w.certificate = e.save(t, certification.ApplicationStream(appBatumi), v, when,
		certification.ResultAnnounced{ID: appBatumi, On: "2019-06-15"},
		certification.CertificateIssued{ID: appBatumi, Number: "CB-2019-BATUMI", ValidFrom: "2019-06-15", ValidUntil: "2021-06-15"},
	)
	w.resultBatumi = w.certificate - 1
	v, _ = e.save(t, certification.ApplicationStream(appTelavi), 0, when,
		certification.ApplicationDrafted{ID: appTelavi, Year: 2019, Municipality: "telavi"},
		certification.DecisionTaken{ID: appTelavi, Certified: false, RulesVersion: 1},
	)
	_, w.resultTelavi = e.save(t, certification.ApplicationStream(appTelavi), v, when,
		certification.ResultAnnounced{ID: appTelavi, On: "2019-06-20"})
	// A later event of Batumi's stream must not change what its result
	// said: the texts are made from the stream up to their event.
	_, w.head = e.save(t, certification.ApplicationStream(appBatumi), batumi, when,
		certification.CertificateAwarded{ID: appBatumi, On: "2019-06-30"})
	return w
}

// TestNotifications: each event that calls for a notification gets one,
// at its position, addressed to its municipality, in Georgian and then
// English; the others get none.
func TestNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := appendWorkflow(t, e, time.Now())
	e.start(t, e.pool, e.store, "notifier", notify.NotifierOptions{})
	e.waitCheckpoint(t, w.head)

	got := rows(t, e.pool)
	if len(got) != 4 {
		t.Fatalf("%d notifications, want 4 (invitation, two results, certificate): %+v", len(got), got)
	}
	byPos := map[int64]row{}
	for _, r := range got {
		byPos[r.Position] = r
		if r.Sent || r.Skipped != "" || r.Attempts != 0 || !r.Due {
			t.Errorf("notification %d = %+v, want due, unsent, not skipped, never attempted", r.Position, r)
		}
		ka, en, ok := strings.Cut(r.Body, "\n\n")
		if !ok || !strings.HasPrefix(ka, "მუნიციპალიტეტი: ") || !strings.HasPrefix(en, "Municipality: ") {
			t.Errorf("notification %d body = %q, want a Georgian block, then an English one", r.Position, r.Body)
		}
	}
	check := func(pos int64, kind, muni string, subject string, body ...string) {
		t.Helper()
		r, ok := byPos[pos]
		if !ok {
			t.Errorf("no notification at position %d (%s to %s)", pos, kind, muni)
			return
		}
		if r.Kind != kind || r.Municipality != muni || r.Year != 2019 || r.Subject != subject {
			t.Errorf("notification %d = %s to %s (%d), %q; want %s to %s (2019), %q", pos, r.Kind, r.Municipality, r.Year, r.Subject, kind, muni, subject)
		}
		for _, s := range body {
			if !strings.Contains(r.Body, s) {
				t.Errorf("notification %d body lacks %q:\n%s", pos, s, r.Body)
			}
		}
	}
	check(w.invitation, "invitation", "batumi",
		"მოწვევა: მუნიციპალიტეტების სერტიფიცირება 2019 / Invitation: municipality certification 2019",
		"მუნიციპალიტეტი: ბათუმი\n", "წარდგენის საფუძველი: runs a civic budget since 2017", "განაცხადის შეტანის ბოლო ვადა: 2019-03-31",
		"Municipality: Batumi\n", "nominated for the 2019 certification cycle", "Reason given: runs a civic budget since 2017",
		"must apply itself", "Application deadline: 2019-03-31")
	check(w.resultBatumi, "result", "batumi",
		"შედეგი: მუნიციპალიტეტების სერტიფიცირება 2019 / Result: municipality certification 2019",
		"შედეგი: სერტიფიცირებულია", "- გამოაქვეყნეთ ხმის მიცემის შედეგები", "Application: 2019-batumi", "Announced on: 2019-06-15",
		"Result: certified.", "Recommendations:\n- publish the votes\n- მხოლოდ ქართულად\n")
	check(w.resultTelavi, "result", "telavi",
		"შედეგი: მუნიციპალიტეტების სერტიფიცირება 2019 / Result: municipality certification 2019",
		"მუნიციპალიტეტი: telavi\n", "შედეგი: არ არის სერტიფიცირებული.", "Municipality: telavi\n", "Result: not certified.")
	if strings.Contains(byPos[w.resultTelavi].Body, "Recommendations") {
		t.Errorf("Telavi's result lists recommendations it has none of:\n%s", byPos[w.resultTelavi].Body)
	}

	// The certificate's in full: the layout every notification has.
	wantCert := row{
		Position: w.certificate, Kind: "certificate", Municipality: "batumi", Year: 2019,
		Subject: "სერტიფიკატი CB-2019-BATUMI: მუნიციპალიტეტების სერტიფიცირება 2019 / Certificate CB-2019-BATUMI: municipality certification 2019",
		Body: "მუნიციპალიტეტი: ბათუმი\nსერტიფიკატის ნომერი: CB-2019-BATUMI\nმოქმედების ვადა: 2019-06-15 – 2021-06-15\n\n" +
			"Municipality: Batumi\nCertificate number: CB-2019-BATUMI\nValid from 2019-06-15 to 2021-06-15\n",
	}
	gotCert := byPos[w.certificate]
	gotCert.Due, gotCert.CreatedAt = false, time.Time{}
	if diff := cmp.Diff(wantCert, gotCert); diff != "" {
		t.Errorf("certificate notification (-want +got):\n%s", diff)
	}

	// The log sender writes them to the log, and they are sent.
	var logs syncBuffer
	d := notify.NewDispatcher(e.pool, notify.LogSender{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, notify.DispatcherOptions{Claim: 10})
	if n, err := d.Dispatch(context.Background()); err != nil || n != 4 {
		t.Fatalf("Dispatch = %d, %v; want 4 sent", n, err)
	}
	for _, s := range []string{"kind=certificate", "municipality=batumi", "CB-2019-BATUMI", "Result: not certified."} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log sender's output lacks %q:\n%s", s, logs.String())
		}
	}
	st, err := notify.ReadStatus(context.Background(), e.pool)
	if err != nil || st.Pending != 0 || st.Position != w.head {
		t.Errorf("ReadStatus after sending = %+v, %v; want nothing pending, position %d", st, err, w.head)
	}
}

// TestStaleEventsAreNotSent: an event that occurred long before it was
// read (an import of a past cycle) is queued marked skipped, not sent.
func TestStaleEventsAreNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := appendWorkflow(t, e, time.Date(2019, 6, 15, 10, 0, 0, 0, domain.Tbilisi))
	e.start(t, e.pool, e.store, "notifier", notify.NotifierOptions{})
	e.waitCheckpoint(t, w.head)
	got := rows(t, e.pool)
	if len(got) != 4 {
		t.Fatalf("%d notifications, want 4 marked skipped", len(got))
	}
	for _, r := range got {
		if !strings.Contains(r.Skipped, "stale: the event occurred on 2019-06-15") {
			t.Errorf("notification %d skipped = %q, want it skipped as stale", r.Position, r.Skipped)
		}
	}
	d := notify.NewDispatcher(e.pool, &recorder{}, notify.DispatcherOptions{})
	if n, err := d.Dispatch(context.Background()); err != nil || n != 0 {
		t.Errorf("Dispatch = %d, %v; want nothing claimed", n, err)
	}
	if st, err := notify.ReadStatus(context.Background(), e.pool); err != nil || st.Pending != 0 || st.Skipped != 4 {
		t.Errorf("ReadStatus = %+v, %v; want 0 pending, 4 skipped", st, err)
	}

	// With no age limit, the same events are news.
	e2 := newEnv(t)
	w = appendWorkflow(t, e2, time.Date(2019, 6, 15, 10, 0, 0, 0, domain.Tbilisi))
	e2.start(t, e2.pool, e2.store, "notifier", notify.NotifierOptions{MaxAge: -1})
	e2.waitCheckpoint(t, w.head)
	if st, err := notify.ReadStatus(context.Background(), e2.pool); err != nil || st.Pending != 4 || st.Skipped != 0 {
		t.Errorf("ReadStatus without an age limit = %+v, %v; want 4 pending, none skipped", st, err)
	}
}

// traceCheckpoint records every move of the outbox checkpoint, so a test
// can see which ranges of the log were committed.
func traceCheckpoint(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		CREATE TABLE checkpoint_moves (seq bigserial PRIMARY KEY, old bigint NOT NULL, new bigint NOT NULL);
		CREATE FUNCTION trace_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO checkpoint_moves (old, new) VALUES (OLD.position, NEW.position);
			RETURN NEW;
		END $$;
		CREATE TRIGGER trace AFTER UPDATE ON outbox.checkpoint FOR EACH ROW EXECUTE FUNCTION trace_checkpoint();`)
	if err != nil {
		t.Fatal(err)
	}
}

// checkMoves fails unless the committed moves of the checkpoint cover the
// log from 0 to head once each: no batch was committed twice, none
// skipped, and each started where the last ended.
func checkMoves(t *testing.T, pool *pgxpool.Pool, head int64) [][2]int64 {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT old, new FROM checkpoint_moves ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var moves [][2]int64
	var at int64
	for rs.Next() {
		var m [2]int64
		if err := rs.Scan(&m[0], &m[1]); err != nil {
			t.Fatal(err)
		}
		if m[0] != at || m[1] <= m[0] {
			t.Errorf("checkpoint moved %d → %d after reaching %d; want each batch to start where the last ended, and move on", m[0], m[1], at)
		}
		at = m[1]
		moves = append(moves, m)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if at != head {
		t.Errorf("checkpoint moves end at %d, want %d", at, head)
	}
	return moves
}

// subscriptions records where a store's subscriptions start, the real
// store doing the rest.
type subscriptions struct {
	eventstore.Store
	mu     sync.Mutex
	afters []int64
}

func (s *subscriptions) SubscribeAll(ctx context.Context, after int64) iter.Seq2[eventstore.Event, error] {
	s.mu.Lock()
	s.afters = append(s.afters, after)
	s.mu.Unlock()
	return s.Store.SubscribeAll(ctx, after)
}

func (s *subscriptions) starts() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.afters)
}

// TestNotifierResumes: a notifier started after another stopped (another
// process, over the same database) resumes from the checkpoint and queues
// only what is new; one that reads the log again from 0 changes nothing.
func TestNotifierResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	traceCheckpoint(t, e.pool)
	w := appendWorkflow(t, e, time.Now())
	stop := e.start(t, e.pool, e.store, "first", notify.NotifierOptions{})
	e.waitCheckpoint(t, w.head)
	stop()
	before := rows(t, e.pool)
	if len(before) != 4 {
		t.Fatalf("%d notifications after the first notifier, want 4", len(before))
	}

	// Kutaisi is nominated while no notifier runs.
	cycle, err := e.store.ReadStream(context.Background(), certification.CycleStream(2019), eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, kutaisi := e.save(t, certification.CycleStream(2019), int64(len(cycle)), time.Now(), certification.MunicipalityNominated{
		Year: 2019, Municipality: "kutaisi", Reason: "a youth budget since 2018", By: "key:analyst",
	})
	pool := e.newPool(t)
	store := &subscriptions{Store: e.newStore(t, pool)}
	e.start(t, pool, store, "second", notify.NotifierOptions{})
	e.waitCheckpoint(t, kutaisi)
	if starts := store.starts(); len(starts) == 0 || starts[0] != w.head {
		t.Errorf("the second notifier subscribed after positions %v; want it to start after %d, the first one's checkpoint", starts, w.head)
	}
	checkMoves(t, e.pool, kutaisi)
	after := rows(t, e.pool)
	if len(after) != 5 {
		t.Fatalf("%d notifications after the second notifier, want 5", len(after))
	}
	if diff := cmp.Diff(before, after[:4]); diff != "" {
		t.Errorf("the second notifier changed what the first queued (-before +after):\n%s", diff)
	}
	if r := after[4]; r.Position != kutaisi || r.Kind != "invitation" || r.Municipality != "kutaisi" {
		t.Errorf("new notification = %+v; want kutaisi's invitation at %d", r, kutaisi)
	}

	// The checkpoint lost: the log is read again, and nothing changes.
	if _, err := e.pool.Exec(context.Background(), `UPDATE outbox.checkpoint SET position = 0`); err != nil {
		t.Fatal(err)
	}
	third := e.newPool(t)
	e.start(t, third, e.newStore(t, third), "third", notify.NotifierOptions{})
	e.waitCheckpoint(t, kutaisi)
	if diff := cmp.Diff(after, rows(t, e.pool)); diff != "" {
		t.Errorf("reading the log again changed the outbox (-before +after):\n%s", diff)
	}
}

// TestConcurrentNotifiers: two notifiers over one database while events
// arrive; each batch is committed by one of them, once, and every
// nomination gets exactly its one invitation.
func TestConcurrentNotifiers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	traceCheckpoint(t, e.pool)
	w := appendWorkflow(t, e, time.Now())
	for _, who := range []string{"a", "b"} {
		pool := e.newPool(t)
		e.start(t, pool, e.newStore(t, pool), who, notify.NotifierOptions{BatchSize: 3})
	}
	cycle, err := e.store.ReadStream(context.Background(), certification.CycleStream(2019), eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	version := int64(len(cycle))
	want := map[int64]string{w.invitation: "batumi"}
	var head int64
	for i := range 40 {
		muni := fmt.Sprintf("municipality-%02d", i)
		if i%3 == 0 {
			// An event that calls for nothing, between the nominations.
			e.save(t, registry.MunicipalityStream(muni), 0, time.Now(), registry.MunicipalityRegistered{
				Code: muni, Name: domain.LocalizedText{Ka: muni}, Region: "imereti", Kind: registry.OrdinaryMunicipality})
		}
		version, head = e.save(t, certification.CycleStream(2019), version, time.Now(), certification.MunicipalityNominated{
			Year: 2019, Municipality: muni, Reason: "test", By: "key:analyst"})
		want[head] = muni
	}
	e.waitCheckpoint(t, head)
	checkMoves(t, e.pool, head)
	got := map[int64]string{}
	for _, r := range rows(t, e.pool) {
		if r.Kind == "invitation" {
			got[r.Position] = r.Municipality
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invitations by position (-want +got):\n%s", diff)
	}
	if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("the notifiers logged errors:\n%s", logs)
	}
}

// recorder is a Sender that records what it is given and fails while
// failing is set.
type recorder struct {
	mu      sync.Mutex
	failing error
	delay   time.Duration
	sent    []notify.Notification
}

func (r *recorder) Send(ctx context.Context, n notify.Notification) error {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing != nil {
		return r.failing
	}
	r.sent = append(r.sent, n)
	return nil
}

func (r *recorder) positions() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for _, n := range r.sent {
		out = append(out, n.Position)
	}
	slices.Sort(out)
	return out
}

// queued runs a notifier until the workflow's notifications are queued,
// and stops it.
func queued(t *testing.T, e *env) workflow {
	t.Helper()
	w := appendWorkflow(t, e, time.Now())
	stop := e.start(t, e.pool, e.store, "notifier", notify.NotifierOptions{})
	e.waitCheckpoint(t, w.head)
	stop()
	return w
}

// TestFailedSendIsRetried: a failing sender leaves each notification
// unsent, with its error and a later attempt; once due again, a working
// sender sends each exactly once, and they are marked sent.
func TestFailedSendIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	queued(t, e)
	ctx := context.Background()
	opts := notify.DispatcherOptions{Claim: 10, RetryMin: time.Second, Logger: e.logger("dispatcher")}
	down := &recorder{failing: errors.New("421 relay down")}
	if n, err := notify.NewDispatcher(e.pool, down, opts).Dispatch(ctx); err != nil || n != 4 {
		t.Fatalf("Dispatch with a failing sender = %d, %v; want 4 claimed", n, err)
	}
	for _, r := range rows(t, e.pool) {
		if r.Sent || r.LastError != "421 relay down" || r.Attempts != 1 || r.Due || r.Wait < time.Second || r.Wait > 5*time.Second {
			t.Errorf("after a failed send, notification %d = sent %v, error %q, attempts %d, due %v, next attempt %v after the last; "+
				"want unsent, the error, 1 attempt, not due, about 1s later", r.Position, r.Sent, r.LastError, r.Attempts, r.Due, r.Wait)
		}
	}
	st, err := notify.ReadStatus(ctx, e.pool)
	if err != nil || st.Pending != 4 || st.Failing != 4 {
		t.Errorf("ReadStatus = %+v, %v; want 4 pending, 4 failing", st, err)
	}

	up := &recorder{}
	d := notify.NewDispatcher(e.pool, up, opts)
	if n, err := d.Dispatch(ctx); err != nil || n != 0 {
		t.Fatalf("Dispatch before the retry is due = %d, %v; want nothing claimed", n, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := d.Dispatch(ctx); err != nil || n != 4 {
		t.Fatalf("Dispatch once due = %d, %v; want 4 claimed", n, err)
	}
	if n, err := d.Dispatch(ctx); err != nil || n != 0 {
		t.Fatalf("Dispatch after sending = %d, %v; want nothing claimed", n, err)
	}
	var want []int64
	for _, r := range rows(t, e.pool) {
		want = append(want, r.Position)
		if !r.Sent || r.LastError != "" || r.Attempts != 2 {
			t.Errorf("after the retry, notification %d = sent %v, error %q, attempts %d; want sent, no error, 2 attempts", r.Position, r.Sent, r.LastError, r.Attempts)
		}
	}
	if got := up.positions(); !slices.Equal(got, want) {
		t.Errorf("the working sender got positions %v, want each of %v once", got, want)
	}
	for _, n := range up.sent {
		if n.Attempts != 2 || n.Subject == "" || n.EventID.IsZero() {
			t.Errorf("sent %+v; want attempt 2 with its subject and event ID", n)
		}
	}
	if st, err := notify.ReadStatus(ctx, e.pool); err != nil || st.Pending != 0 || st.Failing != 0 || st.OldestPending != 0 {
		t.Errorf("ReadStatus after sending = %+v, %v; want nothing pending", st, err)
	}
}

// TestBackoff: each failure doubles the wait before the next attempt, up
// to RetryMax.
func TestBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := queued(t, e)
	ctx := context.Background()
	d := notify.NewDispatcher(e.pool, &recorder{failing: errors.New("no")}, notify.DispatcherOptions{
		Claim: 10, RetryMin: 10 * time.Minute, RetryMax: 25 * time.Minute, Logger: e.logger("dispatcher")})
	for attempt, want := range []time.Duration{10 * time.Minute, 20 * time.Minute, 25 * time.Minute, 25 * time.Minute} {
		if n, err := d.Dispatch(ctx); err != nil || n != 4 {
			t.Fatalf("attempt %d: Dispatch = %d, %v; want 4 claimed", attempt+1, n, err)
		}
		for _, r := range rows(t, e.pool) {
			if r.Attempts != attempt+1 || r.Wait < want || r.Wait > want+5*time.Second {
				t.Errorf("after failure %d, notification %d waits %v (attempts %d); want %v", attempt+1, r.Position, r.Wait, r.Attempts, want)
			}
		}
		// Due again now, as if the wait had passed.
		if _, err := e.pool.Exec(ctx, `UPDATE outbox.notifications SET next_attempt_at = now()`); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := notify.ReadStatus(ctx, e.pool); err != nil || st.Failing != 4 || st.Position != w.head {
		t.Errorf("ReadStatus = %+v, %v; want the 4 failing notifications still there", st, err)
	}
}

// TestDispatchersShare: dispatchers in two processes at once send each
// notification once between them.
func TestDispatchersShare(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	queued(t, e)
	var want []int64
	for _, r := range rows(t, e.pool) {
		want = append(want, r.Position)
	}
	senders := []*recorder{{delay: 20 * time.Millisecond}, {delay: 20 * time.Millisecond}}
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Add(1)
		d := notify.NewDispatcher(e.newPool(t), s, notify.DispatcherOptions{Claim: 1, Logger: e.logger(fmt.Sprint("dispatcher-", i))})
		go func() {
			defer wg.Done()
			for {
				n, err := d.Dispatch(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	got := append(senders[0].positions(), senders[1].positions()...)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sent positions %v (%v and %v), want each of %v once", got, senders[0].positions(), senders[1].positions(), want)
	}
}

// TestRunDispatcher: Run sends what is queued while it runs, and stops
// when its context ends.
func TestRunDispatcher(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := &recorder{}
	d := notify.NewDispatcher(e.pool, s, notify.DispatcherOptions{Poll: 20 * time.Millisecond, Logger: e.logger("dispatcher")})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Two Runs at once: one runs, the other returns an error at once.
	done := make(chan error, 2)
	go func() { done <- d.Run(ctx) }()
	go func() { done <- d.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a second Run on the same Dispatcher returned nil; want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Run on the same Dispatcher still runs after 5s; want an error at once")
	}
	w := appendWorkflow(t, e, time.Now())
	e.start(t, e.pool, e.store, "notifier", notify.NotifierOptions{})
	want := []int64{w.invitation, w.resultBatumi, w.certificate, w.resultTelavi}
	for deadline := time.Now().Add(20 * time.Second); !slices.Equal(s.positions(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sent %v after 20s, want %v", s.positions(), want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil once its context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
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
