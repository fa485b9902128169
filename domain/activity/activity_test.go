package activity_test

import (
	"context"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/domaintest"
)

// The Civic Integration Foundation, the Kvemo Kartli hub (ID
// illustrative), and one of the trainings it offers.
const cif = "0190c3e4-0000-7000-8000-0000000000c1"

var now = time.Date(2023, 6, 1, 10, 0, 0, 0, time.UTC)

var admin = domain.Meta{Actor: domain.Actor{ID: "key:admin", Role: domain.Admin}, Now: now}

// hub is the Meta of a hub key for region.
func hub(region string) domain.Meta {
	return domain.Meta{Actor: domain.Actor{ID: "key:hub-" + region, Role: domain.Hub, Region: region}, Now: now}
}

func newService(t *testing.T) *activity.Service {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	activity.RegisterEvents(types)
	project.RegisterEvents(types)
	budgeting.RegisterEvents(types)
	svc := &activity.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
	meta := domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, Now: now}
	ctx := context.Background()
	if _, err := svc.Repo.Save(ctx, registry.MunicipalityStream("marneuli"), 0, meta, registry.MunicipalityRegistered{
		Code: "marneuli", Name: domain.LocalizedText{Ka: "მარნეული", En: "Marneuli"}, Region: "kvemo-kartli", Kind: registry.OrdinaryMunicipality}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Repo.Save(ctx, registry.OrganisationStream(cif), 0, meta, registry.OrganisationRegistered{
		ID: cif, Kind: registry.RegionalHub, Name: domain.LocalizedText{Ka: "სამოქალაქო ინტეგრაციის ფონდი", En: "Civic Integration Foundation"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Repo.Save(ctx, project.Stream("heks-eper-2022"), 0, meta, project.Registered{
		ID: "heks-eper-2022", Title: domain.LocalizedText{Ka: "ადგილობრივი განვითარება", En: "Local development"}, Implementers: []string{cif},
		Start: "2022-01-01", End: "2025-06-30", Total: &project.Money{Minor: 124991000, Currency: "EUR"}},
		project.IndicatorDefined{Project: "heks-eper-2022", ID: "local-gov-trained", ResultType: project.Output, Unit: project.Count, HigherIsBetter: true},
		project.IndicatorDefined{Project: "heks-eper-2022", ID: "satisfaction", ResultType: project.Outcome, Unit: project.Percent, HigherIsBetter: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"marneuli", "keda"} {
		if _, err := svc.Repo.Save(ctx, budgeting.CycleStream(c+"-2023"), 0, meta, budgeting.CycleOpened{ID: c + "-2023", Municipality: c, Year: 2023,
			Currency: "GEL", Rules: budgeting.Rules{Version: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

type step = domaintest.Step[*activity.Service]

func schedule(id string, f func(*activity.Schedule)) func(context.Context, *activity.Service) error {
	return func(ctx context.Context, s *activity.Service) error {
		cmd := activity.Schedule{ID: id, Type: activity.Training, Title: domain.LocalizedText{Ka: "სტრატეგიული დაგეგმვა", En: "Strategic planning"},
			Topic: "strategic planning", Organisers: []string{cif}, Municipality: "marneuli", Place: "Marneuli library", Start: "2023-05-10", End: "2023-05-11"}
		f(&cmd)
		_, err := s.Schedule(ctx, admin, cmd)
		return err
	}
}

func held(id string, at activity.Attendance) func(context.Context, *activity.Service) error {
	return func(ctx context.Context, s *activity.Service) error {
		_, err := s.RecordHeld(ctx, admin, activity.Hold{ID: id, Attendance: at})
		return err
	}
}

var yes, no = true, false

// attendance is total attendees: women from CSOs, minority of them of an
// ethnic minority, and men from local government.
func attendance(total, women, men, minority int) activity.Attendance {
	return activity.Attendance{Total: total, Groups: []activity.Group{
		{Sex: "female", Sector: "cso", EthnicMinority: &yes, Count: minority},
		{Sex: "female", Sector: "cso", EthnicMinority: &no, Count: women - minority},
		{Sex: "male", AgeBand: "30_44", Sector: "local_government", Count: men},
	}}
}

func TestActivities(t *testing.T) {
	svc := newService(t)
	correct := func(at activity.Attendance, reason string) func(context.Context, *activity.Service) error {
		return func(ctx context.Context, s *activity.Service) error {
			_, err := s.CorrectAttendance(ctx, admin, activity.CorrectAttendance{ID: "cif-2023-05", Attendance: at, Reason: reason})
			return err
		}
	}
	do := func(f func(ctx context.Context, s *activity.Service) error) func(context.Context, *activity.Service) error {
		return f
	}
	domaintest.Run(t, svc, svc.Repo.Store, []step{
		{Name: "an end before the start", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.End = "2023-05-09" }), Kind: domain.Invalid, Text: "end: 2023-05-09 is before the start"},
		{Name: "a type that is not", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Type = "picnic" }), Kind: domain.Invalid, Text: "type"},
		{Name: "a consultation without its channel", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Type, c.Topic = activity.Consultation, "" }), Kind: domain.Invalid, Text: "channel"},
		{Name: "a training with a channel", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Channel = "phone" }), Kind: domain.Invalid, Text: "only a consultation"},
		{Name: "an unknown municipality", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Municipality = "atlantis" }), Kind: domain.Invalid, Text: "not a municipality"},
		{Name: "three invalid fields, reported together", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.End, c.Channel, c.Municipality = "2023-05-09", "phone", "atlantis"
		}), Kind: domain.Invalid, Text: "3 fields are invalid: channel: only a consultation has a channel; end: 2023-05-09 is before the start"},
		{Name: "an unknown organiser", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Organisers = []string{"nobody"} }), Kind: domain.Invalid, Text: "not an organisation"},
		{Name: "an organiser ID no stream can have is bad input, not an internal error", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Organisers = []string{"no body"} }),
			Kind: domain.Invalid, Text: `organisers[0]: "no body" is not an organisation ID`},
		{Name: "a cycle that is not", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Cycle = "marneuli-2099" }), Kind: domain.Invalid, Text: `cycle: "marneuli-2099" is not a participatory budget cycle`},
		{Name: "another municipality's cycle", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Cycle = "keda-2023" }), Kind: domain.Invalid, Text: "cycle: keda-2023 is keda's cycle; the activity is in marneuli"},
		{Name: "an unknown project", Do: schedule("cif-2023-05", func(c *activity.Schedule) { c.Project = "nothing" }), Kind: domain.Invalid, Text: `"nothing" is not a project`},
		{Name: "an analyst may not", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.Schedule(ctx, domain.Meta{Actor: domain.Actor{ID: "key:a", Role: domain.Analyst}, Now: now}, activity.Schedule{ID: "x"})
			return err
		}), Kind: domain.Forbidden},
		{Name: "indicators without a project", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Indicators = []activity.IndicatorLink{{Indicator: "local-gov-trained"}}
		}), Kind: domain.Invalid, Text: "indicators: an activity counts towards indicators of the project it serves"},
		{Name: "an indicator the project lacks", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Project, c.Indicators = "heks-eper-2022", []activity.IndicatorLink{{Indicator: "trees-planted"}}
		}), Kind: domain.Invalid, Text: `indicators[0].indicator: project heks-eper-2022 has no indicator "trees-planted"`},
		{Name: "an indicator that is not a count", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Project, c.Indicators = "heks-eper-2022", []activity.IndicatorLink{{Indicator: "satisfaction"}}
		}), Kind: domain.Invalid, Text: "only a count"},
		{Name: "a link by an unknown sector", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Project, c.Indicators = "heks-eper-2022", []activity.IndicatorLink{{Indicator: "local-gov-trained", Sector: "government"}}
		}), Kind: domain.Invalid, Text: `indicators[0].sector: "government" is not a sector`},
		{Name: "links that count the same attendees twice", Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Project, c.Indicators = "heks-eper-2022", []activity.IndicatorLink{{Indicator: "local-gov-trained", Sector: "local_government"}, {Indicator: "local-gov-trained", Sex: "female"}}
		}), Kind: domain.Invalid, Text: `indicators[1]: counts some of the attendees indicators[0] counts already`},
		{Name: "schedule", Then: []string{"activity.scheduled"}, Do: schedule("cif-2023-05", func(c *activity.Schedule) {
			c.Project, c.Indicators = "heks-eper-2022", []activity.IndicatorLink{{Indicator: "local-gov-trained", Sector: "local_government"}}
		})},
		{Name: "the hub of another region may not schedule here", Do: do(func(ctx context.Context, s *activity.Service) error {
			cmd := activity.Schedule{ID: "imereti-hub-1", Type: activity.Forum, Title: domain.LocalizedText{Ka: "ფორუმი", En: "Forum"},
				Organisers: []string{cif}, Municipality: "marneuli", Start: "2023-05-20", End: "2023-05-20"}
			_, err := s.Schedule(ctx, hub("imereti"), cmd)
			return err
		}), Kind: domain.Forbidden, Text: "in kvemo-kartli is not allowed for the hub of imereti"},
		{Name: "nor record what another region's activity did", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.Cancel(ctx, hub("imereti"), activity.Cancel{ID: "cif-2023-05", Reason: "mine now"})
			return err
		}), Kind: domain.Forbidden, Text: "changing activity cif-2023-05 in kvemo-kartli"},
		{Name: "the region's own hub schedules", Then: []string{"activity.scheduled"}, Do: do(func(ctx context.Context, s *activity.Service) error {
			cmd := activity.Schedule{ID: "cif-forum-2023", Type: activity.Forum, Title: domain.LocalizedText{Ka: "ფორუმი", En: "Forum"},
				Organisers: []string{cif}, Municipality: "marneuli", Start: "2023-05-20", End: "2023-05-20"}
			_, err := s.Schedule(ctx, hub("kvemo-kartli"), cmd)
			return err
		})},
		{Name: "and records it held", Then: []string{"activity.held"}, Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.RecordHeld(ctx, hub("kvemo-kartli"), activity.Hold{ID: "cif-forum-2023", Attendance: attendance(30, 18, 12, 9)})
			return err
		})},
		{Name: "schedule twice", Do: schedule("cif-2023-05", func(*activity.Schedule) {}), Kind: domain.Conflict, Text: "exists already"},
		{Name: "a later one", Then: []string{"activity.scheduled"}, Do: schedule("cif-2023-07", func(c *activity.Schedule) { c.Start, c.End, c.Cycle = "2023-07-01", "2023-07-01", "marneuli-2023" })},
		{Name: "held before it begins", Do: held("cif-2023-07", attendance(20, 12, 8, 5)), Kind: domain.Conflict, Text: "cannot have been held yet"},
		{Name: "groups that do not add up", Do: held("cif-2023-05", attendance(20, 12, 7, 5)), Kind: domain.Invalid, Text: "attendance.groups: the counts add up to 19, not the total 20"},
		{Name: "a negative total", Do: held("cif-2023-05", activity.Attendance{Total: -1}), Kind: domain.Invalid, Text: "attendance.total: -1 is negative"},
		{Name: "a negative group", Do: held("cif-2023-05", activity.Attendance{Total: 1, Groups: []activity.Group{{Sex: "female", Count: 2}, {Sex: "male", Count: -1}}}), Kind: domain.Invalid, Text: "attendance.groups[1].count: -1 is negative"},
		{Name: "an unknown category", Do: held("cif-2023-05", activity.Attendance{Total: 2, Groups: []activity.Group{{Sex: "female", Count: 1}, {Sex: "other", Count: 1}}}), Kind: domain.Invalid, Text: `attendance.groups[1].sex: "other" is not a category`},
		{Name: "an unknown sector", Do: held("cif-2023-05", activity.Attendance{Total: 1, Groups: []activity.Group{{Sector: "clergy", Count: 1}}}), Kind: domain.Invalid, Text: `attendance.groups[0].sector: "clergy"`},
		{Name: "a group twice", Do: held("cif-2023-05", activity.Attendance{Total: 2, Groups: []activity.Group{{Sex: "female", EthnicMinority: &yes, Count: 1}, {Sex: "female", EthnicMinority: &yes, Count: 1}}}), Kind: domain.Invalid, Text: "as groups[0]"},
		{Name: "an unknown participating organisation", Do: held("cif-2023-05", activity.Attendance{Total: 1, Organisations: []string{"nobody"}}), Kind: domain.Invalid, Text: `attendance.organisations[0]: "nobody" is not an organisation`},
		{Name: "held", Then: []string{"activity.held"}, Do: held("cif-2023-05", attendance(20, 12, 8, 5))},
		{Name: "held twice", Do: held("cif-2023-05", attendance(20, 12, 8, 5)), Kind: domain.Conflict, Text: "is held"},
		{Name: "a correction without a reason", Do: correct(attendance(22, 13, 9, 6), ""), Kind: domain.Invalid, Text: "reason"},
		{Name: "a correction", Then: []string{"activity.attendance_corrected"}, Do: correct(attendance(22, 13, 9, 6), "a second sign-in sheet")},
		{Name: "reschedule", Then: []string{"activity.rescheduled"}, Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.Reschedule(ctx, admin, activity.Reschedule{ID: "cif-2023-07", Start: "2023-07-08", End: "2023-07-08", Reason: "the hall was taken"})
			return err
		})},
		{Name: "reschedule one held", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.Reschedule(ctx, admin, activity.Reschedule{ID: "cif-2023-05", Start: "2023-05-12", End: "2023-05-12"})
			return err
		}), Kind: domain.Conflict, Text: "cannot be rescheduled"},
		{Name: "cancel", Then: []string{"activity.cancelled"}, Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.Cancel(ctx, admin, activity.Cancel{ID: "cif-2023-07", Reason: "the trainer fell ill"})
			return err
		})},
		{Name: "a note on a cancelled activity", Then: []string{"activity.note_added"}, Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.AddNote(ctx, admin, activity.AddNote{ID: "cif-2023-07", Note: " to be run again in the autumn "})
			return err
		})},
		{Name: "an empty note", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.AddNote(ctx, admin, activity.AddNote{ID: "cif-2023-07", Note: "  "})
			return err
		}), Kind: domain.Invalid, Text: "note: required"},
		{Name: "a note on no activity", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.AddNote(ctx, admin, activity.AddNote{ID: "cif-1999-01", Note: "n"})
			return err
		}), Kind: domain.NotFound, Text: "cif-1999-01"},
		{Name: "an analyst may not note", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.AddNote(ctx, domain.Meta{Actor: domain.Actor{ID: "key:a", Role: domain.Analyst}}, activity.AddNote{ID: "cif-2023-07", Note: "n"})
			return err
		}), Kind: domain.Forbidden, Text: "note on an activity"},
		{Name: "an attendance for one cancelled", Do: do(func(ctx context.Context, s *activity.Service) error {
			_, err := s.CorrectAttendance(ctx, admin, activity.CorrectAttendance{ID: "cif-2023-07", Attendance: attendance(20, 12, 8, 5), Reason: "r"})
			return err
		}), Kind: domain.Conflict, Text: "only a held activity"},
	})

	var a activity.Activity
	if _, err := svc.Repo.Load(context.Background(), activity.Stream("cif-2023-05"), &a); err != nil {
		t.Fatal(err)
	}
	if got := a.Attendance(); a.Status() != activity.StatusHeld || got.Total != 22 || got.By("sex")["female"] != 13 || got.By("ethnic_minority")["true"] != 6 {
		t.Fatalf("after the correction: %s, %+v; want held with 22 attendees, 13 women, 6 of a minority", a.Status(), got)
	}
	events, err := svc.Repo.Store.ReadStream(context.Background(), activity.Stream("cif-2023-05"), eventstore.ReadOptions{})
	if err != nil || len(events) != 3 {
		t.Fatalf("the activity's stream: %d events, %v; want scheduled, held, corrected", len(events), err)
	}
	e, err := svc.Repo.Types.Decode(events[0])
	if err != nil || e.(activity.Scheduled).Region != "kvemo-kartli" {
		t.Fatalf("the scheduled event %+v (%v); want the municipality's region recorded", e, err)
	}
}

