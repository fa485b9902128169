package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/internal/backup"
)

// backupCmd writes a backup file of the ledger: `civic backup FILE`.
// errKurrentBackup is backup's and restore's refusal over KurrentDB: a
// backup is of one PostgreSQL database, and there the events are not in
// it, so a backup would hold an index of events it lacks.
var errKurrentBackup = errors.New("CIVIC_EVENTSTORE=kurrent: the events are in KurrentDB, not in this database, so a backup of it would not restore the ledger. " +
	"Back KurrentDB up with its own tools, or copy its events into PostgreSQL first (civic copy-events --from kurrent --to postgres) and back that up")

func (m *Main) backupCmd(ctx context.Context, args []string) error {
	fs := m.flags("backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: civic backup FILE")
	}
	path := fs.Arg(0)
	c, err := m.config()
	if err != nil {
		return err
	}
	if c.eventStore == "kurrent" {
		return errKurrentBackup
	}
	log := c.logger(m.Stderr)
	keyPath := c.signingKeyPath()
	var pub ed25519.PublicKey
	if key, err := loadSigningKey(keyPath, false); err == nil {
		pub = key.Public().(ed25519.PublicKey)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	url, cluster, err := locateDatabase(ctx, c, log)
	if err != nil {
		return err
	}
	defer (&database{cluster: cluster}).close()
	man, err := backup.Write(ctx, path, backup.Options{URL: url, Key: pub})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %s: %d events, %d of them positioned", path, man.Events, man.Positioned)
	if man.Checkpoint != "" {
		fmt.Fprintf(m.Stdout, "; log %q", man.Origin)
		if man.KeyID != "" {
			fmt.Fprintf(m.Stdout, ", signed by key %s", man.KeyID)
		}
	}
	fmt.Fprintf(m.Stdout, "\ndump: %d bytes, SHA-256 %s (PostgreSQL %s, epoch %d)\n", man.Dump.Size, man.Dump.SHA256, man.Server, man.Epoch)
	switch {
	case pub != nil:
		fmt.Fprintf(m.Stdout, "the signing key is not in the backup, by design: it is %s; keep a copy of it apart from the backups, a restore needs it\n", keyPath)
	default:
		fmt.Fprintf(m.Stdout, "the signing key is not in the backup, by design, and not at %s either: keep the key that signs this log apart from the backups, a restore needs it\n", keyPath)
	}
	return nil
}

// restoreCmd restores a backup file into an empty database: `civic
// restore FILE`, or `civic restore --check FILE` to check the file only.
// After the restore it takes the log up on this cluster, positions the
// events the backup held unpositioned, signs the log and verifies it, so
// that it hands over a ledger that is whole and signed.
func (m *Main) restoreCmd(ctx context.Context, args []string) (int, error) {
	fs := m.flags("restore")
	check := fs.Bool("check", false, "only check the file (whole, this ledger's); write nothing")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() != 1 {
		return exitError, errors.New("usage: civic restore [--check] FILE")
	}
	path := fs.Arg(0)
	c, err := m.config()
	if err != nil {
		return exitError, err
	}
	if c.eventStore == "kurrent" {
		return exitError, errKurrentBackup
	}
	log := c.logger(m.Stderr)
	man, err := backup.ReadManifest(path)
	if err != nil {
		return exitError, err
	}
	keyPath := c.signingKeyPath()
	key, err := loadSigningKey(keyPath, false)
	switch {
	case errors.Is(err, os.ErrNotExist) && man.Checkpoint != "":
		named := ""
		if man.KeyID != "" {
			named = " (key " + man.KeyID + ")"
		}
		return exitError, fmt.Errorf("the backup's log %q is signed%s, and there is no signing key at %s: put the key that signs it there (or set CIVIC_SIGNING_KEY), then restore; nothing was written", man.Origin, named, keyPath)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return exitError, err
	}
	opts, err := c.storeOptions(key, log)
	if err != nil {
		return exitError, err
	}
	keys := opts.TrustedKeys
	if key != nil {
		keys = append([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, keys...)
	}
	if *check {
		m2, dump, err := backup.Open(path, "")
		if err != nil {
			return exitError, err
		}
		os.Remove(dump)
		if err := backup.Check(m2, keys, c.origin); err != nil {
			return exitError, fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(m.Stdout, "%s is whole and this ledger's: %d events (%d positioned), taken %s from database %s (PostgreSQL %s)\n",
			path, man.Events, man.Positioned, man.CreatedAt.Format(time.RFC3339), man.Database, man.Server)
		return exitOK, nil
	}

	url, cluster, err := locateDatabase(ctx, c, log)
	if err != nil {
		return exitError, err
	}
	if _, err := backup.Restore(ctx, path, backup.RestoreOptions{URL: url, Keys: keys, Origin: c.origin}); err != nil {
		(&database{cluster: cluster}).close()
		return exitError, err
	}
	db, err := openAt(ctx, c, url, cluster)
	if err != nil {
		return exitError, fmt.Errorf("restored, but: %w", err)
	}
	defer db.close()
	var epoch int32
	// openAt has taken the log up on this cluster (Migrate).
	if err := db.pool.QueryRow(ctx, `SELECT eventstore.epoch()`).Scan(&epoch); err != nil {
		return exitError, err
	}
	fmt.Fprintf(m.Stdout, "restored %s: %d events, %d positioned; the log goes on as epoch %d on this cluster\n", path, man.Events, man.Positioned, epoch)
	if key != nil {
		if err := settle(ctx, db, opts); err != nil {
			return exitError, fmt.Errorf("restored, but: %w", err)
		}
		switch n := man.Events - man.Positioned; {
		case n == 1:
			fmt.Fprintln(m.Stdout, "positioned the 1 event the backup held unpositioned, and signed the log")
		case n > 1:
			fmt.Fprintf(m.Stdout, "positioned the %d events the backup held unpositioned, in their original order, and signed the log\n", n)
		}
	}
	report, err := postgres.Verify(ctx, db.pool, postgres.VerifyOptions{Keys: keys, Origin: c.origin, Every: c.checkpointEvery})
	if err != nil {
		return exitError, fmt.Errorf("restored, but verify: %w", err)
	}
	fmt.Fprintf(m.Stdout, "verify: %s\n", report)
	if !report.OK() {
		return exitFailed, nil
	}
	fmt.Fprintln(m.Stdout, "start the server: civic serve")
	return exitOK, nil
}

// settle signs the restored log (signNow), which positions first the
// events the backup held unpositioned, so that the restore hands over a
// log whose head a checkpoint covers.
func settle(ctx context.Context, db *database, opts postgres.Options) error {
	store := postgres.New(db.pool, opts)
	defer store.Close()
	_, err := signNow(ctx, store, true, time.Minute)
	return err
}
