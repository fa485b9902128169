package certification_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
	"github.com/civicledger/civicledger/eventstore"
)

// stored turns events into a stream as the store returns it: from log
// position first, versions from 1, each occurring a day after the last,
// from 2019-03-01, and recorded an hour after it occurred.
func stored(t *testing.T, first int64, events ...domain.Event) []eventstore.Event {
	t.Helper()
	day := time.Date(2019, 3, 1, 10, 0, 0, 0, time.UTC)
	out := make([]eventstore.Event, len(events))
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		at := day.AddDate(0, 0, i)
		out[i] = eventstore.Event{Type: e.EventType(), Data: data, Position: first + int64(i), Version: int64(i + 1),
			OccurredAt: at, RecordedAt: at.Add(time.Hour)}
	}
	return out
}

// TestApplicationAt: an application rebuilt up to a moment holds only what
// had happened by it: its state, its information requests in the order
// asked with the answers given by then, and its assignments.
func TestApplicationAt(t *testing.T) {
	asked1 := certification.InformationRequested{ID: appID, RequestID: "1", Expert: expertA, Question: "Which villages?"}
	asked2 := certification.InformationRequested{ID: appID, RequestID: "2", Expert: expertB, Question: "Minutes?"}
	answered1 := certification.InformationProvided{ID: appID, RequestID: "1", Answer: "All 12."}
	app := stored(t, 10, history(underReview[len(base):], []domain.Event{asked1, asked2, answered1})...)
	// underReview adds drafted, answered, submitted, confirmed, complete,
	// assignedA, assignedB, freeA, freeB: positions 10..18; the requests
	// are at 19 and 20, the answer at 21.
	at := func(m domain.Moment) certification.History {
		t.Helper()
		h, err := certification.ApplicationAt(catalog.Types, app, m)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	now := at(domain.Moment{})
	if len(now.Events) != len(app) || now.Last != 21 || now.Snapshot.Version != int64(len(app)) {
		t.Fatalf("now: %d events, last %d, version %d", len(now.Events), now.Last, now.Snapshot.Version)
	}
	if len(now.Requests) != 2 || now.Requests[0].ID != "1" || now.Requests[1].ID != "2" {
		t.Fatalf("requests %+v, want 1 then 2", now.Requests)
	}
	if r := now.Requests[0]; r.Answer != "All 12." || r.AnsweredAt == nil || !r.AnsweredAt.Equal(app[11].OccurredAt) {
		t.Errorf("request 1 = %+v, want answered when the answer occurred", r)
	}
	if r := now.Requests[1]; r.AnsweredAt != nil || r.Expert != expertB || !r.RequestedAt.Equal(app[10].OccurredAt) {
		t.Errorf("request 2 = %+v, want open, by expert B", r)
	}
	if len(now.Assignments) != 2 || now.Assignments[0].Expert != expertA || now.Assignments[0].Event != 5 ||
		now.Assignments[1].Event != 6 {
		t.Errorf("assignments %+v, want A at event 5, B at 6", now.Assignments)
	}

	byPos := at(domain.Moment{Position: 20})
	if byPos.Last != 20 || len(byPos.Requests) != 2 || byPos.Requests[0].AnsweredAt != nil {
		t.Errorf("at position 20: last %d, requests %+v; want both asked, none answered", byPos.Last, byPos.Requests)
	}
	if byPos.Snapshot.Version != 11 {
		t.Errorf("at position 20: version %d, want 11", byPos.Snapshot.Version)
	}

	// Recorded an hour after it occurred: at the moment it occurred the
	// ledger did not know the answer yet, though it had happened.
	answer := app[11].OccurredAt
	if h := at(domain.Moment{RecordedAt: &answer}); h.Requests[0].AnsweredAt != nil || h.Last != 20 {
		t.Errorf("recorded by %s: last %d, answered %v; want the answer unknown", answer, h.Last, h.Requests[0].AnsweredAt)
	}
	if h := at(domain.Moment{OccurredAt: &answer}); h.Requests[0].AnsweredAt == nil || h.Last != 21 {
		t.Errorf("occurred by %s: last %d; want the answer in", answer, h.Last)
	}

	if h := at(domain.Moment{Position: 9}); len(h.Events) != 0 || h.Snapshot.ID != "" {
		t.Errorf("before the application: %d events, snapshot %q; want none", len(h.Events), h.Snapshot.ID)
	}
	// An event not yet positioned comes after every position.
	unpositioned := append([]eventstore.Event(nil), app...)
	unpositioned[len(unpositioned)-1].Position = 0
	if h, _ := certification.ApplicationAt(catalog.Types, unpositioned, domain.Moment{Position: 1000}); h.Last != 20 {
		t.Errorf("with the last event unpositioned, at position 1000: last %d, want 20", h.Last)
	}
}

// TestRulesAt: the rules in force at a moment are the cycle's latest by
// then, and a cycle not yet opened has none.
func TestRulesAt(t *testing.T) {
	rules2 := rules2019
	rules2.Version = 2
	cycle := stored(t, 3, opened2019, certification.CycleRulesChanged{Year: 2019, Rules: rules2, Reason: "weights agreed"})
	for _, tc := range []struct {
		at      int64
		version int
		begun   bool
	}{{2, 0, false}, {3, 1, true}, {4, 2, true}, {0, 2, true}} {
		r, begun, err := certification.RulesAt(catalog.Types, cycle, domain.Moment{Position: tc.at})
		if err != nil {
			t.Fatal(err)
		}
		if begun != tc.begun || r.Version != tc.version {
			t.Errorf("at %d: version %d, begun %v; want %d, %v", tc.at, r.Version, begun, tc.version, tc.begun)
		}
	}
}
