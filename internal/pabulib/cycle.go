package pabulib

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/project"
)

// FromCycle writes one pot of a cycle whose results are declared as a
// pabulib instance: its META (the unit, the budget, the ballot's rules,
// the counting rule, the voting days), its PROJECTS (cost, votes, the
// winners as selected) and its VOTES (each published ballot, numbered in
// the canonical order PublishedBallots gives). municipality is the
// municipality's English name for the unit.
func FromCycle(c *budgeting.Cycle, municipality, pot string, ballots []budgeting.Ballot, titles map[string]domain.LocalizedText) (*Instance, error) {
	p, ok := c.Pot(pot)
	if !ok {
		return nil, fmt.Errorf("%s has no pot %q", c.ID(), pot)
	}
	res := c.Results()
	if res == nil {
		return nil, fmt.Errorf("%s has no declared results", c.ID())
	}
	var result budgeting.PotResult
	for _, r := range res.Pots {
		if r.Pot == pot {
			result = r
		}
	}
	exp := project.Exponent(c.Currency())
	amount := func(minor int64) string { return decimal(minor, exp) }
	rules := c.Rules()
	if v, ok := c.RulesVersion(res.RulesVersion); ok {
		rules = v
	}
	in := &Instance{Meta: Table{Columns: []string{"key", "value"}}}
	var n int
	for _, b := range ballots {
		if b.Pot == pot {
			n++
		}
	}
	var projects []budgeting.BallotProject
	for _, bp := range c.Ballot() {
		if bp.Pot == pot {
			projects = append(projects, bp)
		}
	}
	voting, _ := c.Phase(budgeting.Voting)
	// In the order the format's checker lists its fields.
	meta := [][2]string{
		{"description", fmt.Sprintf("Participatory budget of %s, %d, %s (Civic Ledger cycle %s)", municipality, c.Year(), p.Name.En, c.ID())},
		{"country", "Georgia"},
		{"unit", municipality},
		{"subunit", p.Name.En},
		{"instance", strconv.Itoa(c.Year())},
		{"num_projects", strconv.Itoa(len(projects))},
		{"num_votes", strconv.Itoa(n)},
		{"budget", amount(p.Amount)},
		{"vote_type", voteType(rules.Ballot)},
		{"rule", ruleName(rules.Counting)},
		{"date_begin", dotted(voting.Start)},
		{"date_end", dotted(voting.End)},
		{"min_length", strconv.Itoa(max(rules.MinProjects, 1))},
	}
	if rules.MaxProjects > 0 {
		meta = append(meta, [2]string{"max_length", strconv.Itoa(rules.MaxProjects)})
	}
	if rules.Ballot == budgeting.Knapsack {
		meta = append(meta, [2]string{"max_sum_cost", amount(p.Amount)})
	}
	if rules.Ballot == budgeting.Cumulative {
		meta = append(meta, [2]string{"max_sum_points", strconv.FormatInt(rules.MaxPoints, 10)})
	}
	meta = append(meta, [2]string{"language", "ka"}, [2]string{"currency", c.Currency()})
	for _, kv := range meta {
		in.Meta.Rows = append(in.Meta.Rows, []string{kv[0], kv[1]})
	}
	// Votes are supporters on an approval ballot, points ("score") on a
	// cumulative one.
	count := "votes"
	if rules.Ballot == budgeting.Cumulative {
		count = "score"
	}
	in.Projects.Columns = []string{"project_id", count, "cost", "name", "selected"}
	for _, bp := range projects {
		sel := "0"
		for _, w := range result.Winners {
			if w == bp.Idea {
				sel = "1"
			}
		}
		name := titles[bp.Idea].En
		if name == "" {
			name = titles[bp.Idea].Ka
		}
		in.Projects.Rows = append(in.Projects.Rows, []string{bp.Idea, strconv.FormatInt(result.Votes[bp.Idea], 10), amount(bp.Cost), name, sel})
	}
	in.Votes.Columns = []string{"voter_id", "vote"}
	if rules.Ballot == budgeting.Cumulative {
		in.Votes.Columns = append(in.Votes.Columns, "points")
	}
	k := 0
	for _, b := range ballots {
		if b.Pot != pot {
			continue
		}
		k++
		row := []string{strconv.Itoa(k), strings.Join(b.Projects, ",")}
		if rules.Ballot == budgeting.Cumulative {
			pts := make([]string, len(b.Points))
			for i, x := range b.Points {
				pts[i] = strconv.FormatInt(x, 10)
			}
			row = append(row, strings.Join(pts, ","))
		}
		in.Votes.Rows = append(in.Votes.Rows, row)
	}
	return in, nil
}

