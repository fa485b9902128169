package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/graph"
)

// benchmarkMethod is the walk's method: two blocks of equal weight; the
// publication block's weights come in quarters and the participation
// block's in halves, so every score below is worked by hand exactly.
var benchmarkMethod = map[string]any{
	"blocks": []any{
		map[string]any{"code": "publication", "name": map[string]any{"ka": "პროაქტიული გამოქვეყნება", "en": "Proactive publication"}, "weight": 50},
		map[string]any{"code": "participation", "name": map[string]any{"ka": "მონაწილეობა", "en": "Participation"}, "weight": 50},
	},
	"indicators": []any{
		map[string]any{"code": "budget-published", "block": "publication", "question": map[string]any{"ka": "ბიუჯეტი გამოქვეყნებულია?", "en": "Is the budget published?"},
			"scale": map[string]any{"kind": "YES_NO"}, "weight": 2, "body": "CITY_HALL", "evidenceRequired": true},
		map[string]any{"code": "minutes", "block": "publication", "question": map[string]any{"ka": "ოქმები", "en": "Are the minutes published?"},
			"scale": map[string]any{"kind": "POINTS", "max": 2}, "weight": 2, "body": "BOTH"},
		map[string]any{"code": "hearings", "block": "participation", "question": map[string]any{"ka": "საჯარო განხილვები", "en": "Share of decisions heard in public"},
			"scale": map[string]any{"kind": "PERCENT"}, "weight": 1, "body": "SAKREBULO"},
		map[string]any{"code": "pb-held", "block": "participation", "question": map[string]any{"ka": "სამოქალაქო ბიუჯეტი", "en": "Was a participatory budget held?"},
			"scale": map[string]any{"kind": "YES_NO"}, "weight": 1, "body": "CITY_HALL", "computed": "budget_held"},
	},
	"bands": []any{map[string]any{"name": "leading", "from": 50}, map[string]any{"name": "advancing", "from": 25}, map[string]any{"name": "starting", "from": 0}},
}

const (
	scoreMutation = `mutation($in: ScoreInput!) { scoreIndicator(input: $in) { position scorecard { result { total } } } }`
	selfMutation  = `mutation($in: ScoreInput!) { selfAssess(input: $in) { position } }`
)

func scoreIn(round, muni, ind, body string, value any, rationale string, evidence ...map[string]any) map[string]any {
	in := map[string]any{"round": round, "municipality": muni, "indicator": ind, "body": body, "value": value, "rationale": rationale}
	if len(evidence) > 0 {
		in["evidence"] = evidence
	}
	return map[string]any{"in": in}
}

// benchmarkKeys are the keys a round takes: an admin's, an assessor's and
// the applicants of Gori and Akhaltsikhe.
type benchmarkKeys struct{ admin, assessor, gori, akhaltsikhe string }

