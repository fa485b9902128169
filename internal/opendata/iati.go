package opendata

import (
	"encoding/xml"
	"fmt"
	"time"
)

// IATIName is the file of the donor projects as IATI activities.
const IATIName = "iati-activities.xml"

// IATIPrefix stands before a project's code in its iati-identifier, and
// is the reporting organisation's ref. IATI identifiers begin with the
// publisher's registered organisation identifier, which this ledger does
// not have: a publisher registered with IATI replaces it with its own
// (README says so). "XI-" is IATI's own registration agency's prefix.
const IATIPrefix = "XI-CIVICLEDGER"

// The IATI 2.03 activity standard's elements, in the order its schema's
// iati-activity sequence requires them; only those the projects fill.
type (
	iatiActivities struct {
		XMLName   xml.Name       `xml:"iati-activities"`
		Version   string         `xml:"version,attr"`
		Generated string         `xml:"generated-datetime,attr"`
		Activity  []iatiActivity `xml:"iati-activity"`
	}
	iatiActivity struct {
		LastUpdated   string         `xml:"last-updated-datetime,attr"`
		Lang          string         `xml:"xml:lang,attr"`
		Currency      string         `xml:"default-currency,attr,omitempty"`
		Hierarchy     string         `xml:"hierarchy,attr"`
		Identifier    string         `xml:"iati-identifier"`
		ReportingOrg  iatiOrg        `xml:"reporting-org"`
		Title         iatiText       `xml:"title"`
		Description   []iatiDesc     `xml:"description"`
		Participating []iatiOrg      `xml:"participating-org"`
		Status        iatiCode       `xml:"activity-status"`
		Dates         []iatiDate     `xml:"activity-date"`
		Country       iatiCountry    `xml:"recipient-country"`
		Locations     []iatiLocation `xml:"location"`
		Sector        iatiSector     `xml:"sector"`
		Budget        *iatiBudget    `xml:"budget"`
		Results       []iatiResult   `xml:"result"`
	}
	iatiNarrative struct {
		Lang string `xml:"xml:lang,attr,omitempty"`
		Text string `xml:",chardata"`
	}
	iatiText struct {
		Narrative []iatiNarrative `xml:"narrative"`
	}
	iatiDesc struct {
		Type      string          `xml:"type,attr"`
		Narrative []iatiNarrative `xml:"narrative"`
	}
	iatiOrg struct {
		Ref       string          `xml:"ref,attr,omitempty"`
		Type      string          `xml:"type,attr,omitempty"`
		Role      string          `xml:"role,attr,omitempty"`
		Narrative []iatiNarrative `xml:"narrative"`
	}
	iatiCode struct {
		Code string `xml:"code,attr"`
	}
	iatiDate struct {
		Type string `xml:"type,attr"`
		Date string `xml:"iso-date,attr"`
	}
	iatiCountry struct {
		Code       string `xml:"code,attr"`
		Percentage string `xml:"percentage,attr"`
	}
	iatiLocation struct {
		Ref  string   `xml:"ref,attr"`
		Name iatiText `xml:"name"`
	}
	iatiSector struct {
		Vocabulary string          `xml:"vocabulary,attr"`
		Code       string          `xml:"code,attr"`
		Percentage string          `xml:"percentage,attr"`
		Narrative  []iatiNarrative `xml:"narrative"`
	}
	iatiBudget struct {
		Type   string    `xml:"type,attr"`
		Status string    `xml:"status,attr"`
		Start  iatiDate2 `xml:"period-start"`
		End    iatiDate2 `xml:"period-end"`
		Value  iatiValue `xml:"value"`
	}
	iatiDate2 struct {
		Date string `xml:"iso-date,attr"`
	}
	iatiValue struct {
		Currency  string `xml:"currency,attr"`
		ValueDate string `xml:"value-date,attr"`
		Amount    string `xml:",chardata"`
	}
	iatiResult struct {
		Type       string          `xml:"type,attr"`
		Title      iatiText        `xml:"title"`
		Indicators []iatiIndicator `xml:"indicator"`
	}
	iatiIndicator struct {
		Measure   string        `xml:"measure,attr"`
		Ascending string        `xml:"ascending,attr"`
		Title     iatiText      `xml:"title"`
		Baseline  *iatiBaseline `xml:"baseline"`
		Periods   []iatiPeriod  `xml:"period"`
	}
	iatiBaseline struct {
		Year  string `xml:"year,attr"`
		Value string `xml:"value,attr"`
	}
	iatiPeriod struct {
		Start  iatiDate2    `xml:"period-start"`
		End    iatiDate2    `xml:"period-end"`
		Target iatiPeriodV  `xml:"target"`
		Actual *iatiPeriodV `xml:"actual"`
	}
	iatiPeriodV struct {
		Value string `xml:"value,attr"`
	}
)

// texts are the narratives of a localized text: Georgian always, English
// when there is a translation.
func texts(v any, path string) []iatiNarrative {
	if path != "" {
		path += "."
	}
	out := []iatiNarrative{{Lang: "ka", Text: str(v, path+"ka")}}
	if en := str(v, path+"en"); en != "" {
		out = append(out, iatiNarrative{Lang: "en", Text: en})
	}
	return out
}

