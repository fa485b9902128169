package activity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// The categories of the attendance dimensions. A group may leave any of
// them unrecorded (""): sign-in sheets do not always ask. Sex and age
// band are the domain's (domain.Sexes, domain.AgeBands), as voters are
// counted in them too.
var (
	Sexes    = domain.Sexes
	AgeBands = domain.AgeBands
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
