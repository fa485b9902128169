package opendata

import (
	"fmt"
	"strings"
)

// The licence the open data is published under.
const (
	licenceID    = "CC-BY-4.0"
	licenceTitle = "Creative Commons Attribution 4.0 International"
	licenceURL   = "https://creativecommons.org/licenses/by/4.0/"
)

// licenceText is LICENSE.md: the licence's name, what it asks, and where
// its legal code is.
const licenceText = `# Licence / ლიცენზია

The data in this package are published under the **Creative Commons Attribution 4.0
International** licence (CC BY 4.0): you may share and adapt them for any purpose, commercial
ones included, provided you give appropriate credit ("Civic Ledger open data", with the log
position and day of the export), link to the licence and say whether you changed the data.
The legal code: https://creativecommons.org/licenses/by/4.0/legalcode

The population figures come from Geostat's 2014 General Population Census; cite Geostat for them.

ამ პაკეტის მონაცემები ქვეყნდება **Creative Commons Attribution 4.0 International** (CC BY 4.0)
ლიცენზიით: შეგიძლიათ გაავრცელოთ და გადაამუშაოთ ნებისმიერი მიზნით, მათ შორის კომერციულით,
თუ მიუთითებთ წყაროს ("Civic Ledger-ის ღია მონაცემები", ექსპორტის ჟურნალის პოზიციითა და დღით),
ლიცენზიის ბმულს და იმას, შეცვალეთ თუ არა მონაცემები. იურიდიული ტექსტი:
https://creativecommons.org/licenses/by/4.0/legalcode.ka

მოსახლეობის მონაცემები საქსტატის 2014 წლის მოსახლეობის საყოველთაო აღწერიდანაა; მათთვის მიუთითეთ საქსტატი.
`

