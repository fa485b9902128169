package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/eventstore"
)

const budgetsCorrelation = CorrelationPrefix + "budgets"

var budgetsActor = domain.Actor{ID: "system:seed-budgets", Role: domain.System}

// BudgetReport says what Budgets loaded.
type BudgetReport struct {
	Cycles, Ideas, Ballots, PaperBallots int
}

func (r *BudgetReport) merge(o BudgetReport) {
	r.Cycles += o.Cycles
	r.Ideas += o.Ideas
	r.Ballots += o.Ballots
	r.PaperBallots += o.PaperBallots
}

// demoCycle is one cycle of the demo: its municipality, year and size.
type demoCycle struct {
	municipality string
	year         int
	population   int
	city         bool
	ideas        int // submitted
	feasible     int // of them, found feasible
	ballot       int // put on the ballot (0: every feasible one)
	voters       int
	facts        string // what of it is documented, "" for none
}

// budgetDemo lists the demo's cycles: the eight municipalities certified
// in 2019 and Marneuli, which ran the first process in 2015, every year
// 2019-2025, and Keda's of 2023. Sizes are drawn from the municipality's
// population and a seed, in the ranges the programme's documents give
// (ideas in the tens, voters in the hundreds, few enough to load in seconds); where a
// document gives a figure it is used and named in facts: Batumi 2020
// took 30 ideas and put 10 to a vote; Keda 2023 had 138 applications, 126
// recommended, and voted on 8-10 December with an amount per village.
func budgetDemo() ([]demoCycle, error) {
	munis, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		return nil, err
	}
	pop := map[string]int{}
	city := map[string]bool{}
	for _, m := range munis {
		if m.cmd.Population2014 != nil {
			pop[m.cmd.Code] = *m.cmd.Population2014
		}
		city[m.cmd.Code] = m.cmd.Kind == "self-governing-city"
	}
	var out []demoCycle
	for _, code := range []string{"akhaltsikhe", "batumi", "gori", "kutaisi", "marneuli", "ozurgeti", "sighnaghi", "tskaltubo", "zugdidi"} {
		for year := 2019; year <= 2025; year++ {
			r := rand.New(rand.NewPCG(uint64(year), uint64(len(code))*7919+uint64(code[0])))
			c := demoCycle{municipality: code, year: year, population: pop[code], city: city[code]}
			c.ideas = 8 + r.IntN(10) + pop[code]/50000
			c.feasible = c.ideas - c.ideas/6 - r.IntN(3)
			// Turnout grows as the process takes root: 1.5% to 4%.
			share := 0.015 + 0.004*float64(year-2019) + 0.005*r.Float64()
			c.voters = max(100, min(2500, int(share*float64(pop[code]))))
			if code == "batumi" && year == 2020 {
				c.ideas, c.feasible, c.ballot = 30, 18, 10
				c.facts = "30 ideas, 10 put to a vote (Batumi City Hall, 2020)"
			}
			out = append(out, c)
		}
	}
	out = append(out, demoCycle{municipality: "keda", year: 2023, population: pop["keda"], ideas: 138, feasible: 126, voters: 600,
		facts: "138 applications, 126 recommended, voting 8-10 December, an amount per village (Keda Municipality, 2023)"})
	return out, nil
}

