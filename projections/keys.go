package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Keys is the read model of API keys: what the server checks a presented
// key against. It holds hashes only.
type Keys struct{}

var _ Projection = Keys{}

// Name implements Projection.
func (Keys) Name() string { return "keys" }

// Version implements Projection. Version 2 added the hub keys' region.
func (Keys) Version() int { return 2 }

// Tables implements Projection.
func (Keys) Tables() []string { return []string{"api_keys"} }

// Setup implements Projection.
func (Keys) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE api_keys (
			id           text PRIMARY KEY,
			name         text NOT NULL,
			role         text NOT NULL,
			municipality text NOT NULL,
			region       text NOT NULL,
			hash         text NOT NULL,
			revoked      boolean NOT NULL DEFAULT false,
			created_at   timestamptz NOT NULL,
			position     bigint NOT NULL
		)`)
	return err
}

// Apply implements Projection.
func (Keys) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error { return applyKey(b, se) })
}

func applyKey(b *Batch, se eventstore.Event) error {
	if se.Type != "access.key_created" && se.Type != "access.key_revoked" {
		return nil
	}
	e, err := catalog.Types.Decode(se)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	switch e := e.(type) {
	case access.KeyCreated:
		b.Queue(`INSERT INTO api_keys (id, name, role, municipality, region, hash, created_at, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Name, string(e.Role), e.Municipality, e.Region, e.Hash, se.RecordedAt, se.Position)
	case access.KeyRevoked:
		b.Queue(`UPDATE api_keys SET revoked = true, position = $2 WHERE id = $1 AND position < $2`, e.ID, se.Position)
	}
	return nil
}

// Actor returns the actor a presented API key stands for, or an
// Unauthenticated error for a key that is malformed, unknown or revoked
// (without saying which, to a caller probing for keys).
func (q *Reads) Actor(ctx context.Context, key string) (domain.Actor, error) {
	id, err := access.ParseKey(key)
	if err != nil {
		return domain.Actor{}, err
	}
	var name, role, municipality, region, hash string
	var revoked bool
	// The region is read through to_jsonb, not as a column, because
	// generation 1's table has none: a server upgraded to version 2 keeps
	// reading that generation, frozen, until version 2 is built, and a
	// lookup that failed meanwhile would refuse every signed-in request.
	// It can be a plain column once every deployment runs version 2.
	err = q.DB.QueryRow(ctx, `
		SELECT name, role, municipality, coalesce(to_jsonb(k)->>'region', ''), hash, revoked
		FROM rm.api_keys k WHERE id = $1`, id).
		Scan(&name, &role, &municipality, &region, &hash, &revoked)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (revoked || !access.Matches(key, hash)) {
		return domain.Actor{}, domain.Errorf(domain.Unauthenticated, "the API key is not valid")
	}
	if err != nil {
		return domain.Actor{}, fmt.Errorf("key %s: %w", id, err)
	}
	return access.Key{ID: id, Name: name, Role: domain.Role(role), Municipality: municipality, Region: region}.Actor(), nil
}
