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
	"github.com/civicledger/civicledger/domain/certification"
)

// certificationFile is the demo of the 2019 cycle. Its "about" field says
// which of its values come from the programme's description and which are
// illustrative; every invented text in it is marked "[illustrative]" (or
// "[საილუსტრაციო]") so that the mark travels into the events.
const certificationFile = "data/certification-2019.json"

//go:embed data/certification-2019.json
var certification2019 []byte

// demoCorrelation ties every event of the demo together, so an auditor (or
// a clean-up) finds them all by one correlation ID.
const demoCorrelation = CorrelationPrefix + "certification-2019"

// demoImporter is the actor of the commands the demo issues as the
// platform itself.
const demoImporter = "system:seed-certification-2019"

// CertificationReport says what Certification2019 loaded. Its zero value
// means nothing was loaded because the cycle was there already.
type CertificationReport struct {
	// Applications counts the applications made; Certified, the
	// certificates issued among them.
	Applications, Certified int
	// Events counts the events appended, nominations and rule changes
	// included.
	Events int
}

// Certification2019 loads the demo of the 2019 certification cycle: the
// eight municipalities the programme certified that year and a ninth,
// illustrative, that it did not. It drives the real commands through svc,
// as the actors who would issue them (admin, applicants, experts,
// consortium) and on the days the data gives (each command's Meta.Now and
// OccurredAt, in Tbilisi), in the order of those days; so every rule of
// the workflow checks the data: call window, conflicts of interest, the
// computed recommendation, results and ceremony dates.
//
// It loads nothing when the 2019 cycle exists, so every start of a server
// may call it. The municipalities must be registered first (see
// Registry). It returns what it loaded, also when it stops at an error
// part way; the cycle then exists, and a later call loads nothing more, so
// such a database is best started afresh.
func Certification2019(ctx context.Context, svc *certification.Service) (CertificationReport, error) {
	demo, err := readCertificationDemo(certification2019, certificationFile)
	if err != nil {
		return CertificationReport{}, err
	}
	if demo.Year != 2019 {
		return CertificationReport{}, fmt.Errorf("%s: year %d, want 2019", certificationFile, demo.Year)
	}
	return loadCertificationDemo(ctx, svc, demo, certificationFile)
}

// loadCertificationDemo loads demo, read from file, unless its cycle exists.
func loadCertificationDemo(ctx context.Context, svc *certification.Service, demo *certificationDemo, file string) (CertificationReport, error) {
	var cycle certification.Cycle
	version, err := svc.Repo.Load(ctx, certification.CycleStream(demo.Year), &cycle)
	if err != nil {
		return CertificationReport{}, fmt.Errorf("%s: %w", file, err)
	}
	if version > 0 {
		return CertificationReport{}, nil
	}
	open, steps, err := demo.plan(svc)
	if err != nil {
		return CertificationReport{}, fmt.Errorf("%s: %w", file, err)
	}
	clock := map[string]int{} // commands run on each day so far
	run := func(s step) error {
		now, _ := time.ParseInLocation(certification.DateLayout, s.day, domain.Tbilisi) // checked by plan
		// From 10:00, three minutes apart, so that business time orders
		// a day's events as the log does.
		now = now.Add(10*time.Hour + time.Duration(clock[s.day])*3*time.Minute)
		clock[s.day]++
		meta := domain.Meta{Actor: s.actor, CorrelationID: demoCorrelation, Now: now, OccurredAt: now}
		if err := s.run(ctx, meta); err != nil {
			return fmt.Errorf("%s: %s, %s as %s: %w", file, s.day, s.what, s.actor.ID, err)
		}
		return nil
	}
	if err := run(open); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return CertificationReport{}, nil // another loader opened the cycle meanwhile
		}
		return CertificationReport{}, err
	}
	slices.SortStableFunc(steps, func(a, b step) int { return strings.Compare(a.day, b.day) })
	for _, s := range steps {
		if err := run(s); err != nil {
			rep, _ := demo.summarize(ctx, svc)
			return rep, err
		}
	}
	rep, err := demo.summarize(ctx, svc)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", file, err)
	}
	return rep, nil
}

