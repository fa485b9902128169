package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/kurrent"
	"github.com/civicledger/civicledger/eventstore/postgres"
)

// copyEvents moves a ledger between event stores: `civic copy-events
// --from postgres --to kurrent` (or back), PostgreSQL being DATABASE_URL
// (or the private database) and KurrentDB KURRENTDB_URL. IDs, streams,
// versions, order, data and metadata are kept (eventstore.Copy);
// recorded_at and positions are the destination's. It is resumable: run
// again, it appends only what the destination lacks. Then `civic verify`,
// with CIVIC_EVENTSTORE naming the destination, checks the copy.
func (m *Main) copyEvents(ctx context.Context, args []string) error {
	fs := m.flags("copy-events")
	from := fs.String("from", "", "the store to copy from: postgres or kurrent")
	to := fs.String("to", "", "the store to copy to: postgres or kurrent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *from != "postgres" && *from != "kurrent":
		return fmt.Errorf("--from %q: want postgres or kurrent", *from)
	case *to != "postgres" && *to != "kurrent":
		return fmt.Errorf("--to %q: want postgres or kurrent", *to)
	case *from == *to:
		return fmt.Errorf("--from and --to are both %s: a store is not copied onto itself", *from)
	}
	// The copy names its stores itself: CIVIC_EVENTSTORE, which says
	// where a server keeps its events, does not matter here, and
	// KURRENTDB_URL without it is no mistake.
	env := m.Getenv
	mc := *m
	mc.Getenv = func(k string) string {
		if k == "CIVIC_EVENTSTORE" && env("KURRENTDB_URL") != "" {
			return "kurrent"
		}
		return env(k)
	}
	c, err := mc.config()
	if err != nil {
		return err
	}
	if c.kurrentURL == "" {
		return errors.New("KURRENTDB_URL is not set: it names the KurrentDB to copy from or to")
	}
	log := c.logger(m.Stderr)
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return err
	}
	defer db.close()
	k, err := kurrent.Open(ctx, c.kurrentURL, c.kurrentOptions())
	if err != nil {
		return err
	}
	defer k.Close()
	pg := postgres.New(db.pool, postgres.Options{Logger: log})
	defer pg.Close()

	src, dst := eventstore.Store(pg), eventstore.Store(k)
	if *from == "kurrent" {
		src, dst = k, pg
		// The destination's sequencer positions what is copied; it
		// signs nothing (the server's key does, when it next runs).
		seqCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pg.RunSequencer(seqCtx) }()
		defer func() { stop(); <-done }()
	}
	start, last := time.Now(), time.Now()
	rep, err := eventstore.Copy(ctx, src, dst, func(r eventstore.CopyReport) {
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(m.Stderr, "copied %d events in %d appends so far\n", r.Events, r.Appends)
		}
	})
	if err != nil {
		return fmt.Errorf("after %d events: %w", rep.Events, err)
	}
	fmt.Fprintf(m.Stdout, "copied %d events in %d appends from %s to %s in %s (events the destination held already were taken as retries)\n",
		rep.Events, rep.Appends, *from, *to, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(m.Stdout, "check the copy with: CIVIC_EVENTSTORE=%s civic verify\n", *to)
	return nil
}
