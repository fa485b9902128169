package seed

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/google/go-cmp/cmp"
)

// newHistoryStore returns a repository over an in-memory store with the
// registry loaded and an organiser for each hub region and one for the
// rest, with the same IDs in every store, so two stores can be given the
// same options.
func newHistoryStore(t testing.TB) (*domain.Repository, *inmem.Store, map[string][]string) {
	t.Helper()
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	svc := &registry.Service{Repo: repo}
	if _, err := Registry(t.Context(), svc, meta); err != nil {
		t.Fatalf("Registry: %v", err)
	}
	organisers := map[string][]string{}
	for i, region := range append([]string{""}, hubRegions...) {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		kind := registry.RegionalHub
		if region == "" {
			kind = registry.CSO
		}
		if _, _, err := svc.RegisterOrganisation(t.Context(), meta, registry.RegisterOrganisation{
			ID: id, Kind: kind, Region: region, Name: domain.LocalizedText{Ka: fmt.Sprintf("ორგანიზაცია %d [საილუსტრაციო]", i+1)},
		}); err != nil {
			t.Fatal(err)
		}
		organisers[region] = []string{id}
	}
	return repo, store, organisers
}

// historyOptions is a history big enough to cover every municipality.
func historyOptions(organisers map[string][]string) HistoryOptions {
	return HistoryOptions{From: 2019, To: 2025, Activities: 3000, Seed: 7, Concurrency: 4, Organisers: organisers}
}

// stored is an event as the generator decides it: everything but the
// IDs and times the store gives.
type stored struct {
	Type, Data, Actor, Role, Correlation string
	OccurredAt                           time.Time
}

// historyLog returns the history's events by stream, in stream order.
func historyLog(t testing.TB, store *inmem.Store) map[string][]stored {
	t.Helper()
	events, err := store.ReadAll(t.Context(), 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]stored{}
	for _, e := range events {
		if !strings.HasPrefix(e.Stream, "activity-hist-") {
			continue
		}
		out[e.Stream] = append(out[e.Stream], stored{e.Type, string(e.Data), e.Metadata.Actor, e.Metadata.Role, e.Metadata.CorrelationID, e.OccurredAt})
	}
	return out
}

