package certification

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
)

// Limits on free text, in characters.
const (
	maxActorID    = 200  // key:<name>#<key ID>
	maxPersonName = 200  // a person's name
	maxText       = 500  // a name, a reason, a question
	maxLongText   = 5000 // an answer, a rationale, a justification
	maxAnswers    = 200  // questions in one questionnaire
	maxList       = 50   // recommendations, missing items
)

// DateLayout is the form of every date in certification events: a
// calendar day in Tbilisi, without time or zone.
const DateLayout = domain.DateLayout

// invalid returns an Invalid error naming the field.
var invalid = domain.InvalidField

// conflict returns a Conflict error: the command does not fit the state.
func conflict(format string, args ...any) error {
	return domain.Errorf(domain.Conflict, format, args...)
}

// checkCode checks a code: a municipality, a criterion, a question.
func checkCode(field, code string) error { return domain.CheckCode(field, code, "batumi") }

// checkText trims s and checks it is given (when required) and at most
// limit characters.
func checkText(field, s string, required bool, limit int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", invalid(field, "required")
	case utf8.RuneCountInString(s) > limit:
		return "", invalid(field, "over %d characters", limit)
	}
	return s, nil
}

// addMonths returns the last day of a validity of months starting on
// date: the day before the same day months later (from 2019-06-15 for 12
// months: until 2020-06-14), or, when that month has no such day, its last
// day (from 2020-02-29 for 12 months: until 2021-02-28).
func addMonths(date string, months int) string {
	d, err := time.Parse(DateLayout, date)
	if err != nil {
		return ""
	}
	first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, months, 0)
	if last := first.AddDate(0, 1, -1); d.Day() > last.Day() {
		return last.Format(DateLayout)
	}
	return first.AddDate(0, 0, d.Day()-2).Format(DateLayout)
}
