package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
)

// verify checks the log and reports the first position that cannot be
// trusted. It exits 0 when the range is intact, exitFailed when it is not,
// and exitError when it could not check (or an outside checkpoint is not
// one of the log's).
func (m *Main) verify(ctx context.Context, args []string) (int, error) {
	fs := m.flags("verify")
	from := fs.Int64("from", 0, "first position to check (default: the first)")
	to := fs.Int64("to", 0, "last position to check (default: the last)")
	var against []string
	fs.Func("against", "a checkpoint kept outside the database (a file), or a witness's directory of them; repeatable", func(p string) error {
		against = append(against, p)
		return nil
	})
	stale := fs.Duration("stale", time.Minute, "how long an entry may go without a checkpoint before the log counts as broken")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() > 0 {
		return exitError, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *stale <= 0 {
		return exitError, fmt.Errorf("--stale %s: want a positive duration", *stale)
	}
	notes, names, err := readCheckpoints(against)
	if err != nil {
		return exitError, err
	}
	db, keys, c, err := m.openForAudit(ctx)
	if err != nil {
		return exitError, err
	}
	defer db.close()
	if c.eventStore == "kurrent" {
		v, err := m.verifyKurrent(ctx, c, db, keys, *from, *to, notes, names)
		if err != nil {
			return exitError, err
		}
		if !v.Intact() {
			fmt.Fprintf(m.Stdout, "BROKEN at position %d: %s (positions %d..%d over KurrentDB, %d events rehashed before it)\n", v.FirstBad, v.Problem, v.From, v.To, v.Events)
			return exitFailed, nil
		}
		fmt.Fprintf(m.Stdout, "intact: positions %d..%d over KurrentDB, %d events rehashed from KurrentDB's bytes against the index's leaves and tree, %d signed checkpoints checked (%d of them kept outside)\n",
			v.From, v.To, v.Events, v.Checkpoints, len(notes))
		return exitOK, nil
	}
	rep, err := postgres.Verify(ctx, db.pool, postgres.VerifyOptions{From: *from, To: *to, Keys: keys, Origin: c.origin,
		Witnesses: c.witnesses, Against: notes, AgainstNames: names, Every: c.checkpointEvery, Stale: *stale})
	if err != nil {
		return exitError, err
	}
	fmt.Fprintln(m.Stdout, rep)
	if !rep.OK() {
		return exitFailed, nil
	}
	return exitOK, nil
}

// readCheckpoints reads the signed checkpoints at paths: files, or
// directories whose *.note files (a witness's, see civic witness) are
// each one.
func readCheckpoints(paths []string) ([][]byte, []string, error) {
	var out [][]byte
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("--against: %w", err)
		}
		files := []string{p}
		if info.IsDir() {
			if files, err = filepath.Glob(filepath.Join(p, "*.note")); err == nil && len(files) == 0 {
				files, err = filepath.Glob(filepath.Join(p, witness.SeenDir, "*.note"))
			}
			if err != nil || len(files) == 0 {
				return nil, nil, fmt.Errorf("--against %s: a directory without checkpoints (*.note)", p)
			}
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, fmt.Errorf("--against: %w", err)
			}
			out, names = append(out, b), append(names, "--against "+f)
		}
	}
	return out, names, nil
}

// openForAudit opens the database for a command that checks the log, with
// the public keys whose checkpoint signatures it trusts.
func (m *Main) openForAudit(ctx context.Context) (*database, []ed25519.PublicKey, config, error) {
	c, err := m.config()
	if err != nil {
		return nil, nil, c, err
	}
	keys, err := trustedKeys(c)
	if err != nil {
		return nil, nil, c, err
	}
	db, err := openDatabase(ctx, c, c.logger(m.Stderr))
	return db, keys, c, err
}

// trustedKeys are the public keys whose checkpoint signatures verify
// accepts: the signing key's own, if its file exists, and CIVIC_TRUSTED_KEYS.
func trustedKeys(c config) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	if _, err := os.Stat(c.signingKeyPath()); err == nil {
		key, err := loadSigningKey(c.signingKeyPath(), false)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key.Public().(ed25519.PublicKey))
	} else if !errors.Is(err, fs.ErrNotExist) || c.signingKey != "" {
		return nil, fmt.Errorf("CIVIC_SIGNING_KEY: %w", err)
	}
	for _, p := range c.trustedKeys {
		k, err := loadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// verifyKurrent is civic verify over KurrentDB: the dense follower first
// indexes what KurrentDB holds and the index lacks (signing nothing: the
// server's key does), then the range is verified (dense.VerifyRange:
// KurrentDB's events rehashed against the leaves, the tree against the
// stored nodes and the signed checkpoints), then the checkpoints kept
// outside (--against: dense.CheckOutside). keys are the public keys
// whose checkpoints it trusts.
func (m *Main) verifyKurrent(ctx context.Context, c config, db *database, keys []ed25519.PublicKey, from, to int64, outside [][]byte, names []string) (eventstore.Verification, error) {
	store, err := openLog(ctx, c, db.pool, nil, keys, c.logger(m.Stderr))
	if err != nil {
		return eventstore.Verification{}, err
	}
	defer store.Close()
	d := store.(*kurrentLog).Store
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); d.RunFollower(fctx) }()
	defer func() { stop(); <-done }()
	for {
		lag, err := d.Lag(ctx)
		if err != nil {
			return eventstore.Verification{}, err
		}
		if !lag.Behind {
			break
		}
		if !lag.LeaderAnywhere && lag.Stalled > time.Minute {
			return eventstore.Verification{}, fmt.Errorf("the index is behind KurrentDB and no follower has indexed anything for %s: %s",
				lag.Stalled.Round(time.Second), d.Status().Failure)
		}
		select {
		case <-ctx.Done():
			return eventstore.Verification{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	v, err := d.VerifyRange(ctx, from, to)
	if err != nil || !v.Intact() || len(outside) == 0 {
		return v, err
	}
	o, err := d.CheckOutside(ctx, outside, names)
	if err != nil || !o.Intact() {
		return o, err
	}
	v.Checkpoints += o.Checkpoints
	return v, nil
}