func voteType(k budgeting.BallotKind) string {
	if k == budgeting.Cumulative {
		return "cumulative"
	}
	// A knapsack ballot is an approval ballot with a cost limit
	// (max_sum_cost), as Warsaw's are written.
	return "approval"
}

// ruleName is the counting rule as pabulib names it.
func ruleName(c budgeting.Counting) string {
	switch {
	case c.Method == budgeting.Greedy:
		return "greedy"
	case c.Step > 0:
		return "equalshares/add1"
	}
	return "equalshares"
}

// dotted writes a day as pabulib does: 08.12.2023.
func dotted(day string) string {
	t, err := time.Parse(domain.DateLayout, day)
	if err != nil {
		return day
	}
	return t.Format("02.01.2006")
}

// decimal writes minor units as a plain decimal, without a fraction when
// it is zero ("8500", "8500.5").
func decimal(minor int64, exp int) string {
	if exp == 0 {
		return strconv.FormatInt(minor, 10)
	}
	unit := int64(1)
	for range exp {
		unit *= 10
	}
	neg := ""
	if minor < 0 {
		neg, minor = "-", -minor
	}
	whole, frac := minor/unit, minor%unit
	if frac == 0 {
		return neg + strconv.FormatInt(whole, 10)
	}
	f := strings.TrimRight(fmt.Sprintf("%0*d", exp, frac), "0")
	return neg + strconv.FormatInt(whole, 10) + "." + f
}

// Election is an instance as a count takes it: its money, its projects,
// its ballots, the counting rule its META names, and the winners it
// published (selected).
type Election struct {
	Counting   budgeting.Counting
	Budget     int64
	Candidates []budgeting.Candidate
	Ballots    []budgeting.Vote
	Selected   []string
}

// ErrUnsupported is wrapped by Election's errors about instances Civic
// Ledger does not count: ranked ballots, and rules other than greedy and
// Equal Shares.
var ErrUnsupported = fmt.Errorf("%w: not counted here", ErrFormat)

// Election reads in as a count takes it. Amounts become minor units with
// two decimals, the library's currencies' (PLN, EUR); "equalshares/add1"
// raises each share by one unit (100 minor units) at a time.
func (in *Instance) Election() (Election, error) {
	var e Election
	switch rule := in.MetaValue("rule"); rule {
	case "greedy":
		e.Counting = budgeting.Counting{Method: budgeting.Greedy}
	case "equalshares":
		e.Counting = budgeting.Counting{Method: budgeting.EqualShares, Utility: budgeting.CostUtility}
	case "equalshares/add1":
		e.Counting = budgeting.Counting{Method: budgeting.EqualShares, Utility: budgeting.CostUtility, Step: 100}
	default:
		return e, fmt.Errorf("%w: rule %q (greedy, equalshares and equalshares/add1 are)", ErrUnsupported, rule)
	}
	vt := in.MetaValue("vote_type")
	if vt != "approval" && vt != "cumulative" {
		return e, fmt.Errorf("%w: vote_type %q (approval and cumulative ballots are)", ErrUnsupported, vt)
	}
	var err error
	if e.Budget, err = Amount("budget", in.MetaValue("budget"), 2); err != nil {
		return e, err
	}
	for i := range in.Projects.Rows {
		id := in.Projects.Get(i, "project_id")
		cost, err := Amount("cost of "+id, in.Projects.Get(i, "cost"), 2)
		if err != nil {
			return e, err
		}
		e.Candidates = append(e.Candidates, budgeting.Candidate{ID: id, Cost: cost})
		if in.Projects.Get(i, "selected") == "1" {
			e.Selected = append(e.Selected, id)
		}
	}
	cumulative := vt == "cumulative"
	for i := range in.Votes.Rows {
		v := budgeting.Vote{Projects: List(in.Votes.Get(i, "vote"))}
		if cumulative {
			for _, p := range List(in.Votes.Get(i, "points")) {
				n, err := Int("points", p)
				if err != nil {
					return e, err
				}
				v.Points = append(v.Points, n)
			}
		}
		e.Ballots = append(e.Ballots, v)
	}
	return e, nil
}
