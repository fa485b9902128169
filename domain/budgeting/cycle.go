package budgeting

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// CycleID is the ID of municipality's cycle of year: "keda-2023".
func CycleID(municipality string, year int) string { return municipality + "-" + strconv.Itoa(year) }

// CycleStream is the stream of a cycle: its calendar, rules, ballot and
// results.
func CycleStream(id string) string { return "budget_cycle-" + id }

// IdeaStream is the stream of an idea, from its submission to its
// delivery if it wins.
func IdeaStream(id string) string { return "budget_idea-" + id }

// BallotCategory is the event store category of a cycle's ballots: one
// stream per voter, one per paper batch, all read together by a count
// (eventstore.Store.ReadCategory).
func BallotCategory(cycle string) string { return "ballot_" + strings.ReplaceAll(cycle, "-", "_") }

// VoterStream is the stream of one voter's ballots in a cycle.
func VoterStream(cycle, pseudonym string) string { return BallotCategory(cycle) + "-v" + pseudonym }

// PaperStream is the stream of a paper batch.
func PaperStream(cycle, batch string) string { return BallotCategory(cycle) + "-paper." + batch }

// Cycle is a municipality's participatory budget for a year, as its
// stream tells it.
type Cycle struct {
	id           string
	municipality string
	year         int
	currency     string
	pots         []Pot
	phases       []Phase
	categories   []Category
	eligibility  Eligibility
	rules        Rules
	versions     map[int]Rules
	ballot       []BallotProject
	results      *ResultsDeclared
	closed       string // the day the ballots were closed, "" before
	source       string
	unit         string
}

// ID returns the cycle's ID, "" before it was opened.
func (c *Cycle) ID() string { return c.id }

// Municipality returns the cycle's municipality.
func (c *Cycle) Municipality() string { return c.municipality }

// Year returns the cycle's year.
func (c *Cycle) Year() int { return c.year }

// Unit returns the name of an imported cycle's place outside the
// registry, "" for a Georgian municipality's.
func (c *Cycle) Unit() string { return c.unit }

// Currency returns the ISO 4217 code every amount of the cycle is in.
func (c *Cycle) Currency() string { return c.currency }

// Pots returns the cycle's pots.
func (c *Cycle) Pots() []Pot { return c.pots }

// Pot returns the pot of code and whether there is one.
func (c *Cycle) Pot(code string) (Pot, bool) {
	i := slices.IndexFunc(c.pots, func(p Pot) bool { return p.Code == code })
	if i < 0 {
		return Pot{}, false
	}
	return c.pots[i], true
}

// Phases returns the calendar.
func (c *Cycle) Phases() []Phase { return c.phases }

// Rules returns the rules in force.
func (c *Cycle) Rules() Rules { return c.rules }

// RulesVersion returns version v of the rules, as a recount needs them.
func (c *Cycle) RulesVersion(v int) (Rules, bool) {
	r, ok := c.versions[v]
	return r, ok
}

// Ballot returns the projects on the ballot, nil before it is published.
func (c *Cycle) Ballot() []BallotProject { return c.ballot }

// Results returns the declared results, nil before they are.
func (c *Cycle) Results() *ResultsDeclared { return c.results }

// Phase returns the phase of kind, and whether the cycle has it.
func (c *Cycle) Phase(kind PhaseKind) (Phase, bool) {
	i := slices.IndexFunc(c.phases, func(p Phase) bool { return p.Kind == kind })
	if i < 0 {
		return Phase{}, false
	}
	return c.phases[i], true
}

// PhaseOn returns the phase day falls in, "" when none does (before the
// cycle, between phases, or after delivery ends).
func (c *Cycle) PhaseOn(day string) PhaseKind {
	for _, p := range c.phases {
		if p.Start <= day && day <= p.End {
			return p.Kind
		}
	}
	return ""
}

// Apply implements domain.Aggregate.
func (c *Cycle) Apply(e domain.Event) error {
	switch e := e.(type) {
	case CycleOpened:
		if c.id != "" {
			return fmt.Errorf("cycle %s: opened twice", c.id)
		}
		*c = Cycle{id: e.ID, municipality: e.Municipality, year: e.Year, currency: e.Currency, pots: e.Pots, phases: e.Phases,
			categories: e.Categories, eligibility: e.Eligibility, rules: e.Rules, versions: map[int]Rules{e.Rules.Version: e.Rules},
			source: e.Source, unit: e.Unit}
	case CycleRulesChanged:
		c.rules = e.Rules
		c.versions[e.Rules.Version] = e.Rules
	case PhasesRescheduled:
		c.phases = e.Phases
	case BallotPublished:
		c.ballot = e.Projects
	case BallotsClosed:
		c.closed = e.On
	case ResultsDeclared:
		c.results = &e
	default:
		return fmt.Errorf("cycle %s: unknown event %s", c.id, e.EventType())
	}
	return nil
}

