package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// TestActivities schedules, holds and corrects activities over HTTP as a
// hub and an admin, checks who may, reads the calendar and the trend, and
// sees linked attendance count towards a project's indicator.
func TestActivities(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	e.clock.Set(day(t, "2023-06-01"))
	cif := fmt.Sprint(e.do(domain.Admin, registerOrg, orgInput(1)).ok(t).get("registerOrganisation.organisation.id"))
	e.do(domain.Admin, fmt.Sprintf(`mutation { registerProject(input: {id: "heks-eper-2022", title: {ka: "პროექტი", en: "Local development"},
		implementers: [%q], start: "2022-01-01", end: "2025-06-30", total: {amount: "1249910.00", currency: "EUR"}}) { position } }`, cif), nil).ok(t)
	e.do(domain.Admin, `mutation { defineIndicator(input: {project: "heks-eper-2022", id: "lg-trained", resultType: OUTPUT, result: {ka: "შედეგი", en: "Result"},
		title: {ka: "გადამზადებული", en: "Local government representatives trained"}, unit: COUNT, higherIsBetter: true}) { position } }`, nil).ok(t)
	e.do(domain.Admin, `mutation { setTarget(project: "heks-eper-2022", indicator: "lg-trained", start: "2022-01-01", end: "2025-06-30", value: 60) { position } }`, nil).ok(t)

	schedule := func(id, municipality string) string {
		return fmt.Sprintf(`mutation { scheduleActivity(input: {id: %q, type: TRAINING, title: {ka: "სტრატეგიული დაგეგმვა", en: "Strategic planning"},
			topic: "strategic planning", organisers: [%q], project: "heks-eper-2022", indicators: [{indicator: "lg-trained", sector: LOCAL_GOVERNMENT}],
			municipality: %q, place: "Library", start: "2023-05-10", end: "2023-05-11"}) { position activity { id status region { code } project { id } } } }`,
			id, cif, municipality)
	}
	// The hub key acts for Kvemo Kartli (see newEnv).
	refusals := []struct {
		role domain.Role
		muni string
		want string
	}{
		{domain.Anonymous, "marneuli", "UNAUTHENTICATED"},
		{domain.Hub, "kutaisi", "FORBIDDEN"},
		{domain.Hub, "atlantis", "BAD_USER_INPUT"},
	}
	for _, role := range domain.Roles {
		if role != domain.Anonymous && role != domain.Admin && role != domain.Hub {
			refusals = append(refusals, struct {
				role domain.Role
				muni string
				want string
			}{role, "marneuli", "FORBIDDEN"})
		}
	}
	for _, c := range refusals {
		before := e.head()
		if r := e.do(c.role, schedule("cif-2023-05", c.muni), nil); r.code() != c.want || e.head() != before {
			t.Fatalf("scheduling in %s as %s: %+v; want %s, nothing written", c.muni, c.role, r.Errors, c.want)
		}
	}
	r := e.do(domain.Hub, schedule("cif-2023-05", "marneuli"), nil).ok(t)
	if got := fmt.Sprint(r.get("scheduleActivity.activity")); got != "map[id:cif-2023-05 project:map[id:heks-eper-2022] region:map[code:kvemo-kartli] status:SCHEDULED]" {
		t.Fatalf("scheduleActivity: %s", got)
	}
	e.do(domain.Admin, schedule("gori-2023-05", "gori"), nil).ok(t)

	const held = `mutation($id: ID!, $a: AttendanceInput!) { recordActivityHeld(id: $id, attendance: $a) { position activity { status attendance { total } } } }`
	groups := func(lg int) map[string]any {
		return map[string]any{"total": 20 + lg, "groups": []any{
			map[string]any{"sex": "FEMALE", "sector": "CSO", "ethnicMinority": "MINORITY", "count": 6},
			map[string]any{"sex": "FEMALE", "ageBand": "AGE_18_29", "sector": "YOUTH", "count": 8},
			map[string]any{"sex": "MALE", "sector": "CSO", "ethnicMinority": "NOT_MINORITY", "count": 6},
			map[string]any{"sex": "MALE", "sector": "LOCAL_GOVERNMENT", "count": lg},
		}}
	}
	bad := groups(4)
	bad["total"] = 25
	before := e.head()
	if r := e.do(domain.Hub, held, map[string]any{"id": "cif-2023-05", "a": bad}); r.code() != "BAD_USER_INPUT" || e.head() != before ||
		!strings.Contains(r.Errors[0].Message, "attendance.groups: the counts add up to 24, not the total 25") {
		t.Fatalf("groups that do not add up: %+v; want BAD_USER_INPUT naming the field, nothing written", r.Errors)
	}
	if r := e.do(domain.Hub, held, map[string]any{"id": "gori-2023-05", "a": groups(2)}); r.code() != "FORBIDDEN" || e.head() != before {
		t.Fatalf("the Kvemo Kartli hub recording Gori's activity: %+v; want FORBIDDEN, nothing written", r.Errors)
	}
	e.do(domain.Hub, held, map[string]any{"id": "cif-2023-05", "a": groups(4)}).ok(t)
	e.do(domain.Admin, held, map[string]any{"id": "gori-2023-05", "a": groups(3)}).ok(t)
	last := e.do(domain.Hub, `mutation($a: AttendanceInput!) { correctAttendance(id: "cif-2023-05", attendance: $a, reason: "a late sign-in sheet") {
		position activity { attendance { total corrections breakdown(by: SEX) { category count } groups { sex ageBand sector ethnicMinority count } } } } }`,
		map[string]any{"a": groups(7)}).ok(t)
	if got := fmt.Sprint(last.get("correctAttendance.activity.attendance")); got != "map[breakdown:[map[category:FEMALE count:14] map[category:MALE count:13]] corrections:1 "+
		"groups:[map[ageBand:UNRECORDED count:6 ethnicMinority:MINORITY sector:CSO sex:FEMALE] map[ageBand:AGE_18_29 count:8 ethnicMinority:UNRECORDED sector:YOUTH sex:FEMALE] "+
		"map[ageBand:UNRECORDED count:6 ethnicMinority:NOT_MINORITY sector:CSO sex:MALE] map[ageBand:UNRECORDED count:7 ethnicMinority:UNRECORDED sector:LOCAL_GOVERNMENT sex:MALE]] total:27]" {
		t.Fatalf("the corrected attendance: %s", got)
	}
	pos := fmt.Sprint(last.get("correctAttendance.position"))

	cal := e.do(domain.Anonymous, `{ activities(first: 1, filter: {region: "kvemo-kartli", from: "2023-05-11"}) { edges { node { id type topic channel place organisers { id } indicators { indicator sector sex } } } pageInfo { hasNextPage } } }`,
		nil, "Civic-Min-Position", pos).ok(t)
	if got := fmt.Sprint(cal.get("activities")); got != fmt.Sprintf("map[edges:[map[node:map[channel:<nil> id:cif-2023-05 indicators:[map[indicator:lg-trained sector:LOCAL_GOVERNMENT sex:<nil>]] organisers:[map[id:%s]] place:Library topic:strategic planning type:TRAINING]]] pageInfo:map[hasNextPage:false]]", cif) {
		t.Fatalf("the calendar: %s", got)
	}

	const trend = `query($g: [TrendDimension!]!, $f: ParticipationFilter) { participationTrend(groupBy: $g, filter: $f) { year quarter region { code } sex sector ethnicMinority project { id } activities attendance } }`
	for _, c := range []struct {
		groupBy []string
		filter  map[string]any
		want    string
	}{
		{[]string{"YEAR", "REGION"}, nil, "[map[activities:1 attendance:27 ethnicMinority:<nil> project:<nil> quarter:<nil> region:map[code:kvemo-kartli] sector:<nil> sex:<nil> year:2023] " +
			"map[activities:1 attendance:23 ethnicMinority:<nil> project:<nil> quarter:<nil> region:map[code:shida-kartli] sector:<nil> sex:<nil> year:2023]]"},
		{[]string{"SEX"}, map[string]any{"regions": []string{"kvemo-kartli"}}, "[map[activities:1 attendance:14 ethnicMinority:<nil> project:<nil> quarter:<nil> region:<nil> sector:<nil> sex:FEMALE year:<nil>] " +
			"map[activities:1 attendance:13 ethnicMinority:<nil> project:<nil> quarter:<nil> region:<nil> sector:<nil> sex:MALE year:<nil>]]"},
		{[]string{"ETHNIC_MINORITY", "PROJECT"}, map[string]any{"sexes": []string{"FEMALE"}, "sectors": []string{"CSO"}},
			"[map[activities:2 attendance:12 ethnicMinority:MINORITY project:map[id:heks-eper-2022] quarter:<nil> region:<nil> sector:<nil> sex:<nil> year:<nil>]]"},
		{[]string{"QUARTER"}, map[string]any{"from": "2024-01-01"}, "[]"},
	} {
		r := e.do(domain.Anonymous, trend, map[string]any{"g": c.groupBy, "f": c.filter}).ok(t)
		if got := fmt.Sprint(r.get("participationTrend")); got != c.want {
			t.Errorf("participationTrend(%v, %v):\n got %s\nwant %s", c.groupBy, c.filter, got, c.want)
		}
	}
	if r := e.do(domain.Anonymous, trend, map[string]any{"g": []string{"SEX", "SEX"}}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("grouping by SEX twice: %+v; want BAD_USER_INPUT", r.Errors)
	}

	// Linked attendance counts: 7 local government attendees in Marneuli,
	// 3 in Gori.
	p := e.do(domain.Anonymous, `{ project(id: "heks-eper-2022") { indicators(on: "2023-06-01") { id actual status } } }`, nil).ok(t)
	if got := fmt.Sprint(p.get("project.indicators")); got != "[map[actual:10 id:lg-trained status:AT_RISK]]" {
		t.Fatalf("the linked indicator: %s", got)
	}

	// Cancelling and rescheduling: scheduled only.
	if r := e.do(domain.Admin, `mutation { cancelActivity(id: "cif-2023-05", reason: "too late") { position } }`, nil); r.code() != "CONFLICT" {
		t.Fatalf("cancelling a held activity: %+v; want CONFLICT", r.Errors)
	}
	e.do(domain.Admin, strings.Replace(schedule("cif-2023-09", "marneuli"), "2023-05-10\", end: \"2023-05-11", "2023-09-10\", end: \"2023-09-10", 1), nil).ok(t)
	if r := e.do(domain.Hub, `mutation { rescheduleActivity(id: "cif-2023-09", start: "2023-09-12", end: "2023-09-11") { position } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("a reschedule ending before it starts: %+v; want BAD_USER_INPUT", r.Errors)
	}
	e.do(domain.Hub, `mutation { rescheduleActivity(id: "cif-2023-09", start: "2023-09-12", end: "2023-09-12", reason: "the hall was taken") { position } }`, nil).ok(t)
	c := e.do(domain.Hub, `mutation { cancelActivity(id: "cif-2023-09", reason: "the trainer fell ill") { activity { status start reason attendance { total } } } }`, nil).ok(t)
	if got := fmt.Sprint(c.get("cancelActivity.activity")); got != "map[attendance:<nil> reason:the trainer fell ill start:2023-09-12 status:CANCELLED]" {
		t.Fatalf("cancelActivity: %s", got)
	}
}