// Budgets loads the demo's participatory budgets through svc, so every
// rule applies: each cycle opened, its ideas submitted and reviewed, its
// ballot published, its residents' ballots cast (up to ten online
// through the ballot box, the rest on paper at village meetings,
// entered in batches with their tally sheets), its results counted by the
// cycle's method and declared, and its winners' delivery reported. Every
// figure not named in a cycle's facts is illustrative, and the cycles say
// so (Source). Several cycles load at once.
//
// A cycle that exists is skipped, so a server may call it at every start;
// a cycle a crash left part way stays so (the demo is for trying the
// system, not a record).
func Budgets(ctx context.Context, svc *budgeting.Service) (BudgetReport, error) {
	cycles, err := budgetDemo()
	if err != nil {
		return BudgetReport{}, err
	}
	var (
		mu   sync.Mutex
		rep  BudgetReport
		wg   sync.WaitGroup
		errs []error
	)
	next := make(chan demoCycle)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				r, err := loadCycle(ctx, svc, c)
				mu.Lock()
				rep.merge(r)
				if err != nil {
					errs = append(errs, fmt.Errorf("budget demo %s: %w", budgeting.CycleID(c.municipality, c.year), err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cycles {
		select {
		case next <- c:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return rep, errs[0]
	}
	return rep, ctx.Err()
}

// noonOf is noon of a day, Tbilisi time.
func noonOf(s string) time.Time {
	t, err := time.ParseInLocation(domain.DateLayout, s, domain.Tbilisi)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour)
}

func loadCycle(ctx context.Context, svc *budgeting.Service, dc demoCycle) (BudgetReport, error) {
	var rep BudgetReport
	id := budgeting.CycleID(dc.municipality, dc.year)
	existing, err := svc.Repo.Store.ReadStream(ctx, budgeting.CycleStream(id), eventstore.ReadOptions{Limit: 1})
	if err != nil || len(existing) > 0 {
		return rep, err
	}
	r := rand.New(rand.NewPCG(uint64(dc.year)*31, uint64(len(dc.municipality))*131+uint64(dc.municipality[1])))
	y := func(md string) string { return fmt.Sprintf("%d-%s", dc.year, md) }
	meta := func(d string) domain.Meta {
		t := noonOf(d)
		return domain.Meta{Actor: budgetsActor, CorrelationID: budgetsCorrelation, Now: t, OccurredAt: t}
	}
	phases := []budgeting.Phase{
		{Kind: budgeting.Informing, Start: y("02-15"), End: y("02-28")},
		{Kind: budgeting.Proposing, Start: y("03-01"), End: y("04-15")},
		{Kind: budgeting.Reviewing, Start: y("04-16"), End: y("05-31")},
		{Kind: budgeting.Voting, Start: y("06-10"), End: y("06-20")},
		{Kind: budgeting.Tallying, Start: y("06-21"), End: y("06-25")},
		{Kind: budgeting.Delivering, Start: y("06-26"), End: fmt.Sprintf("%d-06-25", dc.year+1)},
	}
	if dc.municipality == "keda" {
		phases = []budgeting.Phase{
			{Kind: budgeting.Proposing, Start: y("08-01"), End: y("09-30")},
			{Kind: budgeting.Reviewing, Start: y("10-01"), End: y("11-30")},
			{Kind: budgeting.Voting, Start: y("12-08"), End: y("12-10")},
			{Kind: budgeting.Tallying, Start: y("12-11"), End: y("12-14")},
			{Kind: budgeting.Delivering, Start: y("12-15"), End: fmt.Sprintf("%d-12-31", dc.year+1)},
		}
	}
	const gel = 100
	var pots []budgeting.Pot
	switch {
	case dc.municipality == "keda":
		for _, v := range []struct{ code, ka, en string }{
			{"keda", "ქედა", "Keda"}, {"dandalo", "დანდალო", "Dandalo"}, {"zvare", "ზვარე", "Zvare"},
			{"merisi", "მერისი", "Merisi"}, {"makhuntseti", "მახუნცეთი", "Makhuntseti"},
		} {
			pots = append(pots, budgeting.Pot{Code: v.code, Name: domain.LocalizedText{Ka: v.ka, En: v.en}, Amount: int64(30000+r.IntN(4)*5000) * gel})
		}
	case dc.city:
		pots = []budgeting.Pot{{Code: "city", Name: domain.LocalizedText{Ka: "ქალაქი", En: "The city"}, Amount: int64(400000+r.IntN(7)*100000) * gel}}
	default:
		pots = []budgeting.Pot{{Code: "municipality", Name: domain.LocalizedText{Ka: "მუნიციპალიტეტი", En: "The municipality"}, Amount: int64(100000+r.IntN(5)*50000) * gel}}
	}
	counting := budgeting.Counting{Method: budgeting.Greedy}
	if dc.municipality == "batumi" && dc.year >= 2024 {
		counting = budgeting.Counting{Method: budgeting.EqualShares, Utility: budgeting.CostUtility, Step: 1 * gel}
	}
	source := "demo: every figure illustrative"
	if dc.facts != "" {
		source = "demo: " + dc.facts + "; every other figure illustrative"
	}
	categories := []budgeting.Category{
		{Code: "roads", Name: domain.LocalizedText{Ka: "გზები და ტროტუარები", En: "Roads and pavements"}},
		{Code: "parks", Name: domain.LocalizedText{Ka: "პარკები და სკვერები", En: "Parks and squares"}},
		{Code: "sport", Name: domain.LocalizedText{Ka: "სპორტი", En: "Sport"}},
		{Code: "culture", Name: domain.LocalizedText{Ka: "კულტურა", En: "Culture"}},
		{Code: "lighting", Name: domain.LocalizedText{Ka: "განათება", En: "Street lighting"}},
		{Code: "water", Name: domain.LocalizedText{Ka: "წყალმომარაგება", En: "Water supply"}},
	}
	if _, err := svc.OpenCycle(ctx, meta(y("02-10")), budgeting.OpenCycle{
		Municipality: dc.municipality, Year: dc.year, Currency: "GEL", Pots: pots, Phases: phases, Categories: categories,
		Title:       domain.LocalizedText{Ka: fmt.Sprintf("სამოქალაქო ბიუჯეტი %d", dc.year), En: fmt.Sprintf("Civic budget %d", dc.year)},
		Eligibility: budgeting.Eligibility{MinAge: 16, Residence: "registered in the municipality"},
		Rules:       budgeting.Rules{Ballot: budgeting.Approval, MaxProjects: 3, SecondBallot: budgeting.Refuse, Counting: counting},
		Source:      source,
	}); err != nil {
		return rep, err
	}
	rep.Cycles++
	proposing, reviewing, voting := phases[len(phases)-5], phases[len(phases)-4], phases[len(phases)-3]
	offset := func(p budgeting.Phase, i, n int) string {
		s, _ := time.Parse(domain.DateLayout, p.Start)
		e, _ := time.Parse(domain.DateLayout, p.End)
		days := int(e.Sub(s).Hours() / 24)
		n = max(n, 1)
		return s.AddDate(0, 0, (i%n)*days/n).Format(domain.DateLayout)
	}
	type idea struct {
		id, pot  string
		cost     int64
		feasible bool
	}
	ideas := make([]idea, dc.ideas)
	for i := range ideas {
		pot := pots[r.IntN(len(pots))]
		cost := (pot.Amount / 20) * int64(1+r.IntN(6)) / gel * gel
		ideas[i] = idea{id: fmt.Sprintf("%s-%03d", id, i+1), pot: pot.Code, cost: cost, feasible: i < dc.feasible}
		ch, on, kind := budgeting.Online, "", budgeting.Resident
		if r.IntN(3) == 0 {
			ch, on = budgeting.Paper, offset(proposing, i, dc.ideas)
		}
		if r.IntN(5) == 0 {
			kind = budgeting.Group
		}
		submitDay := offset(proposing, i, dc.ideas)
		if _, err := svc.SubmitIdea(ctx, meta(submitDay), budgeting.SubmitIdea{ID: ideas[i].id, Cycle: id, Pot: pot.Code,
			Category: categories[r.IntN(len(categories))].Code, Cost: cost, Currency: "GEL", ProposerKind: kind, Channel: ch, On: on,
			Title: domain.LocalizedText{Ka: fmt.Sprintf("იდეა %d (საილუსტრაციო)", i+1), En: fmt.Sprintf("Idea %d (illustrative)", i+1)}}); err != nil {
			return rep, err
		}
		rep.Ideas++
	}
	// Feasible ones at a reviewed cost within 20% of the estimate.
	r.Shuffle(len(ideas), func(i, j int) { ideas[i].feasible, ideas[j].feasible = ideas[j].feasible, ideas[i].feasible })
	var onBallot []string
	for i := range ideas {
		cmd := budgeting.ReviewIdea{ID: ideas[i].id, Feasible: ideas[i].feasible, Currency: "GEL", Department: "infrastructure"}
		if ideas[i].feasible {
			ideas[i].cost = ideas[i].cost * int64(90+r.IntN(30)) / 100 / gel * gel
			cmd.Cost = ideas[i].cost
			if dc.ballot == 0 || len(onBallot) < dc.ballot {
				onBallot = append(onBallot, ideas[i].id)
			}
		} else {
			cmd.Reason = "not the municipality's competence, or on private land (illustrative)"
		}
		if _, err := svc.ReviewIdea(ctx, meta(offset(reviewing, i, len(ideas))), cmd); err != nil {
			return rep, err
		}
	}
	if _, err := svc.PublishBallot(ctx, meta(reviewing.End), budgeting.PublishBallot{Cycle: id, Ideas: onBallot}); err != nil {
		return rep, err
	}
	// Popularity: a few ideas draw most votes, as in every published
	// instance.
	byPot := map[string][]string{}
	for _, i := range ideas {
		if slices.Contains(onBallot, i.id) {
			byPot[i.pot] = append(byPot[i.pot], i.id)
		}
	}
	pick := func(pot string) []string {
		cands := byPot[pot]
		n := min(len(cands), 1+r.IntN(3))
		var out []string
		for len(out) < n {
			k := int(float64(len(cands)) * r.Float64() * r.Float64())
			if !slices.Contains(out, cands[k]) {
				out = append(out, cands[k])
			}
		}
		return out
	}
	potOf := func() string {
		for {
			p := pots[r.IntN(len(pots))].Code
			if len(byPot[p]) > 0 {
				return p
			}
		}
	}
	sex := func() string {
		if r.IntN(100) < 56 {
			return "female"
		}
		return "male"
	}
	band := func() string { return activity.AgeBands[1+r.IntN(len(activity.AgeBands)-1)] }
	online := min(dc.voters/10, 10)
	for v := range online {
		pot := potOf()
		if _, err := svc.CastBallot(ctx, meta(offset(voting, v, online)), budgeting.CastBallot{Cycle: id,
			Voter: fmt.Sprintf("demo-voter-%s-%d", id, v), Pot: pot, Projects: pick(pot), Sex: sex(), AgeBand: band()}); err != nil {
			return rep, err
		}
		rep.Ballots++
	}
	paperLeft := dc.voters - online
	var votingPots []string
	for _, p := range pots {
		if len(byPot[p.Code]) > 0 {
			votingPots = append(votingPots, p.Code)
		}
	}
	for b := 0; paperLeft > 0; b++ {
		// A meeting in each village in turn.
		pot := votingPots[b%len(votingPots)]
		n := min(paperLeft, 60+r.IntN(120))
		paperLeft -= n
		cmd := budgeting.EnterPaperBatch{Cycle: id, Pot: pot, Batch: fmt.Sprintf("meeting-%02d", b+1),
			Place: fmt.Sprintf("Village meeting %d (illustrative)", b+1), On: offset(voting, b, 8),
			Tally: budgeting.Tally{Votes: map[string]int64{}}}
		for range n {
			ps := pick(pot)
			cmd.Ballots = append(cmd.Ballots, budgeting.PaperBallot{Projects: ps, Sex: sex(), AgeBand: band()})
			for _, p := range ps {
				cmd.Tally.Votes[p]++
			}
		}
		cmd.Tally.Ballots = n
		if _, err := svc.EnterPaperBatch(ctx, meta(cmd.On), cmd); err != nil {
			return rep, err
		}
		rep.PaperBallots += n
	}
	delivering := phases[len(phases)-1]
	if _, err := svc.DeclareResults(ctx, meta(delivering.Start), budgeting.DeclareResults{Cycle: id}); err != nil {
		return rep, err
	}
	var c budgeting.Cycle
	if _, err := svc.Repo.Load(ctx, budgeting.CycleStream(id), &c); err != nil {
		return rep, err
	}
	// Delivery: older cycles finished, the latest under way.
	age := 2025 - dc.year
	for _, p := range c.Results().Pots {
		for k, w := range p.Winners {
			status, progress := budgeting.Completed, 100
			switch {
			case age == 0 && k%2 == 0:
				status, progress = budgeting.Procurement, 5
			case age == 0:
				status, progress = budgeting.Planned, 0
			case age == 1 && k%3 != 0:
				status, progress = budgeting.InProgress, 40+r.IntN(50)
			}
			cost := int64(0)
			for _, i := range ideas {
				if i.id == w {
					cost = i.cost
				}
			}
			on := offset(delivering, 1+k, len(p.Winners)+2)
			if _, err := svc.ReportDelivery(ctx, meta(on), budgeting.ReportDelivery{ID: w, Status: status, Progress: progress,
				Spent: cost * int64(progress) / 100, Currency: "GEL", Milestone: "reported by the municipality (illustrative)", On: on}); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}
