package activity

import "github.com/civicledger/civicledger/domain"

// Who sees activities: everyone. The calendar and the attendance are what
// the programmes report publicly; attendance is counted in groups, never
// by name, so it carries no personal data.

func declareEvents(t *domain.Types) {
	domain.Declare[Scheduled](t, domain.Everyone, nil).
		Show("id", "type", "title", "topic", "channel", "organisers", "project", "cycle", "indicators", "municipality", "region", "place", "start", "end")
	domain.Declare[Rescheduled](t, domain.Everyone, nil).Show("id", "start", "end", "reason")
	domain.Declare[Cancelled](t, domain.Everyone, nil).Show("id", "reason")
	domain.Declare[Held](t, domain.Everyone, nil).Show("id", "attendance")
	domain.Declare[AttendanceCorrected](t, domain.Everyone, nil).Show("id", "attendance", "reason")
	domain.Declare[NoteAdded](t, domain.Everyone, nil).Show("id", "note")
}

// DeclareViews declares who sees activities in the API.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "activities activity participationTrend")
	v.View("Subscription", domain.Everyone, "trend")
	v.View("Mutation", domain.Everyone, "scheduleActivity rescheduleActivity cancelActivity recordActivityHeld correctAttendance addActivityNote")
	v.View("Activity", domain.Everyone, "id type title topic channel organisers project cycle indicators municipality region place start end status reason attendance notes")
	v.View("ActivityConnection", domain.Enclosing, "edges pageInfo")
	v.View("ActivityEdge", domain.Enclosing, "cursor node")
	v.View("ActivityPayload", domain.Enclosing, "position activity")
	v.View("Attendance", domain.Enclosing, "total groups breakdown organisations corrections")
	v.View("AttendanceGroup", domain.Enclosing, "sex ageBand sector ethnicMinority count")
	v.View("CategoryCount", domain.Enclosing, "category count")
	v.View("IndicatorLink", domain.Enclosing, "indicator sector sex")
	v.View("TrendRow", domain.Enclosing, "year quarter month region municipality activityType project sector sex ageBand ethnicMinority certified "+
		"activities attendance population attendancePer1000")
}
