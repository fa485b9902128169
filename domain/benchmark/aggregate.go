package benchmark

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// Value is an indicator's value for one body of a municipality; a nil
// Value is no data (a computed indicator with nothing to compute from, a
// question nobody could answer), which is never taken as zero.
type Value struct {
	Indicator string
	// Body is CityHall or Sakrebulo; an indicator of both bodies has a
	// value for each.
	Body  Body
	Value *float64
}

// Result is a municipality's score under a method, in percent (0-100),
// nil wherever no indicator had data.
type Result struct {
	Total  *float64
	Blocks map[string]*float64
	// Bodies are the City Hall's and the Sakrebulo's scores apart, each
	// over the indicators that judge it.
	Bodies map[Body]*float64
	// Coverage is the share of the method's weight that had data, 0 to
	// 1: a total over half the questions says less than one over all.
	Coverage float64
}

// pair is an indicator as it applies to one body.
type pair struct {
	ind  Indicator
	body Body
}

func (m Method) pairs() []pair {
	var out []pair
	for _, ind := range m.Indicators {
		if ind.Body == Both {
			out = append(out, pair{ind, CityHall}, pair{ind, Sakrebulo})
		} else {
			out = append(out, pair{ind, ind.Body})
		}
	}
	return out
}

// Aggregate scores a municipality from its indicator values, by the method
// alone, so that anyone holding the values and the method recomputes the
// same numbers:
//
//   - a value becomes a share of the indicator's full marks (Scale.Share);
//   - a block's score is the weighted mean of its indicators' shares over
//     those with data, an indicator of both bodies counting half its weight
//     for each; an indicator without data is left out, never taken as 0;
//   - the total is the weighted mean of the blocks with data, by the
//     blocks' weights;
//   - each body's score is the same over the indicators that judge it,
//     each at its full weight.
//
// A value for an indicator the method lacks, for a body the indicator does
// not judge, twice, or outside its scale is an error naming it.
func (m Method) Aggregate(values []Value) (Result, error) {
	type key struct {
		code string
		body Body
	}
	given := map[key]float64{}
	var p domain.Problems
	for i, v := range values {
		f := fmt.Sprintf("values[%d]", i)
		ind, ok := m.indicator(v.Indicator)
		switch {
		case !ok:
			p.Add(domain.InvalidField(f+".indicator", "%q is not an indicator of method version %d", v.Indicator, m.Version))
			continue
		case v.Body != CityHall && v.Body != Sakrebulo || ind.Body != Both && ind.Body != v.Body:
			p.Add(domain.InvalidField(f+".body", "indicator %s judges %s, not %s", ind.Code, ind.Body, v.Body))
			continue
		}
		k := key{ind.Code, v.Body}
		if slices.ContainsFunc(values[:i], func(w Value) bool { return w.Indicator == v.Indicator && w.Body == v.Body }) {
			p.Add(domain.InvalidField(f, "indicator %s of the %s given twice", ind.Code, v.Body))
			continue
		}
		if v.Value == nil {
			continue
		}
		share, err := ind.Scale.Share(*v.Value)
		if err != nil {
			p.Add(domain.InvalidField(f+".value", "indicator %s: %v", ind.Code, err))
			continue
		}
		given[k] = share
	}
	if err := p.Err(); err != nil {
		return Result{}, err
	}
	res := Result{Blocks: map[string]*float64{}, Bodies: map[Body]*float64{}}
	type sum struct{ w, ws, all float64 }
	blocks := map[string]*sum{}
	bodies := map[Body]*sum{}
	for _, b := range m.Blocks {
		blocks[b.Code] = &sum{}
	}
	for _, body := range []Body{CityHall, Sakrebulo} {
		bodies[body] = &sum{}
	}
	for _, pr := range m.pairs() {
		w := float64(pr.ind.Weight)
		half := w
		if pr.ind.Body == Both {
			half = w / 2
		}
		bs, bd := blocks[pr.ind.Block], bodies[pr.body]
		bs.all += half
		bd.all += w
		if share, ok := given[key{pr.ind.Code, pr.body}]; ok {
			bs.w += half
			bs.ws += half * share
			bd.w += w
			bd.ws += w * share
		}
	}
	var tw, tws float64
	for _, b := range m.Blocks {
		s := blocks[b.Code]
		if s.w == 0 {
			res.Blocks[b.Code] = nil
			continue
		}
		score := percent(s.ws / s.w)
		res.Blocks[b.Code] = &score
		tw += float64(b.Weight)
		tws += float64(b.Weight) * score
		res.Coverage += float64(b.Weight) / 100 * s.w / s.all
	}
	if tw > 0 {
		t := round(tws / tw)
		res.Total = &t
	}
	for body, s := range bodies {
		if s.w > 0 {
			score := percent(s.ws / s.w)
			res.Bodies[body] = &score
		} else {
			res.Bodies[body] = nil
		}
	}
	res.Coverage = round(res.Coverage*10000) / 10000
	return res, nil
}

// percent is a share as a percentage, rounded to hundredths: scores are
// published to two decimals, and rounding here keeps a recount on another
// machine to the same digits.
func percent(share float64) float64 { return round(share * 100) }

func round(x float64) float64 { return math.Round(x*100) / 100 }

// Entry is a municipality's total to rank; nil when it has none.
type Entry struct {
	Municipality string
	Score        *float64
}

// Ranked is a municipality's place in a ranking.
type Ranked struct {
	Municipality string
	Score        *float64
	// Rank is 1 for the highest score; equal scores share a rank, the
	// next rank skipping as many (1, 2, 2, 4) or not (1, 2, 2, 3) as the
	// method's Ties say; 0 for a municipality with no score, listed last.
	Rank int
	// Band is the method's band the score falls in, "" without bands or
	// a score.
	Band string
}

// Rank orders municipalities by score, highest first, equal scores
// sharing a rank (and listed by code) by the method's tie rule, and
// places each in the method's bands.
func (m Method) Rank(entries []Entry) []Ranked {
	out := make([]Ranked, len(entries))
	for i, e := range entries {
		out[i] = Ranked{Municipality: e.Municipality, Score: e.Score}
	}
	slices.SortFunc(out, func(a, b Ranked) int {
		switch {
		case a.Score == nil && b.Score == nil:
			return strings.Compare(a.Municipality, b.Municipality)
		case a.Score == nil:
			return 1
		case b.Score == nil:
			return -1
		}
		return cmp.Or(cmp.Compare(*b.Score, *a.Score), strings.Compare(a.Municipality, b.Municipality))
	})
	for i := range out {
		if out[i].Score == nil {
			continue
		}
		switch {
		case i > 0 && out[i-1].Score != nil && *out[i-1].Score == *out[i].Score:
			out[i].Rank = out[i-1].Rank
		case m.Ties == DenseRanks && i > 0:
			out[i].Rank = out[i-1].Rank + 1
		default:
			out[i].Rank = i + 1
		}
		for _, b := range m.Bands {
			if *out[i].Score >= b.From {
				out[i].Band = b.Name
				break
			}
		}
	}
	return out
}
