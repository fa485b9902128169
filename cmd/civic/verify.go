package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/civicledger/civicledger/eventstore/postgres"
)

// verify checks the log and reports the first bad position. It exits 0
// when the range is intact and exitFailed when it is not.
func (m *Main) verify(ctx context.Context, args []string) (int, error) {
	fs := m.flags("verify")
	from := fs.Int64("from", 0, "first position to check (default: the first)")
	to := fs.Int64("to", 0, "last position to check (default: the last)")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() > 0 {
		return exitError, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	db, keys, _, err := m.openForAudit(ctx)
	if err != nil {
		return exitError, err
	}
	defer db.close()
	rep, err := postgres.Verify(ctx, db.pool, postgres.VerifyOptions{From: *from, To: *to, Keys: keys})
	if err != nil {
		return exitError, err
	}
	fmt.Fprintln(m.Stdout, rep)
	if !rep.OK() {
		return exitFailed, nil
	}
	return exitOK, nil
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
