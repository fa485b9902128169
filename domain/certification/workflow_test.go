package certification_test

import (
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/certification"
)

func TestOpenCycle(t *testing.T) {
	cmd := certification.OpenCycle{Year: 2019, Title: opened2019.Title, Schedule: schedule2019, Rules: rules2019}
	with := func(f func(*certification.OpenCycle)) certification.OpenCycle {
		c := cmd
		c.Rules.Criteria = append([]certification.Criterion(nil), cmd.Rules.Criteria...)
		f(&c)
		return c
	}
	run(t, []spec{
		{name: "opens", as: asAdmin, when: cmd, then: []domain.Event{opened2019}},
		{name: "twice", as: asAdmin, given: base, when: cmd, kind: domain.Conflict, text: "open already"},
		{name: "analyst", as: asAnalyst, when: cmd, kind: domain.Forbidden, text: "not allowed for role analyst"},
		{name: "anonymous", as: asAnonymous, when: cmd, kind: domain.Unauthenticated, text: "needs an API key"},
		{name: "dates out of order", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Schedule.ResultsDate = "2019-04-01" }),
			kind: domain.Invalid, text: "schedule.resultsDate: 2019-04-01 is before schedule.questionnaireDeadline"},
		{name: "call in another year", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Schedule.CallOpens = "2018-12-01" }),
			kind: domain.Invalid, text: "schedule.callOpens: 2018-12-01 is not in 2019"},
		{name: "not a date", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Schedule.CeremonyDate = "30.06.2019" }),
			kind: domain.Invalid, text: "schedule.ceremonyDate"},
		{name: "no criteria", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.Criteria = nil }),
			kind: domain.Invalid, text: "rules.criteria: at least one criterion"},
		{name: "criterion twice", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.Criteria[1].Code = "motivation" }),
			kind: domain.Invalid, text: `rules.criteria[1].code: "motivation" is given twice`},
		{name: "empty scale", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.Criteria[0].ScaleMax = 0 }),
			kind: domain.Invalid, text: "rules.criteria[0].scale"},
		{name: "no experts", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.ExpertsRequired = 0 }),
			kind: domain.Invalid, text: "rules.expertsRequired"},
		{name: "pass score over 100", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.PassScore = 101 }),
			kind: domain.Invalid, text: "rules.passScore"},
		{name: "no validity", as: asAdmin, when: with(func(c *certification.OpenCycle) { c.Rules.ValidityMonths = 0 }),
			kind: domain.Invalid, text: "rules.validityMonths"},
	})
}

func TestNominate(t *testing.T) {
	cmd := certification.Nominate{Year: 2019, Municipality: "gori", Reason: "runs a civic budget since 2017"}
	nominated := certification.MunicipalityNominated{Year: 2019, Municipality: "gori", Reason: cmd.Reason, By: "key:analyst"}
	run(t, []spec{
		{name: "any signed-in caller", as: asAnalyst, given: base, when: cmd, then: []domain.Event{nominated}},
		{name: "twice changes nothing", as: asAnalyst, given: history(base, []domain.Event{nominated}), when: cmd},
		{name: "anonymous", as: asAnonymous, given: base, when: cmd, kind: domain.Unauthenticated},
		{name: "before the call", as: asAnalyst, given: base, day: "2019-01-31", when: cmd, kind: domain.Conflict, text: "opens on 2019-02-01"},
		{name: "after the deadline", as: asAnalyst, given: base, day: "2019-04-01", when: cmd, kind: domain.Conflict, text: "deadline was 2019-03-31"},
		{name: "unknown municipality", as: asAnalyst, given: base, when: certification.Nominate{Year: 2019, Municipality: "atlantis", Reason: "x"},
			kind: domain.Invalid, text: `"atlantis" is not a municipality`},
		{name: "no reason", as: asAnalyst, given: base, when: certification.Nominate{Year: 2019, Municipality: "gori"}, kind: domain.Invalid, text: "reason: required"},
		{name: "no cycle", as: asAnalyst, given: []domain.Event{gori}, when: cmd, kind: domain.NotFound, text: "no cycle"},
	})
}

