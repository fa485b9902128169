package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph/model"
	"github.com/civicledger/civicledger/graph/scalar"
	"github.com/civicledger/civicledger/projections"
	"github.com/vikstrous/dataloadgen"
)

// The read model keeps a cycle's amounts in minor units of its currency,
// which only the cycle knows; the API shows Money, so every amount is
// converted with the currency of the cycle it belongs to (an idea's, by
// loading its cycle once per request).

// budgetMoney is an amount of a cycle: minor units of its currency.
func budgetMoney(currency string, minor int64) *model.Money {
	return moneyOf(project.Money{Minor: minor, Currency: currency})
}

// budgetCyclesByID loads cycles by ID for the loader: a request shows the
// ideas of one cycle, or a few, so one query each is all it takes.
func budgetCyclesByID(reads *projections.Reads) func(context.Context, []string) (map[string]projections.BudgetCycle, error) {
	return func(ctx context.Context, ids []string) (map[string]projections.BudgetCycle, error) {
		out := make(map[string]projections.BudgetCycle, len(ids))
		for _, id := range ids {
			c, err := reads.BudgetCycle(ctx, id)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out[id] = *c
			}
		}
		return out, nil
	}
}

// cycleIdeasByID loads every idea of each cycle, by ID, a page of the
// read model at a time: a ballot and its results name a few dozen ideas
// of one cycle, which one or two pages hold.
func cycleIdeasByID(reads *projections.Reads) func(context.Context, []string) (map[string]map[string]projections.BudgetIdea, error) {
	return func(ctx context.Context, cycles []string) (map[string]map[string]projections.BudgetIdea, error) {
		out := make(map[string]map[string]projections.BudgetIdea, len(cycles))
		for _, cycle := range cycles {
			ideas := map[string]projections.BudgetIdea{}
			page := projections.Page{First: projections.MaxPage}
			for {
				p, err := reads.BudgetIdeas(ctx, projections.BudgetIdeaFilter{Cycle: cycle}, page)
				if err != nil {
					return nil, err
				}
				for _, i := range p.Nodes {
					ideas[i.ID] = i
				}
				if !p.HasNext || len(p.Cursors) == 0 {
					break
				}
				page.After = p.Cursors[len(p.Cursors)-1]
			}
			out[cycle] = ideas
		}
		return out, nil
	}
}

// budgetCycleOf loads a cycle a shown object refers to (an idea's, a
// recount's). The read model applies a cycle before its ideas, so one
// missing is a read model behind the log: a CONFLICT to retry.
func (r *Resolver) budgetCycleOf(ctx context.Context, id string) (*projections.BudgetCycle, error) {
	c, err := loadersFrom(ctx).budgetCycles.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, domain.Errorf(domain.Conflict, "the read models do not show cycle %s yet; try again shortly", id)
	}
	return &c, err
}

// ideasOf returns the ideas a ballot or a count names, in their order, from
// the cycle's ideas. An idea is submitted long before it is on a ballot,
// so one missing is a read model behind the log: a CONFLICT to retry.
func (r *Resolver) ideasOf(ctx context.Context, cycle string, ids []string) ([]projections.BudgetIdea, error) {
	all, err := loadersFrom(ctx).cycleIdeas.Load(ctx, cycle)
	if err != nil {
		return nil, err
	}
	out := make([]projections.BudgetIdea, len(ids))
	for k, id := range ids {
		i, ok := all[id]
		if !ok {
			return nil, domain.Errorf(domain.Conflict, "the read models do not show idea %s of %s yet; try again shortly", id, cycle)
		}
		out[k] = i
	}
	return out, nil
}

