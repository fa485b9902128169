package graph

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/projections"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/vikstrous/dataloadgen"
)

// The attendee categories are lower-case strings in the domain ("" for
// not recorded) and enums here: FEMALE, AGE_18_29, LOCAL_GOVERNMENT,
// UNRECORDED. An age band starting with a digit takes an AGE_ prefix, as
// a GraphQL name cannot.

// enumName is a domain category's enum name.
func enumName(category string) string {
	switch {
	case category == "":
		return "UNRECORDED"
	case category[0] >= '0' && category[0] <= '9':
		return "AGE_" + strings.ToUpper(category)
	}
	return strings.ToUpper(category)
}

// categoryOf is an enum's domain category.
func categoryOf[E ~string](e E) string {
	if e == "UNRECORDED" {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(string(e), "AGE_"))
}

// optionalCategory is an optional enum's domain category, "" when left
// out.
func optionalCategory[E ~string](e *E) string {
	if e == nil {
		return ""
	}
	return categoryOf(*e)
}

// categoriesOf converts a list of enums.
func categoriesOf[E ~string](es []E) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = categoryOf(e)
	}
	return out
}

// minorityOf converts a recorded minority membership.
func minorityOf(m *bool) model.MinorityMembership {
	switch {
	case m == nil:
		return model.MinorityMembershipUnrecorded
	case *m:
		return model.MinorityMembershipMinority
	}
	return model.MinorityMembershipNotMinority
}

// minorityInput converts a minority membership given.
func minorityInput(m *model.MinorityMembership) *bool {
	if m == nil || *m == model.MinorityMembershipUnrecorded {
		return nil
	}
	yes := *m == model.MinorityMembershipMinority
	return &yes
}

// minorityOfCategory converts the trend's and the breakdown's form of a
// membership ("true", "false", "").
func minorityOfCategory(c string) model.MinorityMembership {
	switch c {
	case "true":
		return model.MinorityMembershipMinority
	case "false":
		return model.MinorityMembershipNotMinority
	}
	return model.MinorityMembershipUnrecorded
}

// minorityCategory is the trend's form of a membership: "true", "false"
// or "" (not recorded).
func minorityCategory(m model.MinorityMembership) string {
	switch m {
	case model.MinorityMembershipMinority:
		return "true"
	case model.MinorityMembershipNotMinority:
		return "false"
	}
	return ""
}

// attendanceOf converts a held activity's attendance.
func attendanceOf(at activity.Attendance, corrections int) *model.Attendance {
	out := &model.Attendance{Total: at.Total, Corrections: corrections, Source: at, Groups: make([]model.AttendanceGroup, len(at.Groups))}
	for i, g := range at.Groups {
		out.Groups[i] = model.AttendanceGroup{Sex: model.Sex(enumName(g.Sex)), AgeBand: model.AgeBand(enumName(g.AgeBand)),
			Sector: model.Sector(enumName(g.Sector)), EthnicMinority: minorityOf(g.EthnicMinority), Count: g.Count}
	}
	return out
}

// attendanceInput converts an attendance given.
func attendanceInput(in model.AttendanceInput) activity.Attendance {
	at := activity.Attendance{Total: in.Total, Organisations: in.Organisations}
	for _, g := range in.Groups {
		at.Groups = append(at.Groups, activity.Group{Sex: optionalCategory(g.Sex), AgeBand: optionalCategory(g.AgeBand),
			Sector: optionalCategory(g.Sector), EthnicMinority: minorityInput(g.EthnicMinority), Count: g.Count})
	}
	return at
}

// scheduleOf converts a new activity.
func scheduleOf(in model.ScheduleActivityInput) activity.Schedule {
	cmd := activity.Schedule{ID: in.ID, Type: in.Type, Title: localized(in.Title), Topic: deref(in.Topic),
		Organisers: in.Organisers, Project: deref(in.Project), Cycle: deref(in.Cycle), Municipality: in.Municipality, Place: deref(in.Place),
		Start: in.Start, End: in.End}
	cmd.Channel = optionalCategory(in.Channel)
	for _, l := range in.Indicators {
		cmd.Indicators = append(cmd.Indicators, activity.IndicatorLink{Indicator: l.Indicator, Sector: optionalCategory(l.Sector), Sex: optionalCategory(l.Sex)})
	}
	return cmd
}

