package seed

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

var meta = domain.Meta{
	Actor: domain.Actor{ID: "system:seed", Role: domain.System},
	Now:   time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
}

func newService(t testing.TB) (*registry.Service, *inmem.Store) {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	store := inmem.New()
	return &registry.Service{Repo: &domain.Repository{Store: store, Types: types, Keys: &domain.MemoryKeyring{}}}, store
}

func TestRegistry(t *testing.T) {
	ctx := t.Context()
	svc, store := newService(t)

	report, err := Registry(ctx, svc, meta)
	if err != nil {
		t.Fatalf("Registry: %v", err)
	}
	if want := (Report{Regions: 12, Municipalities: 69}); report != want {
		t.Errorf("Registry = %+v, want %+v", report, want)
	}

	tbilisi, _, err := svc.Municipality(ctx, "tbilisi")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := tbilisi.Population2014(); !ok || n != 1108717 || tbilisi.Region() != "tbilisi" || tbilisi.Kind() != registry.SelfGoverningCity {
		t.Errorf("Tbilisi: population %d (%v), region %q, kind %q; want 1108717, tbilisi, self-governing-city", n, ok, tbilisi.Region(), tbilisi.Kind())
	}
	if r, _, err := svc.Region(ctx, "kvemo-kartli"); err != nil || r.Name() != (domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"}) || r.Capital() != "Rustavi" {
		t.Errorf("Region(kvemo-kartli) = %+v, %v", r, err)
	}

	// Sum what was recorded, not what was read: the events are the record.
	events := municipalityEvents(t, svc, store)
	if len(events) != 69 {
		t.Fatalf("%d municipality events in the log, want 69", len(events))
	}
	var sum int
	var occupied []string
	for _, e := range events {
		switch {
		case e.Kind == registry.OccupiedMunicipality:
			occupied = append(occupied, e.Code)
			if e.Population2014 != nil {
				t.Errorf("occupied %s has population %d, want none", e.Code, *e.Population2014)
			}
		case e.Population2014 == nil:
			t.Errorf("%s has no population", e.Code)
		default:
			sum += *e.Population2014
		}
	}
	if sum != 3713804 {
		t.Errorf("populations of the non-occupied municipalities sum to %d, want 3713804 (the 2014 census total)", sum)
	}
	if got := strings.Join(occupied, " "); got != "azhara akhalgori eredvi kurta tighvi" {
		t.Errorf("occupied municipalities = %s, want azhara akhalgori eredvi kurta tighvi", got)
	}

	// A second run finds everything registered.
	head, _ := store.Head(ctx)
	report, err = Registry(ctx, svc, meta)
	if err != nil || report != (Report{}) {
		t.Errorf("second Registry = %+v, %v; want nothing added", report, err)
	}
	if after, _ := store.Head(ctx); after != head {
		t.Errorf("second Registry moved the log from %d to %d, want nothing written", head, after)
	}
}

func municipalityEvents(t testing.TB, svc *registry.Service, store *inmem.Store) []registry.MunicipalityRegistered {
	t.Helper()
	stored, err := store.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	var out []registry.MunicipalityRegistered
	for _, se := range stored {
		e, err := svc.Repo.Types.Decode(se)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok := e.(registry.MunicipalityRegistered); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestRegistryObeysRoles: the seed goes through the service, so an actor
// without the role registers nothing.
func TestRegistryObeysRoles(t *testing.T) {
	svc, store := newService(t)
	analyst := meta
	analyst.Actor = domain.Actor{ID: "key:reader", Role: domain.Analyst}
	report, err := Registry(t.Context(), svc, analyst)
	if domain.KindOf(err) != domain.Forbidden || !strings.Contains(err.Error(), "data/georgia-regions.csv:2: region tbilisi") {
		t.Errorf("Registry as analyst = %v, want Forbidden at the first region's line", err)
	}
	if report != (Report{}) {
		t.Errorf("Registry as analyst = %+v, want nothing added", report)
	}
	if head, _ := store.Head(t.Context()); head != 0 {
		t.Errorf("Registry as analyst wrote %d events, want none", head)
	}
}

func TestReadMalformed(t *testing.T) {
	const header = "code,name_en,name_ka,region_code,kind,population_2014_census\n"
	tests := []struct {
		name, csv, want string
	}{
		{"too few fields", header + "rustavi,Rustavi,რუსთავი,kvemo-kartli,self-governing-city,125103\nbolnisi,Bolnisi,ბოლნისი,kvemo-kartli\n",
			"test.csv:3: wrong number of fields"},
		{"bare quote", header + "rustavi,Rust\"avi,რუსთავი,kvemo-kartli,self-governing-city,125103\n",
			"test.csv:2: "},
		{"population not a number", header + "rustavi,Rustavi,რუსთავი,kvemo-kartli,self-governing-city,125103\nbolnisi,Bolnisi,ბოლნისი,kvemo-kartli,municipality,53 590\n",
			`test.csv:3: population_2014_census: "53 590" is not a whole number`},
		{"unknown kind", header + "rustavi,Rustavi,რუსთავი,kvemo-kartli,city,125103\n",
			`test.csv:2: kind: unknown municipality kind "city"`},
		{"repeated code", header + "rustavi,Rustavi,რუსთავი,kvemo-kartli,self-governing-city,125103\nrustavi,Rustavi,რუსთავი,kvemo-kartli,self-governing-city,125103\n",
			`test.csv:3: code "rustavi" repeats line 2`},
		{"column missing", "code,name_en,name_ka,region_code,kind\nrustavi,Rustavi,რუსთავი,kvemo-kartli,self-governing-city\n",
			`test.csv:1: no column "population_2014_census"`},
		{"empty", "", "test.csv: empty"},
		{"header only", header, "test.csv: no rows after the header"},
	}
	for _, tc := range tests {
		_, err := readMunicipalities(strings.NewReader(tc.csv), "test.csv")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: readMunicipalities = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestReadByName: columns are found by their header, in any order.
func TestReadByName(t *testing.T) {
	csv := "kind,capital_en,code,extra,name_ka,name_en\r\n" +
		"region, Rustavi ,kvemo-kartli,ignored,ქვემო ქართლი,Kvemo Kartli\r\n"
	rows, err := readRegions(strings.NewReader(csv), "test.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := registry.RegisterRegion{Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"}, Kind: registry.OrdinaryRegion, Capital: "Rustavi"}
	if len(rows) != 1 || rows[0].cmd != want || rows[0].line != 2 {
		t.Errorf("readRegions = %+v, want one row at line 2: %+v", rows, want)
	}
}