// ballotOf is a cycle's ballot with its ideas.
func (r *Resolver) ballotOf(ctx context.Context, c *projections.BudgetCycle) ([]model.BallotProject, error) {
	out := make([]model.BallotProject, len(c.Ballot))
	if len(c.Ballot) == 0 {
		return out, nil
	}
	ids := make([]string, len(c.Ballot))
	for k, bp := range c.Ballot {
		ids[k] = bp.Idea
	}
	ideas, err := r.ideasOf(ctx, c.ID, ids)
	if err != nil {
		return nil, err
	}
	for k, bp := range c.Ballot {
		out[k] = model.BallotProject{Idea: &ideas[k], Pot: bp.Pot, Cost: budgetMoney(c.Currency, bp.Cost)}
	}
	return out, nil
}

// potResultsOf converts counted pots (declared or recounted) with their
// ideas: the winners in the order the method chose them, and the votes
// most first, then by idea, so that a list reads the same every time.
func (r *Resolver) potResultsOf(ctx context.Context, c *projections.BudgetCycle, pots []budgeting.PotResult) ([]model.PotResult, error) {
	out := make([]model.PotResult, len(pots))
	for k, p := range pots {
		winners, err := r.ideasOf(ctx, c.ID, p.Winners)
		if err != nil {
			return nil, err
		}
		voted := slices.SortedFunc(maps.Keys(p.Votes), func(a, b string) int {
			return cmp.Or(cmp.Compare(p.Votes[b], p.Votes[a]), cmp.Compare(a, b))
		})
		ideas, err := r.ideasOf(ctx, c.ID, voted)
		if err != nil {
			return nil, err
		}
		votes := make([]model.IdeaVotes, len(voted))
		for i, id := range voted {
			votes[i] = model.IdeaVotes{Idea: &ideas[i], Votes: int(p.Votes[id])}
		}
		out[k] = model.PotResult{Pot: p.Pot, Budget: budgetMoney(c.Currency, p.Budget), Spent: budgetMoney(c.Currency, p.Spent),
			Ballots: p.Ballots, Winners: winners, Votes: votes}
	}
	return out, nil
}

// ideaStatuses are the statuses in the order the schema lists them.
var ideaStatuses = []budgeting.IdeaStatus{budgeting.Submitted, budgeting.Feasible, budgeting.Infeasible,
	budgeting.Appealed, budgeting.Withdrawn, budgeting.Merged}

// categoryCounts converts a breakdown of voters: the categories in the
// order known (then any other, by name), unrecorded last, as enum names
// (FEMALE, AGE_18_29, UNRECORDED) like an activity's attendance.
func categoryCounts(counts map[string]int, known []string) []model.CategoryCount {
	const unrecorded = "unrecorded" // projections.BudgetStats' name for ""
	order := slices.Clone(known)
	for _, c := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(known, c) && c != unrecorded {
			order = append(order, c)
		}
	}
	out := []model.CategoryCount{}
	for _, c := range append(order, unrecorded) {
		if n, ok := counts[c]; ok {
			out = append(out, model.CategoryCount{Category: enumName(c), Count: n})
		}
	}
	return out
}