// activityFilterOf converts the calendar's filter.
func activityFilterOf(f *model.ActivityFilter) projections.ActivityFilter {
	if f == nil {
		return projections.ActivityFilter{}
	}
	return projections.ActivityFilter{From: deref(f.From), To: deref(f.To), Region: deref(f.Region), Municipality: deref(f.Municipality),
		Types: f.Type, Project: deref(f.Project), Organiser: deref(f.Organiser), Status: deref(f.Status), Cycle: deref(f.Cycle)}
}

// trendFilterOf converts participationTrend's filter.
func trendFilterOf(f *model.ParticipationFilter) projections.TrendFilter {
	if f == nil {
		return projections.TrendFilter{}
	}
	out := projections.TrendFilter{From: deref(f.From), To: deref(f.To), Regions: f.Regions, Municipalities: f.Municipalities,
		Projects: f.Projects, Sectors: categoriesOf(f.Sectors), Sexes: categoriesOf(f.Sexes), AgeBands: categoriesOf(f.AgeBands)}
	for _, t := range f.ActivityTypes {
		out.Types = append(out.Types, string(t))
	}
	if deref(f.ProjectNone) {
		out.Projects = append(out.Projects, "")
	}
	for _, m := range f.EthnicMinority {
		out.EthnicMinority = append(out.EthnicMinority, minorityCategory(m))
	}
	out.Certified = f.Certified
	return out
}

// trendRowOf converts a row of the trend: each value to its dimension's
// field.
func trendRowOf(dims []projections.Dimension, r projections.TrendRow) model.TrendRow {
	out := model.TrendRow{Activities: int(r.Activities), Attendance: int(r.Attendance)}
	for i, d := range dims {
		v := r.Values[i]
		number := func() *int {
			n, _ := strconv.Atoi(v)
			return &n
		}
		switch d {
		case projections.DimYear:
			out.Year = number()
		case projections.DimQuarter:
			out.Quarter = number()
		case projections.DimMonth:
			out.Month = number()
		case projections.DimRegion:
			out.RegionCode = v
		case projections.DimMunicipality:
			out.MunicipalityCode = v
		case projections.DimProject:
			out.ProjectID = v
		case projections.DimActivityType:
			t := activity.Type(v)
			out.ActivityType = &t
		case projections.DimSector:
			s := model.Sector(enumName(v))
			out.Sector = &s
		case projections.DimSex:
			s := model.Sex(enumName(v))
			out.Sex = &s
		case projections.DimCertified:
			c := v == "true"
			out.Certified = &c
		case projections.DimAgeBand:
			a := model.AgeBand(enumName(v))
			out.AgeBand = &a
		case projections.DimEthnicMinority:
			m := minorityOfCategory(v)
			out.EthnicMinority = &m
		}
	}
	return out
}

