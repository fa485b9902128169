package opendata_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frictionlessdata/datapackage-go/datapackage"
	tcsv "github.com/frictionlessdata/tableschema-go/csv"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/keyring"
	"github.com/civicledger/civicledger/internal/opendata"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/civicledger/civicledger/internal/testdb"
	"github.com/civicledger/civicledger/projections"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// What the fixture records that the public must never see.
const (
	secretPerson  = "Nino Opendata-Secret"
	secretEmail   = "nino.secret@opendata-test.example.ge"
	secretAddress = "7 Secret Street, Rustavi"
	// undeclaredCycle has ballots and no results; hiddenRound has a score
	// and is not published.
	undeclaredCycle = "rustavi-2024"
	hiddenRound     = "2027"
)

// fixture is a ledger with demo-like data, its read models caught up,
// and the exporter over an anonymous in-process API.
type fixture struct {
	exp      *opendata.Exporter
	runner   *projections.Runner
	store    *postgres.Store
	registry *registry.Service
	// hiddenScore is the indicator scored in hiddenRound.
	hiddenScore string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	url := testdb.URL(t)
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reads, err := pgxpool.New(ctx, url+"&options=-c%20default_transaction_read_only%3Don%20-c%20statement_timeout%3D10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reads.Close)
	for _, m := range []func(context.Context, *pgxpool.Pool) error{postgres.Migrate, projections.Migrate, keyring.Migrate} {
		if err := m(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	_, signing, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.New(db, postgres.Options{Logger: quiet, SigningKey: signing})
	kr := keyring.New(db)
	repo := &domain.Repository{Store: store, Types: catalog.Types, Keys: kr}
	runner := projections.NewRunner(db, store, projections.All(), projections.Options{Logger: quiet, Keys: kr})
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); store.RunSequencer(bg) }()
	go func() { defer wg.Done(); runner.Run(bg) }()
	t.Cleanup(func() { stop(); wg.Wait(); store.Close() })

	rd := &projections.Reads{DB: reads}
	f := &fixture{runner: runner, store: store, registry: &registry.Service{Repo: repo}}
	svc := struct {
		cert  *certification.Service
		nets  *network.Service
		projs *project.Service
		acts  *activity.Service
		bud   *budgeting.Service
		bench *benchmark.Service
	}{&certification.Service{Repo: repo}, &network.Service{Repo: repo}, &project.Service{Repo: repo}, &activity.Service{Repo: repo},
		&budgeting.Service{Repo: repo}, &benchmark.Service{Repo: repo, Ledger: rd}}
	now := time.Now()
	if _, err := seed.Registry(ctx, f.registry, access.SystemMeta("test", now)); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Certification2019(ctx, svc.cert); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.CivilSociety(ctx, seed.CivilServices{Registry: f.registry, Networks: svc.nets, Projects: svc.projs, Activities: svc.acts}, now); err != nil {
		t.Fatal(err)
	}
	orgs, err := seed.CivilOrganisers(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.History(ctx, repo, seed.HistoryOptions{From: 2021, To: 2023, Activities: 400, Seed: 7, Concurrency: 4, Organisers: orgs}); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Budgets(ctx, svc.bud); err != nil {
		t.Fatal(err)
	}
	// An organisation with contact details: personal data and an
	// address, neither public.
	if _, _, err := f.registry.RegisterOrganisation(ctx, access.SystemMeta("test", now), registry.RegisterOrganisation{
		Kind: registry.OrganisationKind("cso"), Name: domain.LocalizedText{Ka: "საიდუმლო კონტაქტის ორგანიზაცია", En: "Organisation with a private contact"},
		Municipality: "rustavi", Contact: registry.Contact{Person: secretPerson, Email: secretEmail, Address: secretAddress},
	}); err != nil {
		t.Fatal(err)
	}
	undeclared(t, svc.bud)
	f.waitCaughtUp(t)
	if _, err := seed.Benchmark(ctx, svc.bench); err != nil {
		t.Fatal(err)
	}
	f.hiddenScore = hiddenScore(t, svc.bench)
	f.waitCaughtUp(t)

	api := graph.NewServer(graph.Deps{
		Store: store, Registry: f.registry, Reads: rd, Runner: runner, Keys: rd, Logger: quiet,
		Certification: svc.cert, Networks: svc.nets, Projects: svc.projs, Activities: svc.acts, Budgeting: svc.bud, Benchmark: svc.bench,
		Privacy: &privacy.Service{Repo: repo}, Keyring: kr,
	}, graph.Config{RatePerSecond: -1})
	t.Cleanup(api.Close)
	f.exp = &opendata.Exporter{API: api.Handler(), Position: func(ctx context.Context) (int64, error) { return opendata.ReadModelsPosition(ctx, runner) }}
	return f
}

// waitCaughtUp waits until the read models have applied the log as it
// stands.
func (f *fixture) waitCaughtUp(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for {
		st, err := f.store.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 {
			if err := f.runner.WaitFor(ctx, st.Head); err != nil {
				t.Fatal(err)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the log was not sequenced in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// undeclared opens Rustavi's 2024 cycle and takes ballots in it, without
// declaring results: its votes are secret until then.
func undeclared(t *testing.T, svc *budgeting.Service) {
	t.Helper()
	ctx := context.Background()
	at := func(d string) domain.Meta {
		tm, _ := time.ParseInLocation(domain.DateLayout, d, domain.Tbilisi)
		tm = tm.Add(12 * time.Hour)
		return domain.Meta{Actor: domain.Actor{ID: "system:test", Role: domain.System}, Now: tm, OccurredAt: tm}
	}
	if _, err := svc.OpenCycle(ctx, at("2024-02-10"), budgeting.OpenCycle{
		Municipality: "rustavi", Year: 2024, Currency: "GEL", Title: domain.LocalizedText{Ka: "სამოქალაქო ბიუჯეტი 2024", En: "Civic budget 2024"},
		Pots: []budgeting.Pot{{Code: "city", Name: domain.LocalizedText{Ka: "ქალაქი", En: "The city"}, Amount: 100000_00}},
		Phases: []budgeting.Phase{
			{Kind: budgeting.Proposing, Start: "2024-03-01", End: "2024-03-31"},
			{Kind: budgeting.Reviewing, Start: "2024-04-01", End: "2024-04-30"},
			{Kind: budgeting.Voting, Start: "2024-05-10", End: "2024-05-20"},
			{Kind: budgeting.Tallying, Start: "2024-05-21", End: "2024-05-25"},
			{Kind: budgeting.Delivering, Start: "2024-05-26", End: "2025-05-25"},
		},
		Eligibility: budgeting.Eligibility{MinAge: 16},
		Rules:       budgeting.Rules{Ballot: budgeting.Approval, MaxProjects: 2, SecondBallot: budgeting.Refuse, Counting: budgeting.Counting{Method: budgeting.Greedy}},
	}); err != nil {
		t.Fatal(err)
	}
	ideas := []string{undeclaredCycle + "-001", undeclaredCycle + "-002"}
	for i, id := range ideas {
		if _, err := svc.SubmitIdea(ctx, at("2024-03-05"), budgeting.SubmitIdea{ID: id, Cycle: undeclaredCycle, Pot: "city", Cost: 20000_00, Currency: "GEL",
			ProposerKind: budgeting.Resident, Channel: budgeting.Online, Title: domain.LocalizedText{Ka: fmt.Sprintf("იდეა %d", i+1), En: fmt.Sprintf("Idea %d", i+1)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ReviewIdea(ctx, at("2024-04-05"), budgeting.ReviewIdea{ID: id, Feasible: true, Cost: 20000_00, Currency: "GEL"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PublishBallot(ctx, at("2024-04-30"), budgeting.PublishBallot{Cycle: undeclaredCycle, Ideas: ideas}); err != nil {
		t.Fatal(err)
	}
	for v := range 7 {
		if _, err := svc.CastBallot(ctx, at("2024-05-12"), budgeting.CastBallot{Cycle: undeclaredCycle, Voter: fmt.Sprintf("voter-%d", v), Pot: "city",
			Projects: ideas[:1+v%2], Sex: "female", AgeBand: "30_44"}); err != nil {
			t.Fatal(err)
		}
	}
}

// hiddenScore opens a round that is not published and scores one
// indicator in it; it returns the indicator's code.
func hiddenScore(t *testing.T, svc *benchmark.Service) string {
	t.Helper()
	ctx := context.Background()
	meta := access.SystemMeta("test", time.Now())
	if _, err := svc.OpenRound(ctx, meta, benchmark.OpenRound{ID: hiddenRound, Title: domain.LocalizedText{Ka: "რაუნდი 2027", En: "Round 2027"}, Year: 2026,
		MethodVersion: 1, Municipalities: []string{"poti", "adigeni"},
		Schedule: benchmark.Schedule{AssessmentEnd: domain.DayOf(time.Now().AddDate(0, 2, 0)), CommentsUntil: domain.DayOf(time.Now().AddDate(0, 3, 0))}}); err != nil {
		t.Fatal(err)
	}
	for _, ind := range seed.LSGIMethod().Indicators {
		if ind.Evidence || ind.Computed != "" || ind.Scale.Kind != benchmark.YesNo || ind.Body != benchmark.CityHall {
			continue
		}
		one := 1.0
		if _, err := svc.Score(ctx, meta, benchmark.Score{Round: hiddenRound, Municipality: "poti", Indicator: ind.Code, Body: benchmark.CityHall, Value: &one, Rationale: "confidential until published"}); err != nil {
			t.Fatal(err)
		}
		return ind.Code
	}
	t.Fatal("the LSGI method has no judged yes/no City Hall indicator without evidence to score")
	return ""
}

// table is a CSV file read back.
type table struct {
	header []string
	rows   [][]string
}

func readCSV(t *testing.T, b []byte) table {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("CSV: %v (%d records)", err, len(all))
	}
	return table{header: all[0], rows: all[1:]}
}

func (tb table) col(name string) int { return slices.Index(tb.header, name) }

func TestOpenData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x, err := f.exp.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("export at position %d on %s: %d tables, ZIP %d bytes", x.Position, x.Day, len(x.Rows), len(x.Zip))

	var pkg struct {
		Resources []struct {
			Name   string `json:"name"`
			Path   string `json:"path"`
			Schema struct {
				Fields []struct {
					Name          string `json:"name"`
					Description   string `json:"description"`
					DescriptionKa string `json:"description_ka"`
				} `json:"fields"`
				PrimaryKey  []string `json:"primaryKey"`
				ForeignKeys []struct {
					Fields    []string `json:"fields"`
					Reference struct {
						Resource string   `json:"resource"`
						Fields   []string `json:"fields"`
					} `json:"reference"`
				} `json:"foreignKeys"`
			} `json:"schema"`
		} `json:"resources"`
		LogPosition int64 `json:"log_position"`
	}
	if err := json.Unmarshal(x.Files["datapackage.json"], &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.LogPosition != x.Position || x.Position == 0 {
		t.Errorf("datapackage.json log_position %d, export %d", pkg.LogPosition, x.Position)
	}
	if want := fmt.Sprintf("log position: **%d**", x.Position); !strings.Contains(string(x.Files["README.md"]), want) {
		t.Errorf("README.md does not say %q", want)
	}
	tables := map[string]table{}
	for _, r := range pkg.Resources {
		tables[r.Name] = readCSV(t, x.Files[r.Path])
	}

	t.Run("the package validates", func(t *testing.T) {
		// The ZIP as a user downloads it, loaded by Frictionless's Go
		// library: the descriptor against the tabular-data-package
		// profile, then every cell cast by its field's type and
		// constraints.
		zipPath := filepath.Join(t.TempDir(), opendata.ZipName)
		if err := os.WriteFile(zipPath, x.Zip, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := datapackage.Load(zipPath)
		if err != nil {
			t.Fatalf("datapackage.Load: %v", err)
		}
		if got := len(p.ResourceNames()); got != len(x.Rows) || got < 25 {
			t.Fatalf("%d resources in the package, %d tables exported", got, len(x.Rows))
		}
		cells := 0
		for _, r := range p.Resources() {
			sch, err := r.GetSchema()
			if err != nil {
				t.Fatalf("%s: schema: %v", r.Name(), err)
			}
			all, err := r.ReadAll(tcsv.LoadHeaders())
			if err != nil {
				t.Fatalf("%s: %v", r.Name(), err)
			}
			if len(all) != x.Rows[r.Name()] {
				t.Errorf("%s: the validator read %d rows, the export wrote %d", r.Name(), len(all), x.Rows[r.Name()])
			}
			missing := map[string]bool{}
			for _, m := range sch.MissingValues {
				missing[m] = true
			}
			keys := map[string]bool{}
			for n, row := range all {
				if len(row) != len(sch.Fields) {
					t.Fatalf("%s row %d: %d cells, %d fields", r.Name(), n+1, len(row), len(sch.Fields))
				}
				for i, cell := range row {
					fd := sch.Fields[i]
					if missing[cell] {
						if fd.Constraints.Required {
							t.Errorf("%s row %d: %s is required, got %q", r.Name(), n+1, fd.Name, cell)
						}
						continue
					}
					if _, err := fd.Cast(cell); err != nil {
						t.Errorf("%s row %d: %s = %q: %v", r.Name(), n+1, fd.Name, cell, err)
					}
					cells++
				}
				var k []string
				for _, pk := range sch.PrimaryKeys {
					_, i := sch.GetField(pk)
					k = append(k, row[i])
				}
				if len(k) > 0 {
					if keys[strings.Join(k, "\x00")] {
						t.Errorf("%s row %d: primary key %v repeated", r.Name(), n+1, k)
					}
					keys[strings.Join(k, "\x00")] = true
				}
			}
		}
		t.Logf("%d cells cast against their schemas", cells)
		// Foreign keys, which the Go library does not check: every value
		// given is a key of the table referred to.
		for _, r := range pkg.Resources {
			for _, fk := range r.Schema.ForeignKeys {
				ref := tables[fk.Reference.Resource]
				have := map[string]bool{}
				for _, row := range ref.rows {
					var k []string
					for _, c := range fk.Reference.Fields {
						k = append(k, row[ref.col(c)])
					}
					have[strings.Join(k, "\x00")] = true
				}
				tb := tables[r.Name]
				for n, row := range tb.rows {
					var k []string
					empty := false
					for _, c := range fk.Fields {
						k = append(k, row[tb.col(c)])
						empty = empty || row[tb.col(c)] == ""
					}
					if !empty && !have[strings.Join(k, "\x00")] {
						t.Errorf("%s row %d: %v = %v is not in %s", r.Name, n+1, fk.Fields, k, fk.Reference.Resource)
					}
				}
			}
		}
	})

	t.Run("every column is in the dictionary", func(t *testing.T) {
		readme := string(x.Files["README.md"])
		for _, r := range pkg.Resources {
			tb := tables[r.Name]
			var names []string
			for _, fd := range r.Schema.Fields {
				names = append(names, fd.Name)
				if fd.Description == "" || fd.DescriptionKa == "" || !strings.ContainsFunc(fd.DescriptionKa, func(c rune) bool { return c >= 'ა' && c <= 'ჰ' }) {
					t.Errorf("%s.%s: description %q, description_ka %q", r.Name, fd.Name, fd.Description, fd.DescriptionKa)
				}
			}
			if !slices.Equal(tb.header, names) {
				t.Errorf("%s.csv header %v, schema %v", r.Name, tb.header, names)
			}
			sec := readme[strings.Index(readme, "### "+r.Name+"\n"):]
			if end := strings.Index(sec[4:], "\n### "); end >= 0 {
				sec = sec[:end+4]
			}
			for _, fd := range r.Schema.Fields {
				if !strings.Contains(sec, "| `"+fd.Name+"` |") || !strings.Contains(sec, strings.ReplaceAll(fd.DescriptionKa, "|", "\\|")) || !strings.Contains(sec, strings.ReplaceAll(fd.Description, "|", "\\|")) {
					t.Errorf("README: %s.%s is not described in both languages in its table's section", r.Name, fd.Name)
				}
			}
			// The JSON has the same rows and exactly the columns.
			var objs []map[string]any
			if err := json.Unmarshal(x.Files[r.Name+".json"], &objs); err != nil {
				t.Fatalf("%s.json: %v", r.Name, err)
			}
			if len(objs) != len(tb.rows) {
				t.Errorf("%s.json: %d rows, CSV %d", r.Name, len(objs), len(tb.rows))
			}
			for _, o := range objs {
				if len(o) != len(names) {
					t.Fatalf("%s.json: a row with keys %v", r.Name, o)
				}
				for _, n := range names {
					if _, ok := o[n]; !ok {
						t.Fatalf("%s.json: a row without %s", r.Name, n)
					}
				}
			}
		}
	})

	t.Run("small counts are suppressed", func(t *testing.T) {
		totals := map[string]int{}
		at := tables["attendance"]
		for _, r := range at.rows {
			n, _ := strconv.Atoi(r[at.col("attendance")])
			totals[r[at.col("year")]+"/"+r[at.col("municipality")]+"/"+r[at.col("activity_type")]] = n
		}
		suppressed := 0
		check := func(name, value string, group func([]string) string, total func(string) int) {
			tb := tables[name]
			type cellsOf struct{ shown, hidden, hiddenN int }
			groups := map[string]*cellsOf{}
			for _, r := range tb.rows {
				g := group(r)
				if groups[g] == nil {
					groups[g] = &cellsOf{}
				}
				v := r[tb.col(value)]
				if v == opendata.Suppressed {
					groups[g].hiddenN++
					suppressed++
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s: %q", name, v)
				}
				if n > 0 && n < opendata.Threshold {
					t.Errorf("%s %s: a count of %d is shown", name, g, n)
				}
				groups[g].shown += n
			}
			for g, c := range groups {
				tot := total(g)
				if c.hiddenN == 0 {
					if c.shown != tot {
						t.Errorf("%s %s: the cells add up to %d, the total is %d", name, g, c.shown, tot)
					}
					continue
				}
				// Complementary suppression: the hidden cells' sum, which
				// the total gives away, never pins one of them down.
				if hiddenSum := tot - c.shown; c.hiddenN < 2 || hiddenSum < opendata.Threshold && hiddenSum != tot {
					t.Errorf("%s %s: %d cells hidden holding %d together (total %d): one could be worked out", name, g, c.hiddenN, hiddenSum, tot)
				}
			}
		}
		for _, dim := range []struct{ table, col string }{{"attendance_by_sex", "sex"}, {"attendance_by_age_band", "age_band"}, {"attendance_by_sector", "sector"}, {"attendance_by_ethnic_minority", "ethnic_minority"}} {
			tb := tables[dim.table]
			check(dim.table, "attendance", func(r []string) string {
				return r[tb.col("year")] + "/" + r[tb.col("municipality")] + "/" + r[tb.col("activity_type")]
			}, func(g string) int { return totals[g] })
		}
		voters := map[string]int{}
		bc := tables["budget_cycles"]
		for _, r := range bc.rows {
			voters[r[bc.col("id")]], _ = strconv.Atoi(r[bc.col("voters")])
		}
		for _, name := range []string{"budget_voters_by_sex", "budget_voters_by_age_band"} {
			tb := tables[name]
			check(name, "voters", func(r []string) string { return r[tb.col("cycle")] }, func(g string) int { return voters[g] })
		}
		if suppressed == 0 {
			t.Fatal("no cell was suppressed: the data should hold small counts, so the check proved nothing")
		}
		// The undeclared cycle's 7 voters were all women aged 30-44: the
		// 7 is shown, and no other cell of the cycle is below 5 but 0.
		sx := tables["budget_voters_by_sex"]
		for _, r := range sx.rows {
			if r[0] == undeclaredCycle && r[1] == "FEMALE" && r[2] != "7" {
				t.Errorf("%s FEMALE voters = %q, want 7", undeclaredCycle, r[2])
			}
		}
		t.Logf("%d cells suppressed", suppressed)
	})

	t.Run("nothing the anonymous policy hides", func(t *testing.T) {
		for name, b := range x.Files {
			for _, secret := range []string{secretPerson, secretEmail, secretAddress} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds %q", name, secret)
				}
			}
		}
		if !bytes.Contains(x.Files["organisations.csv"], []byte("Organisation with a private contact")) {
			t.Error("organisations.csv lacks the organisation whose contact is private: the check above proved nothing")
		}
		// The undeclared cycle: its voters are counted (public), its votes
		// are not, anywhere.
		bc := tables["budget_cycles"]
		found := false
		for _, r := range bc.rows {
			if r[bc.col("id")] == undeclaredCycle {
				found = true
				if r[bc.col("voters")] != "7" || r[bc.col("results_declared_on")] != "" || r[bc.col("results_inputs_digest")] != "" {
					t.Errorf("budget_cycles %s: voters %q, results %q %q", undeclaredCycle, r[bc.col("voters")], r[bc.col("results_declared_on")], r[bc.col("results_inputs_digest")])
				}
			}
		}
		if !found {
			t.Fatalf("budget_cycles.csv has no %s", undeclaredCycle)
		}
		bv := tables["budget_votes"]
		if len(bv.rows) == 0 {
			t.Fatal("budget_votes.csv is empty: the declared cycles' votes should be there")
		}
		for _, r := range bv.rows {
			if r[bv.col("cycle")] == undeclaredCycle {
				t.Errorf("budget_votes.csv holds votes of %s before its results: %v", undeclaredCycle, r)
			}
		}
		// The unpublished round: listed, its score nowhere.
		rounds := tables["benchmark_rounds"]
		listed := false
		for _, r := range rounds.rows {
			if r[0] == hiddenRound {
				listed = r[rounds.col("published_on")] == ""
			}
		}
		if !listed {
			t.Errorf("benchmark_rounds.csv does not list round %s as unpublished", hiddenRound)
		}
		for _, name := range []string{"benchmark_rankings", "benchmark_block_scores", "benchmark_scores"} {
			tb := tables[name]
			if len(tb.rows) == 0 {
				t.Errorf("%s.csv is empty: the published rounds' scores should be there", name)
			}
			for _, r := range tb.rows {
				if r[tb.col("round")] == hiddenRound {
					t.Errorf("%s.csv holds the unpublished round %s: %v", name, hiddenRound, r)
				}
			}
		}
	})

	t.Run("IATI activities", func(t *testing.T) {
		checkIATI(t, x.Files[opendata.IATIName], tables["projects"], tables["project_indicators"])
	})

	t.Run("the directory holds what the ZIP holds", func(t *testing.T) {
		dir := t.TempDir()
		if err := x.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		if err := opendata.VerifyDir(dir); err != nil {
			t.Error(err)
		}
		// A file edited after the export, one added, one removed: each named.
		path := filepath.Join(dir, "regions.csv")
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, want string
			spoil      func() error
		}{
			{"an edited file", "regions.csv: the file differs", func() error { return os.WriteFile(path, append(orig, "x\n"...), 0o644) }},
			{"a removed file", "regions.csv is missing", func() error { return os.Remove(path) }},
			{"an added file", "extra.csv is not of the export", func() error { return os.WriteFile(filepath.Join(dir, "extra.csv"), nil, 0o644) }},
		} {
			if err := c.spoil(); err != nil {
				t.Fatal(err)
			}
			if err := opendata.VerifyDir(dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: VerifyDir = %v, want %q", c.name, err, c.want)
			}
			os.Remove(filepath.Join(dir, "extra.csv"))
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("ETag and 304", func(t *testing.T) {
		h := httptest.NewServer(http.StripPrefix("", &opendata.Handler{Exporter: f.exp}))
		defer h.Close()
		get := func(path, etag string) *http.Response {
			req, _ := http.NewRequest(http.MethodGet, h.URL+path, nil)
			if etag != "" {
				req.Header.Set("If-None-Match", etag)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		first := get("/opendata/regions.csv", "")
		etag := first.Header.Get("ETag")
		if first.StatusCode != 200 || !strings.Contains(etag, strconv.FormatInt(x.Position, 10)) || first.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("GET regions.csv: %d, ETag %q, %q", first.StatusCode, etag, first.Header.Get("Content-Type"))
		}
		for _, p := range []string{"/opendata/regions.csv", "/opendata/" + opendata.ZipName, "/opendata/"} {
			if r := get(p, etag); r.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s with If-None-Match %s: %d, want 304", p, etag, r.StatusCode)
			}
		}
		if r := get("/opendata/nothing.csv", ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET nothing.csv: %d", r.StatusCode)
		}
		// A new event moves the position: the old ETag no longer matches.
		if _, _, err := f.registry.RegisterOrganisation(ctx, access.SystemMeta("test", time.Now()), registry.RegisterOrganisation{
			Kind: registry.OrganisationKind("cso"), Name: domain.LocalizedText{Ka: "ახალი ორგანიზაცია", En: "A new organisation"}}); err != nil {
			t.Fatal(err)
		}
		f.waitCaughtUp(t)
		r := get("/opendata/organisations.csv", etag)
		if r.StatusCode != 200 || r.Header.Get("ETag") == etag {
			t.Errorf("after a new event: %d, ETag %q (was %q)", r.StatusCode, r.Header.Get("ETag"), etag)
		}
	})
}
