package graph_test

import (
	"fmt"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/graph"
)

// TestNetworks forms a consortium over HTTP, changes its memberships, and
// reads them back on several days; only admins may change them.
func TestNetworks(t *testing.T) {
	e := newEnv(t, graph.Config{RatePerSecond: -1})
	e.clock.Set(day(t, "2026-03-01"))
	var orgs []string
	for i := range 3 {
		r := e.do(domain.Admin, registerOrg, orgInput(i)).ok(t)
		orgs = append(orgs, fmt.Sprint(r.get("registerOrganisation.organisation.id")))
	}
	const form = `mutation { formNetwork(input: {id: "cssige", kind: CONSORTIUM, name: {ka: "სსმი", en: "CSSIGE"}, on: "2021-01-01"}) { position network { id kind formedOn } } }`
	before := e.head()
	if r := e.do(domain.Analyst, form, nil); r.code() != "FORBIDDEN" || e.head() != before {
		t.Fatalf("an analyst forming a network: %+v; want FORBIDDEN and nothing written", r.Errors)
	}
	if got := fmt.Sprint(e.do(domain.Admin, form, nil).ok(t).get("formNetwork.network")); got != "map[formedOn:2021-01-01 id:cssige kind:CONSORTIUM]" {
		t.Fatalf("formNetwork: %s", got)
	}
	change := func(mutation, org, extra, on string) response {
		return e.do(domain.Admin, fmt.Sprintf(`mutation { %s(input: {network: "cssige", organisation: %q, on: %q %s}) { position } }`, mutation, org, on, extra), nil)
	}
	change("joinNetwork", orgs[0], `, role: LEAD`, "2021-01-01").ok(t)
	change("joinNetwork", orgs[1], `, role: REGIONAL_HUB, region: "kvemo-kartli"`, "2021-02-01").ok(t)
	if r := change("joinNetwork", orgs[2], `, role: LEAD`, "2021-03-01"); r.code() != "CONFLICT" {
		t.Fatalf("a second lead: %+v; want CONFLICT", r.Errors)
	}
	if r := change("joinNetwork", orgs[2], `, role: MEMBER`, "2027-01-01"); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("joining in the future: %+v; want BAD_USER_INPUT", r.Errors)
	}
	change("joinNetwork", orgs[2], `, role: MEMBER`, "2021-03-01").ok(t)
	change("suspendNetworkMember", orgs[2], `, reason: "reports overdue"`, "2021-06-01").ok(t)
	change("reinstateNetworkMember", orgs[2], ``, "2021-09-01").ok(t)
	last := change("leaveNetwork", orgs[1], ``, "2022-01-01").ok(t)

	const members = `query($on: Date) { network(id: "cssige") { members(on: $on) { organisation { id } role region { code } status validTo reason } } }`
	for _, tt := range []struct{ on, want string }{
		{"2020-12-31", "[]"},
		{"2021-02-01", fmt.Sprintf("[%s:LEAD %s:REGIONAL_HUB@kvemo-kartli]", orgs[0], orgs[1])},
		{"2021-06-01", fmt.Sprintf("[%s:LEAD %s:REGIONAL_HUB@kvemo-kartli %s:MEMBER(SUSPENDED: reports overdue, until 2021-09-01)]", orgs[0], orgs[1], orgs[2])},
		{"2022-01-01", fmt.Sprintf("[%s:LEAD %s:MEMBER]", orgs[0], orgs[2])},
	} {
		r := e.do(domain.Anonymous, members, map[string]any{"on": tt.on}, "Civic-Min-Position", fmt.Sprint(last.get("leaveNetwork.position"))).ok(t)
		var got []string
		for _, m := range r.get("network.members").([]any) {
			m := m.(map[string]any)
			s := fmt.Sprintf("%s:%s", m["organisation"].(map[string]any)["id"], m["role"])
			if reg, ok := m["region"].(map[string]any); ok {
				s += "@" + fmt.Sprint(reg["code"])
			}
			if m["status"] != "ACTIVE" {
				s += fmt.Sprintf("(%s: %s, until %s)", m["status"], m["reason"], m["validTo"])
			}
			got = append(got, s)
		}
		// By organisation ID, which orders the organisations as registered.
		if fmt.Sprint(got) != tt.want {
			t.Errorf("members on %s: %v; want %s", tt.on, got, tt.want)
		}
	}
	r := e.do(domain.Anonymous, fmt.Sprintf(`{ network(id: "cssige") { timeline(organisation: %q) { role validFrom validTo } } }`, orgs[1]), nil).ok(t)
	if got := fmt.Sprint(r.get("network.timeline")); got != "[map[role:REGIONAL_HUB validFrom:2021-02-01 validTo:2022-01-01]]" {
		t.Fatalf("the hub's timeline: %s", got)
	}
	if r := e.do(domain.Anonymous, `{ network(id: "nothing") { id } }`, nil).ok(t); r.get("network") != nil {
		t.Fatalf("an unknown network: %v; want null", r.get("network"))
	}

	// The regional directory: Kvemo Kartli's hub on a day it was one, the
	// three organisations (all in Rustavi), and each one's networks.
	dir := e.do(domain.Anonymous, `{ regionalDirectory(region: "kvemo-kartli", on: "2021-06-01") { region { code } on hubs { organisation { id } network { id } }
		counts { municipality { code } kind organisations } organisations(first: 5) { edges { node { id memberships(on: "2021-06-01") { network { id } role status } } } } } }`, nil).ok(t)
	if got := fmt.Sprint(dir.get("regionalDirectory.hubs")); got != fmt.Sprintf("[map[network:map[id:cssige] organisation:map[id:%s]]]", orgs[1]) {
		t.Errorf("the region's hubs: %s", got)
	}
	if got := fmt.Sprint(dir.get("regionalDirectory.counts")); got != "[map[kind:CSO municipality:map[code:rustavi] organisations:3]]" {
		t.Errorf("the region's counts: %s", got)
	}
	var listed []string
	for _, edge := range dir.get("regionalDirectory.organisations.edges").([]any) {
		node := edge.(map[string]any)["node"].(map[string]any)
		listed = append(listed, fmt.Sprintf("%s%v", node["id"], node["memberships"]))
	}
	if want := fmt.Sprintf("[%s[map[network:map[id:cssige] role:MEMBER status:SUSPENDED]] %s[map[network:map[id:cssige] role:REGIONAL_HUB status:ACTIVE]] %s[map[network:map[id:cssige] role:LEAD status:ACTIVE]]]",
		orgs[2], orgs[1], orgs[0]); fmt.Sprint(listed) != want {
		t.Errorf("the directory's organisations, newest first:\n got %v\nwant %s", listed, want)
	}
	if r := e.do(domain.Anonymous, `{ regionalDirectory(region: "atlantis") { on } }`, nil).ok(t); r.get("regionalDirectory") != nil {
		t.Errorf("an unknown region's directory: %v; want null", r.get("regionalDirectory"))
	}
	inNetwork := e.do(domain.Anonymous, `{ organisations(filter: {network: "cssige", memberOn: "2022-01-01"}) { totalCount edges { node { id } } } }`, nil).ok(t)
	if got := fmt.Sprint(inNetwork.get("organisations")); got != fmt.Sprintf("map[edges:[map[node:map[id:%s]] map[node:map[id:%s]]] totalCount:2]", orgs[2], orgs[0]) {
		t.Errorf("cssige's members on 2022-01-01, the hub gone: %s", got)
	}
}