// activityResult turns an activity command's outcome into its payload: the
// position, and the activity once the read model shows the change.
func (r *Resolver) activityResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.ActivityPayload, error) {
	if err != nil {
		return nil, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.ActivityPayload{Position: pos}
	if err := r.caughtUp(ctx, int64(pos), "activities"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	p.Activity, err = r.deps.Reads.Activity(ctx, id)
	return p, err
}

// projectOf loads a referenced project: null for none, or for one the read
// model does not show yet.
func (r *Resolver) projectOf(ctx context.Context, id string) (*projections.ProjectInfo, error) {
	if id == "" {
		return nil, nil
	}
	p, err := loadersFrom(ctx).projects.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return &p, err
}

// trendCacheSize and trendCacheTTL bound the answers cached: a dashboard
// polls a handful of trends; an answer no poll asked for within the TTL
// is dropped even if the data has not moved.
const (
	trendCacheSize = 512
	trendCacheTTL  = 10 * time.Minute
)

func newTrendCache() *expirable.LRU[string, []projections.PlacedTrendRow] {
	return expirable.NewLRU[string, []projections.PlacedTrendRow](trendCacheSize, nil, trendCacheTTL)
}

// trendReads are the read models a participation trend reads.
var trendReads = []string{"activities", "places", "certification"}

// trend answers a trend query from the cache when the read models it
// reads are as they were when it was answered (the same generations at
// the same positions), else from the read models, caching the answer.
// Polling the same trend then costs a statement only when its data moved.
// The answer is shared: callers must not change it.
func (r *Resolver) trend(ctx context.Context, q projections.TrendQuery) ([]projections.PlacedTrendRow, error) {
	state := ""
	if r.deps.Runner != nil {
		var err error
		if state, err = r.deps.Runner.State(ctx, trendReads...); err != nil {
			return nil, err
		}
	}
	var key string
	if state != "" {
		k, err := json.Marshal(q)
		if err != nil {
			return nil, domain.Wrap(err, "trend cache key")
		}
		key = state + string(k)
		if rows, ok := r.trends.Get(key); ok {
			r.trendHits.Add(1)
			return rows, nil
		}
		r.trendMisses.Add(1)
	}
	rows, err := r.deps.Reads.Trend(ctx, q)
	if err != nil {
		return nil, err
	}
	if key != "" {
		r.trends.Add(key, rows)
	}
	return rows, nil
}

// TrendCache reports how many participation trends the cache answered
// (hits) and how many it passed to the read models (misses), for
// /metrics and tests.
func (s *Server) TrendCache() (hits, misses int64) {
	return s.resolver.trendHits.Load(), s.resolver.trendMisses.Load()
}

// trendQueryOf converts participationTrend's arguments, as the query and
// the subscription take them.
func trendQueryOf(groupBy []projections.Dimension, filter *model.ParticipationFilter, perCapita *bool, orderBy []model.TrendOrder, limit *int) (projections.TrendQuery, error) {
	q := projections.TrendQuery{GroupBy: groupBy, Filter: trendFilterOf(filter), PerCapita: deref(perCapita), Limit: deref(limit)}
	if limit != nil && *limit < 1 {
		return q, domain.InvalidField("limit", "%d is outside 1..%d", *limit, projections.MaxTrendRows)
	}
	for _, o := range orderBy {
		q.OrderBy = append(q.OrderBy, projections.TrendOrder{Key: o.By, Desc: deref(o.Desc)})
	}
	return q, nil
}

// trendRowsOf converts a trend's rows.
func trendRowsOf(groupBy []projections.Dimension, rows []projections.PlacedTrendRow) []model.TrendRow {
	out := make([]model.TrendRow, len(rows))
	for i, row := range rows {
		out[i] = trendRowOf(groupBy, row.TrendRow)
		if row.Population != nil {
			p := int(*row.Population)
			out[i].Population, out[i].AttendancePer1000 = &p, row.PerThousand
		}
	}
	return out
}

// trendEvery is how often at most a trend subscription sends: a chart
// redrawn more than once a second shows nothing more, and a busy log
// would otherwise have every subscriber re-read its trend per batch.
const trendEvery = time.Second

// trendUpdates sends q's answer now, then whenever the read models it
// reads have moved and the answer differs from the last sent, at most
// once per trendEvery. It takes the runner's change signal before
// reading, so a change made during the read is not missed; the reads go
// through the answer cache, so subscribers to the same trend share one
// statement per change. A bad query is refused at once, as the query
// refuses it. The channel closes when the client leaves or the trend
// cannot be read.
func (r *Resolver) trendUpdates(ctx context.Context, q projections.TrendQuery) (<-chan []model.TrendRow, error) {
	first, err := r.trend(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make(chan []model.TrendRow, 1)
	go func() {
		defer close(out)
		rows := first
		var last []projections.PlacedTrendRow
		for sent := false; ; {
			if !sent || !reflect.DeepEqual(rows, last) {
				select {
				case out <- trendRowsOf(q.GroupBy, rows):
					last, sent = rows, true
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-time.After(trendEvery):
			case <-ctx.Done():
				return
			}
			var changed <-chan struct{}
			if r.deps.Runner != nil {
				changed = r.deps.Runner.Changed()
			}
			if rows, err = r.trend(ctx, q); err != nil {
				return
			}
			if reflect.DeepEqual(rows, last) {
				select {
				case <-changed:
				case <-ctx.Done():
					return
				}
				if rows, err = r.trend(ctx, q); err != nil {
					return
				}
			}
		}
	}()
	return out, nil
}
