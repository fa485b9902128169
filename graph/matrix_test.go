package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/graph/generated"
	"github.com/civicledger/civicledger/internal/seed"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
)

// The role × read-path matrix. A world holds every kind of data the API
// serves (the demo's organisations with their contacts, projects with a
// lead, the 2019 certification cycle, and a 2030 cycle with two
// applications, each with its own expert, answers, scores, an
// information request and a named expert), and one caller of each kind:
// anonymous, an analyst, the applicants of two municipalities, an expert
// assigned to one application and one assigned to the other, the
// consortium, an auditor, the hubs of two regions, an admin, the two
// budgeting keys of one municipality (an officer and the ballot box of
// its 2030 cycle), and an assessor of the benchmark, bound to no place.
//
// The queries are generated from the schema (every field of every type
// reachable from Query, with fixtures for required arguments), and what
// each caller gets is checked against the catalog's declarations, not
// against expectations written field by field:
//   - every field a caller gets that a view limits must be one its
//     audience admits, for the object's scope as the world knows it, and
//     every object one the caller may see (otherwise: null, or left out);
//   - every event a subscription delivers is exactly what the domain's
//     rules give that caller, and every event they give is delivered;
//   - the world's secrets (answers, rationales, experts' identities and
//     names, contact persons' details, key hashes), each with the audience
//     the domain declares for it, appear in no answer to a caller outside
//     that audience, and in some answer to every caller inside it.
//
// A new type or field without a declaration stops the server from
// starting (graph.policy.Validate); a new field with a required argument
// and no fixture fails here.

// matrixActor is one caller of the matrix.
type matrixActor struct {
	name  string
	key   string // "" for anonymous
	actor domain.Actor
}

// secret is a value of the world with the audience the domain declares
// for it.
type secret struct {
	what     string
	value    string
	audience domain.Audience
	scope    domain.Scope
}

// world is the matrix's data and callers.
type world struct {
	e      *env
	actors []matrixActor
	// experts of each application (actor IDs), and of each information
	// request ("<application>/<request>"), as the world made them.
	experts  map[string][]string
	requests map[string]string
	// ids the query fixtures name.
	cif, strongLinks, activityID, network string
	secrets                               []secret
	// published are the benchmark rounds the world published.
	published map[string]bool
	head      int64
}

// doKey runs a query with key ("" for none).
func (e *env) doKey(key, query string, vars map[string]any) response {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.raw(request{key: key, body: string(body)})
}

// newKey issues a key and returns it with its actor, as the server sees it.
func (e *env) newKey(name string, role domain.Role, municipality, region, cycle string) (string, domain.Actor) {
	e.t.Helper()
	key, _, res, err := (&access.Service{Repo: e.repo}).CreateKey(context.Background(), access.SystemMeta("test", time.Now()),
		access.CreateKey{Name: name, Role: role, Municipality: municipality, Region: region, Cycle: cycle})
	if err != nil {
		e.t.Fatal(err)
	}
	pos, err := e.store.AwaitPosition(context.Background(), res.LastID)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.runner.WaitFor(ctx, pos); err != nil {
		e.t.Fatal(err)
	}
	id := fmt.Sprint(e.doKey(key, `{ viewer { name } }`, nil).ok(e.t).get("viewer.name"))
	_, keyID, _ := strings.Cut(id, "#")
	if cycle != "" { // a ballot box acts for its cycle's municipality, which the service sets
		municipality = cycle[:strings.LastIndexByte(cycle, '-')]
	}
	return key, domain.Actor{ID: id, Role: role, Municipality: municipality, Region: region, Cycle: cycle, KeyID: keyID}
}

