package budgeting

import "github.com/civicledger/civicledger/domain"

// invalid is an Invalid error naming field.
func invalid(field, format string, args ...any) error {
	return domain.InvalidField(field, format, args...)
}
