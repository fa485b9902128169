package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/pgembed"
	"github.com/jackc/pgx/v5/pgxpool"
)

// database is an open connection pool and, without DATABASE_URL, the
// private cluster under it.
type database struct {
	pool    *pgxpool.Pool
	cluster *pgembed.Cluster
}

// openDatabase connects to DATABASE_URL, or starts (or attaches to) the
// private cluster in the data directory and its "civic" database. The
// schema is migrated either way: every command expects it current.
func openDatabase(ctx context.Context, c config, log *slog.Logger) (*database, error) {
	db := &database{}
	url := c.databaseURL
	if url == "" {
		cluster, err := pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(c.dataDir, "postgres"), Logger: log})
		if err != nil {
			return nil, err
		}
		db.cluster = cluster
		if err := cluster.CreateDatabase(ctx, "civic"); err != nil {
			db.close()
			return nil, err
		}
		url = cluster.URL("civic")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	// A transaction left open holds back the sequencer, and with it every
	// reader: end such sessions rather than let them stall the server.
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "30s"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "civic"
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		db.close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.pool.Ping(pingCtx); err != nil {
		db.close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := postgres.Migrate(ctx, db.pool); err != nil {
		db.close()
		return nil, err
	}
	return db, nil
}

// close closes the pool and stops a cluster this process started.
func (db *database) close() {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.cluster.Stop(ctx); err != nil {
			slog.Default().Error("stop PostgreSQL", "err", err)
		}
	}
}
