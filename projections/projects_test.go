package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// projHistory is the HEKS/EPER project (figures from the source
// documents, actuals illustrative) written through project.Service.
type projHistory struct {
	heks, eu    string
	head, after int64
}

func makeProjHistory(t *testing.T, e *domainEnv) projHistory {
	t.Helper()
	ctx := context.Background()
	var h projHistory
	for _, o := range []struct {
		id   *string
		kind registry.OrganisationKind
		en   string
	}{{&h.heks, registry.CSO, "HEKS/EPER"}, {&h.eu, registry.Donor, "European Union"}} {
		id, _, err := e.registry.RegisterOrganisation(ctx, asSystem(), registry.RegisterOrganisation{Kind: o.kind, Name: domain.LocalizedText{Ka: o.en, En: o.en}})
		if err != nil {
			t.Fatal(err)
		}
		*o.id = id
	}
	svc := &project.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	meta := asSystem()
	eur := func(euros int64) project.Money { return project.Money{Minor: euros * 100, Currency: "EUR"} }
	total := eur(1249910)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const id = "heks-eper-2022"
	must(svc.RegisterProject(ctx, meta, project.Register{ID: id, Title: domain.LocalizedText{Ka: "სამოქალაქო საზოგადოების გაძლიერება", En: "Strengthening civil society"},
		Implementers: []string{h.heks}, Start: "2022-01-01", End: "2025-06-30", Regions: []string{"kvemo-kartli"}, Municipalities: []string{"marneuli"}, Total: &total}))
	must(svc.RecordContribution(ctx, meta, project.RecordContribution{Project: id, Donor: h.eu, Amount: eur(999100)}))
	for _, ind := range []struct {
		id     string
		unit   project.Unit
		target float64
	}{{"lg-trained", project.Count, 60}, {"business-orgs", project.Count, 50}, {"gov-reps", project.Count, 70}} {
		must(svc.DefineIndicator(ctx, meta, project.DefineIndicator{Project: id, ID: ind.id, ResultType: project.Output,
			Result: domain.LocalizedText{Ka: "შედეგი", En: "Result"}, Title: domain.LocalizedText{Ka: ind.id, En: ind.id}, Unit: ind.unit, HigherIsBetter: true}))
		must(svc.SetTarget(ctx, meta, project.SetTarget{Project: id, Indicator: ind.id, Start: "2022-01-01", End: "2025-06-30", Value: ind.target}))
	}
	h.after = e.settle(t)
	share := func(w, m float64) []project.Share {
		return []project.Share{{Dimension: "sex", Category: "female", Value: w}, {Dimension: "sex", Category: "male", Value: m}}
	}
	must(svc.RecordActual(ctx, meta, project.RecordActual{Project: id, ID: "lg-2022", Indicator: "lg-trained", Start: "2022-01-01", End: "2022-12-31", Value: 35, Disaggregation: share(20, 15), Source: "attendance sheets"}))
	must(svc.RecordActual(ctx, meta, project.RecordActual{Project: id, ID: "biz-2023", Indicator: "business-orgs", Start: "2023-01-01", End: "2023-12-31", Value: 18, Source: "business survey"}))
	must(svc.CorrectActual(ctx, meta, project.CorrectActual{Project: id, ID: "lg-2022", Value: 38, Disaggregation: share(22, 16), Reason: "late sheets"}))
	must(svc.SetTarget(ctx, meta, project.SetTarget{Project: id, Indicator: "gov-reps", Start: "2022-01-01", End: "2025-06-30", Value: 75}))
	must(svc.RecordActual(ctx, meta, project.RecordActual{Project: id, ID: "lg-2024", Indicator: "lg-trained", Start: "2024-01-01", End: "2024-12-31", Value: 25, Source: "attendance sheets"}))
	h.head = e.settle(t)
	return h
}

func TestProjectsIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeProjHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Projects{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Projects{}, events)
}

func TestProjectsCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeProjHistory(t, e)
	checkCrashRecovery(t, e, projections.Projects{}, h.head, h.after)
}

// TestProjectsQueries reads the project back, and its indicators' progress
// on several days, which must be the aggregate's own on each.
func TestProjectsQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeProjHistory(t, e)
	e.startRunner(t, h.head, projections.Projects{}, projections.Activities{})
	ctx := context.Background()
	p, err := e.reads.Project(ctx, "heks-eper-2022")
	if err != nil || p == nil {
		t.Fatalf("Project = %v, %v", p, err)
	}
	if got := fmt.Sprintf("%s %s..%s %s %v", p.Title.En, p.Start, p.End, p.Total, p.Contributions); got !=
		"Strengthening civil society 2022-01-01..2025-06-30 EUR 1,249,910.00 [{"+h.eu+" EUR 999,100.00}]" {
		t.Fatalf("project: %s", got)
	}
	if n, err := e.reads.Project(ctx, "nothing"); n != nil || err != nil {
		t.Fatalf("Project(nothing) = %v, %v; want nil", n, err)
	}
	var agg project.Project
	if _, err := (&domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}).Load(ctx, project.Stream("heks-eper-2022"), &agg); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2021-12-31", "2022-06-30", "2023-12-31", "2025-06-30", "2026-01-01"} {
		got, err := e.reads.ProjectProgress(ctx, "heks-eper-2022", day)
		if err != nil || len(got) != 3 {
			t.Fatalf("ProjectProgress(%s) = %d indicators, %v; want 3", day, len(got), err)
		}
		for _, ip := range got {
			want, err := agg.Progress(ip.Indicator.ID, day)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ip.Progress.Actual, ip.Progress.Percent, ip.Progress.Elapsed, ip.Progress.Status, derefTarget(ip.Progress.Target)) !=
				fmt.Sprint(want.Actual, want.Percent, want.Elapsed, want.Status, derefTarget(want.Target)) {
				t.Errorf("%s on %s: the read model says %+v, the aggregate %+v", ip.Indicator.ID, day, ip.Progress, want)
			}
		}
	}
	got, err := e.reads.ProjectProgress(ctx, "heks-eper-2022", "2025-06-30")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ip := range got {
		lines = append(lines, fmt.Sprintf("%s %v/%v %s", ip.Indicator.ID, ip.Progress.Actual, ip.Progress.Target.Value, ip.Progress.Status))
	}
	if fmt.Sprint(lines) != "[business-orgs 18/50 at_risk gov-reps 0/75 at_risk lg-trained 63/60 achieved]" {
		t.Fatalf("progress at the end: %v", lines)
	}
	if _, err := e.reads.ProjectProgress(ctx, "heks-eper-2022", "soon"); domain.KindOf(err) != domain.Invalid {
		t.Fatalf("ProjectProgress(soon) = %v; want Invalid", err)
	}
}

func derefTarget(t *project.TargetSet) project.TargetSet {
	if t == nil {
		return project.TargetSet{}
	}
	return *t
}
