package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The benchmarks measure the projections against the same work done with
// bare SQL in the same run, on the same cluster, and report both rates and
// their ratio: the machines are noisy, ratios much less so. testdb runs them
// on a cluster with durable (production) settings. See docs/PERFORMANCE.md.

// BenchmarkCatchUp measures a projection catching up with a log of b.N
// organisation events (plus the 81 registrations of Georgia's regions and
// municipalities), from an empty projections state, against a raw COPY of
// the rows that catch-up ends with into the same table.
//
//   - Ours: a fresh Runner with only projections.Organisations, timed from
//     Run's start until WaitFor sees the active generation at the log's
//     head: creating the generation, reading the whole log, applying it in
//     batches, and switching the rm views to it.
//   - Baseline: the final state of every organisation, computed in Go while
//     the events were generated, COPY'd (pgx CopyFrom, one statement and
//     transaction) into an organisations table made by the same
//     Organisations{}.Setup in a scratch schema. It runs before and after
//     ours, into a fresh table each time, and its time is the mean of the
//     two, so that drift in the machine hits both sides alike.
//
// Both sides end with the same table (checked after the run: row count and
// a checksum over every column), so
//
//	ratio = time(COPY of the final rows) / time(our catch-up)
//
// which is also our rate in final rows per second over COPY's. It is the
// share of a bulk load's speed that replaying the history reaches. The
// catch-up rate in log events a second is reported as events/s, and COPY's
// in rows a second as copy-rows/s.
//
// The log is generated cheaply but in the shapes the domain writes: the
// registry events JSON-encoded from the domain/registry structs, one append
// per organisation holding its history (registered, then contact changes,
// renames, moves, a closing for some and a reopening for some of those, in
// the domain's order: nothing changes a closed organisation), 2.8 events
// per organisation on average, appended by 16 writers. An append covers one
// stream, so "large batches" means many concurrent appends here. The
// appends run with synchronous_commit off (outside the measurement; it
// only makes the setup quicker). b.N is the number of organisation events
// (use -benchtime 1000000x); below 10,000 it generates 10,000.
func BenchmarkCatchUp(b *testing.B) {
	ctx := context.Background()
	n := max(b.N, 10_000)
	quiet := slog.New(slog.DiscardHandler)
	url := testdb.URL(b)
	pool := benchPool(b, url, 0, nil)
	if err := postgres.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	if err := projections.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	if err := keyring.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	keys := keyring.New(pool)
	store := postgres.New(pool, postgres.Options{Logger: quiet})
	seqCtx, stopSeq := context.WithCancel(ctx)
	seqDone := make(chan struct{})
	go func() {
		defer close(seqDone)
		if err := store.RunSequencer(seqCtx); err != nil {
			b.Errorf("RunSequencer: %v", err)
		}
	}()
	b.Cleanup(func() { stopSeq(); <-seqDone; store.Close() })

	// Regions and municipalities, through the domain as `civic serve` seeds
	// them.
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: keys}
	if _, err := seed.Registry(ctx, &registry.Service{Repo: repo}, access.SystemMeta("bench", time.Now())); err != nil {
		b.Fatal(err)
	}
	places := benchPlaces(b, store)

	// The organisations, by writers of their own on a pool that does not
	// wait for each commit's WAL flush.
	writerPool := benchPool(b, url, 16, map[string]string{"synchronous_commit": "off"})
	writer := postgres.New(writerPool, postgres.Options{Logger: quiet})
	defer writer.Close()
	plans := planOrganisations(n)
	orgs := make([]*benchOrg, len(plans))
	lastIDs := make([]eventstore.ID, 16)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := range lastIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(plans) || failed.Load() != nil {
					return
				}
				o, events := materialize(i, plans[i], places)
				res, err := writer.Append(ctx, registry.OrganisationStream(o.id), eventstore.NoStream(), events...)
				if err != nil {
					failed.Store(&err)
					return
				}
				orgs[i] = o
				lastIDs[w] = res.LastID
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("append: %v", *err)
	}
	for _, id := range lastIDs {
		if id.IsZero() {
			continue
		}
		if _, err := store.AwaitPosition(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	head, err := store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if want := int64(n + 81); head != want {
		b.Fatalf("log head %d after the appends, want %d (81 places and %d organisation events)", head, want, n)
	}
	// What the store assigned (positions and commit times) completes the
	// final rows.
	benchStamp(b, store, orgs, head)
	// Settle what the setup left behind (autovacuum of the new rows, dirty
	// pages) so that it is not charged to whichever side runs first.
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) eventstore.events, eventstore.log`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		b.Logf("CHECKPOINT (needs pg_checkpoint): %v", err)
	}

	b.ResetTimer()
	copy1 := benchCopy(b, pool, "bench_copy_1", orgs)

	runner := projections.NewRunner(pool, store, []projections.Projection{projections.Organisations{}}, projections.Options{Logger: quiet, Keys: keys})
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(runDone)
		if err := runner.Run(runCtx); err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Hour)
	err = runner.WaitFor(waitCtx, head, "organisations")
	cancel()
	ours := time.Since(start)
	if err != nil {
		stopRun()
		<-runDone
		b.Fatalf("WaitFor(%d): %v", head, err)
	}

	copy2 := benchCopy(b, pool, "bench_copy_2", orgs)
	b.StopTimer()
	stopRun()
	<-runDone

	// The catch-up must have built exactly what was COPY'd, and be active
	// at the head.
	sts, err := runner.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(sts) != 1 || sts[0].State != projections.StateActive || sts[0].Position != head || sts[0].LagEvents != 0 || sts[0].Failing {
		b.Fatalf("Status = %+v; want organisations active at the head %d", sts, head)
	}
	got := benchChecksum(b, pool, "rm.organisations")
	want := benchChecksum(b, pool, "bench_copy_1.organisations")
	if got != want || want.rows != int64(len(orgs)) || want.rows == 0 {
		b.Fatalf("rm.organisations: %d rows, checksum %s; the COPY of the final rows: %d rows, checksum %s; want %d equal rows\n%s",
			got.rows, got.sum, want.rows, want.sum, len(orgs), benchDiff(b, pool, "rm.organisations", "bench_copy_1.organisations"))
	}

	copyTime := (copy1 + copy2) / 2
	b.Logf("%d events, %d organisations: catch-up %v, COPY %v and %v", head, len(orgs), ours.Round(time.Millisecond),
		copy1.Round(time.Millisecond), copy2.Round(time.Millisecond))
	rows := float64(len(orgs))
	b.ReportMetric(float64(head)/ours.Seconds(), "events/s")
	b.ReportMetric(rows/copyTime.Seconds(), "copy-rows/s")
	b.ReportMetric(copyTime.Seconds()/ours.Seconds(), "ratio")
	b.ReportMetric(rows, "rows")
}

// benchPool opens a pool on url, with maxConns connections at most (0: the
// default) and the given session settings.
func benchPool(b *testing.B, url string, maxConns int32, params map[string]string) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// benchPlace is a municipality with its region, or a region alone
// (municipality ""), or neither (a national body).
type benchPlace struct{ region, municipality string }

// benchPlaces reads the municipalities back from the log, as registered.
func benchPlaces(b *testing.B, s eventstore.Store) []benchPlace {
	b.Helper()
	ctx := context.Background()
	// The last registrations may still await their positions.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		head, err := s.Head(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if head >= 81 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the 81 places were not positioned within a minute (head %d)", head)
		}
	}
	events, err := s.ReadAll(ctx, 0, 1000)
	if err != nil {
		b.Fatal(err)
	}
	var out []benchPlace
	for _, e := range events {
		if e.Type != "registry.municipality_registered" {
			continue
		}
		var m registry.MunicipalityRegistered
		if err := json.Unmarshal(e.Data, &m); err != nil {
			b.Fatal(err)
		}
		out = append(out, benchPlace{region: m.Region, municipality: m.Code})
	}
	if len(out) != 69 {
		b.Fatalf("%d municipalities registered, want 69", len(out))
	}
	return out
}

// benchKind is what an organisation event does.
type benchKind uint8

const (
	kindRegistered benchKind = iota
	kindContactChanged
	kindRenamed
	kindMoved
	kindClosed
	kindReopened
)

// planOrganisations lays out the histories of as many organisations as
// make n events: each a registration, then 0-2 contact changes, a rename
// for 40% and a move for 20% in random order, then a closing for 15%,
// reopened in 40% of those, half of which change contact afterwards. The
// last history is cut short to make n exactly.
func planOrganisations(n int) [][]benchKind {
	r := rand.New(rand.NewPCG(1, 2))
	var plans [][]benchKind
	for total := 0; total < n; {
		p := []benchKind{kindRegistered}
		for range r.IntN(3) {
			p = append(p, kindContactChanged)
		}
		if r.IntN(100) < 40 {
			p = append(p, kindRenamed)
		}
		if r.IntN(100) < 20 {
			p = append(p, kindMoved)
		}
		r.Shuffle(len(p)-1, func(i, j int) { p[i+1], p[j+1] = p[j+1], p[i+1] })
		if r.IntN(100) < 15 {
			p = append(p, kindClosed)
			if r.IntN(100) < 40 {
				p = append(p, kindReopened)
				if r.IntN(2) == 0 {
					p = append(p, kindContactChanged)
				}
			}
		}
		p = p[:min(len(p), n-total)]
		plans = append(plans, p)
		total += len(p)
	}
	return plans
}

// benchOrg is an organisation's row as the read model should hold it after
// its history: every column of the organisations table but the generated
// search.
type benchOrg struct {
	id, kind, nameKa, nameEn, legalForm, region, municipality string
	email, phone, address, person, website, founded           string
	status, closedOn, closedReason                            string
	version                                                   int64
	registeredAt, updatedAt                                   time.Time
	position                                                  int64
}

var (
	benchLegalForms = []string{"non-commercial legal entity", "limited liability company", "legal entity of public law", "joint-stock company", ""}
	benchPeople     = []string{"ნინო ბერიძე", "გიორგი მაისურაძე", "თამარ კაპანაძე", "დავით გელაშვილი", "მარიამ ლომიძე", ""}
	benchReasons    = []string{"merged into another organisation", "the founders dissolved it", "funding ended", "registered by mistake"}
)

// materialize builds organisation i's events after plan, with values drawn
// from a generator seeded by i, and its final row (without what the store
// assigns: positions and commit times).
func materialize(i int, plan []benchKind, places []benchPlace) (*benchOrg, []eventstore.EventData) {
	r := rand.New(rand.NewPCG(uint64(i), 3))
	id := eventstore.NewID().String()
	meta := eventstore.Metadata{Actor: "system:bench", Role: string(domain.System), CorrelationID: fmt.Sprintf("bench-%d", i)}
	place := func() benchPlace {
		switch x := r.IntN(100); {
		case x < 5:
			return benchPlace{} // a national body
		case x < 10:
			return benchPlace{region: places[r.IntN(len(places))].region}
		default:
			return places[r.IntN(len(places))]
		}
	}
	contact := func(k int) registry.Contact {
		return registry.Contact{
			Email:   fmt.Sprintf("info%d.%d@org%d.example.ge", k, r.IntN(1000), i),
			Phone:   fmt.Sprintf("+995 %d %03d %02d %02d", 32+r.IntN(400), r.IntN(1000), r.IntN(100), r.IntN(100)),
			Address: fmt.Sprintf("%d რუსთაველის გამზირი, %d", 1+r.IntN(200), k),
			Person:  benchPeople[r.IntN(len(benchPeople))],
		}
	}
	date := func(from int) string {
		return fmt.Sprintf("%04d-%02d-%02d", from+r.IntN(3), 1+r.IntN(12), 1+r.IntN(28))
	}
	kind := registry.OrganisationKinds[r.IntN(len(registry.OrganisationKinds))]
	foundedYear := 1995 + r.IntN(20)
	at := place()
	reg := registry.OrganisationRegistered{
		ID:   id,
		Kind: kind,
		Name: domain.LocalizedText{
			Ka: fmt.Sprintf("სამოქალაქო ინტეგრაციის ფონდი %d", i),
			En: fmt.Sprintf("Civic Integration Foundation %d", i),
		},
		LegalForm:    benchLegalForms[r.IntN(len(benchLegalForms))],
		Region:       at.region,
		Municipality: at.municipality,
		Contact:      contact(0),
		Website:      fmt.Sprintf("https://org%d.example.ge", i),
		Founded:      date(foundedYear),
	}
	o := &benchOrg{
		id: id, kind: string(kind), nameKa: reg.Name.Ka, nameEn: reg.Name.En, legalForm: reg.LegalForm,
		region: at.region, municipality: at.municipality, website: reg.Website, founded: reg.Founded, status: "active",
	}
	setContact := func(c registry.Contact) {
		o.email, o.phone, o.address, o.person = c.Email, c.Phone, c.Address, c.Person
	}
	setContact(reg.Contact)
	events := make([]eventstore.EventData, 0, len(plan))
	add := func(e domain.Event) {
		data, err := json.Marshal(e)
		if err != nil {
			panic(err) // plain structs of strings: cannot happen
		}
		events = append(events, eventstore.EventData{ID: eventstore.NewID(), Type: e.EventType(), SchemaVersion: 1, Data: data, Metadata: meta})
	}
	closedYear := 0
	for k, step := range plan {
		switch step {
		case kindRegistered:
			add(reg)
		case kindContactChanged:
			c := contact(k)
			add(registry.OrganisationContactChanged{ID: id, Contact: c})
			setContact(c)
		case kindRenamed:
			name := domain.LocalizedText{Ka: fmt.Sprintf("%s (%d)", reg.Name.Ka, k), En: fmt.Sprintf("%s (%d)", reg.Name.En, k)}
			add(registry.OrganisationRenamed{ID: id, Name: name})
			o.nameKa, o.nameEn = name.Ka, name.En
		case kindMoved:
			to := place()
			for to == (benchPlace{region: o.region, municipality: o.municipality}) {
				to = place()
			}
			add(registry.OrganisationMoved{ID: id, Region: to.region, Municipality: to.municipality})
			o.region, o.municipality = to.region, to.municipality
		case kindClosed:
			closedYear = foundedYear + 3 + r.IntN(5)
			e := registry.OrganisationClosed{ID: id, Reason: benchReasons[r.IntN(len(benchReasons))], On: date(closedYear)}
			add(e)
			o.status, o.closedOn, o.closedReason = "closed", e.On, e.Reason
		case kindReopened:
			add(registry.OrganisationReopened{ID: id, On: date(closedYear + 3)})
			o.status, o.closedOn, o.closedReason = "active", "", ""
		}
	}
	o.version = int64(len(events))
	return o, events
}

// benchStamp completes the final rows with what the store assigned,
// reading the whole log: the registration's commit time, and the last
// event's commit time and position.
func benchStamp(b *testing.B, s eventstore.Store, orgs []*benchOrg, head int64) {
	b.Helper()
	byStream := make(map[string]*benchOrg, len(orgs))
	for _, o := range orgs {
		byStream[registry.OrganisationStream(o.id)] = o
	}
	var after int64
	for after < head {
		page, err := s.ReadAll(context.Background(), after, eventstore.MaxReadLimit)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			b.Fatalf("the log ends at %d, before its head %d", after, head)
		}
		for _, e := range page {
			o := byStream[e.Stream]
			if o == nil {
				if !strings.HasPrefix(e.Stream, "region-") && !strings.HasPrefix(e.Stream, "municipality-") {
					b.Fatalf("event %d in unknown stream %s", e.Position, e.Stream)
				}
				continue
			}
			if e.Version == 1 {
				o.registeredAt = e.RecordedAt
			}
			o.updatedAt, o.position = e.RecordedAt, e.Position
		}
		after = page[len(page)-1].Position
	}
	for _, o := range orgs {
		if o.position == 0 || o.registeredAt.IsZero() {
			b.Fatalf("organisation %s has no events in the log", o.id)
		}
	}
}

// benchOrgColumns are the organisations table's columns but the generated
// search, in benchOrg's order.
var benchOrgColumns = []string{"id", "kind", "name_ka", "name_en", "legal_form", "region", "municipality",
	"email", "phone", "address", "person", "website", "founded", "status", "closed_on", "closed_reason",
	"version", "registered_at", "updated_at", "position"}

// benchCopy creates schema with the organisations table of
// Organisations{}.Setup (not timed), then COPYs the rows into it in one
// statement, and returns the time the COPY took.
func benchCopy(b *testing.B, pool *pgxpool.Pool, schema string, orgs []*benchOrg) time.Duration {
	b.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, schema+", public"); err != nil {
			return err
		}
		return projections.Organisations{}.Setup(ctx, tx)
	})
	if err != nil {
		b.Fatalf("set up %s: %v", schema, err)
	}
	start := time.Now()
	copied, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "organisations"}, benchOrgColumns,
		pgx.CopyFromSlice(len(orgs), func(i int) ([]any, error) {
			o := orgs[i]
			return []any{o.id, o.kind, o.nameKa, o.nameEn, o.legalForm, o.region, o.municipality,
				o.email, o.phone, o.address, o.person, o.website, o.founded, o.status, o.closedOn, o.closedReason,
				o.version, o.registeredAt, o.updatedAt, o.position}, nil
		}))
	elapsed := time.Since(start)
	if err != nil || copied != int64(len(orgs)) {
		b.Fatalf("COPY into %s: %d rows, %v; want %d", schema, copied, err, len(orgs))
	}
	return elapsed
}

type benchSum struct {
	rows int64
	sum  string
}

// benchChecksum counts a relation's organisations and sums a 64-bit hash of
// each whole row (every column, search included).
func benchChecksum(b *testing.B, pool *pgxpool.Pool, relation string) benchSum {
	b.Helper()
	var s benchSum
	err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(hashtextextended(o::text, 0)::numeric), 0)::text
		FROM (SELECT `+strings.Join(benchOrgColumns, ", ")+`, search FROM `+relation+`) o`).Scan(&s.rows, &s.sum)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchDiff shows a few rows that differ between two relations.
func benchDiff(b *testing.B, pool *pgxpool.Pool, got, want string) string {
	b.Helper()
	cols := strings.Join(benchOrgColumns, ", ") + ", search"
	rows, err := pool.Query(context.Background(), `
		(SELECT 'only in `+got+`', o::text FROM (SELECT `+cols+` FROM `+got+` EXCEPT SELECT `+cols+` FROM `+want+`) o LIMIT 3)
		UNION ALL
		(SELECT 'only in `+want+`', o::text FROM (SELECT `+cols+` FROM `+want+` EXCEPT SELECT `+cols+` FROM `+got+`) o LIMIT 3)`)
	if err != nil {
		return err.Error()
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var where, row string
		err := r.Scan(&where, &row)
		return where + ": " + row, err
	})
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}
