package certification_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/google/go-cmp/cmp"
)

// Fixtures: the 2019 cycle's calendar and rules are illustrative (the
// programme does not publish its weights and thresholds); the
// municipalities are real.
var (
	batumi = registry.MunicipalityRegistered{Code: "batumi", Name: domain.LocalizedText{Ka: "ბათუმი", En: "Batumi"},
		Region: "adjara", Kind: registry.SelfGoverningCity}
	gori = registry.MunicipalityRegistered{Code: "gori", Name: domain.LocalizedText{Ka: "გორი", En: "Gori"},
		Region: "shida-kartli", Kind: registry.OrdinaryMunicipality}

	schedule2019 = certification.Schedule{
		CallOpens: "2019-02-01", ApplicationDeadline: "2019-03-31", QuestionnaireDeadline: "2019-04-15",
		ResultsDate: "2019-06-15", CeremonyDate: "2019-06-30",
	}
	rules2019 = certification.Rules{
		Version: 1,
		Criteria: []certification.Criterion{
			criterion("motivation", 3), criterion("impact", 2), criterion("decisions", 2), criterion("development", 3),
		},
		ExpertsRequired: 2, PassScore: 60, CriterionMinimum: 30, ValidityMonths: 12,
	}
	opened2019 = certification.CycleOpened{Year: 2019, Title: domain.LocalizedText{Ka: "სერტიფიცირება 2019", En: "Certification 2019"},
		Schedule: schedule2019, Rules: rules2019}

	appID = "2019-batumi"

	drafted   = certification.ApplicationDrafted{ID: appID, Year: 2019, Municipality: "batumi"}
	answered  = certification.AnswersSaved{ID: appID, Answers: map[string]string{"q1": "Since 2017, 2% of the budget.", "q2": "12 projects"}}
	submitted = certification.ApplicationSubmitted{ID: appID, On: "2019-03-20"}
	confirmed = certification.ProcessStartConfirmed{ID: appID}
	complete  = certification.CompletenessChecked{ID: appID, Complete: true}
	assignedA = certification.ExpertAssigned{ID: appID, Expert: expertA}
	assignedB = certification.ExpertAssigned{ID: appID, Expert: expertB}
	freeA     = certification.ConflictOfInterestDeclared{ID: appID, Expert: expertA}
	freeB     = certification.ConflictOfInterestDeclared{ID: appID, Expert: expertB}
)

const (
	expertA    = "key:expert-a"
	expertB    = "key:expert-b"
	expertC    = "key:expert-c#0000000000c3"
	consortium = "key:consortium"
)

func criterion(code string, weight int) certification.Criterion {
	return certification.Criterion{Code: code, Name: domain.LocalizedText{Ka: code, En: code}, Weight: weight, ScaleMin: 0, ScaleMax: 10}
}

// scores are the ScoreRecorded events of expert, for motivation, impact,
// decisions and development in that order.
func scores(expert string, values ...int) []domain.Event {
	codes := []string{"motivation", "impact", "decisions", "development"}
	var out []domain.Event
	for i, v := range values {
		out = append(out, certification.ScoreRecorded{ID: appID, Expert: expert, Criterion: codes[i], Score: v, Rationale: "seen in the report", RulesVersion: 1})
	}
	return out
}

