package eventstore

import (
	"context"
	"fmt"
)

// A run of one stream's events is split into appends of at most
// copyMaxEvents events and copyMaxBytes of data: KurrentDB refuses an
// append over 1 MiB by default (up to 25.0), metadata and types counted,
// and one append is one transaction wherever it goes.
const (
	copyMaxEvents = 500
	copyMaxBytes  = 512 << 10
)

// CopyReport is what Copy did.
type CopyReport struct {
	// Events is how many events were copied, Appends how many appends
	// carried them (a copy run again counts them again: the destination
	// took them as retries and wrote nothing).
	Events, Appends int64
}

// Copy moves a ledger from one store to another, keeping each event's ID,
// stream, version, type, schema version, data, metadata and occurred_at,
// and the order of the global log: events are appended in the source's
// log order, one append for each run of one stream's events, each
// expecting the stream's version before it (so a destination whose
// stream differs refuses, naming it). Recorded_at and positions are the
// destination's own. Appends are idempotent by event ID, so a copy cut
// short is resumed by running it again; progress, when not nil, is called
// after each append.
func Copy(ctx context.Context, from, to Store, progress func(CopyReport)) (CopyReport, error) {
	var rep CopyReport
	after := int64(0)
	for {
		events, err := from.ReadAll(ctx, after, 1000)
		if err != nil {
			return rep, fmt.Errorf("read the source after %d: %w", after, err)
		}
		if len(events) == 0 {
			return rep, nil
		}
		for i := 0; i < len(events); {
			j, size := i+1, len(events[i].Data)
			for j < len(events) && events[j].Stream == events[i].Stream && events[j].Version == events[j-1].Version+1 &&
				j-i < copyMaxEvents && size+len(events[j].Data) <= copyMaxBytes {
				size += len(events[j].Data)
				j++
			}
			run := events[i:j]
			expected := NoStream()
			if run[0].Version > 1 {
				expected = Exact(run[0].Version - 1)
			}
			data := make([]EventData, len(run))
			for k, e := range run {
				data[k] = EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion,
					Data: e.Data, Metadata: e.Metadata, OccurredAt: e.OccurredAt}
			}
			res, err := to.Append(ctx, run[0].Stream, expected, data...)
			if err != nil {
				return rep, fmt.Errorf("copy %s versions %d..%d (source position %d): %w",
					run[0].Stream, run[0].Version, run[len(run)-1].Version, run[0].Position, err)
			}
			if res.LastID != run[len(run)-1].ID || res.Version != run[len(run)-1].Version {
				return rep, fmt.Errorf("copy %s: the destination stored version %d (%s) where the source has %d (%s)",
					run[0].Stream, res.Version, res.LastID, run[len(run)-1].Version, run[len(run)-1].ID)
			}
			rep.Events += int64(len(run))
			rep.Appends++
			if progress != nil {
				progress(rep)
			}
			i = j
		}
		after = events[len(events)-1].Position
	}
}
