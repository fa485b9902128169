package main

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/projections"
)

// app is everything a command works with, wired once.
type app struct {
	cfg      config
	log      *slog.Logger
	db       *database
	store    *postgres.Store
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
	runner   *projections.Runner
	reads    *projections.Reads
}

// readModels are the projections, in the order they are listed.
func readModels() []projections.Projection {
	return []projections.Projection{projections.Places{}, projections.Organisations{}, projections.Keys{}, projections.Certification{}, projections.Networks{}, projections.Projects{}}
}

// openApp opens the database and builds the services. key signs log
// checkpoints; nil for commands that run no sequencer.
func openApp(ctx context.Context, c config, log *slog.Logger, key ed25519.PrivateKey) (*app, error) {
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return nil, err
	}
	store := postgres.New(db.pool, postgres.Options{SigningKey: key, Logger: log})
	repo := &domain.Repository{Store: store, Types: catalog.Types}
	return &app{
		cfg: c, log: log, db: db, store: store, repo: repo,
		registry:      &registry.Service{Repo: repo},
		access:        &access.Service{Repo: repo},
		certification: &certification.Service{Repo: repo},
		networks:      &network.Service{Repo: repo},
		projects:      &project.Service{Repo: repo},
		runner:        projections.NewRunner(db.pool, store, readModels(), projections.Options{Logger: log}),
		reads:         &projections.Reads{DB: db.reads},
	}, nil
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

// importDemo loads the demo certification cycle of 2019 (the eight
// municipalities certified that year, with illustrative scores) unless the
// 2019 cycle exists: on a new database, all of it; afterwards, nothing. It
// needs the registry imported first.
func (a *app) importDemo(ctx context.Context) (seed.CertificationReport, error) {
	rep, err := seed.Certification2019(ctx, a.certification)
	if err != nil {
		return rep, err
	}
	if rep.Events > 0 {
		a.log.Info("demo certification cycle imported", "year", 2019,
			"applications", rep.Applications, "certified", rep.Certified, "events", rep.Events)
	} else {
		a.log.Debug("demo certification cycle not imported: the 2019 cycle exists")
	}
	return rep, nil
}
