package domain

import (
	"fmt"
	"time"
)

// DateLayout is the form of every calendar day the events record: a day in
// Tbilisi, without time or zone.
const DateLayout = "2006-01-02"

// Today is the day of the command's time in Tbilisi, which date rules
// ("not in the future", "within the call") compare against.
func (m Meta) Today() string { return DayOf(m.Now) }

// DayOf is the day t falls on in Tbilisi, YYYY-MM-DD: the calendar every
// date of the ledger is in, whatever the server's zone.
func DayOf(t time.Time) string { return t.In(Tbilisi).Format(DateLayout) }

// InvalidField returns an Invalid error whose message starts with the
// field, so a caller can tell which input to fix.
func InvalidField(field, format string, args ...any) error {
	return Errorf(Invalid, "%s: %s", field, fmt.Sprintf(format, args...))
}

// CheckDate checks a YYYY-MM-DD day.
func CheckDate(field, s string) error {
	if _, err := time.Parse(DateLayout, s); err != nil {
		return InvalidField(field, "%q is not a date (YYYY-MM-DD)", s)
	}
	return nil
}

// CheckPeriod checks two days and that the second does not come before
// the first; the fields name them in errors.
func CheckPeriod(startField, start, endField, end string) error {
	if err := CheckDate(startField, start); err != nil {
		return err
	}
	if err := CheckDate(endField, end); err != nil {
		return err
	}
	if end < start {
		return InvalidField(endField, "%s is before the start, %s", end, start)
	}
	return nil
}
