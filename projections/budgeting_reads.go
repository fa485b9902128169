package projections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/jackc/pgx/v5"
)

// BudgetCycle is a participatory budget cycle as the read model holds it.
type BudgetCycle struct {
	ID           string
	Municipality string
	Year         int
	Title        domain.LocalizedText
	Currency     string
	// Total is the sum of the pots, in minor units.
	Total       int64
	Pots        []budgeting.Pot
	Phases      []budgeting.Phase
	Categories  []budgeting.Category
	Eligibility budgeting.Eligibility
	Rules       budgeting.Rules
	// Ballot is nil until the ballot is published.
	Ballot []budgeting.BallotProject
	// Results is nil until they are declared.
	Results *budgeting.ResultsDeclared
	Source  string
	// Unit names an imported cycle's place outside the registry, "" for
	// a Georgian municipality's.
	Unit string
	// Position is the log position of the last event applied to it.
	Position int64
}

// PhaseOn is the cycle's phase on day, "" when none.
func (c BudgetCycle) PhaseOn(day string) budgeting.PhaseKind {
	for _, p := range c.Phases {
		if p.Start <= day && day <= p.End {
			return p.Kind
		}
	}
	return ""
}

// BudgetCycleFilter narrows the list of cycles ("" and 0 match anything).
type BudgetCycleFilter struct {
	Municipality string
	Region       string
	Year         int
}

// BudgetCyclePage is a page of cycles, by ID.
type BudgetCyclePage struct {
	Nodes   []BudgetCycle
	Cursors []string
	HasNext bool
}

const budgetCycleFrom = `SELECT c.id, c.municipality, c.year, c.title_ka, c.title_en, c.currency, c.total_minor, c.pots, c.phases,
		c.categories, c.eligibility, c.rules, c.ballot, c.results, c.source, c.unit, c.position
	FROM rm.budget_cycles c`

func scanBudgetCycle(r pgx.CollectableRow) (BudgetCycle, error) {
	var c BudgetCycle
	err := r.Scan(&c.ID, &c.Municipality, &c.Year, &c.Title.Ka, &c.Title.En, &c.Currency, &c.Total, &c.Pots, &c.Phases,
		&c.Categories, &c.Eligibility, &c.Rules, &c.Ballot, &c.Results, &c.Source, &c.Unit, &c.Position)
	return c, err
}