func TestApplication(t *testing.T) {
	draft := certification.DraftApplication{Year: 2019, Municipality: "batumi"}
	save := certification.SaveAnswers{ApplicationID: appID, Answers: map[string]string{"q1": "Since 2017, 3% of the budget."}}
	run(t, []spec{
		{name: "draft", as: asApplicant, given: base, when: draft, then: []domain.Event{drafted}},
		{name: "draft on the deadline", as: asApplicant, given: base, day: "2019-03-31", when: draft, then: []domain.Event{drafted}},
		{name: "draft before the call", as: asApplicant, given: base, day: "2019-01-15", when: draft, kind: domain.Conflict, text: "opens on 2019-02-01"},
		{name: "draft after the deadline", as: asApplicant, given: base, day: "2019-04-01", when: draft, kind: domain.Conflict, text: "deadline was 2019-03-31"},
		{name: "apply twice in a cycle", as: asApplicant, given: inDraft, when: draft, kind: domain.Conflict, text: "applied in 2019 already"},
		{name: "for another municipality", as: asOther, given: base, when: draft, kind: domain.Forbidden, text: "acts for gori, not batumi"},
		{name: "expert may not apply", as: asExpertA, given: base, when: draft, kind: domain.Forbidden},
		{name: "no cycle that year", as: asApplicant, given: base, when: certification.DraftApplication{Year: 2020, Municipality: "batumi"}, kind: domain.NotFound},

		{name: "save answers", as: asApplicant, given: inDraft, when: save,
			then: []domain.Event{certification.AnswersSaved{ID: appID, Answers: save.Answers}}},
		{name: "same answers change nothing", as: asApplicant, given: inDraft,
			when: certification.SaveAnswers{ApplicationID: appID, Answers: answered.Answers}},
		{name: "answers after the questionnaire deadline", as: asApplicant, given: inDraft, day: "2019-04-16", when: save,
			kind: domain.Conflict, text: "questionnaire deadline was 2019-04-15"},
		{name: "answers after submission", as: asApplicant, given: history(inDraft, []domain.Event{submitted}), when: save,
			kind: domain.Conflict, text: "report a material change instead"},
		{name: "answers of another municipality", as: asOther, given: inDraft, when: save, kind: domain.Forbidden},
		{name: "bad question code", as: asApplicant, given: inDraft,
			when: certification.SaveAnswers{ApplicationID: appID, Answers: map[string]string{"Q 1": "x"}}, kind: domain.Invalid, text: "answers.question"},
		{name: "unknown application", as: asApplicant, given: base, when: save, kind: domain.NotFound, text: "no application 2019-batumi"},
		{name: "malformed application ID", as: asApplicant, given: base,
			when: certification.Submit{ApplicationID: "batumi"}, kind: domain.Invalid, text: "applicationId"},

		{name: "submit", as: asApplicant, given: inDraft, day: "2019-03-20", when: certification.Submit{ApplicationID: appID},
			then: []domain.Event{submitted}},
		{name: "submit without answers", as: asApplicant, given: history(base, []domain.Event{drafted}),
			when: certification.Submit{ApplicationID: appID}, kind: domain.Conflict, text: "no answers"},
		{name: "submit after the deadline", as: asApplicant, given: inDraft, day: "2019-04-01",
			when: certification.Submit{ApplicationID: appID}, kind: domain.Conflict, text: "deadline was 2019-03-31"},
		{name: "submit twice", as: asApplicant, given: history(inDraft, []domain.Event{submitted}),
			when: certification.Submit{ApplicationID: appID}, kind: domain.Conflict, text: "is submitted, not a draft"},

		{name: "withdraw", as: asApplicant, given: underReview, when: certification.Withdraw{ApplicationID: appID, Reason: "council elections"},
			then: []domain.Event{certification.ApplicationWithdrawn{ID: appID, Reason: "council elections"}}},
		{name: "withdraw after the decision", as: asApplicant, given: decided, when: certification.Withdraw{ApplicationID: appID},
			kind: domain.Conflict, text: "cannot be withdrawn"},
		{name: "material change", as: asApplicant, given: underReview,
			when: certification.ReportMaterialChange{ApplicationID: appID, Description: "the PB budget was cut to 1%"},
			then: []domain.Event{certification.MaterialChangeReported{ID: appID, Description: "the PB budget was cut to 1%"}}},
		{name: "material change of a draft", as: asApplicant, given: inDraft,
			when: certification.ReportMaterialChange{ApplicationID: appID, Description: "x"}, kind: domain.Conflict, text: "is draft"},
	})
}