// certificationDemo is a demo file: a cycle and what happened in it, each
// act with its day (YYYY-MM-DD in Tbilisi).
type certificationDemo struct {
	// About says where the values come from; it is for readers only.
	About    string                 `json:"about"`
	Year     int                    `json:"year"`
	Title    domain.LocalizedText   `json:"title"`
	OpenedOn string                 `json:"opened_on"`
	Schedule certification.Schedule `json:"schedule"`
	Rules    certification.Rules    `json:"rules"`
	// Admin opens the cycle and changes its rules; Consortium confirms,
	// checks, decides, announces and awards (the import assigns the
	// experts: see plan). Both are actor IDs ("key:<name>").
	Admin        string            `json:"admin"`
	Consortium   string            `json:"consortium"`
	RulesChanges []demoRulesChange `json:"rules_changes"`
	Nominations  []demoNomination  `json:"nominations"`
	Applications []demoApplication `json:"applications"`
}

// demoRulesChange is a new version of the rules. Rules holds the fields
// that change: those it gives replace those of the version before.
type demoRulesChange struct {
	On     string          `json:"on"`
	Reason string          `json:"reason"`
	Rules  json.RawMessage `json:"rules"`
}

type demoActor struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Municipality string `json:"municipality"`
}

type demoNomination struct {
	On           string    `json:"on"`
	By           demoActor `json:"by"`
	Municipality string    `json:"municipality"`
	Reason       string    `json:"reason"`
}

// demoApplication is one municipality's application, from draft to award.
// A day left empty skips its act (a municipality not certified is not
// awarded).
type demoApplication struct {
	Municipality string `json:"municipality"`
	// Applicant is the actor ID of the municipality's key.
	Applicant   string            `json:"applicant"`
	DraftedOn   string            `json:"drafted_on"`
	AnsweredOn  string            `json:"answered_on"`
	Answers     map[string]string `json:"answers"`
	SubmittedOn string            `json:"submitted_on"`
	ConfirmedOn string            `json:"confirmed_on"`
	// CheckedOn is the day the application was found complete.
	CheckedOn string         `json:"checked_on"`
	Experts   []demoExpert   `json:"experts"`
	Changes   []demoChange   `json:"changes"`
	Scores    []demoScoring  `json:"scores"`
	Requests  []demoRequest  `json:"requests"`
	Revisions []demoRevision `json:"revisions"`
	Decision  *demoDecision  `json:"decision"`
	// AnnouncedOn is the day the result was announced (and a certificate
	// issued); AwardedOn, the day it was handed over.
	AnnouncedOn string `json:"announced_on"`
	AwardedOn   string `json:"awarded_on"`
}

// demoExpert is an expert's assignment and declaration; Conflict, when
// given, describes the conflict of interest they declared.
type demoExpert struct {
	Expert     string `json:"expert"`
	AssignedOn string `json:"assigned_on"`
	DeclaredOn string `json:"declared_on"`
	Conflict   string `json:"conflict"`
}

type demoChange struct {
	On          string `json:"on"`
	Description string `json:"description"`
}

// demoScoring is an expert's first score of each criterion, on one day.
type demoScoring struct {
	Expert   string `json:"expert"`
	On       string `json:"on"`
	Criteria []struct {
		Criterion string `json:"criterion"`
		Score     int    `json:"score"`
		Rationale string `json:"rationale"`
	} `json:"criteria"`
}

// demoRequest is an expert's request for information and its answer.
type demoRequest struct {
	Expert     string `json:"expert"`
	On         string `json:"on"`
	Question   string `json:"question"`
	AnsweredOn string `json:"answered_on"`
	Answer     string `json:"answer"`
}

