package seed

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/network"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/domain/registry"
)

// civilFile is the demo of civil-society activity: the CSSIGE consortium
// and its regional hubs, two donor projects and the activities of both.
// Its "about" field says which values come from the shared source
// documents and which are illustrative; every invented text is marked
// "[illustrative]" (or "[საილუსტრაციო]") so that the mark travels into
// the events.
const civilFile = "data/civil-society.json"

//go:embed data/civil-society.json
var civilSocietyData []byte

// civilCorrelation ties every event of the demo together.
const civilCorrelation = CorrelationPrefix + "civil-society"

// CSSIGE and CSSIGEHubs are the IDs of the networks CivilSociety forms:
// the consortium that carried out the programme, and its regional hubs.
const (
	CSSIGE     = "cssige"
	CSSIGEHubs = "cssige-hubs"
)

// CivilServices are the services CivilSociety drives. They share one
// repository, and the registry's regions and municipalities must be
// loaded in it (see Registry).
type CivilServices struct {
	// Registry registers the organisations; Networks forms the consortium
	// and the hub network; Projects keeps the donor projects; Activities
	// records what the hubs and projects did.
	Registry   *registry.Service
	Networks   *network.Service
	Projects   *project.Service
	Activities *activity.Service
}

// CivilReport says what CivilSociety loaded, read back from the log. Its
// zero value means nothing was loaded because the consortium was there
// already.
type CivilReport struct {
	// Organisations counts the organisations registered.
	Organisations int
	// Networks counts the networks formed; Members, the memberships in
	// force in them at the end.
	Networks, Members int
	// Projects counts the projects registered; Indicators, their
	// indicators.
	Projects, Indicators int
	// Activities counts the activities scheduled; Held and Cancelled,
	// those among them held or cancelled.
	Activities, Held, Cancelled int
	// Events counts the events appended.
	Events int
}

// CivilSociety loads the demo of civil-society activity: the CSSIGE
// consortium (KAS leading CSI, CTC, CSRDG, EDEC and, from the successor
// programme, IEP, with the EU as donor), its ten regional hubs (the Civic
// Integration Foundation in Kvemo Kartli, illustrative hubs elsewhere),
// the projects "Building strong links between local development actors -
// Phase II" and HEKS/EPER's (its budget, EU contribution and three count
// indicators with their targets), and some three dozen activities of the
// kinds the hubs' documents name, a few of them counting towards the
// HEKS/EPER indicators.
//
// It drives the real commands, as the actors the data names (an admin for
// the registry, networks and projects; the platform importing the hubs'
// reports for the activities), each on the day the data gives (Meta.Now
// and OccurredAt, in Tbilisi), in the order of those days, so every rule
// of the domain checks the data. now is the time of the import: a day
// after it stops the load before anything is written, since the demo
// records the past.
//
// It loads nothing when the CSSIGE network exists, so every start of a
// server may call it. It returns what it loaded, also when it stops at an
// error part way; the network then exists, and a later call loads nothing
// more, so such a database is best started afresh.
func CivilSociety(ctx context.Context, s CivilServices, now time.Time) (CivilReport, error) {
	demo, err := readDemo[civilDemo](civilSocietyData, civilFile)
	if err != nil {
		return CivilReport{}, err
	}
	return loadCivilDemo(ctx, s, demo, civilFile, now)
}

// loadCivilDemo loads demo, read from file, unless its first network (the
// consortium) exists.
func loadCivilDemo(ctx context.Context, s CivilServices, demo *civilDemo, file string, now time.Time) (CivilReport, error) {
	if len(demo.Networks) == 0 {
		return CivilReport{}, fmt.Errorf("%s: networks: none; the first is the consortium whose existence says the demo is loaded", file)
	}
	var first network.Network
	version, err := s.Networks.Repo.Load(ctx, network.Stream(demo.Networks[0].ID), &first)
	if err != nil {
		return CivilReport{}, fmt.Errorf("%s: %w", file, err)
	}
	if version > 0 {
		return CivilReport{}, nil
	}
	ids := map[string]string{} // organisation key -> registry ID, as each is registered
	open, steps, err := demo.plan(s, ids, now.In(domain.Tbilisi).Format(domain.DateLayout))
	if err != nil {
		return CivilReport{}, fmt.Errorf("%s: %w", file, err)
	}
	run := dayClock(civilCorrelation, file)
	if err := run(ctx, open); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return CivilReport{}, nil // another loader formed the network meanwhile
		}
		return CivilReport{}, err
	}
	slices.SortStableFunc(steps, func(a, b step) int { return strings.Compare(a.day, b.day) })
	for _, st := range steps {
		if err := run(ctx, st); err != nil {
			rep, _ := demo.summarize(ctx, s, ids)
			return rep, err
		}
	}
	rep, err := demo.summarize(ctx, s, ids)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", file, err)
	}
	return rep, nil
}

