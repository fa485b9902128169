// Package scalar holds the GraphQL custom scalars: how Position, Date,
// DateTime and JSON values cross the wire. A value that does not parse is an Invalid
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
		return "", domain.Errorf(domain.Invalid, "Date %q: want a real date, YYYY-MM-DD", truncate(s, 64))
	}
	return s, nil
}

// DateTime is an instant, RFC 3339 with a time zone. MarshalDateTime and
// UnmarshalDateTime are its GraphQL forms: gqlgen's own would report a
// malformed one as an internal error.
type DateTime = time.Time

// MarshalDateTime writes an instant as gqlgen does (RFC 3339, to the
// nanosecond where it has them).
func MarshalDateTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalDateTime reads an instant, refusing anything but RFC 3339 with
// a time zone.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, domain.Errorf(domain.Invalid, "DateTime: want a string such as 2019-04-01T00:00:00Z, not %v", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.Invalid, "DateTime %q: want RFC 3339 with a time zone, such as 2019-04-01T00:00:00Z", truncate(s, 64))
	}
	return t, nil
}

// truncate shortens what a client sent for quoting in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
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