// statisticsOf converts a cycle's figures; turnout is a fraction of the
// eligible, unknown (null) when they are.
func statisticsOf(c *projections.BudgetCycle, s *projections.BudgetStats) *model.BudgetStatistics {
	out := &model.BudgetStatistics{Ideas: s.Submitted, ByStatus: []model.IdeaStatusCount{}, OnBallot: s.OnBallot,
		Voters: s.Voters, Online: s.Online, Paper: s.Paper,
		BySex: categoryCounts(s.BySex, activity.Sexes), ByAgeBand: categoryCounts(s.ByAgeBand, activity.AgeBands),
		Pots: make([]model.PotStatistics, len(s.Pots))}
	for _, st := range ideaStatuses {
		if n := s.Ideas[st]; n > 0 {
			out.ByStatus = append(out.ByStatus, model.IdeaStatusCount{Status: st, Count: n})
		}
	}
	var source model.EligibleSource
	switch s.EligibleSource {
	case "recorded":
		source = model.EligibleSourceRecorded
	case "census_2014":
		source = model.EligibleSourceCensus2014
	}
	if source != "" {
		n := int(s.Eligible)
		out.Eligible, out.EligibleSource = &n, &source
		if n > 0 {
			t := float64(s.Voters) / float64(n)
			out.Turnout = &t
		}
	}
	for k, p := range s.Pots {
		out.Pots[k] = model.PotStatistics{Pot: p.Pot, Amount: budgetMoney(c.Currency, p.Amount), Ideas: p.Ideas, Voters: p.Voters}
	}
	if d := s.Delivery; d != nil {
		out.Delivery = &model.DeliveryRollup{Winners: d.Winners, ByStatus: []model.DeliveryStatusCount{}, Unreported: d.ByStatus[""],
			Progress: d.Progress, Cost: budgetMoney(c.Currency, d.Cost), Spent: budgetMoney(c.Currency, d.Spent)}
		for _, st := range []budgeting.DeliveryStatus{budgeting.Planned, budgeting.Procurement, budgeting.InProgress, budgeting.Completed, budgeting.Abandoned} {
			if n := d.ByStatus[string(st)]; n > 0 {
				out.Delivery.ByStatus = append(out.Delivery.ByStatus, model.DeliveryStatusCount{Status: st, Count: n})
			}
		}
	}
	return out
}

// resultsOf converts a cycle's declared results.
func (r *Resolver) resultsOf(ctx context.Context, c *projections.BudgetCycle) (*model.BudgetResults, error) {
	d := c.Results
	pots, err := r.potResultsOf(ctx, c, d.Pots)
	if err != nil {
		return nil, err
	}
	return &model.BudgetResults{RulesVersion: d.RulesVersion, UpTo: scalar.Position(d.UpTo), InputsDigest: d.InputsDigest,
		DeclaredOn: d.On, Pots: pots}, nil
}

// deliveryOf is a winner's delivery as last reported, nil before any.
func deliveryOf(c *projections.BudgetCycle, i *projections.BudgetIdea) *model.BudgetDelivery {
	if i.Delivery == "" {
		return nil
	}
	return &model.BudgetDelivery{Status: i.Delivery, Progress: i.Progress, Spent: budgetMoney(c.Currency, i.Spent),
		Milestone: nonEmpty(i.Milestone), Documents: nonNil(i.Documents), ReportedOn: i.DeliveredOn}
}