// dayClock returns a runner of steps that times each on its day: from
// 10:00 in Tbilisi, three minutes apart, so that business time orders a
// day's events as the log does.
func dayClock(correlation, file string) func(context.Context, step) error {
	clock := map[string]int{} // steps run on each day so far
	return func(ctx context.Context, s step) error {
		now, _ := time.ParseInLocation(domain.DateLayout, s.day, domain.Tbilisi) // checked by plan
		now = now.Add(10*time.Hour + time.Duration(clock[s.day])*3*time.Minute)
		clock[s.day]++
		meta := domain.Meta{Actor: s.actor, CorrelationID: correlation, Now: now, OccurredAt: now}
		if err := s.run(ctx, meta); err != nil {
			return fmt.Errorf("%s: %s, %s as %s: %w", file, s.day, s.what, s.actor.ID, err)
		}
		return nil
	}
}

// civilDemo is a demo file. Organisations are named by a key of the file
// ("cif"), which the load maps to the ID the registry gives each; every
// day is YYYY-MM-DD in Tbilisi.
type civilDemo struct {
	// About says where the values come from; it is for readers only.
	About string `json:"about"`
	// Admin registers the organisations and keeps the networks and
	// projects; Importer records the activities, as the platform
	// importing the programmes' reports of years past (no hub's or
	// implementer's key was there to record them). Both are actor IDs.
	Admin         string              `json:"admin"`
	Importer      string              `json:"importer"`
	Organisations []civilOrganisation `json:"organisations"`
	// Networks: the first is the consortium, formed before anything else.
	Networks   []civilNetwork  `json:"networks"`
	Projects   []civilProject  `json:"projects"`
	Activities []civilActivity `json:"activities"`
}

type civilOrganisation struct {
	Key          string                    `json:"key"`
	RegisteredOn string                    `json:"registered_on"`
	Kind         registry.OrganisationKind `json:"kind"`
	Name         domain.LocalizedText      `json:"name"`
	Region       string                    `json:"region"`
	Municipality string                    `json:"municipality"`
	Contact      registry.Contact          `json:"contact"`
	Website      string                    `json:"website"`
}

type civilNetwork struct {
	ID       string               `json:"id"`
	Kind     network.Kind         `json:"kind"`
	Name     domain.LocalizedText `json:"name"`
	FormedOn string               `json:"formed_on"`
	Members  []civilMember        `json:"members"`
}

// civilMember is a joining: Organisation is a key of the file.
type civilMember struct {
	Organisation string       `json:"organisation"`
	Role         network.Role `json:"role"`
	Region       string       `json:"region"`
	On           string       `json:"on"`
}

// civilProject is a project, registered on RegisteredOn with its
// indicators and their targets; Implementers, Partners and the donors are
// keys of the file.
type civilProject struct {
	ID             string                 `json:"id"`
	RegisteredOn   string                 `json:"registered_on"`
	Title          domain.LocalizedText   `json:"title"`
	Implementers   []string               `json:"implementers"`
	Partners       []string               `json:"partners"`
	Lead           string                 `json:"lead"`
	Start          string                 `json:"start"`
	End            string                 `json:"end"`
	Regions        []string               `json:"regions"`
	Municipalities []string               `json:"municipalities"`
	Objectives     []domain.LocalizedText `json:"objectives"`
	Total          *project.Money         `json:"total,omitempty"`
	Contributions  []struct {
		On     string        `json:"on"`
		Donor  string        `json:"donor"`
		Amount project.Money `json:"amount"`
	} `json:"contributions"`
	Indicators []civilIndicator `json:"indicators"`
}

type civilIndicator struct {
	ID             string               `json:"id"`
	ResultType     project.ResultType   `json:"result_type"`
	Result         domain.LocalizedText `json:"result"`
	Title          domain.LocalizedText `json:"title"`
	Unit           project.Unit         `json:"unit"`
	HigherIsBetter bool                 `json:"higher_is_better"`
	BaselineYear   int                  `json:"baseline_year"`
	Baseline       float64              `json:"baseline"`
	Targets        []struct {
		Start string  `json:"start"`
		End   string  `json:"end"`
		Value float64 `json:"value"`
	} `json:"targets"`
}

