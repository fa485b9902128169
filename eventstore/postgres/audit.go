package postgres

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/jackc/pgx/v5"
)

var _ eventstore.Auditor = (*Store)(nil)

// Hashes implements eventstore.Auditor.
func (s *Store) Hashes(ctx context.Context, positions []int64) (map[int64][]byte, error) {
	rows, err := s.db.Query(ctx, `SELECT position, leaf FROM eventstore.log WHERE position = ANY($1)`, positions)
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
	var keys []ed25519.PublicKey
	if s.opts.SigningKey != nil {
		keys = append(keys, s.opts.SigningKey.Public().(ed25519.PublicKey))
	}
	keys = append(keys, s.opts.TrustedKeys...)
	rep, err := Verify(ctx, s.db, VerifyOptions{From: from, To: to, Keys: keys, Origin: s.opts.Origin, Every: s.opts.CheckpointEvery})
	if err != nil {
		return eventstore.Verification{}, err
	}
	return eventstore.Verification{From: rep.From, To: rep.To, Events: rep.Events, Checkpoints: rep.Checkpoints,
		FirstBad: rep.FirstBad, Problem: rep.Problem}, nil
}

// CheckEvents implements eventstore.Auditor with one query, for the
// stored leaf hashes at the events' positions: the events' own rows are
// already in hand. The Verification spans the positions checked.
func (s *Store) CheckEvents(ctx context.Context, events []eventstore.Event) (map[int64][]byte, eventstore.Verification, error) {
	var v eventstore.Verification
	var positions []int64
	for _, e := range events {
		if e.Position > 0 {
			positions = append(positions, e.Position)
		}
	}
	stored, err := s.Hashes(ctx, positions)
	if err != nil {
		return nil, v, fmt.Errorf("check events: %w", err)
	}
	hashes := make(map[int64][]byte, len(events))
	last := map[string]int64{} // stream -> the version seen last
	for i := range events {
		e := &events[i]
		if prev, seen := last[e.Stream]; seen && e.Version != prev+1 && v.Intact() {
			v.FirstBad = e.Position
			v.Problem = fmt.Sprintf("%s version %d follows version %d: the events between were deleted", e.Stream, e.Version, prev)
		}
		last[e.Stream] = e.Version
		if e.Position == 0 {
			continue
		}
		h, ok := stored[e.Position]
		hashes[e.Position] = h
		v.From = min(v.From, e.Position)
		if v.From == 0 {
			v.From = e.Position
		}
		v.To = max(v.To, e.Position)
		v.Events++
		switch {
		case !v.Intact():
		case !ok:
			v.FirstBad, v.Problem = e.Position, "the log has no entry at this position (deleted)"
		case !bytes.Equal(tlog.LeafHash(e), h):
			v.FirstBad, v.Problem = e.Position, fmt.Sprintf("hash mismatch: %s version %d (%s) was altered, or its log entry was", e.Stream, e.Version, e.ID)
		}
	}
	return hashes, v, nil
}
