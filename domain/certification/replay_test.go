package certification_test

import (
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/certification"
)

// TestReplayDecision replays decisions that followed the recommendation,
// went against it, and were tampered with afterwards in three ways.
func TestReplayDecision(t *testing.T) {
	cycle := []domain.Event{opened2019}
	overridden := certification.DecisionTaken{ID: appID, Certified: false, RulesVersion: 1, Recommendation: recommendYes,
		Justification: "the PB budget was cut after scoring", InputsDigest: digestYes}
	// A score edited in the log after the decision: expert A's impact 6
	// became 9.
	tampered := history(underReview, scores(expertA, 8, 9, 7, 5), scores(expertB, 6, 8, 7, 7), []domain.Event{decisionYes})
	// The decision's own record edited: its recommendation's score.
	edited := decisionYes
	edited.Recommendation.Score = 71
	rules2 := rules2019
	rules2.Version = 2
	tests := []struct {
		name     string
		cycle    []domain.Event
		app      []domain.Event
		verdict  certification.Verdict
		problems []string
	}{
		{"followed", cycle, decided[len(base):], certification.Followed, nil},
		{"overridden", cycle, history(scored[len(base):], []domain.Event{overridden}), certification.Overridden, nil},
		{"undecided", cycle, scored[len(base):], certification.Undecided, nil},
		{"a score altered after the decision", cycle, tampered[len(base):], certification.Mismatch,
			[]string{"inputs digest recomputed", "recommendation recomputed from the events is certify, weighted score 70.00"}},
		{"the recorded recommendation altered", cycle, history(scored[len(base):], []domain.Event{edited}), certification.Mismatch,
			[]string{"recommendation recomputed from the events is certify, weighted score 67.00; the decision recorded certify, weighted score 71.00"}},
		{"a rules version the cycle lacks", cycle, history(scored[len(base):], []domain.Event{func() certification.DecisionTaken {
			d := decisionYes
			d.RulesVersion = 2
			return d
		}()}), certification.Mismatch, []string{"rules version 2, which the 2019 cycle does not have"}},
		{"a decision recorded with a legacy digest", cycle, history(scored[len(base):], []domain.Event{func() certification.DecisionTaken {
			d := decisionYes
			d.InputsDigest = digestYesV1
			return d
		}()}), certification.Followed, nil},
		{"rules changed after the decision do not matter", append(cycle, certification.CycleRulesChanged{Year: 2019, Rules: rules2, Reason: "r"}),
			decided[len(base):], certification.Followed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := certification.ReplayDecision(tt.cycle, tt.app)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s (problems %q); want %s", r.Verdict, r.Problems, tt.verdict)
			}
			if len(r.Problems) != len(tt.problems) {
				t.Fatalf("problems %q; want %d containing %q", r.Problems, len(tt.problems), tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.Contains(r.Problems[i], p) {
					t.Errorf("problem %d is %q; want it to contain %q", i, r.Problems[i], p)
				}
			}
			if tt.verdict == certification.Followed && (r.InputsDigest != r.Decision.InputsDigest || r.Recommendation.Score != 67) {
				t.Errorf("recomputed digest %s and score %v; want the recorded %s and 67", r.InputsDigest, r.Recommendation.Score, r.Decision.InputsDigest)
			}
		})
	}
}
