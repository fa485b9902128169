package seed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// certified2019 are the municipalities the programme certified in 2019,
// as its description names them; telavi is the demo's illustrative ninth.
var certified2019 = []string{"sighnaghi", "ozurgeti", "gori", "tskaltubo", "zugdidi", "kutaisi", "batumi", "akhaltsikhe"}

// newCertification returns the services over one in-memory store, decoding
// with the catalog the server uses, and registers the municipalities
// unless bare.
func newCertification(t testing.TB, bare bool) (*certification.Service, *inmem.Store) {
	t.Helper()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	if !bare {
		if _, err := Registry(t.Context(), &registry.Service{Repo: repo}, meta); err != nil {
			t.Fatalf("Registry: %v", err)
		}
	}
	return &certification.Service{Repo: repo}, store
}

func head(t testing.TB, store *inmem.Store) int64 {
	t.Helper()
	h, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCertification2019(t *testing.T) {
	ctx := t.Context()
	svc, store := newCertification(t, false)
	before := head(t, store)

	rep, err := Certification2019(ctx, svc)
	if err != nil {
		t.Fatalf("Certification2019: %v", err)
	}
	appended := int(head(t, store) - before)
	if want := (CertificationReport{Applications: 9, Certified: 8, Events: appended}); rep != want {
		t.Errorf("Certification2019 = %+v, want %+v", rep, want)
	}

	for _, code := range append(slices.Clone(certified2019), "telavi") {
		id := certification.ApplicationID(2019, code)
		var a certification.Application
		if _, err := svc.Repo.Load(ctx, certification.ApplicationStream(id), &a); err != nil {
			t.Fatal(err)
		}
		want := code != "telavi"
		d := a.Decision()
		if a.Status() != certification.Decided || d == nil {
			t.Errorf("%s: status %s, decision %v; want decided", id, a.Status(), d)
			continue
		}
		if d.Certified != want || d.Recommendation.Certify != want || d.Justification != "" {
			t.Errorf("%s: certified %v, recommended %v (%v), justification %q; want %v as recommended",
				id, d.Certified, d.Recommendation.Certify, d.Recommendation.Reasons, d.Justification, want)
		}
		if d.RulesVersion != 2 {
			t.Errorf("%s: decided under rules version %d, want 2 (the change before the decisions)", id, d.RulesVersion)
		}
		c := a.Certificate()
		switch {
		case want && c == nil:
			t.Errorf("%s: no certificate", id)
		case want && (c.Number != "CB-2019-"+strings.ToUpper(code) || c.ValidFrom != "2019-06-14" || c.ValidUntil != "2020-06-13"):
			// Valid for 12 months from the results date: long expired now.
			t.Errorf("%s: certificate %+v, want CB-2019-%s valid 2019-06-14 to 2020-06-13", id, *c, strings.ToUpper(code))
		case !want && c != nil:
			t.Errorf("%s: certificate %+v, want none", id, *c)
		}
		awarded := streamHas(t, svc, id, func(e domain.Event) bool {
			aw, ok := e.(certification.CertificateAwarded)
			return ok && aw.On == "2019-06-27"
		})
		announced := streamHas(t, svc, id, func(e domain.Event) bool {
			r, ok := e.(certification.ResultAnnounced)
			return ok && r.On == "2019-06-14"
		})
		if awarded != want || !announced {
			t.Errorf("%s: awarded at the ceremony %v, announced on the results date %v; want %v, true", id, awarded, announced, want)
		}
		// An auditor replaying the decision from the log finds it followed
		// the recommendation.
		replay, err := certification.ReplayDecision(streamEvents(t, svc, certification.CycleStream(2019)), streamEvents(t, svc, certification.ApplicationStream(id)))
		if err != nil || replay.Verdict != certification.Followed {
			t.Errorf("%s: ReplayDecision = %s %v, %v; want followed", id, replay.Verdict, replay.Problems, err)
		}
	}

	var telavi certification.Application
	if _, err := svc.Repo.Load(ctx, certification.ApplicationStream("2019-telavi"), &telavi); err != nil {
		t.Fatal(err)
	}
	if d := telavi.Decision(); d == nil || !slices.Contains(d.Recommendation.Reasons, "criterion development scores 30.00, under the minimum 40.00") {
		t.Errorf("2019-telavi: recommendation %+v, want it refused under the changed rules' minimum", d)
	}

	checkLog(t, svc, store)

	// A second run, as on a server's next start, finds the cycle.
	before = head(t, store)
	rep, err = Certification2019(ctx, svc)
	if err != nil || rep != (CertificationReport{}) {
		t.Errorf("second Certification2019 = %+v, %v; want nothing loaded", rep, err)
	}
	if after := head(t, store); after != before {
		t.Errorf("second Certification2019 moved the log from %d to %d, want nothing written", before, after)
	}
}

// checkLog reads the whole log back: every event decodes, carries the
// demo's correlation, happened inside the cycle at the hand of the role
// the workflow gives it, and every invented text is marked illustrative.
// It also finds the workflow's special cases the demo promises.
func checkLog(t *testing.T, svc *certification.Service, store *inmem.Store) {
	t.Helper()
	stored, err := store.ReadAll(t.Context(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	var (
		answeredBeforeDecision = map[string]bool{} // application → a request answered, not yet decided
		answered, revised      []string
		conflicted             = map[string]string{} // application → expert with a conflict
		replaced               []string
	)
	marked := func(where, text string) {
		t.Helper()
		if !strings.HasPrefix(text, "[illustrative]") && !strings.HasPrefix(text, "[საილუსტრაციო]") {
			t.Errorf("%s: %q is not marked illustrative", where, text)
		}
	}
	events := 0
	for _, se := range stored {
		r, err := svc.Repo.Types.DecodeRecorded(se)
		if err != nil {
			t.Errorf("decode %s v%d: %v", se.Stream, se.Version, err)
			continue
		}
		if strings.HasPrefix(r.Stream, "region-") || strings.HasPrefix(r.Stream, "municipality-") {
			continue // the registry's
		}
		events++
		where := fmt.Sprintf("%s v%d %s", r.Stream, r.Version, se.Type)
		if r.Metadata.CorrelationID != demoCorrelation {
			t.Errorf("%s: correlation %q, want %q", where, r.Metadata.CorrelationID, demoCorrelation)
		}
		day := r.OccurredAt.In(domain.Tbilisi).Format(certification.DateLayout)
		if day < "2019-02-11" || day > "2019-06-27" {
			t.Errorf("%s: occurred on %s, outside the cycle (2019-02-11 to 2019-06-27)", where, day)
		}
		role := func(want domain.Role) {
			t.Helper()
			if r.Metadata.Role != string(want) {
				t.Errorf("%s: by %s (%s), want role %s", where, r.Metadata.Actor, r.Metadata.Role, want)
			}
		}
		byExpert := func(x string) {
			t.Helper()
			role(domain.Expert)
			if r.Metadata.Actor != x || !strings.HasPrefix(x, "key:expert-") {
				t.Errorf("%s: recorded by %s for expert %s; want the expert's own key", where, r.Metadata.Actor, x)
			}
		}
		switch e := r.Event.(type) {
		case certification.CycleOpened:
			role(domain.Admin)
			// The title names the cycle first, then says what is invented.
			if !strings.Contains(e.Title.Ka, "[საილუსტრაციო") || !strings.Contains(e.Title.En, "[illustrative") {
				t.Errorf("%s: title %+v does not say it is illustrative", where, e.Title)
			}
		case certification.CycleRulesChanged:
			role(domain.Admin)
			marked(where, e.Reason)
		case certification.MunicipalityNominated:
			marked(where, e.Reason)
		case certification.ApplicationDrafted, certification.ApplicationSubmitted:
			role(domain.Applicant)
			if s, ok := e.(certification.ApplicationSubmitted); ok && s.On != day {
				t.Errorf("%s: submitted on %s but occurred on %s; want Now and OccurredAt the same day", where, s.On, day)
			}
		case certification.AnswersSaved:
			role(domain.Applicant)
			for q, ans := range e.Answers {
				marked(where+" "+q, ans)
			}
		case certification.MaterialChangeReported:
			role(domain.Applicant)
			marked(where, e.Description)
		case certification.InformationProvided:
			role(domain.Applicant)
			marked(where, e.Answer)
			answeredBeforeDecision[e.ID] = true
		case certification.ExpertAssigned:
			// Experts without keys are assigned by the import only.
			role(domain.System)
			if conflicted[e.ID] != "" {
				replaced = append(replaced, e.ID)
			}
		case certification.ConflictOfInterestDeclared:
			byExpert(e.Expert)
			if e.Conflict {
				marked(where, e.Details)
				conflicted[e.ID] = e.Expert
			}
		case certification.InformationRequested:
			byExpert(e.Expert)
			marked(where, e.Question)
		case certification.ScoreRecorded:
			byExpert(e.Expert)
			marked(where, e.Rationale)
		case certification.ScoreRevised:
			byExpert(e.Expert)
			marked(where, e.Rationale)
			marked(where+" reason", e.Reason)
			revised = append(revised, e.ID)
		case certification.DecisionTaken:
			role(domain.Consortium)
			if answeredBeforeDecision[e.ID] {
				answered = append(answered, e.ID)
			}
			if x := conflicted[e.ID]; x != "" && slices.Contains(e.Recommendation.Experts, x) {
				t.Errorf("%s: the scores of %s, who declared a conflict, counted", where, x)
			}
			if len(e.Recommendations) == 0 || e.Progress.Ka == "" || e.Progress.En == "" {
				t.Errorf("%s: recommendations %v, progress %+v; want both, in both languages", where, e.Recommendations, e.Progress)
			}
			for i, rec := range e.Recommendations {
				marked(fmt.Sprintf("%s recommendations[%d].ka", where, i), rec.Ka)
				marked(fmt.Sprintf("%s recommendations[%d].en", where, i), rec.En)
			}
			marked(where+" progress.ka", e.Progress.Ka)
			marked(where+" progress.en", e.Progress.En)
		case certification.ProcessStartConfirmed, certification.CompletenessChecked, certification.ResultAnnounced,
			certification.CertificateIssued, certification.CertificateAwarded:
			role(domain.Consortium)
		default:
			t.Errorf("%s: unexpected event %T in the demo", where, e)
		}
	}
	if events == 0 {
		t.Fatal("no demo events in the log")
	}
	if len(answered) == 0 || len(revised) == 0 || len(replaced) == 0 {
		t.Errorf("information answered before a decision in %v, scores revised in %v, conflicted experts replaced in %v; want each at least once",
			answered, revised, replaced)
	}
}

// streamHas reports whether an event of application id's stream matches.
func streamHas(t testing.TB, svc *certification.Service, id string, match func(domain.Event) bool) bool {
	t.Helper()
	return slices.ContainsFunc(streamEvents(t, svc, certification.ApplicationStream(id)), match)
}

// streamEvents returns the decoded events of stream, as the log holds them.
func streamEvents(t testing.TB, svc *certification.Service, stream string) []domain.Event {
	t.Helper()
	stored, err := svc.Repo.Store.ReadStream(context.Background(), stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.Event
	for _, se := range stored {
		e, err := svc.Repo.Types.Decode(se)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestCertification2019NeedsRegistry: the demo goes through the service,
// so municipalities not in the registry stop it at its first application;
// the cycle it opened is then there, and a second run loads nothing.
func TestCertification2019NeedsRegistry(t *testing.T) {
	ctx := t.Context()
	svc, store := newCertification(t, true)
	rep, err := Certification2019(ctx, svc)
	if domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), certificationFile+": 2019-02-18, 2019-sighnaghi: draft as key:applicant-demo-sighnaghi") ||
		!strings.Contains(err.Error(), `"sighnaghi" is not a municipality in the registry`) {
		t.Errorf("Certification2019 without the registry = %v, want Invalid at Sighnaghi's draft", err)
	}
	if want := (CertificationReport{Events: 1}); rep != want || head(t, store) != 1 {
		t.Errorf("Certification2019 without the registry = %+v with %d events in the log, want %+v (the cycle opened)", rep, head(t, store), want)
	}
	if rep, err := Certification2019(ctx, svc); err != nil || rep != (CertificationReport{}) {
		t.Errorf("Certification2019 again = %+v, %v; want nothing loaded", rep, err)
	}
}

// TestCertificationDemoAgainstRecommendation: the data carries no
// justification, so a decision that disagrees with the scores stops the
// load instead of recording an unexplained decision.
func TestCertificationDemoAgainstRecommendation(t *testing.T) {
	demo, err := readCertificationDemo(certification2019, certificationFile)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(demo.Applications, func(a demoApplication) bool { return a.Municipality == "telavi" })
	if i < 0 {
		t.Fatal("no telavi in the demo")
	}
	demo.Applications[i].Decision.Certified = true
	svc, _ := newCertification(t, false)
	_, err = loadCertificationDemo(t.Context(), svc, demo, "test.json")
	if domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), "2019-telavi: decide") || !strings.Contains(err.Error(), "justification") {
		t.Errorf("load with Telavi certified = %v, want Invalid asking for a justification", err)
	}
}

func TestCertificationDemoMalformed(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown field", `{"year": 2019, "colour": "red"}`, `test.json: json: unknown field "colour"`},
		{"two objects", `{"year": 2019} {"year": 2020}`, "test.json: more after the demo's object"},
		{"not a date", `{"year": 2019, "opened_on": "2019-02-11", "applications": [{"municipality": "gori", "drafted_on": "18.02.2019"}]}`,
			`test.json: applications[0].drafted_on: "18.02.2019" is not a date`},
		{"before the opening", `{"year": 2019, "opened_on": "2019-02-11", "applications": [{"municipality": "gori", "drafted_on": "2019-02-01"}]}`,
			"applications[0].drafted_on: 2019-02-01 is before the cycle opened (2019-02-11)"},
		{"no draft", `{"year": 2019, "opened_on": "2019-02-11", "applications": [{"municipality": "gori"}]}`,
			"applications[0].drafted_on: required"},
		{"answer before the request", `{"year": 2019, "opened_on": "2019-02-11", "applications": [{"municipality": "gori", "drafted_on": "2019-02-18",
			"requests": [{"expert": "key:expert-x", "on": "2019-05-10", "question": "q", "answered_on": "2019-05-09", "answer": "a"}]}]}`,
			"applications[0].requests[0].answered_on: 2019-05-09 is before the request (2019-05-10)"},
		{"nominated by an unknown role", `{"year": 2019, "opened_on": "2019-02-11", "nominations": [{"on": "2019-02-20", "by": {"id": "key:x", "role": "mayor"}}]}`,
			`nominations[0].by.role: unknown role "mayor"`},
		{"rules change not an object", `{"year": 2019, "opened_on": "2019-02-11", "rules_changes": [{"on": "2019-05-31", "reason": "r", "rules": [40]}]}`,
			"rules_changes[0].rules: json: cannot unmarshal array"},
	}
	for _, tc := range tests {
		svc, store := newCertification(t, true)
		demo, err := readCertificationDemo([]byte(tc.json), "test.json")
		if err == nil {
			_, err = loadCertificationDemo(t.Context(), svc, demo, "test.json")
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: load = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if h := head(t, store); h != 0 {
			t.Errorf("%s: %d events written, want none (the data is checked before the first command)", tc.name, h)
		}
	}
}
