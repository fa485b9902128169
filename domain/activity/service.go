package activity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the activity commands. Each checks the actor's role,
// then the input (Invalid, naming every invalid field at once), then lets
// the activity decide on its own events (Activity's verb methods) through
// domain.Handle: NotFound for an unknown activity, Conflict when its state
// forbids the command or the stream moved on meanwhile. A command that
// would change nothing writes nothing. Admins and the system record any
// activity; a hub's key only those in its own region, judged by the region
// recorded in the activity's own scheduling event (or, when scheduling,
// the municipality's in the registry). "Today" is meta.Now's day in
// Tbilisi.
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

// Schedule plans an activity, in the region of its municipality. Roles:
// admin, system, hub (in that region). The organisers, the municipality
// and the project must be in the registry and the project's indicators
// counts (Invalid); an ID taken already is a Conflict.
func (s *Service) Schedule(ctx context.Context, meta domain.Meta, cmd Schedule) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("schedule an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
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
	// A hub's right is judged on the municipality's region, known only
	// now; it comes before the project's checks, so a hub elsewhere is
	// told it may not schedule here whatever the project.
	region := m.Region()
	if err := inRegion(meta, "scheduling an activity", region); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkProject(ctx, cmd); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.checkCycle(ctx, cmd); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(cmd.ID), What: "activity " + cmd.ID, Creates: true},
		func(a *Activity) ([]domain.Event, error) { return a.Schedule(cmd, region) })
}

// Reschedule moves a scheduled activity to other days. Roles: admin,
// system, hub (in the activity's region). A held or cancelled activity is
// a Conflict; the same days again change nothing.
func (s *Service) Reschedule(ctx context.Context, meta domain.Meta, cmd Reschedule) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("reschedule an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
	p.Add(domain.CheckPeriod("start", cmd.Start, "end", cmd.End))
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	return s.change(ctx, meta, cmd.ID, func(a *Activity) ([]domain.Event, error) { return a.Reschedule(cmd) })
}

// Cancel calls off a scheduled activity, with the reason. Roles: admin,
// system, hub (in the activity's region). A held or cancelled activity is
// a Conflict.
func (s *Service) Cancel(ctx context.Context, meta domain.Meta, cmd Cancel) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("cancel an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		p.Add(invalid("reason", "required"))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.change(ctx, meta, cmd.ID, func(a *Activity) ([]domain.Event, error) { return a.Cancel(cmd) })
}

// RecordHeld records that a scheduled activity took place, with its
// attendance, once its first day has come. Roles: admin, system, hub (in
// the activity's region). The organisations named as taking part must be
// in the registry (Invalid); an activity held or cancelled already, or
// whose first day is still to come, is a Conflict.
func (s *Service) RecordHeld(ctx context.Context, meta domain.Meta, cmd Hold) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("record an activity held", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
	p.Add(cmd.Attendance.Validate())
	if err := s.checkOrganisations(ctx, cmd.Attendance, &p); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.change(ctx, meta, cmd.ID, func(a *Activity) ([]domain.Event, error) { return a.Hold(cmd, meta.Today()) })
}

// CorrectAttendance corrects a held activity's attendance, with the
// reason. Roles: admin, system, hub (in the activity's region). An
// activity not held is a Conflict.
func (s *Service) CorrectAttendance(ctx context.Context, meta domain.Meta, cmd CorrectAttendance) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("correct an attendance", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
	p.Add(cmd.Attendance.Validate())
	cmd.Reason = strings.TrimSpace(cmd.Reason)
	if cmd.Reason == "" {
		p.Add(invalid("reason", "required: why the figures change"))
	}
	if err := s.checkOrganisations(ctx, cmd.Attendance, &p); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.change(ctx, meta, cmd.ID, func(a *Activity) ([]domain.Event, error) { return a.CorrectAttendance(cmd) })
}

// checkID checks an activity's ID, a code.
func checkID(id string) error { return domain.CheckCode("id", id, "cif-training-2023-05") }

