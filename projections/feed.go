package projections

import (
	"context"
	"fmt"

	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
)

// open opens the personal fields of a run of events from the feed
// (domain.Types.Unseal), so that the projections get them open; the feed
// does it ahead of the leader (follow.Options.Open).
func (r *Runner) open(ctx context.Context, run []eventstore.Event) error {
	if _, err := catalog.Types.Unseal(ctx, r.opts.Keys, run); err != nil {
		return fmt.Errorf("open personal data: %w", err)
	}
	return nil
}
