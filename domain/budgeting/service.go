package budgeting

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the participatory budgeting commands. Each checks the
// actor's role, then the input (every invalid field at once, named), then
// decides on the aggregate's own state through domain.Handle.
//
// Who may do what: a municipality's own keys (its applicant key, which is
// the municipality's) and admins run its cycles; its officers enter paper
// ballots; a ballot-box key bound to a cycle casts that cycle's online
// ballots and records ideas submitted online; the system does anything
// (imports, the demo).
type Service struct {
	Repo *domain.Repository

	// voting caches, by cycle ID, the cycles whose voting has begun
	// (votingCycle): their calendar, rules and ballot can no longer
	// change, so a ballot need not load them again.
	voting sync.Map
}

// votingCycle is a cycle frozen by its voting, with its voters' key, as
// loaded at loaded (the command's time).
type votingCycle struct {
	c      *Cycle
	key    []byte
	loaded time.Time
}

// votingCacheFor is how long a frozen cycle and its key are used without
// loading them again: long enough that a vote costs one append, short
// enough that a voter key erased (`civic erase subject`) stops being used
// within it.
const votingCacheFor = time.Minute

// staff refuses an actor who does not run municipality's cycles.
func staff(meta domain.Meta, action, municipality string) error {
	a := meta.Actor
	switch a.Role {
	case domain.Admin, domain.System:
		return nil
	case domain.Applicant:
		if a.Municipality == municipality {
			return nil
		}
		return domain.Errorf(domain.Forbidden, "%s is not allowed for the key of %s: a municipality runs its own cycles", action, a.Municipality)
	}
	return a.Require(action, domain.Admin, domain.Applicant)
}

// MaxText bounds the free texts of the area (reasons, grounds, names of
// places and departments), in characters.
const MaxText = 2000

func text(p *domain.Problems, field, s string, required bool) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case required && n == 0:
		p.Add(invalid(field, "required"))
	case n > MaxText:
		p.Add(invalid(field, "%d characters, over the limit of %d", n, MaxText))
	}
	return s
}

// loadCycle loads a cycle that must exist; field names the input that
// named it.
func (s *Service) loadCycle(ctx context.Context, field, id string) (*Cycle, error) {
	if err := checkCycleID(field, id); err != nil {
		return nil, err
	}
	var c Cycle
	if _, err := s.Repo.Load(ctx, CycleStream(id), &c); err != nil {
		return nil, err
	}
	if c.id == "" {
		return nil, domain.Errorf(domain.NotFound, "no participatory budget cycle %s", id)
	}
	return &c, nil
}

// checkCycleID checks a cycle's ID: a municipality's code, then its year.
func checkCycleID(field, id string) error {
	m := MunicipalityOf(id)
	if m == id || len(id)-len(m) != 5 {
		return invalid(field, "%q is not a cycle ID: the municipality's code and the year, as keda-2023", id)
	}
	return domain.CheckCode(field, id, "keda-2023")
}

