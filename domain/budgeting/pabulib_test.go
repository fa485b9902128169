package budgeting_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/internal/pabulib"
)

// instance is a published pabulib instance as Count takes it, with the
// winners the city published.
type instance struct {
	name       string
	rule       string
	voteType   string
	budget     int64
	candidates []budgeting.Candidate
	ballots    []budgeting.Vote
	votes      map[string]int64 // the published vote counts (points on a cumulative ballot)
	selected   []string         // the published winners, sorted
}

func readInstance(t testing.TB, path string) instance {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := pabulib.Read(f, pabulib.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := instance{name: filepath.Base(path), rule: in.MetaValue("rule"), voteType: in.MetaValue("vote_type"), votes: map[string]int64{}}
	// Amounts in grosze: the library writes złoty, some with a fraction.
	if out.budget, err = pabulib.Amount("budget", in.MetaValue("budget"), 2); err != nil {
		t.Fatal(err)
	}
	for i := range in.Projects.Rows {
		id := in.Projects.Get(i, "project_id")
		cost, err := pabulib.Amount("cost of "+id, in.Projects.Get(i, "cost"), 2)
		if err != nil {
			t.Fatal(err)
		}
		out.candidates = append(out.candidates, budgeting.Candidate{ID: id, Cost: cost})
		// What Count calls votes: supporters, or on a cumulative ballot
		// the points, which the library publishes as the score.
		col := "votes"
		if in.Votes.Has("points") {
			col = "score"
		}
		if v := in.Projects.Get(i, col); v != "" {
			if out.votes[id], err = pabulib.Int(col+" of "+id, v); err != nil {
				t.Fatal(err)
			}
		}
		if in.Projects.Get(i, "selected") == "1" {
			out.selected = append(out.selected, id)
		}
	}
	slices.Sort(out.selected)
	cumulative := in.Votes.Has("points")
	for i := range in.Votes.Rows {
		v := budgeting.Vote{Projects: pabulib.List(in.Votes.Get(i, "vote"))}
		if cumulative {
			for _, p := range pabulib.List(in.Votes.Get(i, "points")) {
				n, err := pabulib.Int("points", p)
				if err != nil {
					t.Fatal(err)
				}
				v.Points = append(v.Points, n)
			}
		}
		out.ballots = append(out.ballots, v)
	}
	return out
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestPublishedGreedyOutcomes counts real instances the cities counted
// greedily (testdata/pabulib, from pabulib.org) and compares our winners
// with the winners they published, and our vote counts with theirs.
func TestPublishedGreedyOutcomes(t *testing.T) {
	paths, _ := filepath.Glob("testdata/pabulib/*.pb")
	checked := 0
	for _, path := range paths {
		in := readInstance(t, path)
		if in.rule != "greedy" {
			continue
		}
		checked++
		t.Run(in.name, func(t *testing.T) {
			got, err := budgeting.Count(budgeting.Counting{Method: budgeting.Greedy}, in.budget, in.candidates, in.ballots)
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range in.votes {
				if got.Votes[id] != want {
					t.Errorf("project %s: %d votes counted from the ballots, %d published", id, got.Votes[id], want)
				}
			}
			if w := sorted(got.Winners); !slices.Equal(w, in.selected) {
				t.Errorf("winners %v; the city published %v", w, in.selected)
			}
			if got.Spent > in.budget {
				t.Errorf("spent %d of %d", got.Spent, in.budget)
			}
		})
	}
	if checked < 5 {
		t.Fatalf("%d greedy instances in testdata/pabulib; want at least 5", checked)
	}
}

// TestPublishedEqualSharesOutcome counts Wieliczka's Green Million 2023,
// the first budget decided by the Method of Equal Shares (completed by
// raising each voter's share one złoty, 100 grosze, at a time,
// "equalshares/add1"),
// and compares our winners with the published ones.
func TestPublishedEqualSharesOutcome(t *testing.T) {
	in := readInstance(t, "testdata/pabulib/poland_wieliczka_2023.pb")
	if in.rule != "equalshares/add1" {
		t.Fatalf("rule %q", in.rule)
	}
	got, err := budgeting.Count(budgeting.Counting{Method: budgeting.EqualShares, Utility: budgeting.CostUtility, Step: 100},
		in.budget, in.candidates, in.ballots)
	if err != nil {
		t.Fatal(err)
	}
	if w := sorted(got.Winners); !slices.Equal(w, in.selected) {
		extra, missing := diff(w, in.selected), diff(in.selected, w)
		t.Errorf("winners differ from the published: we add %v and leave out %v (%d rounds, spent %d)", extra, missing, got.Rounds, got.Spent)
	}
	t.Logf("%d winners, spent %d of %d, %d rounds", len(got.Winners), got.Spent, in.budget, got.Rounds)
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
