package seed

import (
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// TestBudgets loads the demo's participatory budgets through the service:
// every cycle declared, its results recounted as followed, the documented
// figures as the documents give them, and a second load adds nothing.
func TestBudgets(t *testing.T) {
	ctx := t.Context()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	if _, err := Registry(ctx, &registry.Service{Repo: repo}, meta); err != nil {
		t.Fatal(err)
	}
	svc := &budgeting.Service{Repo: repo}
	rep, err := Budgets(ctx, svc)
	if err != nil {
		t.Fatalf("Budgets: %v", err)
	}
	if rep.Cycles != 64 || rep.Ideas < 64*8 || rep.Ballots+rep.PaperBallots < 64*100 {
		t.Errorf("loaded %+v; want 64 cycles, tens of ideas and hundreds of voters each", rep)
	}
	for _, id := range []string{"marneuli-2019", "batumi-2020", "batumi-2025", "keda-2023", "zugdidi-2025"} {
		r, err := svc.Recount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != budgeting.Followed || len(r.Pots) == 0 || len(r.Pots[0].Winners) == 0 {
			t.Errorf("%s: recount %s %q, pots %+v", id, r.Verdict, r.Problems, r.Pots)
		}
	}
	var batumi budgeting.Cycle
	if _, err := repo.Load(ctx, budgeting.CycleStream("batumi-2020"), &batumi); err != nil {
		t.Fatal(err)
	}
	if n := len(batumi.Ballot()); n != 10 {
		t.Errorf("Batumi 2020 put %d ideas to a vote, want 10", n)
	}
	var keda budgeting.Cycle
	if _, err := repo.Load(ctx, budgeting.CycleStream("keda-2023"), &keda); err != nil {
		t.Fatal(err)
	}
	if v, _ := keda.Phase(budgeting.Voting); v.Start != "2023-12-08" || v.End != "2023-12-10" || len(keda.Pots()) != 5 || len(keda.Ballot()) != 126 {
		t.Errorf("Keda 2023: voting %s..%s, %d villages, %d on the ballot; want 8-10 December, 5, 126", v.Start, v.End, len(keda.Pots()), len(keda.Ballot()))
	}
	var mes budgeting.Cycle
	if _, err := repo.Load(ctx, budgeting.CycleStream("batumi-2025"), &mes); err != nil {
		t.Fatal(err)
	}
	if mes.Rules().Counting.Method != budgeting.EqualShares {
		t.Errorf("Batumi 2025 counted by %s, want equal shares", mes.Rules().Counting.Method)
	}
	again, err := Budgets(ctx, svc)
	if err != nil || again != (BudgetReport{}) {
		t.Errorf("a second load = %+v, %v; want nothing", again, err)
	}
}
