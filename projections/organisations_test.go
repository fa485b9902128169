package projections_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/projections"
	"github.com/civicledger/civicledger/projections/projtest"
)

// orgHistory is the history the organisation tests share, written through
// registry.Service after the seed: seven organisations registered one
// after another, then renamed, given new contact details, moved, closed
// and reopened, and a command that changes nothing.
type orgHistory struct {
	head int64
	// after is the position of the second registration: a crash after it
	// falls among organisation events.
	after int64
	ids   map[string]string // by nickname
	// want is each organisation as the read model must show it, by
	// nickname; newest lists the nicknames newest first, by registration
	// time and then ID, as lists are ordered.
	want map[string]projections.Organisation
	// places holds each organisation's region and municipality codes,
	// which the read model returns joined as Region and Municipality.
	places map[string][2]string
	newest []string
}

// withoutPlaces splits an organisation as read into the rest and its
// region and municipality codes, to compare with orgHistory.
func withoutPlaces(o projections.Organisation) (projections.Organisation, [2]string) {
	var codes [2]string
	if o.Region != nil {
		codes[0] = o.Region.Code
	}
	if o.Municipality != nil {
		codes[1] = o.Municipality.Code
	}
	o.Region, o.Municipality = nil, nil
	return o, codes
}

// The organisations' nicknames, in order of registration.
var orgNicknames = []string{"youth", "women", "hub", "donor", "green", "lab", "biz"}

