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

// Version implements Projection. Version 2 added the hub keys' region,
// version 3 the ballot-box keys' budgeting cycle.
func (Keys) Version() int { return 3 }

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
			cycle        text NOT NULL,
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
		b.Queue(`INSERT INTO api_keys (id, name, role, municipality, region, cycle, hash, created_at, position)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Name, string(e.Role), e.Municipality, e.Region, e.Cycle, e.Hash, se.RecordedAt, se.Position)
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
	var name, role, municipality, region, cycle, hash string
	var revoked bool
	// The region and the cycle are read through to_jsonb, not as columns,
	// because the tables of generations before versions 2 and 3 have none:
	// a server upgraded keeps reading the older generation, frozen, until
	// the new one is built, and a lookup that failed meanwhile would refuse
	// every signed-in request. They can be plain columns once every
	// deployment runs version 3.
	err = q.DB.QueryRow(ctx, `
		SELECT name, role, municipality, coalesce(to_jsonb(k)->>'region', ''), coalesce(to_jsonb(k)->>'cycle', ''), hash, revoked
		FROM rm.api_keys k WHERE id = $1`, id).
		Scan(&name, &role, &municipality, &region, &cycle, &hash, &revoked)
	// A ballot-box row without its cycle was written by an older program
	// (during a rolling upgrade) that dropped the field: refused like a key
	// not held, so the caller looks in the key's own stream instead of
	// taking a ballot box bound to no cycle.
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (revoked || !access.Matches(key, hash) || domain.Role(role) == domain.BallotBox && cycle == "") {
		return domain.Actor{}, domain.Errorf(domain.Unauthenticated, "the API key is not valid")
	}
	if err != nil {
		return domain.Actor{}, fmt.Errorf("key %s: %w", id, err)
	}
	return access.Key{ID: id, Name: name, Role: domain.Role(role), Municipality: municipality, Region: region, Cycle: cycle}.Actor(), nil
}
