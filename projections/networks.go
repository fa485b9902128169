package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Networks is the read model of networks and their memberships. A
// membership is kept as periods: each change closes the member's open
// period on its day and opens the next, so "members on a day" is one
// range condition, and the periods are the membership's timeline.
type Networks struct{}

var _ Projection = Networks{}

// Name implements Projection.
func (Networks) Name() string { return "networks" }

// Version implements Projection.
func (Networks) Version() int { return 1 }

// Tables implements Projection.
func (Networks) Tables() []string { return []string{"networks", "network_periods"} }

// Setup implements Projection. A period runs from valid_from up to, not
// including, valid_to (NULL while open). opened_at is the log position of
// the event that opened it, closed_at of the one that closed it: the keys
// that make replays change nothing.
func (Networks) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE networks (
			id        text PRIMARY KEY,
			kind      text NOT NULL,
			name_ka   text NOT NULL,
			name_en   text NOT NULL,
			formed_on date NOT NULL,
			position  bigint NOT NULL
		);
		CREATE TABLE network_periods (
			network      text NOT NULL,
			organisation text NOT NULL,
			opened_at    bigint NOT NULL,
			valid_from   date NOT NULL,
			valid_to     date,
			closed_at    bigint,
			role         text NOT NULL,
			region       text NOT NULL,
			status       text NOT NULL,
			joined_on    date NOT NULL,
			reason       text NOT NULL,
			PRIMARY KEY (network, organisation, opened_at)
		);
		CREATE INDEX network_periods_open ON network_periods (network, valid_from, valid_to);
		CREATE INDEX network_periods_member ON network_periods (organisation);`)
	return err
}

// closePeriod ends a member's open period on day $3, for the event at $4.
const closePeriod = `UPDATE network_periods SET valid_to = $3, closed_at = $4
	WHERE network = $1 AND organisation = $2 AND valid_to IS NULL AND opened_at < $4`

// nextPeriod opens the period after the one the event at $3 closed,
// carrying over what the event does not change ($5 role, $6 region, $7
// status: NULL keeps the closed period's), with the reason $8.
const nextPeriod = `INSERT INTO network_periods (network, organisation, opened_at, valid_from, role, region, status, joined_on, reason)
	SELECT p.network, p.organisation, $3, $4, coalesce($5, p.role), coalesce($6, p.region), coalesce($7, p.status), p.joined_on, $8
	FROM network_periods p WHERE p.network = $1 AND p.organisation = $2 AND p.closed_at = $3
	ON CONFLICT DO NOTHING`

// Apply implements Projection.
func (Networks) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error {
		if len(se.Type) < 8 || se.Type[:8] != "network." {
			return nil
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return fmt.Errorf("networks: %w", err)
		}
		p := se.Position
		change := func(net, org, on string, role, region, status *string, reason string) {
			b.Queue(closePeriod, net, org, on, p)
			b.Queue(nextPeriod, net, org, p, on, role, region, status, reason)
		}
		str := func(s string) *string { return &s }
		switch e := e.(type) {
		case network.Formed:
			b.Queue(`INSERT INTO networks (id, kind, name_ka, name_en, formed_on, position) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (id) DO NOTHING`, e.ID, string(e.Kind), e.Name.Ka, e.Name.En, e.On, p)
		case network.MemberJoined:
			b.Queue(`INSERT INTO network_periods (network, organisation, opened_at, valid_from, role, region, status, joined_on, reason)
				VALUES ($1, $2, $3, $4, $5, $6, 'active', $4, '') ON CONFLICT DO NOTHING`,
				e.Network, e.Organisation, p, e.On, string(e.Role), e.Region)
		case network.MemberRoleChanged:
			change(e.Network, e.Organisation, e.On, str(string(e.Role)), str(e.Region), nil, "")
		case network.MemberSuspended:
			change(e.Network, e.Organisation, e.On, nil, nil, str(string(network.Suspended)), e.Reason)
		case network.MemberReinstated:
			change(e.Network, e.Organisation, e.On, nil, nil, str(string(network.Active)), "")
		case network.MemberLeft:
			b.Queue(closePeriod, e.Network, e.Organisation, e.On, p)
		default:
			return fmt.Errorf("networks: no handling for event type %s", se.Type)
		}
		return nil
	})
}

// NetworkInfo is a network as readers see it.
type NetworkInfo struct {
	ID       string
	Kind     network.Kind
	Name     domain.LocalizedText
	FormedOn string
}

// Networks returns every network, by ID.
func (q *Reads) Networks(ctx context.Context) ([]NetworkInfo, error) {
	rows, err := q.DB.Query(ctx, `SELECT id, kind, name_ka, name_en, formed_on::text FROM rm.networks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("networks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (NetworkInfo, error) {
		var n NetworkInfo
		err := r.Scan(&n.ID, &n.Kind, &n.Name.Ka, &n.Name.En, &n.FormedOn)
		return n, err
	})
}

