package projections

import (
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/eventstore"
)

// TestEveryEventTypeIsHandled runs an event of every type in the catalog
// through every read model's Apply: a read model that takes an area's
// events must handle each of them (a new event type it forgot fails here,
// not on the first such event in production), and every type must be
// taken by some read model or be listed here as one none shows.
func TestEveryEventTypeIsHandled(t *testing.T) {
	// Event types no read model shows, with why.
	unshown := map[string]string{}
	// Data for types whose zero value a read model rightly ignores.
	samples := map[string]string{"privacy.subject_erased": `{"subject":"organisation:o1:contact","through":1}`}
	for _, v := range catalog.Types.Visibility() {
		data := `{}`
		if s, ok := samples[v.Type]; ok {
			data = s
		}
		e := eventstore.Event{Type: v.Type, Data: []byte(data), Position: 1, Version: 1}
		queued := 0
		for _, p := range All() {
			b := newBatch([]eventstore.Event{e})
			if err := p.Apply(b, []eventstore.Event{e}); err != nil && strings.Contains(err.Error(), "no handling") {
				t.Errorf("%s: %v", p.Name(), err)
			}
			queued += b.Len()
		}
		if queued == 0 && unshown[v.Type] == "" {
			t.Errorf("%s: no read model queues anything for it", v.Type)
		}
	}
}
