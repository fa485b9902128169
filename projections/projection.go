// Package projections builds the read models: PostgreSQL tables derived
// from the event log, which queries read and nothing else writes.
//
// A Runner feeds each Projection the log in order, in batches, and commits
// a batch's table changes together with the projection's checkpoint, so no
// event is lost or applied twice, even after kill -9. A projection's tables
// live in a schema of their own per generation (proj_<name>_<generation>);
// readers see them through views of the same names in schema rm, which
// point at the active generation. A rebuild (a new version of the code, or
// `civic rebuild`) fills a new generation from position 0 while the old one
// keeps serving, then re-points the views in one transaction.
//
// One file per read model holds its Projection and its queries.
package projections

import (
	"context"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/jackc/pgx/v5"
)

// Projection builds one read model from the log.
type Projection interface {
	// Name is the projection's stable name: "organisations".
	Name() string
	// Version changes whenever the tables or the handling change. The
	// runner then builds the new version beside the old one and switches
	// readers over once it has caught up.
	Version() int
	// Tables lists the tables the projection owns. Each is shown to
	// readers as the view rm.<table>.
	Tables() []string
	// Setup creates the tables in a new, empty generation. It runs with
	// the generation's schema first on the search path, so it names tables
	// unqualified.
	Setup(ctx context.Context, tx pgx.Tx) error
	// Apply queues into b the statements that apply events (a run of the
	// log, in order; it holds every event type, not only those the
	// projection reads). They run in the batch's transaction, with the
	// generation's schema first on the search path, after the statements
	// of earlier batches. Apply does no I/O itself: see Batch.
	//
	// Applying must be idempotent, whatever the batches: applying a run
	// of events that starts at or before the first event the tables do
	// not reflect (a batch again, or a run overlapping one applied before)
	// leaves the tables as applying only the new events would. And it must return
	// an error, or queue a statement that fails, rather than skip an event
	// it cannot apply: the runner stops the projection there and retries.
	Apply(b *Batch, events []eventstore.Event) error
}
