package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// certHistory is the history the certification tests share, written
// through certification.Service after the registry's seed, by the roles
// that really issue each command, on the days the workflow allows.
//
// 2019: gori and telavi are nominated. batumi applies, is scored by two
// experts (a third declares a conflict), answers an information request,
// reports a material change, has a score revised, is certified, announced
// and awarded. kutaisi is first found incomplete, then complete, scored
// partly after the rules change, certified and announced, and revoked.
// gori scores low and is refused. rustavi withdraws after submitting.
// marneuli stays a draft, one of its answers cleared. The rules change
// (version 2 lowers the pass score) between the first scores and the
// decisions, and again after them (version 3, two-year certificates),
// which leaves the decisions as they were. 2020: batumi applies again and
// is certified; kutaisi is decided, but its result not announced yet.
type certHistory struct {
	head int64
	// after is the position of batumi's submission: a crash after it
	// falls among certification events.
	after int64
	// a, b and c are the experts' actor IDs, "key:expert-a#<key ID>": an
	// expert is assigned by a live expert key.
	a, b, c string
	// experts rewrites "key:expert-a" (b, c) in a text to the actor ID.
	experts *strings.Replacer
}

// The actors of certHistory besides the experts.
const (
	certAdmin      = "key:admin"
	certAnalyst    = "key:analyst"
	certConsortium = "key:consortium"
)

// certMeta is the meta of a command by actor id in role, at noon of day
// in Tbilisi; an applicant acts for municipality.
func certMeta(t testing.TB, role domain.Role, id, municipality, day string) domain.Meta {
	t.Helper()
	d, err := time.ParseInLocation(certification.DateLayout, day, domain.Tbilisi)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Meta{Actor: domain.Actor{ID: id, Role: role, Municipality: municipality}, CorrelationID: "test",
		Now: d.Add(12 * time.Hour)}
}

// noon is the time of a command of certMeta on day.
func noon(t testing.TB, day string) time.Time {
	t.Helper()
	return certMeta(t, domain.System, "", "", day).Now
}

func certCriterion(code string, weight int) certification.Criterion {
	return certification.Criterion{Code: code, Name: domain.LocalizedText{Ka: code, En: code}, Weight: weight, ScaleMin: 0, ScaleMax: 10}
}

// certRules are the rules every cycle of certHistory opens with.
func certRules() certification.Rules {
	return certification.Rules{
		Criteria: []certification.Criterion{
			certCriterion("motivation", 3), certCriterion("impact", 2), certCriterion("decisions", 2), certCriterion("development", 3),
		},
		ExpertsRequired: 2, PassScore: 60, CriterionMinimum: 30, ValidityMonths: 12,
	}
}

func certSchedule(year int) certification.Schedule {
	y := fmt.Sprint(year)
	return certification.Schedule{CallOpens: y + "-02-01", ApplicationDeadline: y + "-03-31",
		QuestionnaireDeadline: y + "-04-15", ResultsDate: y + "-06-15", CeremonyDate: y + "-06-30"}
}

var certTitle2019 = domain.LocalizedText{Ka: "სერტიფიცირება 2019", En: "Certification 2019"}

// batumiAdvice is the consortium's advice to batumi in 2019.
var batumiAdvice = []domain.LocalizedText{
	{Ka: "გამოაქვეყნეთ კენჭისყრის შედეგები", En: "Publish the votes"},
	{Ka: "გაზარდეთ ბიუჯეტის წილი", En: "Raise the budget share"},
}

var batumiProgress = domain.LocalizedText{Ka: "პირველი სერტიფიკატი", En: "First certificate"}

