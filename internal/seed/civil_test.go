package seed

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
)

// civilNow is the import's time in the tests: after every day of the demo.
var civilNow = time.Date(2026, 3, 1, 10, 0, 0, 0, domain.Tbilisi)

// newCivil returns the services over one in-memory store, decoding with
// the catalog the server uses, with the registry loaded.
func newCivil(t testing.TB) (CivilServices, *inmem.Store) {
	t.Helper()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	s := CivilServices{
		Registry:   &registry.Service{Repo: repo},
		Networks:   &network.Service{Repo: repo},
		Projects:   &project.Service{Repo: repo},
		Activities: &activity.Service{Repo: repo},
	}
	if _, err := Registry(t.Context(), s.Registry, meta); err != nil {
		t.Fatalf("Registry: %v", err)
	}
	return s, store
}

// hubRegions are the ten regions of Georgia with a CSSIGE hub: every
// first-level unit but Tbilisi and Abkhazia.
var hubRegions = []string{"adjara", "guria", "imereti", "kakheti", "kvemo-kartli", "mtskheta-mtianeti",
	"racha-lechkhumi-kvemo-svaneti", "samegrelo-zemo-svaneti", "samtskhe-javakheti", "shida-kartli"}

func TestCivilSociety(t *testing.T) {
	ctx := t.Context()
	s, store := newCivil(t)
	before := head(t, store)

	rep, err := CivilSociety(ctx, s, civilNow)
	if err != nil {
		t.Fatalf("CivilSociety: %v", err)
	}
	want := CivilReport{Organisations: 20, Networks: 2, Members: 17, Projects: 2, Indicators: 3,
		Activities: 36, Held: 35, Cancelled: 1, Events: int(head(t, store) - before)}
	if rep != want {
		t.Errorf("CivilSociety = %+v, want %+v", rep, want)
	}
	repo := s.Networks.Repo
	org := func(id string) *registry.Organisation {
		t.Helper()
		o, _, err := s.Registry.Organisation(ctx, id)
		if err != nil {
			t.Fatalf("organisation %s: %v", id, err)
		}
		return o
	}
	names := func(ms map[string]network.Membership) []string {
		var out []string
		for id, m := range ms {
			out = append(out, fmt.Sprintf("%s:%s", org(id).Name().En, m.Role))
		}
		slices.Sort(out)
		return out
	}

	// The consortium, before and after IEP joined for the successor
	// programme.
	var cssige network.Network
	if _, err := repo.Load(ctx, network.Stream(CSSIGE), &cssige); err != nil {
		t.Fatal(err)
	}
	founders := []string{"Center for Strategic Research and Development of Georgia (CSRDG):member", "Center for Training and Consultancy (CTC):member",
		"Civil Society Institute (CSI):member", "Education Development and Employment Center (EDEC):member", "European Union:donor",
		"Konrad-Adenauer-Stiftung (KAS):lead"}
	if got := names(cssige.MembersOn("2019-03-01")); !slices.Equal(got, founders) {
		t.Errorf("CSSIGE members on 2019-03-01 = %q, want %q", got, founders)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(founders), "Institute for European Policy (IEP):member")))
	if got := names(cssige.Members()); !slices.Equal(got, all) {
		t.Errorf("CSSIGE members now = %q, want %q", got, all)
	}

	// One hub for each of the ten regions, CIF in Kvemo Kartli; the
	// others' names are invented, and say so.
	var hubs network.Network
	if _, err := repo.Load(ctx, network.Stream(CSSIGEHubs), &hubs); err != nil {
		t.Fatal(err)
	}
	var regions []string
	var cif string
	for id, m := range hubs.Members() {
		o := org(id)
		regions = append(regions, m.Region)
		if m.Role != network.RegionalHub || o.Kind() != registry.RegionalHub || o.Region() != m.Region {
			t.Errorf("hub %s: role %s, kind %s, based in %s, hub for %s; want a regional hub based in its region", o.Name().En, m.Role, o.Kind(), o.Region(), m.Region)
		}
		if m.Region == "kvemo-kartli" {
			cif = id
			if o.Name() != (domain.LocalizedText{Ka: "სამოქალაქო ინტეგრაციის ფონდი", En: "Civic Integration Foundation (CIF)"}) ||
				o.Contact().Email != "cifgeo@gmail.com" || o.Contact().Phone != "+995 032 2182266" {
				t.Errorf("Kvemo Kartli hub = %+v, %+v; want CIF with its phone and e-mail from the documents", o.Name(), o.Contact())
			}
		} else if !strings.Contains(o.Name().Ka, "[საილუსტრაციო]") || !strings.Contains(o.Name().En, "[illustrative]") {
			t.Errorf("hub for %s is named %+v; want it marked illustrative", m.Region, o.Name())
		}
	}
	slices.Sort(regions)
	if !slices.Equal(regions, hubRegions) {
		t.Errorf("hub regions = %v, want %v", regions, hubRegions)
	}

	// HEKS/EPER: its budget, the EU's share and three counted targets.
	heks := streamEventsOf(t, repo, project.Stream("heks-eper-2022"))
	reg, _ := heks[0].(project.Registered)
	if reg.Total == nil || *reg.Total != (project.Money{Minor: 124991000, Currency: "EUR"}) || reg.Start != "2022-01-01" || reg.End != "2025-06-30" {
		t.Errorf("HEKS/EPER registered as %+v; want EUR 1,249,910 from 2022-01-01 to 2025-06-30", reg)
	}
	var contributions []string
	for _, e := range heks {
		if c, ok := e.(project.ContributionRecorded); ok {
			contributions = append(contributions, org(c.Donor).Name().En+" "+c.Amount.String())
		}
	}
	if want := []string{"European Union EUR 999,100.00"}; !slices.Equal(contributions, want) {
		t.Errorf("HEKS/EPER contributions = %q, want %q", contributions, want)
	}
	var p project.Project
	if _, err := repo.Load(ctx, project.Stream("heks-eper-2022"), &p); err != nil {
		t.Fatal(err)
	}
	for id, target := range map[string]float64{"business-orgs": 50, "gov-reps": 70, "lg-trained": 60} {
		ind, ok := p.Indicator(id)
		pr, err := p.Progress(id, "2025-06-30")
		if !ok || err != nil || ind.Unit != project.Count || pr.Target == nil || pr.Target.Value != target {
			t.Errorf("HEKS/EPER indicator %s: %+v (%v), progress %+v, %v; want a count with target %v", id, ind, ok, pr, err, target)
		}
	}
	links := streamEventsOf(t, repo, project.Stream("strong-links-2"))
	if sl, _ := links[0].(project.Registered); !slices.Equal(sl.Regions, []string{"adjara", "guria", "shida-kartli"}) ||
		sl.Start != "2020-10-01" || sl.End != "2023-09-30" || sl.Lead != "ია გაბუნია (Ia Gabunia)" {
		t.Errorf("Building strong links registered as %+v; want Adjara, Guria, Shida Kartli from 2020-10-01 to 2023-09-30, led by Ia Gabunia", sl)
	}

	// The attendance of the linked activities, as corrected, is what the
	// indicators count.
	counted := map[string]int{}
	var cifInKvemoKartli int
	kinds := map[string]int{}
	for _, a := range demoActivities(t) {
		events := streamEventsOf(t, repo, activity.Stream(a.ID))
		sch := events[0].(activity.Scheduled)
		var act activity.Activity
		for _, e := range events {
			if err := act.Apply(e); err != nil {
				t.Fatal(err)
			}
			kinds[e.EventType()]++
		}
		if slices.Equal(sch.Organisers, []string{cif}) && sch.Region == "kvemo-kartli" {
			cifInKvemoKartli++
		}
		if act.Status() != activity.StatusHeld {
			continue
		}
		for _, l := range sch.Indicators {
			counted[l.Indicator] += l.Counted(act.Attendance())
		}
	}
	if want := map[string]int{"business-orgs": 45, "gov-reps": 89, "lg-trained": 61}; !mapsEqual(counted, want) {
		t.Errorf("attendees counted towards the HEKS/EPER indicators = %v, want %v", counted, want)
	}
	if cifInKvemoKartli < 10 {
		t.Errorf("%d activities organised by CIF in Kvemo Kartli, want 10 or more", cifInKvemoKartli)
	}
	for _, typ := range []string{"activity.rescheduled", "activity.cancelled", "activity.attendance_corrected"} {
		if kinds[typ] != 1 {
			t.Errorf("%d %s events, want 1", kinds[typ], typ)
		}
	}

	checkCivilLog(t, repo, store)

	// A second run, as on a server's next start, finds the consortium.
	before = head(t, store)
	rep, err = CivilSociety(ctx, s, civilNow)
	if err != nil || rep != (CivilReport{}) {
		t.Errorf("second CivilSociety = %+v, %v; want nothing loaded", rep, err)
	}
	if after := head(t, store); after != before {
		t.Errorf("second CivilSociety moved the log from %d to %d, want nothing written", before, after)
	}

	organisers, err := CivilOrganisers(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range hubRegions {
		if len(organisers[r]) != 1 {
			t.Errorf("CivilOrganisers[%s] = %v, want its hub", r, organisers[r])
		}
	}
	if !slices.Equal(organisers["kvemo-kartli"], []string{cif}) || len(organisers[""]) != 6 {
		t.Errorf("CivilOrganisers = %v; want CIF for Kvemo Kartli and the consortium's lead and five members for the rest", organisers)
	}
}

