package network_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// Organisation IDs (illustrative) of the CSSIGE consortium and a hub.
const (
	kas = "0190c3e4-0000-7000-8000-00000000000a"
	csi = "0190c3e4-0000-7000-8000-00000000000b"
	edc = "0190c3e4-0000-7000-8000-00000000000c"
	cif = "0190c3e4-0000-7000-8000-00000000000d"
)

var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newService(t *testing.T) *network.Service {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	network.RegisterEvents(types)
	svc := &network.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types}}
	meta := domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, Now: now}
	ctx := context.Background()
	if _, err := svc.Repo.Save(ctx, registry.RegionStream("kvemo-kartli"), 0, meta, registry.RegionRegistered{
		Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"}, Kind: registry.OrdinaryRegion}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{kas, csi, edc, cif} {
		if _, err := svc.Repo.Save(ctx, registry.OrganisationStream(id), 0, meta, registry.OrganisationRegistered{
			ID: id, Kind: registry.CSO, Name: domain.LocalizedText{Ka: "ორგანიზაცია " + id[len(id)-1:]}}); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func asAdmin() domain.Meta {
	return domain.Meta{Actor: domain.Actor{ID: "key:admin", Role: domain.Admin}, Now: now}
}

// step is one command and what it must give: "" for success, else the
// error kind and a piece of its message.
type step struct {
	name string
	do   func(context.Context, *network.Service) error
	kind domain.Kind
	text string
}

func run(t *testing.T, svc *network.Service, steps []step) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		before, err := svc.Repo.Store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = s.do(ctx, svc)
		after, _ := svc.Repo.Store.Head(ctx)
		switch {
		case s.kind == "" && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.kind != "" && (domain.KindOf(err) != s.kind || !strings.Contains(domain.MessageOf(err), s.text)):
			t.Fatalf("%s: error %v (kind %s); want kind %s containing %q", s.name, err, domain.KindOf(err), s.kind, s.text)
		case s.kind != "" && after != before:
			t.Fatalf("%s failed but wrote events", s.name)
		}
	}
}

func join(id, role, region, on string) func(context.Context, *network.Service) error {
	return func(ctx context.Context, s *network.Service) error {
		_, err := s.Join(ctx, asAdmin(), network.MembershipChange{Network: "cssige", Organisation: id, Role: network.Role(role), Region: region, On: on})
		return err
	}
}