// OpenCycle sets up a municipality's cycle for a year.
func (s *Service) OpenCycle(ctx context.Context, meta domain.Meta, cmd OpenCycle) (eventstore.AppendResult, error) {
	if err := staff(meta, "open a participatory budget cycle", cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Unit = text(&p, "unit", cmd.Unit, false)
	if cmd.Unit != "" && (meta.Actor.Role != domain.System || cmd.Source == "") {
		p.Add(invalid("unit", "only an import, naming its source, records a cycle of a place outside the registry"))
	}
	if p.Add(domain.CheckCode("municipality", cmd.Municipality, "keda")) && cmd.Unit == "" {
		var m registry.Municipality
		if _, err := s.Repo.Load(ctx, registry.MunicipalityStream(cmd.Municipality), &m); err != nil {
			return eventstore.AppendResult{}, err
		}
		if m.Code() == "" {
			p.Add(invalid("municipality", "%q is not a municipality in the registry", cmd.Municipality))
		}
	}
	if cmd.Year < 2000 || cmd.Year > 2100 {
		p.Add(invalid("year", "%d is not a year of the programme (2000-2100)", cmd.Year))
	}
	cmd.Title = cmd.Title.Normalize()
	p.Add(cmd.Title.Validate("title"))
	if !project.IsCurrency(cmd.Currency) {
		p.Add(invalid("currency", "%q is not an ISO 4217 currency code (GEL, ...)", cmd.Currency))
	}
	for i := range cmd.Pots {
		cmd.Pots[i].Name = cmd.Pots[i].Name.Normalize()
	}
	p.Add(checkPots("pots", cmd.Pots))
	p.Add(checkPhases("phases", cmd.Phases))
	seen := map[string]bool{}
	for i := range cmd.Categories {
		f := fmt.Sprintf("categories[%d]", i)
		cmd.Categories[i].Name = cmd.Categories[i].Name.Normalize()
		if p.Add(domain.CheckCode(f+".code", cmd.Categories[i].Code, "roads")) && seen[cmd.Categories[i].Code] {
			p.Add(invalid(f+".code", "%s twice", cmd.Categories[i].Code))
		}
		seen[cmd.Categories[i].Code] = true
		p.Add(cmd.Categories[i].Name.Validate(f + ".name"))
	}
	if cmd.Eligibility.MinAge < 0 || cmd.Eligibility.MinAge > 120 {
		p.Add(invalid("eligibility.minAge", "%d is not an age", cmd.Eligibility.MinAge))
	}
	cmd.Eligibility.Residence = text(&p, "eligibility.residence", cmd.Eligibility.Residence, false)
	cmd.Rules.Version = 1
	p.Add(checkRules("rules", cmd.Rules))
	if cmd.Source != "" && meta.Actor.Role != domain.System {
		p.Add(invalid("source", "only an import names a cycle's source"))
	}
	cmd.Source = text(&p, "source", cmd.Source, false)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	id := CycleID(cmd.Municipality, cmd.Year)
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: CycleStream(id), What: "cycle " + id, Creates: true},
		func(c *Cycle) ([]domain.Event, error) {
			if c.id != "" {
				return nil, domain.Errorf(domain.Conflict, "%s has a participatory budget cycle for %d already", cmd.Municipality, cmd.Year)
			}
			return []domain.Event{CycleOpened{ID: id, Municipality: cmd.Municipality, Year: cmd.Year, Title: cmd.Title,
				Currency: cmd.Currency, Pots: cmd.Pots, Phases: cmd.Phases, Categories: nonNilCategories(cmd.Categories),
				Eligibility: cmd.Eligibility, Rules: cmd.Rules, Source: cmd.Source, Unit: cmd.Unit}}, nil
		})
}

func nonNilCategories(c []Category) []Category {
	if c == nil {
		return []Category{}
	}
	return c
}

// onCycle runs decide on cycle id, after the staff check.
func (s *Service) onCycle(ctx context.Context, meta domain.Meta, action, id string, decide func(*Cycle) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", id); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := staff(meta, action, MunicipalityOf(id)); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: CycleStream(id), What: "participatory budget cycle " + id}, decide)
}

// beforeVoting refuses a change once voting has begun, on day today.
func (c *Cycle) beforeVoting(today, change string) error {
	if v, ok := c.Phase(Voting); ok && today >= v.Start {
		return domain.Errorf(domain.Conflict, "voting in %s began on %s: %s only before it", c.id, v.Start, change)
	}
	return nil
}

// ChangeRules makes a new version of a cycle's rules, before voting.
func (s *Service) ChangeRules(ctx context.Context, meta domain.Meta, cmd ChangeRules) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Reason = text(&p, "reason", cmd.Reason, true)
	p.Add(checkRules("rules", cmd.Rules))
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onCycle(ctx, meta, "change a cycle's rules", cmd.Cycle, func(c *Cycle) ([]domain.Event, error) {
		if err := c.beforeVoting(meta.Today(), "the rules change"); err != nil {
			return nil, err
		}
		cmd.Rules.Version = c.rules.Version + 1
		return []domain.Event{CycleRulesChanged{ID: c.id, Rules: cmd.Rules, Reason: cmd.Reason}}, nil
	})
}