// civilActivity is an activity from its scheduling on: perhaps moved,
// then held (and its attendance corrected) or cancelled. Organisers are
// keys of the file; an act left out did not happen.
type civilActivity struct {
	ID           string                   `json:"id"`
	Type         activity.Type            `json:"type"`
	Title        domain.LocalizedText     `json:"title"`
	Topic        string                   `json:"topic"`
	Channel      string                   `json:"channel"`
	Organisers   []string                 `json:"organisers"`
	Project      string                   `json:"project"`
	Indicators   []activity.IndicatorLink `json:"indicators"`
	Municipality string                   `json:"municipality"`
	Place        string                   `json:"place"`
	Start        string                   `json:"start"`
	End          string                   `json:"end"`
	ScheduledOn  string                   `json:"scheduled_on"`
	Rescheduled  *struct {
		On     string `json:"on"`
		Start  string `json:"start"`
		End    string `json:"end"`
		Reason string `json:"reason"`
	} `json:"rescheduled"`
	Cancelled *struct {
		On     string `json:"on"`
		Reason string `json:"reason"`
	} `json:"cancelled"`
	Held *struct {
		On         string              `json:"on"`
		Attendance activity.Attendance `json:"attendance"`
	} `json:"held"`
	Corrected *struct {
		On         string              `json:"on"`
		Attendance activity.Attendance `json:"attendance"`
		Reason     string              `json:"reason"`
	} `json:"corrected"`
}

