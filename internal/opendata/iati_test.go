package opendata_test

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
)

// iatiOrder is the IATI 2.03 schema's sequence of an iati-activity's
// children (those this export may write, in the schema's order).
var iatiOrder = []string{"iati-identifier", "reporting-org", "title", "description", "participating-org", "activity-status",
	"activity-date", "recipient-country", "location", "sector", "budget", "result"}

// node is an XML element read back.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) all(name string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

// narratives checks an element's narratives: Georgian first, then
// English, none empty.
func narratives(t *testing.T, where string, n node) {
	t.Helper()
	ns := n.all("narrative")
	if len(ns) == 0 {
		t.Errorf("%s: no narrative", where)
	}
	for _, x := range ns {
		if strings.TrimSpace(x.Text) == "" {
			t.Errorf("%s: an empty narrative", where)
		}
	}
}

// checkIATI checks the IATI XML's structure against what the 2.03
// schema requires (no registry package carries the schema, so it is not
// validated by an XSD here): the root, each activity's elements in the
// schema's order with their required attributes, and its figures against
// the projects' tables.
func checkIATI(t *testing.T, b []byte, projects, indicators table) {
	if !bytes.HasPrefix(b, []byte(xml.Header)) {
		t.Error("no XML declaration")
	}
	var root node
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	if root.XMLName.Local != "iati-activities" || root.attr("version") != "2.03" || root.attr("generated-datetime") == "" {
		t.Fatalf("root %s version %q", root.XMLName.Local, root.attr("version"))
	}
	acts := root.all("iati-activity")
	if len(acts) != len(projects.rows) || len(acts) == 0 {
		t.Fatalf("%d activities for %d projects", len(acts), len(projects.rows))
	}
	inds := 0
	for i, a := range acts {
		where := "activity " + projects.rows[i][0]
		last := -1
		for _, c := range a.Nodes {
			k := slices.Index(iatiOrder, c.XMLName.Local)
			if k < 0 || k < last {
				t.Errorf("%s: %s out of the schema's order", where, c.XMLName.Local)
			}
			last = k
		}
		if a.attr("last-updated-datetime") == "" || a.attr("lang") != "en" {
			t.Errorf("%s: attributes %v", where, a.Attrs)
		}
		for _, req := range []string{"iati-identifier", "reporting-org", "title", "description", "participating-org", "activity-status", "activity-date", "recipient-country", "sector"} {
			if len(a.all(req)) == 0 {
				t.Errorf("%s: no %s", where, req)
			}
		}
		ro := a.all("reporting-org")[0]
		if id := a.all("iati-identifier")[0].Text; id != ro.attr("ref")+"-"+projects.rows[i][0] {
			t.Errorf("%s: identifier %q does not begin with the reporting org's ref %q", where, id, ro.attr("ref"))
		}
		title := a.all("title")[0]
		narratives(t, where+" title", title)
		if ns := title.all("narrative"); ns[0].attr("lang") != "ka" || ns[0].Text != projects.rows[i][projects.col("title_ka")] {
			t.Errorf("%s: the title's first narrative is not the Georgian title", where)
		}
		for _, d := range a.all("description") {
			narratives(t, where+" description", d)
		}
		for _, p := range a.all("participating-org") {
			narratives(t, where+" participating-org", p)
			if r := p.attr("role"); r != "1" && r != "4" {
				t.Errorf("%s: participating-org role %q", where, r)
			}
		}
		if c := a.all("activity-status")[0].attr("code"); c < "1" || c > "6" {
			t.Errorf("%s: activity-status %q", where, c)
		}
		if d := a.all("activity-date"); len(d) != 2 || d[0].attr("iso-date") != projects.rows[i][projects.col("start")] || d[1].attr("iso-date") != projects.rows[i][projects.col("end")] {
			t.Errorf("%s: activity dates %v", where, d)
		}
		if a.all("recipient-country")[0].attr("code") != "GE" {
			t.Errorf("%s: recipient country", where)
		}
		if bud := a.all("budget"); projects.rows[i][projects.col("budget")] != "" {
			if len(bud) != 1 || bud[0].all("value")[0].Text != projects.rows[i][projects.col("budget")] || bud[0].all("value")[0].attr("value-date") == "" {
				t.Errorf("%s: budget %v", where, bud)
			}
		}
		for _, r := range a.all("result") {
			narratives(t, where+" result", r.all("title")[0])
			for _, ind := range r.all("indicator") {
				inds++
				if ind.attr("measure") == "" || ind.attr("ascending") == "" {
					t.Errorf("%s: indicator attributes %v", where, ind.Attrs)
				}
				narratives(t, where+" indicator", ind.all("title")[0])
				for _, b := range ind.all("baseline") {
					if b.attr("year") == "" || b.attr("value") == "" {
						t.Errorf("%s: baseline %v", where, b.Attrs)
					}
				}
				for _, p := range ind.all("period") {
					if len(p.all("period-start")) != 1 || len(p.all("period-end")) != 1 || len(p.all("target")) != 1 || p.all("target")[0].attr("value") == "" {
						t.Errorf("%s: period %v", where, p)
					}
				}
			}
		}
	}
	if inds != len(indicators.rows) {
		t.Errorf("%d IATI indicators, %d in project_indicators.csv", inds, len(indicators.rows))
	}
}
