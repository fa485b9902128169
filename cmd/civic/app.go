package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/projections"
)

// app is everything a command works with, wired once.
type app struct {
	cfg config
	// api is the GraphQL API, for its caches' counts on /metrics; nil
	// until it is built.
	api      *graph.Server
	log      *slog.Logger
	db       *database
	store    logStore
	repo     *domain.Repository
	registry *registry.Service
	access   *access.Service
	// certification runs the certification workflow; at start, the demo
	// cycle's commands.
	certification *certification.Service
	// networks manages networks and their memberships.
	networks *network.Service
	// projects keeps donor projects.
	projects *project.Service
	// activities records what the programmes do on the ground.
	activities *activity.Service
	// budgeting runs participatory budgets.
	budgeting *budgeting.Service
	// benchmark runs the civic-engagement benchmark; its computed
	// indicators read the read models (reads).
	benchmark *benchmark.Service
	// keys seals personal data in the log; privacy erases it.
	keys    *keyring.Keyring
	privacy *privacy.Service
	runner  *projections.Runner
	reads   *projections.Reads
	// ready is /readyz's memory between probes.
	ready readiness
}

// readModels are the projections, in the order they are listed.
func readModels() []projections.Projection {
	return projections.All()
}

// openApp opens the database and builds the services. key signs log
// checkpoints; nil for commands that run no sequencer.
func openApp(ctx context.Context, c config, log *slog.Logger, key ed25519.PrivateKey) (*app, error) {
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return nil, err
	}
	store, err := openLog(ctx, c, db.pool, key, nil, log)
	if err != nil {
		db.close()
		return nil, err
	}
	return newApp(c, log, db, store), nil
}

// newApp builds the services over an open database and event store.
func newApp(c config, log *slog.Logger, db *database, store logStore) *app {
	keys := keyring.New(db.pool)
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: keys}
	reads := &projections.Reads{DB: db.reads}
	return &app{
		cfg: c, log: log, db: db, store: store, repo: repo,
		registry:      &registry.Service{Repo: repo},
		access:        &access.Service{Repo: repo},
		certification: &certification.Service{Repo: repo},
		networks:      &network.Service{Repo: repo},
		projects:      &project.Service{Repo: repo},
		activities:    &activity.Service{Repo: repo},
		budgeting:     &budgeting.Service{Repo: repo},
		benchmark:     &benchmark.Service{Repo: repo, Ledger: reads},
		keys:          keys,
		privacy:       &privacy.Service{Repo: repo},
		runner:        projections.NewRunner(db.pool, store, readModels(), projections.Options{Logger: log, Keys: keys}),
		reads:         reads,
	}
}

// scanPlain records the data subjects whose personal data the log holds
// in plain text, from before it sealed personal data, so that they can be
// erased (see keyring.ScanPlain); after the first scan of a log it reads
// only the events appended since.
func (a *app) scanPlain(ctx context.Context) error {
	scan, err := a.keys.ScanPlain(ctx, a.store, catalog.Types)
	if err != nil {
		return err
	}
	if scan.Events > 0 {
		a.log.Warn("the log holds personal data in plain text, written before it was sealed: erasing its subjects withholds it from every read path, but its bytes stay in the log",
			"events", scan.Events, "subjects", scan.Subjects, "from", scan.From, "to", scan.To)
	}
	return nil
}

func (a *app) close() {
	a.store.Close()
	a.db.close()
}

// importRegistry registers the regions and municipalities not registered
// yet: on a new database, all of them; afterwards, nothing.
func (a *app) importRegistry(ctx context.Context) (seed.Report, error) {
	rep, err := seed.Registry(ctx, a.registry, access.SystemMeta("import", time.Now().UTC()))
	if err != nil {
		return rep, err
	}
	if rep.Regions+rep.Municipalities > 0 {
		a.log.Info("registry imported", "regions", rep.Regions, "municipalities", rep.Municipalities)
	}
	return rep, nil
}

// onlySeeded reports whether the ledger holds nothing but what civic
// loads itself: the registry and the demo (whose events carry a seed:
// correlation). The embedded database gets the demo by default only
// then: on a new ledger, or one whose first load was cut short; never
// into a ledger with data of its own, such as one restored from a backup.
func (a *app) onlySeeded(ctx context.Context) (bool, error) {
	var only bool
	err := a.db.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM eventstore.events
		WHERE correlation_id NOT LIKE $1 AND actor <> $2)`, seed.CorrelationPrefix+"%", "system:import").Scan(&only)
	return only, err
}

// demoHistory is the illustrative activity history the demo loads on top
// of the civil-society demo: enough for every municipality to have dozens
// of activities over the years, few enough to load in seconds. Each
// append is a commit of its own, and at start the projections catch up
// beside it: on the embedded database of a two-core machine, 8 appends in
// flight loaded it in 8-13 s where 4 took 11-19 s (alone, as by `civic
// import demo`, 4.3 s either way). Its organisers come from the demo's
// hubs.
var demoHistory = seed.HistoryOptions{From: 2019, To: 2025, Activities: 6000, Seed: 2019, Concurrency: 8}