type demoRevision struct {
	Expert    string `json:"expert"`
	On        string `json:"on"`
	Criterion string `json:"criterion"`
	Score     int    `json:"score"`
	Rationale string `json:"rationale"`
	Reason    string `json:"reason"`
}

// demoDecision is the consortium's decision. Certified must agree with the
// recommendation the rules compute from the scores: the data carries no
// justification for deciding against it, so a disagreement stops the load.
type demoDecision struct {
	On              string                 `json:"on"`
	Certified       bool                   `json:"certified"`
	Recommendations []domain.LocalizedText `json:"recommendations"`
	Progress        domain.LocalizedText   `json:"progress"`
}

// readCertificationDemo decodes a demo file strictly: a field the loader
// does not know is a mistake in the data, not something to skip.
func readCertificationDemo(b []byte, file string) (*certificationDemo, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d certificationDemo
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: more after the demo's object", file)
	}
	return &d, nil
}

// step is one command of the demo.
type step struct {
	day   string
	actor domain.Actor
	what  string // for errors: "2019-kutaisi: score impact"
	run   func(context.Context, domain.Meta) error
}

// plan turns the demo into the command that opens the cycle and the steps
// that follow it, in the order of the data (run sorts them by day). It
// checks only what the commands cannot: that every day is a date, none
// before the cycle's opening, and that acts that need an earlier one (an
// answer, its request) come no earlier.
func (d *certificationDemo) plan(svc *certification.Service) (step, []step, error) {
	admin := domain.Actor{ID: d.Admin, Role: domain.Admin}
	consortium := domain.Actor{ID: d.Consortium, Role: domain.Consortium}
	expert := func(id string) domain.Actor { return domain.Actor{ID: id, Role: domain.Expert} }
	// The demo's experts have no API keys, and only the platform importing
	// a past cycle may assign experts without a live key: the consortium's
	// assignments are recorded as the import's.
	importer := domain.Actor{ID: demoImporter, Role: domain.System}

	if err := checkDay("opened_on", d.OpenedOn, ""); err != nil {
		return step{}, nil, err
	}
	open := step{day: d.OpenedOn, actor: admin, what: fmt.Sprintf("open the %d cycle", d.Year),
		run: func(ctx context.Context, m domain.Meta) error {
			_, err := svc.OpenCycle(ctx, m, certification.OpenCycle{Year: d.Year, Title: d.Title, Schedule: d.Schedule, Rules: d.Rules})
			return err
		}}

	var steps []step
	var problems []error
	add := func(field, day string, actor domain.Actor, what string, run func(context.Context, domain.Meta) error) {
		if day == "" {
			return
		}
		if err := checkDay(field, day, d.OpenedOn); err != nil {
			problems = append(problems, err)
			return
		}
		steps = append(steps, step{day: day, actor: actor, what: what, run: run})
	}

	rules := d.Rules
	for i, ch := range d.RulesChanges {
		field := fmt.Sprintf("rules_changes[%d]", i)
		// Decode the change onto a copy of the rules before it: the
		// fields it names replace theirs.
		next := rules
		next.Criteria = slices.Clone(rules.Criteria)
		if err := json.Unmarshal(ch.Rules, &next); err != nil {
			problems = append(problems, fmt.Errorf("%s.rules: %w", field, err))
			continue
		}
		rules = next
		add(field+".on", ch.On, admin, "change the rules", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.ChangeRules(ctx, m, certification.ChangeRules{Year: d.Year, Rules: next, Reason: ch.Reason})
			return err
		})
	}

	for i, n := range d.Nominations {
		field := fmt.Sprintf("nominations[%d]", i)
		role, err := domain.ParseRole(n.By.Role)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s.by.role: %s", field, domain.MessageOf(err)))
			continue
		}
		by := domain.Actor{ID: n.By.ID, Role: role, Municipality: n.By.Municipality}
		add(field+".on", n.On, by, "nominate "+n.Municipality, func(ctx context.Context, m domain.Meta) error {
			_, err := svc.Nominate(ctx, m, certification.Nominate{Year: d.Year, Municipality: n.Municipality, Reason: n.Reason})
			return err
		})
	}

	for i, a := range d.Applications {
		field := fmt.Sprintf("applications[%d]", i)
		if a.DraftedOn == "" {
			problems = append(problems, fmt.Errorf("%s.drafted_on: required", field))
			continue
		}
		id := certification.ApplicationID(d.Year, a.Municipality)
		applicant := domain.Actor{ID: a.Applicant, Role: domain.Applicant, Municipality: a.Municipality}

		add(field+".drafted_on", a.DraftedOn, applicant, id+": draft", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.DraftApplication(ctx, m, certification.DraftApplication{Year: d.Year, Municipality: a.Municipality})
			return err
		})
		add(field+".answered_on", a.AnsweredOn, applicant, id+": save answers", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.SaveAnswers(ctx, m, certification.SaveAnswers{ApplicationID: id, Answers: a.Answers})
			return err
		})
		add(field+".submitted_on", a.SubmittedOn, applicant, id+": submit", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.Submit(ctx, m, certification.Submit{ApplicationID: id})
			return err
		})
		add(field+".confirmed_on", a.ConfirmedOn, consortium, id+": confirm the start", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.ConfirmStart(ctx, m, certification.ConfirmStart{ApplicationID: id})
			return err
		})
		add(field+".checked_on", a.CheckedOn, consortium, id+": check completeness", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.CheckCompleteness(ctx, m, certification.CheckCompleteness{ApplicationID: id, Complete: true})
			return err
		})
		for j, x := range a.Experts {
			f := fmt.Sprintf("%s.experts[%d]", field, j)
			add(f+".assigned_on", x.AssignedOn, importer, id+": assign "+x.Expert, func(ctx context.Context, m domain.Meta) error {
				_, err := svc.AssignExpert(ctx, m, certification.AssignExpert{ApplicationID: id, Expert: x.Expert})
				return err
			})
			add(f+".declared_on", x.DeclaredOn, expert(x.Expert), id+": declare conflicts of interest", func(ctx context.Context, m domain.Meta) error {
				_, err := svc.DeclareConflict(ctx, m, certification.DeclareConflict{ApplicationID: id, Conflict: x.Conflict != "", Details: x.Conflict})
				return err
			})
		}
		for j, c := range a.Changes {
			add(fmt.Sprintf("%s.changes[%d].on", field, j), c.On, applicant, id+": report a material change", func(ctx context.Context, m domain.Meta) error {
				_, err := svc.ReportMaterialChange(ctx, m, certification.ReportMaterialChange{ApplicationID: id, Description: c.Description})
				return err
			})
		}
		for j, s := range a.Scores {
			for _, c := range s.Criteria {
				add(fmt.Sprintf("%s.scores[%d].on", field, j), s.On, expert(s.Expert), id+": score "+c.Criterion, func(ctx context.Context, m domain.Meta) error {
					_, err := svc.Score(ctx, m, certification.Score{ApplicationID: id, Criterion: c.Criterion, Score: c.Score, Rationale: c.Rationale})
					return err
				})
			}
		}
		for j, r := range a.Requests {
			f := fmt.Sprintf("%s.requests[%d]", field, j)
			if r.AnsweredOn != "" && r.AnsweredOn < r.On {
				problems = append(problems, fmt.Errorf("%s.answered_on: %s is before the request (%s)", f, r.AnsweredOn, r.On))
				continue
			}
			// The request's ID is the service's to assign: the answer
			// takes the one the request opened.
			var requestID string
			add(f+".on", r.On, expert(r.Expert), id+": request information", func(ctx context.Context, m domain.Meta) error {
				before, err := openRequests(ctx, svc, id)
				if err != nil {
					return err
				}
				if _, err := svc.RequestInformation(ctx, m, certification.RequestInformation{ApplicationID: id, Question: r.Question}); err != nil {
					return err
				}
				after, err := openRequests(ctx, svc, id)
				if err != nil {
					return err
				}
				opened := slices.DeleteFunc(after, func(x string) bool { return slices.Contains(before, x) })
				if len(opened) != 1 {
					return fmt.Errorf("the request opened %d requests, want 1", len(opened))
				}
				requestID = opened[0]
				return nil
			})
			add(f+".answered_on", r.AnsweredOn, applicant, id+": provide information", func(ctx context.Context, m domain.Meta) error {
				_, err := svc.ProvideInformation(ctx, m, certification.ProvideInformation{ApplicationID: id, RequestID: requestID, Answer: r.Answer})
				return err
			})
		}
		for j, r := range a.Revisions {
			add(fmt.Sprintf("%s.revisions[%d].on", field, j), r.On, expert(r.Expert), id+": revise "+r.Criterion, func(ctx context.Context, m domain.Meta) error {
				_, err := svc.Score(ctx, m, certification.Score{ApplicationID: id, Criterion: r.Criterion, Score: r.Score, Rationale: r.Rationale, Reason: r.Reason})
				return err
			})
		}
		if dec := a.Decision; dec != nil {
			add(field+".decision.on", dec.On, consortium, id+": decide", func(ctx context.Context, m domain.Meta) error {
				_, err := svc.Decide(ctx, m, certification.DecideApplication{ApplicationID: id, Decide: certification.Decide{
					Certified:       dec.Certified,
					Recommendations: slices.Clone(dec.Recommendations),
					Progress:        dec.Progress,
				}})
				return err
			})
		}
		add(field+".announced_on", a.AnnouncedOn, consortium, id+": announce the result", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.Announce(ctx, m, certification.ApplicationCommand{ApplicationID: id})
			return err
		})
		add(field+".awarded_on", a.AwardedOn, consortium, id+": award the certificate", func(ctx context.Context, m domain.Meta) error {
			_, err := svc.Award(ctx, m, certification.ApplicationCommand{ApplicationID: id})
			return err
		})
	}
	if err := errors.Join(problems...); err != nil {
		return step{}, nil, err
	}
	return open, steps, nil
}