// checkProject checks the project an activity serves, and that each
// indicator it counts towards is one of the project's counts, reporting
// every link that is not at once.
func (s *Service) checkProject(ctx context.Context, cmd Schedule) error {
	if cmd.Project == "" {
		if len(cmd.Indicators) > 0 {
			return invalid("indicators", "an activity counts towards indicators of the project it serves: give the project")
		}
		return nil
	}
	var pr project.Project
	if _, err := s.Repo.Load(ctx, project.Stream(cmd.Project), &pr); err != nil {
		return err
	}
	if pr.ID() == "" {
		return invalid("project", "%q is not a project", cmd.Project)
	}
	var p domain.Problems
links:
	for i, l := range cmd.Indicators {
		field := fmt.Sprintf("indicators[%d]", i)
		ind, ok := pr.Indicator(l.Indicator)
		switch {
		case !ok:
			p.Add(invalid(field+".indicator", "project %s has no indicator %q", cmd.Project, l.Indicator))
			continue
		case ind.Unit != project.Count:
			p.Add(invalid(field+".indicator", "%q is measured in %s: only a count can add up attendees", l.Indicator, ind.Unit))
			continue
		case l.Sector != "" && !slices.Contains(Sectors, l.Sector):
			p.Add(invalid(field+".sector", "%q is not a sector (%s)", l.Sector, strings.Join(Sectors, ", ")))
			continue
		case l.Sex != "" && !slices.Contains(Sexes, l.Sex):
			p.Add(invalid(field+".sex", "%q is not a category (%s)", l.Sex, strings.Join(Sexes, ", ")))
			continue
		}
		for j, m := range cmd.Indicators[:i] {
			if m.Indicator == l.Indicator && !disjoint(l.Sector, m.Sector) && !disjoint(l.Sex, m.Sex) {
				p.Add(invalid(field, "counts some of the attendees indicators[%d] counts already towards %q", j, l.Indicator))
				continue links
			}
		}
	}
	return p.Err()
}

// disjoint reports whether two categories of a link (sector or sex) can
// never count the same attendee: both are given and differ.
func disjoint(a, b string) bool { return a != "" && b != "" && a != b }

// checkOrganisations adds to p each organisation named as taking part
// that is not in the registry; it returns only what keeps it from
// looking. It looks only once the rest of the input is well-formed (p
// holds nothing): lookups cost reads, and an ID the store cannot name
// fails as an internal error, which must not hide the caller's typing
// errors.
func (s *Service) checkOrganisations(ctx context.Context, at Attendance, p *domain.Problems) error {
	if p.Err() != nil {
		return nil
	}
	for i, id := range at.Organisations {
		var o registry.Organisation
		if _, err := s.Repo.Load(ctx, registry.OrganisationStream(id), &o); err != nil {
			return err
		}
		if o.ID() == "" {
			p.Add(invalid(fmt.Sprintf("attendance.organisations[%d]", i), "%q is not an organisation in the registry", id))
		}
	}
	return nil
}

// change runs decide on the activity id through domain.Handle, after
// refusing a hub outside the region the activity was scheduled in: the
// activity must exist, since only its own events say where it is.
func (s *Service) change(ctx context.Context, meta domain.Meta, id string, decide func(*Activity) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: Stream(id), What: "activity " + id},
		func(a *Activity) ([]domain.Event, error) {
			if err := inRegion(meta, "changing activity "+id, a.region); err != nil {
				return nil, err
			}
			return decide(a)
		})
}

// AddNote notes something about an activity (at most 2,000 characters).
func (s *Service) AddNote(ctx context.Context, meta domain.Meta, cmd AddNote) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("note on an activity", recorders...); err != nil {
		return eventstore.AppendResult{}, err
	}
	var p domain.Problems
	p.Add(checkID(cmd.ID))
	cmd.Note = strings.TrimSpace(cmd.Note)
	switch n := utf8.RuneCountInString(cmd.Note); {
	case n == 0:
		p.Add(invalid("note", "required"))
	case n > 2000:
		p.Add(invalid("note", "%d characters, over the limit of 2,000", n))
	}
	if err := p.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.change(ctx, meta, cmd.ID, func(a *Activity) ([]domain.Event, error) { return a.AddNote(cmd) })
}

// checkCycle checks the participatory budget cycle an activity serves: one
// the ledger records, of the activity's municipality.
func (s *Service) checkCycle(ctx context.Context, cmd Schedule) error {
	if cmd.Cycle == "" {
		return nil
	}
	if err := domain.CheckCode("cycle", cmd.Cycle, "keda-2023"); err != nil {
		return err
	}
	var c budgeting.Cycle
	if _, err := s.Repo.Load(ctx, budgeting.CycleStream(cmd.Cycle), &c); err != nil {
		return err
	}
	switch {
	case c.ID() == "":
		return invalid("cycle", "%q is not a participatory budget cycle", cmd.Cycle)
	case c.Municipality() != cmd.Municipality:
		return invalid("cycle", "%s is %s's cycle; the activity is in %s", cmd.Cycle, c.Municipality(), cmd.Municipality)
	}
	return nil
}