// ReschedulePhases moves a cycle's calendar, before voting.
func (s *Service) ReschedulePhases(ctx context.Context, meta domain.Meta, cmd ReschedulePhases) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Reason = text(&p, "reason", cmd.Reason, true)
	p.Add(checkPhases("phases", cmd.Phases))
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onCycle(ctx, meta, "reschedule a cycle", cmd.Cycle, func(c *Cycle) ([]domain.Event, error) {
		if err := c.beforeVoting(meta.Today(), "the calendar moves"); err != nil {
			return nil, err
		}
		if slices.Equal(c.phases, cmd.Phases) {
			return nil, nil
		}
		return []domain.Event{PhasesRescheduled{ID: c.id, Phases: cmd.Phases, Reason: cmd.Reason}}, nil
	})
}

// SubmitIdea records a proposal: online, through the municipality's ballot
// box or its staff, while proposals are open; on paper, entered by the
// staff until the review ends, dated within the proposing phase.
func (s *Service) SubmitIdea(ctx context.Context, meta domain.Meta, cmd SubmitIdea) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", cmd.Cycle); err != nil {
		return eventstore.AppendResult{}, err
	}
	if meta.Actor.Role != domain.BallotBox || meta.Actor.Cycle != cmd.Cycle {
		if err := staff(meta, "submit an idea", MunicipalityOf(cmd.Cycle)); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	c, err := s.loadCycle(ctx, "cycle", cmd.Cycle)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(domain.CheckCode("id", cmd.ID, "keda-2023-017"))
	pot, ok := c.Pot(cmd.Pot)
	if !ok {
		p.Add(invalid("pot", "%q is not a pot of %s", cmd.Pot, c.id))
	}
	if len(c.categories) > 0 || cmd.Category != "" {
		if !slices.ContainsFunc(c.categories, func(k Category) bool { return k.Code == cmd.Category }) {
			p.Add(invalid("category", "%q is not a category of %s", cmd.Category, c.id))
		}
	}
	cmd.Title = cmd.Title.Normalize()
	p.Add(cmd.Title.Validate("title"))
	switch {
	case cmd.Currency != c.currency:
		p.Add(invalid("cost.currency", "%q: the cycle's amounts are in %s", cmd.Currency, c.currency))
	case cmd.Cost < 0:
		p.Add(invalid("cost", "%d is negative", cmd.Cost))
	case ok && cmd.Cost > pot.Amount:
		p.Add(invalid("cost", "%d is over pot %s's whole amount, %d", cmd.Cost, pot.Code, pot.Amount))
	}
	switch cmd.ProposerKind {
	case Resident, Group:
		if cmd.Organisation != "" {
			p.Add(invalid("organisation", "only a CSO's idea names its organisation"))
		}
	case CSO:
		if p.Add(domain.CheckCode("organisation", cmd.Organisation, "csi-ozurgeti")) {
			var o registry.Organisation
			if _, err := s.Repo.Load(ctx, registry.OrganisationStream(cmd.Organisation), &o); err != nil {
				return eventstore.AppendResult{}, err
			}
			if o.ID() == "" {
				p.Add(invalid("organisation", "%q is not an organisation in the registry", cmd.Organisation))
			}
		}
	default:
		p.Add(invalid("proposerKind", "%q is not resident, group or cso", cmd.ProposerKind))
	}
	cmd.Proposer = text(&p, "proposer", cmd.Proposer, false)
	today := meta.Today()
	proposing, _ := c.Phase(Proposing)
	reviewing, _ := c.Phase(Reviewing)
	switch cmd.Channel {
	case Online:
		if cmd.On == "" {
			cmd.On = today
		}
		if cmd.On != today {
			p.Add(invalid("on", "an idea submitted online is dated today, %s", today))
		} else if today < proposing.Start || today > proposing.End {
			p.Add(invalid("on", "%s proposes ideas from %s to %s; today is %s", c.id, proposing.Start, proposing.End, today))
		}
	case Paper:
		if p.Add(domain.CheckDate("on", cmd.On)) {
			switch {
			case cmd.On < proposing.Start || cmd.On > proposing.End:
				p.Add(invalid("on", "%s: %s proposed ideas from %s to %s", cmd.On, c.id, proposing.Start, proposing.End))
			case cmd.On > today:
				p.Add(invalid("on", "%s is in the future", cmd.On))
			case today > reviewing.End:
				p.Add(invalid("on", "paper ideas are entered until the review ends, %s", reviewing.End))
			}
		}
	default:
		p.Add(invalid("channel", "%q is not online or paper", cmd.Channel))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: IdeaStream(cmd.ID), What: "idea " + cmd.ID, Creates: true},
		func(i *Idea) ([]domain.Event, error) {
			if i.id != "" {
				return nil, domain.Errorf(domain.Conflict, "idea %s exists already", cmd.ID)
			}
			return []domain.Event{IdeaSubmitted{ID: cmd.ID, Cycle: c.id, Pot: cmd.Pot, Category: cmd.Category, Title: cmd.Title,
				Cost: cmd.Cost, ProposerKind: cmd.ProposerKind, Organisation: cmd.Organisation, Proposer: cmd.Proposer,
				Channel: cmd.Channel, On: cmd.On}}, nil
		})
}

