package opendata

import "context"

const cyclesQuery = `{ certificationCycles { year title { ka en } schedule { callOpens applicationDeadline questionnaireDeadline resultsDate ceremonyDate }
  rules { version expertsRequired passScore criterionMinimum validityMonths } } }`

// cycleCounts are the columns of a cycle's counts, in the API's order.
var cycleCounts = []struct{ name, api, en, ka string }{
	{"applied", "applied", "Applications started, withdrawn ones included.", "დაწყებული განაცხადები, გამოთხოვილების ჩათვლით."},
	{"submitted", "submitted", "Applications submitted, withdrawn ones included.", "წარდგენილი განაცხადები, გამოთხოვილების ჩათვლით."},
	{"withdrawn", "withdrawn", "Applications withdrawn.", "გამოთხოვილი განაცხადები."},
	{"complete", "complete", "Applications whose last completeness check found them complete.", "განაცხადები, რომლებიც ბოლო შემოწმებით სრულად იქნა მიჩნეული."},
	{"decided", "decided", "Applications decided.", "განაცხადები, რომლებზეც გადაწყვეტილება მიღებულია."},
	{"announced", "announced", "Results announced.", "გამოცხადებული შედეგები."},
	{"certified", "certified", "Certificates issued, revoked ones included.", "გაცემული სერტიფიკატები, გაუქმებულების ჩათვლით."},
	{"revoked", "revoked", "Certificates revoked.", "გაუქმებული სერტიფიკატები."},
}

