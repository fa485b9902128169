package benchmark

import (
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// MethodStream is the stream of the method's versions.
const MethodStream = "benchmark_method-main"

// RoundStream is a round's stream.
func RoundStream(id string) string { return "benchmark_round-" + id }

// ScorecardStream is the stream of a municipality's scores in a round.
func ScorecardStream(round, municipality string) string {
	return "benchmark_scorecard-" + round + "." + municipality
}

// Methods are the method's versions as their stream tells them.
type Methods struct{ versions []Method }

// Apply implements domain.Aggregate.
func (m *Methods) Apply(e domain.Event) error {
	p, ok := e.(MethodPublished)
	if !ok {
		return fmt.Errorf("benchmark method: unknown event %s", e.EventType())
	}
	m.versions = append(m.versions, p.Method)
	return nil
}

// Version returns version v, and false when there is none.
func (m *Methods) Version(v int) (Method, bool) {
	if v < 1 || v > len(m.versions) {
		return Method{}, false
	}
	return m.versions[v-1], true
}

// Latest returns the newest version's number, 0 before any.
func (m *Methods) Latest() int { return len(m.versions) }

// Round is a round as its stream tells it.
type Round struct {
	id             string
	year           int
	method         int
	municipalities []string
	schedule       Schedule
	shared         string
	published      *RoundPublished
}

// ID returns the round's ID, "" before it opened.
func (r *Round) ID() string { return r.id }

// Year returns the year the round judges.
func (r *Round) Year() int { return r.year }

// MethodVersion returns the method version the round is scored under.
func (r *Round) MethodVersion() int { return r.method }

// Municipalities returns the municipalities the round covers.
func (r *Round) Municipalities() []string { return r.municipalities }

// Published returns the published results, nil before publication.
func (r *Round) Published() *RoundPublished { return r.published }

// Apply implements domain.Aggregate.
func (r *Round) Apply(e domain.Event) error {
	switch e := e.(type) {
	case RoundOpened:
		if r.id != "" {
			return fmt.Errorf("round %s: opened twice", r.id)
		}
		*r = Round{id: e.ID, year: e.Year, method: e.MethodVersion, municipalities: e.Municipalities, schedule: e.Schedule}
	case PreliminaryShared:
		r.shared = e.On
	case RoundPublished:
		r.published = &e
	default:
		return fmt.Errorf("round %s: unknown event %s", r.id, e.EventType())
	}
	return nil
}

// assessing refuses a score or a self-assessment once the round's
// assessment is over: its preliminary results shared, or its assessment
// period ended; instead says what to do then.
func (r *Round) assessing(meta domain.Meta, instead string) error {
	switch {
	case r.shared != "":
		return domain.Errorf(domain.Conflict, "round %s's preliminary results were shared on %s: %s", r.id, r.shared, instead)
	case meta.Today() > r.schedule.AssessmentEnd:
		return domain.Errorf(domain.Conflict, "round %s's assessment ended on %s: %s once the preliminary results are shared", r.id, r.schedule.AssessmentEnd, instead)
	}
	return nil
}

// key names an indicator of one body.
type key struct {
	indicator string
	body      Body
}

// Scorecard is a municipality's scores in a round, as its stream tells
// them: the values at publication (scored, or revised by a contest's
// answer) and the values now (corrections after publication applied).
type Scorecard struct {
	round, municipality string
	atPublication       map[key]*float64
	current             map[key]*float64
	scored              map[key]bool
	contested           map[key]bool // open contests
	corrected           *Published   // the result the last correction recorded
	// reviewed: the last review accepted the scorecard and nothing was
	// scored since.
	reviewed bool
}

// Reviewed reports whether the scorecard's last review accepted it and
// nothing was scored since.
func (s *Scorecard) Reviewed() bool { return s.reviewed }

// Apply implements domain.Aggregate.
func (s *Scorecard) Apply(e domain.Event) error {
	if s.scored == nil {
		s.atPublication, s.current, s.scored, s.contested = map[key]*float64{}, map[key]*float64{}, map[key]bool{}, map[key]bool{}
	}
	switch e := e.(type) {
	case SelfAssessed:
		s.round, s.municipality = e.Round, e.Municipality
	case Scored:
		s.round, s.municipality = e.Round, e.Municipality
		k := key{e.Indicator, e.Body}
		s.atPublication[k], s.current[k], s.scored[k] = e.Value, e.Value, true
		s.reviewed = false
	case ScorecardReviewed:
		s.reviewed = e.Accepted
	case ScoreContested:
		s.contested[key{e.Indicator, e.Body}] = true
	case ContestAnswered:
		k := key{e.Indicator, e.Body}
		delete(s.contested, k)
		if !e.Kept {
			s.atPublication[k], s.current[k] = e.Value, e.Value
		}
	case ScoreCorrected:
		s.current[key{e.Indicator, e.Body}] = e.Value
		s.corrected = &e.Result
	default:
		return fmt.Errorf("scorecard %s/%s: unknown event %s", s.round, s.municipality, e.EventType())
	}
	return nil
}

// values returns the values of m, sorted, for Aggregate and the digest.
func values(m map[key]*float64) []Value {
	out := make([]Value, 0, len(m))
	for k, v := range m {
		out = append(out, Value{Indicator: k.indicator, Body: k.body, Value: v})
	}
	slices.SortFunc(out, func(a, b Value) int {
		if a.Indicator != b.Indicator {
			if a.Indicator < b.Indicator {
				return -1
			}
			return 1
		}
		if a.Body < b.Body {
			return -1
		}
		if a.Body > b.Body {
			return 1
		}
		return 0
	})
	return out
}

// OpenContests reports whether any contest awaits an answer.
func (s *Scorecard) OpenContests() bool { return len(s.contested) > 0 }

// AtPublication returns the values the round's publication takes.
func (s *Scorecard) AtPublication() []Value { return values(s.atPublication) }

// Current returns the values with corrections applied.
func (s *Scorecard) Current() []Value { return values(s.current) }
