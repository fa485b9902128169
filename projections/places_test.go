package projections_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file tests the places read model, and holds what the tests of the
// real read models (places, organisations, keys) share: a log written by
// the domain services, a projection that crashes mid-batch, and a rebuild
// watched by a reader.

// testNow is the time of every command in these tests. The domain takes
// "today" from it, never from the clock, so the dates below stay valid.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, domain.Tbilisi)

// asSystem is the meta of the commands that write a test's history: the
// platform's own actor, which may issue every one of them.
func asSystem() domain.Meta { return access.SystemMeta("test", testNow) }

// domainEnv is a runnerEnv whose log is written through the domain
// services, so that the read models are fed what the system really stores
// (envelopes, encodings, positions from the sequencer), not hand-made
// events that could agree with a projection's mistakes.
type domainEnv struct {
	*runnerEnv
	registry *registry.Service
	access   *access.Service
	reads    *projections.Reads
}

func newDomainEnv(t testing.TB) *domainEnv {
	t.Helper()
	e := newRunnerEnv(t)
	repo := &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}
	return &domainEnv{
		runnerEnv: e,
		registry:  &registry.Service{Repo: repo},
		access:    &access.Service{Repo: repo},
		reads:     &projections.Reads{DB: e.pool},
	}
}

// seedRegistry registers Georgia's 12 regions and 69 municipalities as
// `civic import` does, and returns the head of the log (81).
func (e *domainEnv) seedRegistry(t testing.TB) int64 {
	t.Helper()
	rep, err := seed.Registry(context.Background(), e.registry, asSystem())
	if err != nil {
		t.Fatalf("seed.Registry: %v", err)
	}
	if rep != (seed.Report{Regions: 12, Municipalities: 69}) {
		t.Fatalf("seed.Registry = %+v, want 12 regions and 69 municipalities", rep)
	}
	if head := e.settle(t); head != 81 {
		t.Fatalf("after seeding, the log ends at %d, want 81", head)
	}
	return 81
}

// settle waits until every committed event has its position and returns
// the head. The store positions events just after their commit, so a test
// reading the log any sooner would miss the last ones.
func (e *domainEnv) settle(t testing.TB) int64 {
	t.Helper()
	var head int64
	eventually(t, 10*time.Second, "every event positioned", func() error {
		st, err := e.store.Status(context.Background())
		if err != nil {
			return err
		}
		if st.Pending != 0 {
			return fmt.Errorf("%d events wait for a position", st.Pending)
		}
		head = st.Head
		return nil
	})
	return head
}

// log returns the whole log, as the runner feeds it to the projections.
func (e *domainEnv) log(t testing.TB) []eventstore.Event {
	t.Helper()
	events, err := e.store.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	// Opened, as the runner gives them to the projections.
	if _, err := catalog.Types.Unseal(context.Background(), e.keys, events); err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	return events
}

// startRunner runs ps until the test ends and waits until they have
// applied the log up to head, so the test's queries see all of it.
func (e *domainEnv) startRunner(t testing.TB, head int64, ps ...projections.Projection) *projections.Runner {
	t.Helper()
	r := projections.NewRunner(e.pool, e.store, ps, e.options("runner"))
	runUntilCleanup(t, r)
	waitForPosition(t, r, head)
	return r
}

// cleanTables is what p's tables hold after a clean build from events, in
// one transaction with no runner involved: the reference every other way
// of building them must agree with.
func cleanTables(t testing.TB, pool *pgxpool.Pool, p projections.Projection, events []eventstore.Event) map[string][]string {
	t.Helper()
	return projtest.Tables(t, pool, p, projtest.Build(t, pool, p, events))
}

// sameTables fails the test, listing the rows that differ, unless got and
// want hold the same rows in every table.
func sameTables(t testing.TB, what string, got, want map[string][]string) {
	t.Helper()
	tables := make([]string, 0, len(want))
	for table := range want {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		if g, w := got[table], want[table]; !slices.Equal(g, w) {
			t.Errorf("%s: table %s has %d rows, want %d:\n%s", what, table, len(g), len(w), rowDiff(g, w))
		}
	}
}