// onIdea runs decide on idea id and its cycle, after the staff check,
// before the ballot is published (or, with afterBallot, at any time).
func (s *Service) onIdea(ctx context.Context, meta domain.Meta, action, id string, afterBallot bool, decide func(*Idea, *Cycle) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	if err := domain.CheckCode("id", id, "keda-2023-017"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: IdeaStream(id), What: "idea " + id},
		func(i *Idea) ([]domain.Event, error) {
			if err := staff(meta, action, MunicipalityOf(i.cycle)); err != nil {
				return nil, err
			}
			c, err := s.loadCycle(ctx, "cycle", i.cycle)
			if err != nil {
				return nil, err
			}
			if !afterBallot {
				if c.ballot != nil {
					return nil, domain.Errorf(domain.Conflict, "the ballot of %s is published: idea %s is no longer %s", c.id, id, action)
				}
				if err := c.beforeVoting(meta.Today(), action); err != nil {
					return nil, err
				}
			}
			return decide(i, c)
		})
}

// WithdrawIdea withdraws an idea, before the ballot is published.
func (s *Service) WithdrawIdea(ctx context.Context, meta domain.Meta, cmd WithdrawIdea) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Reason = text(&p, "reason", cmd.Reason, false)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "withdrawn", cmd.ID, false, func(i *Idea, _ *Cycle) ([]domain.Event, error) { return i.Withdraw(cmd) })
}

// MergeIdea merges an idea into another of its pot, before the ballot.
func (s *Service) MergeIdea(ctx context.Context, meta domain.Meta, cmd MergeIdea) (eventstore.AppendResult, error) {
	var p domain.Problems
	p.Add(domain.CheckCode("into", cmd.Into, "keda-2023-018"))
	cmd.Reason = text(&p, "reason", cmd.Reason, true)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	var into Idea
	if _, err := s.Repo.Load(ctx, IdeaStream(cmd.Into), &into); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "merged", cmd.ID, false, func(i *Idea, _ *Cycle) ([]domain.Event, error) { return i.MergeInto(cmd, &into) })
}

// inReview refuses a review step outside proposing and reviewing.
func inReview(c *Cycle, today string) error {
	pr, _ := c.Phase(Proposing)
	if today < pr.Start {
		return domain.Errorf(domain.Conflict, "%s takes ideas from %s: nothing to review before", c.id, pr.Start)
	}
	return nil
}

// ReviewIdea records a department's review of an idea.
func (s *Service) ReviewIdea(ctx context.Context, meta domain.Meta, cmd ReviewIdea) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Reason = text(&p, "reason", cmd.Reason, !cmd.Feasible)
	cmd.Department = text(&p, "department", cmd.Department, false)
	if cmd.Cost < 0 {
		p.Add(invalid("cost", "%d is negative", cmd.Cost))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "reviewed", cmd.ID, false, func(i *Idea, c *Cycle) ([]domain.Event, error) {
		if err := inReview(c, meta.Today()); err != nil {
			return nil, err
		}
		if cmd.Currency != c.currency {
			return nil, invalid("cost.currency", "%q: the cycle's amounts are in %s", cmd.Currency, c.currency)
		}
		pot, _ := c.Pot(i.pot)
		return i.Review(cmd, pot)
	})
}