// readme is README.md: the package explained in Georgian and English,
// then every table and every column of it, made from the same
// declarations as datapackage.json.
func readme(ts []*Table, x *Export) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Civic Ledger: ღია მონაცემები / open data\n\n")
	p("ჟურნალის პოზიცია / log position: **%d** · დღე / day (Tbilisi): **%s** · შექმნილია / generated: %s\n\n", x.Position, x.Day, x.Generated.Format("2006-01-02 15:04:05Z07:00"))
	p("## ქართულად\n\n")
	p("ეს პაკეტი შეიცავს Civic Ledger-ის ყველა საჯარო მონაცემს ისე, როგორც მას API-ის ანონიმური მომხმარებელი ხედავს: " +
		"თითოეული ცხრილი აღებულია საჯარო GraphQL API-დან გასაღების გარეშე, ამიტომ ხილვადობის იგივე წესები მოქმედებს, რაც API-ში " +
		"(docs/VISIBILITY.md). არ ქვეყნდება: პერსონალური მონაცემები (საკონტაქტო პირები, პროექტის ხელმძღვანელები, ექსპერტები, იდეების ავტორები), " +
		"ორგანიზაციების მისამართები, სერტიფიცირების განაცხადები და ექსპერტების ქულები, ბენჩმარკინგის გამოუქვეყნებელი რაუნდების ქულები და " +
		"თვითშეფასებები, სამოქალაქო ბიუჯეტის ხმები შედეგების გამოცხადებამდე და ვინ რას მისცა ხმა.\n\n")
	p("ყოველი ცხრილი ორ ფორმატშია: NAME.csv (UTF-8, სათაურის სტრიქონით, RFC 4180) და NAME.json (ობიექტების მასივი). " +
		"datapackage.json არის Frictionless Data Package: ყოველი სვეტის ტიპი, აღწერა (description ინგლისურად, description_ka ქართულად), " +
		"ერთეული (unit) და შეზღუდვები. ცარიელი უჯრა ნიშნავს მნიშვნელობის არქონას. ჟურნალის პოზიცია არის ლოგის ის პოზიცია, რომელზეც " +
		"წაკითხვის მოდელები იდგა ყველა ცხრილის წაკითხვისას; /opendata/-ის ETag არის პოზიცია და დღე.\n\n")
	p("### დაფარვა\n\n")
	p("ადამიანების ჭრილში მოცემული რიცხვები (დასწრება სქესის, ასაკის, სექტორისა და ეთნიკური უმცირესობის მიხედვით; ამომრჩევლები სქესისა და "+
		"ასაკის მიხედვით) ქვეყნდება ყოველი ჯგუფის ყველა კატეგორიით, ნულების ჩათვლით. 1-დან %d-მდე რიცხვი იფარება სიმბოლოთი \"%s\" "+
		"(JSON-ში null). რადგან ჯგუფის ჯამი სხვა ცხრილშია გამოქვეყნებული (attendance.csv, budget_cycles.csv), ერთადერთი დაფარული უჯრა "+
		"ჯამიდან გამოითვლებოდა; ამიტომ იფარება დამატებითი, ყველაზე მცირე უჯრებიც (ნულების ჩათვლით), სანამ ჯგუფში მინიმუმ ორი უჯრა არ "+
		"იქნება დაფარული, რომელთა ჯამიც მინიმუმ %d-ია (ან სანამ ყველა არ დაიფარება). ასე ვერცერთი დაფარული უჯრა ვერ დადგინდება. "+
		"ჭრილები მხოლოდ ერთ დონეზე ქვეყნდება (წელი × მუნიციპალიტეტი × აქტივობის სახე), რათა სხვა ცხრილმა მათი შეჯამება არ დაუშვას.\n\n",
		Threshold-1, Suppressed, Threshold)
	p("## In English\n\n")
	p("This package holds every public read model of Civic Ledger as an anonymous caller of its API sees it: each table is read " +
		"from the public GraphQL API without a key, so the API's visibility policy (docs/VISIBILITY.md) decides what is in it, and " +
		"nothing goes around it. Not published: personal data (contact persons, project leads, experts, proposers of ideas), " +
		"organisations' addresses, certification applications and experts' scores, the scores and self-assessments of benchmark " +
		"rounds not yet published, participatory budget votes before the results are declared, and who voted for what.\n\n")
	p("Each table comes twice: NAME.csv (UTF-8, a header row, RFC 4180) and NAME.json (an array of objects). datapackage.json is a "+
		"Frictionless Data Package: every column's type, description (description in English, description_ka in Georgian), unit "+
		"and constraints. An empty cell means no value. The log position is the position the read models stood at while every table "+
		"was read (read again if they moved meanwhile); /opendata/ uses the position and the day as its ETag. Some values depend on the "+
		"day (Tbilisi) as well: a certificate's status, an indicator's progress. %s holds the donor projects as IATI 2.03 "+
		"activities; their identifiers begin with %s, a placeholder a publisher registered with IATI replaces with its own "+
		"organisation identifier, and every project is given the DAC sector 15150 (democratic participation and civil society).\n\n", IATIName, IATIPrefix)
	p("### Suppression\n\n")
	p("Counts of people broken down by a personal characteristic (attendance by sex, age band, sector and ethnic-minority "+
		"membership; voters by sex and age band) list every category of every group, zeros included. A count from 1 to %d is "+
		"suppressed: the cell holds \"%s\" (declared in each table schema's missingValues; null in the JSON). Because each group's "+
		"total is published (attendance.csv, budget_cycles.csv), a single suppressed cell could be worked out as the total less the "+
		"cells shown, so the smallest cells shown (zeros first) are suppressed too, until at least two cells of the group are "+
		"suppressed and hold at least %d people together, or all are: no suppressed cell can then be pinned to a value. Breakdowns are "+
		"published at one level only (year x municipality x kind of activity; the cycle), so no other table adds them up.\n\n",
		Threshold-1, Suppressed, Threshold)
	p("## ცხრილები / Tables\n\n")
	for _, t := range ts {
		p("- [%s](#%s): %s / %s (%d)\n", t.Name, t.Name, t.TitleKa, t.TitleEn, x.Rows[t.Name])
	}
	p("\n")
	for _, t := range ts {
		p("### %s\n\n**%s** / **%s**\n\n%s\n\n%s\n\n", t.Name, t.TitleKa, t.TitleEn, t.Ka, t.En)
		p("Files: `%s.csv`, `%s.json` · rows: %d · source (GraphQL): `%s`", t.Name, t.Name, x.Rows[t.Name], t.Source)
		if len(t.PrimaryKey) > 0 {
			p(" · primary key: `%s`", strings.Join(t.PrimaryKey, "`, `"))
		}
		p("\n\n| column / სვეტი | type | unit | constraints | English | ქართული |\n|---|---|---|---|---|---|\n")
		for _, f := range t.Fields {
			p("| `%s` | %s | %s | %s | %s | %s |\n", f.Name, f.Type, f.Unit, constraintsText(f), cellText(f.En), cellText(f.Ka))
		}
		p("\n")
	}
	return []byte(b.String())
}

// constraintsText is a column's constraints as the README shows them.
func constraintsText(f Field) string {
	var c []string
	if f.Required {
		c = append(c, "required")
	}
	if f.Min != "" {
		c = append(c, "≥ "+f.Min)
	}
	if f.Max != "" {
		c = append(c, "≤ "+f.Max)
	}
	if len(f.Enum) > 0 {
		c = append(c, "one of "+strings.Join(f.Enum, ", "))
	}
	if f.Suppressible {
		c = append(c, "may be "+Suppressed+" (suppressed)")
	}
	return strings.Join(c, "; ")
}

// cellText escapes a Markdown table cell.
func cellText(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
