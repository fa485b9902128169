package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"slices"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/dense"
	"github.com/civicledger/civicledger/eventstore/kurrent"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// logStore is the event store as the commands use it: the contract, an
// auditor's and a prover's views of the log, the process that gives
// events their dense positions (the PostgreSQL sequencer; over KurrentDB,
// the dense follower) and its status. CIVIC_EVENTSTORE chooses which.
type logStore interface {
	eventstore.Store
	eventstore.Auditor
	eventstore.Prover
	// RunSequencer positions events until ctx ends; one process at a
	// time leads.
	RunSequencer(ctx context.Context) error
	// Status is the sequencer's state, for /readyz and /metrics.
	Status(ctx context.Context) (postgres.Status, error)
	Close()
}

var _ logStore = (*postgres.Store)(nil)

// openLog returns the event store the configuration names, over db for
// PostgreSQL or for the dense index beside KurrentDB. key signs
// checkpoints (nil: none are signed); the checkpoints of trusted keys are
// accepted besides CIVIC_TRUSTED_KEYS' (an auditor's command trusts the
// signing key's public half without holding the key).
func openLog(ctx context.Context, c config, db *pgxpool.Pool, key ed25519.PrivateKey, trusted []ed25519.PublicKey, log *slog.Logger) (logStore, error) {
	opts, err := c.storeOptions(key, log)
	if err != nil {
		return nil, err
	}
	// trusted first: with no signing key, the first names the log's
	// default origin, and an auditor's list starts with the server's key.
	opts.TrustedKeys = append(slices.Clone(trusted), opts.TrustedKeys...)
	if c.eventStore != "kurrent" {
		return postgres.New(db, opts), nil
	}
	src, err := kurrent.Open(ctx, c.kurrentURL, c.kurrentOptions())
	if err != nil {
		return nil, err // it names KURRENTDB_URL
	}
	if err := dense.Migrate(ctx, db); err != nil {
		src.Close()
		return nil, fmt.Errorf("the dense index's schema: %w", err)
	}
	dopts := dense.Options{Logger: log, Origin: opts.Origin, CheckpointEvery: opts.CheckpointEvery, CheckpointAfter: opts.CheckpointInterval}
	var keys []ed25519.PublicKey
	if key != nil {
		keys = append(keys, key.Public().(ed25519.PublicKey))
	}
	keys = append(keys, opts.TrustedKeys...)
	if dopts.Origin == "" && len(keys) > 0 {
		dopts.Origin = postgres.DefaultOrigin(keys[0])
	}
	if key != nil {
		if dopts.Signer, err = tlog.NewSigner(dopts.Origin, key); err != nil {
			src.Close()
			return nil, err
		}
		if dopts.VerifierKey, err = tlog.VerifierKey(dopts.Origin, key.Public().(ed25519.PublicKey)); err != nil {
			src.Close()
			return nil, err
		}
	}
	if dopts.Origin != "" {
		for _, k := range keys {
			v, err := tlog.NewVerifier(dopts.Origin, k)
			if err != nil {
				src.Close()
				return nil, err
			}
			dopts.Verifiers = append(dopts.Verifiers, v)
		}
	}
	return &kurrentLog{Store: dense.New(db, src, dopts), src: src}, nil
}

// closer is what kurrentLog closes: the KurrentDB client.
type closer interface{ Close() }

// kurrentLog is the event store over KurrentDB: events in the cluster,
// their dense positions, leaves, tree and checkpoints in PostgreSQL
// (eventstore/dense), so that everything above sees the log it sees over
// PostgreSQL.
type kurrentLog struct {
	*dense.Store
	src closer
}

// RunSequencer runs the dense follower, the sequencer's counterpart.
func (k *kurrentLog) RunSequencer(ctx context.Context) error { return k.RunFollower(ctx) }

// Status maps the follower's state onto the sequencer's: Pending is 1
// while KurrentDB holds events the index does not (its positions are not
// dense, so no count can be had without reading them), and OldestPending
// is how long the index has not moved meanwhile. An unreachable KurrentDB
// is an error, as an unreachable database is.
func (k *kurrentLog) Status(ctx context.Context) (postgres.Status, error) {
	st, _, err := k.statusLag(ctx)
	return st, err
}

// statusLag is Status with the lag it comes from, from one call to
// KurrentDB.
func (k *kurrentLog) statusLag(ctx context.Context) (postgres.Status, dense.Lag, error) {
	fs := k.Store.Status()
	st := postgres.Status{Leader: fs.Leading, SequencerError: fs.Failure, SequencerErrorSince: fs.FailingSince}
	lag, err := k.Lag(ctx)
	if err != nil {
		return st, lag, err
	}
	st.Head, st.LeaderAnywhere = lag.Head, lag.LeaderAnywhere
	if lag.Behind {
		st.Pending, st.OldestPending = 1, lag.Stalled
	}
	return st, lag, nil
}

// Close stops the dense store's listener and closes the connection to
// KurrentDB.
func (k *kurrentLog) Close() {
	k.Store.Close()
	k.src.Close()
}

// logStatus is the event store's status for /readyz and /metrics, and
// over KurrentDB the follower's lag (nil over PostgreSQL), asking
// KurrentDB once.
func logStatus(ctx context.Context, s logStore) (postgres.Status, *dense.Lag, error) {
	k, ok := s.(*kurrentLog)
	if !ok {
		st, err := s.Status(ctx)
		return st, nil, err
	}
	st, lag, err := k.statusLag(ctx)
	return st, &lag, err
}
