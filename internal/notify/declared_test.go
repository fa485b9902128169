package notify

import (
	"maps"
	"slices"
	"testing"

	"github.com/civicledger/civicledger/domain/catalog"
)

// TestEveryNotificationIsComposed holds the composers to the catalog: every
// event type declared to notify has a composer writing that kind, and
// nothing is composed for a type that does not declare it. Forgetting
// either side fails here rather than sending nothing, or sending what the
// visibility declarations do not show.
func TestEveryNotificationIsComposed(t *testing.T) {
	declared := catalog.Types.Notifications()
	if len(declared) == 0 {
		t.Fatal("the catalog declares no notifying event")
	}
	for _, typ := range slices.Sorted(maps.Keys(declared)) {
		c, ok := composers[typ]
		switch {
		case !ok:
			t.Errorf("%s is declared to notify %q, and notify has no composer for it", typ, declared[typ])
		case string(c.kind) != declared[typ]:
			t.Errorf("%s is declared to notify %q, and its composer writes %q", typ, declared[typ], c.kind)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(composers)) {
		if _, ok := declared[typ]; !ok {
			t.Errorf("notify composes %q for %s, which does not declare it (Notifies in its visibility.go)", composers[typ].kind, typ)
		}
	}
}
