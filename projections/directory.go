package projections

import (
	"context"
	"fmt"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/jackc/pgx/v5"
)

// The regional directory is what the hubs offer their region: the civil
// society and community organisations of its municipalities, who acts as
// the region's hub, and which networks each organisation belongs to. It
// reads two read models (organisations, networks) through their views;
// neither needs to know of the other.

// DirectoryCount is how many active organisations of a kind a municipality
// of the region has ("" for those registered in the region alone).
type DirectoryCount struct {
	Municipality string
	Kind         registry.OrganisationKind
	Count        int
}

// Directory is a region's directory on a day.
type Directory struct {
	Region string
	Day    string
	// Hubs are the memberships, in any network, of the organisations
	// acting as the region's hub on the day.
	Hubs []MembershipPeriod
	// Counts are by municipality then kind.
	Counts []DirectoryCount
}

// RegionalDirectory returns the region's directory on day (YYYY-MM-DD),
// nil when there is no such region.
func (q *Reads) RegionalDirectory(ctx context.Context, region, day string) (*Directory, error) {
	if err := domain.CheckDate("on", day); err != nil {
		return nil, err
	}
	var exists bool
	if err := q.DB.QueryRow(ctx, `SELECT EXISTS (SELECT FROM rm.regions WHERE code = $1)`, region).Scan(&exists); err != nil {
		return nil, fmt.Errorf("directory of %s: %w", region, err)
	}
	if !exists {
		return nil, nil
	}
	d := &Directory{Region: region, Day: day}
	rows, err := q.DB.Query(ctx, `SELECT `+periodColumns+` FROM rm.network_periods
		WHERE role = 'regional_hub' AND region = $1 AND valid_from <= $2::date AND (valid_to IS NULL OR valid_to > $2::date)
		ORDER BY network, organisation`, region, day)
	if err != nil {
		return nil, fmt.Errorf("hubs of %s: %w", region, err)
	}
	if d.Hubs, err = pgx.CollectRows(rows, scanPeriod); err != nil {
		return nil, fmt.Errorf("hubs of %s: %w", region, err)
	}
	rows, err = q.DB.Query(ctx, `SELECT coalesce(municipality, ''), kind, count(*) FROM rm.organisations
		WHERE region = $1 AND status = 'active' GROUP BY 1, 2 ORDER BY 1, 2`, region)
	if err != nil {
		return nil, fmt.Errorf("directory of %s: %w", region, err)
	}
	d.Counts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DirectoryCount, error) {
		var c DirectoryCount
		err := r.Scan(&c.Municipality, &c.Kind, &c.Count)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("directory of %s: %w", region, err)
	}
	return d, nil
}

// MembershipKey asks MembershipsOf for an organisation's memberships on a
// day.
type MembershipKey struct{ Organisation, Day string }

// MembershipsOf returns, for each key, the organisation's memberships in
// force on the key's day, by network: one statement for a whole page of
// organisations, which is how the API's loader calls it.
func (q *Reads) MembershipsOf(ctx context.Context, keys []MembershipKey) (map[MembershipKey][]MembershipPeriod, error) {
	orgs, days := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		if err := domain.CheckDate("on", k.Day); err != nil {
			return nil, err
		}
		orgs[i], days[i] = k.Organisation, k.Day
	}
	rows, err := q.DB.Query(ctx, `SELECT k.day::text, p.network, p.organisation, p.role, p.region, p.status, p.joined_on::text,
			p.valid_from::text, coalesce(p.valid_to::text, ''), p.reason
		FROM unnest($1::text[], $2::date[]) AS k(organisation, day)
		JOIN rm.network_periods p ON p.organisation = k.organisation AND p.valid_from <= k.day AND (p.valid_to IS NULL OR p.valid_to > k.day)
		ORDER BY p.network`, orgs, days)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	out := make(map[MembershipKey][]MembershipPeriod, len(keys))
	for _, k := range keys {
		out[k] = []MembershipPeriod{}
	}
	var day string
	var m MembershipPeriod
	_, err = pgx.ForEachRow(rows, []any{&day, &m.Network, &m.Organisation, &m.Role, &m.Region, &m.Status, &m.JoinedOn, &m.ValidFrom, &m.ValidTo, &m.Reason},
		func() error {
			k := MembershipKey{Organisation: m.Organisation, Day: day}
			out[k] = append(out[k], m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	return out, nil
}
