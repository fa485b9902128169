package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/notify"
)

// serve runs the server until ctx ends (SIGINT or SIGTERM), then shuts
// down in order: stop taking requests, let those in flight finish, stop the
// projections, the notification outbox and the sequencer, close the
// database, stop the private cluster.
func (m *Main) serve(ctx context.Context, args []string) error {
	if err := m.flags("serve").Parse(args); err != nil {
		return err
	}
	c, err := m.config()
	if err != nil {
		return err
	}
	log := c.logger(m.Stderr)
	slog.SetDefault(log)
	if os.Getenv("GOGC") == "" {
		// Serving GraphQL allocates a lot of short-lived garbage and keeps
		// little: collecting a quarter as often trades some memory for a
		// tenth of the CPU a list query costs (docs/PERFORMANCE.md).
		debug.SetGCPercent(graph.GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit on the heap: under load the collector runs more
		// often as it nears it, instead of letting GCPercent grow the
		// heap fourfold (docs/PERFORMANCE.md: the resident memory under
		// a hostile flood).
		debug.SetMemoryLimit(memoryLimit)
	}

	if err := ensureDataDir(c.dataDir); err != nil {
		return err
	}
	// The default key is created beside the private database; a configured
	// key must exist.
	key, err := loadSigningKey(c.signingKeyPath(), c.signingKey == "")
	if err != nil {
		return err
	}
	sender, err := c.notify.Sender(log)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, c, log, key)
	if err != nil {
		return err
	}
	defer a.close()

	// Background work runs until the HTTP server has stopped, so requests
	// in flight can still wait for their writes to be sequenced.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() {
		stopBackground()
		wg.Wait()
	}()
	wg.Add(4)
	go func() {
		defer wg.Done()
		a.store.RunSequencer(bgCtx)
	}()
	go func() {
		defer wg.Done()
		if err := a.runner.Run(bgCtx); err != nil {
			log.Error("projections stopped", "err", err)
		}
	}()
	// The certification workflow's notifications: queued from the log,
	// sent at least once (see internal/notify).
	go func() {
		defer wg.Done()
		n := notify.NewNotifier(a.db.pool, a.store, notify.NotifierOptions{MaxAge: c.notify.MaxAge, Logger: log})
		if err := n.Run(bgCtx); err != nil {
			log.Error("notification outbox stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		d := notify.NewDispatcher(a.db.pool, sender, notify.DispatcherOptions{Logger: log})
		if err := d.Run(bgCtx); err != nil {
			log.Error("notification sending stopped", "err", err)
		}
	}()
	if err := a.scanPlain(ctx); err != nil {
		return fmt.Errorf("scan the log for personal data in plain text: %w", err)
	}
	if _, err := a.importRegistry(ctx); err != nil {
		return fmt.Errorf("import registry: %w", err)
	}
	loadBudgets := false
	if c.loadDemo() {
		load := c.demo == "on"
		if !load {
			if load, err = a.onlySeeded(ctx); err != nil {
				return fmt.Errorf("import demo data: %w", err)
			}
		}
		if load {
			if _, err := a.importDemo(ctx, false); err != nil {
				return fmt.Errorf("import demo data: %w", err)
			}
			loadBudgets = true
		} else {
			log.Info("demo data not loaded: the ledger holds data of its own (CIVIC_DEMO=on loads it anyway)")
		}
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (CIVIC_ADDR): %w", c.addr, err)
	}
	api := graph.NewServer(graph.Deps{
		Store: a.store, Registry: a.registry, Certification: a.certification, Networks: a.networks, Projects: a.projects, Activities: a.activities, Reads: a.reads, Runner: a.runner, Keys: keyLookup{a.reads, a.access}, Logger: log,
		Privacy: a.privacy, Keyring: a.keys, Budgeting: a.budgeting, Benchmark: a.benchmark,
	}, c.graph(ln.Addr()))
	a.api = api
	// The demo's participatory budgets take seconds to go through the
	// service; the server answers meanwhile.
	if loadBudgets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.importBudgets(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Error("demo participatory budgets not loaded", "err", err)
				return
			}
			if _, err := a.importBenchmark(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Error("demo benchmark not loaded", "err", err)
			}
		}()
	}
	// A revoked key stops working at once, on open WebSockets too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := api.WatchRevocations(bgCtx); err != nil {
			log.Error("revocation watch stopped", "err", err)
		}
	}()
	// Requests run under a context of their own that shutdown cancels
	// once their grace is over, so work in flight (its SQL included)
	// stops rather than hold the process.
	requests, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	srv := &http.Server{
		Handler:           routes(a, api.Handler(), log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return requests },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("civic serving", "addr", "http://"+ln.Addr().String(), "graphiql", "http://"+ln.Addr().String()+"/",
		"key_id", postgres.KeyID(key.Public().(ed25519.PublicKey)))

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("civic shutting down")
	// Requests in flight get shutdownGrace to finish; then they are
	// cancelled, and get as long again to return.
	graceCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		log.Warn("shutdown: cancelling the requests still running", "grace", shutdownGrace)
		cancelRequests()
		stopCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(stopCtx); err != nil {
			log.Warn("shutdown: requests still running were cut off", "err", err)
			srv.Close()
		}
	}
	api.Close()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// memoryLimit is the server's soft memory limit (GOMEMLIMIT overrides
// it): the bound its resident memory is held to under load.
const memoryLimit = 256 << 20

// shutdownGrace is how long a stopping server lets the requests in flight
// finish, and then, once cancelled, return.
const shutdownGrace = 3 * time.Second

// ensureDataDir creates the data directory, traversable by other users
// (mode 0711: they can reach what is inside by name, not list it) because a
// private cluster started as root runs as the postgres user, which must
// reach the cluster below. The key inside stays 0600.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("CIVIC_DATA_DIR: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("CIVIC_DATA_DIR: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o011 != 0o011 {
		if err := os.Chmod(dir, mode|0o011); err != nil {
			return fmt.Errorf("CIVIC_DATA_DIR: %w", err)
		}
	}
	return nil
}
