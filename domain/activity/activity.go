// Package activity records what civil-society programmes do on the ground:
// trainings, consultations, meetings, forums, internships and the rest,
// each scheduled, perhaps rescheduled, then held or cancelled; and who came
// to one that was held, counted by sex, age band, sector and
// ethnic-minority membership. Attendance is corrected by an event, never
// overwritten.
package activity

import (
	"fmt"

	"github.com/civicledger/civicledger/domain"
)

// Stream is the stream of the activity with ID id.
func Stream(id string) string { return "activity-" + id }

// DateLayout is the form of every date in activity events.
const DateLayout = domain.DateLayout

// Type is what kind of activity it is, as the programmes' documents name
// them.
type Type string

// The activity types.
const (
	Training          Type = "training"
	Consultation      Type = "consultation"
	MultiStakeholder  Type = "multi_stakeholder_meeting"
	CoordinationMeet  Type = "coordination_meeting"
	Forum             Type = "forum"
	RoundTable        Type = "round_table"
	CSOFair           Type = "cso_fair"
	Competition       Type = "competition"
	Internship        Type = "internship"
	Mentoring         Type = "mentoring"
	AwarenessCampaign Type = "awareness_campaign"
)

// Types lists the activity types.
var Types = []Type{Training, Consultation, MultiStakeholder, CoordinationMeet, Forum, RoundTable, CSOFair,
	Competition, Internship, Mentoring, AwarenessCampaign}

// Channels are how a consultation is given.
var Channels = []string{"phone", "online", "in_person"}

// Status is where an activity stands.
type Status string

// The statuses.
const (
	StatusScheduled Status = "scheduled"
	StatusHeld      Status = "held"
	StatusCancelled Status = "cancelled"
)

// Activity is one activity. Its zero value is an activity not scheduled.
//
// Its verb methods (Schedule, Reschedule, Cancel, Hold, CorrectAttendance)
// decide on the activity's own state alone: Service checks the actor and
// the input first, and saves what they decide.
type Activity struct {
	id         string
	region     string
	start, end string
	status     Status
	attendance Attendance
}

// ID returns the activity's ID, "" before it is scheduled.
func (a *Activity) ID() string { return a.id }

// Status returns where the activity stands.
func (a *Activity) Status() Status { return a.status }

// Attendance returns the attendance as corrected, for a held activity.
func (a *Activity) Attendance() Attendance { return a.attendance }

// Apply implements domain.Aggregate.
func (a *Activity) Apply(e domain.Event) error {
	if _, ok := e.(Scheduled); !ok && a.id == "" {
		return fmt.Errorf("activity: %s before it was scheduled", e.EventType())
	}
	switch e := e.(type) {
	case Scheduled:
		if a.id != "" {
			return fmt.Errorf("activity %s: scheduled twice", a.id)
		}
		*a = Activity{id: e.ID, region: e.Region, start: e.Start, end: e.End, status: StatusScheduled}
	case Rescheduled:
		a.start, a.end = e.Start, e.End
	case Cancelled:
		a.status = StatusCancelled
	case Held:
		a.status, a.attendance = StatusHeld, e.Attendance
	case AttendanceCorrected:
		a.attendance = e.Attendance
	case NoteAdded:
		// A note changes nothing the rules depend on.
	default:
		return fmt.Errorf("activity %s: unknown event %s", a.id, e.EventType())
	}
	return nil
}

// Schedule decides the planning of an activity whose input is checked
// already, in region: the municipality's, which the registry gives and the
// command does not carry. An ID taken already is a Conflict, so that a
// retried command does not plan a second activity.
func (a *Activity) Schedule(cmd Schedule, region string) ([]domain.Event, error) {
	if a.id != "" {
		return nil, domain.Errorf(domain.Conflict, "activity %s exists already", a.id)
	}
	return []domain.Event{Scheduled{
		ID: cmd.ID, Type: cmd.Type, Title: cmd.Title, Topic: cmd.Topic, Channel: cmd.Channel,
		Organisers: cmd.Organisers, Project: cmd.Project, Cycle: cmd.Cycle, Indicators: cmd.Indicators,
		Municipality: cmd.Municipality, Region: region, Place: cmd.Place, Start: cmd.Start, End: cmd.End,
	}}, nil
}

// Reschedule decides a move to checked days. Only a scheduled activity
// moves: a held or cancelled one is history. The same days again are no
// change.
func (a *Activity) Reschedule(cmd Reschedule) ([]domain.Event, error) {
	if a.status != StatusScheduled {
		return nil, domain.Errorf(domain.Conflict, "activity %s is %s and cannot be rescheduled", a.id, a.status)
	}
	if a.start == cmd.Start && a.end == cmd.End {
		return nil, nil
	}
	return []domain.Event{Rescheduled{ID: cmd.ID, Start: cmd.Start, End: cmd.End, Reason: cmd.Reason}}, nil
}

// Cancel decides a cancellation, with its checked reason. Only a scheduled
// activity can be called off: one held has happened.
func (a *Activity) Cancel(cmd Cancel) ([]domain.Event, error) {
	if a.status != StatusScheduled {
		return nil, domain.Errorf(domain.Conflict, "activity %s is %s and cannot be cancelled", a.id, a.status)
	}
	return []domain.Event{Cancelled{ID: cmd.ID, Reason: cmd.Reason}}, nil
}

// AddNote decides a note on an activity, whatever its status: a
// cancelled one may deserve one most.
func (a *Activity) AddNote(cmd AddNote) ([]domain.Event, error) {
	return []domain.Event{NoteAdded{ID: cmd.ID, Note: cmd.Note}}, nil
}

// Hold decides that a scheduled activity took place, with a checked
// attendance, on or before today (YYYY-MM-DD, in Tbilisi): an activity
// whose first day has not come cannot have been held, and one held or
// cancelled is not held (again).
func (a *Activity) Hold(cmd Hold, today string) ([]domain.Event, error) {
	switch {
	case a.status != StatusScheduled:
		return nil, domain.Errorf(domain.Conflict, "activity %s is %s", a.id, a.status)
	case a.start > today:
		return nil, domain.Errorf(domain.Conflict, "activity %s begins on %s: it cannot have been held yet", a.id, a.start)
	}
	return []domain.Event{Held{ID: cmd.ID, Attendance: cmd.Attendance}}, nil
}

// CorrectAttendance decides a correction of the attendance, checked, with
// its reason. Only a held activity has an attendance to correct.
func (a *Activity) CorrectAttendance(cmd CorrectAttendance) ([]domain.Event, error) {
	if a.status != StatusHeld {
		return nil, domain.Errorf(domain.Conflict, "activity %s is %s: only a held activity has an attendance", a.id, a.status)
	}
	return []domain.Event{AttendanceCorrected{ID: cmd.ID, Attendance: cmd.Attendance, Reason: cmd.Reason}}, nil
}

var invalid = domain.InvalidField
