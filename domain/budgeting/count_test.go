package budgeting_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
)

// ballots repeats each ballot as many times as it says.
func ballots(groups ...any) []budgeting.Vote {
	var out []budgeting.Vote
	for i := 0; i < len(groups); i += 2 {
		for range groups[i].(int) {
			out = append(out, groups[i+1].(budgeting.Vote))
		}
	}
	return out
}

func approve(ids ...string) budgeting.Vote { return budgeting.Vote{Projects: ids} }

// The hand-worked example: 100 GEL, ten voters; six approve X1, X2 and X3,
// four approve Y1 and Y2; every project costs 30.
//
// Greedy takes the three projects of the six (6 votes each), 90 GEL, and
// the four get nothing. Equal Shares gives each voter 10: X1 costs its six
// supporters 5 each, Y1 its four 7.5 each, so X1 wins, then X2 (5 each
// again, which empties the six's shares); X3 is then beyond them, and Y1
// wins at 7.5 each, leaving the four 2.5 each, too little for Y2: X1, X2,
// Y1. Raising the shares by 1 a voter (Step) changes nothing until each
// has 15, when X3 (5 each) comes before Y1 and the four's Y1 as well makes
// 120 GEL, over the budget: the outcome stays the last that fitted.
var (
	example = []budgeting.Candidate{{ID: "X1", Cost: 30}, {ID: "X2", Cost: 30}, {ID: "X3", Cost: 30}, {ID: "Y1", Cost: 30}, {ID: "Y2", Cost: 30}}
	profile = ballots(6, approve("X1", "X2", "X3"), 4, approve("Y1", "Y2"))
)

func TestCountHandWorked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       budgeting.Counting
		budget  int64
		winners []string
		spent   int64
	}{
		{"greedy", budgeting.Counting{Method: budgeting.Greedy}, 100, []string{"X1", "X2", "X3"}, 90},
		{"greedy skips what does not fit", budgeting.Counting{Method: budgeting.Greedy}, 50, []string{"X1"}, 30},
		{"equal shares, approval utility", budgeting.Counting{Method: budgeting.EqualShares, Utility: budgeting.ApprovalUtility}, 100, []string{"X1", "X2", "Y1"}, 90},
		{"equal shares, cost utility (all costs equal: the same)", budgeting.Counting{Method: budgeting.EqualShares}, 100, []string{"X1", "X2", "Y1"}, 90},
		{"equal shares completed by 1 a voter", budgeting.Counting{Method: budgeting.EqualShares, Step: 1}, 100, []string{"X1", "X2", "Y1"}, 90},
		{"a threshold of 5 votes leaves the four out", budgeting.Counting{Method: budgeting.EqualShares, Threshold: 5}, 100, []string{"X1", "X2"}, 60},
		{"nothing to spend", budgeting.Counting{Method: budgeting.Greedy}, 0, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := budgeting.Count(tc.c, tc.budget, example, profile)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Winners, tc.winners) || got.Spent != tc.spent {
				t.Errorf("winners %v spent %d; want %v spent %d", got.Winners, got.Spent, tc.winners, tc.spent)
			}
			if got.Votes["X1"] != 6 || got.Votes["Y2"] != 4 || got.Ballots != 10 {
				t.Errorf("votes %v, ballots %d", got.Votes, got.Ballots)
			}
		})
	}
}

// TestCountTies: equal votes go to the cheaper project, then to the
// smaller ID, under both methods, whatever order the ballot lists them in.
func TestCountTies(t *testing.T) {
	cands := []budgeting.Candidate{{ID: "b", Cost: 40}, {ID: "a", Cost: 40}, {ID: "c", Cost: 30}}
	votes := ballots(2, approve("a", "b", "c"))
	for _, m := range []budgeting.Counting{{Method: budgeting.Greedy}, {Method: budgeting.EqualShares, Utility: budgeting.ApprovalUtility}} {
		got, err := budgeting.Count(m, 70, cands, votes)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Winners, []string{"c", "a"}) {
			t.Errorf("%s: winners %v; want c (cheaper) then a (smaller ID)", m.Method, got.Winners)
		}
	}
}