// checkCivilLog checks every event of the demo: its correlation, its
// actor, its day, and the marks on invented texts.
func checkCivilLog(t *testing.T, repo *domain.Repository, store *inmem.Store) {
	t.Helper()
	stored, err := store.ReadAll(t.Context(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Types.Unseal(t.Context(), repo.Keys, stored); err != nil {
		t.Fatal(err)
	}
	marked := func(where, text string) {
		t.Helper()
		if !strings.Contains(text, "[illustrative]") && !strings.Contains(text, "[საილუსტრაციო]") {
			t.Errorf("%s: %q is not marked illustrative", where, text)
		}
	}
	n := 0
	for _, se := range stored {
		r, err := repo.Types.DecodeRecorded(se)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(r.Stream, "region-") || strings.HasPrefix(r.Stream, "municipality-") {
			continue
		}
		n++
		where := fmt.Sprintf("%s v%d %s", r.Stream, r.Version, se.Type)
		if r.Metadata.CorrelationID != civilCorrelation {
			t.Errorf("%s: correlation %q, want %q", where, r.Metadata.CorrelationID, civilCorrelation)
		}
		if day := r.OccurredAt.In(domain.Tbilisi).Format(domain.DateLayout); day < "2017-01-01" || day > "2025-06-30" {
			t.Errorf("%s: occurred on %s, outside 2017-01-01 to 2025-06-30", where, day)
		}
		role := domain.Admin
		if strings.HasPrefix(r.Stream, "activity-") {
			role = domain.System
		}
		if r.Metadata.Role != string(role) {
			t.Errorf("%s: by %s (%s), want role %s", where, r.Metadata.Actor, r.Metadata.Role, role)
		}
		switch e := r.Event.(type) {
		case activity.Scheduled:
			marked(where+" title.ka", e.Title.Ka)
			marked(where+" title.en", e.Title.En)
			marked(where+" place", e.Place)
		case activity.Rescheduled:
			marked(where, e.Reason)
		case activity.Cancelled:
			marked(where, e.Reason)
		case activity.AttendanceCorrected:
			marked(where, e.Reason)
		}
	}
	if n == 0 {
		t.Fatal("no demo events in the log")
	}
}

func demoActivities(t testing.TB) []civilActivity {
	t.Helper()
	d, err := readDemo[civilDemo](civilSocietyData, civilFile)
	if err != nil {
		t.Fatal(err)
	}
	return d.Activities
}

func streamEventsOf(t testing.TB, repo *domain.Repository, stream string) []domain.Event {
	t.Helper()
	stored, err := repo.Store.ReadStream(t.Context(), stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 {
		t.Fatalf("no stream %s", stream)
	}
	if _, err := repo.Types.Unseal(t.Context(), repo.Keys, stored); err != nil {
		t.Fatal(err)
	}
	out := make([]domain.Event, len(stored))
	for i, se := range stored {
		if out[i], err = repo.Types.Decode(se); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCivilSocietyBeforeItsDays: an import dated before the demo's last
// day writes nothing.
func TestCivilSocietyBeforeItsDays(t *testing.T) {
	s, store := newCivil(t)
	before := head(t, store)
	_, err := CivilSociety(t.Context(), s, time.Date(2024, 1, 1, 12, 0, 0, 0, domain.Tbilisi))
	if err == nil || !strings.Contains(err.Error(), "is after today (2024-01-01): the demo records the past") {
		t.Errorf("CivilSociety on 2024-01-01 = %v; want the days after it refused", err)
	}
	if after := head(t, store); after != before {
		t.Errorf("CivilSociety on 2024-01-01 wrote %d events, want none", after-before)
	}
}

// TestCivilDemoMalformed: mistakes in a demo file stop the load before
// anything is written, naming the field.
func TestCivilDemoMalformed(t *testing.T) {
	tests := []struct {
		name string
		edit func(d map[string]any)
		want string
	}{
		{"unknown field", func(d map[string]any) { d["organisations"].([]any)[0].(map[string]any)["founded"] = "2001-01-01" },
			`unknown field "founded"`},
		{"organisation used before it is registered", func(d map[string]any) {
			d["organisations"].([]any)[1].(map[string]any)["registered_on"] = "2018-01-01"
		}, `networks[0].members[1].organisation: "csi" is used on 2017-01-01, before it is registered (2018-01-01)`},
		{"unknown organiser", func(d map[string]any) { d["activities"].([]any)[0].(map[string]any)["organisers"] = []any{"cfi"} },
			`activities[0].organisers[0]: "cfi" is not an organisation of the file`},
		{"day before the consortium", func(d map[string]any) { d["activities"].([]any)[0].(map[string]any)["scheduled_on"] = "2016-12-31" },
			"activities[0].scheduled_on: 2016-12-31 is before the consortium was formed (2017-01-01)"},
		{"not a date", func(d map[string]any) { d["projects"].([]any)[0].(map[string]any)["registered_on"] = "1.10.2020" },
			`projects[0].registered_on: "1.10.2020" is not a date`},
		{"repeated key", func(d map[string]any) { d["organisations"].([]any)[2].(map[string]any)["key"] = "csi" },
			`organisations[2].key: "csi" is empty or repeats another's`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(civilSocietyData, &d); err != nil {
				t.Fatal(err)
			}
			tc.edit(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			s, store := newCivil(t)
			before := head(t, store)
			demo, err := readDemo[civilDemo](b, "test.json")
			if err == nil {
				_, err = loadCivilDemo(t.Context(), s, demo, "test.json", civilNow)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("load = %v, want an error containing %q", err, tc.want)
			}
			if after := head(t, store); after != before {
				t.Errorf("load wrote %d events, want none", after-before)
			}
		})
	}
}
