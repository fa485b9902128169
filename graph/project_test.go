package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// TestProjects keeps a project over HTTP as an admin (refused to an
// analyst, and refused bad figures with nothing written), then reads it
// anonymously: its budget to the cent, its donors, and its indicators'
// progress on the days asked for.
func TestProjects(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	heks := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(1)).ok(t).get("registerOrganisation.organisation.id"))
	eu := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(2)).ok(t).get("registerOrganisation.organisation.id"))
	before := e.head()
	const register = `mutation($cur: String!) { registerProject(input: {id: "heks-eper-2022", title: {ka: "სამოქალაქო საზოგადოების გაძლიერება", en: "Strengthening civil society"},
		implementers: ["%s"], start: "2022-01-01", end: "2025-06-30", municipalities: ["marneuli"], total: {amount: "1249910.00", currency: $cur}}) { position project { id } } }`
	if r := e.do(domain.Analyst, fmt.Sprintf(register, heks), map[string]any{"cur": "EUR"}); r.code() != "FORBIDDEN" || e.head() != before {
		t.Fatalf("an analyst registering a project: %+v; want FORBIDDEN, nothing written", r.Errors)
	}
	if r := e.do(domain.Admin, fmt.Sprintf(register, heks), map[string]any{"cur": "EURO"}); r.code() != "BAD_USER_INPUT" || e.head() != before {
		t.Fatalf("a currency that is not ISO 4217: %+v; want BAD_USER_INPUT, nothing written", r.Errors)
	}
	if got := fmt.Sprint(e.do(domain.Admin, fmt.Sprintf(register, heks), map[string]any{"cur": "EUR"}).ok(t).get("registerProject.project")); got != "map[id:heks-eper-2022]" {
		t.Fatalf("registerProject: %s", got)
	}
	e.do(domain.Admin, fmt.Sprintf(`mutation { recordContribution(project: "heks-eper-2022", donor: %q, amount: {amount: "999100", currency: "EUR"}) { position } }`, eu), nil).ok(t)
	if r := e.do(domain.Admin, fmt.Sprintf(`mutation { recordContribution(project: "heks-eper-2022", donor: %q, amount: {amount: "1.005", currency: "EUR"}) { position } }`, eu), nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("an amount with three decimals: %+v; want BAD_USER_INPUT", r.Errors)
	}
	e.do(domain.Admin, `mutation { defineIndicator(input: {project: "heks-eper-2022", id: "lg-trained", resultType: OUTPUT, result: {ka: "შედეგი", en: "Result"},
		title: {ka: "გადამზადებული", en: "Local government representatives trained"}, unit: COUNT, higherIsBetter: true}) { position } }`, nil).ok(t)
	e.do(domain.Admin, `mutation { setTarget(project: "heks-eper-2022", indicator: "lg-trained", start: "2022-01-01", end: "2025-06-30", value: 60) { position } }`, nil).ok(t)
	const actual = `mutation($v: Float!) { recordActual(input: {project: "heks-eper-2022", id: "lg-2022", indicator: "lg-trained", start: "2022-01-01", end: "2022-12-31",
		value: $v, disaggregation: [{dimension: "sex", category: "female", value: 20}, {dimension: "sex", category: "male", value: 15}], source: "attendance sheets"}) { position } }`
	if r := e.do(domain.Admin, actual, map[string]any{"v": 36}); r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "add up to 35, not the value 36") {
		t.Fatalf("a disaggregation that does not add up: %+v; want BAD_USER_INPUT", r.Errors)
	}
	e.do(domain.Admin, actual, map[string]any{"v": 35}).ok(t)
	last := e.do(domain.Admin, `mutation { correctActual(project: "heks-eper-2022", id: "lg-2022", value: 38, reason: "three attendance sheets arrived late") { position } }`, nil).ok(t)
	pos := last.get("correctActual.position")
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