// budgetCyclesPage converts a page of cycles.
func budgetCyclesPage(page projections.BudgetCyclePage) *model.BudgetCycleConnection {
	c := &model.BudgetCycleConnection{Edges: make([]model.BudgetCycleEdge, len(page.Nodes)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i := range page.Nodes {
		c.Edges[i] = model.BudgetCycleEdge{Cursor: page.Cursors[i], Node: &page.Nodes[i]}
	}
	if n := len(page.Cursors); n > 0 {
		c.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return c
}

// budgetIdeasPage converts a page of ideas.
func budgetIdeasPage(page projections.BudgetIdeaPage) *model.BudgetIdeaConnection {
	c := &model.BudgetIdeaConnection{Edges: make([]model.BudgetIdeaEdge, len(page.Nodes)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i := range page.Nodes {
		c.Edges[i] = model.BudgetIdeaEdge{Cursor: page.Cursors[i], Node: &page.Nodes[i]}
	}
	if n := len(page.Cursors); n > 0 {
		c.PageInfo.EndCursor = &page.Cursors[n-1]
	}
	return c
}

// voterStream matches the stream of a voter's online ballots, which
// holds the voter's pseudonym (budgeting.VoterStream).
var voterStream = regexp.MustCompile(`ballot_[a-z0-9_]+-v[0-9a-f]+`)

// recountVerification checks the events a recount read against the log:
// the cycle's own (its pots, rules, ballot and results) and its ballots
// up to the position the results recorded, each one's leaf hash against
// the one stored at its position, each stream's versions one after the
// other (eventstore.Auditor.CheckEvents). A problem found in a voter's
// stream is told without the stream, whose name holds the voter's
// pseudonym.
func (r *Resolver) recountVerification(ctx context.Context, cycle string, upTo int64) (*model.LogVerification, error) {
	auditor, ok := r.deps.Store.(eventstore.Auditor)
	if !ok {
		return verificationOf(nil), nil
	}
	events, err := r.deps.Store.ReadStream(ctx, budgeting.CycleStream(cycle), eventstore.ReadOptions{})
	if err != nil {
		return nil, domain.Wrap(err, "read cycle "+cycle)
	}
	var after int64
	for {
		page, err := r.deps.Store.ReadCategory(ctx, budgeting.BallotCategory(cycle), after, eventstore.MaxReadLimit)
		if err != nil {
			return nil, domain.Wrap(err, "read the ballots of "+cycle)
		}
		for _, e := range page {
			if e.Position > upTo {
				break
			}
			events = append(events, e)
		}
		if len(page) < eventstore.MaxReadLimit || page[len(page)-1].Position >= upTo {
			break
		}
		after = page[len(page)-1].Position
	}
	if !slices.ContainsFunc(events, func(e eventstore.Event) bool { return e.Position > 0 }) {
		return verificationOf(nil), nil
	}
	_, v, err := auditor.CheckEvents(ctx, events)
	if err != nil {
		return nil, domain.Wrap(err, "verify the log")
	}
	if voterStream.MatchString(v.Problem) {
		v.Problem = "an online ballot, or its log entry, was altered, or ballots of its voter were deleted (the voter's stream is not named: its name holds their pseudonym)"
	}
	return verificationOf(&v), nil
}

// recountOf converts a recount of cycle c.
func (r *Resolver) recountOf(ctx context.Context, c *projections.BudgetCycle, rc budgeting.Recount) (*model.CycleRecount, error) {
	out := &model.CycleRecount{Cycle: c.ID, Verdict: rc.Verdict, Ballots: rc.Ballots, Pots: []model.PotResult{}, Problems: nonNil(rc.Problems)}
	if rc.Declared == nil {
		return out, nil
	}
	d := rc.Declared
	upTo := scalar.Position(d.UpTo)
	out.RulesVersion, out.UpTo, out.DeclaredDigest = &d.RulesVersion, &upTo, &d.InputsDigest
	out.InputsDigest = nonEmpty(rc.InputsDigest)
	pots, err := r.potResultsOf(ctx, c, rc.Pots)
	if err != nil {
		return nil, err
	}
	out.Pots = pots
	if out.Verification, err = r.recountVerification(ctx, c.ID, d.UpTo); err != nil {
		return nil, err
	}
	return out, nil
}

// budgetRulesInput converts voting and counting rules given; bounds left
// out are 0, none.
func budgetRulesInput(in *model.BudgetRulesInput) budgeting.Rules {
	if in == nil {
		return budgeting.Rules{}
	}
	out := budgeting.Rules{Ballot: in.Ballot, MinProjects: deref(in.MinProjects), MaxProjects: deref(in.MaxProjects),
		MinSpendPercent: deref(in.MinSpendPercent), MaxPoints: int64(deref(in.MaxPoints)), SecondBallot: in.SecondBallot}
	if c := in.Counting; c != nil {
		out.Counting = budgeting.Counting{Method: c.Method, Utility: deref(c.Utility), Step: int64(deref(c.Step)), Threshold: int64(deref(c.Threshold))}
	}
	return out
}

// budgetPhasesInput converts a calendar given.
func budgetPhasesInput(in []model.BudgetPhaseInput) []budgeting.Phase {
	out := make([]budgeting.Phase, len(in))
	for i, p := range in {
		out[i] = budgeting.Phase{Kind: p.Kind, Start: p.Start, End: p.End}
	}
	return out
}

// openCycleInput converts a new cycle: each pot's amount is read exactly
// (project.ParseMoney) and must be in the cycle's currency; every amount
// wrong is reported at once, each naming its field.
func openCycleInput(in model.OpenBudgetCycleInput) (budgeting.OpenCycle, error) {
	cmd := budgeting.OpenCycle{Municipality: in.Municipality, Year: in.Year, Title: localized(in.Title), Currency: in.Currency,
		Phases: budgetPhasesInput(in.Phases), Rules: budgetRulesInput(in.Rules)}
	var p domain.Problems
	for i, pot := range in.Pots {
		field := fmt.Sprintf("pots[%d].amount", i)
		var amount project.Money
		if pot.Amount != nil {
			m, err := moneyInput(field, *pot.Amount)
			if !p.Add(err) {
				continue
			}
			if m.Currency != in.Currency {
				p.Add(domain.InvalidField(field+".currency", "%q: the cycle's amounts are in %s", m.Currency, in.Currency))
				continue
			}
			amount = m
		}
		cmd.Pots = append(cmd.Pots, budgeting.Pot{Code: pot.Code, Name: localized(pot.Name), Amount: amount.Minor, Population: int64(deref(pot.Population))})
	}
	for _, c := range in.Categories {
		cmd.Categories = append(cmd.Categories, budgeting.Category{Code: c.Code, Name: localized(c.Name)})
	}
	if e := in.Eligibility; e != nil {
		cmd.Eligibility = budgeting.Eligibility{MinAge: e.MinAge, Residence: deref(e.Residence)}
	}
	return cmd, p.Err()
}

// pointsInput converts a ballot's points: nil when left out, which is
// what a ballot other than a cumulative one must give.
func pointsInput(in []int) []int64 {
	if in == nil {
		return nil
	}
	out := make([]int64, len(in))
	for i, p := range in {
		out[i] = int64(p)
	}
	return out
}

// paperBatchInput converts a paper batch; a project twice on the tally
// sheet is refused, naming it, rather than one count silently winning.
func paperBatchInput(in model.PaperBatchInput) (budgeting.EnterPaperBatch, error) {
	cmd := budgeting.EnterPaperBatch{Cycle: in.Cycle, Pot: in.Pot, Batch: in.Batch, Place: in.Place, On: in.On}
	for _, b := range in.Ballots {
		cmd.Ballots = append(cmd.Ballots, budgeting.PaperBallot{Projects: b.Projects, Points: pointsInput(b.Points),
			Sex: optionalCategory(b.Sex), AgeBand: optionalCategory(b.AgeBand)})
	}
	var p domain.Problems
	if t := in.Tally; t != nil {
		cmd.Tally = budgeting.Tally{Ballots: t.Ballots, Votes: map[string]int64{}}
		for i, v := range t.Votes {
			if _, twice := cmd.Tally.Votes[v.Idea]; twice {
				p.Add(domain.InvalidField(fmt.Sprintf("tally.votes[%d].idea", i), "%s twice on the sheet", v.Idea))
			}
			cmd.Tally.Votes[v.Idea] = int64(v.Votes)
		}
	}
	return cmd, p.Err()
}

// budgetCycleResult turns a cycle command's outcome into its payload: the
// position, and the cycle once the read model shows the change.
func (r *Resolver) budgetCycleResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.BudgetCyclePayload, error) {
	if err != nil {
		return nil, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.BudgetCyclePayload{Position: pos}
	if err := r.caughtUp(ctx, int64(pos), "budgeting"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	p.Cycle, err = r.deps.Reads.BudgetCycle(ctx, id)
	return p, err
}

// budgetIdeaResult turns an idea command's outcome into its payload: the
// position, and the idea once the read model shows the change.
func (r *Resolver) budgetIdeaResult(ctx context.Context, id string, res eventstore.AppendResult, err error) (*model.BudgetIdeaPayload, error) {
	if err != nil {
		return nil, err
	}
	pos, err := r.mutationPosition(ctx, res)
	if err != nil {
		return nil, err
	}
	p := &model.BudgetIdeaPayload{Position: pos}
	if err := r.caughtUp(ctx, int64(pos), "budgeting"); err != nil {
		graphql.AddError(ctx, err)
		return p, nil
	}
	p.Idea, err = r.deps.Reads.BudgetIdea(ctx, id)
	return p, err
}

// turnoutEvery is how often at most a turnout subscription sends: four
// times a second, however busy the voting, as projectionStatus.
const turnoutEvery = 250 * time.Millisecond

// cycleTurnout sends cycle's counts now, then whenever the read model has
// applied a batch that changed them. It takes the runner's change signal
// before reading, so a change made during the read is not missed, and
// sends only counts that differ from the last sent. The channel closes
// when the client leaves or the counts cannot be read.
func (r *Resolver) cycleTurnout(ctx context.Context, cycle string) (<-chan *model.CycleTurnout, error) {
	if s, err := r.deps.Reads.BudgetStats(ctx, cycle); err != nil || s == nil {
		if err == nil {
			err = domain.Errorf(domain.NotFound, "no participatory budget cycle %s", cycle)
		}
		return nil, err
	}
	out := make(chan *model.CycleTurnout, 1)
	go func() {
		defer close(out)
		var last model.CycleTurnout
		for sent := false; ; {
			changed := r.deps.Runner.Changed()
			s, err := r.deps.Reads.BudgetStats(ctx, cycle)
			if err != nil || s == nil {
				return
			}
			t := model.CycleTurnout{Cycle: cycle, Voters: s.Voters, Online: s.Online, Paper: s.Paper}
			if !sent || t != last {
				select {
				case out <- &t:
					last, sent = t, true
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
			select {
			case <-time.After(turnoutEvery):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// budgetTrendFilterOf converts budgetingTrend's filter.
func budgetTrendFilterOf(f *model.BudgetTrendFilter) projections.BudgetTrendFilter {
	if f == nil {
		return projections.BudgetTrendFilter{}
	}
	out := projections.BudgetTrendFilter{FromYear: deref(f.FromYear), ToYear: deref(f.ToYear), Regions: f.Regions,
		Municipalities: f.Municipalities, Sexes: categoriesOf(f.Sexes), AgeBands: categoriesOf(f.AgeBands)}
	for _, c := range f.Channels {
		out.Channels = append(out.Channels, string(c))
	}
	return out
}

// budgetTrendRowOf converts a row of budgetingTrend: each value to its
// dimension's field, and the cycles' figures when there are.
func budgetTrendRowOf(dims []projections.BudgetDimension, r projections.BudgetTrendRow) model.BudgetTrendRow {
	out := model.BudgetTrendRow{Cycles: int(r.Cycles), Voters: int(r.Voters)}
	for i, d := range dims {
		v := r.Values[i]
		switch d {
		case projections.BudgetYear:
			n, _ := strconv.Atoi(v)
			out.Year = &n
		case projections.BudgetRegion:
			out.RegionCode = v
		case projections.BudgetMunicipality:
			out.MunicipalityCode = v
		case projections.BudgetChannel:
			c := budgeting.Channel(v)
			out.Channel = &c
		case projections.BudgetSex:
			s := model.Sex(enumName(v))
			out.Sex = &s
		case projections.BudgetAgeBand:
			a := model.AgeBand(enumName(v))
			out.AgeBand = &a
		}
	}
	if r.Ideas != nil {
		ideas, pop := int(*r.Ideas), int(*r.Population)
		out.Ideas, out.Population = &ideas, &pop
		out.Amount = moneyOf(project.Money{Minor: *r.Amount, Currency: "GEL"})
		if pop > 0 {
			t := float64(r.Voters) / float64(pop)
			out.Turnout = &t
		}
	}
	return out
}