// history joins event lists.
func history(parts ...[]domain.Event) []domain.Event {
	var out []domain.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Stages of one application's life, each the events up to it.
var (
	base         = []domain.Event{batumi, gori, opened2019, keyC, keyAnalyst}
	keyC         = access.KeyCreated{ID: "0000000000c3", Name: "expert-c", Role: domain.Expert, Hash: strings.Repeat("c", 64)}
	keyAnalyst   = access.KeyCreated{ID: "0000000000a1", Name: "analyst", Role: domain.Analyst, Hash: strings.Repeat("a", 64)}
	inDraft      = history(base, []domain.Event{drafted, answered})
	underReview  = history(inDraft, []domain.Event{submitted, confirmed, complete, assignedA, assignedB, freeA, freeB})
	scored       = history(underReview, scores(expertA, 8, 6, 7, 5), scores(expertB, 6, 8, 7, 7))
	scoredLow    = history(underReview, scores(expertA, 2, 2, 3, 2), scores(expertB, 3, 2, 2, 2))
	decisionYes  = certification.DecisionTaken{ID: appID, Certified: true, RulesVersion: 1, Recommendation: recommendYes, InputsDigest: digestYes}
	decided      = history(scored, []domain.Event{decisionYes})
	issued       = certification.CertificateIssued{ID: appID, Number: "CB-2019-BATUMI", ValidFrom: "2019-06-15", ValidUntil: "2020-06-14"}
	announced    = history(decided, []domain.Event{certification.ResultAnnounced{ID: appID, On: "2019-06-15"}, issued})
	recommendYes = certification.Recommendation{
		Certify: true, Score: 67,
		Criteria: map[string]float64{"motivation": 70, "impact": 70, "decisions": 70, "development": 60},
		Experts:  []string{expertA, expertB},
	}
	// digestYes is the digest (version v2) of the canonical inputs of the
	// scored stage (see TestInputsDigest).
	digestYes = "v2:a7038015c58d86744f4d91429414d1be25946b5359993f7b264fd794b89686cf"
	// digestYesV1 is the same inputs' digest as decisions recorded it
	// before digests had versions: bare hex, over encoding/json's output.
	digestYesV1 = "208a765a3ad5be08ae470c72a1e05ef16dd24d804ce66cce1b54b2180ad8994b"
)

// actor is who issues the command of a spec.
type actor struct {
	role         domain.Role
	id           string
	municipality string
}

var (
	asApplicant  = actor{domain.Applicant, "key:batumi", "batumi"}
	asOther      = actor{domain.Applicant, "key:gori", "gori"}
	asExpertA    = actor{domain.Expert, expertA, ""}
	asExpertB    = actor{domain.Expert, expertB, ""}
	asExpertC    = actor{domain.Expert, expertC, ""}
	asConsortium = actor{domain.Consortium, consortium, ""}
	asAdmin      = actor{domain.Admin, "key:admin", ""}
	asAnalyst    = actor{domain.Analyst, "key:analyst", ""}
	asAnonymous  = actor{domain.Anonymous, "", ""}
)

type spec struct {
	name  string
	given []domain.Event
	as    actor
	day   string // the command's day in Tbilisi
	when  any
	then  []domain.Event
	kind  domain.Kind
	text  string
}

func run(t *testing.T, specs []spec) {
	t.Helper()
	for _, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			svc := newService(t)
			given(t, svc.Repo, tc.given...)
			before, err := svc.Repo.Store.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = execute(ctx, svc, meta(t, tc.as, tc.day), tc.when)
			appended := appendedSince(t, svc, before)
			if tc.kind != "" {
				if domain.KindOf(err) != tc.kind || !strings.Contains(domain.MessageOf(err), tc.text) {
					t.Errorf("%T = error %v (kind %s), want kind %s containing %q", tc.when, err, domain.KindOf(err), tc.kind, tc.text)
				}
				if len(appended) != 0 {
					t.Errorf("%T failed but appended %+v; want nothing written", tc.when, appended)
				}
				return
			}
			if err != nil {
				t.Fatalf("%T = error %v (kind %s), want success", tc.when, err, domain.KindOf(err))
			}
			var want []recorded
			for _, e := range tc.then {
				want = append(want, recorded{Stream: streamOf(t, e), Event: e})
			}
			if diff := cmp.Diff(want, appended); diff != "" {
				t.Errorf("%T appended (-want +got):\n%s", tc.when, diff)
			}
		})
	}
}

type recorded struct {
	Stream string
	Event  domain.Event
}

func newService(t testing.TB) *certification.Service {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	access.RegisterEvents(types)
	certification.RegisterEvents(types)
	return &certification.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
}

// meta is the meta of a command by a at noon of day (2019-03-01 if "").
func meta(t testing.TB, a actor, day string) domain.Meta {
	t.Helper()
	if day == "" {
		day = "2019-03-01"
	}
	d, err := time.ParseInLocation("2006-01-02", day, domain.Tbilisi)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Meta{Actor: domain.Actor{ID: a.id, Role: a.role, Municipality: a.municipality}, CorrelationID: "test", Now: d.Add(12 * time.Hour)}
}