// AppealIdea records a proposer's appeal of an infeasible finding.
func (s *Service) AppealIdea(ctx context.Context, meta domain.Meta, cmd AppealIdea) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Grounds = text(&p, "grounds", cmd.Grounds, true)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "appealed", cmd.ID, false, func(i *Idea, _ *Cycle) ([]domain.Event, error) { return i.Appeal(cmd) })
}

// DecideAppeal records the outcome of an appeal.
func (s *Service) DecideAppeal(ctx context.Context, meta domain.Meta, cmd DecideAppeal) (eventstore.AppendResult, error) {
	var p domain.Problems
	cmd.Reason = text(&p, "reason", cmd.Reason, true)
	if cmd.Cost < 0 {
		p.Add(invalid("cost", "%d is negative", cmd.Cost))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "decided on appeal", cmd.ID, false, func(i *Idea, c *Cycle) ([]domain.Event, error) {
		if cmd.Upheld && cmd.Currency != c.currency {
			return nil, invalid("cost.currency", "%q: the cycle's amounts are in %s", cmd.Currency, c.currency)
		}
		pot, _ := c.Pot(i.pot)
		return i.DecideAppeal(cmd, pot)
	})
}

// PublishBallot puts feasible ideas on the ballot, each at its reviewed
// cost, before voting begins; publishing again replaces the ballot.
func (s *Service) PublishBallot(ctx context.Context, meta domain.Meta, cmd PublishBallot) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", cmd.Cycle); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	if len(cmd.Ideas) == 0 {
		p.Add(invalid("ideas", "a ballot has one idea at least"))
	}
	var projects []BallotProject
	seen := map[string]bool{}
	for k, id := range cmd.Ideas {
		f := fmt.Sprintf("ideas[%d]", k)
		if !p.Add(domain.CheckCode(f, id, "keda-2023-017")) {
			continue
		}
		if seen[id] {
			p.Add(invalid(f, "%s twice", id))
			continue
		}
		seen[id] = true
		var i Idea
		if _, err := s.Repo.Load(ctx, IdeaStream(id), &i); err != nil {
			return eventstore.AppendResult{}, err
		}
		switch {
		case i.id == "":
			p.Add(invalid(f, "%q is not an idea", id))
		case i.cycle != cmd.Cycle:
			p.Add(invalid(f, "idea %s is of %s", id, i.cycle))
		case i.status != Feasible:
			p.Add(invalid(f, "idea %s is %s: only a feasible idea goes on the ballot", id, i.status))
		default:
			projects = append(projects, BallotProject{Idea: id, Pot: i.pot, Cost: i.cost})
		}
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	slices.SortFunc(projects, func(a, b BallotProject) int {
		return strings.Compare(a.Pot+"\x00"+a.Idea, b.Pot+"\x00"+b.Idea)
	})
	return s.onCycle(ctx, meta, "publish a ballot", cmd.Cycle, func(c *Cycle) ([]domain.Event, error) {
		if err := c.beforeVoting(meta.Today(), "the ballot is published"); err != nil {
			return nil, err
		}
		if slices.Equal(c.ballot, projects) {
			return nil, nil
		}
		return []domain.Event{BallotPublished{ID: c.id, Projects: projects}}, nil
	})
}

// onBallot is the cycle's ballot by idea.
func (c *Cycle) onBallot() map[string]BallotProject {
	m := make(map[string]BallotProject, len(c.ballot))
	for _, bp := range c.ballot {
		m[bp.Idea] = bp
	}
	return m
}

