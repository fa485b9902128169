package pabulib

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain/project"
)

// The format's fields, as the library's own checker (pabulib's
// pabulib_process_data, helpers/fields.py and output_check.py) defines
// them, in its order. That checker is Python and needs packages this
// build cannot fetch, so Check applies the same rules in Go; where the
// checker keeps a list that only grows as data arrives (its countries),
// Check does not, and says so.
var (
	metaFields = []string{"description", "country", "unit", "district", "subunit", "instance", "num_projects", "num_votes",
		"budget", "leftover_budget", "budget_per_category", "budget_per_neighbourhood", "vote_type", "rule", "date_begin",
		"date_end", "min_length", "max_length", "min_sum_cost", "max_sum_cost", "scoring_fn", "min_points", "max_points",
		"min_sum_points", "max_sum_points", "default_score", "min_project_cost", "max_project_cost", "min_length_per_category",
		"max_length_per_category", "min_sum_cost_per_category", "max_sum_cost_per_category", "neighbourhoods", "subdistricts",
		"categories", "fully_funded", "experimental", "language", "edition", "currency", "acknowledgments", "comment"}
	metaRequired  = []string{"description", "country", "unit", "instance", "num_projects", "num_votes", "budget", "vote_type", "rule", "date_begin", "date_end"}
	metaInts      = []string{"num_projects", "num_votes", "min_length", "max_length", "min_points", "max_points", "min_sum_points", "max_sum_points", "min_project_cost", "max_project_cost"}
	metaFloats    = []string{"budget", "min_sum_cost", "max_sum_cost", "default_score"}
	projectFields = []string{"project_id", "votes", "score", "cost", "name", "category", "target", "selected", "neighbourhood",
		"neighborhood", "subunit", "district", "description", "proposer", "public_id", "longitude", "latitude"}
	voteFields = []string{"voter_id", "vote", "points", "age", "sex", "voting_method", "district", "neighborhood", "education"}
	voteTypes  = []string{"ordinal", "approval", "cumulative", "choose-1"}
	rules      = []string{"greedy", "unknown", "equalshares", "equalshares/add1"}
	dateForm   = regexp.MustCompile(`^(\d{4}|\d{2}\.\d{2}\.\d{4})$`)
	language   = regexp.MustCompile(`^[a-z]{2}$`)
)

