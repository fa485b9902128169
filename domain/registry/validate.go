package registry

import (
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// Limits on free text, in characters. They keep one record readable in a
// table and far below the store's 1 MiB per event.
const (
	maxCapital   = 200
	maxLegalForm = 200
	maxEmail     = 254 // RFC 5321's limit on a forward path
	maxPhone     = 40  // 20 digits and their separators
	maxAddress   = 500
	maxPerson    = 200
	maxWebsite   = 2048
	maxReason    = 500
)

// DateLayout is the form of every date in the registry's events: a calendar
// day, without time or zone.
const DateLayout = "2006-01-02"

// earliestDate bounds dates from below: anything earlier is a typing error,
// not a founding date.
const earliestDate = "1800-01-01"

// invalid returns an Invalid error whose message starts with the field, so a
// caller can tell which input to fix.
var invalid = domain.InvalidField

// checkCode checks a region or municipality code.
func checkCode(field, code string) error { return domain.CheckCode(field, code, "kvemo-kartli") }

// checkOptionalCode is checkCode for a reference that may be left out.
func checkOptionalCode(field, code string) error {
	if code == "" {
		return nil
	}
	return checkCode(field, code)
}

// checkID returns an organisation ID in canonical form, so that the same ID
// in upper case finds the same stream.
func checkID(id string) (string, error) {
	if id == "" {
		return "", invalid("id", "the organisation ID is required")
	}
	parsed, err := eventstore.ParseID(id)
	if err != nil {
		return "", invalid("id", "%q is not an organisation ID (want a UUID, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", id)
	}
	return parsed.String(), nil
}

// checkName normalises and validates a localized name.
func checkName(name domain.LocalizedText) (domain.LocalizedText, error) {
	name = name.Normalize()
	if err := name.Validate("name"); err != nil {
		return domain.LocalizedText{}, err
	}
	return name, nil
}

// checkText trims s and checks its length.
func checkText(field, s string, limit int) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > limit {
		return "", invalid(field, "%d characters, over the limit of %d", n, limit)
	}
	return s, nil
}

// checkContact normalises and validates contact details, adding what is
// wrong with each to p. The checks are for plausibility only (typing
// errors, a phone number in the e-mail field): whether an address works is
// only known by writing to it.
func checkContact(c Contact, p *domain.Problems) Contact {
	var err error
	if c.Email, err = checkText("contact.email", c.Email, maxEmail); p.Add(err) {
		p.Add(checkEmail(c.Email))
	}
	if c.Phone, err = checkText("contact.phone", c.Phone, maxPhone); p.Add(err) {
		p.Add(checkPhone(c.Phone))
	}
	c.Address, err = checkText("contact.address", c.Address, maxAddress)
	p.Add(err)
	c.Person, err = checkText("contact.person", c.Person, maxPerson)
	p.Add(err)
	return c
}

func checkEmail(s string) error {
	if s == "" {
		return nil
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return invalid("contact.email", "%q contains a space", s)
	}
	local, host, ok := strings.Cut(s, "@")
	if !ok || local == "" || host == "" || strings.Contains(host, "@") {
		return invalid("contact.email", "%q is not an e-mail address: want one @ between a name and a domain, as in info@example.ge", s)
	}
	if dot := strings.LastIndexByte(host, '.'); dot <= 0 || dot == len(host)-1 || strings.HasPrefix(host, ".") {
		return invalid("contact.email", "%q is not an e-mail address: the domain after @ needs a dot, as in info@example.ge", s)
	}
	return nil
}

func checkPhone(s string) error {
	if s == "" {
		return nil
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return invalid("contact.phone", "%q: only digits, a leading +, spaces, dashes and parentheses are allowed", s)
		}
	}
	if digits < 6 || digits > 20 {
		return invalid("contact.phone", "%q has %d digits; want 6 to 20, as in +995 32 2 00 00 00", s, digits)
	}
	return nil
}

// checkWebsite trims and validates a website address.
func checkWebsite(s string) (string, error) {
	s, err := checkText("website", s, maxWebsite)
	if err != nil || s == "" {
		return s, err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", invalid("website", "%q is not a web address: want an absolute http or https URL, as in https://example.ge", s)
	}
	return s, nil
}

// checkDate trims and validates a date. It may not lie after now's
// calendar day in now's location: the caller picks the zone by the location
// of meta.Now (Georgia's, for a user in Georgia), since the domain never
// reads the clock or the machine's zone.
func checkDate(field, s string, now time.Time, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", invalid(field, "a date is required (YYYY-MM-DD)")
		}
		return "", nil
	}
	if _, err := time.Parse(DateLayout, s); err != nil {
		return "", invalid(field, "%q is not a date: want YYYY-MM-DD, as in 2021-03-15", s)
	}
	if s < earliestDate {
		return "", invalid(field, "%s is before %s", s, earliestDate)
	}
	if now.IsZero() {
		// A programming error, not the caller's: every command carries its time.
		return "", domain.Wrap(errors.New("meta.Now is zero"), "check "+field)
	}
	if today := now.Format(DateLayout); s > today {
		return "", invalid(field, "%s is in the future (today is %s)", s, today)
	}
	return s, nil
}