func TestHistory(t *testing.T) {
	ctx := t.Context()
	repo, store, organisers := newHistoryStore(t)
	opts := historyOptions(organisers)
	before := head(t, store)

	rep, err := History(ctx, repo, opts)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if rep.Activities != opts.Activities || rep.Held+rep.Cancelled != rep.Activities || rep.Events != int(head(t, store)-before) {
		t.Errorf("History = %+v; want %d activities, held or cancelled, and %d events (what the log gained)", rep, opts.Activities, head(t, store)-before)
	}
	if share := float64(rep.Cancelled) / float64(rep.Activities); share < 0.035 || share > 0.065 {
		t.Errorf("%.1f%% cancelled, want about 5%%", 100*share)
	}
	if share := float64(rep.Corrected) / float64(rep.Held); share < 0.01 || share > 0.03 {
		t.Errorf("%.1f%% of the held corrected, want about 2%%", 100*share)
	}
	if per := float64(rep.Groups) / float64(rep.Held); per < 14.1 || per > 16 {
		t.Errorf("%.2f groups a held activity, want 14.1 to 16 (so that 150,000 activities give 2 million)", per)
	}

	var (
		got        HistoryReport
		places     = map[string]bool{}
		types      = map[activity.Type]bool{}
		minority   = map[string][2]int{} // region group: [minority, all]
		regionOf   = map[string]string{}
		organiser  = map[string]string{}
		rescheduld int
	)
	for region, ids := range organisers {
		organiser[region] = ids[0]
	}
	rows, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		regionOf[r.cmd.Code] = r.cmd.Region
	}
	events, err := store.ReadAll(ctx, before, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	var sch activity.Scheduled
	for _, se := range events {
		r, err := repo.Types.DecodeRecorded(se)
		if err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("%s v%d %s", r.Stream, r.Version, se.Type)
		if r.Metadata.Actor != "system:seed-history" || r.Metadata.Role != string(domain.System) || r.Metadata.CorrelationID != historyCorrelation {
			t.Errorf("%s: by %s (%s), correlation %q; want system:seed-history, %s", where, r.Metadata.Actor, r.Metadata.Role, r.Metadata.CorrelationID, historyCorrelation)
		}
		held := func(at activity.Attendance) {
			t.Helper()
			if err := at.Validate(); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			region := "elsewhere"
			if sch.Region == "kvemo-kartli" || sch.Region == "samtskhe-javakheti" {
				region = "minority regions"
			}
			m := minority[region]
			for _, g := range at.Groups {
				if g.EthnicMinority != nil && *g.EthnicMinority {
					m[0] += g.Count
				}
				m[1] += g.Count
			}
			minority[region] = m
		}
		switch e := r.Event.(type) {
		case activity.Scheduled:
			sch = e
			got.Activities++
			places[e.Municipality] = true
			types[e.Type] = true
			year, _, _ := strings.Cut(strings.TrimPrefix(e.ID, "hist-"), "-")
			if year < "2019" || year > "2025" || r.Stream != activity.Stream(e.ID) {
				t.Errorf("%s: ID %s; want hist-<year from 2019 to 2025>-<n> and its stream", where, e.ID)
			}
			if e.Region != regionOf[e.Municipality] {
				t.Errorf("%s: region %s for %s, want %s", where, e.Region, e.Municipality, regionOf[e.Municipality])
			}
			want := organiser[e.Region]
			if want == "" {
				want = organiser[""]
			}
			if !slices.Equal(e.Organisers, []string{want}) {
				t.Errorf("%s: organised by %v in %s, want %s", where, e.Organisers, e.Region, want)
			}
			if !strings.HasSuffix(e.Title.Ka, "[საილუსტრაციო]") || !strings.HasSuffix(e.Title.En, "[illustrative]") {
				t.Errorf("%s: title %+v is not marked illustrative", where, e.Title)
			}
		case activity.Rescheduled:
			rescheduld++
			if !strings.HasPrefix(e.Reason, "[illustrative]") || e.Start <= sch.Start {
				t.Errorf("%s: %+v after %s; want a later start and a reason marked illustrative", where, e, sch.Start)
			}
			sch.Start, sch.End = e.Start, e.End
		case activity.Held:
			got.Held++
			got.Groups += len(e.Attendance.Groups)
			got.Attendees += int64(e.Attendance.Total)
			if e.Attendance.Total < 5 || e.Attendance.Total > 60 {
				t.Errorf("%s: %d attendees, want 5 to 60", where, e.Attendance.Total)
			}
			if day := r.OccurredAt.In(domain.Tbilisi).Format(domain.DateLayout); day < sch.End {
				t.Errorf("%s: recorded on %s, before the activity ended on %s", where, day, sch.End)
			}
			held(e.Attendance)
		case activity.AttendanceCorrected:
			got.Corrected++
			prev := events[slices.IndexFunc(events, func(x eventstore.Event) bool { return x.Stream == se.Stream && x.Version == se.Version-1 })]
			was, err := repo.Types.Decode(prev)
			if err != nil {
				t.Fatal(err)
			}
			before := was.(activity.Held).Attendance
			got.Groups += len(e.Attendance.Groups) - len(before.Groups)
			got.Attendees += int64(e.Attendance.Total - before.Total)
			if e.Attendance.Total <= before.Total || !strings.HasPrefix(e.Reason, "[illustrative]") {
				t.Errorf("%s: %d attendees after %d, reason %q; want more, and the reason marked illustrative", where, e.Attendance.Total, before.Total, e.Reason)
			}
			held(e.Attendance)
		case activity.Cancelled:
			got.Cancelled++
			if !strings.HasPrefix(e.Reason, "[illustrative]") {
				t.Errorf("%s: reason %q is not marked illustrative", where, e.Reason)
			}
			if day := r.OccurredAt.In(domain.Tbilisi).Format(domain.DateLayout); day >= sch.Start {
				t.Errorf("%s: cancelled on %s, not before its start %s", where, day, sch.Start)
			}
		}
	}
	got.Rescheduled, got.Events = rescheduld, rep.Events
	if got != rep {
		t.Errorf("the log holds %+v, History reported %+v", got, rep)
	}

	var missing []string
	for _, r := range rows {
		if covered := places[r.cmd.Code]; covered != (r.cmd.Kind != registry.OccupiedMunicipality) {
			missing = append(missing, fmt.Sprintf("%s (%s): %v", r.cmd.Code, r.cmd.Kind, covered))
		}
	}
	if len(missing) > 0 {
		t.Errorf("municipalities wrongly covered or not: %v; want every one but the occupied", missing)
	}
	for _, typ := range activity.Types {
		if !types[typ] {
			t.Errorf("no activity of type %s", typ)
		}
	}
	share := func(region string) float64 { m := minority[region]; return float64(m[0]) / float64(m[1]) }
	if share("minority regions") < 0.35 || share("elsewhere") > 0.1 {
		t.Errorf("ethnic-minority share %.2f in Kvemo Kartli and Samtskhe-Javakheti, %.2f elsewhere; want over 0.35 and under 0.1",
			share("minority regions"), share("elsewhere"))
	}

	// A second run, as on a server's next start, finds the history.
	before = head(t, store)
	rep, err = History(ctx, repo, opts)
	if err != nil || rep != (HistoryReport{}) {
		t.Errorf("second History = %+v, %v; want nothing appended", rep, err)
	}
	if after := head(t, store); after != before {
		t.Errorf("second History moved the log from %d to %d, want nothing written", before, after)
	}
}

