package certification

import (
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/eventstore"
)

// Request is an information request as the application's events tell it.
type Request struct {
	ID, Expert, Question string
	RequestedAt          time.Time
	// Answer is "" and AnsweredAt nil while the request is open.
	Answer     string
	AnsweredAt *time.Time
}

// Assignment is an expert's assignment as the application's events tell
// it. Event indexes History.Events, so a reader can tell whether the name
// was erased from that event.
type Assignment struct {
	Expert, Name string
	Event        int
}

// History is an application rebuilt from its events up to a moment: what
// the read model would have said of it then, computed from the log alone,
// so that an auditor's as-of question is answered by the same rules that
// decided it rather than by a second reading of the events in graph.
type History struct {
	Snapshot Snapshot
	// Events are the stored events applied, in order, and Decoded the
	// same decoded; both are empty when the application had not begun by
	// the moment.
	Events  []eventstore.Event
	Decoded []domain.Event
	// Requests are the information requests in the order they were made,
	// each with its answer if it had one by the moment.
	Requests    []Request
	Assignments []Assignment
	// Last is the highest log position applied.
	Last int64
}

// ApplicationAt rebuilds an application from its stored events (opened:
// their personal fields as a reader may see them) up to moment m.
func ApplicationAt(types *domain.Types, stored []eventstore.Event, m domain.Moment) (History, error) {
	var h History
	var a Application
	byID := map[string]int{}
	for _, se := range stored {
		if m.Excludes(se) {
			break
		}
		e, err := types.Decode(se)
		if err != nil {
			return History{}, domain.Wrap(err, "decode")
		}
		if err := a.Apply(e); err != nil {
			return History{}, domain.Wrap(err, "replay")
		}
		switch e := e.(type) {
		case InformationRequested:
			byID[e.RequestID] = len(h.Requests)
			h.Requests = append(h.Requests, Request{ID: e.RequestID, Expert: e.Expert, Question: e.Question, RequestedAt: se.OccurredAt})
		case InformationProvided:
			if i, ok := byID[e.RequestID]; ok {
				at := se.OccurredAt
				h.Requests[i].Answer, h.Requests[i].AnsweredAt = e.Answer, &at
			}
		case ExpertAssigned:
			h.Assignments = append(h.Assignments, Assignment{Expert: e.Expert, Name: e.Name, Event: len(h.Events)})
		}
		h.Events, h.Decoded = append(h.Events, se), append(h.Decoded, e)
		h.Last = max(h.Last, se.Position)
	}
	if len(h.Events) > 0 {
		h.Snapshot = a.Snapshot()
		h.Snapshot.Version = h.Events[len(h.Events)-1].Version
	}
	return h, nil
}

// RulesAt returns the rules a cycle had in force at moment m, from the
// cycle's stored events, and false when the cycle had not begun by then.
func RulesAt(types *domain.Types, stored []eventstore.Event, m domain.Moment) (Rules, bool, error) {
	var c Cycle
	for _, se := range stored {
		if m.Excludes(se) {
			break
		}
		e, err := types.Decode(se)
		if err != nil {
			return Rules{}, false, domain.Wrap(err, "decode")
		}
		if err := c.Apply(e); err != nil {
			return Rules{}, false, domain.Wrap(err, "replay the cycle")
		}
	}
	if c.Year() == 0 {
		return Rules{}, false, nil
	}
	return c.Rules(), true, nil
}
