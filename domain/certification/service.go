package certification

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore"
)

// Service handles the certification commands. Every command checks, before
// it loads or writes anything, the actor's role and then the input
// (Invalid, naming the field); it then loads the cycle and the application
// it decides on and appends what it decides: NotFound for an unknown cycle
// or application, Conflict when the workflow's state forbids the command
// or the stream moved on meanwhile. A command that would change nothing
// writes nothing. "Today" is meta.Now's day in Tbilisi.
type Service struct {
	Repo *domain.Repository
}

// The roles of the workflow. System stands for imports of past cycles.
var (
	adminRoles      = []domain.Role{domain.Admin, domain.System}
	applicantRoles  = []domain.Role{domain.Applicant, domain.System}
	expertRoles     = []domain.Role{domain.Expert, domain.System}
	consortiumRoles = []domain.Role{domain.Consortium, domain.System}
	signedInRoles   = []domain.Role{domain.Analyst, domain.Applicant, domain.Hub, domain.Expert, domain.Consortium, domain.Auditor, domain.Admin, domain.System}
)

// OpenCycle opens the cycle of a year. Roles: admin, system.
func (s *Service) OpenCycle(ctx context.Context, meta domain.Meta, cmd OpenCycle) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("open a certification cycle", adminRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if cmd.Year < 2000 || cmd.Year > 2100 {
		return eventstore.AppendResult{}, invalid("year", "%d is not a plausible year", cmd.Year)
	}
	cmd.Title = cmd.Title.Normalize()
	if err := cmd.Title.Validate("title"); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := cmd.Schedule.validate(cmd.Year); err != nil {
		return eventstore.AppendResult{}, err
	}
	cmd.Rules.Version = 1
	if err := cmd.Rules.validate("rules"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onCycle(ctx, meta, cmd.Year, func(c *Cycle) ([]domain.Event, error) {
		return c.open(CycleOpened{Year: cmd.Year, Title: cmd.Title, Schedule: cmd.Schedule, Rules: cmd.Rules})
	})
}

// ChangeRules records a new version of a cycle's rules, which decisions
// taken from then on use. Roles: admin, system.
func (s *Service) ChangeRules(ctx context.Context, meta domain.Meta, cmd ChangeRules) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("change a cycle's rules", adminRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, true, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	rules := cmd.Rules
	rules.Version = 1 // validated apart from its version, which the cycle assigns
	if err := rules.validate("rules"); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onCycle(ctx, meta, cmd.Year, func(c *Cycle) ([]domain.Event, error) { return c.changeRules(cmd.Rules, reason) })
}

// Nominate records a nomination while the call is open. Roles: any
// signed-in caller. The municipality must be in the registry.
func (s *Service) Nominate(ctx context.Context, meta domain.Meta, cmd Nominate) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("nominate a municipality", signedInRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, true, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.knownMunicipality(ctx, cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onCycle(ctx, meta, cmd.Year, func(c *Cycle) ([]domain.Event, error) {
		return c.nominate(meta.Today(), cmd.Municipality, reason, meta.Actor.ID)
	})
}

// DraftApplication starts the application of the caller's municipality
// in the call window; a municipality applies once a cycle. Roles:
// applicant (for its own municipality), system.
func (s *Service) DraftApplication(ctx context.Context, meta domain.Meta, cmd DraftApplication) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("apply for certification", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := forMunicipality(meta.Actor, cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.knownMunicipality(ctx, cmd.Municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	if cmd.Year < 2000 || cmd.Year > 2100 {
		return eventstore.AppendResult{}, invalid("year", "%d is not a plausible year", cmd.Year)
	}
	id := ApplicationID(cmd.Year, cmd.Municipality)
	return s.onApplication(ctx, meta, id, 0, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.draft(c, meta.Today(), cmd.Municipality)
	}, true)
}

// SaveAnswers saves answers of a draft by the questionnaire deadline.
// Roles: applicant (its own), system.
func (s *Service) SaveAnswers(ctx context.Context, meta domain.Meta, cmd SaveAnswers) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("answer the questionnaire", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	if len(cmd.Answers) == 0 {
		return eventstore.AppendResult{}, invalid("answers", "no answers given")
	}
	if len(cmd.Answers) > maxAnswers {
		return eventstore.AppendResult{}, invalid("answers", "%d answers, over the limit of %d", len(cmd.Answers), maxAnswers)
	}
	answers := map[string]string{}
	for q, ans := range cmd.Answers {
		if err := checkCode("answers.question", q); err != nil {
			return eventstore.AppendResult{}, err
		}
		text, err := checkText("answers."+q, ans, false, maxLongText)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		answers[q] = text
	}
	return s.applicant(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.saveAnswers(c, meta.Today(), answers)
	})
}

// Submit submits a draft with answers by the application deadline. Roles:
// applicant (its own), system.
func (s *Service) Submit(ctx context.Context, meta domain.Meta, cmd Submit) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("submit an application", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.applicant(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.submit(c, meta.Today())
	})
}

// Withdraw withdraws an application before its decision. Roles: applicant
// (its own), system.
func (s *Service) Withdraw(ctx context.Context, meta domain.Meta, cmd Withdraw) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("withdraw an application", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, false, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.applicant(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.withdraw(reason)
	})
}

