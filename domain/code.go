package domain

import "fmt"

// MaxCode bounds a code, in bytes.
const MaxCode = 64

// CheckCode checks a code (a region, a municipality, a criterion, a
// question): a lower-case slug, as the seed data's codes are, so it reads
// the same everywhere and can be the id part of a stream. example is a
// code of the kind, for the error message; field names the input.
func CheckCode(field, code, example string) error {
	if code == "" {
		return Errorf(Invalid, "%s: a code is required (lower-case letters, digits and hyphens, for example %s)", field, example)
	}
	if len(code) > MaxCode {
		return Errorf(Invalid, "%s: %q is %d characters, over the limit of %d", field, code, len(code), MaxCode)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return Errorf(Invalid, "%s: %s", field, fmt.Sprintf("%q is not a code: use lower-case letters, digits and hyphens only (for example %s)", code, example))
		}
	}
	return nil
}
