package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/privacy"
	"github.com/civicledger/civicledger/domain/project"
	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Projects is the read model of donor projects: their budgets and
// contributions, indicators, targets and actuals (as corrected). Progress
// against a target is computed when read, by the same function the domain
// uses, so it moves with the day asked for and never needs a job.
type Projects struct{}

var _ Projection = Projects{}

// Name implements Projection.
func (Projects) Name() string { return "projects" }

// Version implements Projection. Version 3 drops a project lead's name
// when its data subject is erased, and says so (lead_erased).
func (Projects) Version() int { return 3 }

// Tables implements Projection.
func (Projects) Tables() []string {
	return []string{"projects", "project_contributions", "project_indicators", "project_targets", "project_actuals"}
}

// Setup implements Projection. Amounts are in the currency's minor unit.
func (Projects) Setup(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		CREATE TABLE projects (
			id             text PRIMARY KEY,
			title_ka       text NOT NULL,
			title_en       text NOT NULL,
			implementers   text[] NOT NULL,
			partners       text[] NOT NULL,
			lead           text NOT NULL,
			lead_erased    boolean NOT NULL DEFAULT false,
			start_on       date NOT NULL,
			end_on         date NOT NULL,
			regions        text[] NOT NULL,
			municipalities text[] NOT NULL,
			objectives     jsonb NOT NULL,
			total_minor    bigint,
			currency       text,
			position       bigint NOT NULL
		);
		CREATE TABLE project_contributions (
			project  text NOT NULL,
			position bigint NOT NULL,
			donor    text NOT NULL,
			minor    bigint NOT NULL,
			currency text NOT NULL,
			PRIMARY KEY (project, position)
		);
		CREATE TABLE project_indicators (
			project          text NOT NULL,
			id               text NOT NULL,
			result_type      text NOT NULL,
			result_ka        text NOT NULL,
			result_en        text NOT NULL,
			title_ka         text NOT NULL,
			title_en         text NOT NULL,
			unit             text NOT NULL,
			higher_is_better boolean NOT NULL,
			baseline_year    integer NOT NULL,
			baseline         double precision NOT NULL,
			position         bigint NOT NULL,
			PRIMARY KEY (project, id)
		);
		CREATE TABLE project_targets (
			project   text NOT NULL,
			indicator text NOT NULL,
			start_on  date NOT NULL,
			end_on    date NOT NULL,
			value     double precision NOT NULL,
			position  bigint NOT NULL,
			PRIMARY KEY (project, indicator, start_on, end_on)
		);
		CREATE TABLE project_actuals (
			project        text NOT NULL,
			id             text NOT NULL,
			indicator      text NOT NULL,
			start_on       date NOT NULL,
			end_on         date NOT NULL,
			value          double precision NOT NULL,
			disaggregation jsonb NOT NULL,
			source         text NOT NULL,
			corrections    integer NOT NULL DEFAULT 0,
			recorded_at    bigint NOT NULL,
			position       bigint NOT NULL,
			PRIMARY KEY (project, id)
		);`)
	return err
}

// Apply implements Projection. Rows written once are inserted with ON
// CONFLICT DO NOTHING; a target or a correction changes a row only when
// newer than it.
func (Projects) Apply(b *Batch, events []eventstore.Event) error {
	return b.Each(events, func(se eventstore.Event) error {
		if se.Type != "privacy.subject_erased" && (len(se.Type) < 8 || se.Type[:8] != "project.") {
			return nil
		}
		e, err := catalog.Types.Decode(se)
		if err != nil {
			return fmt.Errorf("projects: %w", err)
		}
		p := se.Position
		switch e := e.(type) {
		case privacy.SubjectErased:
			rest, isProject := strings.CutPrefix(e.Subject, "project:")
			if id, isLead := strings.CutSuffix(rest, ":lead"); isProject && isLead {
				b.Queue(`UPDATE projects SET lead = '', lead_erased = true, position = $2 WHERE id = $1 AND position < $2`, id, p)
			}
		case project.Registered:
			var totalMinor *int64
			var currency *string
			if e.Total != nil {
				totalMinor, currency = &e.Total.Minor, &e.Total.Currency
			}
			objectives, err := json.Marshal(nonNilList(e.Objectives))
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO projects (id, title_ka, title_en, implementers, partners, lead, start_on, end_on, regions,
					municipalities, objectives, total_minor, currency, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
				e.ID, e.Title.Ka, e.Title.En, nonNilList(e.Implementers), nonNilList(e.Partners), e.Lead, e.Start, e.End,
				nonNilList(e.Regions), nonNilList(e.Municipalities), objectives, totalMinor, currency, p)
		case project.ContributionRecorded:
			b.Queue(`INSERT INTO project_contributions (project, position, donor, minor, currency) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT DO NOTHING`, e.Project, p, e.Donor, e.Amount.Minor, e.Amount.Currency)
		case project.IndicatorDefined:
			b.Queue(`INSERT INTO project_indicators (project, id, result_type, result_ka, result_en, title_ka, title_en, unit,
					higher_is_better, baseline_year, baseline, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
				e.Project, e.ID, string(e.ResultType), e.Result.Ka, e.Result.En, e.Title.Ka, e.Title.En, string(e.Unit),
				e.HigherIsBetter, e.BaselineYear, e.Baseline, p)
		case project.TargetSet:
			b.Queue(`INSERT INTO project_targets AS t (project, indicator, start_on, end_on, value, position)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (project, indicator, start_on, end_on) DO UPDATE SET value = excluded.value, position = excluded.position
				WHERE t.position < excluded.position`, e.Project, e.Indicator, e.Start, e.End, e.Value, p)
		case project.ActualRecorded:
			shares, err := json.Marshal(nonNilList(e.Disaggregation))
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO project_actuals (project, id, indicator, start_on, end_on, value, disaggregation, source, recorded_at, position)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING`,
				e.Project, e.ID, e.Indicator, e.Start, e.End, e.Value, shares, e.Source, p)
		case project.ActualCorrected:
			shares, err := json.Marshal(nonNilList(e.Disaggregation))
			if err != nil {
				return err
			}
			b.Queue(`UPDATE project_actuals SET value = $3, disaggregation = $4, corrections = corrections + 1, position = $5
				WHERE project = $1 AND id = $2 AND position < $5`, e.Project, e.ID, e.Value, shares, p)
		default:
			return fmt.Errorf("projects: no handling for event type %s", se.Type)
		}
		return nil
	})
}

func nonNilList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ProjectInfo is a project as readers see it.
type ProjectInfo struct {
	ID           string
	Title        domain.LocalizedText
	Implementers []string
	Partners     []string
	Lead         string
	// LeadErased: the lead's name was erased (its data subject,
	// project.LeadSubject, was), and is empty.
	LeadErased     bool
	Start, End     string
	Regions        []string
	Municipalities []string
	Objectives     []domain.LocalizedText
	// Total is nil when the budget is not disclosed.
	Total *project.Money
	// Contributions are the donors' contributions, in the order recorded.
	Contributions []Contribution
}

// Contribution is a donor's contribution to a project.
type Contribution struct {
	Donor  string
	Amount project.Money
}

// Projects returns every project, by ID, with its contributions.
func (q *Reads) Projects(ctx context.Context) ([]ProjectInfo, error) {
	return q.projects(ctx, nil)
}

// Project returns the project id, nil when there is none.
func (q *Reads) Project(ctx context.Context, id string) (*ProjectInfo, error) {
	ps, err := q.projects(ctx, []string{id})
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	return &ps[0], nil
}

// ProjectsByID returns the projects with the given IDs, keyed by ID; IDs
// not found are absent. The loader of the API's references uses it.
func (q *Reads) ProjectsByID(ctx context.Context, ids []string) (map[string]ProjectInfo, error) {
	ps, err := q.projects(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ProjectInfo, len(ps))
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// projects returns the projects ids, all of them for nil.
func (q *Reads) projects(ctx context.Context, ids []string) ([]ProjectInfo, error) {
	rows, err := q.DB.Query(ctx, `SELECT p.id, p.title_ka, p.title_en, p.implementers, p.partners, p.lead, p.lead_erased, p.start_on::text,
			p.end_on::text, p.regions, p.municipalities, p.objectives, p.total_minor, p.currency,
			coalesce((SELECT jsonb_agg(jsonb_build_object('donor', c.donor, 'minor', c.minor, 'currency', c.currency) ORDER BY c.position)
				FROM rm.project_contributions c WHERE c.project = p.id), '[]')
		FROM rm.projects p WHERE $1::text[] IS NULL OR p.id = ANY($1) ORDER BY p.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("projects: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProjectInfo, error) {
		var p ProjectInfo
		var totalMinor *int64
		var currency *string
		var contributions []struct {
			Donor    string `json:"donor"`
			Minor    int64  `json:"minor"`
			Currency string `json:"currency"`
		}
		err := r.Scan(&p.ID, &p.Title.Ka, &p.Title.En, &p.Implementers, &p.Partners, &p.Lead, &p.LeadErased, &p.Start, &p.End,
			&p.Regions, &p.Municipalities, &p.Objectives, &totalMinor, &currency, &contributions)
		if totalMinor != nil && currency != nil {
			p.Total = &project.Money{Minor: *totalMinor, Currency: *currency}
		}
		for _, c := range contributions {
			p.Contributions = append(p.Contributions, Contribution{Donor: c.Donor, Amount: project.Money{Minor: c.Minor, Currency: c.Currency}})
		}
		return p, err
	})
}