// mutateKey runs a mutation with key and fails the test on an error.
func (e *env) mutateKey(key, query string, vars map[string]any) response {
	e.t.Helper()
	return e.doKey(key, query, vars).ok(e.t)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	e := newEnv(t, graph.Config{RatePerSecond: -1, MaxDepth: 40, MaxComplexity: 1 << 30, MaxSocketsPerAddress: 1000})
	ctx := context.Background()
	w := &world{e: e, experts: map[string][]string{}, requests: map[string]string{}}

	// The demo: organisations with contacts, networks, projects (one with
	// a lead), activities, and the 2019 cycle.
	civil, err := seed.CivilSociety(ctx, seed.CivilServices{Registry: &registry.Service{Repo: e.repo}, Networks: &network.Service{Repo: e.repo},
		Projects: &project.Service{Repo: e.repo}, Activities: &activity.Service{Repo: e.repo}}, time.Now())
	if err != nil || civil.Organisations == 0 {
		t.Fatalf("civil-society demo: %+v, %v", civil, err)
	}
	if _, err := seed.Certification2019(ctx, &certification.Service{Repo: e.repo}); err != nil {
		t.Fatal(err)
	}

	// The callers.
	w.actors = append(w.actors, matrixActor{name: "anonymous", actor: domain.Actor{ID: "anonymous", Role: domain.Anonymous}})
	addKey := func(name string, role domain.Role, municipality, region, cycle string) matrixActor {
		key, a := e.newKey(name, role, municipality, region, cycle)
		m := matrixActor{name: name, key: key, actor: a}
		w.actors = append(w.actors, m)
		return m
	}
	add := func(name string, role domain.Role, municipality, region string) matrixActor {
		return addKey(name, role, municipality, region, "")
	}
	add("analyst", domain.Analyst, "", "")
	gori := add("applicant-gori", domain.Applicant, "gori", "")
	akhaltsikhe := add("applicant-akhaltsikhe", domain.Applicant, "akhaltsikhe", "")
	x := add("expert-x", domain.Expert, "", "")
	y := add("expert-y", domain.Expert, "", "")
	consortium := add("consortium", domain.Consortium, "", "")
	add("auditor", domain.Auditor, "", "")
	add("hub-kvemo-kartli", domain.Hub, "", "kvemo-kartli")
	add("hub-guria", domain.Hub, "", "guria")
	admin := add("admin", domain.Admin, "", "")
	// The budgeting keys of gori, whose application the world holds: the
	// audiences of gori's certification must not take them for its
	// applicant.
	officer := add("officer-gori", domain.Officer, "gori", "")
	box := addKey("ballot-box-gori-2030", domain.BallotBox, "", "", "gori-2030")
	// An assessor of the civic-engagement benchmark, bound to no
	// municipality, region or cycle: no audience that goes by place may
	// take it for one of its own.
	assessor := add("assessor", domain.Assessor, "", "")

	// The 2030 cycle: gori's application with expert X, akhaltsikhe's with
	// expert Y.
	e.clock.Set(day(t, "2030-02-10"))
	e.mutateKey(admin.key, openCycle, cycle2030())
	for _, app := range []struct {
		municipality string
		applicant    matrixActor
		expert       matrixActor
		name         string
	}{{"gori", gori, x, "ნათელა მეტრეველი (Natela Metreveli) [test]"}, {"akhaltsikhe", akhaltsikhe, y, "გიორგი ბერიძე (Giorgi Beridze) [test]"}} {
		id := "2030-" + app.municipality
		tag := strings.ToUpper(app.municipality)
		vars := map[string]any{"id": id, "m": app.municipality, "x": app.expert.actor.ID, "name": app.name}
		e.mutateKey(app.applicant.key, `mutation($m: ID!) { draftApplication(year: 2030, municipality: $m) { position } }`, vars)
		e.mutateKey(app.applicant.key, `mutation($id: ID!, $a: String!) { saveApplicationAnswers(applicationId: $id, answers: [{question: "q1", answer: $a}]) { position } }`,
			map[string]any{"id": id, "a": tag + "-ANSWER: 2% of the budget"})
		e.mutateKey(app.applicant.key, `mutation($id: ID!) { submitApplication(applicationId: $id) { position } }`, vars)
		e.mutateKey(consortium.key, `mutation($id: ID!) { confirmApplicationStart(applicationId: $id) { position } }`, vars)
		e.mutateKey(consortium.key, `mutation($id: ID!) { checkApplicationCompleteness(applicationId: $id, complete: true) { position } }`, vars)
		e.mutateKey(consortium.key, `mutation($id: ID!, $x: String!, $name: String) { assignExpert(applicationId: $id, expert: $x, name: $name) { position } }`, vars)
		e.mutateKey(app.expert.key, `mutation($id: ID!) { declareConflictOfInterest(applicationId: $id, conflict: false) { position } }`, vars)
		e.mutateKey(app.expert.key, `mutation($id: ID!, $r: String!) { scoreApplication(applicationId: $id, criterion: "motivation", score: 8, rationale: $r) { position } }`,
			map[string]any{"id": id, "r": tag + "-RATIONALE: the council adopted rules"})
		e.mutateKey(app.expert.key, `mutation($id: ID!) { requestApplicationInformation(applicationId: $id, question: "How many voted?") { position } }`, vars)
		e.mutateKey(app.applicant.key, `mutation($id: ID!, $a: String!) { provideApplicationInformation(applicationId: $id, requestId: "1", answer: $a) { position } }`,
			map[string]any{"id": id, "a": tag + "-INFO: 2,310 voted"})
		e.mutateKey(app.applicant.key, `mutation($id: ID!, $d: String!) { reportMaterialChange(applicationId: $id, description: $d) { position } }`,
			map[string]any{"id": id, "d": tag + "-CHANGE: a new mayor"})
		w.experts[id] = []string{app.expert.actor.ID}
		w.requests[id+"/1"] = app.expert.actor.ID
		as := certification.ApplicationScope(id, w.experts[id])
		named := as
		named.Subject = app.expert.actor.ID
		w.secrets = append(w.secrets,
			secret{id + " answer", tag + "-ANSWER", certification.AnswerReaders, as},
			secret{id + " answer to a request", tag + "-INFO", certification.AnswerReaders, as},
			secret{id + " material change", tag + "-CHANGE", certification.AnswerReaders, as},
			secret{id + " rationale", tag + "-RATIONALE", certification.Named, named},
			secret{id + " expert", app.expert.actor.ID, certification.Named, named},
			secret{id + " expert's name", strings.SplitN(app.name, " ", 2)[0], certification.Named, named},
		)
	}

	// What the queries name.
	r := e.do(domain.Admin, `{ organisations(first: 100) { edges { node { id name { en } } } } networks { id } projects { id lead } activities(first: 1) { edges { node { id } } } }`, nil).ok(t)
	for _, edge := range r.get("organisations.edges").([]any) {
		n := edge.(map[string]any)["node"].(map[string]any)
		if strings.Contains(fmt.Sprint(n["name"]), "(CIF)") {
			w.cif = n["id"].(string)
		}
	}
	for _, p := range r.get("projects").([]any) {
		if p.(map[string]any)["lead"] != nil {
			w.strongLinks = p.(map[string]any)["id"].(string)
		}
	}
	w.network = r.get("networks").([]any)[0].(map[string]any)["id"].(string)
	w.activityID = r.get("activities.edges").([]any)[0].(map[string]any)["node"].(map[string]any)["id"].(string)
	if w.cif == "" || w.strongLinks == "" {
		t.Fatalf("the demo lacks CIF or a project with a lead: %+v", r.Data)
	}
	// Gori's participatory budget of 2030, from its opening to a
	// delivery, with ballots whose voters are secrets.
	w.budget(gori, officer, box)
	// The benchmark: round 2029 published, 2030 preliminary.
	w.benchmark(admin, assessor, gori, akhaltsikhe)
	cif := domain.Scope{Region: "kvemo-kartli"}
	w.secrets = append(w.secrets,
		secret{"CIF's contact e-mail", "cifgeo@gmail.com", registry.PersonalData, cif},
		secret{"CIF's contact phone", "+995 032 2182266", registry.PersonalData, cif},
		secret{"a project lead's name", "Ia Gabunia", domain.SignedIn, domain.Scope{}},
	)
	for _, a := range w.actors {
		if a.key != "" {
			w.secrets = append(w.secrets, secret{a.name + "'s key", a.key, domain.Nobody, domain.Scope{}},
				secret{a.name + "'s key hash", access.HashKey(a.key), domain.Nobody, domain.Scope{}})
		}
	}
	w.head = e.head()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := e.runner.WaitFor(ctx, w.head); err != nil {
		t.Fatal(err)
	}
	return w
}