func TestEvaluation(t *testing.T) {
	submittedOnly := history(inDraft, []domain.Event{submitted})
	withRequest := history(scored, []domain.Event{certification.InformationRequested{ID: appID, RequestID: "1", Expert: expertA, Question: "How many citizens voted?"}})
	run(t, []spec{
		{name: "confirm the start", as: asConsortium, given: submittedOnly, when: certification.ConfirmStart{ApplicationID: appID},
			then: []domain.Event{confirmed}},
		{name: "confirm a draft", as: asConsortium, given: inDraft, when: certification.ConfirmStart{ApplicationID: appID},
			kind: domain.Conflict, text: "is draft"},
		{name: "applicant may not confirm", as: asApplicant, given: submittedOnly, when: certification.ConfirmStart{ApplicationID: appID},
			kind: domain.Forbidden},
		{name: "completeness before confirmation", as: asConsortium, given: submittedOnly,
			when: certification.CheckCompleteness{ApplicationID: appID, Complete: true}, kind: domain.Conflict, text: "confirm the start"},
		{name: "incomplete says what is missing", as: asConsortium, given: history(submittedOnly, []domain.Event{confirmed}),
			when: certification.CheckCompleteness{ApplicationID: appID, Missing: []string{" budget annex ", ""}},
			then: []domain.Event{certification.CompletenessChecked{ID: appID, Missing: []string{"budget annex"}}}},
		{name: "incomplete without what is missing", as: asConsortium, given: history(submittedOnly, []domain.Event{confirmed}),
			when: certification.CheckCompleteness{ApplicationID: appID}, kind: domain.Invalid, text: "missing"},

		{name: "assign", as: asConsortium, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: expertC},
			then: []domain.Event{certification.ExpertAssigned{ID: appID, Expert: expertC}}},
		{name: "assign an unknown key", as: asConsortium, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: "key:expert-d#0000000000d4"},
			kind: domain.Invalid, text: "no API key 0000000000d4 named expert-d"},
		{name: "assign a name that is not the key's", as: asConsortium, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: "key:expert-x#0000000000c3"},
			kind: domain.Invalid, text: "no API key 0000000000c3 named expert-x"},
		{name: "assign a key that is not an expert's", as: asConsortium, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: "key:analyst#0000000000a1"},
			kind: domain.Invalid, text: "is a analyst's, not an expert's"},
		{name: "assign a revoked expert", as: asConsortium,
			given: history(underReview, []domain.Event{access.KeyRevoked{ID: "0000000000c3"}}),
			when:  certification.AssignExpert{ApplicationID: appID, Expert: expertC}, kind: domain.Invalid, text: "is revoked"},
		{name: "assign by name alone", as: asConsortium, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: "expert-c"},
			kind: domain.Invalid, text: "not an expert's actor ID"},
		{name: "expert may not assign", as: asExpertA, given: underReview, when: certification.AssignExpert{ApplicationID: appID, Expert: expertC},
			kind: domain.Forbidden},
		{name: "declare a conflict", as: asExpertC, given: history(underReview, []domain.Event{certification.ExpertAssigned{ID: appID, Expert: expertC}}),
			when: certification.DeclareConflict{ApplicationID: appID, Conflict: true, Details: "worked for the city hall in 2018"},
			then: []domain.Event{certification.ConflictOfInterestDeclared{ID: appID, Expert: expertC, Conflict: true, Details: "worked for the city hall in 2018"}}},
		{name: "a conflict needs details", as: asExpertC, given: history(underReview, []domain.Event{certification.ExpertAssigned{ID: appID, Expert: expertC}}),
			when: certification.DeclareConflict{ApplicationID: appID, Conflict: true}, kind: domain.Invalid, text: "details"},
		{name: "declare when not assigned", as: asExpertC, given: underReview,
			when: certification.DeclareConflict{ApplicationID: appID}, kind: domain.Forbidden, text: "not assigned"},

		{name: "score", as: asExpertA, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 6, Rationale: "12 projects funded"},
			then: []domain.Event{certification.ScoreRecorded{ID: appID, Expert: expertA, Criterion: "impact", Score: 6, Rationale: "12 projects funded", RulesVersion: 1}}},
		{name: "score by an unassigned expert", as: asExpertC, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 6, Rationale: "x"}, kind: domain.Forbidden, text: "not assigned"},
		{name: "score before declaring", as: asExpertC, given: history(underReview, []domain.Event{certification.ExpertAssigned{ID: appID, Expert: expertC}}),
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 6, Rationale: "x"}, kind: domain.Forbidden, text: "must declare"},
		{name: "score by a conflicted expert", as: asExpertC,
			given: history(underReview, []domain.Event{certification.ExpertAssigned{ID: appID, Expert: expertC},
				certification.ConflictOfInterestDeclared{ID: appID, Expert: expertC, Conflict: true, Details: "x"}}),
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 6, Rationale: "x"}, kind: domain.Forbidden, text: "declared a conflict"},
		{name: "score over the scale", as: asExpertA, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 11, Rationale: "x"}, kind: domain.Invalid, text: "outside the scale of impact, 0 to 10"},
		{name: "score under the scale", as: asExpertA, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: -1, Rationale: "x"}, kind: domain.Invalid, text: "outside the scale"},
		{name: "unknown criterion", as: asExpertA, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "beauty", Score: 5, Rationale: "x"}, kind: domain.Invalid, text: `"beauty" is not a criterion`},
		{name: "score without a rationale", as: asExpertA, given: underReview,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 5}, kind: domain.Invalid, text: "rationale: required"},
		{name: "revise without a reason", as: asExpertA, given: scored,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 7, Rationale: "x"}, kind: domain.Invalid, text: "a revision needs a reason"},
		{name: "revise", as: asExpertA, given: scored,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 7, Rationale: "x", Reason: "the report's annex arrived"},
			then: []domain.Event{certification.ScoreRevised{ID: appID, Expert: expertA, Criterion: "impact", Score: 7, Rationale: "x", Reason: "the report's annex arrived", RulesVersion: 1}}},
		{name: "score after the decision", as: asExpertA, given: decided,
			when: certification.Score{ApplicationID: appID, Criterion: "impact", Score: 7, Rationale: "x", Reason: "late"}, kind: domain.Conflict, text: "is decided"},

		{name: "request information", as: asExpertA, given: scored,
			when: certification.RequestInformation{ApplicationID: appID, Question: "How many citizens voted?"},
			then: []domain.Event{certification.InformationRequested{ID: appID, RequestID: "1", Expert: expertA, Question: "How many citizens voted?"}}},
		{name: "provide information", as: asApplicant, given: withRequest,
			when: certification.ProvideInformation{ApplicationID: appID, RequestID: "1", Answer: "2,310"},
			then: []domain.Event{certification.InformationProvided{ID: appID, RequestID: "1", Answer: "2,310"}}},
		{name: "answer an unknown request", as: asApplicant, given: withRequest,
			when: certification.ProvideInformation{ApplicationID: appID, RequestID: "7", Answer: "x"}, kind: domain.NotFound, text: `no information request "7"`},
	})
}

