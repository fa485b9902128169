// Package activity records what civil-society programmes do on the ground:
// trainings, consultations, meetings, forums, internships and the rest,
// each scheduled, perhaps rescheduled, then held or cancelled; and who came
// to one that was held, counted by sex, age band, sector and
// ethnic-minority membership. Attendance is corrected by an event, never
// overwritten.
package activity

import (
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// RegisterEvents adds the activity events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[ActivityScheduled](types)
	domain.Register[ActivityRescheduled](types)
	domain.Register[ActivityCancelled](types)
	domain.Register[ActivityHeld](types)
	domain.Register[AttendanceCorrected](types)
}

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

// The dimensions of attendance, and their categories.
var (
	Sexes     = []string{"female", "male"}
	AgeBands  = []string{"under_18", "18_29", "30_44", "45_64", "65_plus"}
	Sectors   = []string{"cso", "cbo", "local_government", "central_government", "media", "business", "youth", "citizens"}
	Dimension = map[string][]string{"sex": Sexes, "age_band": AgeBands, "sector": Sectors}
)

// Attendance is who came: the total, and by sex, age band and sector
// (each, when given, adding up to the total), and how many belonged to an
// ethnic minority (at most the total). Organisations that took part may
// be named.
type Attendance struct {
	Total          int            `json:"total"`
	BySex          map[string]int `json:"by_sex,omitempty"`
	ByAgeBand      map[string]int `json:"by_age_band,omitempty"`
	BySector       map[string]int `json:"by_sector,omitempty"`
	EthnicMinority int            `json:"ethnic_minority"`
	Organisations  []string       `json:"organisations,omitempty"`
}

// ActivityScheduled: an activity was planned.
type ActivityScheduled struct {
	ID    string               `json:"id"`
	Type  Type                 `json:"type"`
	Title domain.LocalizedText `json:"title"`
	// Topic is a training's subject (effective communication, strategic
	// planning, ...); Channel a consultation's (phone, online, in_person).
	Topic        string   `json:"topic,omitempty"`
	Channel      string   `json:"channel,omitempty"`
	Organisers   []string `json:"organisers"`
	Project      string   `json:"project,omitempty"`
	Municipality string   `json:"municipality"`
	// Region is the municipality's, recorded so that who may record the
	// activity is decided on its own events.
	Region string `json:"region"`
	Place  string `json:"place,omitempty"`
	Start  string `json:"start"`
	End    string `json:"end"`
}

// EventType implements domain.Event.
func (ActivityScheduled) EventType() string { return "activity.scheduled" }

// ActivityRescheduled: an activity's dates changed.
type ActivityRescheduled struct {
	ID     string `json:"id"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Reason string `json:"reason,omitempty"`
}

// EventType implements domain.Event.
func (ActivityRescheduled) EventType() string { return "activity.rescheduled" }

// ActivityCancelled: an activity will not take place.
type ActivityCancelled struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (ActivityCancelled) EventType() string { return "activity.cancelled" }

// ActivityHeld: an activity took place, with its attendance.
type ActivityHeld struct {
	ID         string     `json:"id"`
	Attendance Attendance `json:"attendance"`
}

// EventType implements domain.Event.
func (ActivityHeld) EventType() string { return "activity.held" }

// AttendanceCorrected: a held activity's attendance was corrected.
type AttendanceCorrected struct {
	ID         string     `json:"id"`
	Attendance Attendance `json:"attendance"`
	Reason     string     `json:"reason"`
}

// EventType implements domain.Event.
func (AttendanceCorrected) EventType() string { return "activity.attendance_corrected" }

// Status is where an activity stands.
type Status string

// The statuses.
const (
	Scheduled Status = "scheduled"
	Held      Status = "held"
	Cancelled Status = "cancelled"
)

// Activity is one activity. Its zero value is an activity not scheduled.
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
	if _, ok := e.(ActivityScheduled); !ok && a.id == "" {
		return fmt.Errorf("activity: %s before it was scheduled", e.EventType())
	}
	switch e := e.(type) {
	case ActivityScheduled:
		if a.id != "" {
			return fmt.Errorf("activity %s: scheduled twice", a.id)
		}
		*a = Activity{id: e.ID, region: e.Region, start: e.Start, end: e.End, status: Scheduled}
	case ActivityRescheduled:
		a.start, a.end = e.Start, e.End
	case ActivityCancelled:
		a.status = Cancelled
	case ActivityHeld:
		a.status, a.attendance = Held, e.Attendance
	case AttendanceCorrected:
		a.attendance = e.Attendance
	default:
		return fmt.Errorf("activity %s: unknown event %s", a.id, e.EventType())
	}
	return nil
}

// validate checks an attendance: no negative count, each breakdown adding
// up to the total, known categories, the ethnic-minority count within the
// total.
func (at Attendance) validate() error {
	if at.Total < 0 {
		return invalid("attendance.total", "%d is negative", at.Total)
	}
	for _, d := range []struct {
		name   string
		counts map[string]int
	}{{"sex", at.BySex}, {"age_band", at.ByAgeBand}, {"sector", at.BySector}} {
		if len(d.counts) == 0 {
			continue
		}
		sum := 0
		for cat, n := range d.counts {
			if !slices.Contains(Dimension[d.name], cat) {
				return invalid("attendance."+d.name, "%q is not a category (%v)", cat, Dimension[d.name])
			}
			if n < 0 {
				return invalid("attendance."+d.name, "%s: %d is negative", cat, n)
			}
			sum += n
		}
		if sum != at.Total {
			return invalid("attendance."+d.name, "the counts add up to %d, not the total %d", sum, at.Total)
		}
	}
	if at.EthnicMinority < 0 || at.EthnicMinority > at.Total {
		return invalid("attendance.ethnicMinority", "%d is not between 0 and the total %d", at.EthnicMinority, at.Total)
	}
	return nil
}

var invalid = domain.InvalidField
