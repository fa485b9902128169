package benchmark_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
)

func text(s string) domain.LocalizedText { return domain.LocalizedText{Ka: s, En: s} }

// method is a small method shaped like the Local Self-Government Index:
// a publication block (40) and a participation block (60), City Hall and
// Sakrebulo judged apart, one computed indicator (the participatory
// budget's turnout, in bands), and three bands.
var method = benchmark.Method{
	Version: 1,
	Blocks:  []benchmark.Block{{Code: "publication", Name: text("publication"), Weight: 40}, {Code: "participation", Name: text("participation"), Weight: 60}},
	Indicators: []benchmark.Indicator{
		{Code: "budget-published", Block: "publication", Question: text("budget published?"), Scale: benchmark.Scale{Kind: benchmark.YesNo}, Weight: 1, Body: benchmark.CityHall, Evidence: true},
		{Code: "minutes-published", Block: "publication", Question: text("minutes published?"), Scale: benchmark.Scale{Kind: benchmark.Points, Max: 2}, Weight: 1, Body: benchmark.Both},
		{Code: "pb-turnout", Block: "participation", Question: text("budget turnout"), Weight: 2, Body: benchmark.CityHall, Computed: "budget_turnout_per_1000",
			Scale: benchmark.Scale{Kind: benchmark.Banded, Bands: []benchmark.Band{{From: 0, Points: 0}, {From: 1, Points: 1}, {From: 3, Points: 2}}}},
		{Code: "hearings", Block: "participation", Question: text("hearings held"), Scale: benchmark.Scale{Kind: benchmark.Percent}, Weight: 1, Body: benchmark.Sakrebulo},
	},
	Bands: []benchmark.RankBand{{Name: "leading", From: 60}, {Name: "advancing", From: 30}, {Name: "starting", From: 0}},
}

func v(ind string, body benchmark.Body, x float64) benchmark.Value {
	return benchmark.Value{Indicator: ind, Body: body, Value: &x}
}

func none(ind string, body benchmark.Body) benchmark.Value {
	return benchmark.Value{Indicator: ind, Body: body}
}

func show(x *float64) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *x)
}

// TestAggregateHandWorked scores three municipalities by hand.
//
// A: publication: budget yes (1 of weight 1), minutes 2/2 at the City Hall
// and 1/2 at the Sakrebulo (half the weight each): (1 + 0.5 + 0.25) / 2 =
// 87.50. Participation: turnout 2.5% is in the 1% band, 1 point of 2, at
// weight 2, and hearings 40%: (1 + 0.4) / 3 = 46.67. Total (40 × 87.50 +
// 60 × 46.67) / 100 = 63.00. City Hall (1 + 1 + 2 × 0.5) / 4 = 75.00;
// Sakrebulo (0.5 + 0.4) / 2 = 45.00.
//
// B: no turnout to compute from (no data, left out, not 0); publication 0;
// hearings 100%: participation 100.00, total 60.00, and only 60% of the
// weight had data (40% of publication's, a third of participation's 60%).
//
// C: nothing: no scores at all, coverage 0.
func TestAggregateHandWorked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []benchmark.Value
		want   string
	}{
		{"A", []benchmark.Value{v("budget-published", benchmark.CityHall, 1), v("minutes-published", benchmark.CityHall, 2),
			v("minutes-published", benchmark.Sakrebulo, 1), v("pb-turnout", benchmark.CityHall, 2.5), v("hearings", benchmark.Sakrebulo, 40)},
			"total 63.00 publication 87.50 participation 46.67 city_hall 75.00 sakrebulo 45.00 coverage 1"},
		{"B", []benchmark.Value{v("budget-published", benchmark.CityHall, 0), v("minutes-published", benchmark.CityHall, 0),
			v("minutes-published", benchmark.Sakrebulo, 0), none("pb-turnout", benchmark.CityHall), v("hearings", benchmark.Sakrebulo, 100)},
			"total 60.00 publication 0.00 participation 100.00 city_hall 0.00 sakrebulo 50.00 coverage 0.6"},
		{"C", nil, "total - publication - participation - city_hall - sakrebulo - coverage 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := method.Aggregate(tc.values)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("total %s publication %s participation %s city_hall %s sakrebulo %s coverage %g", show(r.Total),
				show(r.Blocks["publication"]), show(r.Blocks["participation"]), show(r.Bodies[benchmark.CityHall]), show(r.Bodies[benchmark.Sakrebulo]), r.Coverage)
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAggregateRefuses: values the method cannot take name what is wrong.
func TestAggregateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []benchmark.Value
		text   string
	}{
		{"outside its scale", []benchmark.Value{v("minutes-published", benchmark.CityHall, 3)}, "values[0].value: indicator minutes-published: 3 is not a whole number of points from 0 to 2"},
		{"a yes that is not", []benchmark.Value{v("budget-published", benchmark.CityHall, 0.5)}, "0.5 is not 0 (no) or 1 (yes)"},
		{"the wrong body", []benchmark.Value{v("budget-published", benchmark.Sakrebulo, 1)}, "values[0].body: indicator budget-published judges city_hall, not sakrebulo"},
		{"no such indicator", []benchmark.Value{v("weather", benchmark.CityHall, 1)}, `values[0].indicator: "weather" is not an indicator of method version 1`},
		{"twice", []benchmark.Value{v("hearings", benchmark.Sakrebulo, 1), none("hearings", benchmark.Sakrebulo)}, "values[1]: indicator hearings of the sakrebulo given twice"},
		{"a negative band value", []benchmark.Value{v("pb-turnout", benchmark.CityHall, -1)}, "-1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := method.Aggregate(tc.values)
			if domain.KindOf(err) != domain.Invalid || !strings.Contains(domain.MessageOf(err), tc.text) {
				t.Errorf("err = %v; want Invalid with %q", err, tc.text)
			}
		})
	}
}