// streamOf names an event's stream, written out here so that a wrong
// stream name in the package fails a test.
func streamOf(t testing.TB, e domain.Event) string {
	t.Helper()
	switch e := e.(type) {
	case registry.MunicipalityRegistered:
		return "municipality-" + e.Code
	case access.KeyCreated:
		return "apikey-" + e.ID
	case access.KeyRevoked:
		return "apikey-" + e.ID
	case certification.CycleOpened:
		return "cycle-" + strconv.Itoa(e.Year)
	case certification.CycleRulesChanged:
		return "cycle-" + strconv.Itoa(e.Year)
	case certification.MunicipalityNominated:
		return "cycle-" + strconv.Itoa(e.Year)
	}
	// Every application event has its ID first.
	id := appIDOf(e)
	if id == "" {
		t.Fatalf("streamOf: unknown event %T", e)
	}
	return "application-" + id
}

func appIDOf(e domain.Event) string {
	switch e := e.(type) {
	case certification.ApplicationDrafted:
		return e.ID
	case certification.AnswersSaved:
		return e.ID
	case certification.ApplicationSubmitted:
		return e.ID
	case certification.ApplicationWithdrawn:
		return e.ID
	case certification.ProcessStartConfirmed:
		return e.ID
	case certification.CompletenessChecked:
		return e.ID
	case certification.InformationRequested:
		return e.ID
	case certification.InformationProvided:
		return e.ID
	case certification.MaterialChangeReported:
		return e.ID
	case certification.ExpertAssigned:
		return e.ID
	case certification.ConflictOfInterestDeclared:
		return e.ID
	case certification.ScoreRecorded:
		return e.ID
	case certification.ScoreRevised:
		return e.ID
	case certification.DecisionTaken:
		return e.ID
	case certification.ResultAnnounced:
		return e.ID
	case certification.CertificateIssued:
		return e.ID
	case certification.CertificateAwarded:
		return e.ID
	case certification.CertificateRevoked:
		return e.ID
	}
	return ""
}

// given appends events to their streams, as the system would have.
func given(t testing.TB, repo *domain.Repository, events ...domain.Event) {
	t.Helper()
	versions := map[string]int64{}
	for _, e := range events {
		stream := streamOf(t, e)
		res, err := repo.Save(context.Background(), stream, versions[stream],
			domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, Now: time.Now()}, e)
		if err != nil {
			t.Fatalf("given %s: %v", stream, err)
		}
		versions[stream] = res.Version
	}
}

func appendedSince(t testing.TB, svc *certification.Service, after int64) []recorded {
	t.Helper()
	stored, err := svc.Repo.Store.ReadAll(context.Background(), after, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	var out []recorded
	for _, se := range stored {
		e, err := svc.Repo.Types.Decode(se)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recorded{Stream: se.Stream, Event: e})
	}
	return out
}

func execute(ctx context.Context, svc *certification.Service, m domain.Meta, cmd any) (eventstore.AppendResult, error) {
	switch c := cmd.(type) {
	case certification.OpenCycle:
		return svc.OpenCycle(ctx, m, c)
	case certification.ChangeRules:
		return svc.ChangeRules(ctx, m, c)
	case certification.Nominate:
		return svc.Nominate(ctx, m, c)
	case certification.DraftApplication:
		return svc.DraftApplication(ctx, m, c)
	case certification.SaveAnswers:
		return svc.SaveAnswers(ctx, m, c)
	case certification.Submit:
		return svc.Submit(ctx, m, c)
	case certification.Withdraw:
		return svc.Withdraw(ctx, m, c)
	case certification.ConfirmStart:
		return svc.ConfirmStart(ctx, m, c)
	case certification.CheckCompleteness:
		return svc.CheckCompleteness(ctx, m, c)
	case certification.RequestInformation:
		return svc.RequestInformation(ctx, m, c)
	case certification.ProvideInformation:
		return svc.ProvideInformation(ctx, m, c)
	case certification.ReportMaterialChange:
		return svc.ReportMaterialChange(ctx, m, c)
	case certification.AssignExpert:
		return svc.AssignExpert(ctx, m, c)
	case certification.DeclareConflict:
		return svc.DeclareConflict(ctx, m, c)
	case certification.Score:
		return svc.Score(ctx, m, c)
	case certification.DecideApplication:
		return svc.Decide(ctx, m, c)
	case announceCmd:
		return svc.Announce(ctx, m, certification.ApplicationCommand(c))
	case awardCmd:
		return svc.Award(ctx, m, certification.ApplicationCommand(c))
	case certification.Revoke:
		return svc.Revoke(ctx, m, c)
	}
	panic("execute: unknown command")
}

// announceCmd and awardCmd tell apart the two commands that take a bare
// ApplicationCommand.
type (
	announceCmd certification.ApplicationCommand
	awardCmd    certification.ApplicationCommand
)
