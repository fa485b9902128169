// Package scalar holds the GraphQL custom scalars: how Position, Date and
// JSON values cross the wire. A value that does not parse is an Invalid
// domain error, so the client gets BAD_USER_INPUT with the reason.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/civicledger/civicledger/domain"
)

// Position is a global log position. It is written as a JSON number: it is
// an integer below 2^53 for any log this system will hold, so every client
// reads it exactly.
type Position int64

// MarshalGQL implements graphql.Marshaler.
func (p Position) MarshalGQL(w io.Writer) { io.WriteString(w, strconv.FormatInt(int64(p), 10)) }

// UnmarshalGQL implements graphql.Unmarshaler; it takes a number or a
// numeric string.
func (p *Position) UnmarshalGQL(v any) error {
	var n int64
	var err error
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case json.Number:
		n, err = v.Int64()
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	case float64:
		if v != float64(int64(v)) {
			err = fmt.Errorf("not an integer")
		}
		n = int64(v)
	default:
		err = fmt.Errorf("a %T", v)
	}
	if err != nil || n < 0 {
		return domain.Errorf(domain.Invalid, "Position: want a non-negative integer, not %v", v)
	}
	*p = Position(n)
	return nil
}

// Date is a calendar date, YYYY-MM-DD, kept as a string as the read
// models keep it. MarshalDate and UnmarshalDate are its GraphQL forms.
type Date = string

// MarshalDate writes a date; an empty one (unknown) is null.
func MarshalDate(d string) graphql.Marshaler {
	if d == "" {
		return graphql.Null
	}
	return graphql.MarshalString(d)
}

// UnmarshalDate reads a date, refusing anything but a real YYYY-MM-DD day.
func UnmarshalDate(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", domain.Errorf(domain.Invalid, "Date: want a string YYYY-MM-DD, not %v", v)
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", domain.Errorf(domain.Invalid, "Date %q: want a real date, YYYY-MM-DD", s)
	}
	return s, nil
}

// JSON is raw JSON passed through as is: an event's data.
type JSON json.RawMessage

// MarshalGQL implements graphql.Marshaler.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		io.WriteString(w, "null")
		return
	}
	w.Write(j)
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return domain.Errorf(domain.Invalid, "JSON: %v", err)
	}
	*j = b
	return nil
}