func makeCertHistory(t testing.TB, e *domainEnv) certHistory {
	t.Helper()
	ctx := context.Background()
	svc := &certification.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	var h certHistory
	for _, x := range []struct {
		name string
		id   *string
	}{{"expert-a", &h.a}, {"expert-b", &h.b}, {"expert-c", &h.c}} {
		_, id, _, err := e.access.CreateKey(ctx, asSystem(), access.CreateKey{Name: x.name, Role: domain.Expert})
		if err != nil {
			t.Fatalf("CreateKey(%s): %v", x.name, err)
		}
		*x.id = "key:" + x.name + "#" + id
	}
	h.experts = strings.NewReplacer("key:expert-a", h.a, "key:expert-b", h.b, "key:expert-c", h.c)
	expertA, expertB, expertC := h.a, h.b, h.c
	do := func(what string) func(eventstore.AppendResult, error) {
		return func(_ eventstore.AppendResult, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	admin := func(day string) domain.Meta { return certMeta(t, domain.Admin, certAdmin, "", day) }
	consortium := func(day string) domain.Meta { return certMeta(t, domain.Consortium, certConsortium, "", day) }
	expert := func(id, day string) domain.Meta { return certMeta(t, domain.Expert, id, "", day) }
	applicant := func(m, day string) domain.Meta { return certMeta(t, domain.Applicant, "key:"+m, m, day) }
	apply := func(year int, m, day string, answers ...map[string]string) {
		t.Helper()
		do("draft " + m)(svc.DraftApplication(ctx, applicant(m, day), certification.DraftApplication{Year: year, Municipality: m}))
		for _, a := range answers {
			do("answers of " + m)(svc.SaveAnswers(ctx, applicant(m, day), certification.SaveAnswers{
				ApplicationID: certification.ApplicationID(year, m), Answers: a}))
		}
	}
	submit := func(id, m, day string) {
		t.Helper()
		do("submit " + id)(svc.Submit(ctx, applicant(m, day), certification.Submit{ApplicationID: id}))
	}
	review := func(id string, experts ...string) {
		t.Helper()
		do("confirm " + id)(svc.ConfirmStart(ctx, consortium(id[:4]+"-04-01"), certification.ConfirmStart{ApplicationID: id}))
		for _, x := range experts {
			do("assign " + x)(svc.AssignExpert(ctx, consortium(id[:4]+"-04-02"), certification.AssignExpert{ApplicationID: id, Expert: x}))
		}
	}
	declare := func(id, x string, conflict bool, details string) {
		t.Helper()
		do("declare " + x)(svc.DeclareConflict(ctx, expert(x, id[:4]+"-04-03"),
			certification.DeclareConflict{ApplicationID: id, Conflict: conflict, Details: details}))
	}
	score := func(id, x string, values ...int) {
		t.Helper()
		for i, c := range []string{"motivation", "impact", "decisions", "development"} {
			do("score " + c)(svc.Score(ctx, expert(x, id[:4]+"-04-20"), certification.Score{ApplicationID: id, Criterion: c,
				Score: values[i], Rationale: "seen in the report on " + c}))
		}
	}
	complete := func(id string, missing ...string) {
		t.Helper()
		do("check " + id)(svc.CheckCompleteness(ctx, consortium(id[:4]+"-04-02"),
			certification.CheckCompleteness{ApplicationID: id, Complete: len(missing) == 0, Missing: missing}))
	}

	do("open 2019")(svc.OpenCycle(ctx, admin("2019-01-15"), certification.OpenCycle{Year: 2019, Title: certTitle2019,
		Schedule: certSchedule(2019), Rules: certRules()}))
	do("nominate gori")(svc.Nominate(ctx, certMeta(t, domain.Analyst, certAnalyst, "", "2019-02-05"),
		certification.Nominate{Year: 2019, Municipality: "gori", Reason: "runs a civic budget since 2017"}))
	do("nominate telavi")(svc.Nominate(ctx, certMeta(t, domain.Analyst, certAnalyst, "", "2019-02-06"),
		certification.Nominate{Year: 2019, Municipality: "telavi", Reason: "recommended by the Kakheti hub"}))

	apply(2019, "batumi", "2019-02-10",
		map[string]string{"q1": "Since 2017, 2% of the budget.", "q2": "12 projects", "q3": "draft"},
		map[string]string{"q3": "", "q4": "Votes online and in person."})
	submit("2019-batumi", "batumi", "2019-03-20")
	h.after = e.settle(t)
	apply(2019, "kutaisi", "2019-02-11", map[string]string{"q1": "1%", "q2": "8 projects"})
	submit("2019-kutaisi", "kutaisi", "2019-03-25")
	apply(2019, "gori", "2019-02-15", map[string]string{"q1": "0.5%"})
	submit("2019-gori", "gori", "2019-03-30")
	apply(2019, "rustavi", "2019-02-20", map[string]string{"q1": "planned"})
	submit("2019-rustavi", "rustavi", "2019-03-28")
	apply(2019, "marneuli", "2019-03-01", map[string]string{"q1": "yes", "q2": "no"}, map[string]string{"q2": ""})

	review("2019-batumi", expertA, expertB, expertC)
	review("2019-kutaisi", expertA, expertB)
	review("2019-gori", expertA, expertB)
	review("2019-rustavi")
	complete("2019-batumi")
	complete("2019-kutaisi", "budget annex", "minutes of the hearings")
	complete("2019-gori")
	do("withdraw rustavi")(svc.Withdraw(ctx, applicant("rustavi", "2019-04-05"),
		certification.Withdraw{ApplicationID: "2019-rustavi", Reason: "council elections"}))
	for _, id := range []string{"2019-batumi", "2019-kutaisi", "2019-gori"} {
		declare(id, expertA, false, "")
		declare(id, expertB, false, "")
	}
	declare("2019-batumi", expertC, true, "worked for the city hall in 2018")
	score("2019-batumi", expertA, 8, 6, 7, 5)
	score("2019-batumi", expertB, 6, 8, 7, 7)
	score("2019-kutaisi", expertA, 7, 7, 7, 7)
	score("2019-gori", expertA, 2, 2, 3, 2)
	score("2019-gori", expertB, 3, 2, 2, 2)

	v2 := certRules()
	v2.PassScore = 55
	do("change rules")(svc.ChangeRules(ctx, admin("2019-05-01"), certification.ChangeRules{Year: 2019, Rules: v2,
		Reason: "pass score lowered after the pilot"}))
	score("2019-kutaisi", expertB, 8, 8, 8, 8)
	complete("2019-kutaisi")

	do("request")(svc.RequestInformation(ctx, expert(expertA, "2019-05-02"),
		certification.RequestInformation{ApplicationID: "2019-batumi", Question: "How many citizens voted?"}))
	do("material change")(svc.ReportMaterialChange(ctx, applicant("batumi", "2019-05-03"),
		certification.ReportMaterialChange{ApplicationID: "2019-batumi", Description: "The PB budget rose to 3%."}))
	do("provide")(svc.ProvideInformation(ctx, applicant("batumi", "2019-05-04"),
		certification.ProvideInformation{ApplicationID: "2019-batumi", RequestID: "1", Answer: "2,310 citizens voted"}))
	do("revise")(svc.Score(ctx, expert(expertA, "2019-05-05"), certification.Score{ApplicationID: "2019-batumi",
		Criterion: "impact", Score: 7, Rationale: "the annex shows 14 projects", Reason: "the annex arrived"}))

	do("decide batumi")(svc.Decide(ctx, consortium("2019-06-01"), certification.DecideApplication{ApplicationID: "2019-batumi",
		Decide: certification.Decide{Certified: true, Recommendations: batumiAdvice, Progress: batumiProgress}}))
	do("decide kutaisi")(svc.Decide(ctx, consortium("2019-06-01"), certification.DecideApplication{ApplicationID: "2019-kutaisi",
		Decide: certification.Decide{Certified: true}}))
	do("decide gori")(svc.Decide(ctx, consortium("2019-06-02"), certification.DecideApplication{ApplicationID: "2019-gori",
		Decide: certification.Decide{Certified: false}}))
	for _, a := range [][2]string{{"2019-batumi", "2019-06-15"}, {"2019-kutaisi", "2019-06-16"}, {"2019-gori", "2019-06-17"}} {
		do("announce " + a[0])(svc.Announce(ctx, consortium(a[1]), certification.ApplicationCommand{ApplicationID: a[0]}))
	}
	do("award batumi")(svc.Award(ctx, consortium("2019-06-30"), certification.ApplicationCommand{ApplicationID: "2019-batumi"}))
	v3 := v2
	v3.ValidityMonths = 24
	do("change rules again")(svc.ChangeRules(ctx, admin("2019-07-01"), certification.ChangeRules{Year: 2019, Rules: v3,
		Reason: "two-year certificates from now on"}))
	do("revoke kutaisi")(svc.Revoke(ctx, consortium("2019-09-01"), certification.Revoke{ApplicationID: "2019-kutaisi",
		Reason: "the civic budget was abolished"}))

	do("open 2020")(svc.OpenCycle(ctx, admin("2020-01-10"), certification.OpenCycle{Year: 2020,
		Title: domain.LocalizedText{Ka: "სერტიფიცირება 2020", En: "Certification 2020"}, Schedule: certSchedule(2020), Rules: certRules()}))
	apply(2020, "batumi", "2020-02-03", map[string]string{"q1": "Since 2017, 3% of the budget."})
	submit("2020-batumi", "batumi", "2020-03-01")
	review("2020-batumi", expertA, expertB)
	complete("2020-batumi")
	declare("2020-batumi", expertA, false, "")
	declare("2020-batumi", expertB, false, "")
	score("2020-batumi", expertA, 9, 9, 9, 9)
	score("2020-batumi", expertB, 9, 9, 9, 9)
	do("decide batumi 2020")(svc.Decide(ctx, consortium("2020-06-01"), certification.DecideApplication{ApplicationID: "2020-batumi",
		Decide: certification.Decide{Certified: true}}))
	do("announce batumi 2020")(svc.Announce(ctx, consortium("2020-06-15"), certification.ApplicationCommand{ApplicationID: "2020-batumi"}))
	// Decided, but not announced: its outcome is not public yet.
	apply(2020, "kutaisi", "2020-02-04", map[string]string{"q1": "2%"})
	submit("2020-kutaisi", "kutaisi", "2020-03-02")
	review("2020-kutaisi", expertA, expertB)
	complete("2020-kutaisi")
	declare("2020-kutaisi", expertA, false, "")
	declare("2020-kutaisi", expertB, false, "")
	score("2020-kutaisi", expertA, 6, 6, 6, 6)
	score("2020-kutaisi", expertB, 6, 6, 6, 6)
	do("decide kutaisi 2020")(svc.Decide(ctx, consortium("2020-06-02"), certification.DecideApplication{ApplicationID: "2020-kutaisi",
		Decide: certification.Decide{Certified: true}}))

	h.head = e.settle(t)
	return h
}

func TestCertificationIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeCertHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Certification{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Certification{}, events)
}

func TestCertificationCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeCertHistory(t, e)
	checkCrashRecovery(t, e, projections.Certification{}, h.head, h.after)
}