// IATI codes the projects map to.
var (
	iatiResultType = map[string]string{"OUTPUT": "1", "OUTCOME": "2", "IMPACT": "3"}
	// measure: 1 unit, 2 percentage, 5 qualitative; an amount of money
	// is counted in units of its currency.
	iatiMeasure = map[string]string{"COUNT": "1", "CURRENCY": "1", "PERCENT": "2", "QUALITATIVE": "5"}
)

// iatiXML writes the donor projects (the projects query's data)
// as IATI 2.03 activities, with their status on day: 1 pipeline before
// the start, 2 implementation until the end, 3 finalisation after.
func iatiXML(d any, day string, generated time.Time) ([]byte, error) {
	doc := iatiActivities{Version: "2.03", Generated: generated.Format(time.RFC3339)}
	for _, p := range list(d, "projects") {
		a := iatiActivity{
			LastUpdated: generated.Format(time.RFC3339), Lang: "en", Currency: str(p, "total.currency"), Hierarchy: "1",
			Identifier:   IATIPrefix + "-" + str(p, "id"),
			ReportingOrg: iatiOrg{Ref: IATIPrefix, Type: "90", Narrative: []iatiNarrative{{Text: "Civic Ledger"}}},
			Title:        iatiText{Narrative: texts(p, "title")},
			Country:      iatiCountry{Code: "GE", Percentage: "100"},
			// DAC 5-digit 15150: democratic participation and civil
			// society, what every programme recorded here works on.
			Sector: iatiSector{Vocabulary: "1", Code: "15150", Percentage: "100", Narrative: []iatiNarrative{{Text: "Democratic participation and civil society"}}},
		}
		if a.Currency == "" {
			for _, k := range list(p, "contributions") {
				a.Currency = str(k, "amount.currency")
				break
			}
		}
		for _, o := range list(p, "objectives") {
			a.Description = append(a.Description, iatiDesc{Type: "2", Narrative: texts(o, "")})
		}
		if len(a.Description) == 0 {
			a.Description = []iatiDesc{{Type: "1", Narrative: texts(p, "title")}}
		}
		for _, o := range list(p, "implementers") {
			a.Participating = append(a.Participating, iatiOrg{Role: "4", Narrative: texts(o, "name")})
		}
		for _, o := range list(p, "partners") {
			a.Participating = append(a.Participating, iatiOrg{Role: "4", Narrative: texts(o, "name")})
		}
		for _, k := range list(p, "contributions") {
			a.Participating = append(a.Participating, iatiOrg{Role: "1", Narrative: texts(k, "donor.name")})
		}
		start, end := str(p, "start"), str(p, "end")
		switch {
		case day < start:
			a.Status.Code = "1"
		case day <= end:
			a.Status.Code = "2"
		default:
			a.Status.Code = "3"
		}
		a.Dates = []iatiDate{{Type: "1", Date: start}, {Type: "3", Date: end}}
		for _, r := range list(p, "regions") {
			a.Locations = append(a.Locations, iatiLocation{Ref: "region-" + str(r, "code"), Name: iatiText{Narrative: texts(r, "name")}})
		}
		for _, m := range list(p, "municipalities") {
			a.Locations = append(a.Locations, iatiLocation{Ref: "municipality-" + str(m, "code"), Name: iatiText{Narrative: texts(m, "name")}})
		}
		if amt := str(p, "total.amount"); amt != "" {
			a.Budget = &iatiBudget{Type: "1", Status: "2", Start: iatiDate2{start}, End: iatiDate2{end},
				Value: iatiValue{Currency: str(p, "total.currency"), ValueDate: start, Amount: amt}}
		}
		// One result per result text and level, its indicators beneath.
		idx := map[string]int{}
		for _, in := range list(p, "indicators") {
			key := str(in, "resultType") + "\x00" + str(in, "result.ka")
			i, ok := idx[key]
			if !ok {
				rt, ok := iatiResultType[str(in, "resultType")]
				if !ok {
					return nil, fmt.Errorf("open data: IATI: project %s: result type %q", str(p, "id"), str(in, "resultType"))
				}
				i = len(a.Results)
				idx[key] = i
				a.Results = append(a.Results, iatiResult{Type: rt, Title: iatiText{Narrative: texts(in, "result")}})
			}
			asc := "0"
			if at(in, "higherIsBetter") == true {
				asc = "1"
			}
			ind := iatiIndicator{Measure: iatiMeasure[str(in, "unit")], Ascending: asc, Title: iatiText{Narrative: texts(in, "title")}}
			if y := str(in, "baselineYear"); y != "" {
				ind.Baseline = &iatiBaseline{Year: y, Value: str(in, "baseline")}
			}
			for _, t := range list(in, "targets") {
				per := iatiPeriod{Start: iatiDate2{str(t, "start")}, End: iatiDate2{str(t, "end")}, Target: iatiPeriodV{str(t, "value")}}
				// The API measures the actual of the target covering the
				// day (or the last one once all are past).
				if str(t, "start") == str(in, "target.start") && str(t, "end") == str(in, "target.end") {
					per.Actual = &iatiPeriodV{str(in, "actual")}
				}
				ind.Periods = append(ind.Periods, per)
			}
			a.Results[i].Indicators = append(a.Results[i].Indicators, ind)
		}
		doc.Activity = append(doc.Activity, a)
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