// CastBallot records a resident's online ballot, through the ballot-box
// key bound to the cycle, on a day of the voting phase.
//
// It is the hot path of a vote, so it costs one append where it can: the
// cycle, frozen once voting begins (no rule, calendar or ballot changes
// after that), is loaded once a minute with its voter key; and under the
// refuse rule the voter's stream is not read first: the append expects
// the stream not to exist, and the store refuses a second ballot itself.
// Measured with 32 ballot boxes (BenchmarkVoting), loading both every
// time cast ballots at 0.35 of the rate of raw appends of the same event;
// so, at 1.0-1.1 of it.
func (s *Service) CastBallot(ctx context.Context, meta domain.Meta, cmd CastBallot) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", cmd.Cycle); err != nil {
		return eventstore.AppendResult{}, err
	}
	a := meta.Actor
	switch {
	case a.Role == domain.System:
	case a.Role == domain.BallotBox && a.Cycle != cmd.Cycle:
		return eventstore.AppendResult{}, domain.Errorf(domain.Forbidden, "this ballot box is %s's, not %s's", a.Cycle, cmd.Cycle)
	default:
		if err := a.Require("cast a ballot", domain.BallotBox); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	vc, err := s.votingCycle(ctx, meta, cmd.Cycle)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	c := vc.c
	var p domain.Problems
	cmd.Voter = text(&p, "voter", cmd.Voter, true)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	pot, ok := c.Pot(cmd.Pot)
	if !ok {
		return eventstore.AppendResult{}, invalid("pot", "%q is not a pot of %s", cmd.Pot, c.id)
	}
	if err := checkBallot("", c.rules, pot, c.onBallot(), cmd.Projects, cmd.Points, cmd.Sex, cmd.AgeBand); err != nil {
		return eventstore.AppendResult{}, err
	}
	voter := pseudonym(vc.key, c.id, cmd.Voter)
	b := BallotCast{Cycle: c.id, Pot: cmd.Pot, Voter: voter, Projects: cmd.Projects, Points: cmd.Points, Sex: cmd.Sex, AgeBand: cmd.AgeBand}
	stream := VoterStream(c.id, voter)
	if c.rules.SecondBallot == Refuse {
		res, err := s.Repo.Save(ctx, stream, 0, meta, b)
		if domain.KindOf(err) == domain.Conflict {
			return res, domain.Errorf(domain.Conflict, "this voter has voted already in %s, whose rules refuse a second ballot", c.id)
		}
		return res, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: stream, What: "voter", Creates: true},
		func(v *Voter) ([]domain.Event, error) { return v.Cast(c.rules, b) })
}

// votingCycle returns cycle id if it is voting on the command's day, from
// the cache while it is fresh, else loaded with its voter key (and cached).
func (s *Service) votingCycle(ctx context.Context, meta domain.Meta, id string) (*votingCycle, error) {
	today := meta.Today()
	if v, ok := s.voting.Load(id); ok {
		vc := v.(*votingCycle)
		ph, _ := vc.c.Phase(Voting)
		if meta.Now.Sub(vc.loaded) < votingCacheFor && meta.Now.After(vc.loaded.Add(-votingCacheFor)) && today >= ph.Start && today <= ph.End {
			return vc, nil
		}
		s.voting.Delete(id)
	}
	c, err := s.loadCycle(ctx, "cycle", id)
	if err != nil {
		return nil, err
	}
	v, _ := c.Phase(Voting)
	switch {
	case today < v.Start || today > v.End:
		return nil, domain.Errorf(domain.Conflict, "%s votes from %s to %s; today is %s", c.id, v.Start, v.End, today)
	case c.ballot == nil:
		return nil, domain.Errorf(domain.Conflict, "%s has no ballot published", c.id)
	}
	_, key, err := s.Repo.Keys.Current(ctx, VoterSubject(c.id))
	if err != nil {
		return nil, domain.Wrap(err, "the cycle's voter key")
	}
	vc := &votingCycle{c: c, key: key, loaded: meta.Now}
	s.voting.Store(id, vc)
	return vc, nil
}

