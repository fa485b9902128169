package certification_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/google/go-cmp/cmp"
)

// TestInputsDigest pins the form an auditor recomputes a decision's digest
// from: SHA-256 of this RFC 8785 JSON, written out by hand (keys sorted,
// no white space), behind the version.
func TestInputsDigest(t *testing.T) {
	crit := func(code string, weight string) string {
		return `{"code":"` + code + `","scale_max":10,"scale_min":0,"weight":` + weight + `}`
	}
	canonical := `{"experts":["key:expert-a","key:expert-b"],` +
		`"rules":{"criteria":[` + strings.Join([]string{crit("motivation", "3"), crit("impact", "2"), crit("decisions", "2"), crit("development", "3")}, ",") +
		`],"criterion_minimum":30,"experts_required":2,"pass_score":60,"validity_months":12,"version":1},` +
		`"scores":{"key:expert-a":{"decisions":7,"development":5,"impact":6,"motivation":8},` +
		`"key:expert-b":{"decisions":7,"development":7,"impact":8,"motivation":6}}}`
	sum := sha256.Sum256([]byte(canonical))
	want := "v2:" + hex.EncodeToString(sum[:])
	got, err := certification.InputsDigest(rules2019, scoresYes(), []string{expertB, expertA})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || want != digestYes {
		t.Fatalf("InputsDigest = %s; the hand-written canonical form hashes to %s, the fixture says %s", got, want, digestYes)
	}
	// Recomputed under the version recorded: the same.
	if again, err := certification.RecomputeInputsDigest(got, rules2019, scoresYes(), []string{expertA, expertB}); err != nil || again != got {
		t.Fatalf("RecomputeInputsDigest(%s) = %s, %v", got, again, err)
	}
}

// TestLegacyInputsDigest: a digest recorded before versions (bare hex,
// SHA-256 of encoding/json's output, pinned here by hand) recomputes to
// itself, so the decisions already recorded keep verifying.
func TestLegacyInputsDigest(t *testing.T) {
	crit := func(code string, weight string) string {
		return `{"code":"` + code + `","name":{"ka":"` + code + `","en":"` + code + `"},"guidance":{"ka":""},"weight":` + weight + `,"scale_min":0,"scale_max":10}`
	}
	legacy := `{"rules":{"version":1,"criteria":[` +
		strings.Join([]string{crit("motivation", "3"), crit("impact", "2"), crit("decisions", "2"), crit("development", "3")}, ",") +
		`],"experts_required":2,"pass_score":60,"criterion_minimum":30,"validity_months":12},` +
		`"experts":["key:expert-a","key:expert-b"],` +
		`"scores":{"key:expert-a":{"decisions":7,"development":5,"impact":6,"motivation":8},` +
		`"key:expert-b":{"decisions":7,"development":7,"impact":8,"motivation":6}}}`
	sum := sha256.Sum256([]byte(legacy))
	if hex.EncodeToString(sum[:]) != digestYesV1 {
		t.Fatalf("the hand-written legacy form hashes to %x; the fixture says %s", sum, digestYesV1)
	}
	got, err := certification.RecomputeInputsDigest(digestYesV1, rules2019, scoresYes(), []string{expertB, expertA})
	if err != nil || got != digestYesV1 {
		t.Fatalf("RecomputeInputsDigest(legacy) = %s, %v; want %s", got, err, digestYesV1)
	}
	for _, bad := range []string{"", "v2:zz", "v9:" + strings.Repeat("0", 64), strings.Repeat("A", 64)} {
		if _, err := certification.RecomputeInputsDigest(bad, rules2019, scoresYes(), []string{expertA}); err == nil {
			t.Errorf("RecomputeInputsDigest(%q) succeeded; want an error", bad)
		}
	}
}

// scoresYes are the scored stage's scores, with an expert who did not
// count (left out of every digest).
func scoresYes() certification.Scores {
	return certification.Scores{
		expertA: {"motivation": 8, "impact": 6, "decisions": 7, "development": 5},
		expertB: {"motivation": 6, "impact": 8, "decisions": 7, "development": 7},
		expertC: {"motivation": 1},
	}
}