// fixtures are the values of required arguments, as GraphQL literals:
// several for a root field ask it once with each.
func (w *world) fixtures() map[string][]string {
	return map[string][]string{
		"Query.application.id":                       {`"2030-gori"`, `"2030-akhaltsikhe"`, `"2019-gori"`},
		"Query.certificationAudit.applicationId":     {`"2030-gori"`, `"2019-akhaltsikhe"`},
		"Query.replayDecision.applicationId":         {`"2030-gori"`, `"2019-gori"`},
		"Query.certificationCycle.year":              {`2030`},
		"Query.cycleStatistics.year":                 {`2019`},
		"Query.certificationHistory.municipality":    {`"gori"`},
		"Query.region.code":                          {`"kvemo-kartli"`},
		"Query.municipality.code":                    {`"rustavi"`},
		"Query.organisation.id":                      {`"` + w.cif + `"`},
		"Query.regionalDirectory.region":             {`"kvemo-kartli"`},
		"Query.network.id":                           {`"` + w.network + `"`},
		"Query.project.id":                           {`"` + w.strongLinks + `"`},
		"Query.activity.id":                          {`"` + w.activityID + `"`},
		"Query.budgetCycle.id":                       {`"gori-2030"`},
		"Query.budgetIdea.id":                        {`"gori-2030-001"`, `"gori-2030-003"`},
		"Query.recountCycle.id":                      {`"gori-2030"`},
		"Query.participationTrend.groupBy":           {`[YEAR, REGION]`},
		"Query.budgetingTrend.groupBy":               {`[YEAR, REGION, MUNICIPALITY]`, `[CHANNEL, SEX, AGE_BAND]`},
		"Attendance.breakdown.by":                    {`SEX`},
		"Query.logProof.positions":                   {`[1, 2]`},
		"Query.benchmarkMethod.version":              {`1`},
		"Query.benchmarkRound.id":                    {`"2029"`, `"2030"`},
		"Query.ranking.round":                        {`"2029"`},
		"Query.scorecard.round":                      {`"2029"`, `"2030"`},
		"Query.scorecard.municipality":               {`"gori"`, `"akhaltsikhe"`},
		"Query.compareMunicipalities.round":          {`"2029"`},
		"Query.compareMunicipalities.municipalities": {`["gori", "akhaltsikhe"]`},
		"Query.actionPlan.id":                        {`"gori-2029"`},
		"Query.replayScore.round":                    {`"2029"`, `"2030"`},
		"Query.replayScore.municipality":             {`"gori"`, `"akhaltsikhe"`},
		"Query.logConsistency.fromSize":              {`1`},
		"Query.logConsistency.toSize":                {`2`},
	}
}