// plan turns the demo into the command that forms the consortium and the
// steps that follow it, in the order of the data (the load sorts them by
// day). ids receives each organisation's registry ID as it is registered,
// for the steps after it. It checks only what the commands cannot, before
// anything is written: that every day is a date, none before the
// consortium was formed nor after today, and that an organisation is used
// no earlier than it is registered.
func (d *civilDemo) plan(s CivilServices, ids map[string]string, today string) (step, []step, error) {
	admin := domain.Actor{ID: d.Admin, Role: domain.Admin}
	importer := domain.Actor{ID: d.Importer, Role: domain.System}
	consortium := d.Networks[0]

	var problems []error
	day := func(field, on string) bool {
		switch {
		case domain.CheckDate(field, on) != nil:
			problems = append(problems, fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", field, on))
		case on < consortium.FormedOn:
			problems = append(problems, fmt.Errorf("%s: %s is before the consortium was formed (%s)", field, on, consortium.FormedOn))
		case on > today:
			problems = append(problems, fmt.Errorf("%s: %s is after today (%s): the demo records the past", field, on, today))
		default:
			return true
		}
		return false
	}
	if domain.CheckDate("networks[0].formed_on", consortium.FormedOn) != nil {
		return step{}, nil, fmt.Errorf("networks[0].formed_on: %q is not a date (YYYY-MM-DD)", consortium.FormedOn)
	}
	day("networks[0].formed_on", consortium.FormedOn)

	registered := map[string]string{} // key -> day registered
	// org returns the ID of the organisation key, once registered: steps
	// run after plan, in day order, so the lookup waits until then.
	org := func(field, key, on string) func() string {
		switch r, ok := registered[key]; {
		case !ok:
			problems = append(problems, fmt.Errorf("%s: %q is not an organisation of the file", field, key))
		case on < r:
			problems = append(problems, fmt.Errorf("%s: %q is used on %s, before it is registered (%s)", field, key, on, r))
		}
		return func() string { return ids[key] }
	}
	orgs := func(field string, keys []string, on string) func() []string {
		get := make([]func() string, len(keys))
		for i, k := range keys {
			get[i] = org(fmt.Sprintf("%s[%d]", field, i), k, on)
		}
		return func() []string {
			out := make([]string, len(get))
			for i, g := range get {
				out[i] = g()
			}
			return out
		}
	}

	var steps []step
	add := func(field, on string, actor domain.Actor, what string, run func(context.Context, domain.Meta) error) {
		if day(field, on) {
			steps = append(steps, step{day: on, actor: actor, what: what, run: run})
		}
	}

	for i, o := range d.Organisations {
		field := fmt.Sprintf("organisations[%d]", i)
		if _, dup := registered[o.Key]; dup || o.Key == "" {
			problems = append(problems, fmt.Errorf("%s.key: %q is empty or repeats another's", field, o.Key))
			continue
		}
		registered[o.Key] = o.RegisteredOn
		add(field+".registered_on", o.RegisteredOn, admin, "register "+o.Key, func(ctx context.Context, m domain.Meta) error {
			id, _, err := s.Registry.RegisterOrganisation(ctx, m, registry.RegisterOrganisation{
				Kind: o.Kind, Name: o.Name, Region: o.Region, Municipality: o.Municipality, Contact: o.Contact, Website: o.Website,
			})
			ids[o.Key] = id
			return err
		})
	}

	open := step{day: consortium.FormedOn, actor: admin, what: "form the network " + consortium.ID}
	for i, n := range d.Networks {
		field := fmt.Sprintf("networks[%d]", i)
		form := func(ctx context.Context, m domain.Meta) error {
			_, err := s.Networks.FormNetwork(ctx, m, network.Form{ID: n.ID, Kind: n.Kind, Name: n.Name, On: n.FormedOn})
			return err
		}
		if i == 0 {
			open.run = form
		} else {
			add(field+".formed_on", n.FormedOn, admin, "form the network "+n.ID, form)
		}
		for j, mb := range n.Members {
			f := fmt.Sprintf("%s.members[%d]", field, j)
			id := org(f+".organisation", mb.Organisation, mb.On)
			add(f+".on", mb.On, admin, fmt.Sprintf("%s: %s joins as %s", n.ID, mb.Organisation, mb.Role), func(ctx context.Context, m domain.Meta) error {
				_, err := s.Networks.Join(ctx, m, network.Join{Network: n.ID, Organisation: id(), Role: mb.Role, Region: mb.Region, On: mb.On})
				return err
			})
		}
	}

	for i, p := range d.Projects {
		field := fmt.Sprintf("projects[%d]", i)
		implementers := orgs(field+".implementers", p.Implementers, p.RegisteredOn)
		partners := orgs(field+".partners", p.Partners, p.RegisteredOn)
		add(field+".registered_on", p.RegisteredOn, admin, "register the project "+p.ID, func(ctx context.Context, m domain.Meta) error {
			_, err := s.Projects.RegisterProject(ctx, m, project.Register{
				ID: p.ID, Title: p.Title, Implementers: implementers(), Partners: partners(), Lead: p.Lead,
				Start: p.Start, End: p.End, Regions: p.Regions, Municipalities: p.Municipalities,
				Objectives: slices.Clone(p.Objectives), Total: p.Total,
			})
			return err
		})
		for j, c := range p.Contributions {
			f := fmt.Sprintf("%s.contributions[%d]", field, j)
			donor := org(f+".donor", c.Donor, c.On)
			add(f+".on", c.On, admin, p.ID+": record "+c.Donor+"'s contribution", func(ctx context.Context, m domain.Meta) error {
				_, err := s.Projects.RecordContribution(ctx, m, project.RecordContribution{Project: p.ID, Donor: donor(), Amount: c.Amount})
				return err
			})
		}
		for j, ind := range p.Indicators {
			f := fmt.Sprintf("%s.indicators[%d]", field, j)
			add(f, p.RegisteredOn, admin, p.ID+": define "+ind.ID, func(ctx context.Context, m domain.Meta) error {
				_, err := s.Projects.DefineIndicator(ctx, m, project.DefineIndicator{
					Project: p.ID, ID: ind.ID, ResultType: ind.ResultType, Result: ind.Result, Title: ind.Title, Unit: ind.Unit,
					HigherIsBetter: ind.HigherIsBetter, BaselineYear: ind.BaselineYear, Baseline: ind.Baseline,
				})
				return err
			})
			for k, t := range ind.Targets {
				add(fmt.Sprintf("%s.targets[%d]", f, k), p.RegisteredOn, admin, p.ID+": set a target of "+ind.ID, func(ctx context.Context, m domain.Meta) error {
					_, err := s.Projects.SetTarget(ctx, m, project.SetTarget{Project: p.ID, Indicator: ind.ID, Start: t.Start, End: t.End, Value: t.Value})
					return err
				})
			}
		}
	}

	for i, a := range d.Activities {
		field := fmt.Sprintf("activities[%d]", i)
		if a.Held != nil && len(a.Held.Attendance.Organisations) > 0 || a.Corrected != nil && len(a.Corrected.Attendance.Organisations) > 0 {
			// Attendances name organisations by registry ID, which the
			// file cannot know.
			problems = append(problems, fmt.Errorf("%s: attendance.organisations: not supported in a demo file", field))
			continue
		}
		organisers := orgs(field+".organisers", a.Organisers, a.ScheduledOn)
		add(field+".scheduled_on", a.ScheduledOn, importer, a.ID+": schedule", func(ctx context.Context, m domain.Meta) error {
			_, err := s.Activities.Schedule(ctx, m, activity.Schedule{
				ID: a.ID, Type: a.Type, Title: a.Title, Topic: a.Topic, Channel: a.Channel, Organisers: organisers(),
				Project: a.Project, Indicators: slices.Clone(a.Indicators), Municipality: a.Municipality, Place: a.Place,
				Start: a.Start, End: a.End,
			})
			return err
		})
		if r := a.Rescheduled; r != nil {
			add(field+".rescheduled.on", r.On, importer, a.ID+": reschedule", func(ctx context.Context, m domain.Meta) error {
				_, err := s.Activities.Reschedule(ctx, m, activity.Reschedule{ID: a.ID, Start: r.Start, End: r.End, Reason: r.Reason})
				return err
			})
		}
		if c := a.Cancelled; c != nil {
			add(field+".cancelled.on", c.On, importer, a.ID+": cancel", func(ctx context.Context, m domain.Meta) error {
				_, err := s.Activities.Cancel(ctx, m, activity.Cancel{ID: a.ID, Reason: c.Reason})
				return err
			})
		}
		if h := a.Held; h != nil {
			add(field+".held.on", h.On, importer, a.ID+": record it held", func(ctx context.Context, m domain.Meta) error {
				_, err := s.Activities.RecordHeld(ctx, m, activity.Hold{ID: a.ID, Attendance: h.Attendance})
				return err
			})
		}
		if c := a.Corrected; c != nil {
			add(field+".corrected.on", c.On, importer, a.ID+": correct the attendance", func(ctx context.Context, m domain.Meta) error {
				_, err := s.Activities.CorrectAttendance(ctx, m, activity.CorrectAttendance{ID: a.ID, Attendance: c.Attendance, Reason: c.Reason})
				return err
			})
		}
	}
	if err := errors.Join(problems...); err != nil {
		return step{}, nil, err
	}
	return open, steps, nil
}

// summarize counts what the demo's streams hold: read back from the log,
// so the report says what was recorded rather than what was attempted.
func (d *civilDemo) summarize(ctx context.Context, s CivilServices, ids map[string]string) (CivilReport, error) {
	var rep CivilReport
	repo := s.Networks.Repo
	for _, o := range d.Organisations {
		id := ids[o.Key]
		if id == "" {
			continue
		}
		var org registry.Organisation
		v, err := repo.Load(ctx, registry.OrganisationStream(id), &org)
		if err != nil {
			return rep, err
		}
		if v > 0 {
			rep.Organisations++
			rep.Events += int(v)
		}
	}
	for _, n := range d.Networks {
		var nw network.Network
		v, err := repo.Load(ctx, network.Stream(n.ID), &nw)
		if err != nil {
			return rep, err
		}
		if v > 0 {
			rep.Networks++
			rep.Members += len(nw.Members())
			rep.Events += int(v)
		}
	}
	for _, p := range d.Projects {
		var pr project.Project
		v, err := repo.Load(ctx, project.Stream(p.ID), &pr)
		if err != nil {
			return rep, err
		}
		if v > 0 {
			rep.Projects++
			rep.Events += int(v)
			for _, ind := range p.Indicators {
				if _, ok := pr.Indicator(ind.ID); ok {
					rep.Indicators++
				}
			}
		}
	}
	for _, a := range d.Activities {
		var act activity.Activity
		v, err := repo.Load(ctx, activity.Stream(a.ID), &act)
		if err != nil {
			return rep, err
		}
		if v == 0 {
			continue
		}
		rep.Activities++
		rep.Events += int(v)
		switch act.Status() {
		case activity.StatusHeld:
			rep.Held++
		case activity.StatusCancelled:
			rep.Cancelled++
		}
	}
	return rep, nil
}

// readDemo decodes a demo file strictly: a field the loader does not know
// is a mistake in the data, not something to skip.
func readDemo[T any](b []byte, file string) (*T, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d T
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: more after the demo's object", file)
	}
	return &d, nil
}

// CivilOrganisers returns who organises activities where, from the
// networks CivilSociety forms, for History: by region code, the CSSIGE
// hubs acting for the region; under "", the consortium's lead and
// members, who act where no hub does (Tbilisi). Each list is sorted, so
// that the same database gives History the same options. Without the
// networks, the map is empty.
func CivilOrganisers(ctx context.Context, repo *domain.Repository) (map[string][]string, error) {
	out := map[string][]string{}
	for _, id := range []string{CSSIGEHubs, CSSIGE} {
		var n network.Network
		if _, err := repo.Load(ctx, network.Stream(id), &n); err != nil {
			return nil, err
		}
		for org, m := range n.Members() {
			switch {
			case m.Status != network.Active:
			case m.Role == network.RegionalHub:
				out[m.Region] = append(out[m.Region], org)
			case m.Role == network.Lead || m.Role == network.Member:
				out[""] = append(out[""], org)
			}
		}
	}
	for _, orgs := range out {
		slices.Sort(orgs)
	}
	return out, nil
}
