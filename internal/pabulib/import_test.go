package pabulib_test

import (
	"os"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/pabulib"
)

func readFile(t *testing.T, name string) *pabulib.Instance {
	t.Helper()
	f, err := os.Open("../../domain/budgeting/testdata/pabulib/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := pabulib.Read(f, pabulib.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestImport records published instances as cycles (a Warsaw district
// counted greedily, Wieliczka by Equal Shares, a Katowice district's
// cumulative ballots): Civic Ledger's count declares the winners the city
// published, the recount follows, and the cycle names its place outside
// the registry. A file with a ballot the rules refuse writes nothing.
func TestImport(t *testing.T) {
	ctx := t.Context()
	store := inmem.New()
	svc := &budgeting.Service{Repo: &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}}
	for _, tc := range []struct{ file, cycle string }{
		{"poland_warszawa_2017_wars.pb", "poland-warszawa-wars-2017"},
		{"poland_wieliczka_2023.pb", "poland-wieliczka-green-budget-2023"},
		{"poland_katowice_2020_brynow-czesc-wschodnia-osiedle-zgrzebnioka.pb", "poland-katowice-brynow-czesc-wschodnia-2020"},
	} {
		rep, err := pabulib.Import(ctx, svc, readFile(t, tc.file), tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if rep.Cycle != tc.cycle || !rep.Agrees() || len(rep.Winners) == 0 {
			t.Errorf("%s: %+v; want cycle %s with the published winners", tc.file, rep, tc.cycle)
		}
		r, err := svc.Recount(ctx, rep.Cycle)
		if err != nil || r.Verdict != budgeting.Followed || r.Ballots != rep.Ballots {
			t.Errorf("%s: recount %s %q (%d ballots), %v", tc.file, r.Verdict, r.Problems, r.Ballots, err)
		}
		var c budgeting.Cycle
		if _, err := svc.Repo.Load(ctx, budgeting.CycleStream(rep.Cycle), &c); err != nil || !strings.HasSuffix(c.Unit(), "(Poland)") {
			t.Errorf("%s: unit %q, %v", tc.file, c.Unit(), err)
		}
	}
	if _, err := pabulib.Import(ctx, svc, readFile(t, "poland_warszawa_2017_wars.pb"), "again"); domain.KindOf(err) != domain.Conflict {
		t.Errorf("importing the same place and year again: %v; want a conflict", err)
	}
	// A ballot naming a project twice, which the count refuses.
	in := readFile(t, "poland_warszawa_2018_sadul.pb")
	in.Votes.Rows[0][len(in.Votes.Columns)-1] += "," + strings.Split(in.Votes.Rows[0][len(in.Votes.Columns)-1], ",")[0]
	head, _ := store.Head(ctx)
	if _, err := pabulib.Import(ctx, svc, in, "bad"); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a ballot naming a project twice: %v", err)
	}
	if after, _ := store.Head(ctx); after != head {
		t.Errorf("a refused file wrote %d events", after-head)
	}
	// A Georgian cycle may not be made this way by anyone but the system.
	_, err := svc.OpenCycle(ctx, domain.Meta{Actor: domain.Actor{ID: "key:admin", Role: domain.Admin}}, budgeting.OpenCycle{Municipality: "x", Year: 2020,
		Unit: "Nowhere", Source: "s"})
	if domain.KindOf(err) != domain.Invalid || !strings.Contains(domain.MessageOf(err), "only an import") {
		t.Errorf("an admin naming a unit: %v", err)
	}
}
