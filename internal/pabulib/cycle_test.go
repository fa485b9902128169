package pabulib_test

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/pabulib"
	"github.com/civicledger/civicledger/internal/seed"
)

// TestExportCountsTheSame exports every pot of the demo's Keda 2023 (five
// villages, greedy) and Batumi 2025 (Equal Shares, completed), reads the
// files back as any pabulib reader would, counts them with the rule their
// META names, and gets the winners the cycle declared, marked selected,
// and the votes it declared.
func TestExportCountsTheSame(t *testing.T) {
	ctx := t.Context()
	repo := &domain.Repository{Store: inmem.New(), Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	meta := domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}}
	if _, err := seed.Registry(ctx, &registry.Service{Repo: repo}, meta); err != nil {
		t.Fatal(err)
	}
	svc := &budgeting.Service{Repo: repo}
	if _, err := seed.Budgets(ctx, svc); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"keda-2023", "batumi-2025"} {
		c, ballots, err := svc.PublishedBallots(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, declared := range c.Results().Pots {
			in, err := pabulib.FromCycle(c, id, declared.Pot, ballots, nil)
			if err != nil {
				t.Fatal(err)
			}
			if problems := pabulib.Check(in); len(problems) > 0 {
				t.Errorf("%s %s: the export breaks the format's rules: %q", id, declared.Pot, problems)
			}
			var buf bytes.Buffer
			if err := in.Write(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := pabulib.Read(&buf, pabulib.Limits{})
			if err != nil {
				t.Fatalf("%s %s: the export does not read back: %v", id, declared.Pot, err)
			}
			budget, err := pabulib.Amount("budget", back.MetaValue("budget"), 2)
			if err != nil {
				t.Fatal(err)
			}
			var cands []budgeting.Candidate
			var selected []string
			for i := range back.Projects.Rows {
				cost, err := pabulib.Amount("cost", back.Projects.Get(i, "cost"), 2)
				if err != nil {
					t.Fatal(err)
				}
				pid := back.Projects.Get(i, "project_id")
				cands = append(cands, budgeting.Candidate{ID: pid, Cost: cost})
				if back.Projects.Get(i, "selected") == "1" {
					selected = append(selected, pid)
				}
				if v, _ := strconv.ParseInt(back.Projects.Get(i, "votes"), 10, 64); v != declared.Votes[pid] {
					t.Errorf("%s %s: project %s has %d votes in the file, %d declared", id, declared.Pot, pid, v, declared.Votes[pid])
				}
			}
			var votes []budgeting.Vote
			for i := range back.Votes.Rows {
				votes = append(votes, budgeting.Vote{Projects: pabulib.List(back.Votes.Get(i, "vote"))})
			}
			counting := budgeting.Counting{Method: budgeting.Greedy}
			switch back.MetaValue("rule") {
			case "equalshares/add1":
				counting = budgeting.Counting{Method: budgeting.EqualShares, Step: 100}
			case "greedy":
			default:
				t.Fatalf("rule %q", back.MetaValue("rule"))
			}
			got, err := budgeting.Count(counting, budget, cands, votes)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.Sorted(slices.Values(got.Winners))
			if want := slices.Sorted(slices.Values(declared.Winners)); !slices.Equal(w, want) || !slices.Equal(slices.Sorted(slices.Values(selected)), want) {
				t.Errorf("%s %s: counted from the file %v, selected %v, declared %v", id, declared.Pot, w, selected, want)
			}
			if n, _ := strconv.Atoi(back.MetaValue("num_votes")); n != declared.Ballots || len(votes) != n {
				t.Errorf("%s %s: num_votes %s, %d rows; declared %d ballots", id, declared.Pot, back.MetaValue("num_votes"), len(votes), declared.Ballots)
			}
		}
	}
}