// ConfirmStart confirms to the applicant that its evaluation started.
// Roles: consortium, system.
func (s *Service) ConfirmStart(ctx context.Context, meta domain.Meta, cmd ConfirmStart) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("confirm the start of an evaluation", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.confirmStart()
	}, false)
}

// CheckCompleteness records whether an application is complete, and
// what it misses if not. Roles: consortium, system.
func (s *Service) CheckCompleteness(ctx context.Context, meta domain.Meta, cmd CheckCompleteness) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("check an application's completeness", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	missing, err := checkList("missing", cmd.Missing)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.checkCompleteness(cmd.Complete, missing)
	}, false)
}

// RequestInformation records an assigned expert's question; the
// application cannot be decided while it is open. Roles: expert (assigned,
// without a conflict), system.
func (s *Service) RequestInformation(ctx context.Context, meta domain.Meta, cmd RequestInformation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("request information", expertRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	q, err := checkText("question", cmd.Question, true, maxLongText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.requestInformation(meta.Actor.ID, q)
	}, false)
}

// ProvideInformation answers an open request. Roles: applicant (its own),
// system.
func (s *Service) ProvideInformation(ctx context.Context, meta domain.Meta, cmd ProvideInformation) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("provide information", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	ans, err := checkText("answer", cmd.Answer, true, maxLongText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.applicant(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.provideInformation(cmd.RequestID, ans)
	})
}

// ReportMaterialChange records a change the applicant reports during the
// evaluation. Roles: applicant (its own), system.
func (s *Service) ReportMaterialChange(ctx context.Context, meta domain.Meta, cmd ReportMaterialChange) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("report a material change", applicantRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	d, err := checkText("description", cmd.Description, true, maxLongText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.applicant(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.reportMaterialChange(d)
	})
}

// AssignExpert assigns an expert. Roles: consortium, system.
func (s *Service) AssignExpert(ctx context.Context, meta domain.Meta, cmd AssignExpert) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("assign an expert", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	x, err := checkText("expert", cmd.Expert, true, maxActorID)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	name, err := checkText("name", cmd.Name, false, maxPersonName)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if meta.Actor.Role != domain.System {
		// Imports of past cycles (system) name experts who had no key.
		if err := s.liveExpert(ctx, x); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.assignExpert(x, name)
	}, false)
}

// DeclareConflict records the calling expert's declaration, which must
// come before any score. Roles: expert (assigned), system.
func (s *Service) DeclareConflict(ctx context.Context, meta domain.Meta, cmd DeclareConflict) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("declare a conflict of interest", expertRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	details, err := checkText("details", cmd.Details, false, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.declareConflict(meta.Actor.ID, cmd.Conflict, details)
	}, false)
}

// Score records the calling expert's score of a criterion, on the scale
// of the rules in force, until the decision. Roles: expert (assigned,
// without a conflict), system.
func (s *Service) Score(ctx context.Context, meta domain.Meta, cmd Score) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("score an application", expertRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	rationale, err := checkText("rationale", cmd.Rationale, true, maxLongText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, false, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.score(c.Rules(), meta.Actor.ID, cmd.Criterion, cmd.Score, rationale, reason)
	}, false)
}

// Decide records the consortium's decision under the rules in force. It
// needs a complete application, the required experts' scores and no open
// information request; against the computed recommendation it needs a
// justification. Roles: consortium, system.
func (s *Service) Decide(ctx context.Context, meta domain.Meta, cmd DecideApplication) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("decide on an application", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	d := cmd.Decide
	var err error
	if d.Justification, err = checkText("justification", d.Justification, false, maxLongText); err != nil {
		return eventstore.AppendResult{}, err
	}
	if len(d.Recommendations) > maxList {
		return eventstore.AppendResult{}, invalid("recommendations", "%d, over the limit of %d", len(d.Recommendations), maxList)
	}
	for i := range d.Recommendations {
		d.Recommendations[i] = d.Recommendations[i].Normalize()
		if err := d.Recommendations[i].Validate("recommendations[" + strconv.Itoa(i) + "]"); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	d.Progress = d.Progress.Normalize()
	if d.Progress.Ka != "" || d.Progress.En != "" {
		if err := d.Progress.Validate("progress"); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.decide(c.Rules(), d)
	}, false)
}

// Announce announces a decided application's result, from the cycle's
// results date, issuing the certificate of a certified municipality.
// Roles: consortium, system.
func (s *Service) Announce(ctx context.Context, meta domain.Meta, cmd ApplicationCommand) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("announce a result", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.announce(c, meta.Today())
	}, false)
}

// Award records the handing over of a certificate at the ceremony. Roles:
// consortium, system.
func (s *Service) Award(ctx context.Context, meta domain.Meta, cmd ApplicationCommand) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("award a certificate", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, c *Cycle) ([]domain.Event, error) {
		return a.award(c, meta.Today())
	}, false)
}