func makeOrgHistory(t testing.TB, e *domainEnv) orgHistory {
	t.Helper()
	ctx := context.Background()
	h := orgHistory{ids: map[string]string{}, want: map[string]projections.Organisation{}, places: map[string][2]string{}}
	ngo := "non-commercial legal entity"
	registrations := map[string]registry.RegisterOrganisation{
		"youth": {Kind: registry.CSO, Name: domain.LocalizedText{Ka: "რუსთავის ახალგაზრდული კლუბი", En: "Rustavi Youth Club"},
			LegalForm: ngo, Municipality: "rustavi", Contact: registry.Contact{Email: "club@youth.example.ge"},
			Website: "https://youth.example.ge", Founded: "2010-04-01"},
		"women": {Kind: registry.CBO, Name: domain.LocalizedText{Ka: "მარნეულის ქალთა ფორუმი", En: "Marneuli Women's Forum"},
			LegalForm: ngo, Region: "kvemo-kartli", Municipality: "bolnisi", Contact: registry.Contact{Phone: "+995 357 00 11 22"}},
		"hub": {Kind: registry.RegionalHub, Name: domain.LocalizedText{Ka: "გურიის რეგიონული ჰაბი", En: "Guria Regional Hub"},
			LegalForm: ngo, Municipality: "ozurgeti", Founded: "2015-09-01"},
		// Written in capitals (Mtavruli), as on its logo.
		"donor": {Kind: registry.Donor, Name: domain.LocalizedText{Ka: "ᲦᲘᲐ ᲡᲐᲖᲝᲒᲐᲓᲝᲔᲑᲘᲡ ᲤᲝᲜᲓᲘ", En: "Open Society Fund"},
			Website: "https://donor.example.org"},
		"green": {Kind: registry.Media, Name: domain.LocalizedText{Ka: "100% მწვანე ბათუმი", En: "100% Green Batumi"},
			Municipality: "batumi"},
		"lab": {Kind: registry.Academic, Name: domain.LocalizedText{Ka: "თბილისის სახელმწიფო ლაბორატორია", En: "Tbilisi_State Lab"},
			LegalForm: "legal entity of public law", Region: "tbilisi", Municipality: "tbilisi"},
		"biz": {Kind: registry.Business, Name: domain.LocalizedText{Ka: "ქუთაისის ბიზნეს ასოციაცია", En: "Kutaisi Business Association"},
			Municipality: "kutaisi", Founded: "1999-12-01"},
	}
	for i, nick := range orgNicknames {
		id, _, err := e.registry.RegisterOrganisation(ctx, asSystem(), registrations[nick])
		if err != nil {
			t.Fatalf("register %s: %v", nick, err)
		}
		h.ids[nick] = id
		if i == 1 {
			h.after = e.settle(t)
		}
	}
	centre := domain.LocalizedText{Ka: "რუსთავის ახალგაზრდული ცენტრი", En: "Rustavi Youth Centre"}
	contact := registry.Contact{Email: "info@youth.example.ge", Phone: "+995 341 22 33 44", Address: "Rustavi, Kostava St 1", Person: "Nino Beridze"}
	steps := []struct {
		what string
		do   func() (eventstore.AppendResult, error)
	}{
		{"rename youth", func() (eventstore.AppendResult, error) {
			return e.registry.RenameOrganisation(ctx, asSystem(), registry.RenameOrganisation{ID: h.ids["youth"], Name: centre})
		}},
		{"change youth's contact", func() (eventstore.AppendResult, error) {
			return e.registry.ChangeOrganisationContact(ctx, asSystem(), registry.ChangeOrganisationContact{ID: h.ids["youth"], Contact: contact})
		}},
		{"move women", func() (eventstore.AppendResult, error) {
			return e.registry.MoveOrganisation(ctx, asSystem(), registry.MoveOrganisation{ID: h.ids["women"], Municipality: "marneuli"})
		}},
		{"close hub", func() (eventstore.AppendResult, error) {
			return e.registry.CloseOrganisation(ctx, asSystem(), registry.CloseOrganisation{ID: h.ids["hub"], Reason: "funding ended", On: "2025-12-31"})
		}},
		{"reopen hub", func() (eventstore.AppendResult, error) {
			return e.registry.ReopenOrganisation(ctx, asSystem(), registry.ReopenOrganisation{ID: h.ids["hub"], On: "2026-02-01"})
		}},
		{"close biz", func() (eventstore.AppendResult, error) {
			return e.registry.CloseOrganisation(ctx, asSystem(), registry.CloseOrganisation{ID: h.ids["biz"], Reason: "merged into a chamber", On: "2026-01-15"})
		}},
	}
	for _, s := range steps {
		if _, err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
	}
	h.head = e.settle(t)
	// The same name again changes nothing, and writes nothing.
	res, err := e.registry.RenameOrganisation(ctx, asSystem(), registry.RenameOrganisation{ID: h.ids["youth"], Name: centre})
	if err != nil || res.Version != 3 {
		t.Fatalf("renaming youth to its name = version %d, %v; want version 3 and nothing written", res.Version, err)
	}
	if head := e.settle(t); head != h.head || head != 81+7+6 {
		t.Fatalf("the log ends at %d, want %d: seed, 7 registrations, 6 changes, and nothing for the no-op", head, 81+7+6)
	}

	// What the read model must show: the commands' values, with the times
	// and versions the store recorded.
	for _, nick := range orgNicknames {
		c := registrations[nick]
		h.want[nick] = projections.Organisation{
			ID: h.ids[nick], Kind: c.Kind, Name: c.Name, LegalForm: c.LegalForm,
			Contact: contactOf(c.Contact), Website: c.Website, Founded: c.Founded, Status: projections.Active,
		}
		h.places[nick] = [2]string{c.Region, c.Municipality}
	}
	set := func(nick string, change func(o *projections.Organisation)) {
		o := h.want[nick]
		change(&o)
		h.want[nick] = o
	}
	place := func(nick string, i int, code string) {
		p := h.places[nick]
		p[i] = code
		h.places[nick] = p
	}
	set("youth", func(o *projections.Organisation) { o.Name, o.Contact = centre, contactOf(contact) })
	place("youth", 0, "kvemo-kartli")
	place("women", 1, "marneuli")
	place("hub", 0, "guria")
	place("green", 0, "adjara")
	place("biz", 0, "imereti")
	set("biz", func(o *projections.Organisation) {
		o.Status, o.ClosedOn, o.ClosedReason = projections.Closed, "2026-01-15", "merged into a chamber"
	})
	for _, nick := range orgNicknames {
		stream, err := e.store.ReadStream(ctx, registry.OrganisationStream(h.ids[nick]), eventstore.ReadOptions{})
		if err != nil || len(stream) == 0 {
			t.Fatalf("read %s's stream: %d events, %v", nick, len(stream), err)
		}
		set(nick, func(o *projections.Organisation) {
			o.Version = stream[len(stream)-1].Version
			o.RegisteredAt, o.UpdatedAt = stream[0].RecordedAt, stream[len(stream)-1].RecordedAt
		})
	}
	h.newest = slices.Clone(orgNicknames)
	slices.SortFunc(h.newest, func(a, b string) int {
		if c := h.want[b].RegisteredAt.Compare(h.want[a].RegisteredAt); c != 0 {
			return c
		}
		return strings.Compare(h.ids[b], h.ids[a])
	})
	return h
}