// TestHistoryDeterministic: the options alone decide the events, whatever
// the concurrency; another seed gives another history.
func TestHistoryDeterministic(t *testing.T) {
	logs := map[string]map[string][]stored{}
	for _, run := range []struct {
		name        string
		seed        int64
		concurrency int
	}{{"seed 7, one at a time", 7, 1}, {"seed 7, eight at a time", 7, 8}, {"seed 8", 8, 4}} {
		repo, store, organisers := newHistoryStore(t)
		opts := historyOptions(organisers)
		opts.Activities, opts.Seed, opts.Concurrency = 500, run.seed, run.concurrency
		if _, err := History(t.Context(), repo, opts); err != nil {
			t.Fatalf("%s: History: %v", run.name, err)
		}
		logs[run.name] = historyLog(t, store)
	}
	if diff := cmp.Diff(logs["seed 7, one at a time"], logs["seed 7, eight at a time"]); diff != "" {
		t.Errorf("the same options gave other events (-one at a time +eight):\n%s", diff)
	}
	if len(logs["seed 7, one at a time"]) != 500 {
		t.Errorf("%d streams, want 500", len(logs["seed 7, one at a time"]))
	}
	if cmp.Equal(logs["seed 7, one at a time"], logs["seed 8"]) {
		t.Error("seeds 7 and 8 gave the same events")
	}
}

