package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
)

// serve runs the server until ctx ends (SIGINT or SIGTERM), then shuts
// down in order: stop taking requests, let those in flight finish, stop the
// sequencer, close the database, stop the private cluster.
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

	if err := ensureDataDir(c.dataDir); err != nil {
		return err
	}
	// The default key is created beside the private database; a configured
	// key must exist.
	key, err := loadSigningKey(c.signingKeyPath(), c.signingKey == "")
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return err
	}
	defer db.close()

	store := postgres.New(db.pool, postgres.Options{SigningKey: key, Logger: log})
	defer store.Close()
	seqCtx, stopSequencer := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		store.RunSequencer(seqCtx)
	}()
	defer func() {
		stopSequencer()
		wg.Wait()
	}()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (CIVIC_ADDR): %w", c.addr, err)
	}
	srv := &http.Server{
		Handler:           routes(store, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("civic serving", "addr", "http://"+ln.Addr().String(), "key_id", postgres.KeyID(key.Public().(ed25519.PublicKey)))

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("civic shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown: requests still running were cut off", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

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

// routes returns the HTTP handler: liveness and readiness so far.
func routes(store *postgres.Store, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// Liveness: the process answers. It checks nothing else, so that a
	// slow database does not get the process restarted.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	// Readiness: the database answers; the event store's state comes with
	// it for whoever is looking.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		st, err := store.Status(ctx)
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{"ready": err == nil}
		if err != nil {
			log.Warn("readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			body["error"] = "database unavailable"
		} else {
			body["eventstore"] = map[string]any{
				"head":                    st.Head,
				"pending":                 st.Pending,
				"sequencer_leader":        st.Leader,
				"oldest_write_tx_seconds": st.OldestWriteTx.Seconds(),
			}
		}
		json.NewEncoder(w).Encode(body)
	})
	return mux
}