// importDemo loads the demo data, each part unless it exists: on a new
// database, all of it; afterwards, nothing. The parts are the
// certification cycle of 2019 (the eight municipalities certified that
// year, with illustrative scores), civil-society activity (the CSSIGE
// consortium and hubs, two donor projects and their activities) and an
// illustrative history of activities in every municipality, and the
// participatory budgets of the certified municipalities (with budgets:
// a server loads them apart, see importBudgets). It needs the registry
// imported first. It returns what each part loaded, also when one fails.
func (a *app) importDemo(ctx context.Context, budgets bool) (demoReport, error) {
	var out demoReport
	rep, err := seed.Certification2019(ctx, a.certification)
	out.certification = rep
	if err != nil {
		return out, err
	}
	if rep.Events > 0 {
		a.log.Info("demo certification cycle imported", "year", 2019,
			"applications", rep.Applications, "certified", rep.Certified, "events", rep.Events)
	} else {
		a.log.Debug("demo certification cycle not imported: the 2019 cycle exists")
	}

	start := time.Now()
	civil, err := seed.CivilSociety(ctx, seed.CivilServices{
		Registry: a.registry, Networks: a.networks, Projects: a.projects, Activities: a.activities,
	}, start)
	out.civil = civil
	if err != nil {
		return out, fmt.Errorf("civil-society demo: %w", err)
	}
	if civil.Events > 0 {
		a.log.Info("demo civil-society activity imported", "organisations", civil.Organisations, "networks", civil.Networks,
			"projects", civil.Projects, "activities", civil.Activities, "events", civil.Events, "took", time.Since(start).Round(time.Millisecond))
	}

	start = time.Now()
	opts := demoHistory
	if opts.Organisers, err = seed.CivilOrganisers(ctx, a.repo); err != nil {
		return out, fmt.Errorf("activity history: %w", err)
	}
	history, err := seed.History(ctx, a.repo, opts)
	out.history = history
	if err != nil {
		return out, fmt.Errorf("activity history: %w", err)
	}
	if history.Events > 0 {
		a.log.Info("demo activity history imported", "activities", history.Activities, "held", history.Held,
			"groups", history.Groups, "attendees", history.Attendees, "events", history.Events, "took", time.Since(start).Round(time.Millisecond))
	}

	if budgets {
		if out.budgets, err = a.importBudgets(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

// importBudgets loads the demo's participatory budgets, the cycles not
// there yet. A server loads them after it starts listening (they take
// seconds, and the rest of the demo is usable meanwhile); `civic import
// demo` as part of importDemo.
func (a *app) importBudgets(ctx context.Context) (seed.BudgetReport, error) {
	start := time.Now()
	budgets, err := seed.Budgets(ctx, a.budgeting)
	if err != nil {
		return budgets, fmt.Errorf("participatory budgets: %w", err)
	}
	if budgets.Cycles > 0 {
		a.log.Info("demo participatory budgets imported", "cycles", budgets.Cycles, "ideas", budgets.Ideas,
			"online_ballots", budgets.Ballots, "paper_ballots", budgets.PaperBallots, "took", time.Since(start).Round(time.Millisecond))
	}
	return budgets, nil
}

// importBenchmark loads the demo's civic-engagement benchmark unless it
// is there: its method, rounds 2021, 2023 and 2025 over every
// municipality, and the action plans. Its computed indicators read the
// read models, so it first waits, within a bound, until they have
// applied the log as it stands (the budgets and the activity history
// included); the runner must be running.
func (a *app) importBenchmark(ctx context.Context) (seed.BenchmarkReport, error) {
	start := time.Now()
	head, err := a.store.Head(ctx)
	if err != nil {
		return seed.BenchmarkReport{}, fmt.Errorf("benchmark: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	err = a.runner.WaitFor(wctx, head, "places", "organisations", "networks", "certification", "activities", "budgeting")
	cancel()
	if err != nil {
		return seed.BenchmarkReport{}, fmt.Errorf("benchmark: the read models its figures come from: %w", err)
	}
	rep, err := seed.Benchmark(ctx, a.benchmark)
	if err != nil {
		return rep, fmt.Errorf("benchmark: %w", err)
	}
	if rep.Rounds > 0 {
		a.log.Info("demo benchmark imported", "rounds", rep.Rounds, "scores", rep.Scores, "contests", rep.Contests, "plans", rep.Plans,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return rep, nil
}

// demoReport is what importDemo loaded, part by part; a zero part was
// there already.
type demoReport struct {
	certification seed.CertificationReport
	civil         seed.CivilReport
	history       seed.HistoryReport
	budgets       seed.BudgetReport
	benchmark     seed.BenchmarkReport
}

// keyLookup finds the actor of an API key in the keys read model, and a
// key the read model does not hold (yet) in the key's own stream: a key
// works as soon as `civic keys create` returns, whether or not a server
// has applied it. Only a key the read model refuses costs the second
// lookup, and the server caches refusals briefly.
type keyLookup struct {
	reads  *projections.Reads
	access *access.Service
}

// Actor implements graph.KeyLookup.
func (l keyLookup) Actor(ctx context.Context, key string) (domain.Actor, error) {
	a, err := l.reads.Actor(ctx, key)
	if domain.KindOf(err) != domain.Unauthenticated {
		return a, err
	}
	return l.access.Actor(ctx, key)
}
