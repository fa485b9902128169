package projections

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// TrendOrderKey is what a trend's rows can be ordered by besides their
// groups.
type TrendOrderKey string

// The keys rows can be ordered by.
const (
	OrderAttendance    TrendOrderKey = "attendance"
	OrderActivities    TrendOrderKey = "activities"
	OrderPerThousand   TrendOrderKey = "attendance_per_1000"
	OrderByGroupValues TrendOrderKey = "group"
)

// TrendOrder is one key of a trend's order.
type TrendOrder struct {
	Key  TrendOrderKey
	Desc bool
}

// TrendQuery is a participation trend with what a dashboard asks of it
// besides the grouping: the attendance per 1,000 inhabitants of each
// group's places, an order and a limit.
type TrendQuery struct {
	GroupBy []Dimension
	Filter  TrendFilter
	// PerCapita adds each row's population (census 2014) and attendance
	// per 1,000 of it.
	PerCapita bool
	// OrderBy orders the rows, each key breaking the previous one's ties,
	// the groups' values last; none: by the groups' values.
	OrderBy []TrendOrder
	// Limit keeps the first rows, 0 all.
	Limit int
}

// PlacedTrendRow is a row of a TrendQuery: the trend's row, and with
// PerCapita the population of its places and its attendance per 1,000
// inhabitants (nil where the places have no census figure).
type PlacedTrendRow struct {
	TrendRow
	Population  *int64
	PerThousand *float64
}

// Trend answers q: ParticipationTrend's rows, each with the population of
// its places when asked (the municipality grouped by; else the
// municipalities of the region grouped by; else all those the filter's
// regions and municipalities keep, or Georgia's), ordered and cut.
// Attendance per capita is of the places' whole population: the census
// figures used here are not broken down by sex or age.
func (q *Reads) Trend(ctx context.Context, tq TrendQuery) ([]PlacedTrendRow, error) {
	if tq.Limit < 0 || tq.Limit > MaxTrendRows {
		return nil, domain.InvalidField("limit", "%d is outside 1..%d", tq.Limit, MaxTrendRows)
	}
	if len(tq.OrderBy) > 4 {
		return nil, domain.InvalidField("orderBy", "%d keys, over the limit of 4", len(tq.OrderBy))
	}
	muniAt, regionAt := slices.Index(tq.GroupBy, DimMunicipality), slices.Index(tq.GroupBy, DimRegion)
	for i, o := range tq.OrderBy {
		switch o.Key {
		case OrderAttendance, OrderActivities, OrderByGroupValues:
		case OrderPerThousand:
			if !tq.PerCapita {
				return nil, domain.InvalidField(fmt.Sprintf("orderBy[%d]", i), "ordering by attendance per 1,000 needs perCapita: true")
			}
		default:
			return nil, domain.InvalidField(fmt.Sprintf("orderBy[%d]", i), "%q is not a key to order by", o.Key)
		}
	}
	if tq.PerCapita && muniAt < 0 && (slices.Contains(tq.GroupBy, DimCertified) || tq.Filter.Certified != nil) {
		return nil, domain.InvalidField("perCapita", "per capita with CERTIFIED needs MUNICIPALITY in groupBy: which municipalities were certified changes by year")
	}
	rows, err := q.ParticipationTrend(ctx, tq.GroupBy, tq.Filter)
	if err != nil {
		return nil, err
	}
	out := make([]PlacedTrendRow, len(rows))
	for i, r := range rows {
		out[i].TrendRow = r
	}
	if tq.PerCapita {
		munis, err := q.Municipalities(ctx, "", "")
		if err != nil {
			return nil, err
		}
		keep := func(m Municipality) bool {
			return (len(tq.Filter.Regions) == 0 || slices.Contains(tq.Filter.Regions, m.RegionCode)) &&
				(len(tq.Filter.Municipalities) == 0 || slices.Contains(tq.Filter.Municipalities, m.Code))
		}
		for i := range out {
			// Municipalities without a census figure (the occupied
			// territories, where no activity is recorded) count for
			// nothing; a row of one of them has no figure.
			var pop int64
			for _, m := range munis {
				if !keep(m) || muniAt >= 0 && m.Code != out[i].Values[muniAt] || regionAt >= 0 && m.RegionCode != out[i].Values[regionAt] {
					continue
				}
				if m.Population2014 != nil {
					pop += int64(*m.Population2014)
				}
			}
			if pop == 0 {
				continue
			}
			per := math.Round(float64(out[i].Attendance)*1000/float64(pop)*100) / 100
			out[i].Population, out[i].PerThousand = &pop, &per
		}
	}
	if len(tq.OrderBy) > 0 {
		slices.SortStableFunc(out, func(a, b PlacedTrendRow) int {
			for _, o := range tq.OrderBy {
				var c int
				switch o.Key {
				case OrderAttendance:
					c = cmp.Compare(a.Attendance, b.Attendance)
				case OrderActivities:
					c = cmp.Compare(a.Activities, b.Activities)
				case OrderPerThousand:
					// Rows without a figure come last either way.
					switch {
					case a.PerThousand == nil && b.PerThousand == nil:
					case a.PerThousand == nil:
						return 1
					case b.PerThousand == nil:
						return -1
					default:
						c = cmp.Compare(*a.PerThousand, *b.PerThousand)
					}
				case OrderByGroupValues:
					return 0 // the statement's order, which the stable sort keeps
				}
				if o.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if tq.Limit > 0 && len(out) > tq.Limit {
		out = out[:tq.Limit]
	}
	return out, nil
}
