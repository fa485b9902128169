package certification

import (
	"fmt"
	"strconv"

	"github.com/civicledger/civicledger/domain"
)

// CycleStream is the stream of the cycle of year.
func CycleStream(year int) string { return "cycle-" + strconv.Itoa(year) }

// Cycle is one year's certification: its calendar, its rules in every
// version, and the nominations made in it. Its zero value is a cycle not
// opened yet.
type Cycle struct {
	year        int
	title       domain.LocalizedText
	schedule    Schedule
	rules       []Rules // every version, in order
	nominations map[string]bool
}

// Year returns the cycle's year, 0 when it is not opened.
func (c *Cycle) Year() int { return c.year }

// Schedule returns the cycle's calendar.
func (c *Cycle) Schedule() Schedule { return c.schedule }

// Rules returns the rules in force.
func (c *Cycle) Rules() Rules {
	if len(c.rules) == 0 {
		return Rules{}
	}
	return c.rules[len(c.rules)-1]
}

// RulesVersion returns version v of the rules, and whether there is one.
func (c *Cycle) RulesVersion(v int) (Rules, bool) {
	if v < 1 || v > len(c.rules) {
		return Rules{}, false
	}
	return c.rules[v-1], true
}

// Nominated reports whether municipality was nominated in the cycle.
func (c *Cycle) Nominated(municipality string) bool { return c.nominations[municipality] }

// Apply implements domain.Aggregate.
func (c *Cycle) Apply(e domain.Event) error {
	if _, ok := e.(CycleOpened); !ok && c.year == 0 {
		return fmt.Errorf("cycle: %s before it opened", e.EventType())
	}
	switch e := e.(type) {
	case CycleOpened:
		if c.year != 0 {
			return fmt.Errorf("cycle %d: opened twice", c.year)
		}
		*c = Cycle{year: e.Year, title: e.Title, schedule: e.Schedule, rules: []Rules{e.Rules}, nominations: map[string]bool{}}
	case CycleRulesChanged:
		if e.Rules.Version != len(c.rules)+1 {
			return fmt.Errorf("cycle %d: rules version %d follows %d", c.year, e.Rules.Version, len(c.rules))
		}
		c.rules = append(c.rules, e.Rules)
	case MunicipalityNominated:
		c.nominations[e.Municipality] = true
	default:
		return fmt.Errorf("cycle %d: unknown event %s", c.year, e.EventType())
	}
	return nil
}

// open decides the opening of a cycle.
func (c *Cycle) open(e CycleOpened) ([]domain.Event, error) {
	if c.year != 0 {
		return nil, conflict("the %d cycle is open already", c.year)
	}
	return []domain.Event{e}, nil
}

// changeRules decides a change of the rules: a new version, which later
// decisions use.
func (c *Cycle) changeRules(rules Rules, reason string) ([]domain.Event, error) {
	if c.year == 0 {
		return nil, domain.Errorf(domain.NotFound, "no cycle is open for that year")
	}
	rules.Version = len(c.rules) + 1
	return []domain.Event{CycleRulesChanged{Year: c.year, Rules: rules, Reason: reason}}, nil
}

// nominate decides a nomination, made on day today: only while
// applications are taken, and once per municipality.
func (c *Cycle) nominate(todayDate, municipality, reason, by string) ([]domain.Event, error) {
	if c.year == 0 {
		return nil, domain.Errorf(domain.NotFound, "no cycle is open for that year")
	}
	if err := c.inCall(todayDate, "nominate a municipality"); err != nil {
		return nil, err
	}
	if c.nominations[municipality] {
		return nil, nil // nominated already: nothing changes
	}
	return []domain.Event{MunicipalityNominated{Year: c.year, Municipality: municipality, Reason: reason, By: by}}, nil
}

// inCall checks that day lies in the call window, from the call's opening
// to the application deadline, both included.
func (c *Cycle) inCall(day, action string) error {
	s := c.schedule
	switch {
	case day < s.CallOpens:
		return conflict("cannot %s: the %d call opens on %s", action, c.year, s.CallOpens)
	case day > s.ApplicationDeadline:
		return conflict("cannot %s: the %d application deadline was %s", action, c.year, s.ApplicationDeadline)
	}
	return nil
}

// validate checks a schedule: every date given, in the order of the
// workflow, the call opening in the cycle's year.
func (s Schedule) validate(year int) error {
	dates := []struct{ field, value string }{
		{"schedule.callOpens", s.CallOpens},
		{"schedule.applicationDeadline", s.ApplicationDeadline},
		{"schedule.questionnaireDeadline", s.QuestionnaireDeadline},
		{"schedule.resultsDate", s.ResultsDate},
		{"schedule.ceremonyDate", s.CeremonyDate},
	}
	for i, d := range dates {
		if err := domain.CheckDate(d.field, d.value); err != nil {
			return err
		}
		if i > 0 && d.value < dates[i-1].value {
			return invalid(d.field, "%s is before %s (%s)", d.value, dates[i-1].field, dates[i-1].value)
		}
	}
	if s.CallOpens[:4] != strconv.Itoa(year) {
		return invalid("schedule.callOpens", "%s is not in %d, the cycle's year", s.CallOpens, year)
	}
	return nil
}
