package pabulib

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/project"
	"golang.org/x/text/unicode/norm"
)

// currencies are the currencies of the library's countries, for the files
// that do not say (most do not).
var currencies = map[string]string{"Poland": "PLN", "France": "EUR", "Netherlands": "EUR", "Switzerland": "CHF", "Canada": "CAD", "US": "USD"}

// ImportReport says what Import recorded.
type ImportReport struct {
	Cycle             string
	Projects, Ballots int
	// Winners are those Civic Ledger's count declared, Published those the
	// file marks selected (nil when it marks none).
	Winners, Published []string
}

// Agrees reports whether the declared winners are the published ones.
func (r ImportReport) Agrees() bool {
	a, b := slices.Sorted(slices.Values(r.Winners)), slices.Sorted(slices.Values(r.Published))
	return slices.Equal(a, b)
}

// Import records a published instance as a participatory budget cycle
// through svc, as the system, so every rule of a cycle run in the ledger
// applies: the cycle (its place outside Georgia's registry named as the
// file does), the projects as ideas reviewed feasible at their cost and
// put on the ballot, each voter's ballot cast under a pseudonym of the
// file's voter ID, and the results counted by the rule the file names and
// declared. The calendar is the file's voting days, with proposing and
// reviewing in the two months before and delivery in the year after.
//
// Every ballot is checked before anything is written, so a file either
// goes in whole or not at all; a cycle of the same place and year that
// exists is an error.
func Import(ctx context.Context, svc *budgeting.Service, in *Instance, source string) (ImportReport, error) {
	e, err := in.Election()
	if err != nil {
		return ImportReport{}, err
	}
	country, unit, subunit := in.MetaValue("country"), in.MetaValue("unit"), in.MetaValue("subunit")
	year, err := strconv.Atoi(firstDigits(in.MetaValue("instance"), 4))
	if err != nil {
		return ImportReport{}, fmt.Errorf("%w: instance %q has no year", ErrFormat, in.MetaValue("instance"))
	}
	currency := in.MetaValue("currency")
	if currency == "" {
		currency = currencies[country]
	}
	if !project.IsCurrency(currency) {
		return ImportReport{}, fmt.Errorf("%w: no currency for %q (add META currency)", ErrUnsupported, country)
	}
	if exp := project.Exponent(currency); exp != 2 {
		return ImportReport{}, fmt.Errorf("%w: currency %s has %d decimals; the library's have 2", ErrUnsupported, currency, exp)
	}
	begin, end, err := days(in.MetaValue("date_begin"), in.MetaValue("date_end"), year)
	if err != nil {
		return ImportReport{}, err
	}
	// Room for the year and an idea code after it, within a code's 64
	// bytes.
	code := slug(strings.Join([]string{country, unit, subunit}, " "), 40)
	id := budgeting.CycleID(code, year)
	place := strings.Join(slices.DeleteFunc([]string{unit, subunit}, func(s string) bool { return s == "" }), ", ")

	rules := budgeting.Rules{Ballot: budgeting.Approval, SecondBallot: budgeting.Refuse, Counting: e.Counting}
	if in.MetaValue("vote_type") == "cumulative" {
		rules.Ballot = budgeting.Cumulative
		if rules.MaxPoints, err = Int("max_sum_points", in.MetaValue("max_sum_points")); err != nil {
			return ImportReport{}, err
		}
	} else if in.MetaValue("max_sum_cost") != "" {
		rules.Ballot = budgeting.Knapsack
	}
	for _, b := range []struct {
		key string
		to  *int
	}{{"min_length", &rules.MinProjects}, {"max_length", &rules.MaxProjects}} {
		if v := in.MetaValue(b.key); v != "" {
			if *b.to, err = strconv.Atoi(v); err != nil {
				return ImportReport{}, fmt.Errorf("%w: %s %q", ErrFormat, b.key, v)
			}
		}
	}
	pot := budgeting.Pot{Code: "all", Name: domain.LocalizedText{Ka: "მთლიანი ბიუჯეტი", En: place}, Amount: e.Budget}
	// Ideas: each project under a code made from its ID.
	ideaOf := map[string]string{}
	var ballot []budgeting.BallotProject
	for _, c := range e.Candidates {
		iid := id + "-" + slug(c.ID, domain.MaxCode-len(id)-1)
		if slices.Contains(slices.Collect(mapValues(ideaOf)), iid) {
			return ImportReport{}, fmt.Errorf("%w: projects %q and another make the same code %s", ErrUnsupported, c.ID, iid)
		}
		ideaOf[c.ID] = iid
		ballot = append(ballot, budgeting.BallotProject{Idea: iid, Pot: pot.Code, Cost: c.Cost})
	}
	ballots := make([][]string, len(e.Ballots))
	for i, v := range e.Ballots {
		for _, p := range v.Projects {
			iid, ok := ideaOf[p]
			if !ok {
				return ImportReport{}, fmt.Errorf("%w: voter %s: project %q is not in PROJECTS", ErrFormat, in.Votes.Get(i, "voter_id"), p)
			}
			ballots[i] = append(ballots[i], iid)
		}
		if err := budgeting.CheckBallot(rules, pot, ballot, ballots[i], v.Points); err != nil {
			return ImportReport{}, fmt.Errorf("%w: voter %s: %s", ErrUnsupported, in.Votes.Get(i, "voter_id"), domain.MessageOf(err))
		}
	}

	at := func(t time.Time) domain.Meta {
		t = time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, domain.Tbilisi)
		return domain.Meta{Actor: domain.Actor{ID: "system:import-pabulib", Role: domain.System}, CorrelationID: "import:" + source, Now: t, OccurredAt: t}
	}
	day := func(t time.Time) string { return t.Format(domain.DateLayout) }
	proposing := budgeting.Phase{Kind: budgeting.Proposing, Start: day(begin.AddDate(0, 0, -60)), End: day(begin.AddDate(0, 0, -31))}
	reviewing := budgeting.Phase{Kind: budgeting.Reviewing, Start: day(begin.AddDate(0, 0, -30)), End: day(begin.AddDate(0, 0, -1))}
	voting := budgeting.Phase{Kind: budgeting.Voting, Start: day(begin), End: day(end)}
	delivering := budgeting.Phase{Kind: budgeting.Delivering, Start: day(end.AddDate(0, 0, 1)), End: day(end.AddDate(1, 0, 0))}
	rep := ImportReport{Cycle: id, Projects: len(ballot), Ballots: len(ballots)}
	if _, err := svc.OpenCycle(ctx, at(begin.AddDate(0, 0, -61)), budgeting.OpenCycle{Municipality: code, Year: year,
		Title:    domain.LocalizedText{Ka: fmt.Sprintf("სამოქალაქო ბიუჯეტი %d", year), En: in.MetaValue("description")},
		Currency: currency, Pots: []budgeting.Pot{pot}, Phases: []budgeting.Phase{proposing, reviewing, voting, delivering},
		Rules: rules, Source: "pabulib: " + source, Unit: place + " (" + country + ")"}); err != nil {
		return rep, err
	}
	names := map[string]string{}
	for i := range in.Projects.Rows {
		names[in.Projects.Get(i, "project_id")] = in.Projects.Get(i, "name")
	}
	for _, c := range e.Candidates {
		name := names[c.ID]
		if name == "" {
			name = c.ID
		}
		if _, err := svc.SubmitIdea(ctx, at(begin.AddDate(0, 0, -40)), budgeting.SubmitIdea{ID: ideaOf[c.ID], Cycle: id, Pot: pot.Code,
			Title: domain.LocalizedText{Ka: "პროექტი " + c.ID, En: truncate(name, 500)}, Cost: c.Cost, Currency: currency,
			ProposerKind: budgeting.Resident, Channel: budgeting.Paper, On: proposing.Start}); err != nil {
			return rep, fmt.Errorf("project %s: %w", c.ID, err)
		}
		if _, err := svc.ReviewIdea(ctx, at(begin.AddDate(0, 0, -20)), budgeting.ReviewIdea{ID: ideaOf[c.ID], Feasible: true, Cost: c.Cost,
			Currency: currency}); err != nil {
			return rep, fmt.Errorf("project %s: %w", c.ID, err)
		}
	}
	var all []string
	for _, bp := range ballot {
		all = append(all, bp.Idea)
	}
	if _, err := svc.PublishBallot(ctx, at(begin.AddDate(0, 0, -2)), budgeting.PublishBallot{Cycle: id, Ideas: all}); err != nil {
		return rep, err
	}
	// The ballots, several at once: each is a stream of its own.
	var wg sync.WaitGroup
	var once sync.Once
	var castErr error
	var failed atomic.Bool
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := svc.CastBallot(ctx, at(begin), budgeting.CastBallot{Cycle: id, Voter: source + "#" + in.Votes.Get(i, "voter_id"),
					Pot: pot.Code, Projects: ballots[i], Points: e.Ballots[i].Points})
				if err != nil {
					once.Do(func() { castErr = fmt.Errorf("voter %s: %w", in.Votes.Get(i, "voter_id"), err) })
					failed.Store(true)
				}
			}
		}()
	}
	for i := range ballots {
		if failed.Load() {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if castErr != nil {
		return rep, castErr
	}
	if _, err := svc.DeclareResults(ctx, at(end.AddDate(0, 0, 1)), budgeting.DeclareResults{Cycle: id}); err != nil {
		return rep, err
	}
	var c budgeting.Cycle
	if _, err := svc.Repo.Load(ctx, budgeting.CycleStream(id), &c); err != nil {
		return rep, err
	}
	back := map[string]string{}
	for p, iid := range ideaOf {
		back[iid] = p
	}
	for _, w := range c.Results().Pots[0].Winners {
		rep.Winners = append(rep.Winners, back[w])
	}
	rep.Published = e.Selected
	return rep, nil
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// days reads the voting days, DD.MM.YYYY or a year alone (then the
// year's last month, as the library's early instances give no day).
func days(b, e string, year int) (time.Time, time.Time, error) {
	parse := func(s string, last bool) (time.Time, error) {
		if t, err := time.Parse("02.01.2006", s); err == nil {
			return t, nil
		}
		y := year
		if n, err := strconv.Atoi(s); err == nil && len(s) == 4 {
			y = n
		} else if s != "" {
			return time.Time{}, fmt.Errorf("%w: date %q is neither DD.MM.YYYY nor a year", ErrFormat, s)
		}
		if last {
			return time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC), nil
		}
		return time.Date(y, 12, 1, 0, 0, 0, 0, time.UTC), nil
	}
	begin, err := parse(b, false)
	if err != nil {
		return begin, begin, err
	}
	end, err := parse(e, true)
	if err != nil {
		return begin, end, err
	}
	if end.Before(begin) {
		return begin, end, fmt.Errorf("%w: date_end %s is before date_begin %s", ErrFormat, e, b)
	}
	return begin, end, nil
}

// slug makes a code of s: lower-case ASCII letters and digits, hyphens
// between words, accents dropped (Śródmieście is srodmiescie), at most n
// bytes.
func slug(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ł' || r == 'Ł':
			r = 'l'
		}
		r = unicode.ToLower(r)
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > n {
		// Cut between words when it can.
		cut := out[:n]
		if out[n] != '-' {
			if i := strings.LastIndexByte(cut, '-'); i > 0 {
				cut = cut[:i]
			}
		}
		out = strings.TrimRight(cut, "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}

func firstDigits(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
