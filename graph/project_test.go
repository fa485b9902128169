package graph_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/graph"
)

// TestProjects reads a project over HTTP, anonymously: its budget to the
// cent, its donors, and its indicators' progress on the days asked for.
func TestProjects(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	ctx := context.Background()
	heks := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(1)).ok(t).get("registerOrganisation.organisation.id"))
	eu := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(2)).ok(t).get("registerOrganisation.organisation.id"))
	svc := &project.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types}}
	meta := access.SystemMeta("test", e.clock.Now())
	steps := []error{}
	add := func(_ any, err error) { steps = append(steps, err) }
	add(svc.RegisterProject(ctx, meta, project.ProjectRegistered{ID: "heks-eper-2022", Title: domain.LocalizedText{Ka: "სამოქალაქო საზოგადოების გაძლიერება", En: "Strengthening civil society"},
		Implementers: []string{heks}, Start: "2022-01-01", End: "2025-06-30", Municipalities: []string{"marneuli"},
		Total: project.Money{Minor: 124991000, Currency: "EUR"}}))
	add(svc.RecordContribution(ctx, meta, project.ContributionRecorded{Project: "heks-eper-2022", Donor: eu, Amount: project.Money{Minor: 99910000, Currency: "EUR"}}))
	add(svc.DefineIndicator(ctx, meta, project.IndicatorDefined{Project: "heks-eper-2022", ID: "lg-trained", ResultType: project.Output,
		Result: domain.LocalizedText{Ka: "შედეგი", En: "Result"}, Title: domain.LocalizedText{Ka: "გადამზადებული", En: "Local government representatives trained"}, Unit: project.Count, HigherIsBetter: true}))
	add(svc.SetTarget(ctx, meta, project.TargetSet{Project: "heks-eper-2022", Indicator: "lg-trained", Start: "2022-01-01", End: "2025-06-30", Value: 60}))
	res, err := svc.RecordActual(ctx, meta, project.ActualRecorded{Project: "heks-eper-2022", ID: "lg-2022", Indicator: "lg-trained", Start: "2022-01-01", End: "2022-12-31", Value: 38, Source: "attendance sheets"})
	add(nil, err)
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	pos, err := e.store.AwaitPosition(ctx, res.LastID)
	if err != nil {
		t.Fatal(err)
	}
	const q = `query($on: Date) { project(id: "heks-eper-2022") { title { en } start end total { amount currency formatted }
		contributions { donor { id } amount { formatted } } implementers { id } municipalities { code } lead
		indicators(on: $on) { id unit actual percent elapsed status target { value } } } }`
	r := e.do(domain.Anonymous, q, map[string]any{"on": "2023-12-31"}, "Civic-Min-Position", fmt.Sprint(pos)).ok(t)
	want := fmt.Sprintf("map[contributions:[map[amount:map[formatted:EUR 999,100.00] donor:map[id:%s]]] end:2025-06-30 implementers:[map[id:%s]] "+
		"indicators:[map[actual:38 elapsed:57.17 id:lg-trained percent:63.33 status:ON_TRACK target:map[value:60] unit:COUNT]] lead:<nil> "+
		"municipalities:[map[code:marneuli]] start:2022-01-01 title:map[en:Strengthening civil society] "+
		"total:map[amount:1249910.00 currency:EUR formatted:EUR 1,249,910.00]]", eu, heks)
	if got := fmt.Sprint(r.get("project")); got != want {
		t.Fatalf("project:\n got %s\nwant %s", got, want)
	}
	r = e.do(domain.Anonymous, `{ project(id: "heks-eper-2022") { indicators(on: "2025-06-30") { status } } projects { id } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("project.indicators"), r.get("projects")); got != "[map[status:AT_RISK]] [map[id:heks-eper-2022]]" {
		t.Fatalf("at the end: %s", got)
	}
	if r := e.do(domain.Anonymous, `{ project(id: "heks-eper-2022") { indicators(on: "soon") { status } } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("a day that is not a date: %+v; want BAD_USER_INPUT", r.Errors)
	}
}