// matrixQuery is one generated query.
type matrixQuery struct {
	field, text string
}

// generate builds, from the schema, a query per root field of Query and
// fixture value, selecting every field reachable from it (a type is not
// entered twice on one path, so the queries end). It returns the fields
// selected, to show that every field of every type reachable from Query
// is asked by some query.
func (w *world) generate(t *testing.T, schema *ast.Schema) ([]matrixQuery, map[string]bool) {
	t.Helper()
	fx := w.fixtures()
	selected := map[string]bool{}
	var sel func(typ *ast.Definition, onPath map[string]bool) string
	args := func(parent string, f *ast.FieldDefinition) (string, bool) {
		var parts []string
		for _, a := range f.Arguments {
			if !a.Type.NonNull || a.DefaultValue != nil {
				continue
			}
			vals := fx[parent+"."+f.Name+"."+a.Name]
			if len(vals) == 0 {
				t.Errorf("no fixture for the required argument %s.%s(%s): add one to world.fixtures", parent, f.Name, a.Name)
				return "", false
			}
			parts = append(parts, a.Name+": "+vals[0])
		}
		if len(parts) == 0 {
			return "", true
		}
		return "(" + strings.Join(parts, ", ") + ")", true
	}
	sel = func(typ *ast.Definition, onPath map[string]bool) string {
		var b strings.Builder
		b.WriteString("{ __typename")
		for _, f := range typ.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			ft := schema.Types[f.Type.Name()]
			a, ok := args(typ.Name, f)
			if !ok {
				continue
			}
			if ft.Kind == ast.Object {
				if onPath[ft.Name] {
					continue
				}
				onPath[ft.Name] = true
				b.WriteString(" " + f.Name + a + " " + sel(ft, onPath))
				delete(onPath, ft.Name)
			} else {
				b.WriteString(" " + f.Name + a)
			}
			selected[typ.Name+"."+f.Name] = true
		}
		b.WriteString(" }")
		return b.String()
	}
	var out []matrixQuery
	for _, f := range schema.Query.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		combos := []string{""}
		for _, a := range f.Arguments {
			if !a.Type.NonNull || a.DefaultValue != nil {
				continue
			}
			vals := fx["Query."+f.Name+"."+a.Name]
			if len(vals) == 0 {
				t.Errorf("no fixture for the required argument Query.%s(%s): add one to world.fixtures", f.Name, a.Name)
				combos = nil
				break
			}
			var next []string
			for _, c := range combos {
				for _, v := range vals {
					sep := ""
					if c != "" {
						sep = ", "
					}
					next = append(next, c+sep+a.Name+": "+v)
				}
			}
			combos = next
		}
		ft := schema.Types[f.Type.Name()]
		for _, c := range combos {
			q := "{ " + f.Name
			if c != "" {
				q += "(" + c + ")"
			}
			if ft.Kind == ast.Object {
				q += " " + sel(ft, map[string]bool{ft.Name: true})
			}
			out = append(out, matrixQuery{field: f.Name, text: q + " }"})
		}
		selected["Query."+f.Name] = true
	}
	return out, selected
}

