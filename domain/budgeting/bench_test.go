package budgeting_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain/budgeting"
)

// benchProfile is 100,000 approval ballots over 60 projects, drawn as
// published instances look: a few projects draw most votes, ballots
// approve one to five. Costs span 1% to 15% of the budget.
func benchProfile() ([]budgeting.Candidate, []budgeting.Vote, int64) {
	r := rand.New(rand.NewPCG(2023, 12))
	const budget = 5_000_000_00
	cands := make([]budgeting.Candidate, 60)
	for i := range cands {
		cands[i] = budgeting.Candidate{ID: fmt.Sprintf("p%02d", i), Cost: budget / 100 * int64(1+r.IntN(15))}
	}
	votes := make([]budgeting.Vote, 100_000)
	for v := range votes {
		n := 1 + r.IntN(5)
		seen := map[int]bool{}
		for len(votes[v].Projects) < n {
			k := int(60 * r.Float64() * r.Float64())
			if !seen[k] {
				seen[k] = true
				votes[v].Projects = append(votes[v].Projects, cands[k].ID)
			}
		}
	}
	return cands, votes, budget
}

// BenchmarkCount counts 100,000 ballots by each method. The baseline is
// the cheapest work any count must do: tallying each ballot's approvals
// into a map, which every method starts with.
func BenchmarkCount(b *testing.B) {
	cands, votes, budget := benchProfile()
	base := func() time.Duration {
		start := time.Now()
		tally := map[string]int64{}
		for _, v := range votes {
			for _, p := range v.Projects {
				tally[p]++
			}
		}
		if len(tally) == 0 {
			b.Fatal("nothing tallied")
		}
		return time.Since(start)
	}
	for _, m := range []struct {
		name string
		c    budgeting.Counting
	}{
		{"greedy", budgeting.Counting{Method: budgeting.Greedy}},
		{"equal-shares", budgeting.Counting{Method: budgeting.EqualShares}},
		{"equal-shares-completed", budgeting.Counting{Method: budgeting.EqualShares, Step: 100_00}},
	} {
		b.Run(m.name, func(b *testing.B) {
			var ours, tally time.Duration
			var rounds int
			b.ReportAllocs()
			for b.Loop() {
				tally += base()
				start := time.Now()
				out, err := budgeting.Count(m.c, budget, cands, votes)
				ours += time.Since(start)
				if err != nil || len(out.Winners) == 0 {
					b.Fatalf("%v, %d winners", err, len(out.Winners))
				}
				rounds = out.Rounds
			}
			b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/count")
			b.ReportMetric(float64(ours)/float64(tally), "x-tally")
			b.ReportMetric(float64(rounds), "rounds")
		})
	}
}
