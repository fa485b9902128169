package graph

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// TestUnavailableStore: an event store that does not answer (KurrentDB
// without quorum) reaches the client as UNAVAILABLE, retryable, not as
// INTERNAL, also when the domain wrapped the error on its way up; the
// store's own words (addresses) stay in the log.
func TestUnavailableStore(t *testing.T) {
	present := presentError(slog.New(slog.DiscardHandler))
	cause := fmt.Errorf("append to organisation-1: KurrentDB at node1:2113 is unavailable: %w", eventstore.ErrUnavailable)
	for _, err := range []error{cause, domain.Wrap(cause, "record the organisation")} {
		got := present(context.Background(), err)
		if got.Extensions["code"] != "UNAVAILABLE" || strings.Contains(got.Message, "node1") || !strings.Contains(got.Message, "try again") {
			t.Errorf("present(%v) = %q, code %v; want UNAVAILABLE saying to try again, without the store's address", err, got.Message, got.Extensions["code"])
		}
	}
	if got := present(context.Background(), domain.Wrap(fmt.Errorf("disk full"), "x")); got.Extensions["code"] != "INTERNAL" {
		t.Errorf("another failure = %v, want INTERNAL", got.Extensions["code"])
	}
}