// scopeOf is what the world knows an object of type typ is about, within
// outer (the scope of the objects holding it).
func (w *world) scopeOf(typ string, obj map[string]any, outer domain.Scope, app string) domain.Scope {
	str := func(v any) string { s, _ := v.(string); return s }
	var s domain.Scope
	switch typ {
	case "Application":
		s = certification.ApplicationScope(str(obj["id"]), w.expertsOf(str(obj["id"])))
	case "Score", "ExpertAssignment":
		s.Subject = str(obj["expert"])
	case "InformationRequest":
		s.Subject = w.requests[app+"/"+str(obj["id"])]
	case "Organisation":
		if r, ok := obj["region"].(map[string]any); ok {
			s.Region = str(r["code"])
		}
	case "Scorecard":
		if m, ok := obj["municipality"].(map[string]any); ok {
			s.Municipality = str(m["code"])
		}
		s.Public = obj["published"] == true
	case "ScoreReplay":
		s.Municipality, s.Public = str(obj["municipality"]), w.published[str(obj["round"])]
	}
	return s.Within(outer)
}

// expertsOf is who is assigned to an application: the world's own, or the
// demo's as its events say.
func (w *world) expertsOf(id string) []string {
	if x, ok := w.experts[id]; ok {
		return x
	}
	events, err := w.e.store.ReadStream(context.Background(), certification.ApplicationStream(id), eventstore.ReadOptions{})
	if err != nil {
		w.e.t.Fatal(err)
	}
	x, err := catalog.Types.Assigned(events)
	if err != nil {
		w.e.t.Fatal(err)
	}
	w.experts[id] = x
	return x
}

// check walks a value of type typ in an answer to actor and reports what
// it holds that the catalog says actor may not see.
func (w *world) check(t *testing.T, schema *ast.Schema, actor matrixActor, where string, typ *ast.Type, v any, outer domain.Scope, app string) {
	t.Helper()
	if v == nil {
		return
	}
	if list, ok := v.([]any); ok {
		for i, e := range list {
			w.check(t, schema, actor, fmt.Sprintf("%s[%d]", where, i), typ.Elem, e, outer, app)
		}
		return
	}
	def := schema.Types[typ.Name()]
	obj, ok := v.(map[string]any)
	if def == nil || def.Kind != ast.Object || !ok {
		return
	}
	s := w.scopeOf(def.Name, obj, outer, app)
	if def.Name == "Application" {
		app, _ = obj["id"].(string)
	}
	if !catalog.Views.SeesView(actor.actor, def.Name, s) {
		t.Errorf("%s got %s, a %s it may not see (%s)", actor.name, where, def.Name, must(catalog.Views.Audience(def.Name)))
	}
	for _, f := range def.Fields {
		val, present := obj[f.Name]
		if !present {
			continue
		}
		rule, ok := catalog.Views.Field(def.Name, f.Name)
		if !ok {
			t.Errorf("%s.%s has no declared visibility", def.Name, f.Name)
			continue
		}
		if !rule.Open() && !rule.Audience.Sees(actor.actor, s) && val != nil {
			t.Errorf("%s got %s.%s = %.80v; it is for %s", actor.name, where, f.Name, val, rule.Audience)
			continue
		}
		w.check(t, schema, actor, where+"."+f.Name, f.Type, val, s, app)
	}
}