// TestHistoryResumes: a load that stopped part way, before its first
// activity, is completed by the next, which skips what it finds.
func TestHistoryResumes(t *testing.T) {
	ctx := t.Context()
	repo, store, organisers := newHistoryStore(t)
	opts := historyOptions(organisers)
	opts.Activities = 200
	h, err := newHistory(ctx, repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{5, 199} {
		a, err := h.activity(i)
		if err != nil {
			t.Fatal(err)
		}
		if saved, err := h.save(ctx, a); !saved || err != nil {
			t.Fatalf("save %s = %v, %v", a.id, saved, err)
		}
	}
	rep, err := History(ctx, repo, opts)
	if err != nil || rep.Activities != 198 {
		t.Errorf("History after a partial load = %+v, %v; want the 198 activities missing", rep, err)
	}
	if n := len(historyLog(t, store)); n != 200 {
		t.Errorf("%d activities in the log, want 200", n)
	}
}

// TestHistoryAsCommands: what the generator appends is what the service
// decides for the same commands, so writing past it skips no rule.
func TestHistoryAsCommands(t *testing.T) {
	ctx := t.Context()
	repo, store, organisers := newHistoryStore(t)
	opts := historyOptions(organisers)
	opts.Activities = 300
	if _, err := History(ctx, repo, opts); err != nil {
		t.Fatal(err)
	}
	generated := historyLog(t, store)

	replayRepo, replayStore, _ := newHistoryStore(t)
	svc := &activity.Service{Repo: replayRepo}
	events, err := store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, se := range events {
		if !strings.HasPrefix(se.Stream, "activity-hist-") {
			continue
		}
		e, err := repo.Types.Decode(se)
		if err != nil {
			t.Fatal(err)
		}
		m := domain.Meta{Actor: historyActor, CorrelationID: historyCorrelation, Now: se.OccurredAt, OccurredAt: se.OccurredAt}
		switch e := e.(type) {
		case activity.Scheduled:
			// No region: the service takes it from the municipality.
			_, err = svc.Schedule(ctx, m, activity.Schedule{ID: e.ID, Type: e.Type, Title: e.Title, Topic: e.Topic, Channel: e.Channel,
				Organisers: e.Organisers, Project: e.Project, Indicators: e.Indicators, Municipality: e.Municipality, Place: e.Place,
				Start: e.Start, End: e.End})
		case activity.Rescheduled:
			_, err = svc.Reschedule(ctx, m, activity.Reschedule{ID: e.ID, Start: e.Start, End: e.End, Reason: e.Reason})
		case activity.Held:
			_, err = svc.RecordHeld(ctx, m, activity.Hold{ID: e.ID, Attendance: e.Attendance})
		case activity.AttendanceCorrected:
			_, err = svc.CorrectAttendance(ctx, m, activity.CorrectAttendance{ID: e.ID, Attendance: e.Attendance, Reason: e.Reason})
		case activity.Cancelled:
			_, err = svc.Cancel(ctx, m, activity.Cancel{ID: e.ID, Reason: e.Reason})
		default:
			err = fmt.Errorf("unexpected event %T", e)
		}
		if err != nil {
			t.Errorf("%s v%d %s as a command: %v", se.Stream, se.Version, se.Type, err)
		}
	}
	if diff := cmp.Diff(generated, historyLog(t, replayStore)); diff != "" {
		t.Errorf("the service decided other events than the generator (-generated +service):\n%s", diff)
	}
}

func TestHistoryNeedsRegistry(t *testing.T) {
	store := inmem.New()
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: &domain.MemoryKeyring{}}
	_, err := History(t.Context(), repo, HistoryOptions{From: 2019, To: 2025, Activities: 10, Organisers: map[string][]string{"": {"x"}}})
	if err == nil || !strings.Contains(err.Error(), "load the registry first") {
		t.Errorf("History without the registry = %v; want it to ask for the registry", err)
	}
	if h := head(t, store); h != 0 {
		t.Errorf("History without the registry wrote %d events, want none", h)
	}
}

func TestHistoryOptions(t *testing.T) {
	repo, store, organisers := newHistoryStore(t)
	before := head(t, store)
	const stranger = "00000000-0000-4000-8000-999999999999"
	tests := []struct {
		name string
		edit func(*HistoryOptions)
		want string
	}{
		{"no activities", func(o *HistoryOptions) { o.Activities = 0 }, "activities: 0"},
		{"years reversed", func(o *HistoryOptions) { o.From, o.To = 2025, 2019 }, "years 2025 to 2019"},
		{"a region without organisers", func(o *HistoryOptions) { o.Organisers = map[string][]string{"guria": organisers["guria"]} },
			`organisers: none for the region tbilisi, nor under ""`},
		{"an organiser not registered", func(o *HistoryOptions) { o.Organisers = map[string][]string{"": {stranger}} },
			`organisers: "` + stranger + `" is not an organisation in the registry`},
	}
	for _, tc := range tests {
		opts := historyOptions(organisers)
		tc.edit(&opts)
		if _, err := History(t.Context(), repo, opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: History = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if after := head(t, store); after != before {
		t.Errorf("History with bad options wrote %d events, want none", after-before)
	}
}

// TestHistoryBenchmarkSize: the benchmarks' 150,000 activities give over
// two million attendance groups. It draws them without a store, on every
// processor.
func TestHistoryBenchmarkSize(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 150,000 activities")
	}
	repo, _, organisers := newHistoryStore(t)
	opts := historyOptions(organisers)
	opts.Activities = 150000
	h, err := newHistory(t.Context(), repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	reports := make([]HistoryReport, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < opts.Activities && errs[w] == nil; i += workers {
				var a *historyActivity
				if a, errs[w] = h.activity(i); a != nil {
					reports[w].add(a)
				}
			}
		})
	}
	wg.Wait()
	var rep HistoryReport
	for w := range workers {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		rep.merge(reports[w])
	}
	if rep.Activities != opts.Activities || rep.Groups < 2_000_000 {
		t.Errorf("150,000 activities give %+v, want 2 million groups or more", rep)
	}
}
