package certification_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
)

// cycleEvents are the certification events recorded on a cycle's stream,
// not on an application's: they have no line on an application's
// timeline.
var cycleEvents = map[string]bool{
	"certification.cycle_opened":           true,
	"certification.cycle_rules_changed":    true,
	"certification.municipality_nominated": true,
}

// TestEveryApplicationEventIsDescribed: every certification event type
// the catalog registers has its line on an application's timeline (or is
// one of the cycle's own), so an event added without its description
// fails here instead of showing its raw type string to users.
func TestEveryApplicationEventIsDescribed(t *testing.T) {
	n := 0
	for _, v := range catalog.Types.Visibility() {
		if !strings.HasPrefix(v.Type, "certification.") || cycleEvents[v.Type] {
			continue
		}
		n++
		e, err := catalog.Types.Decode(eventstore.Event{Type: v.Type, SchemaVersion: 1, Data: json.RawMessage(`{}`)})
		if err != nil {
			t.Errorf("%s: %v", v.Type, err)
			continue
		}
		if d := certification.Describe(e); d == v.Type || d == "" {
			t.Errorf("%s has no description on the timeline (certification.Describe gives %q)", v.Type, d)
		}
	}
	if n < 15 {
		t.Fatalf("only %d application event types found: the catalog was not read", n)
	}
}
