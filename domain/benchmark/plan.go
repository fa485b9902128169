package benchmark

import (
	"context"
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// ProgressStatus is where a commitment of an action plan stands.
type ProgressStatus string

// The statuses of a commitment.
const (
	NotStarted ProgressStatus = "not_started"
	OnTrack    ProgressStatus = "on_track"
	Delayed    ProgressStatus = "delayed"
	Completed  ProgressStatus = "completed"
	Dropped    ProgressStatus = "dropped"
)

// ProgressStatuses are the statuses, in their order.
var ProgressStatuses = []ProgressStatus{NotStarted, OnTrack, Delayed, Completed, Dropped}

// PlanID is the ID of a municipality's action plan drawn from a round:
// one plan per municipality and round ("poti-2025").
func PlanID(round, municipality string) string { return municipality + "-" + round }

// PlanStream is an action plan's stream.
func PlanStream(id string) string { return "benchmark_plan-" + id }

// Plan is an action plan as its stream tells it.
type Plan struct {
	id, round, municipality string
	commitments             map[string]Commitment
	status                  map[string]ProgressStatus
}

// Apply implements domain.Aggregate.
func (p *Plan) Apply(e domain.Event) error {
	switch e := e.(type) {
	case PlanAdopted:
		p.id, p.round, p.municipality = e.ID, e.Round, e.Municipality
		p.commitments, p.status = map[string]Commitment{}, map[string]ProgressStatus{}
		for _, c := range e.Commitments {
			p.commitments[c.Code], p.status[c.Code] = c, NotStarted
		}
	case PlanProgressReported:
		p.status[e.Commitment] = e.Status
	default:
		return fmt.Errorf("plan %s: unknown event %s", p.id, e.EventType())
	}
	return nil
}

// planners may adopt and report on a municipality's plan: its own key,
// or an admin for it.
func planner(a domain.Actor, municipality string) error {
	if a.Role == domain.Admin || a.Role == domain.System || a.Role == domain.Applicant && a.Municipality == municipality {
		return nil
	}
	return domain.Errorf(domain.Forbidden, "an action plan is the municipality's own key's to adopt and report on (or an admin's)")
}

// AdoptPlan records a municipality's action plan from a published
// round's findings: each commitment names the indicators of the round's
// method it should move, the body responsible, and its milestones, due
// on or before it.
func (s *Service) AdoptPlan(ctx context.Context, meta domain.Meta, cmd AdoptPlan) (eventstore.AppendResult, error) {
	if err := planner(meta.Actor, cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	r, m, err := s.state(ctx, cmd.Round, cmd.Municipality)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	cmd.Title = cmd.Title.Normalize()
	p.Add(cmd.Title.Validate("title"))
	if len(cmd.Commitments) == 0 {
		p.Add(domain.InvalidField("commitments", "a plan makes one commitment at least"))
	}
	if len(cmd.Commitments) > 100 {
		p.Add(domain.InvalidField("commitments", "%d commitments, over the limit of 100", len(cmd.Commitments)))
	}
	today := meta.Today()
	// Normalised into copies: the caller's slices stay as given.
	cmd.Commitments = slices.Clone(cmd.Commitments)
	codes := map[string]bool{}
	for i, c := range cmd.Commitments {
		f := fmt.Sprintf("commitments[%d]", i)
		if p.Add(domain.CheckCode(f+".code", c.Code, "publish-minutes")) && codes[c.Code] {
			p.Add(domain.InvalidField(f+".code", "%s twice", c.Code))
		}
		codes[c.Code] = true
		c.Text = c.Text.Normalize()
		p.Add(c.Text.Validate(f + ".text"))
		if len(c.Indicators) > MaxIndicators {
			p.Add(domain.InvalidField(f+".indicators", "%d indicators, over the limit of %d", len(c.Indicators), MaxIndicators))
			continue
		}
		if len(c.Indicators) == 0 {
			p.Add(domain.InvalidField(f+".indicators", "a commitment names the indicators it should move"))
		}
		for j, ind := range c.Indicators {
			if _, ok := m.indicator(ind); !ok {
				p.Add(domain.InvalidField(fmt.Sprintf("%s.indicators[%d]", f, j), "%q is not an indicator of method version %d", ind, m.Version))
			}
		}
		if c.Responsible != CityHall && c.Responsible != Sakrebulo && c.Responsible != Both {
			p.Add(domain.InvalidField(f+".responsible", "%q is not city_hall, sakrebulo or both", c.Responsible))
		}
		if p.Add(domain.CheckDate(f+".due", c.Due)) && c.Due < today {
			p.Add(domain.InvalidField(f+".due", "%s is past", c.Due))
		}
		if len(c.Milestones) > 20 {
			p.Add(domain.InvalidField(f+".milestones", "%d milestones, over the limit of 20", len(c.Milestones)))
			continue
		}
		c.Milestones = slices.Clone(c.Milestones)
		ms := map[string]bool{}
		for j, mi := range c.Milestones {
			g := fmt.Sprintf("%s.milestones[%d]", f, j)
			if p.Add(domain.CheckCode(g+".code", mi.Code, "draft")) && ms[mi.Code] {
				p.Add(domain.InvalidField(g+".code", "%s twice", mi.Code))
			}
			ms[mi.Code] = true
			mi.Text = mi.Text.Normalize()
			p.Add(mi.Text.Validate(g + ".text"))
			switch {
			case !p.Add(domain.CheckDate(g+".due", mi.Due)):
			case mi.Due > c.Due:
				p.Add(domain.InvalidField(g+".due", "%s is after the commitment's due date %s", mi.Due, c.Due))
			case mi.Due < today:
				p.Add(domain.InvalidField(g+".due", "%s is past", mi.Due))
			}
			c.Milestones[j] = mi
		}
		cmd.Commitments[i] = c
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if r.published == nil {
		return eventstore.AppendResult{}, domain.Errorf(domain.Conflict, "round %s is not published: a plan is drawn from its findings", r.id)
	}
	id := PlanID(cmd.Round, cmd.Municipality)
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: PlanStream(id), What: "action plan " + id, Creates: true}, func(pl *Plan) ([]domain.Event, error) {
		if pl.id != "" {
			return nil, domain.Errorf(domain.Conflict, "%s adopted its plan from round %s already", cmd.Municipality, cmd.Round)
		}
		return []domain.Event{PlanAdopted{ID: id, Round: cmd.Round, Municipality: cmd.Municipality, Title: cmd.Title, On: today,
			Commitments: cmd.Commitments}}, nil
	})
}

// ReportProgress records progress on a commitment of a plan: a status, a
// percentage (100 when completed) and a note; a commitment completed or
// dropped takes no more reports.
func (s *Service) ReportProgress(ctx context.Context, meta domain.Meta, cmd ReportProgress) (eventstore.AppendResult, error) {
	var p domain.Problems
	if !slices.Contains(ProgressStatuses, cmd.Status) {
		p.Add(domain.InvalidField("status", "%q is not one of %v", cmd.Status, ProgressStatuses))
	}
	switch {
	case cmd.Progress < 0 || cmd.Progress > 100:
		p.Add(domain.InvalidField("progress", "%d is not a percentage", cmd.Progress))
	case cmd.Status == Completed && cmd.Progress != 100:
		p.Add(domain.InvalidField("progress", "%d: a completed commitment is at 100", cmd.Progress))
	}
	cmd.Note = required(&p, "note", cmd.Note)
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckCode("plan", cmd.Plan, "poti-2025"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: PlanStream(cmd.Plan), What: "action plan " + cmd.Plan}, func(pl *Plan) ([]domain.Event, error) {
		if err := planner(meta.Actor, pl.municipality); err != nil {
			return nil, err
		}
		c, ok := pl.commitments[cmd.Commitment]
		if !ok {
			return nil, domain.InvalidField("commitment", "%q is not a commitment of plan %s", cmd.Commitment, cmd.Plan)
		}
		if cmd.Milestone != "" && !slices.ContainsFunc(c.Milestones, func(m Milestone) bool { return m.Code == cmd.Milestone }) {
			return nil, domain.InvalidField("milestone", "%q is not a milestone of commitment %s", cmd.Milestone, c.Code)
		}
		if st := pl.status[c.Code]; st == Completed || st == Dropped {
			return nil, domain.Errorf(domain.Conflict, "commitment %s is %s", c.Code, st)
		}
		return []domain.Event{PlanProgressReported{Plan: cmd.Plan, Commitment: cmd.Commitment, Milestone: cmd.Milestone, Status: cmd.Status,
			Progress: cmd.Progress, Note: cmd.Note, On: meta.Today()}}, nil
	})
}