// TestCountCumulative: a cumulative ballot's points are its votes.
func TestCountCumulative(t *testing.T) {
	cands := []budgeting.Candidate{{ID: "a", Cost: 60}, {ID: "b", Cost: 60}}
	votes := []budgeting.Vote{
		{Projects: []string{"a", "b"}, Points: []int64{1, 2}},
		{Projects: []string{"a"}, Points: []int64{2}},
		{Projects: []string{"b"}, Points: []int64{2}},
	}
	got, err := budgeting.Count(budgeting.Counting{Method: budgeting.Greedy}, 100, cands, votes)
	if err != nil {
		t.Fatal(err)
	}
	if got.Votes["a"] != 3 || got.Votes["b"] != 4 || !slices.Equal(got.Winners, []string{"b"}) {
		t.Errorf("votes %v winners %v; want a 3, b 4, b wins", got.Votes, got.Winners)
	}
}

// TestCountRefuses: inputs a count cannot be run on name what is wrong.
func TestCountRefuses(t *testing.T) {
	ok := []budgeting.Candidate{{ID: "a", Cost: 10}}
	for _, tc := range []struct {
		name   string
		c      budgeting.Counting
		budget int64
		cands  []budgeting.Candidate
		votes  []budgeting.Vote
		text   string
	}{
		{"unknown method", budgeting.Counting{Method: "lottery"}, 10, ok, nil, `"lottery" is not greedy or equal_shares`},
		{"greedy with a step", budgeting.Counting{Method: budgeting.Greedy, Step: 1}, 10, ok, nil, "belong to equal shares"},
		{"unknown utility", budgeting.Counting{Method: budgeting.EqualShares, Utility: "joy"}, 10, ok, nil, `"joy" is not cost or approval`},
		{"negative threshold", budgeting.Counting{Method: budgeting.Greedy, Threshold: -1}, 10, ok, nil, "-1 is negative"},
		{"negative budget", budgeting.Counting{Method: budgeting.Greedy}, -1, ok, nil, "-1 is negative"},
		{"negative cost", budgeting.Counting{Method: budgeting.Greedy}, 10, []budgeting.Candidate{{ID: "a", Cost: -5}}, nil, "project a costs -5"},
		{"a project twice", budgeting.Counting{Method: budgeting.Greedy}, 10, []budgeting.Candidate{{ID: "a"}, {ID: "a"}}, nil, "project a twice"},
		{"a ballot for a project not on the ballot", budgeting.Counting{Method: budgeting.Greedy}, 10, ok, []budgeting.Vote{approve("z")}, `supports "z", which is not on the ballot`},
		{"a ballot supporting a project twice", budgeting.Counting{Method: budgeting.Greedy}, 10, ok, []budgeting.Vote{approve("a", "a")}, "supports a twice"},
		{"points not matching the projects", budgeting.Counting{Method: budgeting.Greedy}, 10, ok, []budgeting.Vote{{Projects: []string{"a"}, Points: []int64{1, 2}}}, "2 points for 1 projects"},
		{"zero points", budgeting.Counting{Method: budgeting.Greedy}, 10, ok, []budgeting.Vote{{Projects: []string{"a"}, Points: []int64{0}}}, "gives a 0 points"},
		{"a step too small to settle", budgeting.Counting{Method: budgeting.EqualShares, Step: 1}, 10,
			[]budgeting.Candidate{{ID: "a", Cost: 5}, {ID: "b", Cost: 1 << 40}}, []budgeting.Vote{approve("a"), approve("b")}, "did not settle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := budgeting.Count(tc.c, tc.budget, tc.cands, tc.votes)
			if domain.KindOf(err) != domain.Invalid || !strings.Contains(domain.MessageOf(err), tc.text) {
				t.Errorf("err = %v; want Invalid with %q", err, tc.text)
			}
		})
	}
}