// Network returns the network id, nil when there is none.
func (q *Reads) Network(ctx context.Context, id string) (*NetworkInfo, error) {
	var n NetworkInfo
	err := q.DB.QueryRow(ctx, `SELECT id, kind, name_ka, name_en, formed_on::text FROM rm.networks WHERE id = $1`, id).
		Scan(&n.ID, &n.Kind, &n.Name.Ka, &n.Name.En, &n.FormedOn)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", id, err)
	}
	return &n, nil
}

// NetworksByID returns the networks with the given IDs, keyed by ID; IDs
// not found are absent.
func (q *Reads) NetworksByID(ctx context.Context, ids []string) (map[string]NetworkInfo, error) {
	all, err := q.Networks(ctx) // a handful: one query shape serves both
	if err != nil {
		return nil, err
	}
	out := make(map[string]NetworkInfo, len(all))
	for _, n := range all {
		out[n.ID] = n
	}
	return out, nil
}

// MembershipPeriod is a stretch of one membership with the same role,
// region and status: from ValidFrom up to, not including, ValidTo ("" while
// it lasts).
type MembershipPeriod struct {
	Network      string
	Organisation string
	Role         network.Role
	Region       string
	Status       network.Status
	// JoinedOn is the day the membership began.
	JoinedOn  string
	ValidFrom string
	ValidTo   string
	// Reason is the suspension's, for a suspended period.
	Reason string
}

const periodColumns = `network, organisation, role, region, status, joined_on::text, valid_from::text, coalesce(valid_to::text, ''), reason`

func scanPeriod(r pgx.CollectableRow) (MembershipPeriod, error) {
	var m MembershipPeriod
	err := r.Scan(&m.Network, &m.Organisation, &m.Role, &m.Region, &m.Status, &m.JoinedOn, &m.ValidFrom, &m.ValidTo, &m.Reason)
	return m, err
}

// MembersOn returns the members of network on day (YYYY-MM-DD), by
// organisation.
func (q *Reads) MembersOn(ctx context.Context, networkID, day string) ([]MembershipPeriod, error) {
	if err := domain.CheckDate("on", day); err != nil {
		return nil, err
	}
	rows, err := q.DB.Query(ctx, `SELECT `+periodColumns+` FROM rm.network_periods
		WHERE network = $1 AND valid_from <= $2::date AND (valid_to IS NULL OR valid_to > $2::date)
		ORDER BY organisation`, networkID, day)
	if err != nil {
		return nil, fmt.Errorf("members of %s on %s: %w", networkID, day, err)
	}
	return pgx.CollectRows(rows, scanPeriod)
}

// MembershipTimeline returns every period of the network's memberships
// (of one organisation, unless organisation is ""), by organisation and
// day; periods that lasted no day (two changes on one day) are left out.
func (q *Reads) MembershipTimeline(ctx context.Context, networkID, organisation string) ([]MembershipPeriod, error) {
	rows, err := q.DB.Query(ctx, `SELECT `+periodColumns+` FROM rm.network_periods
		WHERE network = $1 AND ($2 = '' OR organisation = $2) AND (valid_to IS NULL OR valid_to > valid_from)
		ORDER BY organisation, valid_from, opened_at`, networkID, organisation)
	if err != nil {
		return nil, fmt.Errorf("membership timeline of %s: %w", networkID, err)
	}
	return pgx.CollectRows(rows, scanPeriod)
}
