package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// now is the time of every command in these tests; dates after its day are
// in the future.
var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// Fixtures. Names and populations come from the seed data; IDs and contact
// details are illustrative.
var (
	kvemoKartli = registry.RegionRegistered{
		Code: "kvemo-kartli", Name: domain.LocalizedText{Ka: "ქვემო ქართლი", En: "Kvemo Kartli"},
		Kind: registry.OrdinaryRegion, Capital: "Rustavi",
	}
	guria = registry.RegionRegistered{
		Code: "guria", Name: domain.LocalizedText{Ka: "გურია", En: "Guria"},
		Kind: registry.OrdinaryRegion, Capital: "Ozurgeti",
	}
	rustavi = registry.MunicipalityRegistered{
		Code: "rustavi", Name: domain.LocalizedText{Ka: "რუსთავი", En: "Rustavi"},
		Region: "kvemo-kartli", Kind: registry.SelfGoverningCity, Population2014: ptr(125103),
	}
	marneuli = registry.MunicipalityRegistered{
		Code: "marneuli", Name: domain.LocalizedText{Ka: "მარნეული", En: "Marneuli"},
		Region: "kvemo-kartli", Kind: registry.OrdinaryMunicipality, Population2014: ptr(104300),
	}
	ozurgeti = registry.MunicipalityRegistered{
		Code: "ozurgeti", Name: domain.LocalizedText{Ka: "ოზურგეთი", En: "Ozurgeti"},
		Region: "guria", Kind: registry.OrdinaryMunicipality, Population2014: ptr(62863),
	}

	hubID = "0190c3e4-5b6a-7d8e-9f01-23456789abcd"
	hub   = registry.OrganisationRegistered{
		ID: hubID, Kind: registry.RegionalHub,
		Name:      domain.LocalizedText{Ka: "სამოქალაქო ინტეგრაციის ფონდი", En: "Civic Integration Foundation"},
		LegalForm: "non-commercial legal entity",
		Region:    "kvemo-kartli", Municipality: "rustavi",
		Contact: registry.Contact{Email: "info@example.org", Phone: "+995 341 00 00 00", Address: "Rustavi", Person: "Nino"},
		Website: "https://example.org", Founded: "2004-05-12",
	}
	hubClosed = registry.OrganisationClosed{ID: hubID, Reason: "funding ended", On: "2025-12-31"}
)

func ptr(n int) *int { return &n }

// streamOf names the stream an event belongs to, written out here rather
// than taken from the package so that a wrong stream name fails a test.
func streamOf(t testing.TB, e domain.Event) string {
	t.Helper()
	switch e := e.(type) {
	case registry.RegionRegistered:
		return "region-" + e.Code
	case registry.MunicipalityRegistered:
		return "municipality-" + e.Code
	case registry.OrganisationRegistered:
		return "organisation-" + e.ID
	case registry.OrganisationRenamed:
		return "organisation-" + e.ID
	case registry.OrganisationContactChanged:
		return "organisation-" + e.ID
	case registry.OrganisationMoved:
		return "organisation-" + e.ID
	case registry.OrganisationClosed:
		return "organisation-" + e.ID
	case registry.OrganisationReopened:
		return "organisation-" + e.ID
	}
	t.Fatalf("streamOf: unknown event %T", e)
	return ""
}

// recorded is an event with its stream, as compared in the then part.
type recorded struct {
	Stream string
	Event  domain.Event
}

// newService returns a service over an empty in-memory store.
func newService(t testing.TB) (*registry.Service, *inmem.Store) {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	store := inmem.New()
	return &registry.Service{Repo: &domain.Repository{Store: store, Types: types, Keys: &domain.MemoryKeyring{}}}, store
}

// metaAs returns a command's meta for an actor of the given role; "" is an
// admin.
func metaAs(role domain.Role) domain.Meta {
	switch role {
	case "":
		role = domain.Admin
	case domain.Anonymous:
		return domain.Meta{Actor: domain.Actor{Role: domain.Anonymous}, Now: now}
	}
	return domain.Meta{Actor: domain.Actor{ID: "key:test-" + string(role), Role: role}, CorrelationID: "test", Now: now}
}

// given appends events to their streams, as the system would have.
func given(t testing.TB, repo *domain.Repository, events ...domain.Event) {
	t.Helper()
	versions := map[string]int64{}
	for _, e := range events {
		stream := streamOf(t, e)
		res, err := repo.Save(context.Background(), stream, versions[stream], metaAs(domain.System), e)
		if err != nil {
			t.Fatalf("given %s: %v", stream, err)
		}
		versions[stream] = res.Version
	}
}

// appendedSince returns the events of the log after position, decoded.
func appendedSince(t testing.TB, svc *registry.Service, after int64) []recorded {
	t.Helper()
	stored, err := svc.Repo.Store.ReadAll(context.Background(), after, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Repo.Types.Unseal(context.Background(), svc.Repo.Keys, stored); err != nil {
		t.Fatal(err)
	}
	var out []recorded
	for _, se := range stored {
		e, err := svc.Repo.Types.Decode(se)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recorded{Stream: se.Stream, Event: e})
	}
	return out
}