func TestDecision(t *testing.T) {
	decide := certification.DecideApplication{ApplicationID: appID, Decide: certification.Decide{Certified: true}}
	against := certification.DecideApplication{ApplicationID: appID, Decide: certification.Decide{Certified: false}}
	onlyA := history(underReview, scores(expertA, 8, 6, 7, 5))
	partB := history(onlyA, scores(expertB, 6, 8))
	withRequest := history(scored, []domain.Event{certification.InformationRequested{ID: appID, RequestID: "1", Expert: expertA, Question: "q"}})
	answeredRequest := history(withRequest, []domain.Event{certification.InformationProvided{ID: appID, RequestID: "1", Answer: "a"}})
	incomplete := history(inDraft, []domain.Event{submitted, confirmed,
		certification.CompletenessChecked{ID: appID, Missing: []string{"budget annex"}}, assignedA, assignedB, freeA, freeB},
		scores(expertA, 8, 6, 7, 5), scores(expertB, 6, 8, 7, 7))
	unchecked := history(inDraft, []domain.Event{submitted, confirmed, assignedA, assignedB, freeA, freeB},
		scores(expertA, 8, 6, 7, 5), scores(expertB, 6, 8, 7, 7))
	// Rules version 2 needs three experts.
	rules2 := rules2019
	rules2.Version, rules2.ExpertsRequired = 2, 3
	changed := certification.CycleRulesChanged{Year: 2019, Rules: rules2, Reason: "a third expert for every city"}
	run(t, []spec{
		{name: "as recommended", as: asConsortium, given: scored, when: decide, then: []domain.Event{decisionYes}},
		{name: "answered requests do not block", as: asConsortium, given: answeredRequest, when: decide, then: []domain.Event{decisionYes}},
		{name: "applicant may not decide", as: asApplicant, given: scored, when: decide, kind: domain.Forbidden},
		{name: "expert may not decide", as: asExpertA, given: scored, when: decide, kind: domain.Forbidden},
		{name: "before the required scores", as: asConsortium, given: onlyA, when: decide,
			kind: domain.Conflict, text: "1 of the 2 experts required have scored every criterion"},
		{name: "with a score missing", as: asConsortium, given: partB, when: decide,
			kind: domain.Conflict, text: "key:expert-b has not scored decisions, development"},
		{name: "while information is requested", as: asConsortium, given: withRequest, when: decide,
			kind: domain.Conflict, text: "open information requests (1)"},
		{name: "incomplete", as: asConsortium, given: incomplete, when: decide, kind: domain.Conflict, text: "incomplete (budget annex)"},
		{name: "completeness not checked", as: asConsortium, given: unchecked, when: decide, kind: domain.Conflict, text: "completeness has not been checked"},
		{name: "against the recommendation without justification", as: asConsortium, given: scored, when: against,
			kind: domain.Invalid, text: "justification: the decision goes against the recommendation (certify, weighted score 67.00)"},
		{name: "against the recommendation with justification", as: asConsortium, given: scored,
			when: certification.DecideApplication{ApplicationID: appID, Decide: certification.Decide{Certified: false, Justification: "the PB budget was cut after scoring"}},
			then: []domain.Event{certification.DecisionTaken{ID: appID, Certified: false, RulesVersion: 1, Recommendation: recommendYes,
				Justification: "the PB budget was cut after scoring", InputsDigest: digestYes}}},
		{name: "low scores recommend against", as: asConsortium, given: scoredLow, when: decide,
			kind: domain.Invalid, text: "do not certify: criterion motivation scores 25.00, under the minimum 30.00"},
		{name: "rules changed after scoring apply to the decision", as: asConsortium,
			given: history(scored, []domain.Event{changed}), when: decide, kind: domain.Conflict, text: "2 of the 3 experts required"},
		{name: "decided twice", as: asConsortium, given: decided, when: decide, kind: domain.Conflict, text: "is decided"},
		{name: "on the version the consortium saw", as: asConsortium, given: scored,
			when: certification.DecideApplication{ApplicationID: appID, ExpectedVersion: 17, Decide: certification.Decide{Certified: true}},
			then: []domain.Event{decisionYes}},
		{name: "on a stale version", as: asConsortium, given: scored,
			when: certification.DecideApplication{ApplicationID: appID, ExpectedVersion: 16, Decide: certification.Decide{Certified: true}},
			kind: domain.Conflict, text: "is at version 17, not 16 as expected"},
		{name: "a negative version", as: asConsortium, given: scored,
			when: certification.DecideApplication{ApplicationID: appID, ExpectedVersion: -1, Decide: certification.Decide{Certified: true}},
			kind: domain.Invalid, text: "expectedVersion"},
		{name: "recommendations must have Georgian", as: asConsortium, given: scored,
			when: certification.DecideApplication{ApplicationID: appID, Decide: certification.Decide{Certified: true,
				Recommendations: []domain.LocalizedText{{En: "publish the votes"}}}},
			kind: domain.Invalid, text: "recommendations[0]"},
	})
}