// rowDiff lists the rows only in got (+) and only in want (-).
func rowDiff(got, want []string) string {
	count := map[string]int{}
	for _, r := range want {
		count[r]--
	}
	for _, r := range got {
		count[r]++
	}
	var b strings.Builder
	for _, r := range slices.Sorted(maps.Keys(count)) {
		switch n := count[r]; {
		case n > 0:
			fmt.Fprintf(&b, "  + %s (%d more than wanted)\n", r, n)
		case n < 0:
			fmt.Fprintf(&b, "  - %s (%d missing)\n", r, -n)
		}
	}
	return b.String()
}

// checkOlderEventsChangeNothing applies events, then all of them again in
// reverse order, and fails unless the tables are as after the first pass.
// projtest.Idempotent replays in log order, which a projection that
// overwrites rows with whatever it handles last passes even without its
// "only if newer" guards; replaying backwards is what shows those guards
// work, as the projections' doc comments promise.
func checkOlderEventsChangeNothing(t testing.TB, pool *pgxpool.Pool, p projections.Projection, events []eventstore.Event) {
	t.Helper()
	replay := slices.Clone(events)
	slices.Reverse(replay)
	sameTables(t, p.Name()+": the log, then again backwards",
		cleanTables(t, pool, p, append(slices.Clone(events), replay...)), cleanTables(t, pool, p, events))
}

var errCrash = errors.New("crash between the table changes and the checkpoint")

// crashing wraps a real projection (same name, version, tables and Setup)
// so that, while on, its batches fail part way, as a crash between a
// batch's table changes and its checkpoint would. Events up to position
// after go through; a later one fails unless it is the first of its batch,
// so every failing batch has written to the tables before it fails, and
// the test proves those writes were rolled back, not merely never made.
type crashing struct {
	projections.Projection
	after int64
	on    atomic.Bool

	failures atomic.Int64 // batches built to fail
}

// Apply applies the batch's events up to the first one after c.after
// (unless it is the batch's first), then queues a statement that fails on
// the server, with errCrash's text.
func (c *crashing) Apply(b *projections.Batch, events []eventstore.Event) error {
	if !c.on.Load() {
		return c.Projection.Apply(b, events)
	}
	i := 1
	for i < len(events) && events[i].Position <= c.after {
		i++
	}
	if i == len(events) {
		return c.Projection.Apply(b, events)
	}
	c.failures.Add(1)
	if err := c.Projection.Apply(b, events[:i]); err != nil {
		return err
	}
	return b.Each(events[i:i+1], func(eventstore.Event) error {
		b.Queue(`SELECT $1::text::int`, errCrash.Error())
		return nil
	})
}