func must(a domain.Audience, _ bool) domain.Audience { return a }

// answers is every answer one caller got, for the secrets.
type answers struct {
	bytes.Buffer
}

func TestVisibilityMatrix(t *testing.T) {
	w := newWorld(t)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	queries, selected := w.generate(t, schema)

	// Every field of every type reachable from Query is asked by some
	// query, so a new field is checked as soon as it exists.
	reach := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		def := schema.Types[name]
		if def == nil || def.Kind != ast.Object || reach[name] {
			return
		}
		reach[name] = true
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if !selected[name+"."+f.Name] {
				t.Errorf("no generated query selects %s.%s", name, f.Name)
			}
			visit(f.Type.Name())
		}
	}
	visit("Query")

	seen := map[string]*answers{}
	table := map[string]map[string][2]int{} // actor → root field → queries answered, asked
	for _, a := range w.actors {
		seen[a.name] = &answers{}
		table[a.name] = map[string][2]int{}
		for _, q := range queries {
			r := w.e.doKey(a.key, q.text, nil)
			if r.Status != 200 && r.Status != 422 {
				t.Fatalf("%s: %s: status %d %+v", a.name, q.text[:min(len(q.text), 80)], r.Status, r.Errors)
			}
			raw, _ := json.Marshal(r)
			seen[a.name].Write(raw)
			cell := table[a.name][q.field]
			cell[1]++
			table[a.name][q.field] = cell
			field := schema.Query.Fields.ForName(q.field)
			rule, _ := catalog.Views.Field("Query", q.field)
			switch code := r.code(); {
			case !rule.Audience.Sees(a.actor, domain.Scope{}):
				if code != "FORBIDDEN" && code != "UNAUTHENTICATED" {
					t.Errorf("%s asked %s, which is for %s: %s, want FORBIDDEN or UNAUTHENTICATED", a.name, q.field, rule.Audience, code)
				}
				continue
			case code == "FORBIDDEN" || code == "UNAUTHENTICATED":
				// application(id) of another municipality's: the object's
				// audience refuses it.
				if av, ok := catalog.Views.Audience(field.Type.Name()); !ok || !av.Scoped() {
					t.Errorf("%s asked %s: %+v, though %s is for %s", a.name, q.text[:min(len(q.text), 60)], r.Errors, q.field, rule.Audience)
				}
				continue
			case code != "":
				t.Errorf("%s: %.100s: %+v", a.name, q.text, r.Errors)
				continue
			}
			w.check(t, schema, a, q.field, field.Type, r.Data[q.field], domain.Scope{}, "")
			cell[0]++
			table[a.name][q.field] = cell
		}
	}

	// The subscription, as each caller gets it.
	for _, a := range w.actors {
		got := w.subscription(t, a)
		seen[a.name].Write(got)
	}

	// The secrets: none reaches a caller outside its audience, each
	// reaches every caller inside it somewhere.
	for _, s := range w.secrets {
		for _, a := range w.actors {
			has := bytes.Contains(seen[a.name].Bytes(), []byte(s.value))
			if sees := s.audience.Sees(a.actor, s.scope); has != sees {
				t.Errorf("%s: %s (%q, for %s) reached it: %v, want %v", a.name, s.what, s.value, s.audience, has, sees)
			}
		}
	}

	if testing.Verbose() {
		var fields []string
		for _, q := range queries {
			if !slices.Contains(fields, q.field) {
				fields = append(fields, q.field)
			}
		}
		sort.Strings(fields)
		var b strings.Builder
		fmt.Fprintf(&b, "%-22s", "")
		for _, a := range w.actors {
			fmt.Fprintf(&b, " %-9.9s", a.name)
		}
		for _, f := range fields {
			fmt.Fprintf(&b, "\n%-22.22s", f)
			for _, a := range w.actors {
				c := table[a.name][f]
				fmt.Fprintf(&b, " %-9s", fmt.Sprintf("%d/%d", c[0], c[1]))
			}
		}
		t.Logf("queries answered of those asked, by root field and caller (the rest refused, as not for them; "+
			"each answer checked field by field against the catalog):\n%s", b.String())
	}
}

