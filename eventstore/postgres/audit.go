package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

var _ eventstore.Auditor = (*Store)(nil)

// Hashes implements eventstore.Auditor.
func (s *Store) Hashes(ctx context.Context, positions []int64) (map[int64][]byte, error) {
	rows, err := s.db.Query(ctx, `SELECT position, hash FROM eventstore.log WHERE position = ANY($1)`, positions)
	if err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	out := make(map[int64][]byte, len(positions))
	var pos int64
	var hash []byte
	_, err = pgx.ForEachRow(rows, []any{&pos, &hash}, func() error {
		out[pos] = hash
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	return out, nil
}

// VerifyRange implements eventstore.Auditor. It trusts the checkpoints
// signed with the store's own signing key and with Options.TrustedKeys.
func (s *Store) VerifyRange(ctx context.Context, from, to int64) (eventstore.Verification, error) {
	keys := append([]ed25519.PublicKey(nil), s.opts.TrustedKeys...)
	if s.opts.SigningKey != nil {
		keys = append(keys, s.opts.SigningKey.Public().(ed25519.PublicKey))
	}
	rep, err := Verify(ctx, s.db, VerifyOptions{From: from, To: to, Keys: keys})
	if err != nil {
		return eventstore.Verification{}, err
	}
	return eventstore.Verification{From: rep.From, To: rep.To, Events: rep.Events, Checkpoints: rep.Checkpoints,
		FirstBad: rep.FirstBad, Problem: rep.Problem}, nil
}
