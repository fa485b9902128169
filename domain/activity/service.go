package activity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the activity commands. Each checks the actor's role,
// then the input (Invalid, naming the field), then decides on the
// activity's own events. Admins and the system record any activity; a
// hub's key only those in its own region, judged by the region recorded
// in the activity's own scheduling event (or, when scheduling, the
// municipality's in the registry).
type Service struct {
	Repo *domain.Repository
}

var recorders = []domain.Role{domain.Admin, domain.System, domain.Hub}

// inRegion refuses a hub acting outside its region.
func inRegion(meta domain.Meta, action, region string) error {
	if meta.Actor.Role == domain.Hub && meta.Actor.Region != region {
		return domain.Errorf(domain.Forbidden, "%s in %s is not allowed for the hub of %s: a hub records its own region's activities",
			action, region, meta.Actor.Region)
	}
	return nil
}

// Schedule plans an activity. Region is taken from the municipality.
func (s *Service) Schedule(ctx context.Context, meta domain.Meta, cmd Scheduled) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("schedule an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Every field is checked, and every problem reported at once.
	var p domain.Problems
	p.Add(domain.CheckCode("id", cmd.ID, "cif-training-2023-05"))
	switch {
	case !slices.Contains(Types, cmd.Type):
		p.Add(invalid("type", "%q is not an activity type", cmd.Type))
	case cmd.Channel != "" && cmd.Type != Consultation:
		p.Add(invalid("channel", "only a consultation has a channel"))
	case cmd.Type == Consultation && !slices.Contains(Channels, cmd.Channel):
		p.Add(invalid("channel", "%q: a consultation is given by phone, online or in_person", cmd.Channel))
	}
	if cmd.Topic != "" && cmd.Type != Training {
		p.Add(invalid("topic", "only a training has a topic"))
	}
	if len(cmd.Organisers) == 0 {
		p.Add(invalid("organisers", "at least one organising organisation is required"))
	}
	cmd.Title = cmd.Title.Normalize()
	p.Add(cmd.Title.Validate("title"))
	p.Add(domain.CheckPeriod("start", cmd.Start, "end", cmd.End))
	for i, id := range cmd.Organisers {
		var o registry.Organisation
		if _, err := s.Repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
			if domain.KindOf(err) != domain.Invalid {
				return eventstore.AppendResult{}, err
			}
			p.Add(invalid(fmt.Sprintf("organisers[%d]", i), "%q is not an organisation ID", id))
			continue
		}
		if o.ID() == "" {
			p.Add(invalid(fmt.Sprintf("organisers[%d]", i), "%q is not an organisation in the registry", id))
		}
	}
	var m registry.Municipality
	if p.Add(domain.CheckCode("municipality", cmd.Municipality, "marneuli")) {
		if _, err := s.Repo.Load(ctx, registry.MunicipalityStream(cmd.Municipality), &m); err != nil {
			return eventstore.AppendResult{}, err
		}
		if m.Code() == "" {
			p.Add(invalid("municipality", "%q is not a municipality in the registry", cmd.Municipality))
		}
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Region = m.Region()
	if err := inRegion(meta, "scheduling an activity", cmd.Region); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkProject(ctx, cmd); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.ID, true, func(a *Activity) ([]domain.Event, error) {
		if a.id != "" {
			return nil, domain.Errorf(domain.Conflict, "activity %s exists already", a.id)
		}
		return []domain.Event{cmd}, nil
	})
}

// Reschedule moves a scheduled activity.
func (s *Service) Reschedule(ctx context.Context, meta domain.Meta, cmd Rescheduled) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("reschedule an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := domain.CheckPeriod("start", cmd.Start, "end", cmd.End); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	return s.on(ctx, meta, cmd.ID, false, func(a *Activity) ([]domain.Event, error) {
		if a.status != StatusScheduled {
			return nil, domain.Errorf(domain.Conflict, "activity %s is %s and cannot be rescheduled", a.id, a.status)
		}
		if a.start == cmd.Start && a.end == cmd.End {
			return nil, nil
		}
		return []domain.Event{cmd}, nil
	})
}

// Cancel calls off a scheduled activity, with the reason.
func (s *Service) Cancel(ctx context.Context, meta domain.Meta, cmd Cancelled) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("cancel an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		return eventstore.AppendResult{}, invalid("reason", "required")
	}
	return s.on(ctx, meta, cmd.ID, false, func(a *Activity) ([]domain.Event, error) {
		if a.status != StatusScheduled {
			return nil, domain.Errorf(domain.Conflict, "activity %s is %s and cannot be cancelled", a.id, a.status)
		}
		return []domain.Event{cmd}, nil
	})
}

