package certification

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
)

// Criterion is one thing the experts score, on a scale of whole points.
type Criterion struct {
	// Code names the criterion in scores and in later rule versions:
	// "motivation", "impact".
	Code     string               `json:"code"`
	Name     domain.LocalizedText `json:"name"`
	Guidance domain.LocalizedText `json:"guidance"`
	// Weight is the criterion's share of the total, relative to the other
	// criteria's weights.
	Weight int `json:"weight"`
	// ScaleMin and ScaleMax bound a score, both included.
	ScaleMin int `json:"scale_min"`
	ScaleMax int `json:"scale_max"`
}

// Rules are what a cycle judges applications by. They are data recorded
// in the cycle's events, never constants in code: the programme does not
// publish its weights and thresholds, and changes them between years.
// Every change makes a new version; a decision records the version it was
// taken under, so a later change never alters it.
type Rules struct {
	// Version counts from 1 within a cycle.
	Version  int         `json:"version"`
	Criteria []Criterion `json:"criteria"`
	// ExpertsRequired is how many assigned experts, free of conflicts of
	// interest, must have scored every criterion before a decision.
	ExpertsRequired int `json:"experts_required"`
	// PassScore is the weighted score, from 0 to 100, at or above which
	// the recommendation is to certify.
	PassScore float64 `json:"pass_score"`
	// CriterionMinimum, from 0 to 100, is the least each criterion's own
	// score may be for a recommendation to certify; 0 sets no minimum.
	CriterionMinimum float64 `json:"criterion_minimum"`
	// ValidityMonths is how long a certificate is valid (12 by default).
	ValidityMonths int `json:"validity_months"`
}

// Limits on rules, generous for a programme of a handful of criteria.
const (
	maxCriteria = 30
	maxExperts  = 20
	maxScale    = 1000
	maxValidity = 60
)

// criterion returns the criterion with code, and whether there is one.
func (r Rules) criterion(code string) (Criterion, bool) {
	i := slices.IndexFunc(r.Criteria, func(c Criterion) bool { return c.Code == code })
	if i < 0 {
		return Criterion{}, false
	}
	return r.Criteria[i], true
}

// validate checks rules as a cycle records them, reporting every invalid
// field at once. field names the input.
func (r Rules) validate(field string) error {
	var p domain.Problems
	if len(r.Criteria) == 0 {
		p.Add(invalid(field+".criteria", "at least one criterion is required"))
	}
	if len(r.Criteria) > maxCriteria {
		return invalid(field+".criteria", "%d criteria, over the limit of %d", len(r.Criteria), maxCriteria)
	}
	seen := map[string]bool{}
	for i, c := range r.Criteria {
		f := fmt.Sprintf("%s.criteria[%d]", field, i)
		if p.Add(checkCode(f+".code", c.Code)) && seen[c.Code] {
			p.Add(invalid(f+".code", "%q is given twice", c.Code))
		}
		seen[c.Code] = true
		p.Add(c.Name.Validate(f + ".name"))
		if utf8.RuneCountInString(c.Guidance.Ka) > maxText || utf8.RuneCountInString(c.Guidance.En) > maxText {
			p.Add(invalid(f+".guidance", "over %d characters", maxText))
		}
		if c.Weight < 1 || c.Weight > 100 {
			p.Add(invalid(f+".weight", "%d: a weight is a whole number from 1 to 100", c.Weight))
		}
		if c.ScaleMin < 0 || c.ScaleMax > maxScale || c.ScaleMin >= c.ScaleMax {
			p.Add(invalid(f+".scale", "%d to %d: the scale needs 0 <= min < max <= %d", c.ScaleMin, c.ScaleMax, maxScale))
		}
	}
	if r.ExpertsRequired < 1 || r.ExpertsRequired > maxExperts {
		p.Add(invalid(field+".expertsRequired", "%d: from 1 to %d experts", r.ExpertsRequired, maxExperts))
	}
	if math.IsNaN(r.PassScore) || r.PassScore <= 0 || r.PassScore > 100 {
		p.Add(invalid(field+".passScore", "%v: a pass score is above 0 and at most 100", r.PassScore))
	}
	if math.IsNaN(r.CriterionMinimum) || r.CriterionMinimum < 0 || r.CriterionMinimum > 100 {
		p.Add(invalid(field+".criterionMinimum", "%v: a minimum is from 0 to 100", r.CriterionMinimum))
	}
	if r.ValidityMonths < 1 || r.ValidityMonths > maxValidity {
		p.Add(invalid(field+".validityMonths", "%d: from 1 to %d months", r.ValidityMonths, maxValidity))
	}
	return p.Err()
}

