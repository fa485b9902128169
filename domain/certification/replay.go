package certification

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// Verdict is what replaying a decision finds.
type Verdict string

// The verdicts.
const (
	// Undecided: the application has no decision to replay.
	Undecided Verdict = "undecided"
	// Followed: the decision is what the recomputed recommendation says.
	Followed Verdict = "followed"
	// Overridden: the decision goes against the recomputed recommendation,
	// with the justification it recorded.
	Overridden Verdict = "overridden"
	// Mismatch: what the decision recorded (its recommendation or the
	// digest of its inputs) is not what its events give: the events were
	// altered, or the code computing recommendations changed. Either is
	// for a person to look into.
	Mismatch Verdict = "mismatch"
)

// Replay is the outcome of rebuilding an application up to its decision
// and recomputing the recommendation under the rules version the decision
// recorded.
type Replay struct {
	Verdict Verdict
	// Decision is the decision as recorded; nil when undecided.
	Decision *DecisionTaken
	// Rules are the rules version the decision recorded, as the cycle's
	// events hold it.
	Rules Rules
	// Recommendation and InputsDigest are recomputed from the events.
	Recommendation Recommendation
	InputsDigest   string
	// Problems list each difference behind a Mismatch.
	Problems []string
}

// ReplayDecision rebuilds the application from its events (in stream
// order) up to its decision, and the cycle from its events, then
// recomputes what the decision should have seen. It errs only on events
// that cannot be applied at all.
func ReplayDecision(cycle, application []domain.Event) (Replay, error) {
	var c Cycle
	for _, e := range cycle {
		if err := c.Apply(e); err != nil {
			return Replay{}, fmt.Errorf("replay the cycle: %w", err)
		}
	}
	var a Application
	var decision *DecisionTaken
	for _, e := range application {
		if d, ok := e.(DecisionTaken); ok {
			decision = &d
			break
		}
		if err := a.Apply(e); err != nil {
			return Replay{}, fmt.Errorf("replay the application: %w", err)
		}
	}
	if decision == nil {
		return Replay{Verdict: Undecided}, nil
	}
	r := Replay{Decision: decision}
	rules, ok := c.RulesVersion(decision.RulesVersion)
	if !ok {
		r.Verdict = Mismatch
		r.Problems = append(r.Problems, fmt.Sprintf("the decision names rules version %d, which the %d cycle does not have", decision.RulesVersion, c.year))
		return r, nil
	}
	r.Rules = rules
	done, _ := rules.complete(a.scores, a.scoringExperts())
	if len(done) == 0 {
		r.Verdict = Mismatch
		r.Problems = append(r.Problems, "no expert had scored every criterion before the decision")
		return r, nil
	}
	r.Recommendation = rules.Recommend(a.scores, done)
	// Recomputed under the digest version the decision recorded.
	digest, err := RecomputeInputsDigest(decision.InputsDigest, rules, a.scores, done)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else if digest != decision.InputsDigest {
		r.Problems = append(r.Problems, fmt.Sprintf("the inputs digest recomputed from the events is %s; the decision recorded %s", digest, decision.InputsDigest))
	}
	r.InputsDigest = digest
	if !reflect.DeepEqual(normalised(r.Recommendation), normalised(decision.Recommendation)) {
		r.Problems = append(r.Problems, fmt.Sprintf("the recommendation recomputed from the events is %s; the decision recorded %s",
			recommendationText(r.Recommendation), recommendationText(decision.Recommendation)))
	}
	switch {
	case len(r.Problems) > 0:
		r.Verdict = Mismatch
	case decision.Certified == r.Recommendation.Certify:
		r.Verdict = Followed
	default:
		r.Verdict = Overridden
	}
	return r, nil
}

// normalised makes two recommendations comparable: empty and nil lists
// are the same after a JSON round trip.
func normalised(r Recommendation) Recommendation {
	if len(r.Reasons) == 0 {
		r.Reasons = nil
	}
	if len(r.Experts) == 0 {
		r.Experts = nil
	}
	if len(r.Criteria) == 0 {
		r.Criteria = nil
	}
	return r
}

// Snapshot is an application's state as a reader sees it, at a moment of
// its history (see Application.Snapshot).
type Snapshot struct {
	ID           string
	Year         int
	Municipality string
	Status       Status
	Answers      map[string]string
	SubmittedOn  string
	Confirmed    bool
	// Completeness is "unchecked", "complete" or "incomplete".
	Completeness string
	Missing      []string
	OpenRequests []string
	// Experts are the assigned experts, sorted; Cleared those who
	// declared no conflict of interest, Conflicted those who declared one.
	Experts    []string
	Cleared    []string
	Conflicted []string
	// Version is the stream version the snapshot reflects.
	Version   int64
	Scores    Scores
	Decision  *DecisionTaken
	Announced bool
	// Certificate is nil when none was issued.
	Certificate *CertificateIssued
	Awarded     bool
	Revoked     bool
}

// Snapshot returns the application's state. Replayed over a prefix of
// the stream, it is the state at that moment.
func (a *Application) Snapshot() Snapshot {
	s := Snapshot{
		ID: a.id, Year: a.year, Municipality: a.municipality, Status: a.status,
		Answers: a.Answers(), SubmittedOn: a.submittedOn, Confirmed: a.confirmed,
		Completeness: "unchecked", Missing: slices.Clone(a.missing), OpenRequests: a.OpenRequests(),
		Scores: a.Scores(), Decision: a.decision, Announced: a.announced,
		Certificate: a.certificate, Awarded: a.awarded, Revoked: a.revoked,
	}
	if a.checked {
		s.Completeness = "incomplete"
		if a.complete {
			s.Completeness = "complete"
		}
	}
	for x, st := range a.experts {
		s.Experts = append(s.Experts, x)
		switch {
		case st.conflict:
			s.Conflicted = append(s.Conflicted, x)
		case st.declared:
			s.Cleared = append(s.Cleared, x)
		}
	}
	slices.Sort(s.Experts)
	slices.Sort(s.Cleared)
	slices.Sort(s.Conflicted)
	return s
}