func TestMembershipsOnADay(t *testing.T) {
	svc := newService(t)
	form := func(ctx context.Context, s *network.Service) error {
		_, err := s.FormNetwork(ctx, asAdmin(), network.FormNetwork{ID: "cssige", Kind: network.Consortium,
			Name: domain.LocalizedText{Ka: "საქართველოს სამოქალაქო საზოგადოების მდგრადობის ინიციატივა", En: "Georgian Civil Society Sustainability Initiative"}, On: "2021-01-01"})
		return err
	}
	member := func(op string, id, role, region, on, reason string) func(context.Context, *network.Service) error {
		return func(ctx context.Context, s *network.Service) error {
			cmd := network.MembershipChange{Network: "cssige", Organisation: id, Role: network.Role(role), Region: region, On: on, Reason: reason}
			var err error
			switch op {
			case "role":
				_, err = s.ChangeRole(ctx, asAdmin(), cmd)
			case "suspend":
				_, err = s.Suspend(ctx, asAdmin(), cmd)
			case "reinstate":
				_, err = s.Reinstate(ctx, asAdmin(), cmd)
			case "leave":
				_, err = s.Leave(ctx, asAdmin(), cmd)
			}
			return err
		}
	}
	run(t, svc, []step{
		{name: "join before the network", do: join(kas, "lead", "", "2021-01-01"), kind: domain.NotFound, text: "no network cssige"},
		{name: "form", do: form},
		{name: "form twice", do: form, kind: domain.Conflict, text: "exists already"},
		{name: "an analyst may not form one", do: func(ctx context.Context, s *network.Service) error {
			_, err := s.FormNetwork(ctx, domain.Meta{Actor: domain.Actor{ID: "key:a", Role: domain.Analyst}, Now: now},
				network.FormNetwork{ID: "other", Kind: network.Coalition, Name: domain.LocalizedText{Ka: "ა"}, On: "2021-01-01"})
			return err
		}, kind: domain.Forbidden},
		{name: "a kind of network that is not", do: func(ctx context.Context, s *network.Service) error {
			_, err := s.FormNetwork(ctx, asAdmin(), network.FormNetwork{ID: "other", Kind: "club", Name: domain.LocalizedText{Ka: "ა"}, On: "2021-01-01"})
			return err
		}, kind: domain.Invalid, text: "kind"},
		{name: "lead", do: join(kas, "lead", "", "2021-01-01")},
		{name: "member", do: join(csi, "member", "", "2021-01-01")},
		{name: "a second lead", do: join(edc, "lead", "", "2021-03-01"), kind: domain.Conflict, text: "leads cssige already"},
		{name: "member", do: join(edc, "member", "", "2021-03-01")},
		{name: "join twice", do: join(edc, "member", "", "2021-04-01"), kind: domain.Conflict, text: "member of cssige already"},
		{name: "a hub without its region", do: join(cif, "regional_hub", "", "2021-02-01"), kind: domain.Invalid, text: "region"},
		{name: "a hub in an unknown region", do: join(cif, "regional_hub", "atlantis", "2021-02-01"), kind: domain.Invalid, text: `"atlantis" is not a region`},
		{name: "a member with a region", do: join(cif, "member", "kvemo-kartli", "2021-02-01"), kind: domain.Invalid, text: "only a regional hub"},
		{name: "an unknown organisation", do: join("nobody", "member", "", "2021-02-01"), kind: domain.Invalid, text: "not an organisation in the registry"},
		{name: "a role that is not", do: join(cif, "boss", "", "2021-02-01"), kind: domain.Invalid, text: "not a role"},
		{name: "before the network began", do: join(cif, "regional_hub", "kvemo-kartli", "2020-12-31"), kind: domain.Invalid, text: "before the network was formed"},
		{name: "in the future", do: join(cif, "regional_hub", "kvemo-kartli", "2026-03-02"), kind: domain.Invalid, text: "in the future"},
		{name: "not a date", do: join(cif, "regional_hub", "kvemo-kartli", "1.2.2021"), kind: domain.Invalid, text: "not a date"},
		{name: "the hub", do: join(cif, "regional_hub", "kvemo-kartli", "2021-02-01")},
		{name: "suspend", do: member("suspend", csi, "", "", "2021-06-01", "reports overdue")},
		{name: "suspend twice", do: member("suspend", csi, "", "", "2021-07-01", "again"), kind: domain.Conflict, text: "suspended already"},
		{name: "suspend without a reason", do: member("suspend", edc, "", "", "2021-07-01", ""), kind: domain.Invalid, text: "reason"},
		{name: "reinstate a member not suspended", do: member("reinstate", edc, "", "", "2021-07-01", ""), kind: domain.Conflict, text: "not suspended"},
		{name: "reinstate", do: member("reinstate", csi, "", "", "2021-09-01", "")},
		{name: "a change dated before the member's last", do: member("role", csi, "partner", "", "2021-08-01", ""), kind: domain.Invalid, text: "before " + csi + "'s last change"},
		{name: "a membership ending as it began", do: member("leave", cif, "", "", "2021-02-01", ""), kind: domain.Invalid, text: "cannot end on 2021-02-01"},
		{name: "leave", do: member("leave", edc, "", "", "2022-01-01", "the project ended")},
		{name: "leave twice", do: member("leave", edc, "", "", "2022-02-01", ""), kind: domain.NotFound, text: "not a member"},
		{name: "the hub becomes a member", do: member("role", cif, "member", "", "2022-02-01", "")},
		{name: "the same role changes nothing", do: member("role", cif, "member", "", "2022-03-01", "")},
		{name: "rejoin", do: join(edc, "partner", "", "2023-01-01")},
	})

	var n network.Network
	if _, err := svc.Repo.Load(context.Background(), network.Stream("cssige"), &n); err != nil {
		t.Fatal(err)
	}
	describe := func(day string) string {
		m := n.MembersOn(day)
		var out []string
		for _, id := range []string{kas, csi, edc, cif} {
			if x, ok := m[id]; ok {
				s := id[len(id)-1:] + ":" + string(x.Role)
				if x.Region != "" {
					s += "@" + x.Region
				}
				if x.Status != network.Active {
					s += "(" + string(x.Status) + ")"
				}
				out = append(out, s)
			}
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct{ day, want string }{
		{"2020-12-31", ""},
		{"2021-01-01", "a:lead b:member"},
		{"2021-01-31", "a:lead b:member"},
		{"2021-02-01", "a:lead b:member d:regional_hub@kvemo-kartli"},
		{"2021-03-01", "a:lead b:member c:member d:regional_hub@kvemo-kartli"},
		{"2021-05-31", "a:lead b:member c:member d:regional_hub@kvemo-kartli"},
		{"2021-06-01", "a:lead b:member(suspended) c:member d:regional_hub@kvemo-kartli"},
		{"2021-08-31", "a:lead b:member(suspended) c:member d:regional_hub@kvemo-kartli"},
		{"2021-09-01", "a:lead b:member c:member d:regional_hub@kvemo-kartli"},
		{"2021-12-31", "a:lead b:member c:member d:regional_hub@kvemo-kartli"},
		{"2022-01-01", "a:lead b:member d:regional_hub@kvemo-kartli"},
		{"2022-02-01", "a:lead b:member d:member"},
		{"2023-01-01", "a:lead b:member c:partner d:member"},
	} {
		if got := describe(tt.day); got != tt.want {
			t.Errorf("members on %s: %q; want %q", tt.day, got, tt.want)
		}
	}
	if got, want := fmt.Sprint(len(n.Members())), "4"; got != want {
		t.Errorf("%s members now; want %s", got, want)
	}
	if m := n.MembersOn("2023-06-01")[edc]; m.Since != "2023-01-01" {
		t.Errorf("the rejoined member's membership began %q; want 2023-01-01", m.Since)
	}
}

// TestEventNames holds each event to its stored name, which outlives the
// Go type.
func TestEventNames(t *testing.T) {
	for want, e := range map[string]domain.Event{
		"network.formed":              network.NetworkFormed{},
		"network.member_joined":       network.MemberJoined{},
		"network.member_role_changed": network.MemberRoleChanged{},
		"network.member_suspended":    network.MemberSuspended{},
		"network.member_reinstated":   network.MemberReinstated{},
		"network.member_left":         network.MemberLeft{},
	} {
		if e.EventType() != want {
			t.Errorf("%T is stored as %s, want %s", e, e.EventType(), want)
		}
	}
}
