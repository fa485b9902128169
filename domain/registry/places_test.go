package registry_test

import (
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
)

func TestRegisterRegion(t *testing.T) {
	cmd := registry.RegisterRegion{
		Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: " ქვემო ქართლი ", En: "Kvemo Kartli "},
		Kind: registry.OrdinaryRegion, Capital: " Rustavi",
	}
	with := func(f func(*registry.RegisterRegion)) registry.RegisterRegion {
		c := cmd
		f(&c)
		return c
	}
	run(t, []spec{
		{name: "admin registers, names trimmed", when: cmd, then: []domain.Event{kvemoKartli}, version: 1},
		{name: "system registers", role: domain.System, when: cmd, then: []domain.Event{kvemoKartli}, version: 1},
		{name: "capital may be empty",
			when: with(func(c *registry.RegisterRegion) { c.Capital = "" }),
			then: []domain.Event{registry.RegionRegistered{Code: "kvemo-kartli", Name: kvemoKartli.Name, Kind: registry.OrdinaryRegion}}, version: 1},
		{name: "kind parsed leniently",
			when: with(func(c *registry.RegisterRegion) { c.Kind = " Region" }),
			then: []domain.Event{kvemoKartli}, version: 1},

		{name: "anonymous", role: domain.Anonymous, when: cmd, kind: domain.Unauthenticated, text: "register a region needs an API key"},
		{name: "analyst", role: domain.Analyst, when: cmd, kind: domain.Forbidden, text: "role analyst"},
		{name: "role checked before input", role: domain.Consortium,
			when: with(func(c *registry.RegisterRegion) { c.Code = "Bad Code" }), kind: domain.Forbidden, text: "role consortium"},

		{name: "code empty", when: with(func(c *registry.RegisterRegion) { c.Code = "" }), kind: domain.Invalid, text: "code: a code is required"},
		{name: "code upper case", when: with(func(c *registry.RegisterRegion) { c.Code = "Kvemo-Kartli" }), kind: domain.Invalid, text: `code: "Kvemo-Kartli" is not a code`},
		{name: "code with space", when: with(func(c *registry.RegisterRegion) { c.Code = "kvemo kartli" }), kind: domain.Invalid, text: "code:"},
		{name: "code too long", when: with(func(c *registry.RegisterRegion) { c.Code = strings.Repeat("a", 65) }), kind: domain.Invalid, text: "over the limit of 64"},
		{name: "code of 64 is fine", when: with(func(c *registry.RegisterRegion) { c.Code = strings.Repeat("a", 64) }),
			then: []domain.Event{registry.RegionRegistered{Code: strings.Repeat("a", 64), Name: kvemoKartli.Name, Kind: registry.OrdinaryRegion, Capital: "Rustavi"}}, version: 1},
		{name: "name without Georgian", when: with(func(c *registry.RegisterRegion) { c.Name = domain.LocalizedText{Ka: "  ", En: "Kvemo Kartli"} }),
			kind: domain.Invalid, text: "name: the Georgian text (ka) is required"},
		{name: "unknown kind", when: with(func(c *registry.RegisterRegion) { c.Kind = "province" }), kind: domain.Invalid, text: `kind: unknown region kind "province"`},
		{name: "capital too long", when: with(func(c *registry.RegisterRegion) { c.Capital = strings.Repeat("x", 201) }), kind: domain.Invalid, text: "capital: 201 characters"},

		{name: "already registered", given: []domain.Event{kvemoKartli}, when: cmd, kind: domain.Conflict, text: "region kvemo-kartli is already registered"},
	})
}

