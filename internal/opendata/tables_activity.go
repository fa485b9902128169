package opendata

import (
	"context"
	"fmt"
)

// An attendee dimension of the disaggregated tables: the trend dimension
// it groups by, the row field holding it, and every category, so each
// group lists them all, zeros included (see suppress).
type attendeeDim struct {
	table, column, dim, field string
	en, ka                    string
	categories                []string
}

var attendeeDims = []attendeeDim{
	{"attendance_by_sex", "sex", "SEX", "sex", "The attendees' sex: FEMALE, MALE or UNRECORDED (the sign-in sheet did not say).",
		"დამსწრეთა სქესი: FEMALE (ქალი), MALE (კაცი) ან UNRECORDED (დასწრების ფურცელზე არ არის მითითებული).",
		[]string{"FEMALE", "MALE", "UNRECORDED"}},
	{"attendance_by_age_band", "age_band", "AGE_BAND", "ageBand", "The attendees' age band: UNDER_18, AGE_18_29 (youth, as the programmes count it), AGE_30_44, AGE_45_64, AGE_65_PLUS or UNRECORDED.",
		"დამსწრეთა ასაკობრივი ჯგუფი: UNDER_18 (18-მდე), AGE_18_29 (ახალგაზრდები), AGE_30_44, AGE_45_64, AGE_65_PLUS (65 და მეტი) ან UNRECORDED (არ არის მითითებული).",
		[]string{"UNDER_18", "AGE_18_29", "AGE_30_44", "AGE_45_64", "AGE_65_PLUS", "UNRECORDED"}},
	{"attendance_by_sector", "sector", "SECTOR", "sector", "The sector the attendees came from: CSO, CBO, LOCAL_GOVERNMENT, CENTRAL_GOVERNMENT, MEDIA, BUSINESS, YOUTH, CITIZENS or UNRECORDED.",
		"სექტორი, საიდანაც დამსწრეები მოვიდნენ: CSO (სსო), CBO (სათემო ორგანიზაცია), LOCAL_GOVERNMENT (ადგილობრივი ხელისუფლება), CENTRAL_GOVERNMENT (ცენტრალური ხელისუფლება), MEDIA (მედია), BUSINESS (ბიზნესი), YOUTH (ახალგაზრდები), CITIZENS (მოქალაქეები) ან UNRECORDED (არ არის მითითებული).",
		[]string{"CSO", "CBO", "LOCAL_GOVERNMENT", "CENTRAL_GOVERNMENT", "MEDIA", "BUSINESS", "YOUTH", "CITIZENS", "UNRECORDED"}},
	{"attendance_by_ethnic_minority", "ethnic_minority", "ETHNIC_MINORITY", "ethnicMinority", "Whether the attendees belong to an ethnic minority: MINORITY, NOT_MINORITY or UNRECORDED.",
		"ეკუთვნიან თუ არა დამსწრეები ეთნიკურ უმცირესობას: MINORITY (უმცირესობა), NOT_MINORITY (არა უმცირესობა) ან UNRECORDED (არ არის მითითებული).",
		[]string{"MINORITY", "NOT_MINORITY", "UNRECORDED"}},
}

// activitiesQuery is a page of the calendar; attendance only as the
// total (the groups are disaggregated: see the attendance_by tables).
const activitiesQuery = `query($after: String) { activities(first: 100, after: $after) { edges { node {
  id type title { ka en } topic channel organisers { id } project { id } cycle municipality { code } region { code } place start end status reason
  attendance { total corrections } } } pageInfo { hasNextPage endCursor } } }`

// trendYears are the years with held activities.
func (b *build) trendYears(ctx context.Context, c *client) ([]string, error) {
	d, err := c.query(ctx, `{ participationTrend(groupBy: [YEAR]) { year } }`, nil)
	if err != nil {
		return nil, err
	}
	var ys []string
	for _, r := range list(d, "participationTrend") {
		ys = append(ys, str(r, "year"))
	}
	return ys, nil
}