// EnterPaperBatch records a batch of paper ballots from a meeting or a
// polling place, checked ballot by ballot and against its tally sheet,
// while voting or tallying.
func (s *Service) EnterPaperBatch(ctx context.Context, meta domain.Meta, cmd EnterPaperBatch) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", cmd.Cycle); err != nil {
		return eventstore.AppendResult{}, err
	}
	a := meta.Actor
	if a.Role == domain.Officer && a.Municipality != MunicipalityOf(cmd.Cycle) {
		return eventstore.AppendResult{}, domain.Errorf(domain.Forbidden, "an officer of %s enters %s's paper ballots only", a.Municipality, a.Municipality)
	}
	if a.Role != domain.Officer && a.Role != domain.System {
		if err := a.Require("enter paper ballots", domain.Officer, domain.Admin); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	c, err := s.loadCycle(ctx, "cycle", cmd.Cycle)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(domain.CheckCode("batch", cmd.Batch, "dzirula-school-1"))
	cmd.Place = text(&p, "place", cmd.Place, true)
	today := meta.Today()
	v, _ := c.Phase(Voting)
	t, hasTally := c.Phase(Tallying)
	last := v.End
	if hasTally {
		last = t.End
	}
	if today < v.Start || today > last {
		p.Add(domain.Errorf(domain.Conflict, "%s takes paper ballots from %s to %s; today is %s", c.id, v.Start, last, today))
	}
	if p.Add(domain.CheckDate("on", cmd.On)) && (cmd.On < v.Start || cmd.On > v.End || cmd.On > today) {
		p.Add(invalid("on", "%s: paper ballots are cast on a day of voting, %s to %s, and not after today", cmd.On, v.Start, v.End))
	}
	if c.ballot == nil {
		p.Add(domain.Errorf(domain.Conflict, "%s has no ballot published", c.id))
	}
	pot, ok := c.Pot(cmd.Pot)
	if !ok {
		p.Add(invalid("pot", "%q is not a pot of %s", cmd.Pot, c.id))
	}
	if len(cmd.Ballots) == 0 {
		p.Add(invalid("ballots", "a batch holds one ballot at least"))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	onBallot := c.onBallot()
	for k, b := range cmd.Ballots {
		p.Add(checkBallot(fmt.Sprintf("ballots[%d]", k), c.rules, pot, onBallot, b.Projects, b.Points, b.Sex, b.AgeBand))
	}
	e := PaperBatchEntered{Cycle: c.id, Pot: cmd.Pot, Batch: cmd.Batch, Place: cmd.Place, On: cmd.On, Ballots: cmd.Ballots, Tally: cmd.Tally}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	// The sheet is compared once every ballot is valid: a sheet cannot
	// agree with ballots that are not.
	if err := checkTally(e); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: PaperStream(c.id, cmd.Batch), What: "paper batch " + cmd.Batch, Creates: true},
		func(b *PaperBatch) ([]domain.Event, error) { return b.Enter(e) })
}

// DeclareResults counts a cycle's ballots under its rules and declares
// the winners, from the first day of delivery (the results day) on, once.
// It first closes the ballots (BallotsClosed) and waits for that event's
// log position, so the count takes every ballot committed before it, then
// counts up to that position.
func (s *Service) DeclareResults(ctx context.Context, meta domain.Meta, cmd DeclareResults) (eventstore.AppendResult, error) {
	if err := checkCycleID("cycle", cmd.Cycle); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := staff(meta, "declare a cycle's results", MunicipalityOf(cmd.Cycle)); err != nil {
		return eventstore.AppendResult{}, err
	}
	stream := CycleStream(cmd.Cycle)
	var c Cycle
	version, err := s.Repo.Load(ctx, stream, &c)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if c.id == "" {
		return eventstore.AppendResult{}, domain.Errorf(domain.NotFound, "no participatory budget cycle %s", cmd.Cycle)
	}
	today := meta.Today()
	d, _ := c.Phase(Delivering)
	switch {
	case c.results != nil:
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "%s's results were declared on %s", c.id, c.results.On)
	case today < d.Start:
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "%s's results are declared from %s, when voting and tallying are over; today is %s", c.id, d.Start, today)
	case c.ballot == nil:
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "%s has no ballot: nothing to count", c.id)
	}
	// The close, unless a count that failed after it closed them already.
	var upTo int64
	if c.closed == "" {
		res, err := s.Repo.Save(ctx, stream, version, meta, BallotsClosed{ID: c.id, On: today})
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		version = res.Version
		if upTo, err = s.Repo.Store.AwaitPosition(ctx, res.LastID); err != nil {
			return eventstore.AppendResult{}, domain.Wrap(err, "position of the ballots' close")
		}
	} else if upTo, err = s.closedAt(ctx, stream); err != nil {
		return eventstore.AppendResult{}, err
	}
	ballots, _, err := readBallots(ctx, s.Repo.Store, s.Repo.Types, c.id, upTo)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	pots, dig, err := countCycle(&c, c.rules, ballots)
	if err != nil {
		return eventstore.AppendResult{}, domain.Wrap(err, "count "+c.id)
	}
	return s.Repo.Save(ctx, stream, version, meta,
		ResultsDeclared{ID: c.id, RulesVersion: c.rules.Version, UpTo: upTo, InputsDigest: dig, Pots: pots, On: today})
}