func TestRegisterMunicipality(t *testing.T) {
	cmd := registry.RegisterMunicipality{
		Code: "rustavi", Name: domain.LocalizedText{Ka: "რუსთავი", En: "Rustavi"},
		Region: "kvemo-kartli", Kind: registry.SelfGoverningCity, Population2014: ptr(125103),
	}
	with := func(f func(*registry.RegisterMunicipality)) registry.RegisterMunicipality {
		c := cmd
		f(&c)
		return c
	}
	kurta := registry.RegisterMunicipality{
		Code: "kurta", Name: domain.LocalizedText{Ka: "ქურთა", En: "Kurta"},
		Region: "shida-kartli", Kind: registry.OccupiedMunicipality,
	}
	shidaKartli := registry.RegionRegistered{Code: "shida-kartli", Name: domain.LocalizedText{Ka: "შიდა ქართლი", En: "Shida Kartli"}, Kind: registry.OrdinaryRegion, Capital: "Gori"}
	run(t, []spec{
		{name: "admin registers", given: []domain.Event{kvemoKartli}, when: cmd, then: []domain.Event{rustavi}, version: 1},
		{name: "system registers", role: domain.System, given: []domain.Event{kvemoKartli}, when: cmd, then: []domain.Event{rustavi}, version: 1},
		{name: "occupied, without population", given: []domain.Event{shidaKartli}, when: kurta,
			then: []domain.Event{registry.MunicipalityRegistered{Code: "kurta", Name: kurta.Name, Region: "shida-kartli", Kind: registry.OccupiedMunicipality}}, version: 1},
		{name: "population zero is given", given: []domain.Event{kvemoKartli},
			when: with(func(c *registry.RegisterMunicipality) { c.Population2014 = ptr(0) }),
			then: []domain.Event{registry.MunicipalityRegistered{Code: "rustavi", Name: rustavi.Name, Region: "kvemo-kartli", Kind: registry.SelfGoverningCity, Population2014: ptr(0)}}, version: 1},

		{name: "anonymous", role: domain.Anonymous, given: []domain.Event{kvemoKartli}, when: cmd, kind: domain.Unauthenticated, text: "register a municipality needs an API key"},
		{name: "applicant", role: domain.Applicant, given: []domain.Event{kvemoKartli}, when: cmd, kind: domain.Forbidden, text: "role applicant"},

		{name: "code malformed", given: []domain.Event{kvemoKartli}, when: with(func(c *registry.RegisterMunicipality) { c.Code = "rustavi_city" }), kind: domain.Invalid, text: "code:"},
		{name: "name missing", given: []domain.Event{kvemoKartli}, when: with(func(c *registry.RegisterMunicipality) { c.Name = domain.LocalizedText{} }), kind: domain.Invalid, text: "name:"},
		{name: "region missing", when: with(func(c *registry.RegisterMunicipality) { c.Region = "" }), kind: domain.Invalid, text: "region: a code is required"},
		{name: "region malformed", when: with(func(c *registry.RegisterMunicipality) { c.Region = "Kvemo Kartli" }), kind: domain.Invalid, text: "region:"},
		{name: "region not registered", given: []domain.Event{guria}, when: cmd, kind: domain.Invalid, text: `region: no region "kvemo-kartli" is registered`},
		{name: "unknown kind", given: []domain.Event{kvemoKartli}, when: with(func(c *registry.RegisterMunicipality) { c.Kind = "city" }), kind: domain.Invalid, text: "kind: unknown municipality kind"},
		{name: "negative population", given: []domain.Event{kvemoKartli}, when: with(func(c *registry.RegisterMunicipality) { c.Population2014 = ptr(-1) }),
			kind: domain.Invalid, text: "population_2014: -1 is negative"},
		{name: "occupied with population", given: []domain.Event{shidaKartli},
			when: func() registry.RegisterMunicipality { c := kurta; c.Population2014 = ptr(100); return c }(),
			kind: domain.Invalid, text: "population_2014: an occupied municipality has no census figure"},

		{name: "already registered", given: []domain.Event{kvemoKartli, rustavi}, when: cmd, kind: domain.Conflict, text: "municipality rustavi is already registered"},
	})
}

// TestReadPlaces covers the queries the seed and the GraphQL layer use.
func TestReadPlaces(t *testing.T) {
	ctx := t.Context()
	svc, _ := newService(t)
	kurta := registry.MunicipalityRegistered{Code: "kurta", Name: domain.LocalizedText{Ka: "ქურთა"}, Region: "kvemo-kartli", Kind: registry.OccupiedMunicipality}
	given(t, svc.Repo, kvemoKartli, rustavi, kurta)

	r, v, err := svc.Region(ctx, "kvemo-kartli")
	if err != nil || v != 1 {
		t.Fatalf("Region(kvemo-kartli) = version %d, %v", v, err)
	}
	if r.Code() != "kvemo-kartli" || r.Name() != kvemoKartli.Name || r.Kind() != registry.OrdinaryRegion || r.Capital() != "Rustavi" {
		t.Errorf("Region(kvemo-kartli) = %q %v %q %q, want the registered values", r.Code(), r.Name(), r.Kind(), r.Capital())
	}
	m, _, err := svc.Municipality(ctx, "rustavi")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := m.Population2014(); !ok || n != 125103 || m.Region() != "kvemo-kartli" || m.Kind() != registry.SelfGoverningCity || m.Name() != rustavi.Name || m.Code() != "rustavi" {
		t.Errorf("Municipality(rustavi) = %q %v in %q, %q, population %d %v; want the registered values", m.Code(), m.Name(), m.Region(), m.Kind(), n, ok)
	}
	m, _, err = svc.Municipality(ctx, "kurta")
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := m.Population2014(); ok {
		t.Errorf("Municipality(kurta).Population2014() = %d, true; want none", n)
	}

	if _, _, err := svc.Region(ctx, "imereti"); domain.KindOf(err) != domain.NotFound {
		t.Errorf("Region(imereti) = %v, want NotFound", err)
	}
	if _, _, err := svc.Municipality(ctx, "kutaisi"); domain.KindOf(err) != domain.NotFound {
		t.Errorf("Municipality(kutaisi) = %v, want NotFound", err)
	}
	if _, _, err := svc.Municipality(ctx, "Kutaisi"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("Municipality(Kutaisi) = %v, want Invalid", err)
	}
}