// BudgetCycle returns cycle id, nil when there is none.
func (q *Reads) BudgetCycle(ctx context.Context, id string) (*BudgetCycle, error) {
	rows, err := q.DB.Query(ctx, budgetCycleFrom+` WHERE c.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("budget cycle: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBudgetCycle)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// BudgetCycles returns a page of cycles, by ID (a municipality's, by year).
func (q *Reads) BudgetCycles(ctx context.Context, f BudgetCycleFilter, page Page) (BudgetCyclePage, error) {
	if page.First < 1 || page.First > MaxPage {
		return BudgetCyclePage{}, domain.Errorf(domain.Invalid, "first: %d is outside 1..%d", page.First, MaxPage)
	}
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Municipality != "" {
		add("c.municipality = $%d", f.Municipality)
	}
	if f.Region != "" {
		add("c.municipality IN (SELECT code FROM rm.municipalities WHERE region = $%d)", f.Region)
	}
	if f.Year != 0 {
		add("c.year = $%d", f.Year)
	}
	if page.After != "" {
		cur, err := decodeCursor(page.After)
		if err != nil {
			return BudgetCyclePage{}, err
		}
		add("c.id > $%d", cur.id)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, page.First+1)
	rows, err := q.DB.Query(ctx, budgetCycleFrom+where+fmt.Sprintf(" ORDER BY c.id LIMIT $%d", len(args)), args...)
	if err != nil {
		return BudgetCyclePage{}, fmt.Errorf("budget cycles: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBudgetCycle)
	if err != nil {
		return BudgetCyclePage{}, fmt.Errorf("budget cycles: %w", err)
	}
	p := BudgetCyclePage{HasNext: len(list) > page.First, Nodes: list[:min(len(list), page.First)]}
	for _, c := range p.Nodes {
		p.Cursors = append(p.Cursors, cursor{at: time.Unix(0, 0), id: c.ID}.encode())
	}
	return p, nil
}

// BudgetIdea is an idea as the read model holds it.
type BudgetIdea struct {
	ID, Cycle, Pot, Category string
	Title                    domain.LocalizedText
	// Estimate is the proposer's, Cost the reviewed one (the estimate
	// until reviewed), in minor units.
	Estimate, Cost int64
	ProposerKind   budgeting.ProposerKind
	Organisation   string
	Channel        budgeting.Channel
	SubmittedOn    string
	Status         budgeting.IdeaStatus
	ReviewReason   string
	Department     string
	AppealGrounds  string
	AppealReason   string
	MergedInto     string
	// ClosingReason is why it was withdrawn or merged.
	ClosingReason string
	// Delivery is "" until a winner's delivery is reported.
	Delivery    budgeting.DeliveryStatus
	Progress    int
	Spent       int64
	Milestone   string
	Documents   []string
	DeliveredOn string
	Position    int64
}

// BudgetIdeaFilter narrows a cycle's ideas ("" matches anything).
type BudgetIdeaFilter struct {
	Cycle    string
	Pot      string
	Category string
	Status   budgeting.IdeaStatus
}

// BudgetIdeaPage is a page of ideas, by ID.
type BudgetIdeaPage struct {
	Nodes   []BudgetIdea
	Cursors []string
	HasNext bool
}

const budgetIdeaFrom = `SELECT i.id, i.cycle, i.pot, i.category, i.title_ka, i.title_en, i.estimate_minor, i.cost_minor, i.proposer_kind,
		i.organisation, i.channel, i.submitted_on::text, i.status, i.review_reason, i.department, i.appeal_grounds, i.appeal_reason,
		i.merged_into, i.closing_reason, i.delivery, i.progress, i.spent_minor, i.milestone, i.documents, coalesce(i.delivered_on::text, ''), i.position
	FROM rm.budget_ideas i`

func scanBudgetIdea(r pgx.CollectableRow) (BudgetIdea, error) {
	var i BudgetIdea
	err := r.Scan(&i.ID, &i.Cycle, &i.Pot, &i.Category, &i.Title.Ka, &i.Title.En, &i.Estimate, &i.Cost, &i.ProposerKind,
		&i.Organisation, &i.Channel, &i.SubmittedOn, &i.Status, &i.ReviewReason, &i.Department, &i.AppealGrounds, &i.AppealReason,
		&i.MergedInto, &i.ClosingReason, &i.Delivery, &i.Progress, &i.Spent, &i.Milestone, &i.Documents, &i.DeliveredOn, &i.Position)
	return i, err
}

// BudgetIdea returns idea id, nil when there is none.
func (q *Reads) BudgetIdea(ctx context.Context, id string) (*BudgetIdea, error) {
	rows, err := q.DB.Query(ctx, budgetIdeaFrom+` WHERE i.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("budget idea: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBudgetIdea)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// BudgetIdeas returns a page of a cycle's ideas, by ID.
func (q *Reads) BudgetIdeas(ctx context.Context, f BudgetIdeaFilter, page Page) (BudgetIdeaPage, error) {
	if page.First < 1 || page.First > MaxPage {
		return BudgetIdeaPage{}, domain.Errorf(domain.Invalid, "first: %d is outside 1..%d", page.First, MaxPage)
	}
	args := []any{f.Cycle}
	conds := []string{"i.cycle = $1"}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Pot != "" {
		add("i.pot = $%d", f.Pot)
	}
	if f.Category != "" {
		add("i.category = $%d", f.Category)
	}
	if f.Status != "" {
		add("i.status = $%d", string(f.Status))
	}
	if page.After != "" {
		cur, err := decodeCursor(page.After)
		if err != nil {
			return BudgetIdeaPage{}, err
		}
		add("i.id > $%d", cur.id)
	}
	args = append(args, page.First+1)
	rows, err := q.DB.Query(ctx, budgetIdeaFrom+" WHERE "+strings.Join(conds, " AND ")+fmt.Sprintf(" ORDER BY i.id LIMIT $%d", len(args)), args...)
	if err != nil {
		return BudgetIdeaPage{}, fmt.Errorf("budget ideas: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBudgetIdea)
	if err != nil {
		return BudgetIdeaPage{}, fmt.Errorf("budget ideas: %w", err)
	}
	p := BudgetIdeaPage{HasNext: len(list) > page.First, Nodes: list[:min(len(list), page.First)]}
	for _, i := range p.Nodes {
		p.Cursors = append(p.Cursors, cursor{at: time.Unix(0, 0), id: i.ID}.encode())
	}
	return p, nil
}

// BudgetStats are a cycle's participation figures: what analysts compare
// across years and municipalities, and what a certification expert checks
// an application's claims against.
type BudgetStats struct {
	Cycle string
	// Ideas counts the ideas by status; Submitted all of them.
	Ideas     map[budgeting.IdeaStatus]int
	Submitted int
	OnBallot  int
	// Voters are the ballots counted so far: each online voter once, and
	// every paper ballot.
	Voters, Online, Paper int
	BySex, ByAgeBand      map[string]int
	// Eligible is the population turnout is measured against: the pots'
	// own figures when every pot has one, else the municipality's 2014
	// census (all ages: an upper bound of the eligible). EligibleSource
	// says which.
	Eligible       int64
	EligibleSource string
	Pots           []PotStats
	// Delivery rolls up the winners' delivery; nil before the results.
	Delivery *DeliveryStats
}

// DeliveryStats are a cycle's winners' delivery taken together, as
// Decidim's accountability rolls children up into their parent: each
// winner's progress weighted by its cost.
type DeliveryStats struct {
	Winners int
	// ByStatus counts the winners by their last reported status, ""
	// for those nothing was reported on.
	ByStatus map[string]int
	// Progress is the cost-weighted mean of the winners' progress, in
	// percent.
	Progress float64
	// Cost and Spent are the winners' costs and what was spent on them,
	// in minor units.
	Cost, Spent int64
}

// PotStats are one pot's figures.
type PotStats struct {
	Pot    string
	Amount int64
	Ideas  int
	Voters int
}

// BudgetStats returns cycle's figures, nil when there is no such cycle.
func (q *Reads) BudgetStats(ctx context.Context, cycle string) (*BudgetStats, error) {
	c, err := q.BudgetCycle(ctx, cycle)
	if err != nil || c == nil {
		return nil, err
	}
	s := &BudgetStats{Cycle: cycle, Ideas: map[budgeting.IdeaStatus]int{}, BySex: map[string]int{}, ByAgeBand: map[string]int{},
		OnBallot: len(c.Ballot)}
	batch := &pgx.Batch{}
	batch.Queue(`SELECT status, pot, count(*) FROM rm.budget_ideas WHERE cycle = $1 GROUP BY status, pot`, cycle)
	batch.Queue(`SELECT pot, channel, sex, age_band, voters FROM rm.budget_turnout WHERE cycle = $1`, cycle)
	batch.Queue(`SELECT population_2014 FROM rm.municipalities WHERE code = $1`, c.Municipality)
	var winners []string
	if c.Results != nil {
		for _, p := range c.Results.Pots {
			winners = append(winners, p.Winners...)
		}
	}
	batch.Queue(`SELECT delivery, progress, cost_minor, spent_minor FROM rm.budget_ideas WHERE id = ANY($1)`, winners)
	br := q.DB.SendBatch(ctx, batch)
	defer br.Close()
	ideasByPot, votersByPot := map[string]int{}, map[string]int{}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("budget stats: %w", err)
	}
	for rows.Next() {
		var status, pot string
		var n int
		if err := rows.Scan(&status, &pot, &n); err != nil {
			return nil, err
		}
		s.Ideas[budgeting.IdeaStatus(status)] += n
		s.Submitted += n
		ideasByPot[pot] += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, fmt.Errorf("budget stats: %w", err)
	}
	for rows.Next() {
		var pot, channel, sex, band string
		var n int
		if err := rows.Scan(&pot, &channel, &sex, &band, &n); err != nil {
			return nil, err
		}
		s.Voters += n
		if channel == "paper" {
			s.Paper += n
		} else {
			s.Online += n
		}
		s.BySex[orUnrecorded(sex)] += n
		s.ByAgeBand[orUnrecorded(band)] += n
		votersByPot[pot] += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var census *int64
	if err := br.QueryRow().Scan(&census); err != nil && err != pgx.ErrNoRows {
		return nil, fmt.Errorf("budget stats: %w", err)
	}
	if rows, err = br.Query(); err != nil {
		return nil, fmt.Errorf("budget stats: %w", err)
	}
	var weighted float64
	for rows.Next() {
		if s.Delivery == nil {
			s.Delivery = &DeliveryStats{ByStatus: map[string]int{}}
		}
		var status string
		var progress int
		var cost, spent int64
		if err := rows.Scan(&status, &progress, &cost, &spent); err != nil {
			return nil, err
		}
		d := s.Delivery
		d.Winners++
		d.ByStatus[status]++
		d.Cost += cost
		d.Spent += spent
		weighted += float64(progress) * float64(cost)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if d := s.Delivery; d != nil && d.Cost > 0 {
		d.Progress = weighted / float64(d.Cost)
	}
	all := true
	var own int64
	for _, p := range c.Pots {
		s.Pots = append(s.Pots, PotStats{Pot: p.Code, Amount: p.Amount, Ideas: ideasByPot[p.Code], Voters: votersByPot[p.Code]})
		own += p.Population
		all = all && p.Population > 0
	}
	switch {
	case all:
		s.Eligible, s.EligibleSource = own, "recorded"
	case census != nil:
		s.Eligible, s.EligibleSource = *census, "census_2014"
	}
	return s, nil
}

func orUnrecorded(s string) string {
	if s == "" {
		return "unrecorded"
	}
	return s
}