// generationSchema reads the schema and checkpoint of a projection's
// generation in a state from projections.generations, so a test can look
// at the generation's own tables, not only at what the rm views show.
func generationSchema(t testing.TB, pool *pgxpool.Pool, name, state string) (schema string, position int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT schema, position FROM projections.generations
		WHERE name = $1 AND state = $2`, name, state).Scan(&schema, &position)
	if err != nil {
		t.Fatalf("the %s generation of %s: %v", state, name, err)
	}
	return schema, position
}

// checkCrashRecovery runs p, crashing after the first after events of the
// log (which ends at head), under a Runner: the runner must hold the
// checkpoint before the crash, with the failing batch's writes gone, and
// once the crashes stop, the tables must be exactly those of a clean build:
// nothing lost and nothing applied twice. after must be the position of an
// event p reads, so that the failing batch has changed p's tables.
func checkCrashRecovery(t *testing.T, e *domainEnv, p projections.Projection, head, after int64) {
	t.Helper()
	events := e.log(t)
	if int64(len(events)) != head || after >= head {
		t.Fatalf("the log has %d events, want %d, with some after %d", len(events), head, after)
	}
	c := &crashing{Projection: p, after: after}
	c.on.Store(true)
	opts := e.options("crash")
	opts.BatchSize = 20
	r := projections.NewRunner(e.pool, e.store, []projections.Projection{c}, opts)
	runUntilCleanup(t, r)

	// The runner builds a batch ahead while one runs, so the failing
	// event is read off the error the runner shows, not off the builds.
	failingEvent := regexp.MustCompile(`^event (\d+) `)
	var stuck projections.Status
	var failedAt int64
	eventually(t, 10*time.Second, p.Name()+" failing, and retried", func() error {
		st, err := generationStatus(context.Background(), r, p.Name(), 1)
		if err != nil {
			return err
		}
		if !st.Failing || c.failures.Load() < 3 {
			return fmt.Errorf("%d failures, status %+v", c.failures.Load(), st)
		}
		m := failingEvent.FindStringSubmatch(st.LastError)
		if m == nil {
			t.Fatalf("the error shown does not name its event: %q", st.LastError)
		}
		failedAt, _ = strconv.ParseInt(m[1], 10, 64)
		stuck = st
		return nil
	})
	// The failing batch starts after the checkpoint and fails at its
	// first event after c.after, or at its second if it starts after it,
	// having applied the ones before.
	if stuck.State != projections.StateBuilding || !strings.Contains(stuck.LastError, errCrash.Error()) ||
		failedAt != max(stuck.Position+2, after+1) {
		t.Fatalf("Status = %+v, failing at event %d; want it building, failing, its checkpoint before the failing batch, "+
			"which applied something first", stuck, failedAt)
	}
	schema, pos := generationSchema(t, e.pool, p.Name(), projections.StateBuilding)
	if pos != stuck.Position {
		t.Fatalf("projections.generations has the checkpoint at %d, Status at %d", pos, stuck.Position)
	}
	committed := cleanTables(t, e.pool, p, events[:pos])
	if uncommitted := cleanTables(t, e.pool, p, events[:failedAt-1]); fmt.Sprint(uncommitted) == fmt.Sprint(committed) {
		t.Fatalf("events %d..%d leave %s's tables as they were: the crash would prove nothing", pos+1, failedAt-1, p.Name())
	}
	sameTables(t, fmt.Sprintf("%s at checkpoint %d, while crashing", schema, pos), projtest.Tables(t, e.pool, p, schema), committed)

	c.on.Store(false)
	waitForPosition(t, r, head)
	sameTables(t, "rm after the crashes stopped", projtest.Tables(t, e.pool, p, "rm"), cleanTables(t, e.pool, p, events))
	if st := mustGeneration(t, r, p.Name(), 1); st.Failing || st.State != projections.StateActive || st.Position != head {
		t.Fatalf("after the crashes stopped, Status = %+v; want generation 1 active at %d, not failing", st, head)
	}
}

// queryWatcher runs a read-model query over and over, as the API would,
// and records every error and every answer that differs from the first.
type queryWatcher struct {
	query    func(context.Context) (string, error)
	baseline string
	stop     chan struct{}
	done     chan struct{}
	queries  atomic.Int64

	mu       sync.Mutex
	errs     []error
	differed []string
}

// watchQueries starts a queryWatcher. The log must not change while it
// runs, so that every answer is the first one.
func watchQueries(t testing.TB, query func(context.Context) (string, error)) *queryWatcher {
	t.Helper()
	baseline, err := query(context.Background())
	if err != nil {
		t.Fatalf("query before the rebuild: %v", err)
	}
	w := &queryWatcher{query: query, baseline: baseline, stop: make(chan struct{}), done: make(chan struct{})}
	// Several readers at once, as an API has: a rebuild of a small history
	// is over in a few of one reader's queries when the machine is busy
	// (CI saw two), and the check wants several during it.
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				got, err := w.query(context.Background())
				w.mu.Lock()
				switch {
				case err != nil:
					w.errs = append(w.errs, err)
				case got != w.baseline:
					w.differed = append(w.differed, got)
				}
				w.mu.Unlock()
				w.queries.Add(1)
			}
		}()
	}
	go func() {
		readers.Wait()
		close(w.done)
	}()
	t.Cleanup(w.finish)
	return w
}

func (w *queryWatcher) finish() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// checkRebuild rebuilds p through r, which runs it over a log that ends at
// head and stays quiet meanwhile, while a reader runs query the whole time.
// No query may fail or answer differently, the old generation must be
// retired, and the new one must hold, at the same position, exactly the
// rows the old one held.
func checkRebuild(t *testing.T, e *domainEnv, r *projections.Runner, p projections.Projection, head int64, query func(context.Context) (string, error)) {
	t.Helper()
	ctx := context.Background()
	oldSchema, oldPos := generationSchema(t, e.pool, p.Name(), projections.StateActive)
	if oldPos != head {
		t.Fatalf("%s is active at %d, want %d", oldSchema, oldPos, head)
	}
	before := projtest.Tables(t, e.pool, p, oldSchema)
	w := watchQueries(t, query)
	for w.queries.Load() < 3 { // the reader is under way before the rebuild starts
		time.Sleep(time.Millisecond)
	}
	startedAt := w.queries.Load()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := r.Rebuild(rctx, p.Name()); err != nil {
		t.Fatalf("Rebuild(%s): %v", p.Name(), err)
	}
	during := w.queries.Load() - startedAt
	w.finish()
	if len(w.errs) > 0 {
		t.Errorf("%d of %d queries failed while %s was rebuilt, first: %v", len(w.errs), w.queries.Load(), p.Name(), w.errs[0])
	}
	if len(w.differed) > 0 {
		t.Errorf("%d of %d queries answered differently while %s was rebuilt, first:\n%s\nwant:\n%s",
			len(w.differed), w.queries.Load(), p.Name(), w.differed[0], w.baseline)
	}
	if during < 3 {
		t.Errorf("only %d queries ran during the rebuild: too few to show anything", during)
	}

	newSchema, newPos := generationSchema(t, e.pool, p.Name(), projections.StateActive)
	var oldState string
	if err := e.pool.QueryRow(ctx, `SELECT state FROM projections.generations WHERE schema = $1`, oldSchema).Scan(&oldState); err != nil {
		t.Fatal(err)
	}
	if newSchema == oldSchema || newPos != oldPos || oldState != projections.StateRetired {
		t.Fatalf("after the rebuild %s is active at %d and %s is %s; want a new generation at %d and the old one retired",
			newSchema, newPos, oldSchema, oldState, oldPos)
	}
	after := projtest.Tables(t, e.pool, p, newSchema)
	sameTables(t, fmt.Sprintf("%s (rebuilt) against %s, both at %d", newSchema, oldSchema, head), after, before)
	sameTables(t, "rm after the rebuild", projtest.Tables(t, e.pool, p, "rm"), after)
}

func TestPlacesIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Places{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Places{}, events)
}

func TestPlacesCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	head := e.seedRegistry(t)
	checkCrashRecovery(t, e, projections.Places{}, head, 30)
}

func TestPlacesRebuild(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	head := e.seedRegistry(t)
	r := e.startRunner(t, head, projections.Places{})
	checkRebuild(t, e, r, projections.Places{}, head, func(ctx context.Context) (string, error) {
		regions, err := e.reads.Regions(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, r := range regions {
			fmt.Fprintln(&b, showRegion(r))
		}
		ms, err := e.reads.MunicipalitiesByRegion(ctx, []string{"kvemo-kartli", "abkhazia"})
		for _, region := range slices.Sorted(maps.Keys(ms)) {
			for _, m := range ms[region] {
				fmt.Fprintln(&b, showMunicipality(m))
			}
		}
		return b.String(), err
	})
}

// Figures of the seed data (internal/seed/data), from the 2014 census.
const (
	censusTotal       = 3713804
	tbilisiPopulation = 1108717
	kvemoKartliTotal  = 423986 // its seven municipalities'
)

var kvemoKartliMunicipalities = []string{"bolnisi", "dmanisi", "gardabani", "marneuli", "rustavi", "tetritskaro", "tsalka"}

func TestPlacesQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	head := e.seedRegistry(t)
	e.startRunner(t, head, projections.Places{})
	ctx := context.Background()

	t.Run("Regions", func(t *testing.T) {
		regions, err := e.reads.Regions(ctx)
		if err != nil {
			t.Fatalf("Regions: %v", err)
		}
		codes := make([]string, len(regions))
		byCode := map[string]projections.Region{}
		sum := 0
		for i, r := range regions {
			codes[i] = r.Code
			byCode[r.Code] = r
			if r.Population2014 != nil {
				sum += *r.Population2014
			}
		}
		want := []string{"abkhazia", "adjara", "guria", "imereti", "kakheti", "kvemo-kartli", "mtskheta-mtianeti",
			"racha-lechkhumi-kvemo-svaneti", "samegrelo-zemo-svaneti", "samtskhe-javakheti", "shida-kartli", "tbilisi"}
		if !slices.Equal(codes, want) {
			t.Fatalf("Regions = %v, want %v, in code order", codes, want)
		}
		if sum != censusTotal {
			t.Errorf("region populations sum to %d, want %d", sum, censusTotal)
		}
		kk := projections.Region{Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"},
			Kind: registry.OrdinaryRegion, Capital: "Rustavi", Population2014: census(kvemoKartliTotal)}
		checkRegion(t, byCode["kvemo-kartli"], kk)
		if got := byCode["abkhazia"]; got.Population2014 != nil || got.Kind != registry.AutonomousRepublic {
			t.Errorf("Region(abkhazia) = %s; want an autonomous republic without population: its one municipality is occupied", showRegion(got))
		}
	})

	t.Run("RegionsByCode", func(t *testing.T) {
		got, err := e.reads.RegionsByCode(ctx, []string{"tbilisi", "guria", "rustavi", "atlantis"})
		if err != nil {
			t.Fatalf("RegionsByCode: %v", err)
		}
		if len(got) != 2 {
			t.Errorf("RegionsByCode(tbilisi, guria, rustavi, atlantis) has %d regions, want 2 (a municipality's code and an unknown one find nothing)", len(got))
		}
		checkRegion(t, got["tbilisi"], projections.Region{Code: "tbilisi", Name: domain.LocalizedText{Ka: "თბილისი", En: "Tbilisi"},
			Kind: registry.CapitalCity, Capital: "Tbilisi", Population2014: census(tbilisiPopulation)})
		checkRegion(t, got["guria"], projections.Region{Code: "guria", Name: domain.LocalizedText{Ka: "გურია", En: "Guria"},
			Kind: registry.OrdinaryRegion, Capital: "Ozurgeti", Population2014: census(113350)})
		if none, err := e.reads.RegionsByCode(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("RegionsByCode(nil) = %v, %v; want none", none, err)
		}
	})

	t.Run("Municipalities", func(t *testing.T) {
		tests := []struct {
			region string
			kind   registry.MunicipalityKind
			want   []string // nil: check the count only
			count  int
		}{
			{count: 69},
			{region: "kvemo-kartli", want: kvemoKartliMunicipalities},
			{kind: registry.OccupiedMunicipality, want: []string{"akhalgori", "azhara", "eredvi", "kurta", "tighvi"}},
			{kind: registry.SelfGoverningCity, want: []string{"batumi", "kutaisi", "poti", "rustavi", "tbilisi"}},
			{kind: registry.OrdinaryMunicipality, count: 69 - 5 - 5},
			{region: "kvemo-kartli", kind: registry.SelfGoverningCity, want: []string{"rustavi"}},
			{region: "shida-kartli", kind: registry.OccupiedMunicipality, want: []string{"eredvi", "kurta", "tighvi"}},
			{region: "atlantis", want: []string{}},
		}
		sum := 0
		for _, tt := range tests {
			ms, err := e.reads.Municipalities(ctx, tt.region, tt.kind)
			if err != nil {
				t.Fatalf("Municipalities(%q, %q): %v", tt.region, tt.kind, err)
			}
			codes := make([]string, len(ms))
			for i, m := range ms {
				codes[i] = m.Code
				if tt.region != "" && m.RegionCode != tt.region || tt.kind != "" && m.Kind != tt.kind {
					t.Errorf("Municipalities(%q, %q) has %s", tt.region, tt.kind, showMunicipality(m))
				}
				if tt.region == "" && tt.kind == "" && m.Population2014 != nil {
					sum += *m.Population2014
				}
			}
			switch {
			case tt.want != nil && !slices.Equal(codes, tt.want):
				t.Errorf("Municipalities(%q, %q) = %v, want %v", tt.region, tt.kind, codes, tt.want)
			case tt.want == nil && len(codes) != tt.count:
				t.Errorf("Municipalities(%q, %q) has %d municipalities, want %d", tt.region, tt.kind, len(codes), tt.count)
			case tt.want == nil && !slices.IsSorted(codes):
				t.Errorf("Municipalities(%q, %q) = %v, want them in code order", tt.region, tt.kind, codes)
			}
		}
		if sum != censusTotal {
			t.Errorf("municipality populations sum to %d, want %d", sum, censusTotal)
		}
	})

	t.Run("MunicipalitiesByCode", func(t *testing.T) {
		got, err := e.reads.MunicipalitiesByCode(ctx, []string{"tbilisi", "azhara", "guria", "atlantis"})
		if err != nil {
			t.Fatalf("MunicipalitiesByCode: %v", err)
		}
		want := map[string]projections.Municipality{
			"tbilisi": {Code: "tbilisi", Name: domain.LocalizedText{Ka: "თბილისი", En: "Tbilisi"}, Kind: registry.SelfGoverningCity,
				RegionCode: "tbilisi", Population2014: census(tbilisiPopulation)},
			"azhara": {Code: "azhara", Name: domain.LocalizedText{Ka: "აჟარა", En: "Azhara"}, Kind: registry.OccupiedMunicipality,
				RegionCode: "abkhazia"},
		}
		if len(got) != len(want) {
			t.Errorf("MunicipalitiesByCode(tbilisi, azhara, guria, atlantis) has %d, want %d (a region's code and an unknown one find nothing)", len(got), len(want))
		}
		for code, w := range want {
			if g := got[code]; showMunicipality(g) != showMunicipality(w) {
				t.Errorf("MunicipalitiesByCode[%q] = %s, want %s", code, showMunicipality(g), showMunicipality(w))
			}
		}
	})

	t.Run("MunicipalitiesByRegion", func(t *testing.T) {
		got, err := e.reads.MunicipalitiesByRegion(ctx, []string{"kvemo-kartli", "abkhazia", "atlantis"})
		if err != nil {
			t.Fatalf("MunicipalitiesByRegion: %v", err)
		}
		want := map[string][]string{"kvemo-kartli": kvemoKartliMunicipalities, "abkhazia": {"azhara"}}
		if len(got) != len(want) {
			t.Errorf("MunicipalitiesByRegion(kvemo-kartli, abkhazia, atlantis) has %d regions, want %d (atlantis absent)", len(got), len(want))
		}
		for region, codes := range want {
			var have []string
			sum := 0
			for _, m := range got[region] {
				have = append(have, m.Code)
				if m.RegionCode != region {
					t.Errorf("MunicipalitiesByRegion[%q] has %s of region %s", region, m.Code, m.RegionCode)
				}
				if m.Population2014 != nil {
					sum += *m.Population2014
				}
			}
			if !slices.Equal(have, codes) {
				t.Errorf("MunicipalitiesByRegion[%q] = %v, want %v", region, have, codes)
			}
			if region == "kvemo-kartli" && sum != kvemoKartliTotal {
				t.Errorf("Kvemo Kartli's municipalities have %d people, want %d", sum, kvemoKartliTotal)
			}
		}
	})
}

// census is a census figure as the read model holds it: absent when nil.
func census(n int) *int { return &n }

// checkRegion compares regions by their printed form, so that populations
// compare by value rather than by pointer.
func checkRegion(t testing.TB, got, want projections.Region) {
	t.Helper()
	if showRegion(got) != showRegion(want) {
		t.Errorf("Region(%q) = %s, want %s", want.Code, showRegion(got), showRegion(want))
	}
}

// showRegion prints a region with its population's value, not the pointer.
func showRegion(r projections.Region) string {
	return fmt.Sprintf("{%s %q/%q %s capital %q population %s}", r.Code, r.Name.Ka, r.Name.En, r.Kind, r.Capital, showInt(r.Population2014))
}

// showMunicipality prints a municipality as showRegion prints a region.
func showMunicipality(m projections.Municipality) string {
	return fmt.Sprintf("{%s %q/%q %s in %s population %s}", m.Code, m.Name.Ka, m.Name.En, m.Kind, m.RegionCode, showInt(m.Population2014))
}

// showInt prints a census figure, "none" for an occupied municipality's.
func showInt(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}