// benchmarkRound2029 walks round 2029 through the API over Gori and
// Akhaltsikhe, each step with the key it takes: the method published, the
// round opened, Gori's self-assessment (note), the assessor's scores with
// their evidence and the computed indicator from the ledger, the
// preliminary results, Gori's contest answered by a revision, publication,
// Gori's action plan with a report, and a correction of Akhaltsikhe's
// score. It leaves the clock where it found it.
func benchmarkRound2029(e *env, k benchmarkKeys, note string) {
	t := e.t
	defer e.clock.Set(e.clock.Now())
	e.clock.Set(day(t, "2031-02-01"))
	e.mutateKey(k.admin, `mutation($m: BenchmarkMethodInput!) { publishBenchmarkMethod(method: $m, reason: "modelled on the LSGI [test]") { position method { version } } }`,
		map[string]any{"m": benchmarkMethod})
	e.mutateKey(k.admin, `mutation { openBenchmarkRound(input: {id: "2029", title: {ka: "2029", en: "2029 [test]"}, year: 2029,
		municipalities: ["gori", "akhaltsikhe"], assessmentEnd: "2031-03-31", commentsUntil: "2031-04-30"}) { position round { id methodVersion } } }`, nil)
	e.clock.Set(day(t, "2031-02-10"))
	e.mutateKey(k.gori, selfMutation, scoreIn("2029", "gori", "hearings", "SAKREBULO", 50, note))
	e.clock.Set(day(t, "2031-03-01"))
	url := map[string]any{"kind": "url", "ref": "https://gori.gov.ge/budget"}
	foi := map[string]any{"kind": "foi", "ref": "FOI 2031/17", "answeredOn": "2031-02-20"}
	for _, s := range []map[string]any{
		scoreIn("2029", "gori", "budget-published", "CITY_HALL", 1, "published in full", url),
		scoreIn("2029", "gori", "minutes", "CITY_HALL", 2, "every one"),
		scoreIn("2029", "gori", "minutes", "SAKREBULO", 2, "every one"),
		scoreIn("2029", "gori", "hearings", "SAKREBULO", 20, "two of ten"),
		scoreIn("2029", "akhaltsikhe", "budget-published", "CITY_HALL", 1, "on request", foi),
		scoreIn("2029", "akhaltsikhe", "minutes", "CITY_HALL", 1, "some"),
		scoreIn("2029", "akhaltsikhe", "minutes", "SAKREBULO", 0, "none"),
		scoreIn("2029", "akhaltsikhe", "hearings", "SAKREBULO", nil, "the council keeps no record"),
	} {
		e.mutateKey(k.assessor, scoreMutation, s)
	}
	e.mutateKey(k.assessor, `mutation { scoreComputedIndicators(round: "2029") { position scored } }`, nil)
	e.mutateKey(k.admin, `mutation { reviewScorecard(round: "2029", municipality: "gori", accepted: false, note: "check the hearings") { position scorecard { review { accepted note } } } }`, nil)
	for _, m := range []string{"gori", "akhaltsikhe"} {
		e.mutateKey(k.admin, `mutation($m: ID!) { reviewScorecard(round: "2029", municipality: $m, accepted: true) { position } }`, map[string]any{"m": m})
	}
	e.clock.Set(day(t, "2031-04-01"))
	e.mutateKey(k.admin, `mutation { sharePreliminaryResults(round: "2029") { position } }`, nil)
	e.mutateKey(k.gori, `mutation { contestScore(input: {round: "2029", municipality: "gori", indicator: "hearings", body: SAKREBULO,
		grounds: "we held four of ten", evidence: [{kind: "document", ref: "minutes 2029/4"}]}) { position } }`, nil)
	e.mutateKey(k.assessor, `mutation { answerContest(input: {round: "2029", municipality: "gori", indicator: "hearings", body: SAKREBULO,
		kept: false, value: 40, reason: "the minutes show four"}) { position } }`, nil)
	e.clock.Set(day(t, "2031-05-01"))
	e.mutateKey(k.admin, `mutation { publishBenchmarkRound(round: "2029") { position round { publishedOn } } }`, nil)
	e.mutateKey(k.gori, `mutation { adoptActionPlan(input: {round: "2029", municipality: "gori", title: {ka: "სამოქმედო გეგმა", en: "Action plan [test]"},
		commitments: [{code: "hear-the-public", text: {ka: "განხილვები", en: "Hear every budget decision in public"}, indicators: ["hearings"],
			responsible: SAKREBULO, due: "2031-12-31", milestones: [{code: "rules", text: {ka: "წესები", en: "Rules adopted"}, due: "2031-07-31"}]}]}) { position } }`, nil)
	e.clock.Set(day(t, "2031-06-01"))
	e.mutateKey(k.gori, `mutation { reportPlanProgress(input: {plan: "gori-2029", commitment: "hear-the-public", milestone: "rules", status: ON_TRACK,
		progress: 30, note: "the council adopted the rules"}) { position } }`, nil)
	e.mutateKey(k.assessor, `mutation { correctScore(input: {round: "2029", municipality: "akhaltsikhe", indicator: "minutes", body: SAKREBULO,
		value: 1, reason: "the archive holds some"}) { position } }`, nil)
}

