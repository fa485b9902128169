package project_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/domaintest"
)

// The HEKS/EPER project of the source documents: EUR 1,249,910 in all, of
// which the EU gives EUR 999,100, from 2022-01-01 to 2025-06-30, with the
// target of at least 60 local government representatives trained. The
// organisation IDs are illustrative.
const (
	heks = "0190c3e4-0000-7000-8000-0000000000e1"
	eu   = "0190c3e4-0000-7000-8000-0000000000e2"
)

var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func eur(euros int64) project.Money { return project.Money{Minor: euros * 100, Currency: "EUR"} }

// ptr is a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

func newService(t *testing.T) *project.Service {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	project.RegisterEvents(types)
	svc := &project.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
	meta := domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, Now: now}
	ctx := context.Background()
	for _, e := range []struct {
		stream string
		ev     domain.Event
	}{
		{registry.RegionStream("kvemo-kartli"), registry.RegionRegistered{Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი"}, Kind: registry.OrdinaryRegion}},
		{registry.MunicipalityStream("marneuli"), registry.MunicipalityRegistered{Code: "marneuli", Name: domain.LocalizedText{Ka: "მარნეული"}, Region: "kvemo-kartli", Kind: registry.OrdinaryMunicipality}},
		{registry.OrganisationStream(heks), registry.OrganisationRegistered{ID: heks, Kind: registry.CSO, Name: domain.LocalizedText{Ka: "ჰეკს/ეპერი", En: "HEKS/EPER"}}},
		{registry.OrganisationStream(eu), registry.OrganisationRegistered{ID: eu, Kind: registry.Donor, Name: domain.LocalizedText{Ka: "ევროკავშირი", En: "European Union"}}},
	} {
		if _, err := svc.Repo.Save(ctx, e.stream, 0, meta, e.ev); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

var admin = domain.Meta{Actor: domain.Actor{ID: "key:admin", Role: domain.Admin}, Now: now}

// step is one command of the table and what it must give.
type step = domaintest.Step[*project.Service]

func run(t *testing.T, svc *project.Service, steps []step) {
	t.Helper()
	domaintest.Run(t, svc, svc.Repo.Store, steps)
}

func register(f func(*project.Register)) func(context.Context, *project.Service) error {
	return func(ctx context.Context, s *project.Service) error {
		cmd := project.Register{ID: "heks-eper-2022", Title: domain.LocalizedText{Ka: "სამოქალაქო საზოგადოების გაძლიერება", En: "Strengthening civil society"},
			Implementers: []string{heks}, Start: "2022-01-01", End: "2025-06-30", Regions: []string{"kvemo-kartli"}, Municipalities: []string{"marneuli"},
			Total: ptr(eur(1249910))}
		f(&cmd)
		_, err := s.RegisterProject(ctx, admin, cmd)
		return err
	}
}

func contribute(donor string, m project.Money) func(context.Context, *project.Service) error {
	return func(ctx context.Context, s *project.Service) error {
		_, err := s.RecordContribution(ctx, admin, project.RecordContribution{Project: "heks-eper-2022", Donor: donor, Amount: m})
		return err
	}
}

func indicator(id string, unit project.Unit, baseline float64) func(context.Context, *project.Service) error {
	return func(ctx context.Context, s *project.Service) error {
		_, err := s.DefineIndicator(ctx, admin, project.DefineIndicator{Project: "heks-eper-2022", ID: id, ResultType: project.Output,
			Result: domain.LocalizedText{Ka: "ადგილობრივი ხელისუფლება", En: "Local government"},
			Title:  domain.LocalizedText{Ka: "გადამზადებული წარმომადგენლები", En: "Representatives trained"}, Unit: unit, HigherIsBetter: true, Baseline: baseline})
		return err
	}
}

func target(ind, start, end string, v float64) func(context.Context, *project.Service) error {
	return func(ctx context.Context, s *project.Service) error {
		_, err := s.SetTarget(ctx, admin, project.SetTarget{Project: "heks-eper-2022", Indicator: ind, Start: start, End: end, Value: v})
		return err
	}
}

func actual(id, ind, start, end string, v float64, shares ...project.Share) func(context.Context, *project.Service) error {
	return func(ctx context.Context, s *project.Service) error {
		_, err := s.RecordActual(ctx, admin, project.RecordActual{Project: "heks-eper-2022", ID: id, Indicator: ind, Start: start, End: end,
			Value: v, Disaggregation: shares, Source: "training attendance sheets"})
		return err
	}
}

func sex(women, men float64) []project.Share {
	return []project.Share{{Dimension: "sex", Category: "female", Value: women}, {Dimension: "sex", Category: "male", Value: men}}
}

func TestProject(t *testing.T) {
	svc := newService(t)
	correct := func(id string, v float64, reason string, shares ...project.Share) func(context.Context, *project.Service) error {
		return func(ctx context.Context, s *project.Service) error {
			_, err := s.CorrectActual(ctx, admin, project.CorrectActual{Project: "heks-eper-2022", ID: id, Value: v, Disaggregation: shares, Reason: reason})
			return err
		}
	}
	run(t, svc, []step{
		{Name: "an end before the start", Do: register(func(c *project.Register) { c.End = "2021-12-31" }), Kind: domain.Invalid, Text: "end: 2021-12-31 is before the start"},
		{Name: "not an ISO 4217 currency", Do: register(func(c *project.Register) { c.Total.Currency = "EURO" }), Kind: domain.Invalid, Text: "not an ISO 4217 currency"},
		{Name: "a negative budget", Do: register(func(c *project.Register) { c.Total.Minor = -1 }), Kind: domain.Invalid, Text: "negative"},
		{Name: "an unknown implementer", Do: register(func(c *project.Register) { c.Implementers = []string{"nobody"} }), Kind: domain.Invalid, Text: "not an organisation"},
		{Name: "an unknown municipality", Do: register(func(c *project.Register) { c.Municipalities = []string{"atlantis"} }), Kind: domain.Invalid, Text: `"atlantis" is not in the registry`},
		{Name: "no implementer", Do: register(func(c *project.Register) { c.Implementers = nil }), Kind: domain.Invalid, Text: "implementers"},
		{Name: "register", Then: []string{"project.registered"}, Do: register(func(*project.Register) {})},
		{Name: "register twice", Do: register(func(*project.Register) {}), Kind: domain.Conflict, Text: "exists already"},
		{Name: "an analyst may not", Do: func(ctx context.Context, s *project.Service) error {
			_, err := s.RecordContribution(ctx, domain.Meta{Actor: domain.Actor{ID: "key:a", Role: domain.Analyst}, Now: now},
				project.RecordContribution{Project: "heks-eper-2022", Donor: eu, Amount: eur(1)})
			return err
		}, Kind: domain.Forbidden},
		{Name: "the EU's contribution", Then: []string{"project.contribution_recorded"}, Do: contribute(eu, eur(999100))},
		{Name: "in another currency", Do: contribute(heks, project.Money{Minor: 100, Currency: "USD"}), Kind: domain.Invalid, Text: "the budget is in EUR"},
		{Name: "over the total", Do: contribute(heks, eur(250811)), Kind: domain.Invalid, Text: "EUR 1,249,911.00, over the total budget of EUR 1,249,910.00"},
		{Name: "the rest", Then: []string{"project.contribution_recorded"}, Do: contribute(heks, eur(250810))},
		{Name: "a unit that is not", Do: indicator("lg-trained", "people", 0), Kind: domain.Invalid, Text: "unit"},
		{Name: "a negative baseline", Do: indicator("lg-trained", project.Count, -1), Kind: domain.Invalid, Text: "baseline"},
		{Name: "an indicator", Then: []string{"project.indicator_defined"}, Do: indicator("lg-trained", project.Count, 0)},
		{Name: "the same indicator again", Do: indicator("lg-trained", project.Count, 0), Kind: domain.Conflict, Text: "already"},
		{Name: "a target outside the project", Do: target("lg-trained", "2021-01-01", "2025-06-30", 60), Kind: domain.Invalid, Text: "not within the project's period"},
		{Name: "a target of no indicator", Do: target("nothing", "2022-01-01", "2025-06-30", 60), Kind: domain.Invalid, Text: `no indicator "nothing"`},
		{Name: "a negative target", Do: target("lg-trained", "2022-01-01", "2025-06-30", -60), Kind: domain.Invalid, Text: "value"},
		{Name: "the target", Then: []string{"project.target_set"}, Do: target("lg-trained", "2022-01-01", "2025-06-30", 60)},
		{Name: "an actual that does not add up", Do: actual("lg-2022", "lg-trained", "2022-01-01", "2022-12-31", 35, sex(20, 14)...), Kind: domain.Invalid, Text: "the sex categories add up to 34, not the value 35"},
		{Name: "a negative share", Do: actual("lg-2022", "lg-trained", "2022-01-01", "2022-12-31", 35, sex(36, -1)...), Kind: domain.Invalid, Text: "value"},
		{Name: "an unknown dimension", Do: actual("lg-2022", "lg-trained", "2022-01-01", "2022-12-31", 35, project.Share{Dimension: "height", Category: "tall", Value: 35}), Kind: domain.Invalid, Text: "dimension"},
		{Name: "an actual for an unknown indicator", Do: actual("x-2022", "nothing", "2022-01-01", "2022-12-31", 1), Kind: domain.Invalid, Text: `no indicator "nothing"`},
		{Name: "an actual in the future", Do: actual("lg-2026", "lg-trained", "2025-01-01", "2026-03-02", 1), Kind: domain.Invalid, Text: "in the future"},
		{Name: "an actual", Then: []string{"project.actual_recorded"}, Do: actual("lg-2022", "lg-trained", "2022-01-01", "2022-12-31", 35, sex(20, 15)...)},
		{Name: "the same actual again", Do: actual("lg-2022", "lg-trained", "2022-01-01", "2022-12-31", 35), Kind: domain.Conflict, Text: "correct it instead"},
		{Name: "a correction without a reason", Do: correct("lg-2022", 38, "", sex(22, 16)...), Kind: domain.Invalid, Text: "reason"},
		{Name: "a correction of no actual", Do: correct("nothing", 38, "late sheets"), Kind: domain.NotFound, Text: "no actual"},
		{Name: "a correction", Then: []string{"project.actual_corrected"}, Do: correct("lg-2022", 38, "three attendance sheets arrived late", sex(22, 16)...)},
		{Name: "the same figures change nothing", Then: []string{}, Do: correct("lg-2022", 38, "again", sex(22, 16)...)},
	})

	var p project.Project
	if _, err := svc.Repo.Load(context.Background(), project.Stream("heks-eper-2022"), &p); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		day     string
		actual  float64
		percent float64
		elapsed float64
		status  project.Status
	}{
		{"2021-12-31", 0, 0, 0, project.NoTarget},
		{"2022-06-30", 0, 0, 14.17, project.AtRisk},
		{"2023-12-31", 38, 63.33, 57.17, project.OnTrack},
		{"2025-06-30", 38, 63.33, 100, project.AtRisk},
		{"2026-01-01", 38, 63.33, 100, project.Missed},
	} {
		got, err := p.Progress("lg-trained", tt.day)
		if err != nil {
			t.Fatal(err)
		}
		if got.Actual != tt.actual || got.Percent != tt.percent || got.Elapsed != tt.elapsed || got.Status != tt.status {
			t.Errorf("progress on %s: actual %v, %v%% of the target, %v%% of the time, %s; want %v, %v%%, %v%%, %s",
				tt.day, got.Actual, got.Percent, got.Elapsed, got.Status, tt.actual, tt.percent, tt.elapsed, tt.status)
		}
	}
	run(t, svc, []step{{Name: "a second year", Then: []string{"project.actual_recorded"}, Do: actual("lg-2024", "lg-trained", "2024-01-01", "2024-12-31", 25, sex(13, 12)...)}})
	p = project.Project{}
	if _, err := svc.Repo.Load(context.Background(), project.Stream("heks-eper-2022"), &p); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Progress("lg-trained", "2025-06-30"); got.Actual != 63 || got.Status != project.Achieved {
		t.Errorf("at the end: actual %v, %s; want 63 and achieved", got.Actual, got.Status)
	}
	if _, err := p.Progress("nothing", "2025-06-30"); domain.KindOf(err) != domain.NotFound {
		t.Errorf("progress of no indicator: %v; want NotFound", err)
	}
}

// TestEventNames holds each event to its stored name, which outlives the
// Go type, and Money to the form the documents write amounts in.
func TestEventNames(t *testing.T) {
	for want, e := range map[string]domain.Event{
		"project.registered":            project.Registered{},
		"project.contribution_recorded": project.ContributionRecorded{},
		"project.indicator_defined":     project.IndicatorDefined{},
		"project.target_set":            project.TargetSet{},
		"project.actual_recorded":       project.ActualRecorded{},
		"project.actual_corrected":      project.ActualCorrected{},
	} {
		if e.EventType() != want {
			t.Errorf("%T is stored as %s, want %s", e, e.EventType(), want)
		}
	}
	for m, want := range map[project.Money]string{
		eur(999100):                            "EUR 999,100.00",
		eur(1249910):                           "EUR 1,249,910.00",
		{Minor: 5, Currency: "GEL"}:            "GEL 0.05",
		{Minor: 123456789012, Currency: "USD"}: "USD 1,234,567,890.12",
	} {
		if got := m.String(); got != want {
			t.Errorf("%#v formats as %q, want %q", m, got, want)
		}
	}
}

// TestComputeProgress covers the units and directions the HEKS/EPER
// figures do not: a percentage takes its latest actual, a measure where
// lower is better moves from its baseline down, and a qualitative one has
// no pace.
func TestComputeProgress(t *testing.T) {
	targets := []project.TargetSet{{Start: "2022-01-01", End: "2022-12-31", Value: 40}, {Start: "2023-01-01", End: "2023-12-31", Value: 60}}
	actuals := []project.Measure{{Start: "2022-01-01", End: "2022-06-30", Value: 30}, {Start: "2022-07-01", End: "2022-12-31", Value: 35}, {Start: "2023-01-01", End: "2023-06-30", Value: 50}}
	ind := func(unit project.Unit, higher bool, baseline float64) project.IndicatorDefined {
		return project.IndicatorDefined{ID: "x", Unit: unit, HigherIsBetter: higher, Baseline: baseline}
	}
	tests := []struct {
		name    string
		ind     project.IndicatorDefined
		targets []project.TargetSet
		day     string
		want    string
	}{
		{"a percentage takes the latest actual", ind(project.Percent, true, 20), targets, "2022-12-31", "35 75 100 at_risk"},
		{"the next period's target", ind(project.Percent, true, 20), targets, "2023-07-01", "50 75 49.86 on_track"},
		{"a count adds up", ind(project.Count, true, 0), targets, "2022-12-31", "65 162.5 100 achieved"},
		{"lower is better", ind(project.Percent, false, 50), []project.TargetSet{{Start: "2022-01-01", End: "2022-12-31", Value: 30}}, "2022-12-31", "35 75 100 at_risk"},
		{"qualitative", ind(project.Qualitative, true, 0), targets, "2022-12-31", "35 0 100 not_measured"},
		{"before any target", ind(project.Count, true, 0), targets, "2021-06-01", "0 0 0 no_target"},
	}
	for _, tt := range tests {
		p := project.ComputeProgress(tt.ind, tt.targets, actuals, tt.day)
		if got := fmt.Sprint(p.Actual, " ", p.Percent, " ", p.Elapsed, " ", p.Status); got != tt.want {
			t.Errorf("%s: %s; want %s", tt.name, got, tt.want)
		}
	}
}

// TestUndisclosedBudget: a project whose sources give no budget is
// registered without one; its contributions are then bounded by nothing
// and may be in any currency, but must still be amounts.
func TestUndisclosedBudget(t *testing.T) {
	svc := newService(t)
	domaintest.Run(t, svc, svc.Repo.Store, []step{
		{Name: "register without a total", Then: []string{"project.registered"}, Do: register(func(c *project.Register) { c.Total = nil })},
		{Name: "a contribution in another currency", Then: []string{"project.contribution_recorded"}, Do: contribute(eu, project.Money{Minor: 5_000_000_00, Currency: "USD"})},
		{Name: "still not a currency", Do: contribute(eu, project.Money{Minor: 1, Currency: "EURO"}), Kind: domain.Invalid, Text: "amount.currency"},
		{Name: "still not negative", Do: contribute(eu, project.Money{Minor: -1, Currency: "EUR"}), Kind: domain.Invalid, Text: "negative"},
	})
}