// yearTrend groups a year's attendance by municipality and activity
// type, then by dim's dimension (none for the totals); a year at a time
// keeps every answer within the trend's 10,000 rows.
func (b *build) yearTrend(ctx context.Context, c *client, year string, dim *attendeeDim) ([]any, error) {
	group, sel := "MUNICIPALITY, ACTIVITY_TYPE", "municipality { code region { code } } activityType activities attendance"
	if dim != nil {
		group += ", " + dim.dim
		sel += " " + dim.field
	}
	q := fmt.Sprintf(`query($from: Date, $to: Date) { participationTrend(groupBy: [%s], filter: { from: $from, to: $to }) { %s } }`, group, sel)
	d, err := c.query(ctx, q, map[string]any{"from": year + "-01-01", "to": year + "-12-31"})
	if err != nil {
		return nil, err
	}
	return list(d, "participationTrend"), nil
}

var attendanceKey = []Field{fYear, withReq(fRegion), withReq(fMuni), fType}

var attendanceFKs = []ForeignKey{fk("region", "regions", "code"), fk("municipality", "municipalities", "code")}

func activityTables() []*Table {
	ts := []*Table{
		{
			Name: "activities", TitleEn: "Activities", TitleKa: "აქტივობები",
			En:     "The programmes' activities (trainings, consultations, meetings, forums...), from scheduling to attendance; attendance as the total only (its breakdowns are in the attendance_by tables).",
			Ka:     "პროგრამების აქტივობები (ტრენინგები, კონსულტაციები, შეხვედრები, ფორუმები...), დაგეგმვიდან დასწრებამდე; დასწრება მხოლოდ ჯამით (მისი ჭრილები attendance_by ცხრილებშია).",
			Source: "activities",
			Fields: []Field{
				field("id", "string", "The activity's code, such as cif-training-2023-05.", "აქტივობის კოდი, მაგალითად cif-training-2023-05.", required),
				withName(fType, "type", fType.En, fType.Ka),
				field("title_ka", "string", "The title in Georgian.", "სათაური ქართულად.", required),
				field("title_en", "string", "The title in English; empty without a translation.", "სათაური ინგლისურად; ცარიელია თარგმანის გარეშე."),
				field("topic", "string", "A training's subject; empty for other activities.", "ტრენინგის თემა; სხვა აქტივობებისთვის ცარიელია."),
				field("channel", "string", "How a consultation was given: PHONE, ONLINE or IN_PERSON; empty for other activities.", "როგორ გაიცა კონსულტაცია: PHONE (ტელეფონით), ONLINE (ონლაინ) ან IN_PERSON (პირისპირ); სხვა აქტივობებისთვის ცარიელია.", enum("PHONE", "ONLINE", "IN_PERSON")),
				field("organisers", "string", "The IDs of the organising organisations (organisations.csv), separated by \"; \".", "ორგანიზატორი ორგანიზაციების იდენტიფიკატორები (organisations.csv), გამოყოფილი \"; \"-ით.", required),
				field("project", "string", "The code of the project it serves (projects.csv); empty for none.", "პროექტის კოდი, რომელსაც ემსახურება (projects.csv); ცარიელია, თუ არცერთს."),
				field("cycle", "string", "The ID of the participatory budget cycle it serves (budget_cycles.csv); empty for none.", "სამოქალაქო ბიუჯეტის ციკლის იდენტიფიკატორი, რომელსაც ემსახურება (budget_cycles.csv); ცარიელია, თუ არცერთს."),
				withReq(fMuni), withReq(fRegion),
				field("place", "string", "Where in the municipality; empty when not said.", "ადგილი მუნიციპალიტეტში; ცარიელია, თუ არ არის მითითებული."),
				field("start", "date", "The first day.", "პირველი დღე.", required),
				field("end", "date", "The last day.", "ბოლო დღე.", required),
				field("status", "string", "SCHEDULED (planned), HELD (took place, attendance recorded) or CANCELLED.", "SCHEDULED (დაგეგმილი), HELD (ჩატარებული, დასწრება ჩაწერილია) ან CANCELLED (გაუქმებული).", required, enum("SCHEDULED", "HELD", "CANCELLED")),
				field("reason", "string", "Why it was cancelled, or last rescheduled; empty otherwise.", "გაუქმების ან ბოლო გადატანის მიზეზი; სხვა შემთხვევაში ცარიელია."),
				field("attendance", "integer", "How many people attended, as last corrected; empty unless held.", "დამსწრეთა რაოდენობა, ბოლო შესწორებით; ცარიელია, თუ არ ჩატარებულა.", count),
				field("corrections", "integer", "How many times the attendance was corrected; empty unless held.", "რამდენჯერ შესწორდა დასწრება; ცარიელია, თუ არ ჩატარებულა.", minimum("0")),
			},
			PrimaryKey:  []string{"id"},
			ForeignKeys: []ForeignKey{fk("project", "projects", "id"), fk("municipality", "municipalities", "code"), fk("region", "regions", "code"), fk("cycle", "budget_cycles", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				var out [][]string
				err := c.pages(ctx, activitiesQuery, nil, "activities", func(a any) error {
					out = append(out, []string{str(a, "id"), str(a, "type"), str(a, "title.ka"), str(a, "title.en"), str(a, "topic"), str(a, "channel"), joined(a, "organisers", "id"),
						str(a, "project.id"), str(a, "cycle"), str(a, "municipality.code"), str(a, "region.code"), str(a, "place"), str(a, "start"), str(a, "end"), str(a, "status"), str(a, "reason"),
						str(a, "attendance.total"), str(a, "attendance.corrections")})
					return nil
				})
				return out, err
			},
		},
		{
			Name: "attendance", TitleEn: "Attendance by year, municipality and kind of activity", TitleKa: "დასწრება წლის, მუნიციპალიტეტისა და აქტივობის სახის მიხედვით",
			En:     "Held activities and their attendees, by the year of the activity's first day, municipality and kind of activity: the totals the attendance_by tables break down.",
			Ka:     "ჩატარებული აქტივობები და მათი დამსწრეები აქტივობის პირველი დღის წლის, მუნიციპალიტეტისა და აქტივობის სახის მიხედვით: ჯამები, რომლებსაც attendance_by ცხრილები შლიან.",
			Source: "participationTrend(groupBy: [YEAR, MUNICIPALITY, ACTIVITY_TYPE])",
			Fields: append(append([]Field{}, attendanceKey...),
				field("activities", "integer", "Held activities.", "ჩატარებული აქტივობები.", required, minimum("1"), unit("activities")),
				field("attendance", "integer", "Attendees, each activity's as last corrected.", "დამსწრეები, თითოეული აქტივობის ბოლო შესწორებით.", required, count)),
			PrimaryKey:  []string{"year", "municipality", "activity_type"},
			ForeignKeys: attendanceFKs,
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				years, err := b.trendYears(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, y := range years {
					rows, err := b.yearTrend(ctx, c, y, nil)
					if err != nil {
						return nil, err
					}
					for _, r := range rows {
						out = append(out, []string{y, str(r, "municipality.region.code"), str(r, "municipality.code"), str(r, "activityType"), str(r, "activities"), str(r, "attendance")})
					}
				}
				return out, nil
			},
		},
		{
			Name: "participation_by_region", TitleEn: "Participation by year and region, per 1,000 inhabitants", TitleKa: "მონაწილეობა წლისა და რეგიონის მიხედვით, 1000 მცხოვრებზე",
			En:     "Held activities and attendees by year and region, with the region's 2014 census population and the attendance per 1,000 inhabitants.",
			Ka:     "ჩატარებული აქტივობები და დამსწრეები წლისა და რეგიონის მიხედვით, რეგიონის მოსახლეობით 2014 წლის აღწერით და დასწრებით 1000 მცხოვრებზე.",
			Source: "participationTrend(groupBy: [YEAR, REGION], perCapita: true)",
			Fields: []Field{
				fYear, withReq(fRegion),
				field("activities", "integer", "Held activities.", "ჩატარებული აქტივობები.", required, minimum("1"), unit("activities")),
				field("attendance", "integer", "Attendees.", "დამსწრეები.", required, count),
				field("population_2014", "integer", "The region's population at the 2014 census; empty without a figure.", "რეგიონის მოსახლეობა 2014 წლის აღწერით; ცარიელია მონაცემის გარეშე.", unit("people"), minimum("0")),
				field("attendance_per_1000", "number", "Attendees per 1,000 inhabitants (2014 census), to two decimals; empty without a population.", "დამსწრეები 1000 მცხოვრებზე (2014 წლის აღწერა), ორი ათწილადით; ცარიელია მოსახლეობის მონაცემის გარეშე.", unit("attendees per 1,000 inhabitants"), minimum("0")),
			},
			PrimaryKey:  []string{"year", "region"},
			ForeignKeys: []ForeignKey{fk("region", "regions", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, `{ participationTrend(groupBy: [YEAR, REGION], perCapita: true) { year region { code } activities attendance population attendancePer1000 } }`, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range list(d, "participationTrend") {
					out = append(out, []string{str(r, "year"), str(r, "region.code"), str(r, "activities"), str(r, "attendance"), str(r, "population"), str(r, "attendancePer1000")})
				}
				return out, nil
			},
		},
	}
	for i := range attendeeDims {
		ts = append(ts, attendanceBy(&attendeeDims[i]))
	}
	return ts
}

// attendanceBy is the table of attendance by one attendee dimension, with
// small counts suppressed: one row for every category of every group of
// the attendance table, zeros included, so that each group's cells add
// up to its total there and suppress can protect them.
func attendanceBy(dim *attendeeDim) *Table {
	return &Table{
		Name:    dim.table,
		TitleEn: "Attendance by " + dim.column + " (small counts suppressed)", TitleKa: "დასწრება ჭრილში: " + dim.column + " (მცირე რიცხვები დაფარულია)",
		En:     "Attendees of held activities by year, municipality, kind of activity and " + dim.column + ": every category of every group of attendance.csv, zeros included; the categories of a group add up to its attendance there. Counts from 1 to 4 are suppressed, and more cells where one could be worked out from the total (README: suppression).",
		Ka:     "ჩატარებული აქტივობების დამსწრეები წლის, მუნიციპალიტეტის, აქტივობის სახისა და ჭრილის (" + dim.column + ") მიხედვით: attendance.csv-ის ყოველი ჯგუფის ყოველი კატეგორია, ნულების ჩათვლით; ჯგუფის კატეგორიების ჯამი იქ მოცემულ დასწრებას უდრის. 1-დან 4-მდე რიცხვები დაფარულია, ისევე როგორც დამატებითი უჯრები, რომლებითაც დაფარული რიცხვის გამოთვლა ჯამიდან იქნებოდა შესაძლებელი (README: დაფარვა).",
		Source: "participationTrend(groupBy: [YEAR, MUNICIPALITY, ACTIVITY_TYPE, " + dim.dim + "])",
		Fields: append(append([]Field{}, attendanceKey...),
			field(dim.column, "string", dim.en, dim.ka, required, enum(dim.categories...)),
			field("attendance", "integer", "Attendees of the category; \""+Suppressed+"\" where suppressed (a JSON null).", "კატეგორიის დამსწრეები; \""+Suppressed+"\", სადაც დაფარულია (JSON-ში null).", required, count, suppressible)),
		PrimaryKey:  []string{"year", "municipality", "activity_type", dim.column},
		ForeignKeys: append(append([]ForeignKey{}, attendanceFKs...), ForeignKey{Fields: []string{"year", "municipality", "activity_type"}, Resource: "attendance", Ref: []string{"year", "municipality", "activity_type"}}),
		rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
			years, err := b.trendYears(ctx, c)
			if err != nil {
				return nil, err
			}
			var out [][]string
			for _, y := range years {
				totals, err := b.yearTrend(ctx, c, y, nil)
				if err != nil {
					return nil, err
				}
				rows, err := b.yearTrend(ctx, c, y, dim)
				if err != nil {
					return nil, err
				}
				byGroup := map[[2]string]map[string]int{}
				for _, r := range rows {
					g := [2]string{str(r, "municipality.code"), str(r, "activityType")}
					if byGroup[g] == nil {
						byGroup[g] = map[string]int{}
					}
					n, err := atoi(str(r, "attendance"))
					if err != nil {
						return nil, err
					}
					byGroup[g][str(r, dim.field)] += n
				}
				for _, t := range totals {
					g := [2]string{str(t, "municipality.code"), str(t, "activityType")}
					total, err := atoi(str(t, "attendance"))
					if err != nil {
						return nil, err
					}
					counts := make([]int, len(dim.categories))
					sum := 0
					for i, cat := range dim.categories {
						counts[i] = byGroup[g][cat]
						sum += counts[i]
					}
					// Complementary suppression rests on the categories
					// adding up to the published total: a category this
					// code does not know would break that, so it stops.
					if sum != total {
						return nil, fmt.Errorf("open data: %s %s %s %s: the categories add up to %d, the total is %d", dim.table, y, g[0], g[1], sum, total)
					}
					for i, cell := range cells(counts) {
						out = append(out, []string{y, str(t, "municipality.region.code"), g[0], g[1], dim.categories[i], cell})
					}
				}
			}
			return out, nil
		},
	}
}