// nicknames names the organisations of a page, for messages that say
// which organisations came back rather than which UUIDs.
func (h orgHistory) nicknames(orgs []projections.Organisation) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
		for nick, id := range h.ids {
			if id == o.ID {
				out[i] = nick
			}
		}
	}
	return out
}

func TestOrganisationsIdempotent(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	makeOrgHistory(t, e)
	events := e.log(t)
	projtest.Idempotent(t, e.pool, projections.Organisations{}, events)
	checkOlderEventsChangeNothing(t, e.pool, projections.Organisations{}, events)
}

func TestOrganisationsCrashBeforeCheckpoint(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeOrgHistory(t, e)
	checkCrashRecovery(t, e, projections.Organisations{}, h.head, h.after)
}

func TestOrganisationsRebuild(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeOrgHistory(t, e)
	r := e.startRunner(t, h.head, projections.Places{}, projections.Organisations{}) // read joined with places
	checkRebuild(t, e, r, projections.Organisations{}, h.head, func(ctx context.Context) (string, error) {
		page, err := e.reads.Organisations(ctx, projections.OrganisationFilter{}, projections.Page{First: projections.MaxPage})
		if err != nil {
			return "", err
		}
		closed, err := e.reads.CountOrganisations(ctx, projections.OrganisationFilter{Status: projections.Closed})
		if err != nil {
			return "", err
		}
		youth, err := e.reads.Organisation(ctx, h.ids["youth"])
		// Printed without pointers, whose addresses differ every time.
		var b strings.Builder
		for i, o := range append(page.Nodes, youth) {
			rest, places := withoutPlaces(o)
			fmt.Fprintf(&b, "%+v %v\n", rest, places)
			if i < len(page.Cursors) {
				b.WriteString(page.Cursors[i] + "\n")
			}
		}
		fmt.Fprintf(&b, "has next %v, %d closed", page.HasNext, closed)
		return b.String(), err
	})
}