// subscription subscribes a as a dashboard would, to the whole log, and
// checks each event it gets against what the domain's rules give it; it
// returns every payload received.
func (w *world) subscription(t *testing.T, a matrixActor) []byte {
	t.Helper()
	e := w.e
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial(e.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	writeWS(t, conn, initMessage(a.key))
	if raw, m := readWS(t, conn); m["type"] != "connection_ack" {
		t.Fatalf("%s: %s, want connection_ack", a.name, raw)
	}
	writeWS(t, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription {
		events(after: 0) { position id stream version type schemaVersion data occurredAt recordedAt actor role correlationId withheld erased } }`}})

	// What the rules give a, event by event, from the log itself.
	ctx := context.Background()
	log, err := e.store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Types.Unseal(ctx, e.keyring, log); err != nil {
		t.Fatal(err)
	}
	want := map[int64]domain.EventView{}
	for _, ev := range log {
		if ev.Position > w.head {
			break
		}
		var assigned []string
		if ev.Stream != "" && strings.HasPrefix(ev.Stream, "application-") {
			assigned = w.expertsOf(strings.TrimPrefix(ev.Stream, "application-"))
		}
		v, err := catalog.Types.See(a.actor, ev, assigned)
		if err != nil {
			t.Fatal(err)
		}
		if v.Sight != domain.Hidden {
			want[ev.Position] = v
		}
	}
	var out bytes.Buffer
	got := map[int64]bool{}
	deadline := time.Now().Add(60 * time.Second)
	var last int64
	for len(got) < len(want) {
		conn.SetReadDeadline(deadline)
		_, b, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("%s: subscription after %d of %d events (last position %d): %v", a.name, len(got), len(want), last, err)
		}
		var m struct {
			Type    string `json:"type"`
			Payload struct {
				Data struct {
					Events struct {
						Position      int64           `json:"position"`
						Data          json.RawMessage `json:"data"`
						Actor         *string         `json:"actor"`
						CorrelationID *string         `json:"correlationId"`
						Withheld      []string        `json:"withheld"`
					} `json:"events"`
				} `json:"data"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "ping" {
			writeWS(t, conn, map[string]any{"type": "pong"})
			continue
		}
		if m.Type != "next" {
			t.Fatalf("%s: subscription message %s", a.name, b)
		}
		out.Write(b)
		ev := m.Payload.Data.Events
		last = ev.Position
		v, ok := want[ev.Position]
		switch {
		case !ok:
			t.Errorf("%s got event %d, which is not for it", a.name, ev.Position)
		case !slices.Equal(ev.Withheld, nonNilStrings(v.Withheld)):
			t.Errorf("%s got event %d withholding %v, want %v", a.name, ev.Position, ev.Withheld, v.Withheld)
		case !jsonEqual(ev.Data, v.Data):
			t.Errorf("%s got event %d with data %s, want %s", a.name, ev.Position, ev.Data, v.Data)
		case v.ActorHidden != (ev.Actor == nil && ev.CorrelationID == nil):
			t.Errorf("%s got event %d with actor %v, want it hidden: %v", a.name, ev.Position, ev.Actor, v.ActorHidden)
		}
		got[ev.Position] = true
		if ev.Position >= w.head {
			break
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("%s did not get event %d, which is for it", a.name, p)
		}
	}
	return out.Bytes()
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