func TestCertificate(t *testing.T) {
	announce := announceCmd{ApplicationID: appID}
	award := awardCmd{ApplicationID: appID}
	noDecision := history(scored, []domain.Event{certification.DecisionTaken{ID: appID, Certified: false, RulesVersion: 1,
		Recommendation: recommendYes, Justification: "j", InputsDigest: digestYes}})
	// Rules version 2, made after the decision, gives six months.
	rules2 := rules2019
	rules2.Version, rules2.ValidityMonths = 2, 6
	changedAfter := history(decided, []domain.Event{certification.CycleRulesChanged{Year: 2019, Rules: rules2, Reason: "shorter"}})
	run(t, []spec{
		{name: "announce a certification", as: asConsortium, given: decided, day: "2019-06-15", when: announce,
			then: []domain.Event{certification.ResultAnnounced{ID: appID, On: "2019-06-15"}, issued}},
		{name: "a rule change after the decision does not touch it", as: asConsortium, given: changedAfter, day: "2019-06-15", when: announce,
			then: []domain.Event{certification.ResultAnnounced{ID: appID, On: "2019-06-15"}, issued}},
		{name: "announce a refusal: no certificate", as: asConsortium, given: noDecision, day: "2019-06-20", when: announce,
			then: []domain.Event{certification.ResultAnnounced{ID: appID, On: "2019-06-20"}}},
		{name: "announce before the results date", as: asConsortium, given: decided, day: "2019-06-14", when: announce,
			kind: domain.Conflict, text: "announced from 2019-06-15"},
		{name: "no certificate without a decision", as: asConsortium, given: scored, day: "2019-06-15", when: announce,
			kind: domain.Conflict, text: "no decision to announce"},
		{name: "announced twice changes nothing", as: asConsortium, given: announced, day: "2019-06-16", when: announce},
		{name: "award at the ceremony", as: asConsortium, given: announced, day: "2019-06-30", when: award,
			then: []domain.Event{certification.CertificateAwarded{ID: appID, On: "2019-06-30"}}},
		{name: "award before the ceremony", as: asConsortium, given: announced, day: "2019-06-29", when: award,
			kind: domain.Conflict, text: "ceremony on 2019-06-30"},
		{name: "award without a certificate", as: asConsortium, given: decided, day: "2019-06-30", when: award,
			kind: domain.Conflict, text: "no certificate to award"},
		{name: "revoke", as: asConsortium, given: announced, day: "2019-09-01",
			when: certification.Revoke{ApplicationID: appID, Reason: "the civic budget was abolished"},
			then: []domain.Event{certification.CertificateRevoked{ID: appID, On: "2019-09-01", Reason: "the civic budget was abolished"}}},
		{name: "revoke without a reason", as: asConsortium, given: announced, day: "2019-09-01",
			when: certification.Revoke{ApplicationID: appID}, kind: domain.Invalid, text: "reason: required"},
		{name: "revoke an expired certificate", as: asConsortium, given: announced, day: "2020-06-15",
			when: certification.Revoke{ApplicationID: appID, Reason: "x"}, kind: domain.Conflict, text: "expired on 2020-06-14"},
		{name: "analyst may not revoke", as: asAnalyst, given: announced, day: "2019-09-01",
			when: certification.Revoke{ApplicationID: appID, Reason: "x"}, kind: domain.Forbidden},
	})
}