func TestOrganisationsQueries(t *testing.T) {
	t.Parallel()
	e := newDomainEnv(t)
	e.seedRegistry(t)
	h := makeOrgHistory(t, e)
	// Places too: organisations are read joined with their places.
	e.startRunner(t, h.head, projections.Places{}, projections.Organisations{})
	ctx := context.Background()

	t.Run("Organisation", func(t *testing.T) {
		for _, nick := range orgNicknames {
			got, err := e.reads.Organisation(ctx, h.ids[nick])
			if err != nil {
				t.Errorf("Organisation(%s) = %v", nick, err)
				continue
			}
			rest, places := withoutPlaces(got)
			if diff := cmp.Diff(h.want[nick], rest); diff != "" {
				t.Errorf("Organisation(%s) (-want +got):\n%s", nick, diff)
			}
			if places != h.places[nick] {
				t.Errorf("Organisation(%s) is in %v, want %v", nick, places, h.places[nick])
			}
		}
		for _, id := range []string{eventstore.NewID().String(), "", "not-an-id"} {
			if o, err := e.reads.Organisation(ctx, id); domain.KindOf(err) != domain.NotFound {
				t.Errorf("Organisation(%q) = %+v, %v (kind %s), want kind %s", id, o, err, domain.KindOf(err), domain.NotFound)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		all := orgNicknames
		except := func(nicks ...string) []string {
			return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(nicks, n) })
		}
		tests := []struct {
			name   string
			filter projections.OrganisationFilter
			want   []string // nicknames, in any order
		}{
			{"none", projections.OrganisationFilter{}, all},
			{"Georgian", projections.OrganisationFilter{Search: "ახალგაზრდული"}, []string{"youth"}},
			{"Georgian capitals (Mtavruli)", projections.OrganisationFilter{Search: "ᲠᲣᲡᲗᲐᲕᲘᲡ"}, []string{"youth"}},
			{"Georgian, the name in capitals", projections.OrganisationFilter{Search: "საზოგადოების ფონდი"}, []string{"donor"}},
			{"English", projections.OrganisationFilter{Search: "forum"}, []string{"women"}},
			{"English, other case, spaces", projections.OrganisationFilter{Search: "  rUsTaVi YOUTH "}, []string{"youth"}},
			{"current name only", projections.OrganisationFilter{Search: "club"}, nil},
			{"a word in both languages", projections.OrganisationFilter{Search: "ბათუმი"}, []string{"green"}},
			{"percent sign", projections.OrganisationFilter{Search: "%"}, []string{"green"}},
			{"percent sign inside", projections.OrganisationFilter{Search: "0% g"}, []string{"green"}},
			{"two percent signs", projections.OrganisationFilter{Search: "%%"}, nil},
			{"underscore", projections.OrganisationFilter{Search: "_"}, []string{"lab"}},
			{"underscore inside", projections.OrganisationFilter{Search: "i_s"}, []string{"lab"}},
			{"backslash", projections.OrganisationFilter{Search: `\`}, nil},
			{"backslash before a wildcard", projections.OrganisationFilter{Search: `\%`}, nil},
			{"kinds", projections.OrganisationFilter{Kinds: []registry.OrganisationKind{registry.CSO, registry.CBO}}, []string{"youth", "women"}},
			{"one kind", projections.OrganisationFilter{Kinds: []registry.OrganisationKind{registry.Donor}}, []string{"donor"}},
			{"region", projections.OrganisationFilter{Region: "kvemo-kartli"}, []string{"youth", "women"}},
			{"region from the municipality", projections.OrganisationFilter{Region: "adjara"}, []string{"green"}},
			{"municipality moved to", projections.OrganisationFilter{Municipality: "marneuli"}, []string{"women"}},
			{"municipality moved from", projections.OrganisationFilter{Municipality: "bolnisi"}, nil},
			{"closed", projections.OrganisationFilter{Status: projections.Closed}, []string{"biz"}},
			{"active, the reopened too", projections.OrganisationFilter{Status: projections.Active}, except("biz")},
			{"all fields", projections.OrganisationFilter{Search: "ფორუმი", Kinds: []registry.OrganisationKind{registry.CBO, registry.Media},
				Region: "kvemo-kartli", Municipality: "marneuli", Status: projections.Active}, []string{"women"}},
			{"fields that exclude each other", projections.OrganisationFilter{Search: "kutaisi", Status: projections.Active}, nil},
		}
		for _, tt := range tests {
			var want []string
			for _, nick := range h.newest {
				if slices.Contains(tt.want, nick) {
					want = append(want, nick)
				}
			}
			page, err := e.reads.Organisations(ctx, tt.filter, projections.Page{First: projections.MaxPage})
			if err != nil {
				t.Errorf("%s: Organisations(%+v) = %v", tt.name, tt.filter, err)
				continue
			}
			if got := h.nicknames(page.Nodes); !slices.Equal(got, want) || page.HasNext {
				t.Errorf("%s: Organisations(%+v) = %v, hasNext %v; want %v, newest first, hasNext false", tt.name, tt.filter, got, page.HasNext, want)
			}
			n, err := e.reads.CountOrganisations(ctx, tt.filter)
			if err != nil || n != len(want) {
				t.Errorf("%s: CountOrganisations(%+v) = %d, %v; want %d", tt.name, tt.filter, n, err, len(want))
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		tests := []struct {
			first   int
			filter  projections.OrganisationFilter
			pages   []int // sizes
			visited []string
		}{
			{first: 2, pages: []int{2, 2, 2, 1}, visited: h.newest},
			{first: 7, pages: []int{7}, visited: h.newest},
			{first: 6, pages: []int{6, 1}, visited: h.newest},
			{first: 4, filter: projections.OrganisationFilter{Status: projections.Active}, pages: []int{4, 2},
				visited: slices.DeleteFunc(slices.Clone(h.newest), func(n string) bool { return n == "biz" })},
		}
		for _, tt := range tests {
			var visited []string
			var sizes []int
			after := ""
			for len(sizes) < 10 {
				page, err := e.reads.Organisations(ctx, tt.filter, projections.Page{First: tt.first, After: after})
				if err != nil {
					t.Fatalf("Organisations(%+v, first %d, after %q) = %v", tt.filter, tt.first, after, err)
				}
				if len(page.Cursors) != len(page.Nodes) {
					t.Fatalf("a page of %d organisations has %d cursors", len(page.Nodes), len(page.Cursors))
				}
				sizes = append(sizes, len(page.Nodes))
				visited = append(visited, h.nicknames(page.Nodes)...)
				if last := len(sizes) == len(tt.pages); page.HasNext == last {
					t.Errorf("first %d, %+v: page %d (of %d) has hasNext %v", tt.first, tt.filter, len(sizes), len(tt.pages), page.HasNext)
				}
				if !page.HasNext || len(page.Cursors) == 0 {
					break
				}
				after = page.Cursors[len(page.Cursors)-1]
			}
			if !slices.Equal(sizes, tt.pages) || !slices.Equal(visited, tt.visited) {
				t.Errorf("first %d, %+v: pages of %v visiting %v; want pages of %v visiting %v, each once, newest first",
					tt.first, tt.filter, sizes, visited, tt.pages, tt.visited)
			}
		}
	})

	t.Run("invalid pages", func(t *testing.T) {
		b64 := base64.RawURLEncoding.EncodeToString
		tests := []struct {
			name string
			page projections.Page
		}{
			{"first 0", projections.Page{First: 0}},
			{"first negative", projections.Page{First: -1}},
			{"first over the maximum", projections.Page{First: projections.MaxPage + 1}},
			{"cursor not base64", projections.Page{First: 2, After: "not a cursor!"}},
			{"cursor without separator", projections.Page{First: 2, After: b64([]byte("1772345000000000"))}},
			{"cursor with a word for a time", projections.Page{First: 2, After: b64([]byte("yesterday:" + h.ids["youth"]))}},
			{"cursor without an ID", projections.Page{First: 2, After: b64([]byte("1772345000000000:"))}},
			{"cursor in padded base64", projections.Page{First: 2, After: base64.StdEncoding.EncodeToString([]byte("1772345000000000:" + h.ids["youth"]))}},
		}
		for _, tt := range tests {
			page, err := e.reads.Organisations(ctx, projections.OrganisationFilter{}, tt.page)
			if domain.KindOf(err) != domain.Invalid {
				t.Errorf("%s: Organisations(%+v) = %d organisations, %v (kind %s); want kind %s",
					tt.name, tt.page, len(page.Nodes), err, domain.KindOf(err), domain.Invalid)
			}
		}
		if page, err := e.reads.Organisations(ctx, projections.OrganisationFilter{}, projections.Page{First: projections.MaxPage}); err != nil || len(page.Nodes) != 7 {
			t.Errorf("Organisations(first %d) = %d organisations, %v; want all 7", projections.MaxPage, len(page.Nodes), err)
		}
	})
}

// contactOf is a contact as the read model keeps it.
func contactOf(c registry.Contact) projections.Contact {
	return projections.Contact{Email: c.Email, Phone: c.Phone, Address: c.Address, Person: c.Person}
}