// Scores are the current scores of an application: by expert, then by
// criterion code.
type Scores map[string]map[string]int

// Recommendation is what the rules make of an application's scores.
type Recommendation struct {
	Certify bool `json:"certify"`
	// Score is the weighted score, 0 to 100, rounded to two decimals.
	Score float64 `json:"score"`
	// Criteria are each criterion's score, 0 to 100: the experts' mean,
	// placed on its scale.
	Criteria map[string]float64 `json:"criteria"`
	// Experts are the experts whose scores counted, sorted.
	Experts []string `json:"experts"`
	// Reasons say why the recommendation is not to certify.
	Reasons []string `json:"reasons,omitempty"`
}

// Recommend computes the recommendation from the scores of experts (each
// of whom must have scored every criterion; see complete). It is a pure
// function of the rules and the scores, so an auditor recomputes the same
// result from the events years later.
func (r Rules) Recommend(scores Scores, experts []string) Recommendation {
	experts = slices.Sorted(slices.Values(experts))
	rec := Recommendation{Criteria: map[string]float64{}, Experts: experts}
	var total, weights float64
	for _, c := range r.Criteria {
		var sum float64
		for _, x := range experts {
			sum += float64(scores[x][c.Code])
		}
		mean := sum / float64(len(experts))
		norm := 100 * (mean - float64(c.ScaleMin)) / float64(c.ScaleMax-c.ScaleMin)
		rec.Criteria[c.Code] = round2(norm)
		total += norm * float64(c.Weight)
		weights += float64(c.Weight)
		if r.CriterionMinimum > 0 && round2(norm) < r.CriterionMinimum {
			rec.Reasons = append(rec.Reasons, fmt.Sprintf("criterion %s scores %.2f, under the minimum %.2f", c.Code, round2(norm), r.CriterionMinimum))
		}
	}
	rec.Score = round2(total / weights)
	if rec.Score < r.PassScore {
		rec.Reasons = append(rec.Reasons, fmt.Sprintf("the weighted score %.2f is under the pass score %.2f", rec.Score, r.PassScore))
	}
	rec.Certify = len(rec.Reasons) == 0
	return rec
}

// Preview is what the rules make of the scores so far, before a decision:
// the experts (of cleared, those assigned without a conflict) who have
// scored every criterion, and the recommendation once there are as many
// as the rules require (nil before).
func (r Rules) Preview(scores Scores, cleared []string) (complete []string, rec *Recommendation) {
	complete, _ = r.complete(scores, cleared)
	if len(complete) >= r.ExpertsRequired && len(complete) > 0 {
		rr := r.Recommend(scores, complete)
		rec = &rr
	}
	return complete, rec
}

// complete returns the experts (from those given) who scored every
// criterion of the rules, and describes what is missing for the others.
func (r Rules) complete(scores Scores, experts []string) (done []string, missing []string) {
	for _, x := range slices.Sorted(slices.Values(experts)) {
		var lack []string
		for _, c := range r.Criteria {
			if _, ok := scores[x][c.Code]; !ok {
				lack = append(lack, c.Code)
			}
		}
		if len(lack) == 0 {
			done = append(done, x)
		} else {
			missing = append(missing, fmt.Sprintf("%s has not scored %s", x, strings.Join(lack, ", ")))
		}
	}
	return done, missing
}

// round2 rounds to two decimals, so that a recommendation reads the same
// wherever it is recomputed.
func round2(f float64) float64 { return math.Round(f*100) / 100 }
