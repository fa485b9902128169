package benchmark

import (
	"fmt"
	"math"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// ScaleKind is how an indicator is answered.
type ScaleKind string

// The scales of an indicator.
const (
	// YesNo: 1 yes, 0 no.
	YesNo ScaleKind = "yes_no"
	// Points: a whole number from 0 to Max (0-2 as Transparent Cities
	// scores, 0-4).
	Points ScaleKind = "points"
	// Percent: 0 to 100.
	Percent ScaleKind = "percent"
	// Banded: a number (attendance per 1,000 inhabitants, turnout) placed
	// in bands, each worth points out of the highest band's.
	Banded ScaleKind = "banded"
)

// Band is a band of a Banded scale: a value of at least From scores
// Points.
type Band struct {
	From   float64 `json:"from"`
	Points int     `json:"points"`
}

// Scale is what an indicator's values may be and how they become a share
// of the indicator's full marks.
type Scale struct {
	Kind ScaleKind `json:"kind"`
	// Max is a Points scale's top.
	Max int `json:"max,omitempty"`
	// Bands, ascending by From, for a Banded scale.
	Bands []Band `json:"bands,omitempty"`
}

// Body is which body of a municipality an indicator judges: the City Hall
// (the executive) or the Sakrebulo (the council), or both apart.
type Body string

// The bodies.
const (
	CityHall  Body = "city_hall"
	Sakrebulo Body = "sakrebulo"
	Both      Body = "both"
)

// Block is a group of indicators with its weight in the total (LSGI's
// three: proactive publication, e-governance, participation and
// accountability).
type Block struct {
	Code   string               `json:"code"`
	Name   domain.LocalizedText `json:"name"`
	Weight int                  `json:"weight"`
}

// Indicator is one question of the method.
type Indicator struct {
	Code     string               `json:"code"`
	Block    string               `json:"block"`
	Question domain.LocalizedText `json:"question"`
	Scale    Scale                `json:"scale"`
	Weight   int                  `json:"weight"`
	Body     Body                 `json:"body"`
	// Evidence: a score needs evidence (a URL, a document, an FOI
	// request).
	Evidence bool `json:"evidence,omitempty"`
	// Computed names the ledger figure the indicator is computed from
	// instead of judged ("" for a judged one).
	Computed string `json:"computed,omitempty"`
}

// RankBand is a band of the ranking: a total of at least From (percent)
// is in it. Bands are listed from the highest.
type RankBand struct {
	Name string  `json:"name"`
	From float64 `json:"from"`
}

// TieRule is how a ranking places equal scores.
type TieRule string

// The tie rules.
const (
	// SharedRanks: equal scores share a rank and the next rank skips as
	// many (1, 2, 2, 4), as sports tables and the LSGI's ranking do. The
	// rule of a method that names none.
	SharedRanks TieRule = "shared"
	// DenseRanks: equal scores share a rank and the next follows on
	// (1, 2, 2, 3), so ranks count distinct scores.
	DenseRanks TieRule = "dense"
)

// Method is a version of the benchmark's method.
type Method struct {
	Version    int         `json:"version"`
	Blocks     []Block     `json:"blocks"`
	Indicators []Indicator `json:"indicators"`
	Bands      []RankBand  `json:"bands"`
	// Ties is how the ranking places equal scores; "" is SharedRanks.
	Ties TieRule `json:"ties,omitempty"`
}

// The limits of a method: LSGI's has about a hundred indicators in three
// blocks, Transparent Cities' 13 sections; the limits leave room over
// both while bounding what a scorecard can hold.
const (
	MaxBlocks     = 20
	MaxIndicators = 150
	MaxBands      = 10
	maxScaleBands = 20
)

// Validate says what is wrong with m, every problem at once, each naming
// its field: block weights that do not add up to 100, an indicator of no
// block or twice, a scale that cannot be scored, bands out of order.
func (m Method) Validate(field string) error {
	var p domain.Problems
	sum := 0
	blocks := map[string]bool{}
	for i, b := range m.Blocks {
		f := fmt.Sprintf("%s.blocks[%d]", field, i)
		if p.Add(domain.CheckCode(f+".code", b.Code, "participation")) && blocks[b.Code] {
			p.Add(domain.InvalidField(f+".code", "%s twice", b.Code))
		}
		blocks[b.Code] = true
		p.Add(b.Name.Validate(f + ".name"))
		if b.Weight <= 0 {
			p.Add(domain.InvalidField(f+".weight", "%d: a block weighs more than 0", b.Weight))
		}
		sum += b.Weight
	}
	switch {
	case len(m.Blocks) > MaxBlocks:
		p.Add(domain.InvalidField(field+".blocks", "%d blocks, over the limit of %d", len(m.Blocks), MaxBlocks))
	case len(m.Indicators) > MaxIndicators:
		p.Add(domain.InvalidField(field+".indicators", "%d indicators, over the limit of %d", len(m.Indicators), MaxIndicators))
	case len(m.Bands) > MaxBands:
		p.Add(domain.InvalidField(field+".bands", "%d bands, over the limit of %d", len(m.Bands), MaxBands))
	}
	if p.Err() != nil {
		return p.Err()
	}
	if len(m.Blocks) == 0 {
		p.Add(domain.InvalidField(field+".blocks", "a method has one block at least"))
	} else if sum != 100 {
		p.Add(domain.InvalidField(field+".blocks", "the weights add up to %d, not 100", sum))
	}
	codes := map[string]bool{}
	perBlock := map[string]int{}
	for i, ind := range m.Indicators {
		f := fmt.Sprintf("%s.indicators[%d]", field, i)
		if p.Add(domain.CheckCode(f+".code", ind.Code, "budget-published")) && codes[ind.Code] {
			p.Add(domain.InvalidField(f+".code", "%s twice", ind.Code))
		}
		codes[ind.Code] = true
		if !blocks[ind.Block] {
			p.Add(domain.InvalidField(f+".block", "%q is not a block of the method", ind.Block))
		}
		perBlock[ind.Block]++
		p.Add(ind.Question.Validate(f + ".question"))
		p.Add(ind.Scale.validate(f + ".scale"))
		if ind.Weight <= 0 {
			p.Add(domain.InvalidField(f+".weight", "%d: an indicator weighs more than 0", ind.Weight))
		}
		if ind.Body != CityHall && ind.Body != Sakrebulo && ind.Body != Both {
			p.Add(domain.InvalidField(f+".body", "%q is not city_hall, sakrebulo or both", ind.Body))
		}
		if ind.Computed != "" {
			if !slices.Contains(Figures, Figure(ind.Computed)) {
				p.Add(domain.InvalidField(f+".computed", "%q is not a figure of the ledger (%v)", ind.Computed, Figures))
			}
			if ind.Body == Both {
				p.Add(domain.InvalidField(f+".body", "a computed indicator reads one figure of the municipality: city_hall or sakrebulo, not both"))
			}
		}
	}
	for _, b := range m.Blocks {
		if perBlock[b.Code] == 0 {
			p.Add(domain.InvalidField(field+".indicators", "block %s has no indicator", b.Code))
		}
	}
	if m.Ties != "" && m.Ties != SharedRanks && m.Ties != DenseRanks {
		p.Add(domain.InvalidField(field+".ties", "%q is not shared or dense", m.Ties))
	}
	for i, b := range m.Bands {
		f := fmt.Sprintf("%s.bands[%d]", field, i)
		if b.Name == "" {
			p.Add(domain.InvalidField(f+".name", "required"))
		}
		if b.From < 0 || b.From > 100 || i > 0 && b.From >= m.Bands[i-1].From {
			p.Add(domain.InvalidField(f+".from", "%g: bands run from the highest down, within 0-100", b.From))
		}
	}
	return p.Err()
}

func (s Scale) validate(field string) error {
	switch s.Kind {
	case YesNo, Percent:
		if s.Max != 0 || s.Bands != nil {
			return domain.InvalidField(field, "a %s scale has no max and no bands", s.Kind)
		}
	case Points:
		if s.Max < 1 {
			return domain.InvalidField(field+".max", "%d: a points scale runs from 0 to 1 or more", s.Max)
		}
	case Banded:
		if len(s.Bands) > maxScaleBands {
			return domain.InvalidField(field+".bands", "%d bands, over the limit of %d", len(s.Bands), maxScaleBands)
		}
		if len(s.Bands) < 2 {
			return domain.InvalidField(field+".bands", "a banded scale has two bands at least")
		}
		for i, b := range s.Bands {
			if i > 0 && (b.From <= s.Bands[i-1].From || b.Points <= s.Bands[i-1].Points) {
				return domain.InvalidField(fmt.Sprintf("%s.bands[%d]", field, i), "bands rise in both from and points")
			}
		}
		if s.Bands[0].Points < 0 {
			return domain.InvalidField(field+".bands[0].points", "%d is negative", s.Bands[0].Points)
		}
	default:
		return domain.InvalidField(field+".kind", "%q is not yes_no, points, percent or banded", s.Kind)
	}
	return nil
}

// Share is a value's share of the indicator's full marks, 0 to 1; an
// error names a value the scale does not allow.
func (s Scale) Share(v float64) (float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	switch s.Kind {
	case YesNo:
		if v != 0 && v != 1 {
			return 0, fmt.Errorf("%g is not 0 (no) or 1 (yes)", v)
		}
		return v, nil
	case Points:
		if v != math.Trunc(v) || v < 0 || v > float64(s.Max) {
			return 0, fmt.Errorf("%g is not a whole number of points from 0 to %d", v, s.Max)
		}
		return v / float64(s.Max), nil
	case Percent:
		if v < 0 || v > 100 {
			return 0, fmt.Errorf("%g is not a percentage", v)
		}
		return v / 100, nil
	case Banded:
		if v < 0 {
			return 0, fmt.Errorf("%g is negative", v)
		}
		top := float64(s.Bands[len(s.Bands)-1].Points)
		i := -1
		for k, b := range s.Bands {
			if v >= b.From {
				i = k
			}
		}
		if i < 0 {
			return 0, nil
		}
		return float64(s.Bands[i].Points) / top, nil
	}
	return 0, fmt.Errorf("scale %q", s.Kind)
}

// indicator returns the indicator of code.
func (m Method) indicator(code string) (Indicator, bool) {
	i := slices.IndexFunc(m.Indicators, func(x Indicator) bool { return x.Code == code })
	if i < 0 {
		return Indicator{}, false
	}
	return m.Indicators[i], true
}
