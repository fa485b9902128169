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
}
