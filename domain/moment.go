package domain

import (
	"time"

	"github.com/civicledger/civicledger/eventstore"
)

// Moment names a point in a stream's history for a reader who asks what
// was known, or what had happened, then: by log position, by when the
// ledger recorded events, or by when they occurred (business time). At
// most one is set; the zero Moment is now, every event.
type Moment struct {
	Position   int64
	RecordedAt *time.Time
	OccurredAt *time.Time
}

// Excludes reports whether e lies after m. An event not yet positioned
// lies after every position, as a reader at that position could not have
// seen it.
func (m Moment) Excludes(e eventstore.Event) bool {
	switch {
	case m.Position > 0:
		return e.Position == 0 || e.Position > m.Position
	case m.RecordedAt != nil:
		return e.RecordedAt.After(*m.RecordedAt)
	case m.OccurredAt != nil:
		return e.OccurredAt.After(*m.OccurredAt)
	}
	return false
}
