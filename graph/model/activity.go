package model

import (
	"github.com/civicledger/civicledger/domain/activity"
	"github.com/civicledger/civicledger/domain/budgeting"
)

// Attendance is a held activity's attendance as the API shows it: the
// groups converted to the schema's enums, and the domain's own value kept
// for the breakdowns and the organisations' loader.
type Attendance struct {
	Total       int
	Groups      []AttendanceGroup
	Corrections int
	// Source is the attendance as recorded.
	Source activity.Attendance
}

// TrendRow is one group of participationTrend. The dimensions not grouped
// by stay nil; region, municipality and project are kept as codes and
// loaded only when asked for.
type TrendRow struct {
	Year, Quarter, Month *int
	ActivityType         *activity.Type
	Sector               *Sector
	Sex                  *Sex
	AgeBand              *AgeBand
	EthnicMinority       *MinorityMembership
	Certified            *bool
	Activities           int
	Attendance           int
	Population           *int
	AttendancePer1000    *float64
	// RegionCode, MunicipalityCode and ProjectID are "" unless grouped
	// by; ProjectID is also "" for the activities of no project.
	RegionCode, MunicipalityCode, ProjectID string
}

// BudgetTrendRow is a row of budgetingTrend; RegionCode and
// MunicipalityCode are "" unless grouped by, and the figures of the
// cycles nil when grouped by a voter's dimension.
type BudgetTrendRow struct {
	Year       *int
	Channel    *budgeting.Channel
	Sex        *Sex
	AgeBand    *AgeBand
	Cycles     int
	Voters     int
	Ideas      *int
	Amount     *Money
	Population *int
	Turnout    *float64
	// RegionCode and MunicipalityCode are resolved to their objects.
	RegionCode, MunicipalityCode string
}
