package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/notify"
	"github.com/civicledger/civicledger/internal/pgembed"
	"github.com/civicledger/civicledger/projections"
	"github.com/jackc/pgx/v5/pgxpool"
)

// database is the connection pools and, without DATABASE_URL, the private
// cluster under them.
type database struct {
	// pool serves the event store, the sequencer and the projections.
	pool *pgxpool.Pool
	// reads serves GraphQL queries: read-only sessions with a statement
	// timeout, so no query a caller can compose runs away or writes.
	reads   *pgxpool.Pool
	cluster *pgembed.Cluster
}

// openDatabase connects to DATABASE_URL, or starts (or attaches to) the
// private cluster in the data directory and its "civic" database. The
// schema is migrated either way: every command expects it current.
func openDatabase(ctx context.Context, c config, log *slog.Logger) (*database, error) {
	url, cluster, err := locateDatabase(ctx, c, log)
	if err != nil {
		return nil, err
	}
	return openAt(ctx, c, url, cluster)
}

// locateDatabase returns the URL of DATABASE_URL, or starts (or attaches
// to) the private cluster and returns its "civic" database's, created
// empty if missing, with the cluster (the caller stops it). Nothing is
// migrated: civic backup and restore use the database as they find it.
func locateDatabase(ctx context.Context, c config, log *slog.Logger) (string, *pgembed.Cluster, error) {
	if c.databaseURL != "" {
		return c.databaseURL, nil, nil
	}
	cluster, err := pgembed.Start(ctx, pgembed.Options{Dir: filepath.Join(c.dataDir, "postgres"), Logger: log})
	if err != nil {
		return "", nil, err
	}
	if err := cluster.CreateDatabase(ctx, "civic"); err != nil {
		(&database{cluster: cluster}).close()
		return "", nil, err
	}
	return cluster.URL("civic"), cluster, nil
}

// openAt connects to the database at url (of cluster, when private) and
// migrates it.
func openAt(ctx context.Context, c config, url string, cluster *pgembed.Cluster) (*database, error) {
	db := &database{cluster: cluster}
	var err error
	if db.pool, err = connect(ctx, url, nil); err != nil {
		db.close()
		return nil, err
	}
	if db.reads, err = connect(ctx, url, map[string]string{
		"statement_timeout":             strconv.FormatInt(c.statementTimeout.Milliseconds(), 10),
		"default_transaction_read_only": "on",
	}); err != nil {
		db.close()
		return nil, err
	}
	if err := postgres.Migrate(ctx, db.pool); err != nil {
		db.close()
		return nil, err
	}
	if err := projections.Migrate(ctx, db.pool); err != nil {
		db.close()
		return nil, err
	}
	if err := notify.Migrate(ctx, db.pool); err != nil {
		db.close()
		return nil, fmt.Errorf("migrate the notification outbox: %w", err)
	}
	if err := keyring.Migrate(ctx, db.pool); err != nil {
		db.close()
		return nil, fmt.Errorf("migrate the keyring: %w", err)
	}
	return db, nil
}

// connect opens a pool with the given session settings.
func connect(ctx context.Context, url string, params map[string]string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	rp := cfg.ConnConfig.RuntimeParams
	// A transaction left open holds back the sequencer, and with it every
	// reader: end such sessions rather than let them stall the server.
	if _, ok := rp["idle_in_transaction_session_timeout"]; !ok {
		rp["idle_in_transaction_session_timeout"] = "30s"
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "civic"
	}
	for k, v := range params {
		rp[k] = v
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

// close closes the pools and stops a cluster this process started.
func (db *database) close() {
	for _, p := range []*pgxpool.Pool{db.reads, db.pool} {
		if p != nil {
			p.Close()
		}
	}
	if db.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.cluster.Stop(ctx); err != nil {
			slog.Default().Error("stop PostgreSQL", "err", err)
		}
	}
}
