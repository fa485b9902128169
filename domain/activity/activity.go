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
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// RegisterEvents adds the activity events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[Scheduled](types)
	domain.Register[Rescheduled](types)
	domain.Register[Cancelled](types)
	domain.Register[Held](types)
	domain.Register[AttendanceCorrected](types)
	declareEvents(types)
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

// The categories of the attendance dimensions. A group may leave any of
// them unrecorded (""): sign-in sheets do not always ask.
var (
	Sexes    = []string{"female", "male"}
	AgeBands = []string{"under_18", "18_29", "30_44", "45_64", "65_plus"}
	Sectors  = []string{"cso", "cbo", "local_government", "central_government", "media", "business", "youth", "citizens"}
)

// Attendance is who came to a held activity: the total, split into groups
// of attendees alike in sex, age band, sector and ethnic-minority
// membership. The groups are the joint breakdown, not one breakdown per
// dimension, so any combination of dimensions (women from local
// government, young people of a minority) is answered exactly; per
// dimension totals are derived from them. Organisations that took part may
// be named.
type Attendance struct {
	Total int `json:"total"`
	// Groups add up to Total when given; with none, nothing is known of
	// who the attendees were.
	Groups        []Group  `json:"groups,omitempty"`
	Organisations []string `json:"organisations,omitempty"`
}

// Group is a number of attendees alike in every recorded dimension.
type Group struct {
	Sex     string `json:"sex,omitempty"`
	AgeBand string `json:"age_band,omitempty"`
	Sector  string `json:"sector,omitempty"`
	// EthnicMinority is nil when not recorded.
	EthnicMinority *bool `json:"ethnic_minority,omitempty"`
	Count          int   `json:"count"`
}

// key identifies the group's combination of categories.
func (g Group) key() string {
	m := "?"
	if g.EthnicMinority != nil {
		m = fmt.Sprint(*g.EthnicMinority)
	}
	return g.Sex + "|" + g.AgeBand + "|" + g.Sector + "|" + m
}

// By returns the attendance by one dimension ("sex", "age_band", "sector"
// or "ethnic_minority"), with unrecorded attendees under "": the
// one-dimension view reports ask for.
func (at Attendance) By(dimension string) map[string]int {
	out := map[string]int{}
	for _, g := range at.Groups {
		var cat string
		switch dimension {
		case "sex":
			cat = g.Sex
		case "age_band":
			cat = g.AgeBand
		case "sector":
			cat = g.Sector
		case "ethnic_minority":
			if g.EthnicMinority != nil {
				cat = fmt.Sprint(*g.EthnicMinority)
			}
		}
		out[cat] += g.Count
	}
	if len(at.Groups) == 0 && at.Total > 0 {
		out[""] = at.Total
	}
	return out
}

// IndicatorLink makes an activity's attendance count towards an indicator
// of its project: every attendee, or only those of a sector or sex (local
// government representatives trained). It counts once held, dated by the
// activity's days, and follows corrections.
type IndicatorLink struct {
	Indicator string `json:"indicator"`
	Sector    string `json:"sector,omitempty"`
	Sex       string `json:"sex,omitempty"`
}

// Counted is how many of the attendance the link counts.
func (l IndicatorLink) Counted(at Attendance) int {
	if l.Sector == "" && l.Sex == "" {
		return at.Total
	}
	n := 0
	for _, g := range at.Groups {
		if (l.Sector == "" || g.Sector == l.Sector) && (l.Sex == "" || g.Sex == l.Sex) {
			n += g.Count
		}
	}
	return n
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

// Status is where an activity stands.
type Status string

// The statuses.
const (
	StatusScheduled Status = "scheduled"
	StatusHeld      Status = "held"
	StatusCancelled Status = "cancelled"
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
	default:
		return fmt.Errorf("activity %s: unknown event %s", a.id, e.EventType())
	}
	return nil
}

// Validate checks an attendance: no negative count, known categories, no
// group twice, and the groups adding up to the total. The commands call
// it; so does anything that writes activity events in bulk.
func (at Attendance) Validate() error {
	if at.Total < 0 {
		return invalid("attendance.total", "%d is negative", at.Total)
	}
	seen := map[string]int{}
	sum := 0
	for i, g := range at.Groups {
		field := fmt.Sprintf("attendance.groups[%d]", i)
		for _, d := range []struct {
			name, cat string
			cats      []string
		}{{"sex", g.Sex, Sexes}, {"ageBand", g.AgeBand, AgeBands}, {"sector", g.Sector, Sectors}} {
			if d.cat != "" && !slices.Contains(d.cats, d.cat) {
				return invalid(field+"."+d.name, "%q is not a category (%s)", d.cat, strings.Join(d.cats, ", "))
			}
		}
		if g.Count < 0 {
			return invalid(field+".count", "%d is negative", g.Count)
		}
		if j, ok := seen[g.key()]; ok {
			return invalid(field, "the same sex, age band, sector and minority membership as groups[%d]: add them up into one", j)
		}
		seen[g.key()] = i
		sum += g.Count
	}
	if len(at.Groups) > 0 && sum != at.Total {
		return invalid("attendance.groups", "the counts add up to %d, not the total %d", sum, at.Total)
	}
	return nil
}

var invalid = domain.InvalidField