// TestBenchmarkWalk walks a round through the API from the method to the
// ranking, and checks the numbers against the hand-worked ones, the
// refusals of bad input with the argument named and nothing written,
// and who sees the preliminary scores.
func TestBenchmarkWalk(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	admin, _ := e.newKey("admin", domain.Admin, "", "", "")
	assessor, _ := e.newKey("assessor", domain.Assessor, "", "", "")
	gori, _ := e.newKey("gori", domain.Applicant, "gori", "", "")
	akh, _ := e.newKey("akhaltsikhe", domain.Applicant, "akhaltsikhe", "", "")
	analyst, _ := e.newKey("analyst", domain.Analyst, "", "", "")
	k := benchmarkKeys{admin: admin, assessor: assessor, gori: gori, akhaltsikhe: akh}

	// Bad input before anything is written: each names its argument.
	bad := benchmarkMethod["blocks"].([]any)
	wrong := map[string]any{"blocks": []any{bad[0], map[string]any{"code": "participation", "name": map[string]any{"ka": "მ"}, "weight": 40}},
		"indicators": benchmarkMethod["indicators"], "bands": benchmarkMethod["bands"]}
	for _, c := range []struct {
		name, key, query string
		vars             map[string]any
		code, text       string
	}{
		{"weights that do not add up", admin, `mutation($m: BenchmarkMethodInput!) { publishBenchmarkMethod(method: $m, reason: "r") { position } }`,
			map[string]any{"m": wrong}, "BAD_USER_INPUT", "method.blocks: the weights add up to 90, not 100"},
		{"an assessor publishing a method", assessor, `mutation($m: BenchmarkMethodInput!) { publishBenchmarkMethod(method: $m, reason: "r") { position } }`,
			map[string]any{"m": benchmarkMethod}, "FORBIDDEN", "publish a benchmark method"},
		{"a ranking of no round", analyst, `{ ranking(round: "1999") { rank } }`, nil, "BAD_USER_INPUT", `round: "1999" is not a benchmark round`},
		{"a malformed round", analyst, `{ scorecard(round: "../x", municipality: "gori") { published } }`, nil, "BAD_USER_INPUT", "round"},
		{"too many compared", analyst, `{ compareMunicipalities(round: "2029", municipalities: ["a","b","c","d","e","f","g","h","i","j","k"]) { entries { rank } } }`, nil,
			"BAD_USER_INPUT", "municipalities: 11 given, over the limit of 10"},
	} {
		r := e.doKey(c.key, c.query, c.vars)
		if r.code() != c.code || !strings.Contains(fmt.Sprint(r.Errors), c.text) {
			t.Errorf("%s: %s %v; want %s naming %q", c.name, r.code(), r.Errors, c.code, c.text)
		}
	}
	if got := e.doKey(analyst, `{ benchmarkMethods { version } }`, nil).ok(t).get("benchmarkMethods"); len(got.([]any)) != 0 {
		t.Fatalf("a refused method was written: %v", got)
	}

	benchmarkRound2029(e, k, "GORI-SELF: five hearings")

	// The ranking, as hand-worked: Gori's publication 100, participation
	// (40% hearings, no budget held in 2029) 20, total 60; Akhaltsikhe's
	// publication (2·1 + 1·0.5 + 1·0.5)/4 = 75 after the correction,
	// participation 0 over half the weight (no data on hearings), total
	// 37.50, coverage 0.75.
	r := e.doKey(analyst, `{ ranking(round: "2029") { municipality { code } rank score band coverage change blocks { block score } bodies { body score } } }`, nil).ok(t)
	want := "[map[band:leading blocks:[map[block:publication score:100] map[block:participation score:20]] bodies:[map[body:CITY_HALL score:80] map[body:SAKREBULO score:80]] " +
		"change:<nil> coverage:1 municipality:map[code:gori] rank:1 score:60] " +
		"map[band:advancing blocks:[map[block:publication score:75] map[block:participation score:0]] bodies:[map[body:CITY_HALL score:60] map[body:SAKREBULO score:50]] " +
		"change:<nil> coverage:0.75 municipality:map[code:akhaltsikhe] rank:2 score:37.5]]"
	if got := fmt.Sprint(r.get("ranking")); got != want {
		t.Errorf("ranking:\n got %s\nwant %s", got, want)
	}
	if got := fmt.Sprint(e.doKey(analyst, `{ ranking(round: "2029", block: "participation") { municipality { code } rank score } }`, nil).ok(t).get("ranking")); got !=
		"[map[municipality:map[code:gori] rank:1 score:20] map[municipality:map[code:akhaltsikhe] rank:2 score:0]]" {
		t.Errorf("ranking by participation: %s", got)
	}
	if got := fmt.Sprint(e.doKey(analyst, `{ ranking(round: "2029", filter: {region: "samtskhe-javakheti"}) { municipality { code } rank } }`, nil).ok(t).get("ranking")); got !=
		"[map[municipality:map[code:akhaltsikhe] rank:1]]" {
		t.Errorf("ranking of Samtskhe-Javakheti: %s", got)
	}

	// The published scorecard: public, with its evidence, contest and
	// computed figure; the self-assessment for Gori's own key alone.
	const card = `{ scorecard(round: "2029", municipality: "gori") { published result { total inputsDigest }
		lines { indicator body value rationale evidence { kind ref } computed { figure query position } contests { grounds kept revisedTo reason } }
		selfAssessments { note } plan { commitments { status progress indicators { indicator before after } milestones { code reachedOn } } } } }`
	pub := e.doKey(analyst, card, nil).ok(t)
	lines := pub.get("scorecard.lines").([]any)
	if len(lines) != 5 || pub.get("scorecard.result.total") != 60.0 || pub.get("scorecard.selfAssessments") != nil || pub.get("scorecard.result.inputsDigest") == nil {
		t.Errorf("Gori's scorecard to an analyst: %v", pub.Data)
	}
	hearings := fmt.Sprint(lines[3])
	if !strings.Contains(hearings, "value:40") || !strings.Contains(hearings, "revisedTo:40") || !strings.Contains(hearings, "grounds:we held four of ten") {
		t.Errorf("hearings line: %s", hearings)
	}
	if pb := fmt.Sprint(lines[4]); !strings.Contains(pb, "figure:budget_held") || !strings.Contains(pb, "value:0") || !strings.Contains(pb, "rm.budget_cycles") {
		t.Errorf("computed line: %s", pb)
	}
	if plan := fmt.Sprint(pub.get("scorecard.plan")); !strings.Contains(plan, "status:ON_TRACK") || !strings.Contains(plan, "before:40") || !strings.Contains(plan, "code:rules reachedOn:2031-06-01") {
		t.Errorf("Gori's plan: %s", plan)
	}
	if own := e.doKey(gori, card, nil).ok(t); !strings.Contains(fmt.Sprint(own.get("scorecard.selfAssessments")), "GORI-SELF") {
		t.Errorf("Gori does not see its own self-assessment: %v", own.get("scorecard.selfAssessments"))
	}

	// Replays: Gori's follows; Akhaltsikhe's follows with its correction.
	for _, m := range []string{"gori", "akhaltsikhe"} {
		rp := e.doKey(analyst, `query($m: ID!) { replayScore(round: "2029", municipality: $m) { verdict problems current { total } verification { intact events } } }`,
			map[string]any{"m": m}).ok(t)
		if rp.get("replayScore.verdict") != "FOLLOWED" || rp.get("replayScore.verification.intact") != true {
			t.Errorf("replay of %s: %v", m, rp.Data)
		}
	}

	// Round 2030: a preliminary score, seen by Gori, the assessor and an
	// admin, not by Akhaltsikhe nor an analyst; no ranking yet.
	e.clock.Set(day(t, "2031-06-02"))
	e.mutateKey(admin, `mutation { openBenchmarkRound(input: {id: "2030", title: {ka: "2030"}, year: 2030, municipalities: ["gori", "akhaltsikhe"],
		assessmentEnd: "2032-03-31", commentsUntil: "2032-04-30"}) { position } }`, nil)
	e.mutateKey(assessor, scoreMutation, scoreIn("2030", "gori", "hearings", "SAKREBULO", 70, "seven of ten"))
	for key, sees := range map[string]bool{gori: true, assessor: true, admin: true, akh: false, analyst: false, "": false} {
		r := e.doKey(key, `{ scorecard(round: "2030", municipality: "gori") { result { total } } }`, nil)
		if got := r.code() == ""; got != sees {
			t.Errorf("key %.8q sees Gori's preliminary scorecard: %v (%v), want %v", key, got, r.Errors, sees)
		}
	}
	if r := e.doKey(admin, `{ ranking(round: "2030") { rank } }`, nil); r.code() != "BAD_USER_INPUT" {
		t.Errorf("a ranking of an unpublished round: %v", r.Errors)
	}
	// A score outside its scale; a contest before the preliminary
	// results; a correction before publication: refused, named.
	for _, c := range []struct{ key, query, code, text string }{
		{assessor, `mutation { scoreIndicator(input: {round: "2030", municipality: "gori", indicator: "minutes", body: CITY_HALL, value: 3, rationale: "r"}) { position } }`,
			"BAD_USER_INPUT", "value: indicator minutes: 3 is not a whole number of points from 0 to 2"},
		{assessor, `mutation { scoreIndicator(input: {round: "2030", municipality: "gori", indicator: "budget-published", body: CITY_HALL, value: 1, rationale: "r"}) { position } }`,
			"BAD_USER_INPUT", "evidence: indicator budget-published is scored on evidence"},
		{gori, `mutation { contestScore(input: {round: "2030", municipality: "gori", indicator: "hearings", body: SAKREBULO, grounds: "g", evidence: [{kind: "url", ref: "x"}]}) { position } }`,
			"CONFLICT", "not shared yet"},
		{assessor, `mutation { correctScore(input: {round: "2030", municipality: "gori", indicator: "hearings", body: SAKREBULO, value: 1, reason: "r"}) { position } }`,
			"CONFLICT", "is not published"},
		{akh, `mutation { selfAssess(input: {round: "2030", municipality: "gori", indicator: "hearings", body: SAKREBULO, value: 1}) { position } }`,
			"FORBIDDEN", "own key"},
	} {
		if r := e.doKey(c.key, c.query, nil); r.code() != c.code || !strings.Contains(fmt.Sprint(r.Errors), c.text) {
			t.Errorf("%.60s: %s %v; want %s naming %q", c.query, r.code(), r.Errors, c.code, c.text)
		}
	}

	// Published, 2030 ranks against 2029: Gori has only its hearings, 70%,
	// so its participation and total are 70 (+10), over a quarter of the
	// weight; Akhaltsikhe has no score, unranked and listed last.
	if r := e.doKey(admin, `mutation { sharePreliminaryResults(round: "2030") { position } }`, nil); r.code() != "CONFLICT" ||
		!strings.Contains(fmt.Sprint(r.Errors), "the scorecards of gori are not reviewed") {
		t.Errorf("sharing unreviewed scorecards: %v", r.Errors)
	}
	e.mutateKey(admin, `mutation { reviewScorecard(round: "2030", municipality: "gori", accepted: true) { position } }`, nil)
	e.clock.Set(day(t, "2032-04-01"))
	e.mutateKey(admin, `mutation { sharePreliminaryResults(round: "2030") { position } }`, nil)
	e.clock.Set(day(t, "2032-05-01"))
	e.mutateKey(admin, `mutation { publishBenchmarkRound(round: "2030") { position } }`, nil)
	r = e.doKey(analyst, `{ ranking(round: "2030") { municipality { code } rank score previousScore change rankChange } }`, nil).ok(t)
	if got := fmt.Sprint(r.get("ranking")); got != "[map[change:10 municipality:map[code:gori] previousScore:60 rank:1 rankChange:0 score:70] "+
		"map[change:<nil> municipality:map[code:akhaltsikhe] previousScore:37.5 rank:<nil> rankChange:<nil> score:<nil>]]" {
		t.Errorf("2030 ranking: %s", got)
	}
	trend := e.doKey(analyst, `{ benchmarkTrend(municipalities: ["gori"]) { round score rank } }`, nil).ok(t)
	if got := fmt.Sprint(trend.get("benchmarkTrend")); got != "[map[rank:1 round:2029 score:60] map[rank:1 round:2030 score:70]]" {
		t.Errorf("Gori's trend: %s", got)
	}
	cmp := e.doKey(analyst, `{ compareMunicipalities(round: "2029", municipalities: ["gori", "akhaltsikhe"]) { entries { municipality { code } rank } indicators { indicator body values { municipality value } } } }`, nil).ok(t)
	if got := fmt.Sprint(cmp.get("compareMunicipalities.indicators")); !strings.Contains(got, "indicator:hearings values:[map[municipality:gori value:40] map[municipality:akhaltsikhe value:<nil>]]") {
		t.Errorf("comparison: %s", got)
	}
}