// checkPhases checks a calendar: known kinds in their order, each at most
// once and with its days in order, none overlapping the next, and the
// four a cycle cannot do without (proposing, reviewing, voting,
// delivering).
func checkPhases(field string, phases []Phase) error {
	var p domain.Problems
	last := -1
	prevEnd := ""
	for i, ph := range phases {
		f := fmt.Sprintf("%s[%d]", field, i)
		k := slices.Index(PhaseKinds, ph.Kind)
		if k < 0 {
			p.Add(invalid(f+".kind", "%q is not a phase (%s)", ph.Kind, kindList()))
			continue
		}
		if k <= last {
			p.Add(invalid(f+".kind", "%s comes after %s, or twice: the phases run %s", ph.Kind, PhaseKinds[last], kindList()))
			continue
		}
		last = k
		if !p.Add(domain.CheckPeriod(f+".start", ph.Start, f+".end", ph.End)) {
			continue
		}
		if prevEnd != "" && ph.Start <= prevEnd {
			p.Add(invalid(f+".start", "%s overlaps the phase before, which ends %s", ph.Start, prevEnd))
		}
		prevEnd = ph.End
	}
	for _, need := range []PhaseKind{Proposing, Reviewing, Voting, Delivering} {
		if !slices.ContainsFunc(phases, func(ph Phase) bool { return ph.Kind == need }) {
			p.Add(invalid(field, "a cycle needs a %s phase", need))
		}
	}
	return p.Err()
}

func kindList() string {
	s := make([]string, len(PhaseKinds))
	for i, k := range PhaseKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// checkRules checks voting and counting rules.
func checkRules(field string, r Rules) error {
	var p domain.Problems
	switch r.Ballot {
	case Approval, Knapsack:
		if r.MaxPoints != 0 {
			p.Add(invalid(field+".maxPoints", "only a cumulative ballot has points"))
		}
	case Cumulative:
		if r.MaxPoints <= 0 {
			p.Add(invalid(field+".maxPoints", "a cumulative ballot needs the most points a voter gives, 1 or more"))
		}
	default:
		p.Add(invalid(field+".ballot", "%q is not approval, knapsack or cumulative", r.Ballot))
	}
	if r.MinProjects < 0 || r.MaxProjects < 0 {
		p.Add(invalid(field+".minProjects", "the bounds on projects are 0 (none) or more"))
	} else if r.MaxProjects > 0 && r.MinProjects > r.MaxProjects {
		p.Add(invalid(field+".minProjects", "%d is over maxProjects, %d", r.MinProjects, r.MaxProjects))
	}
	if r.MinSpendPercent < 0 || r.MinSpendPercent > 100 {
		p.Add(invalid(field+".minSpendPercent", "%d is not a percentage", r.MinSpendPercent))
	} else if r.MinSpendPercent > 0 && r.Ballot != Knapsack {
		p.Add(invalid(field+".minSpendPercent", "only a knapsack ballot spends"))
	}
	if r.SecondBallot != Refuse && r.SecondBallot != Replace {
		p.Add(invalid(field+".secondBallot", "%q is not refuse or replace", r.SecondBallot))
	}
	p.Add(r.Counting.Validate(field + ".counting"))
	return p.Err()
}

// checkPots checks a cycle's pots: at least one, codes unique, amounts
// positive.
func checkPots(field string, pots []Pot) error {
	var p domain.Problems
	if len(pots) == 0 {
		p.Add(invalid(field, "at least one pot (the whole budget, or a district's or village's share)"))
	}
	seen := map[string]bool{}
	for i, pot := range pots {
		f := fmt.Sprintf("%s[%d]", field, i)
		if p.Add(domain.CheckCode(f+".code", pot.Code, "dzirula")) && seen[pot.Code] {
			p.Add(invalid(f+".code", "%s twice", pot.Code))
		}
		seen[pot.Code] = true
		p.Add(pot.Name.Validate(f + ".name"))
		if pot.Amount <= 0 {
			p.Add(invalid(f+".amount", "%d: a pot's amount is more than 0", pot.Amount))
		}
		if pot.Population < 0 {
			p.Add(invalid(f+".population", "%d is negative", pot.Population))
		}
	}
	return p.Err()
}
