package activity

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the activity events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[Scheduled](types)
	domain.Register[Rescheduled](types)
	domain.Register[Cancelled](types)
	domain.Register[Held](types)
	domain.Register[AttendanceCorrected](types)
	domain.Register[NoteAdded](types)
	declareEvents(types)
}

// Scheduled: an activity was planned.
type Scheduled struct {
	ID    string               `json:"id"`
	Type  Type                 `json:"type"`
	Title domain.LocalizedText `json:"title"`
	// Topic is a training's subject (effective communication, strategic
	// planning, ...); Channel a consultation's (phone, online, in_person).
	Topic      string   `json:"topic,omitempty"`
	Channel    string   `json:"channel,omitempty"`
	Organisers []string `json:"organisers"`
	Project    string   `json:"project,omitempty"`
	// Cycle is the participatory budget cycle it serves, or "".
	Cycle string `json:"cycle,omitempty"`
	// Indicators are the project's indicators the attendance counts
	// towards.
	Indicators   []IndicatorLink `json:"indicators,omitempty"`
	Municipality string          `json:"municipality"`
	// Region is the municipality's, recorded so that who may record the
	// activity is decided on its own events.
	Region string `json:"region"`
	Place  string `json:"place,omitempty"`
	Start  string `json:"start"`
	End    string `json:"end"`
}

// EventType implements domain.Event.
func (Scheduled) EventType() string { return "activity.scheduled" }

// Rescheduled: an activity's dates changed.
type Rescheduled struct {
	ID     string `json:"id"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Reason string `json:"reason,omitempty"`
}

// EventType implements domain.Event.
func (Rescheduled) EventType() string { return "activity.rescheduled" }

// Cancelled: an activity will not take place.
type Cancelled struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (Cancelled) EventType() string { return "activity.cancelled" }

// Held: an activity took place, with its attendance.
type Held struct {
	ID         string     `json:"id"`
	Attendance Attendance `json:"attendance"`
}

// EventType implements domain.Event.
func (Held) EventType() string { return "activity.held" }

// AttendanceCorrected: a held activity's attendance was corrected.
type AttendanceCorrected struct {
	ID         string     `json:"id"`
	Attendance Attendance `json:"attendance"`
	Reason     string     `json:"reason"`
}

// EventType implements domain.Event.
func (AttendanceCorrected) EventType() string { return "activity.attendance_corrected" }

// NoteAdded: the organisers noted something about an activity that the
// calendar and the attendance do not say (a follow-up promised, a venue
// that did not suit), at any point of its life.
type NoteAdded struct {
	ID   string `json:"id"`
	Note string `json:"note"`
}

// EventType implements domain.Event.
func (NoteAdded) EventType() string { return "activity.note_added" }
