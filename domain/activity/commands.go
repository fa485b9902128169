package activity

import "github.com/civicledger/civicledger/domain"

// Schedule asks to plan an activity. Service.Schedule handles it. It
// carries no region: the activity's region is the municipality's, which
// the registry says, not the caller.
type Schedule struct {
	// ID is the activity's code (cif-training-2023-05), chosen by the
	// caller so that a retry is a Conflict, not a second activity.
	ID    string
	Type  Type
	Title domain.LocalizedText
	// Topic is for a training only, Channel for a consultation only, which
	// needs one (phone, online or in_person).
	Topic   string
	Channel string
	// Organisers are organisations of the registry, one at least.
	Organisers []string
	// Project is the project the activity serves, or "".
	Project string
	// Cycle is the participatory budget cycle the activity serves (a
	// campaign meeting, a training for its facilitators), of the same
	// municipality, or "".
	Cycle string
	// Indicators are counts of Project the attendance adds up towards; no
	// two may count the same attendee towards the same indicator.
	Indicators   []IndicatorLink
	Municipality string
	Place        string
	// Start and End are the first and last days, YYYY-MM-DD.
	Start string
	End   string
}

// Reschedule asks to move a scheduled activity to other days.
// Service.Reschedule handles it.
type Reschedule struct {
	ID    string
	Start string
	End   string
	// Reason is optional: a move is often self-explanatory.
	Reason string
}

// Cancel asks to call off a scheduled activity. Service.Cancel handles
// it.
type Cancel struct {
	ID string
	// Reason is required: a report of the programme has to say why an
	// activity it planned did not happen.
	Reason string
}

// Hold asks to record that a scheduled activity took place, with who came.
// Service.RecordHeld handles it.
type Hold struct {
	ID         string
	Attendance Attendance
}

// CorrectAttendance asks to replace a held activity's attendance, which
// stays in the log beside the correction. Service.CorrectAttendance
// handles it.
type CorrectAttendance struct {
	ID         string
	Attendance Attendance
	// Reason is required: whoever compares a report with an earlier one
	// must learn why the figures changed.
	Reason string
}

// AddNote asks to note something about an activity. Service.AddNote
// handles it.
type AddNote struct {
	ID   string
	Note string
}