func TestIndicatorLinkCounts(t *testing.T) {
	at := attendance(22, 13, 9, 6)
	for _, c := range []struct {
		link activity.IndicatorLink
		want int
	}{
		{activity.IndicatorLink{Indicator: "i"}, 22},
		{activity.IndicatorLink{Indicator: "i", Sector: "local_government"}, 9},
		{activity.IndicatorLink{Indicator: "i", Sex: "female"}, 13},
		{activity.IndicatorLink{Indicator: "i", Sex: "female", Sector: "local_government"}, 0},
		{activity.IndicatorLink{Indicator: "i", Sector: "media"}, 0},
	} {
		if got := c.link.Counted(at); got != c.want {
			t.Errorf("%+v counts %d, want %d", c.link, got, c.want)
		}
	}
	if got := (activity.Attendance{Total: 7}).By("sex"); got[""] != 7 || len(got) != 1 {
		t.Errorf("an attendance without groups by sex: %v, want 7 unrecorded", got)
	}
}

// TestScheduleServesCycle: an activity serving a participatory budget
// cycle records it.
func TestScheduleServesCycle(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	if err := schedule("cif-2023-09", func(c *activity.Schedule) { c.Cycle = "marneuli-2023" })(ctx, svc); err != nil {
		t.Fatal(err)
	}
	events, err := svc.Repo.Store.ReadStream(ctx, activity.Stream("cif-2023-09"), eventstore.ReadOptions{})
	if err != nil || len(events) != 1 {
		t.Fatalf("%d events, %v", len(events), err)
	}
	e, err := svc.Repo.Types.Decode(events[0])
	if err != nil || e.(activity.Scheduled).Cycle != "marneuli-2023" {
		t.Fatalf("the scheduled event %+v (%v); want the cycle recorded", e, err)
	}
}