func TestRecommend(t *testing.T) {
	tests := []struct {
		name   string
		scores certification.Scores
		want   certification.Recommendation
	}{
		{"certify", certification.Scores{
			expertA: {"motivation": 8, "impact": 6, "decisions": 7, "development": 5},
			expertB: {"motivation": 6, "impact": 8, "decisions": 7, "development": 7},
		}, recommendYes},
		{"exactly the pass score", certification.Scores{
			expertA: {"motivation": 6, "impact": 6, "decisions": 6, "development": 6},
			expertB: {"motivation": 6, "impact": 6, "decisions": 6, "development": 6},
		}, certification.Recommendation{Certify: true, Score: 60,
			Criteria: map[string]float64{"motivation": 60, "impact": 60, "decisions": 60, "development": 60}, Experts: []string{expertA, expertB}}},
		{"high total, one criterion under the minimum", certification.Scores{
			expertA: {"motivation": 10, "impact": 10, "decisions": 10, "development": 2},
			expertB: {"motivation": 10, "impact": 10, "decisions": 10, "development": 3},
		}, certification.Recommendation{Certify: false, Score: 77.5,
			Criteria: map[string]float64{"motivation": 100, "impact": 100, "decisions": 100, "development": 25}, Experts: []string{expertA, expertB},
			Reasons: []string{"criterion development scores 25.00, under the minimum 30.00"}}},
		{"under the pass score", certification.Scores{
			expertA: {"motivation": 5, "impact": 5, "decisions": 5, "development": 5},
			expertB: {"motivation": 6, "impact": 6, "decisions": 6, "development": 6},
		}, certification.Recommendation{Certify: false, Score: 55,
			Criteria: map[string]float64{"motivation": 55, "impact": 55, "decisions": 55, "development": 55}, Experts: []string{expertA, expertB},
			Reasons: []string{"the weighted score 55.00 is under the pass score 60.00"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rules2019.Recommend(tt.scores, []string{expertB, expertA})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Recommend (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventNames holds every event to its stored name, which outlives the
// Go type, and checks that each decodes back to the value saved.
func TestEventNames(t *testing.T) {
	names := map[string]domain.Event{
		"certification.cycle_opened":                  opened2019,
		"certification.cycle_rules_changed":           certification.CycleRulesChanged{Year: 2019, Rules: rules2019, Reason: "r"},
		"certification.municipality_nominated":        certification.MunicipalityNominated{Year: 2019, Municipality: "gori", Reason: "r", By: "key:a"},
		"certification.application_drafted":           drafted,
		"certification.answers_saved":                 answered,
		"certification.application_submitted":         submitted,
		"certification.application_withdrawn":         certification.ApplicationWithdrawn{ID: appID, Reason: "r"},
		"certification.process_start_confirmed":       confirmed,
		"certification.completeness_checked":          certification.CompletenessChecked{ID: appID, Missing: []string{"annex"}},
		"certification.information_requested":         certification.InformationRequested{ID: appID, RequestID: "1", Expert: expertA, Question: "q"},
		"certification.information_provided":          certification.InformationProvided{ID: appID, RequestID: "1", Answer: "a"},
		"certification.material_change_reported":      certification.MaterialChangeReported{ID: appID, Description: "d"},
		"certification.expert_assigned":               assignedA,
		"certification.conflict_of_interest_declared": certification.ConflictOfInterestDeclared{ID: appID, Expert: expertC, Conflict: true, Details: "d"},
		"certification.score_recorded":                scores(expertA, 8)[0],
		"certification.score_revised":                 certification.ScoreRevised{ID: appID, Expert: expertA, Criterion: "impact", Score: 7, Rationale: "x", Reason: "y", RulesVersion: 1},
		"certification.decision_taken": certification.DecisionTaken{ID: appID, Certified: true, RulesVersion: 1, Recommendation: recommendYes,
			Recommendations: []domain.LocalizedText{{Ka: "ა", En: "a"}}, Progress: domain.LocalizedText{Ka: "ბ"}, InputsDigest: digestYes},
		"certification.result_announced":    certification.ResultAnnounced{ID: appID, On: "2019-06-15"},
		"certification.certificate_issued":  issued,
		"certification.certificate_awarded": certification.CertificateAwarded{ID: appID, On: "2019-06-30"},
		"certification.certificate_revoked": certification.CertificateRevoked{ID: appID, On: "2019-09-01", Reason: "r"},
	}
	svc := newService(t)
	var all []domain.Event
	for name, e := range names {
		if e.EventType() != name {
			t.Errorf("%T is stored as %s, want %s", e, e.EventType(), name)
		}
		all = append(all, e)
	}
	given(t, svc.Repo, all...)
	stored := appendedSince(t, svc, 0)
	if len(stored) != len(names) {
		t.Fatalf("%d events stored, want %d", len(stored), len(names))
	}
	for _, r := range stored {
		if diff := cmp.Diff(names[r.Event.EventType()], r.Event); diff != "" {
			t.Errorf("%s decoded (-saved +decoded):\n%s", r.Event.EventType(), diff)
		}
	}
}