// execute runs a command through its Service method.
func execute(ctx context.Context, svc *registry.Service, meta domain.Meta, cmd any) (eventstore.AppendResult, error) {
	switch c := cmd.(type) {
	case registry.RegisterRegion:
		return svc.RegisterRegion(ctx, meta, c)
	case registry.RegisterMunicipality:
		return svc.RegisterMunicipality(ctx, meta, c)
	case registry.RegisterOrganisation:
		_, res, err := svc.RegisterOrganisation(ctx, meta, c)
		return res, err
	case registry.RenameOrganisation:
		return svc.RenameOrganisation(ctx, meta, c)
	case registry.ChangeOrganisationContact:
		return svc.ChangeOrganisationContact(ctx, meta, c)
	case registry.MoveOrganisation:
		return svc.MoveOrganisation(ctx, meta, c)
	case registry.CloseOrganisation:
		return svc.CloseOrganisation(ctx, meta, c)
	case registry.ReopenOrganisation:
		return svc.ReopenOrganisation(ctx, meta, c)
	}
	panic(fmt.Sprintf("execute: unknown command %T", cmd))
}

// spec is one row of a command test: given events, when a command issued
// by an actor of role, then the events appended (and the version returned),
// or an error of kind whose message contains text and nothing appended.
type spec struct {
	name    string
	given   []domain.Event
	role    domain.Role // "" is admin
	when    any
	then    []domain.Event
	version int64
	kind    domain.Kind
	text    string
}

func run(t *testing.T, specs []spec) {
	t.Helper()
	for _, tc := range specs {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			svc, store := newService(t)
			given(t, svc.Repo, tc.given...)
			before, err := store.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res, err := execute(ctx, svc, metaAs(tc.role), tc.when)
			appended := appendedSince(t, svc, before)

			if tc.kind != "" {
				if domain.KindOf(err) != tc.kind || !strings.Contains(domain.MessageOf(err), tc.text) {
					t.Errorf("%T = error %v (kind %s), want kind %s containing %q", tc.when, err, domain.KindOf(err), tc.kind, tc.text)
				}
				if len(appended) != 0 {
					t.Errorf("%T failed but appended %+v; want nothing written", tc.when, appended)
				}
				return
			}
			if err != nil {
				t.Fatalf("%T = error %v (kind %s), want success", tc.when, err, domain.KindOf(err))
			}
			var want []recorded
			for _, e := range tc.then {
				want = append(want, recorded{Stream: streamOf(t, e), Event: e})
			}
			if diff := cmp.Diff(want, appended); diff != "" {
				t.Errorf("%T appended (-want +got):\n%s", tc.when, diff)
			}
			if res.Version != tc.version {
				t.Errorf("%T returned version %d, want %d", tc.when, res.Version, tc.version)
			}
		})
	}
}