// IndicatorProgress is an indicator with its progress on a day.
type IndicatorProgress struct {
	Indicator project.IndicatorDefined
	Targets   []project.TargetSet
	Progress  project.Progress
}

// ProjectProgress returns the project's indicators, each with its targets
// and its progress on day (YYYY-MM-DD), computed by
// project.ComputeProgress from the corrected actuals and from the
// attendance of the held activities linked to the indicator (each an
// actual over the activity's days, of the attendees its link counts, as
// corrected). The project aggregate alone knows only the former: the
// activities are other streams.
func (q *Reads) ProjectProgress(ctx context.Context, projectID, day string) ([]IndicatorProgress, error) {
	if err := domain.CheckDate("on", day); err != nil {
		return nil, err
	}
	rows, err := q.DB.Query(ctx, `SELECT i.id, i.result_type, i.result_ka, i.result_en, i.title_ka, i.title_en, i.unit,
			i.higher_is_better, i.baseline_year, i.baseline,
			coalesce((SELECT jsonb_agg(jsonb_build_object('start', t.start_on::text, 'end', t.end_on::text, 'value', t.value) ORDER BY t.start_on)
				FROM rm.project_targets t WHERE t.project = i.project AND t.indicator = i.id), '[]'),
			coalesce((SELECT jsonb_agg(jsonb_build_object('start', a.start_on::text, 'end', a.end_on::text, 'value', a.value) ORDER BY a.recorded_at)
				FROM rm.project_actuals a WHERE a.project = i.project AND a.indicator = i.id), '[]'),
			coalesce((SELECT jsonb_agg(jsonb_build_object('start', c.start_on::text, 'end', c.end_on::text, 'value', c.n) ORDER BY c.start_on, c.id)
				FROM (SELECT a.id, a.start_on, a.end_on, sum(f.count) AS n
					FROM rm.activity_links l
					JOIN rm.activities a ON a.id = l.activity AND a.status = 'held'
					JOIN rm.attendance f ON f.activity = a.no AND (l.sector = '' OR f.sector = l.sector) AND (l.sex = '' OR f.sex = l.sex)
					WHERE l.project = i.project AND l.indicator = i.id
					GROUP BY a.id, a.start_on, a.end_on) c), '[]')
		FROM rm.project_indicators i WHERE i.project = $1 ORDER BY i.id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("progress of %s: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IndicatorProgress, error) {
		var ip IndicatorProgress
		ind := &ip.Indicator
		var targets, actuals, attended []struct {
			Start string  `json:"start"`
			End   string  `json:"end"`
			Value float64 `json:"value"`
		}
		if err := r.Scan(&ind.ID, &ind.ResultType, &ind.Result.Ka, &ind.Result.En, &ind.Title.Ka, &ind.Title.En, &ind.Unit,
			&ind.HigherIsBetter, &ind.BaselineYear, &ind.Baseline, &targets, &actuals, &attended); err != nil {
			return ip, err
		}
		ind.Project = projectID
		for _, t := range targets {
			ip.Targets = append(ip.Targets, project.TargetSet{Project: projectID, Indicator: ind.ID, Start: t.Start, End: t.End, Value: t.Value})
		}
		var measures []project.Measure
		for _, a := range append(actuals, attended...) {
			measures = append(measures, project.Measure{Start: a.Start, End: a.End, Value: a.Value})
		}
		ip.Progress = project.ComputeProgress(*ind, ip.Targets, measures, day)
		return ip, nil
	})
	if err != nil {
		return nil, fmt.Errorf("progress of %s: %w", projectID, err)
	}
	return out, nil
}