func TestCertificationRebuild(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeCertHistory(t, e)
	r := e.startRunner(t, h.head, projections.Places{}, projections.Certification{}) // read joined with places
	checkRebuild(t, e, r, projections.Certification{}, h.head, func(ctx context.Context) (string, error) {
		var b strings.Builder
		show := func(v any, err error) error {
			fmt.Fprintf(&b, "%s\n", showValue(v))
			return err
		}
		errs := []error{
			show(e.reads.Cycles(ctx)),
			show(e.reads.Applications(ctx, projections.ApplicationFilter{})),
			show(e.reads.ApplicationScores(ctx, "2019-batumi")),
			show(e.reads.ApplicationTimeline(ctx, "2019-batumi")),
			show(e.reads.Certificates(ctx, projections.CertificateFilter{}, "2020-06-15")),
			show(e.reads.CycleStatistics(ctx, 2019)),
			show(e.reads.MunicipalityHistory(ctx, "batumi", "2020-06-15")),
		}
		for _, err := range errs {
			if err != nil {
				return "", err
			}
		}
		return b.String(), nil
	})
}

// showValue prints v with what pointers point to, not their addresses,
// which differ every time.
func showValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestCertificationUnknownEvent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	p := projections.Certification{}
	schema := projtest.Build(t, e.pool, p, nil)
	ctx := context.Background()
	unknown := eventstore.Event{ID: eventstore.NewID(), Stream: "application-2019-batumi", Version: 1, Position: 1,
		Type: "certification.application_teleported", Data: []byte(`{"id":"2019-batumi"}`)}
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, pgx.Identifier{schema}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		return projections.Apply(ctx, tx, p, []eventstore.Event{unknown})
	})
	if err == nil || !strings.Contains(err.Error(), "application_teleported") {
		t.Fatalf("Apply(an unknown certification event) = %v; want an error naming it, not the event skipped", err)
	}
}

func TestCertificationQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeCertHistory(t, e)
	e.startRunner(t, h.head, projections.Places{}, projections.Certification{})
	ctx := context.Background()
	expertA, expertB, expertC := h.a, h.b, h.c
	// experts rewrites the experts' names in expected texts to their IDs.
	experts := func(lines []string) []string {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = h.experts.Replace(l)
		}
		return out
	}
	// Lists read as empty whether the database gave nil or empty slices.
	opts := cmpopts.EquateEmpty()

	// stream reads an application's stream, whose last event gives the
	// version and update time the read model must show.
	stream := func(t *testing.T, id string) []eventstore.Event {
		t.Helper()
		events, err := e.store.ReadStream(ctx, certification.ApplicationStream(id), eventstore.ReadOptions{})
		if err != nil || len(events) == 0 {
			t.Fatalf("ReadStream(%s) = %d events, %v", id, len(events), err)
		}
		return events
	}

	t.Run("Cycles", func(t *testing.T) {
		cycles, err := e.reads.Cycles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var years []int
		for _, c := range cycles {
			years = append(years, c.Year)
		}
		if !slices.Equal(years, []int{2020, 2019}) {
			t.Errorf("Cycles() = years %v, want [2020 2019]", years)
		}
		v2 := certRules()
		v2.Version, v2.PassScore = 2, 55
		v3 := v2
		v3.Version, v3.ValidityMonths = 3, 24
		want := projections.Cycle{Year: 2019, Title: certTitle2019, Schedule: certSchedule(2019), RulesVersion: 3, Rules: v3,
			OpenedAt: noon(t, "2019-01-15"), UpdatedAt: noon(t, "2019-07-01")}
		got, err := e.reads.Cycle(ctx, 2019)
		if err != nil || got == nil {
			t.Fatalf("Cycle(2019) = %v, %v", got, err)
		}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("Cycle(2019) (-want +got):\n%s", diff)
		}
		if got, err := e.reads.Cycle(ctx, 2018); got != nil || err != nil {
			t.Errorf("Cycle(2018) = %+v, %v; want nil, nil", got, err)
		}
		rules, err := e.reads.CycleRules(ctx, 2019)
		v1 := certRules()
		v1.Version = 1
		wantRules := []projections.RulesChange{
			{Year: 2019, Version: 1, Rules: v1, Actor: certAdmin, ChangedAt: noon(t, "2019-01-15")},
			{Year: 2019, Version: 2, Rules: v2, Reason: "pass score lowered after the pilot", Actor: certAdmin, ChangedAt: noon(t, "2019-05-01")},
			{Year: 2019, Version: 3, Rules: v3, Reason: "two-year certificates from now on", Actor: certAdmin, ChangedAt: noon(t, "2019-07-01")},
		}
		if diff := cmp.Diff(wantRules, rules); err != nil || diff != "" {
			t.Errorf("CycleRules(2019) = %v (-want +got):\n%s", err, diff)
		}
	})

	t.Run("Nominations", func(t *testing.T) {
		got, err := e.reads.Nominations(ctx, 2019)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, n := range got {
			lines = append(lines, fmt.Sprintf("%s %s/%s in %s: %q by %s at %s", n.Municipality.Code, n.Municipality.Name.Ka,
				n.Municipality.Name.En, n.Municipality.RegionCode, n.Reason, n.NominatedBy, n.NominatedAt.In(domain.Tbilisi).Format(time.DateTime)))
		}
		want := []string{
			`gori გორი/Gori in shida-kartli: "runs a civic budget since 2017" by key:analyst at 2019-02-05 12:00:00`,
			`telavi თელავი/Telavi in kakheti: "recommended by the Kakheti hub" by key:analyst at 2019-02-06 12:00:00`,
		}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("Nominations(2019) (-want +got):\n%s", diff)
		}
	})

	t.Run("Application", func(t *testing.T) {
		events := stream(t, "2019-batumi")
		last := events[len(events)-1]
		want := projections.Application{
			ID: "2019-batumi", Year: 2019,
			Municipality: projections.Municipality{Code: "batumi", Name: domain.LocalizedText{Ka: "ბათუმი", En: "Batumi"},
				Kind: "self-governing-city", RegionCode: "adjara", Population2014: census(152839)},
			Region: projections.Region{Code: "adjara", Name: domain.LocalizedText{Ka: "აჭარის ავტონომიური რესპუბლიკა",
				En: "Autonomous Republic of Adjara"}, Kind: "autonomous-republic"},
			Status: certification.Decided, AnswersCount: 3, SubmittedOn: "2019-03-20",
			Confirmed: true, Completeness: projections.Complete, OpenRequests: 0, MaterialChanges: 1,
			Experts: []string{expertA, expertB, expertC}, Cleared: []string{expertA, expertB}, Conflicted: []string{expertC},
			Decision: &projections.Decision{
				Certified: true, RulesVersion: 2,
				Recommendation: certification.Recommendation{Certify: true, Score: 68,
					Criteria: map[string]float64{"motivation": 70, "impact": 75, "decisions": 70, "development": 60},
					Experts:  []string{expertA, expertB}},
				Recommendations: batumiAdvice, Progress: batumiProgress,
				DecidedAt: noon(t, "2019-06-01"),
			},
			AnnouncedOn: "2019-06-15", CertificateNumber: "CB-2019-BATUMI", ValidFrom: "2019-06-15", ValidUntil: "2020-06-14",
			AwardedOn: "2019-06-30", DraftedAt: noon(t, "2019-02-10"), UpdatedAt: last.RecordedAt, Version: last.Version, Position: last.Position,
		}
		got, err := e.reads.Application(ctx, "2019-batumi")
		if err != nil || got == nil {
			t.Fatalf("Application(2019-batumi) = %v, %v", got, err)
		}
		// The capital is the region's, whatever form the registry keeps
		// it in; the digest is the domain's (see its tests), but must be
		// there.
		if got.Region.Capital == "" || got.Decision == nil || !strings.HasPrefix(got.Decision.InputsDigest, "v2:") || len(got.Decision.InputsDigest) != 67 {
			t.Errorf("Application(2019-batumi) has capital %q, decision %+v; want a capital and a v2 digest", got.Region.Capital, got.Decision)
		}
		got.Region.Capital = ""
		if got.Decision != nil {
			got.Decision.InputsDigest = ""
		}
		if diff := cmp.Diff(want, *got, opts); diff != "" {
			t.Errorf("Application(2019-batumi) (-want +got):\n%s", diff)
		}

		kutaisi, err := e.reads.Application(ctx, "2019-kutaisi")
		if err != nil || kutaisi == nil || kutaisi.Decision == nil {
			t.Fatalf("Application(2019-kutaisi) = %+v, %v; want it decided", kutaisi, err)
		}
		if k := kutaisi; k.Completeness != projections.Complete || len(k.Missing) != 0 || k.Decision.RulesVersion != 2 ||
			k.Decision.Recommendation.Score != 75 || k.RevokedOn != "2019-09-01" || k.RevokedReason != "the civic budget was abolished" ||
			k.AwardedOn != "" || k.ValidUntil != "2020-06-15" {
			t.Errorf("Application(2019-kutaisi) = %+v, decision %+v; want complete again (nothing missing), decided under rules 2 "+
				"at 75, valid until 2020-06-15, not awarded, revoked on 2019-09-01", k, k.Decision)
		}
		gori, err := e.reads.Application(ctx, "2019-gori")
		if err != nil || gori == nil || gori.Decision == nil {
			t.Fatalf("Application(2019-gori) = %+v, %v; want it decided", gori, err)
		}
		wantReasons := []string{"criterion motivation scores 25.00, under the minimum 30.00",
			"criterion impact scores 20.00, under the minimum 30.00",
			"criterion decisions scores 25.00, under the minimum 30.00",
			"criterion development scores 20.00, under the minimum 30.00",
			"the weighted score 22.50 is under the pass score 55.00"}
		if g := gori.Decision; g.Certified || g.Recommendation.Certify || g.Recommendation.Score != 22.5 ||
			!cmp.Equal(g.Recommendation.Reasons, wantReasons) || gori.CertificateNumber != "" || gori.AnnouncedOn != "2019-06-17" {
			t.Errorf("Application(2019-gori) = %+v, decision %+v; want refused as recommended at 22.5 for %q, announced, no certificate",
				gori, g, wantReasons)
		}
		marneuli, err := e.reads.Application(ctx, "2019-marneuli")
		if err != nil || marneuli == nil {
			t.Fatalf("Application(2019-marneuli) = %v, %v", marneuli, err)
		}
		if m := marneuli; m.Status != certification.Draft || m.AnswersCount != 1 || m.Completeness != projections.Unchecked ||
			m.Decision != nil || m.SubmittedOn != "" || m.Version != 3 {
			t.Errorf("Application(2019-marneuli) = %+v; want a draft at version 3 with 1 answer (one cleared), unchecked, undecided", m)
		}
		if got, err := e.reads.ApplicationAnswers(ctx, "2019-marneuli"); err != nil || !cmp.Equal(got, map[string]string{"q1": "yes"}) {
			t.Errorf("ApplicationAnswers(2019-marneuli) = %v, %v; want q1 only", got, err)
		}
		rustavi, err := e.reads.Application(ctx, "2019-rustavi")
		if err != nil || rustavi == nil || rustavi.Status != certification.Withdrawn || rustavi.WithdrawnReason != "council elections" ||
			rustavi.SubmittedOn != "2019-03-28" || !rustavi.Confirmed {
			t.Errorf("Application(2019-rustavi) = %+v, %v; want withdrawn (council elections) after submission on 2019-03-28", rustavi, err)
		}
		// The read model holds a decision from the moment it is taken; only
		// the public queries wait for the announcement.
		unannounced, err := e.reads.Application(ctx, "2020-kutaisi")
		if err != nil || unannounced == nil || unannounced.Decision == nil || !unannounced.Decision.Certified ||
			unannounced.Decision.Recommendation.Score != 60 || unannounced.AnnouncedOn != "" || unannounced.CertificateNumber != "" {
			t.Errorf("Application(2020-kutaisi) = %+v, %v; want certified at 60, not announced, no certificate", unannounced, err)
		}
		for _, id := range []string{"2019-tbilisi", "2018-batumi", "", "batumi"} {
			if got, err := e.reads.Application(ctx, id); got != nil || err != nil {
				t.Errorf("Application(%q) = %+v, %v; want nil, nil", id, got, err)
			}
		}
	})

	t.Run("Applications", func(t *testing.T) {
		tests := []struct {
			filter projections.ApplicationFilter
			want   []string
		}{
			{projections.ApplicationFilter{}, []string{"2020-batumi", "2020-kutaisi", "2019-batumi", "2019-gori", "2019-kutaisi", "2019-marneuli", "2019-rustavi"}},
			{projections.ApplicationFilter{Year: 2019, Region: "kvemo-kartli"}, []string{"2019-marneuli", "2019-rustavi"}},
			{projections.ApplicationFilter{Municipality: "batumi"}, []string{"2020-batumi", "2019-batumi"}},
			{projections.ApplicationFilter{Status: "withdrawn"}, []string{"2019-rustavi"}},
			{projections.ApplicationFilter{Status: "decided", Region: "adjara"}, []string{"2020-batumi", "2019-batumi"}},
			{projections.ApplicationFilter{Year: 2020, Status: "draft"}, nil},
			{projections.ApplicationFilter{Year: 2020, Status: "decided"}, []string{"2020-batumi", "2020-kutaisi"}},
			{projections.ApplicationFilter{Region: "kakheti"}, nil},
		}
		for _, tt := range tests {
			list, err := e.reads.Applications(ctx, tt.filter)
			var got []string
			for _, a := range list {
				got = append(got, a.ID)
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Applications(%+v) = %v, %v; want %v", tt.filter, got, err, tt.want)
			}
		}
		for _, f := range []projections.ApplicationFilter{{Status: "approved"}, {Status: "Decided"}, {Year: -1}} {
			if _, err := e.reads.Applications(ctx, f); domain.KindOf(err) != domain.Invalid {
				t.Errorf("Applications(%+v) = %v (kind %s), want kind %s", f, err, domain.KindOf(err), domain.Invalid)
			}
		}
	})

	t.Run("scores", func(t *testing.T) {
		got, err := e.reads.ApplicationScores(ctx, "2019-batumi")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, s := range got {
			lines = append(lines, fmt.Sprintf("%s %s=%d v%d revised %d %q", s.Expert, s.Criterion, s.Score, s.RulesVersion, s.Revisions, s.LastReason))
		}
		wantA := []string{
			`key:expert-a decisions=7 v1 revised 0 ""`,
			`key:expert-a development=5 v1 revised 0 ""`,
			`key:expert-a impact=7 v2 revised 1 "the annex arrived"`,
			`key:expert-a motivation=8 v1 revised 0 ""`,
		}
		want := append(slices.Clone(wantA),
			`key:expert-b decisions=7 v1 revised 0 ""`,
			`key:expert-b development=7 v1 revised 0 ""`,
			`key:expert-b impact=8 v1 revised 0 ""`,
			`key:expert-b motivation=6 v1 revised 0 ""`,
		)
		if diff := cmp.Diff(experts(want), lines); diff != "" {
			t.Errorf("ApplicationScores(2019-batumi) (-want +got):\n%s", diff)
		}
		for _, s := range got {
			if s.Expert == expertA && s.Criterion == "impact" {
				if s.Rationale != "the annex shows 14 projects" || !s.ScoredAt.Equal(noon(t, "2019-04-20")) || !s.UpdatedAt.Equal(noon(t, "2019-05-05")) {
					t.Errorf("the revised score = %+v; want the new rationale, first scored on 2019-04-20 and revised on 2019-05-05", s)
				}
			}
		}
		mine, err := e.reads.ExpertScores(ctx, "2019-batumi", expertA)
		var mineLines []string
		for _, s := range mine {
			mineLines = append(mineLines, fmt.Sprintf("%s %s=%d v%d revised %d %q", s.Expert, s.Criterion, s.Score, s.RulesVersion, s.Revisions, s.LastReason))
		}
		if diff := cmp.Diff(experts(wantA), mineLines); err != nil || diff != "" {
			t.Errorf("ExpertScores(2019-batumi, %s) = %v (-want +got):\n%s", expertA, err, diff)
		}
		for _, x := range []string{expertC, "key:expert-z"} {
			if got, err := e.reads.ExpertScores(ctx, "2019-batumi", x); err != nil || len(got) != 0 {
				t.Errorf("ExpertScores(2019-batumi, %s) = %+v, %v; want none", x, got, err)
			}
		}
		kutaisi, err := e.reads.ApplicationScores(ctx, "2019-kutaisi")
		versions := map[string]int{}
		for _, s := range kutaisi {
			versions[s.Expert] = s.RulesVersion
		}
		if err != nil || len(kutaisi) != 8 || versions[expertA] != 1 || versions[expertB] != 2 {
			t.Errorf("ApplicationScores(2019-kutaisi) = %d scores, rules versions %v, %v; want 8, expert A's on version 1, B's on 2",
				len(kutaisi), versions, err)
		}
	})

	t.Run("requests", func(t *testing.T) {
		got, err := e.reads.ApplicationRequests(ctx, "2019-batumi")
		if err != nil || len(got) != 1 {
			t.Fatalf("ApplicationRequests(2019-batumi) = %+v, %v; want one", got, err)
		}
		answered := noon(t, "2019-05-04")
		want := projections.InformationRequest{ApplicationID: "2019-batumi", RequestID: "1", Expert: expertA,
			Question: "How many citizens voted?", Answer: "2,310 citizens voted", RequestedAt: noon(t, "2019-05-02"), AnsweredAt: &answered}
		if diff := cmp.Diff(want, got[0]); diff != "" {
			t.Errorf("ApplicationRequests(2019-batumi) (-want +got):\n%s", diff)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		events := stream(t, "2019-batumi")
		got, err := e.reads.ApplicationTimeline(ctx, "2019-batumi")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(events) {
			t.Fatalf("ApplicationTimeline(2019-batumi) has %d entries, the stream %d events", len(got), len(events))
		}
		var summaries []string
		for i, entry := range got {
			se := events[i]
			if entry.Version != se.Version || entry.Position != se.Position || entry.Type != se.Type ||
				entry.Actor != se.Metadata.Actor || string(entry.Role) != se.Metadata.Role ||
				!entry.RecordedAt.Equal(se.RecordedAt) || !entry.OccurredAt.Equal(se.OccurredAt) {
				t.Errorf("timeline entry %d = %+v; want the envelope of event %+v", i, entry, se)
			}
			summaries = append(summaries, fmt.Sprintf("%s (%s): %s", entry.Actor, entry.Role, entry.Summary))
		}
		want := []string{
			"key:batumi (applicant): Application of batumi for the 2019 cycle drafted",
			"key:batumi (applicant): 3 answers saved",
			"key:batumi (applicant): 1 answer saved, 1 cleared",
			"key:batumi (applicant): Submitted on 2019-03-20",
			"key:consortium (consortium): Start of the evaluation confirmed",
			"key:consortium (consortium): Expert key:expert-a assigned",
			"key:consortium (consortium): Expert key:expert-b assigned",
			"key:consortium (consortium): Expert key:expert-c assigned",
			"key:consortium (consortium): Found complete",
			"key:expert-a (expert): key:expert-a declared no conflict of interest",
			"key:expert-b (expert): key:expert-b declared no conflict of interest",
			"key:expert-c (expert): key:expert-c declared a conflict of interest",
			"key:expert-a (expert): key:expert-a scored motivation 8 (rules version 1)",
			"key:expert-a (expert): key:expert-a scored impact 6 (rules version 1)",
			"key:expert-a (expert): key:expert-a scored decisions 7 (rules version 1)",
			"key:expert-a (expert): key:expert-a scored development 5 (rules version 1)",
			"key:expert-b (expert): key:expert-b scored motivation 6 (rules version 1)",
			"key:expert-b (expert): key:expert-b scored impact 8 (rules version 1)",
			"key:expert-b (expert): key:expert-b scored decisions 7 (rules version 1)",
			"key:expert-b (expert): key:expert-b scored development 7 (rules version 1)",
			"key:expert-a (expert): Information request 1 by key:expert-a: How many citizens voted?",
			"key:batumi (applicant): Material change reported: The PB budget rose to 3%.",
			"key:batumi (applicant): Information request 1 answered",
			"key:expert-a (expert): key:expert-a revised impact to 7: the annex arrived",
			"key:consortium (consortium): Decided: certified (recommendation: certify, weighted score 68.00, rules version 2)",
			"key:consortium (consortium): Result announced on 2019-06-15",
			"key:consortium (consortium): Certificate CB-2019-BATUMI issued, valid from 2019-06-15 until 2020-06-14",
			"key:consortium (consortium): Certificate awarded on 2019-06-30",
		}
		if diff := cmp.Diff(experts(want), summaries); diff != "" {
			t.Errorf("ApplicationTimeline(2019-batumi) (-want +got):\n%s", diff)
		}
		if got, err := e.reads.ApplicationTimeline(ctx, "2019-tbilisi"); err != nil || len(got) != 0 {
			t.Errorf("ApplicationTimeline(2019-tbilisi) = %+v, %v; want none", got, err)
		}
	})

	t.Run("Certificates", func(t *testing.T) {
		// Each certificate as "<number> <status> [on <day> (<reason>)]", in
		// the registry's order; a revoked one says when and why.
		show := func(list []projections.Certificate) []string {
			var out []string
			for _, c := range list {
				s := fmt.Sprintf("%s %s", c.Number, c.Status)
				if c.RevokedOn != "" {
					s += fmt.Sprintf(" on %s (%s)", c.RevokedOn, c.RevokedReason)
				}
				out = append(out, s)
			}
			return out
		}
		const revoked = " on 2019-09-01 (the civic budget was abolished)"
		tests := []struct {
			today  string
			filter projections.CertificateFilter
			want   []string
		}{
			{"2019-06-14", projections.CertificateFilter{}, nil},
			{"2019-06-15", projections.CertificateFilter{}, []string{"CB-2019-BATUMI valid"}},
			{"2019-08-31", projections.CertificateFilter{}, []string{"CB-2019-BATUMI valid", "CB-2019-KUTAISI valid"}},
			{"2019-09-01", projections.CertificateFilter{}, []string{"CB-2019-BATUMI valid", "CB-2019-KUTAISI revoked" + revoked}},
			// batumi's last valid day; its 2020 certificate starts the next.
			{"2020-06-14", projections.CertificateFilter{}, []string{"CB-2019-BATUMI valid", "CB-2019-KUTAISI revoked" + revoked}},
			{"2020-06-15", projections.CertificateFilter{}, []string{"CB-2020-BATUMI valid", "CB-2019-BATUMI expired", "CB-2019-KUTAISI revoked" + revoked}},
			// Revoked stays revoked once its validity would have ended.
			{"2021-06-15", projections.CertificateFilter{}, []string{"CB-2020-BATUMI expired", "CB-2019-BATUMI expired", "CB-2019-KUTAISI revoked" + revoked}},
			{"2020-06-15", projections.CertificateFilter{Status: "valid"}, []string{"CB-2020-BATUMI valid"}},
			{"2020-06-15", projections.CertificateFilter{Status: "expired"}, []string{"CB-2019-BATUMI expired"}},
			{"2020-06-15", projections.CertificateFilter{Status: "revoked", Region: "imereti"}, []string{"CB-2019-KUTAISI revoked" + revoked}},
			{"2020-06-15", projections.CertificateFilter{Year: 2019}, []string{"CB-2019-BATUMI expired", "CB-2019-KUTAISI revoked" + revoked}},
			{"2020-06-15", projections.CertificateFilter{Municipality: "batumi"}, []string{"CB-2020-BATUMI valid", "CB-2019-BATUMI expired"}},
			{"2020-06-15", projections.CertificateFilter{Region: "shida-kartli"}, nil},
		}
		for _, tt := range tests {
			list, err := e.reads.Certificates(ctx, tt.filter, tt.today)
			if got := show(list); err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Certificates(%+v, %s) = %q, %v; want %q", tt.filter, tt.today, got, err, tt.want)
			}
		}

		list, err := e.reads.Certificates(ctx, projections.CertificateFilter{Year: 2019, Municipality: "batumi"}, "2019-07-01")
		if err != nil || len(list) != 1 {
			t.Fatalf("Certificates(batumi 2019) = %+v, %v; want one", list, err)
		}
		c := list[0]
		c.Region.Capital = ""
		want := projections.Certificate{ApplicationID: "2019-batumi", Number: "CB-2019-BATUMI", Year: 2019,
			Municipality: projections.Municipality{Code: "batumi", Name: domain.LocalizedText{Ka: "ბათუმი", En: "Batumi"},
				Kind: "self-governing-city", RegionCode: "adjara", Population2014: census(152839)},
			Region: projections.Region{Code: "adjara", Name: domain.LocalizedText{Ka: "აჭარის ავტონომიური რესპუბლიკა",
				En: "Autonomous Republic of Adjara"}, Kind: "autonomous-republic"},
			ValidFrom: "2019-06-15", ValidUntil: "2020-06-14", Status: projections.CertificateValid, AwardedOn: "2019-06-30",
			Recommendations: batumiAdvice, Progress: batumiProgress}
		if diff := cmp.Diff(want, c, opts); diff != "" {
			t.Errorf("Certificates(batumi 2019, 2019-07-01) (-want +got):\n%s", diff)
		}
		// Before the ceremony, the certificate is not awarded yet.
		if list, err := e.reads.Certificates(ctx, projections.CertificateFilter{Year: 2019, Municipality: "batumi"}, "2019-06-29"); err != nil ||
			len(list) != 1 || list[0].AwardedOn != "" {
			t.Errorf("Certificates(batumi 2019, 2019-06-29) = %+v, %v; want it not awarded yet", list, err)
		}

		bad := []struct {
			today  string
			filter projections.CertificateFilter
		}{
			{"", projections.CertificateFilter{}},
			{"2020-13-01", projections.CertificateFilter{}},
			{"15.06.2020", projections.CertificateFilter{}},
			{"2020-06-15", projections.CertificateFilter{Status: "active"}},
			{"2020-06-15", projections.CertificateFilter{Year: -2019}},
		}
		for _, tt := range bad {
			if _, err := e.reads.Certificates(ctx, tt.filter, tt.today); domain.KindOf(err) != domain.Invalid {
				t.Errorf("Certificates(%+v, %q) = %v (kind %s), want kind %s", tt.filter, tt.today, err, domain.KindOf(err), domain.Invalid)
			}
		}
	})

	t.Run("CycleStatistics", func(t *testing.T) {
		region := func(code, ka, en string, kind registry.RegionKind) projections.Region {
			return projections.Region{Code: code, Name: domain.LocalizedText{Ka: ka, En: en}, Kind: kind}
		}
		adjara := region("adjara", "აჭარის ავტონომიური რესპუბლიკა", "Autonomous Republic of Adjara", "autonomous-republic")
		type C = projections.CycleCounts
		want := &projections.CycleStatistics{Year: 2019,
			Regions: []projections.RegionCounts{
				{Region: adjara, Counts: C{Applied: 1, Submitted: 1, Complete: 1, Decided: 1, Announced: 1, Certified: 1}},
				{Region: region("imereti", "იმერეთი", "Imereti", "region"),
					Counts: C{Applied: 1, Submitted: 1, Complete: 1, Decided: 1, Announced: 1, Certified: 1, Revoked: 1}},
				{Region: region("kvemo-kartli", "ქვემო ქართლი", "Kvemo Kartli", "region"),
					Counts: C{Applied: 2, Withdrawn: 1, Submitted: 1}},
				{Region: region("shida-kartli", "შიდა ქართლი", "Shida Kartli", "region"),
					Counts: C{Applied: 1, Submitted: 1, Complete: 1, Decided: 1, Announced: 1}},
			},
			Total: C{Applied: 5, Withdrawn: 1, Submitted: 4, Complete: 3, Decided: 3, Announced: 3, Certified: 2, Revoked: 1},
		}
		got, err := e.reads.CycleStatistics(ctx, 2019)
		if err != nil || got == nil {
			t.Fatalf("CycleStatistics(2019) = %v, %v", got, err)
		}
		for i := range got.Regions {
			got.Regions[i].Region.Capital = ""
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CycleStatistics(2019) (-want +got):\n%s", diff)
		}
		got, err = e.reads.CycleStatistics(ctx, 2020)
		if err != nil || got == nil || len(got.Regions) != 2 || got.Regions[0].Region.Code != "adjara" || got.Regions[1].Region.Code != "imereti" ||
			got.Regions[1].Counts != (C{Applied: 1, Submitted: 1, Complete: 1, Decided: 1}) ||
			got.Total != (C{Applied: 2, Submitted: 2, Complete: 2, Decided: 2, Announced: 1, Certified: 1}) {
			t.Errorf("CycleStatistics(2020) = %+v, %v; want batumi certified in adjara, and kutaisi's decision, "+
				"not announced, counted as decided only, in imereti", got, err)
		}
		if got, err := e.reads.CycleStatistics(ctx, 2018); got != nil || err != nil {
			t.Errorf("CycleStatistics(2018) = %+v, %v; want nil, nil", got, err)
		}
	})

	t.Run("MunicipalityHistory", func(t *testing.T) {
		tests := []struct {
			code, today string
			want        []string
		}{
			{"batumi", "2020-06-15", []string{
				"2020-batumi decided announced 2020-06-15 certified true score 90 certificate CB-2020-BATUMI valid",
				"2019-batumi decided announced 2019-06-15 certified true score 68 certificate CB-2019-BATUMI expired awarded 2019-06-30",
			}},
			{"batumi", "2020-06-14", []string{
				"2020-batumi decided announced 2020-06-15 certified true score 90",
				"2019-batumi decided announced 2019-06-15 certified true score 68 certificate CB-2019-BATUMI valid awarded 2019-06-30",
			}},
			{"kutaisi", "2020-07-01", []string{
				"2020-kutaisi decided", // not announced: no outcome
				"2019-kutaisi decided announced 2019-06-16 certified true score 75 certificate CB-2019-KUTAISI revoked",
			}},
			{"gori", "2020-01-01", []string{"2019-gori decided announced 2019-06-17 certified false score 22.5"}},
			{"rustavi", "2020-01-01", []string{"2019-rustavi withdrawn"}},
			{"marneuli", "2020-01-01", []string{"2019-marneuli draft"}},
			{"tbilisi", "2020-01-01", nil},
		}
		for _, tt := range tests {
			list, err := e.reads.MunicipalityHistory(ctx, tt.code, tt.today)
			var got []string
			for _, h := range list {
				s := fmt.Sprintf("%s %s", h.ApplicationID, h.Status)
				if h.AnnouncedOn != "" {
					s += " announced " + h.AnnouncedOn
				}
				if h.Certified != nil {
					s += fmt.Sprintf(" certified %v", *h.Certified)
				}
				if h.Score != nil {
					s += fmt.Sprintf(" score %v", *h.Score)
				}
				if c := h.Certificate; c != nil {
					s += fmt.Sprintf(" certificate %s %s", c.Number, c.Status)
					if c.AwardedOn != "" {
						s += " awarded " + c.AwardedOn
					}
					if c.Municipality.Code != tt.code || c.Municipality.Name.En == "" || c.Region.Code != c.Municipality.RegionCode ||
						c.Year != h.Year || c.ApplicationID != h.ApplicationID {
						t.Errorf("MunicipalityHistory(%s, %s): certificate %+v does not match its application %s", tt.code, tt.today, c, h.ApplicationID)
					}
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(tt.want, got, opts); err != nil || diff != "" {
				t.Errorf("MunicipalityHistory(%s, %s) = %v (-want +got):\n%s", tt.code, tt.today, err, diff)
			}
		}
		for _, tt := range []struct {
			code, today string
			kind        domain.Kind
		}{
			{"atlantis", "2020-01-01", domain.NotFound},
			{"", "2020-01-01", domain.Invalid},
			{"batumi", "2020-02-30", domain.Invalid},
		} {
			if got, err := e.reads.MunicipalityHistory(ctx, tt.code, tt.today); domain.KindOf(err) != tt.kind {
				t.Errorf("MunicipalityHistory(%q, %q) = %+v, %v (kind %s); want kind %s", tt.code, tt.today, got, err, domain.KindOf(err), tt.kind)
			}
		}
	})
}