// Check lists what in breaks of the format's rules, nil when nothing:
// the fields the library's checker requires, knows and types; the counts
// META states against the sections; each ballot's length and repeats;
// each project's votes against the ballots; and the selected projects
// against the budget.
func Check(in *Instance) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	meta := map[string]string{}
	for _, r := range in.Meta.Rows {
		meta[r[0]] = r[1]
		if !slices.Contains(metaFields, r[0]) {
			bad("META field %q is not one the format knows", r[0])
		}
	}
	for _, f := range metaRequired {
		if meta[f] == "" {
			bad("META field %q is required", f)
		}
	}
	for _, f := range metaInts {
		if v, ok := meta[f]; ok {
			if _, err := strconv.Atoi(v); err != nil {
				bad("META %s: %q is not a whole number", f, v)
			}
		}
	}
	for _, f := range metaFloats {
		if v, ok := meta[f]; ok {
			if _, err := strconv.ParseFloat(v, 64); err != nil || strings.Contains(v, ",") {
				bad("META %s: %q is not a number written with a point", f, v)
			}
		}
	}
	if v := meta["vote_type"]; v != "" && !slices.Contains(voteTypes, v) {
		bad("META vote_type %q is not one of %v", v, voteTypes)
	}
	if v := meta["rule"]; v != "" && !slices.Contains(rules, v) {
		bad("META rule %q is not one of %v", v, rules)
	}
	for _, f := range []string{"date_begin", "date_end"} {
		if v := meta[f]; v != "" && !dateForm.MatchString(v) {
			bad("META %s %q is neither YYYY nor DD.MM.YYYY", f, v)
		}
	}
	if b, e := sortable(meta["date_begin"]), sortable(meta["date_end"]); b != "" && e != "" && b > e {
		bad("META date_end %s is before date_begin %s", meta["date_end"], meta["date_begin"])
	}
	if v, ok := meta["language"]; ok && !language.MatchString(v) {
		bad("META language %q is not an ISO 639-1 code", v)
	}
	if v, ok := meta["currency"]; ok && !project.IsCurrency(v) {
		bad("META currency %q is not an ISO 4217 code", v)
	}
	for _, c := range in.Projects.Columns {
		if !slices.Contains(projectFields, c) {
			bad("PROJECTS column %q is not one the format knows", c)
		}
	}
	for _, c := range in.Votes.Columns {
		if !slices.Contains(voteFields, c) {
			bad("VOTES column %q is not one the format knows", c)
		}
	}
	if n, err := strconv.Atoi(meta["num_projects"]); err == nil && n != len(in.Projects.Rows) {
		bad("META num_projects is %d; PROJECTS has %d rows", n, len(in.Projects.Rows))
	}
	if n, err := strconv.Atoi(meta["num_votes"]); err == nil && n != len(in.Votes.Rows) {
		bad("META num_votes is %d; VOTES has %d rows", n, len(in.Votes.Rows))
	}
	// Ballots: length, repeats, and the votes they give each project.
	minLen, _ := strconv.Atoi(meta["min_length"])
	maxLen, _ := strconv.Atoi(meta["max_length"])
	counted := map[string]int64{}
	points := in.Votes.Has("points")
	for i := range in.Votes.Rows {
		vote := List(in.Votes.Get(i, "vote"))
		seen := map[string]bool{}
		for _, p := range vote {
			if seen[p] {
				bad("VOTES voter %s names project %s twice", in.Votes.Get(i, "voter_id"), p)
			}
			seen[p] = true
		}
		if maxLen > 0 && len(vote) > maxLen || minLen > 0 && len(vote) < minLen {
			bad("VOTES voter %s names %d projects, outside %d..%d", in.Votes.Get(i, "voter_id"), len(vote), minLen, maxLen)
		}
		pts := List(in.Votes.Get(i, "points"))
		for k, p := range vote {
			if points && k < len(pts) {
				n, _ := strconv.ParseInt(pts[k], 10, 64)
				counted[p] += n
			} else {
				counted[p]++
			}
		}
	}
	col := "votes"
	if points {
		col = "score"
	}
	budget, _ := strconv.ParseFloat(meta["budget"], 64)
	var spent float64
	for i := range in.Projects.Rows {
		id := in.Projects.Get(i, "project_id")
		cost, err := strconv.ParseFloat(in.Projects.Get(i, "cost"), 64)
		if err != nil {
			bad("PROJECTS %s: cost %q is not a number", id, in.Projects.Get(i, "cost"))
		} else if _, err := strconv.Atoi(in.Projects.Get(i, "cost")); err != nil {
			bad("PROJECTS %s: cost %q is not whole, which the format's checker requires", id, in.Projects.Get(i, "cost"))
		}
		if in.Projects.Has(col) {
			if v, err := strconv.ParseInt(in.Projects.Get(i, col), 10, 64); err != nil || v != counted[id] {
				bad("PROJECTS %s: %s %q; the ballots give %d", id, col, in.Projects.Get(i, col), counted[id])
			}
		}
		switch s := in.Projects.Get(i, "selected"); s {
		case "1":
			spent += cost
		case "", "0", "2", "3":
		default:
			bad("PROJECTS %s: selected %q is not 0, 1, 2 or 3", id, s)
		}
		delete(counted, id)
	}
	for id := range counted {
		bad("VOTES name project %s, which PROJECTS does not have", id)
	}
	if spent > budget {
		bad("the selected projects cost %.2f, over the budget %.2f", spent, budget)
	}
	return out
}

// sortable turns YYYY or DD.MM.YYYY into YYYY-MM-DD, "" for neither.
func sortable(d string) string {
	switch {
	case len(d) == 4:
		return d + "-01-01"
	case len(d) == 10 && d[2] == '.' && d[5] == '.':
		return d[6:] + "-" + d[3:5] + "-" + d[:2]
	}
	return ""
}