func certificationTables() []*Table {
	statFields := []Field{
		field("year", "integer", "The cycle's year.", "ციკლის წელი.", required),
		field("scope", "string", "A region's code (regions.csv), or georgia for the whole cycle.", "რეგიონის კოდი (regions.csv), ან georgia მთელი ციკლისთვის.", required),
	}
	for _, k := range cycleCounts {
		statFields = append(statFields, field(k.name, "integer", k.en, k.ka, required, minimum("0"), unit("applications")))
	}
	return []*Table{
		{
			Name: "certification_cycles", TitleEn: "Certification cycles", TitleKa: "სერტიფიცირების ციკლები",
			En:     "Each year's certification of municipalities in participatory budgeting: its calendar and the rules in force.",
			Ka:     "მუნიციპალიტეტების ყოველწლიური სერტიფიცირება სამოქალაქო ბიუჯეტში: კალენდარი და მოქმედი წესები.",
			Source: "certificationCycles",
			Fields: []Field{
				field("year", "integer", "The cycle's year: its call opens in it.", "ციკლის წელი: მასში იხსნება კონკურსი.", required),
				field("title_ka", "string", "The cycle's title in Georgian.", "ციკლის სათაური ქართულად.", required),
				field("title_en", "string", "The cycle's title in English.", "ციკლის სათაური ინგლისურად."),
				field("call_opens", "date", "The first day municipalities may be nominated, apply and submit.", "პირველი დღე, როცა მუნიციპალიტეტების ნომინირება, განაცხადი და წარდგენაა შესაძლებელი.", required),
				field("application_deadline", "date", "The last day to nominate, apply and submit (included).", "ნომინირების, განაცხადისა და წარდგენის ბოლო დღე (ჩათვლით).", required),
				field("questionnaire_deadline", "date", "The last day a draft's answers may be saved.", "ანკეტის პასუხების შენახვის ბოლო დღე.", required),
				field("results_date", "date", "The first day results may be announced.", "პირველი დღე, როცა შედეგების გამოცხადებაა შესაძლებელი.", required),
				field("ceremony_date", "date", "The first day certificates may be awarded, at the ceremony.", "პირველი დღე, როცა სერტიფიკატების გადაცემაა შესაძლებელი ცერემონიაზე.", required),
				field("rules_version", "integer", "The version of the rules in force, from 1.", "მოქმედი წესების ვერსია, 1-დან.", required, minimum("1")),
				field("experts_required", "integer", "Experts free of conflicts who must have scored every criterion.", "ინტერესთა კონფლიქტის არმქონე ექსპერტების რაოდენობა, რომლებმაც ყველა კრიტერიუმი უნდა შეაფასონ.", required, minimum("0"), unit("experts")),
				field("pass_score", "number", "Weighted score, 0 to 100, at or above which the recommendation is to certify.", "შეწონილი ქულა (0-100), რომლიდანაც რეკომენდაცია სერტიფიცირებაა.", required, minimum("0"), maximum("100"), unit("points of 100")),
				field("criterion_minimum", "number", "Least score, 0 to 100, each criterion must reach; 0 for none.", "მინიმალური ქულა (0-100), რომელსაც ყოველი კრიტერიუმი უნდა მიაღწიოს; 0, თუ არ არის.", required, minimum("0"), maximum("100"), unit("points of 100")),
				field("validity_months", "integer", "How long a certificate is valid, in months from the announcement.", "სერტიფიკატის მოქმედების ვადა თვეებში გამოცხადებიდან.", required, minimum("1"), unit("months")),
			},
			PrimaryKey: []string{"year"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, cyclesQuery, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, y := range list(d, "certificationCycles") {
					out = append(out, []string{str(y, "year"), str(y, "title.ka"), str(y, "title.en"), str(y, "schedule.callOpens"), str(y, "schedule.applicationDeadline"),
						str(y, "schedule.questionnaireDeadline"), str(y, "schedule.resultsDate"), str(y, "schedule.ceremonyDate"), str(y, "rules.version"),
						str(y, "rules.expertsRequired"), str(y, "rules.passScore"), str(y, "rules.criterionMinimum"), str(y, "rules.validityMonths")})
				}
				return out, nil
			},
		},
		{
			Name: "certificates", TitleEn: "Certificate registry", TitleKa: "სერტიფიკატების რეესტრი",
			En:     "The public registry of certificates issued to municipalities, with each one's standing on the export's day.",
			Ka:     "მუნიციპალიტეტებზე გაცემული სერტიფიკატების საჯარო რეესტრი, თითოეულის სტატუსით ექსპორტის დღისთვის.",
			Source: "certificates",
			Fields: []Field{
				field("number", "string", "The certificate's number: CB-<year>-<MUNICIPALITY>.", "სერტიფიკატის ნომერი: CB-<წელი>-<მუნიციპალიტეტი>.", required),
				field("application_id", "string", "The ID of the application it was issued on (<year>-<municipality>).", "განაცხადის იდენტიფიკატორი, რომლის საფუძველზეც გაიცა (<წელი>-<მუნიციპალიტეტი>).", required),
				field("year", "integer", "The cycle's year: certification_cycles.csv.", "ციკლის წელი: certification_cycles.csv.", required),
				withReq(fMuni), withReq(fRegion),
				field("valid_from", "date", "Its first valid day: the day the result was announced.", "მოქმედების პირველი დღე: შედეგის გამოცხადების დღე.", required),
				field("valid_until", "date", "Its last valid day.", "მოქმედების ბოლო დღე.", required),
				field("status", "string", "Its standing on the export's day (Tbilisi): VALID, EXPIRED or REVOKED.", "სტატუსი ექსპორტის დღისთვის (თბილისი): VALID (მოქმედი), EXPIRED (ვადაგასული) ან REVOKED (გაუქმებული).", required, enum("VALID", "EXPIRED", "REVOKED")),
				field("awarded_on", "date", "The day it was handed over at the ceremony; empty before.", "ცერემონიაზე გადაცემის დღე; მანამდე ცარიელია."),
				field("revoked_on", "date", "The day it was revoked; empty unless revoked.", "გაუქმების დღე; ცარიელია, თუ არ გაუქმებულა."),
				field("revoked_reason", "string", "Why it was revoked; empty unless revoked.", "გაუქმების მიზეზი; ცარიელია, თუ არ გაუქმებულა."),
				field("recommendations_ka", "string", "The consortium's recommendations to the municipality in Georgian, separated by \" | \".", "კონსორციუმის რეკომენდაციები მუნიციპალიტეტს ქართულად, გამოყოფილი \" | \"-ით."),
				field("recommendations_en", "string", "The same in English, separated by \" | \".", "იგივე ინგლისურად, გამოყოფილი \" | \"-ით."),
				field("progress_ka", "string", "The consortium's assessment of progress since the previous certificate, in Georgian; empty when none was given.", "კონსორციუმის შეფასება წინა სერტიფიკატის შემდეგ პროგრესზე, ქართულად; ცარიელია, თუ არ მიცემულა."),
				field("progress_en", "string", "The same in English.", "იგივე ინგლისურად."),
			},
			PrimaryKey:  []string{"number"},
			ForeignKeys: []ForeignKey{fk("year", "certification_cycles", "year"), fk("municipality", "municipalities", "code"), fk("region", "regions", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, `{ certificates { number applicationId year municipality { code region { code } } validFrom validUntil status awardedOn revokedOn revokedReason recommendations { ka en } progress { ka en } } }`, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, x := range list(d, "certificates") {
					out = append(out, []string{str(x, "number"), str(x, "applicationId"), str(x, "year"), str(x, "municipality.code"), str(x, "municipality.region.code"),
						str(x, "validFrom"), str(x, "validUntil"), str(x, "status"), str(x, "awardedOn"), str(x, "revokedOn"), str(x, "revokedReason"),
						joinedWith(x, "recommendations", "ka", " | "), joinedWith(x, "recommendations", "en", " | "), str(x, "progress.ka"), str(x, "progress.en")})
				}
				return out, nil
			},
		},
		{
			Name: "certification_statistics", TitleEn: "Certification cycle statistics", TitleKa: "სერტიფიცირების ციკლის სტატისტიკა",
			En:     "How each cycle went, in total and by region: applications by the furthest stage each reached. Counts of municipalities, not of people, so nothing is suppressed.",
			Ka:     "როგორ წარიმართა თითოეული ციკლი, ჯამში და რეგიონების მიხედვით: განაცხადები მიღწეული ყველაზე შორეული ეტაპის მიხედვით. მუნიციპალიტეტების და არა ადამიანების რაოდენობაა, ამიტომ არაფერია დაფარული.",
			Source: "cycleStatistics(year)",
			Fields: statFields, PrimaryKey: []string{"year", "scope"},
			ForeignKeys: []ForeignKey{fk("year", "certification_cycles", "year")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, cyclesQuery, nil)
				if err != nil {
					return nil, err
				}
				sel := ""
				for _, k := range cycleCounts {
					sel += " " + k.api
				}
				var out [][]string
				for _, y := range list(d, "certificationCycles") {
					s, err := c.query(ctx, `query($y: Int!) { cycleStatistics(year: $y) { total {`+sel+` } byRegion { region { code } counts {`+sel+` } } } }`, map[string]any{"y": at(y, "year")})
					if err != nil {
						return nil, err
					}
					row := func(scope string, counts any) {
						r := []string{str(y, "year"), scope}
						for _, k := range cycleCounts {
							r = append(r, str(counts, k.api))
						}
						out = append(out, r)
					}
					row("georgia", at(s, "cycleStatistics.total"))
					for _, r := range list(s, "cycleStatistics.byRegion") {
						row(str(r, "region.code"), at(r, "counts"))
					}
				}
				return out, nil
			},
		},
	}
}
