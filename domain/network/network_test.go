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
	"github.com/civicledger/civicledger/internal/domaintest"
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
	svc := &network.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
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

// step is one command of the table and what it must give.
type step = domaintest.Step[*network.Service]

func run(t *testing.T, svc *network.Service, steps []step) {
	t.Helper()
	domaintest.Run(t, svc, svc.Repo.Store, steps)
}

func join(id, role, region, on string) func(context.Context, *network.Service) error {
	return func(ctx context.Context, s *network.Service) error {
		_, err := s.Join(ctx, asAdmin(), network.Join{Network: "cssige", Organisation: id, Role: network.Role(role), Region: region, On: on})
		return err
	}
}

func TestMembershipsOnADay(t *testing.T) {
	svc := newService(t)
	form := func(ctx context.Context, s *network.Service) error {
		_, err := s.FormNetwork(ctx, asAdmin(), network.Form{ID: "cssige", Kind: network.Consortium,
			Name: domain.LocalizedText{Ka: "საქართველოს სამოქალაქო საზოგადოების მდგრადობის ინიციატივა", En: "Georgian Civil Society Sustainability Initiative"}, On: "2021-01-01"})
		return err
	}
	member := func(op string, id, role, region, on, reason string) func(context.Context, *network.Service) error {
		return func(ctx context.Context, s *network.Service) error {
			var err error
			switch op {
			case "role":
				_, err = s.ChangeRole(ctx, asAdmin(), network.ChangeRole{Network: "cssige", Organisation: id, Role: network.Role(role), Region: region, On: on})
			case "suspend":
				_, err = s.Suspend(ctx, asAdmin(), network.Suspend{Network: "cssige", Organisation: id, On: on, Reason: reason})
			case "reinstate":
				_, err = s.Reinstate(ctx, asAdmin(), network.Reinstate{Network: "cssige", Organisation: id, On: on})
			case "leave":
				_, err = s.Leave(ctx, asAdmin(), network.Leave{Network: "cssige", Organisation: id, On: on, Reason: reason})
			}
			return err
		}
	}
	run(t, svc, []step{
		{Name: "join before the network", Do: join(kas, "lead", "", "2021-01-01"), Kind: domain.NotFound, Text: "no network cssige"},
		{Name: "form", Then: []string{"network.formed"}, Do: form},
		{Name: "form twice", Do: form, Kind: domain.Conflict, Text: "exists already"},
		{Name: "an analyst may not form one", Do: func(ctx context.Context, s *network.Service) error {
			_, err := s.FormNetwork(ctx, domain.Meta{Actor: domain.Actor{ID: "key:a", Role: domain.Analyst}, Now: now},
				network.Form{ID: "other", Kind: network.Coalition, Name: domain.LocalizedText{Ka: "ა"}, On: "2021-01-01"})
			return err
		}, Kind: domain.Forbidden},
		{Name: "a kind of network that is not", Do: func(ctx context.Context, s *network.Service) error {
			_, err := s.FormNetwork(ctx, asAdmin(), network.Form{ID: "other", Kind: "club", Name: domain.LocalizedText{Ka: "ა"}, On: "2021-01-01"})
			return err
		}, Kind: domain.Invalid, Text: "kind"},
		{Name: "lead", Then: []string{"network.member_joined"}, Do: join(kas, "lead", "", "2021-01-01")},
		{Name: "a member", Then: []string{"network.member_joined"}, Do: join(csi, "member", "", "2021-01-01")},
		{Name: "a second lead", Do: join(edc, "lead", "", "2021-03-01"), Kind: domain.Conflict, Text: "leads cssige already"},
		{Name: "another member", Then: []string{"network.member_joined"}, Do: join(edc, "member", "", "2021-03-01")},
		{Name: "join twice", Do: join(edc, "member", "", "2021-04-01"), Kind: domain.Conflict, Text: "member of cssige already"},
		{Name: "a hub without its region", Do: join(cif, "regional_hub", "", "2021-02-01"), Kind: domain.Invalid, Text: "region"},
		{Name: "a hub in an unknown region", Do: join(cif, "regional_hub", "atlantis", "2021-02-01"), Kind: domain.Invalid, Text: `"atlantis" is not a region`},
		{Name: "a member with a region", Do: join(cif, "member", "kvemo-kartli", "2021-02-01"), Kind: domain.Invalid, Text: "only a regional hub"},
		{Name: "an unknown organisation", Do: join("nobody", "member", "", "2021-02-01"), Kind: domain.Invalid, Text: "not an organisation in the registry"},
		{Name: "a role that is not", Do: join(cif, "boss", "", "2021-02-01"), Kind: domain.Invalid, Text: "not a role"},
		{Name: "before the network began", Do: join(cif, "regional_hub", "kvemo-kartli", "2020-12-31"), Kind: domain.Invalid, Text: "before the network was formed"},
		{Name: "in the future", Do: join(cif, "regional_hub", "kvemo-kartli", "2026-03-02"), Kind: domain.Invalid, Text: "in the future"},
		{Name: "not a date", Do: join(cif, "regional_hub", "kvemo-kartli", "1.2.2021"), Kind: domain.Invalid, Text: "not a date"},
		{Name: "the hub", Then: []string{"network.member_joined"}, Do: join(cif, "regional_hub", "kvemo-kartli", "2021-02-01")},
		{Name: "suspend", Then: []string{"network.member_suspended"}, Do: member("suspend", csi, "", "", "2021-06-01", "reports overdue")},
		{Name: "suspend twice", Do: member("suspend", csi, "", "", "2021-07-01", "again"), Kind: domain.Conflict, Text: "suspended already"},
		{Name: "suspend without a reason", Do: member("suspend", edc, "", "", "2021-07-01", ""), Kind: domain.Invalid, Text: "reason"},
		{Name: "reinstate a member not suspended", Do: member("reinstate", edc, "", "", "2021-07-01", ""), Kind: domain.Conflict, Text: "not suspended"},
		{Name: "reinstate", Then: []string{"network.member_reinstated"}, Do: member("reinstate", csi, "", "", "2021-09-01", "")},
		{Name: "a change dated before the member's last", Do: member("role", csi, "partner", "", "2021-08-01", ""), Kind: domain.Invalid, Text: "before " + csi + "'s last change"},
		{Name: "a membership ending as it began", Do: member("leave", cif, "", "", "2021-02-01", ""), Kind: domain.Invalid, Text: "cannot end on 2021-02-01"},
		{Name: "leave", Then: []string{"network.member_left"}, Do: member("leave", edc, "", "", "2022-01-01", "the project ended")},
		{Name: "leave twice", Do: member("leave", edc, "", "", "2022-02-01", ""), Kind: domain.NotFound, Text: "not a member"},
		{Name: "the hub becomes a member", Then: []string{"network.member_role_changed"}, Do: member("role", cif, "member", "", "2022-02-01", "")},
		{Name: "the same role changes nothing", Then: []string{}, Do: member("role", cif, "member", "", "2022-03-01", "")},
		{Name: "rejoin", Then: []string{"network.member_joined"}, Do: join(edc, "partner", "", "2023-01-01")},
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
		"network.formed":              network.Formed{},
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