// TestRank: equal scores share a rank and the next skips; no score comes
// last, unranked; each score in its band.
func TestRank(t *testing.T) {
	score := func(x float64) *float64 { return &x }
	got := method.Rank([]benchmark.Entry{{"poti", score(60)}, {"adigeni", score(29.99)}, {"batumi", score(60)}, {"gori", nil}, {"ozurgeti", score(63)}})
	var s []string
	for _, r := range got {
		s = append(s, fmt.Sprintf("%d %s %s %s", r.Rank, r.Municipality, show(r.Score), r.Band))
	}
	want := "1 ozurgeti 63.00 leading; 2 batumi 60.00 leading; 2 poti 60.00 leading; 4 adigeni 29.99 starting; 0 gori - "
	if strings.Join(s, "; ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(s, "; "), want)
	}
	// Dense ranks: the next after a tie follows on.
	dense := method
	dense.Ties = benchmark.DenseRanks
	s = nil
	for _, r := range dense.Rank([]benchmark.Entry{{"poti", score(60)}, {"adigeni", score(29.99)}, {"batumi", score(60)}, {"gori", nil}, {"ozurgeti", score(63)}}) {
		s = append(s, fmt.Sprintf("%d %s", r.Rank, r.Municipality))
	}
	if got := strings.Join(s, "; "); got != "1 ozurgeti; 2 batumi; 2 poti; 3 adigeni; 0 gori" {
		t.Errorf("dense ranks: %s", got)
	}
	dense.Ties = "olympic"
	if err := dense.Validate("method"); !strings.Contains(domain.MessageOf(err), `method.ties: "olympic" is not shared or dense`) {
		t.Errorf("an unknown tie rule: %v", err)
	}
}

// TestMethodValidate: a method whose weights do not add up, or that
// cannot be scored, names every problem.
func TestMethodValidate(t *testing.T) {
	if err := method.Validate("method"); err != nil {
		t.Fatalf("the test's method: %v", err)
	}
	bad := method
	bad.Blocks = []benchmark.Block{{Code: "publication", Name: text("p"), Weight: 40}, {Code: "participation", Name: text("q"), Weight: 50}, {Code: "empty", Name: text("e"), Weight: 10}}
	bad.Indicators = append([]benchmark.Indicator{{Code: "x", Block: "nowhere", Question: text("x"), Weight: 1, Body: benchmark.CityHall,
		Scale: benchmark.Scale{Kind: benchmark.Banded, Bands: []benchmark.Band{{From: 2, Points: 1}, {From: 1, Points: 2}}}}}, method.Indicators...)
	bad.Bands = []benchmark.RankBand{{Name: "low", From: 10}, {Name: "high", From: 60}}
	err := bad.Validate("method")
	for _, want := range []string{`method.indicators[0].block: "nowhere" is not a block`, "method.indicators[0].scale.bands[1]: bands rise",
		"method.indicators: block empty has no indicator", "method.bands[1].from: 60: bands run from the highest down"} {
		if !strings.Contains(domain.MessageOf(err), want) {
			t.Errorf("Validate = %v; want %q among the problems", err, want)
		}
	}
	bad = method
	bad.Blocks = []benchmark.Block{{Code: "publication", Name: text("p"), Weight: 40}, {Code: "participation", Name: text("q"), Weight: 50}}
	if err := bad.Validate("method"); !strings.Contains(domain.MessageOf(err), "method.blocks: the weights add up to 90, not 100") {
		t.Errorf("weights of 90: %v", err)
	}
}