// RecordHeld records that a scheduled activity took place, with its
// attendance, once its first day has come.
func (s *Service) RecordHeld(ctx context.Context, meta domain.Meta, cmd Held) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record an activity held", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := cmd.Attendance.Validate(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkOrganisations(ctx, cmd.Attendance); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.on(ctx, meta, cmd.ID, false, func(a *Activity) ([]domain.Event, error) {
		switch {
		case a.status != StatusScheduled:
			return nil, domain.Errorf(domain.Conflict, "activity %s is %s", a.id, a.status)
		case a.start > meta.Today():
			return nil, domain.Errorf(domain.Conflict, "activity %s begins on %s: it cannot have been held yet", a.id, a.start)
		}
		return []domain.Event{cmd}, nil
	})
}

// CorrectAttendance corrects a held activity's attendance, with the
// reason.
func (s *Service) CorrectAttendance(ctx context.Context, meta domain.Meta, cmd AttendanceCorrected) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("correct an attendance", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := cmd.Attendance.Validate(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkOrganisations(ctx, cmd.Attendance); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		return eventstore.AppendResult{}, invalid("reason", "required: why the figures change")
	}
	return s.on(ctx, meta, cmd.ID, false, func(a *Activity) ([]domain.Event, error) {
		if a.status != StatusHeld {
			return nil, domain.Errorf(domain.Conflict, "activity %s is %s: only a held activity has an attendance", a.id, a.status)
		}
		return []domain.Event{cmd}, nil
	})
}

// checkProject checks the project an activity serves, and that each
// indicator it counts towards is one of the project's counts.
func (s *Service) checkProject(ctx context.Context, cmd Scheduled) error {
	if cmd.Project == "" {
		if len(cmd.Indicators) > 0 {
			return invalid("indicators", "an activity counts towards indicators of the project it serves: give the project")
		}
		return nil
	}
	var p project.Project
	if _, err := s.Repo.Load(ctx, project.Stream(cmd.Project), &p); err != nil {
		return err
	}
	if p.ID() == "" {
		return invalid("project", "%q is not a project", cmd.Project)
	}
	for i, l := range cmd.Indicators {
		field := fmt.Sprintf("indicators[%d]", i)
		ind, ok := p.Indicator(l.Indicator)
		switch {
		case !ok:
			return invalid(field+".indicator", "project %s has no indicator %q", cmd.Project, l.Indicator)
		case ind.Unit != project.Count:
			return invalid(field+".indicator", "%q is measured in %s: only a count can add up attendees", l.Indicator, ind.Unit)
		case l.Sector != "" && !slices.Contains(Sectors, l.Sector):
			return invalid(field+".sector", "%q is not a sector (%s)", l.Sector, strings.Join(Sectors, ", "))
		case l.Sex != "" && !slices.Contains(Sexes, l.Sex):
			return invalid(field+".sex", "%q is not a category (%s)", l.Sex, strings.Join(Sexes, ", "))
		}
		for j, m := range cmd.Indicators[:i] {
			if m.Indicator == l.Indicator && !disjoint(l.Sector, m.Sector) && !disjoint(l.Sex, m.Sex) {
				return invalid(field, "counts some of the attendees indicators[%d] counts already towards %q", j, l.Indicator)
			}
		}
	}
	return nil
}

// disjoint reports whether two categories of a link (sector or sex) can
// never count the same attendee: both are given and differ.
func disjoint(a, b string) bool { return a != "" && b != "" && a != b }

// checkOrganisations checks that the organisations named as taking part
// are in the registry.
func (s *Service) checkOrganisations(ctx context.Context, at Attendance) error {
	for i, id := range at.Organisations {
		var o registry.Organisation
		if _, err := s.Repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
			return err
		}
		if o.ID() == "" {
			return invalid(fmt.Sprintf("attendance.organisations[%d]", i), "%q is not an organisation in the registry", id)
		}
	}
	return nil
}

func (s *Service) on(ctx context.Context, meta domain.Meta, id string, scheduling bool, decide func(*Activity) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	if err := domain.CheckCode("id", id, "cif-training-2023-05"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "activity " + id, Creates: scheduling},
		func(a *Activity) ([]domain.Event, error) {
			if !scheduling {
				if err := inRegion(meta, "changing activity "+id, a.region); err != nil {
					return nil, err
				}
			}
			return decide(a)
		})
}