// Revoke revokes a valid certificate, with a reason. Roles: consortium,
// system.
func (s *Service) Revoke(ctx context.Context, meta domain.Meta, cmd Revoke) (eventstore.AppendResult, error) {
	if err := meta.Actor.Require("revoke a certificate", consortiumRoles...); err != nil {
		return eventstore.AppendResult{}, err
	}
	reason, err := checkText("reason", cmd.Reason, true, maxText)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, cmd.ApplicationID, cmd.ExpectedVersion, func(a *Application, _ *Cycle) ([]domain.Event, error) {
		return a.revoke(meta.Today(), reason)
	}, false)
}

// onCycle loads the cycle of year, has decide decide on it and saves what
// it decided.
func (s *Service) onCycle(ctx context.Context, meta domain.Meta, year int, decide func(*Cycle) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: CycleStream(year), What: fmt.Sprintf("the %d cycle", year), Creates: true}, decide)
}

// applicant is onApplication for the applicant's commands: an applicant
// acts for its own municipality only.
func (s *Service) applicant(ctx context.Context, meta domain.Meta, id string, expected int64, decide func(*Application, *Cycle) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	_, municipality, err := parseApplicationID(id)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := forMunicipality(meta.Actor, municipality); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.onApplication(ctx, meta, id, expected, decide, false)
}

// onApplication loads the application id and its cycle, has decide decide
// and saves what it decided. Unless drafting, the application must exist.
func (s *Service) onApplication(ctx context.Context, meta domain.Meta, id string, expected int64, decide func(*Application, *Cycle) ([]domain.Event, error), drafting bool) (eventstore.AppendResult, error) {
	if expected < 0 {
		return eventstore.AppendResult{}, invalid("expectedVersion", "%d: a version is 1 or more (0 or none: any)", expected)
	}
	year, _, err := parseApplicationID(id)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var c Cycle
	if _, err := s.Repo.Load(ctx, CycleStream(year), &c); err != nil {
		return eventstore.AppendResult{}, err
	}
	return domain.Handle(ctx, s.Repo, meta, domain.Target{Stream: ApplicationStream(id), What: "application " + id, Creates: drafting, Expected: expected},
		func(a *Application) ([]domain.Event, error) { return decide(a, &c) })
}

// knownMunicipality checks that code is a municipality in the registry.
func (s *Service) knownMunicipality(ctx context.Context, code string) error {
	if err := checkCode("municipality", code); err != nil {
		return err
	}
	var m registry.Municipality
	version, err := s.Repo.Load(ctx, registry.MunicipalityStream(code), &m)
	if err != nil {
		return err
	}
	if version == 0 {
		return invalid("municipality", "%q is not a municipality in the registry", code)
	}
	return nil
}

// liveExpert checks that actorID ("key:<name>#<key ID>", as the log
// records an API key's actor) is an expert's key that works.
func (s *Service) liveExpert(ctx context.Context, actorID string) error {
	name, id, ok := strings.Cut(strings.TrimPrefix(actorID, "key:"), "#")
	if !ok || !strings.HasPrefix(actorID, "key:") {
		return invalid("expert", "%q is not an expert's actor ID (key:<name>#<key ID>, as viewer.name shows it)", actorID)
	}
	var k access.Key
	version, err := s.Repo.Load(ctx, access.Stream(id), &k)
	if err != nil {
		return err
	}
	switch {
	case version == 0 || k.Name != name:
		return invalid("expert", "no API key %s named %s", id, name)
	case k.Role != domain.Expert:
		return invalid("expert", "key %s is a %s's, not an expert's", id, k.Role)
	case k.Revoked:
		return invalid("expert", "key %s is revoked", id)
	}
	return nil
}

// forMunicipality checks that an applicant acts for municipality.
func forMunicipality(a domain.Actor, municipality string) error {
	if a.Role == domain.Applicant && a.Municipality != municipality {
		return domain.Errorf(domain.Forbidden, "this key acts for %s, not %s", a.Municipality, municipality)
	}
	return nil
}

// parseApplicationID reads "<year>-<municipality>".
func parseApplicationID(id string) (int, string, error) {
	y, m, ok := strings.Cut(id, "-")
	year, err := strconv.Atoi(y)
	if !ok || err != nil || len(y) != 4 || checkCode("applicationId", m) != nil {
		return 0, "", invalid("applicationId", "%q is not an application ID (<year>-<municipality>, for example 2019-batumi)", id)
	}
	return year, m, nil
}

// checkList trims a list of short texts, dropping empty ones.
func checkList(field string, items []string) ([]string, error) {
	if len(items) > maxList {
		return nil, invalid(field, "%d items, over the limit of %d", len(items), maxList)
	}
	var out []string
	for i, it := range items {
		t, err := checkText(field+"["+strconv.Itoa(i)+"]", it, false, maxText)
		if err != nil {
			return nil, err
		}
		if t != "" {
			out = append(out, t)
		}
	}
	return out, nil
}