// benchmark adds to the matrix's world the benchmark's round 2029,
// published (benchmarkRound2029), and round 2030 with a preliminary
// score: Gori's self-assessment note is a secret for the Scorers, its
// preliminary rationale one for the Scorers while unpublished.
func (w *world) benchmark(admin, assessor, gori, akhaltsikhe matrixActor) {
	e := w.e
	t := e.t
	benchmarkRound2029(e, benchmarkKeys{admin: admin.key, assessor: assessor.key, gori: gori.key, akhaltsikhe: akhaltsikhe.key}, "GORI-SELF-NOTE: five hearings")
	defer e.clock.Set(e.clock.Now())
	e.clock.Set(day(t, "2031-06-02"))
	e.mutateKey(admin.key, `mutation { openBenchmarkRound(input: {id: "2030", title: {ka: "2030"}, year: 2030, municipalities: ["gori", "akhaltsikhe"],
		assessmentEnd: "2032-03-31", commentsUntil: "2032-04-30"}) { position } }`, nil)
	e.mutateKey(assessor.key, scoreMutation, scoreIn("2030", "gori", "hearings", "SAKREBULO", 70, "GORI-PRELIM-2030: seven of ten"))
	w.published = map[string]bool{"2029": true}
	gs := domain.Scope{Municipality: "gori"}
	w.secrets = append(w.secrets,
		secret{"Gori's self-assessment", "GORI-SELF-NOTE", benchmark.Scorers, gs},
		secret{"Gori's preliminary rationale", "GORI-PRELIM-2030", benchmark.Open, gs})
}