// TestEventsRoundTrip holds every event type to its stored name and JSON
// shape, which outlive the Go types, and checks that each decodes back to
// the value it was saved from.
func TestEventsRoundTrip(t *testing.T) {
	tests := []struct {
		event domain.Event
		typ   string
		json  string
	}{
		{kvemoKartli, "registry.region_registered",
			`{"code":"kvemo-kartli","name":{"ka":"ქვემო ქართლი","en":"Kvemo Kartli"},"kind":"region","capital":"Rustavi"}`},
		{rustavi, "registry.municipality_registered",
			`{"code":"rustavi","name":{"ka":"რუსთავი","en":"Rustavi"},"region":"kvemo-kartli","kind":"self-governing-city","population_2014":125103}`},
		{registry.MunicipalityRegistered{Code: "kurta", Name: domain.LocalizedText{Ka: "ქურთა", En: "Kurta"}, Region: "shida-kartli", Kind: registry.OccupiedMunicipality},
			"registry.municipality_registered",
			`{"code":"kurta","name":{"ka":"ქურთა","en":"Kurta"},"region":"shida-kartli","kind":"occupied","population_2014":null}`},
		{hub, "registry.organisation_registered",
			`{"id":"` + hubID + `","kind":"regional_hub","name":{"ka":"სამოქალაქო ინტეგრაციის ფონდი","en":"Civic Integration Foundation"},` +
				`"legal_form":"non-commercial legal entity","region":"kvemo-kartli","municipality":"rustavi",` +
				`"contact":{"email":"info@example.org","phone":"+995 341 00 00 00","address":"Rustavi","person":"Nino"},` +
				`"website":"https://example.org","founded":"2004-05-12"}`},
		{registry.OrganisationRenamed{ID: hubID, Name: domain.LocalizedText{Ka: "ფონდი"}}, "registry.organisation_renamed",
			`{"id":"` + hubID + `","name":{"ka":"ფონდი"}}`},
		{registry.OrganisationContactChanged{ID: hubID, Contact: registry.Contact{Email: "a@example.org"}}, "registry.organisation_contact_changed",
			`{"id":"` + hubID + `","contact":{"email":"a@example.org","phone":"","address":"","person":""}}`},
		{registry.OrganisationMoved{ID: hubID, Region: "guria", Municipality: "ozurgeti"}, "registry.organisation_moved",
			`{"id":"` + hubID + `","region":"guria","municipality":"ozurgeti"}`},
		{hubClosed, "registry.organisation_closed",
			`{"id":"` + hubID + `","reason":"funding ended","on":"2025-12-31"}`},
		{registry.OrganisationReopened{ID: hubID, On: "2026-01-15"}, "registry.organisation_reopened",
			`{"id":"` + hubID + `","on":"2026-01-15"}`},
	}
	ctx := t.Context()
	svc, store := newService(t)
	for i, tc := range tests {
		if got := tc.event.EventType(); got != tc.typ {
			t.Errorf("%T.EventType() = %q, want %q (stored names are never renamed)", tc.event, got, tc.typ)
		}
		if !svc.Repo.Types.Known(tc.typ) {
			t.Errorf("RegisterEvents does not register %s", tc.typ)
			continue
		}
		stream := fmt.Sprintf("test-%d", i)
		if _, err := svc.Repo.Save(ctx, stream, 0, metaAs(domain.System), tc.event); err != nil {
			t.Fatalf("save %s: %v", tc.typ, err)
		}
		stored, err := store.ReadStream(ctx, stream, eventstore.ReadOptions{})
		if err != nil || len(stored) != 1 {
			t.Fatalf("read %s: %d events, %v", stream, len(stored), err)
		}
		// Personal data is stored sealed; opened, it is the event's.
		if strings.Contains(string(stored[0].Data), "@") || strings.Contains(string(stored[0].Data), "Nino") {
			t.Errorf("stored %s holds personal data in plain text: %s", tc.typ, stored[0].Data)
		}
		if _, err := svc.Repo.Types.Unseal(ctx, svc.Repo.Keys, stored); err != nil {
			t.Fatalf("unseal %s: %v", tc.typ, err)
		}
		var gotJSON, wantJSON any
		if err := json.Unmarshal(stored[0].Data, &gotJSON); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.json), &wantJSON); err != nil {
			t.Fatalf("test JSON for %s: %v", tc.typ, err)
		}
		if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
			t.Errorf("stored %s data (-want +got):\n%s", tc.typ, diff)
		}
		decoded, err := svc.Repo.Types.Decode(stored[0])
		if err != nil {
			t.Fatalf("decode %s: %v", tc.typ, err)
		}
		if diff := cmp.Diff(tc.event, decoded); diff != "" {
			t.Errorf("%s round trip (-saved +decoded):\n%s", tc.typ, diff)
		}
	}
}

// TestApplyRefusesUnknownEvents: a stream holding an event its aggregate
// cannot interpret is a bug to surface, not to skip.
func TestApplyRefusesUnknownEvents(t *testing.T) {
	foreign := registry.OrganisationRenamed{ID: hubID, Name: domain.LocalizedText{Ka: "x"}}
	if err := new(registry.Region).Apply(foreign); err == nil {
		t.Error("Region.Apply(OrganisationRenamed) succeeded, want an error")
	}
	if err := new(registry.Municipality).Apply(kvemoKartli); err == nil {
		t.Error("Municipality.Apply(RegionRegistered) succeeded, want an error")
	}
	o := new(registry.Organisation)
	if err := o.Apply(foreign); err == nil {
		t.Error("Organisation.Apply(OrganisationRenamed) before registration succeeded, want an error")
	}
	if err := o.Apply(hub); err != nil {
		t.Fatal(err)
	}
	if err := o.Apply(rustavi); err == nil {
		t.Error("Organisation.Apply(MunicipalityRegistered) succeeded, want an error")
	}
	if err := o.Apply(hub); err == nil {
		t.Error("Organisation.Apply(OrganisationRegistered) twice succeeded, want an error")
	}
}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want registry.OrganisationKind
	}{
		{"cso", registry.CSO}, {" Regional_Hub ", registry.RegionalHub}, {"government_body", registry.GovernmentBody},
	} {
		if got, err := registry.ParseOrganisationKind(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseOrganisationKind(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "ngo", "regional-hub"} {
		if _, err := registry.ParseOrganisationKind(bad); domain.KindOf(err) != domain.Invalid || !strings.Contains(err.Error(), "kind: ") {
			t.Errorf("ParseOrganisationKind(%q) = %v, want Invalid naming the field", bad, err)
		}
	}
	if k, err := registry.ParseRegionKind("autonomous-republic"); err != nil || k != registry.AutonomousRepublic {
		t.Errorf("ParseRegionKind(autonomous-republic) = %q, %v", k, err)
	}
	if _, err := registry.ParseRegionKind("oblast"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("ParseRegionKind(oblast) = %v, want Invalid", err)
	}
	if k, err := registry.ParseMunicipalityKind("Occupied"); err != nil || k != registry.OccupiedMunicipality {
		t.Errorf("ParseMunicipalityKind(Occupied) = %q, %v", k, err)
	}
	if _, err := registry.ParseMunicipalityKind("city"); domain.KindOf(err) != domain.Invalid {
		t.Errorf("ParseMunicipalityKind(city) = %v, want Invalid", err)
	}
}
