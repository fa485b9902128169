package projections

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reads runs the read-model queries. They read the views in schema rm,
// which always show the active generation of each projection, so a
// rebuild never interrupts them.
type Reads struct {
	DB *pgxpool.Pool
}

// IsStatementTimeout reports whether a read was stopped by the database's
// statement timeout (SQLSTATE 57014, which the read connections'
// statement_timeout raises), so the API can say so without knowing the
// driver.
func IsStatementTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014"
}

// MaxPage is the most rows a page of a list may ask for: a bound on what
// one query can make the database do.
const MaxPage = 100

// Page asks for a page of a list ordered by a keyset.
type Page struct {
	// First is how many rows to return, 1 to MaxPage.
	First int
	// After is the cursor of the row to start after; "" starts at the top.
	After string
}

// cursor is a keyset position: the ordering timestamp and the ID that
// breaks ties. Cursors are opaque to clients.
type cursor struct {
	at time.Time
	id string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixMicro(), 10) + ":" + c.id))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, domain.Errorf(domain.Invalid, "after: cursor %q is not one this API returned", s)
	}
	micros, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, domain.Errorf(domain.Invalid, "after: cursor %q is not one this API returned", s)
	}
	return cursor{at: time.UnixMicro(n).UTC(), id: id}, nil
}
