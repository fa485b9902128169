package projections_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// netHistory is a consortium's history written through network.Service:
// a lead, a member suspended and reinstated, one that leaves and rejoins
// as a partner, a hub whose role changes, and two changes on one day.
type netHistory struct {
	orgs        map[string]string // nickname -> organisation ID
	head, after int64
}

func makeNetHistory(t *testing.T, e *domainEnv) netHistory {
	t.Helper()
	ctx := context.Background()
	h := netHistory{orgs: map[string]string{}}
	for _, nick := range []string{"kas", "csi", "edec", "cif"} {
		id, _, err := e.registry.RegisterOrganisation(ctx, asSystem(), registry.RegisterOrganisation{
			Kind: registry.CSO, Name: domain.LocalizedText{Ka: "ორგანიზაცია " + nick, En: "Organisation " + nick}})
		if err != nil {
			t.Fatal(err)
		}
		h.orgs[nick] = id
	}
	svc := &network.Service{Repo: &domain.Repository{Store: e.store, Types: catalog.Types, Keys: e.keys}}
	meta := asSystem()
	if _, err := svc.FormNetwork(ctx, meta, network.Form{ID: "cssige", Kind: network.Consortium,
		Name: domain.LocalizedText{Ka: "სსმი", En: "CSSIGE"}, On: "2021-01-01"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op, nick, role, region, on string
	}{
		{"join", "kas", "lead", "", "2021-01-01"},
		{"join", "csi", "member", "", "2021-01-01"},
		{"join", "cif", "regional_hub", "kvemo-kartli", "2021-02-01"},
		{"join", "edec", "member", "", "2021-03-01"},
		{"suspend", "csi", "", "", "2021-06-01"},
		{"reinstate", "csi", "", "", "2021-09-01"},
		{"leave", "edec", "", "", "2022-01-01"},
		{"role", "cif", "member", "", "2022-02-01"},
		{"suspend", "cif", "", "", "2022-05-01"},
		{"reinstate", "cif", "", "", "2022-05-01"},
		{"join", "edec", "partner", "", "2023-01-01"},
	}
	for i, s := range steps {
		org := h.orgs[s.nick]
		var err error
		switch s.op {
		case "join":
			_, err = svc.Join(ctx, meta, network.Join{Network: "cssige", Organisation: org, Role: network.Role(s.role), Region: s.region, On: s.on})
		case "role":
			_, err = svc.ChangeRole(ctx, meta, network.ChangeRole{Network: "cssige", Organisation: org, Role: network.Role(s.role), Region: s.region, On: s.on})
		case "suspend":
			_, err = svc.Suspend(ctx, meta, network.Suspend{Network: "cssige", Organisation: org, On: s.on, Reason: "reports overdue"})
		case "reinstate":
			_, err = svc.Reinstate(ctx, meta, network.Reinstate{Network: "cssige", Organisation: org, On: s.on})
		case "leave":
			_, err = svc.Leave(ctx, meta, network.Leave{Network: "cssige", Organisation: org, On: s.on, Reason: "reports overdue"})
		}
		if err != nil {
			t.Fatalf("step %d (%s %s): %v", i, s.op, s.nick, err)
		}
		if i == 3 {
			h.after = e.settle(t)
		}
	}
	h.head = e.settle(t)
	return h
}

func TestNetworksIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeNetHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Networks{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Networks{}, events)
}

func TestNetworksCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeNetHistory(t, e)
	checkCrashRecovery(t, e, projections.Networks{}, h.head, h.after)
}

func TestNetworksQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeNetHistory(t, e)
	e.startRunner(t, h.head, projections.Networks{})
	ctx := context.Background()
	nick := map[string]string{}
	for k, v := range h.orgs {
		nick[v] = k
	}
	show := func(ps []projections.MembershipPeriod) string {
		var out []string
		for _, p := range ps {
			s := nick[p.Organisation] + ":" + string(p.Role)
			if p.Region != "" {
				s += "@" + p.Region
			}
			if p.Status != network.Active {
				s += "(" + string(p.Status) + ")"
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	for _, tt := range []struct{ day, want string }{
		{"2020-12-31", ""},
		{"2021-01-01", "csi:member kas:lead"},
		{"2021-02-01", "cif:regional_hub@kvemo-kartli csi:member kas:lead"},
		{"2021-06-01", "cif:regional_hub@kvemo-kartli csi:member(suspended) edec:member kas:lead"},
		{"2021-09-01", "cif:regional_hub@kvemo-kartli csi:member edec:member kas:lead"},
		{"2021-12-31", "cif:regional_hub@kvemo-kartli csi:member edec:member kas:lead"},
		{"2022-01-01", "cif:regional_hub@kvemo-kartli csi:member kas:lead"},
		{"2022-02-01", "cif:member csi:member kas:lead"},
		{"2022-05-01", "cif:member csi:member kas:lead"},
		{"2023-01-01", "cif:member csi:member edec:partner kas:lead"},
	} {
		got, err := e.reads.MembersOn(ctx, "cssige", tt.day)
		if err != nil {
			t.Fatal(err)
		}
		if show(got) != tt.want {
			t.Errorf("members on %s: %q; want %q", tt.day, show(got), tt.want)
		}
	}
	if _, err := e.reads.MembersOn(ctx, "cssige", "yesterday"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("MembersOn(yesterday) = %v; want Invalid", err)
	}

	// The timeline of one member: its periods. The suspension lifted the
	// day it began lasted no day and is left out, but it still splits the
	// membership where it happened.
	periods, err := e.reads.MembershipTimeline(ctx, "cssige", h.orgs["cif"])
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range periods {
		lines = append(lines, fmt.Sprintf("%s %s..%s %s", p.Role, p.ValidFrom, p.ValidTo, p.Status))
	}
	if got, want := strings.Join(lines, "; "), "regional_hub 2021-02-01..2022-02-01 active; member 2022-02-01..2022-05-01 active; member 2022-05-01.. active"; got != want {
		t.Errorf("cif's timeline: %q; want %q", got, want)
	}
	periods, err = e.reads.MembershipTimeline(ctx, "cssige", h.orgs["edec"])
	if err != nil {
		t.Fatal(err)
	}
	lines = nil
	for _, p := range periods {
		lines = append(lines, fmt.Sprintf("%s %s..%s joined %s", p.Role, p.ValidFrom, p.ValidTo, p.JoinedOn))
	}
	if got, want := strings.Join(lines, "; "), "member 2021-03-01..2022-01-01 joined 2021-03-01; partner 2023-01-01.. joined 2023-01-01"; got != want {
		t.Errorf("edec's timeline: %q; want %q", got, want)
	}
	nets, err := e.reads.Networks(ctx)
	if err != nil || len(nets) != 1 || nets[0].Name.En != "CSSIGE" || nets[0].Kind != network.Consortium || nets[0].FormedOn != "2021-01-01" {
		t.Fatalf("Networks = %+v, %v", nets, err)
	}
	if n, err := e.reads.Network(ctx, "nothing"); n != nil || err != nil {
		t.Fatalf("Network(nothing) = %+v, %v; want nil", n, err)
	}
}