// closedAt is the log position of a cycle's BallotsClosed.
func (s *Service) closedAt(ctx context.Context, stream string) (int64, error) {
	events, err := s.Repo.Store.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if err != nil {
		return 0, domain.Wrap(err, "read "+stream)
	}
	for _, e := range events {
		if e.Type == (BallotsClosed{}).EventType() {
			return s.Repo.Store.AwaitPosition(ctx, e.ID)
		}
	}
	return 0, domain.Wrap(fmt.Errorf("no ballots_closed in %s", stream), "the ballots' close")
}

// Recount counts a cycle's ballots again, from the log, as its declared
// results did, and says whether they follow.
func (s *Service) Recount(ctx context.Context, cycle string) (Recount, error) {
	c, err := s.loadCycle(ctx, "cycle", cycle)
	if err != nil {
		return Recount{}, err
	}
	if c.results == nil {
		return Recount{Cycle: c.id, Verdict: Undeclared}, nil
	}
	ballots, _, err := readBallots(ctx, s.Repo.Store, s.Repo.Types, c.id, c.results.UpTo)
	if err != nil {
		return Recount{}, err
	}
	return recount(c, ballots)
}

// ReportDelivery records how a winner's delivery stands.
func (s *Service) ReportDelivery(ctx context.Context, meta domain.Meta, cmd ReportDelivery) (eventstore.AppendResult, error) {
	var p domain.Problems
	if !slices.Contains([]DeliveryStatus{Planned, Procurement, InProgress, Completed, Abandoned}, cmd.Status) {
		p.Add(invalid("status", "%q is not planned, procurement, in_progress, completed or cancelled", cmd.Status))
	}
	switch {
	case cmd.Progress < 0 || cmd.Progress > 100:
		p.Add(invalid("progress", "%d is not a percentage", cmd.Progress))
	case cmd.Status == Completed && cmd.Progress != 100:
		p.Add(invalid("progress", "%d%%: a completed delivery is at 100%%", cmd.Progress))
	}
	if cmd.Spent < 0 {
		p.Add(invalid("spent", "%d is negative", cmd.Spent))
	}
	cmd.Milestone = text(&p, "milestone", cmd.Milestone, false)
	if len(cmd.Documents) > 20 {
		p.Add(invalid("documents", "%d references, over the limit of 20", len(cmd.Documents)))
	}
	for k := range cmd.Documents {
		cmd.Documents[k] = text(&p, fmt.Sprintf("documents[%d]", k), cmd.Documents[k], true)
	}
	if p.Add(domain.CheckDate("on", cmd.On)) && cmd.On > meta.Today() {
		p.Add(invalid("on", "%s is in the future", cmd.On))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onIdea(ctx, meta, "reported on", cmd.ID, true, func(i *Idea, c *Cycle) ([]domain.Event, error) {
		if c.results == nil || !slices.ContainsFunc(c.results.Pots, func(r PotResult) bool { return slices.Contains(r.Winners, i.id) }) {
			return nil, domain.Errorf(domain.Conflict, "idea %s did not win: only a winner is delivered", i.id)
		}
		if cmd.On < c.results.On {
			return nil, invalid("on", "%s is before the results were declared, %s", cmd.On, c.results.On)
		}
		if cmd.Currency != c.currency {
			return nil, invalid("spent.currency", "%q: the cycle's amounts are in %s", cmd.Currency, c.currency)
		}
		return i.ReportDelivery(cmd)
	})
}