// checkDay checks that day is a date, and not before notBefore (if given).
func checkDay(field, day, notBefore string) error {
	if _, err := time.Parse(certification.DateLayout, day); err != nil {
		return fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", field, day)
	}
	if notBefore != "" && day < notBefore {
		return fmt.Errorf("%s: %s is before the cycle opened (%s)", field, day, notBefore)
	}
	return nil
}

// openRequests returns the IDs of an application's open information
// requests.
func openRequests(ctx context.Context, svc *certification.Service, id string) ([]string, error) {
	var a certification.Application
	if _, err := svc.Repo.Load(ctx, certification.ApplicationStream(id), &a); err != nil {
		return nil, err
	}
	return a.OpenRequests(), nil
}

// summarize counts what the demo's streams hold: read back from the log,
// so the report says what was recorded rather than what was attempted.
func (d *certificationDemo) summarize(ctx context.Context, svc *certification.Service) (CertificationReport, error) {
	var rep CertificationReport
	var c certification.Cycle
	v, err := svc.Repo.Load(ctx, certification.CycleStream(d.Year), &c)
	if err != nil {
		return rep, err
	}
	rep.Events += int(v)
	seen := map[string]bool{}
	for _, a := range d.Applications {
		if seen[a.Municipality] {
			continue // the service refused the second; count the stream once
		}
		seen[a.Municipality] = true
		var app certification.Application
		v, err := svc.Repo.Load(ctx, certification.ApplicationStream(certification.ApplicationID(d.Year, a.Municipality)), &app)
		if err != nil {
			return rep, err
		}
		if v == 0 {
			continue
		}
		rep.Applications++
		rep.Events += int(v)
		if app.Certificate() != nil {
			rep.Certified++
		}
	}
	return rep, nil
}
