package opendata

import "context"

// projectsQuery reads the donor projects with their indicators' progress
// on the export's day (Tbilisi); the lead, a person, is personal data and
// not asked for.
const projectsQuery = `query($on: Date) { projects { id title { ka en } implementers { id name { ka en } } partners { id name { ka en } } start end
  regions { code name { ka en } } municipalities { code name { ka en } } objectives { ka en } total { amount currency }
  contributions { donor { id name { ka en } } amount { amount currency } }
  indicators(on: $on) { id resultType result { ka en } title { ka en } unit higherIsBetter baseline baselineYear
    targets { start end value } target { start end value } actual percent elapsed status } } }`

func (b *build) projects(ctx context.Context, c *client) (any, error) {
	return c.query(ctx, projectsQuery, map[string]any{"on": b.day})
}

func projectTables() []*Table {
	fProject := field("project", "string", "The project's code: projects.csv.", "პროექტის კოდი: projects.csv.", required)
	return []*Table{
		{
			Name: "projects", TitleEn: "Donor projects", TitleKa: "დონორული პროექტები",
			En:     "Donor-funded projects: who carries them out, when, where and with what budget. The project lead's name is personal data and is not published.",
			Ka:     "დონორების მიერ დაფინანსებული პროექტები: ვინ ახორციელებს, როდის, სად და რა ბიუჯეტით. პროექტის ხელმძღვანელის სახელი პერსონალური მონაცემია და არ ქვეყნდება.",
			Source: "projects",
			Fields: []Field{
				field("id", "string", "The project's code, such as heks-eper-2022.", "პროექტის კოდი, მაგალითად heks-eper-2022.", required),
				field("title_ka", "string", "The project's title in Georgian.", "პროექტის სათაური ქართულად.", required),
				field("title_en", "string", "The project's title in English; empty without a translation.", "პროექტის სათაური ინგლისურად; ცარიელია თარგმანის გარეშე."),
				field("implementers", "string", "The IDs of the organisations carrying it out (organisations.csv), separated by \"; \".", "განმახორციელებელი ორგანიზაციების იდენტიფიკატორები (organisations.csv), გამოყოფილი \"; \"-ით.", required),
				field("partners", "string", "The IDs of the organisations it works with (organisations.csv), separated by \"; \"; empty when none.", "პარტნიორი ორგანიზაციების იდენტიფიკატორები (organisations.csv), გამოყოფილი \"; \"-ით; ცარიელია, თუ არ არის."),
				field("start", "date", "The project's first day.", "პროექტის პირველი დღე.", required),
				field("end", "date", "The project's last day.", "პროექტის ბოლო დღე.", required),
				field("regions", "string", "The codes of the regions it works in (regions.csv), separated by \"; \".", "რეგიონების კოდები, სადაც მუშაობს (regions.csv), გამოყოფილი \"; \"-ით."),
				field("municipalities", "string", "The codes of the municipalities it works in (municipalities.csv), separated by \"; \".", "მუნიციპალიტეტების კოდები, სადაც მუშაობს (municipalities.csv), გამოყოფილი \"; \"-ით."),
				field("objectives_ka", "string", "Its objectives in Georgian, separated by \" | \".", "მიზნები ქართულად, გამოყოფილი \" | \"-ით."),
				field("objectives_en", "string", "Its objectives in English, separated by \" | \".", "მიზნები ინგლისურად, გამოყოფილი \" | \"-ით."),
				field("budget", "number", "The whole budget in the currency of the currency column, exact to the cent; empty when the sources do not disclose it.", "მთლიანი ბიუჯეტი currency სვეტის ვალუტაში, თეთრის სიზუსტით; ცარიელია, თუ წყაროები მას არ ამჟღავნებენ.", unit("currency"), minimum("0")),
				field("currency", "string", "The ISO 4217 code of the budget, such as EUR; empty without a budget.", "ბიუჯეტის ვალუტის ISO 4217 კოდი, მაგალითად EUR; ცარიელია ბიუჯეტის გარეშე."),
			},
			PrimaryKey: []string{"id"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := b.projects(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, p := range list(d, "projects") {
					out = append(out, []string{str(p, "id"), str(p, "title.ka"), str(p, "title.en"), joined(p, "implementers", "id"), joined(p, "partners", "id"),
						str(p, "start"), str(p, "end"), joined(p, "regions", "code"), joined(p, "municipalities", "code"),
						joinedWith(p, "objectives", "ka", " | "), joinedWith(p, "objectives", "en", " | "), str(p, "total.amount"), str(p, "total.currency")})
				}
				return out, nil
			},
		},
		{
			Name: "project_contributions", TitleEn: "Donors' contributions", TitleKa: "დონორების შენატანები",
			En: "Each donor's contribution to a project's budget, in the order recorded.", Ka: "თითოეული დონორის შენატანი პროექტის ბიუჯეტში, ჩაწერის თანმიმდევრობით.",
			Source: "projects { contributions }",
			Fields: []Field{
				fProject,
				field("position", "integer", "The contribution's place in the project's list, from 1.", "შენატანის რიგითი ნომერი პროექტის სიაში, 1-დან.", required, minimum("1")),
				field("donor", "string", "The donor organisation's ID: organisations.csv.", "დონორი ორგანიზაციის იდენტიფიკატორი: organisations.csv.", required),
				field("amount", "number", "The amount, in the currency of the currency column.", "თანხა currency სვეტის ვალუტაში.", required, unit("currency"), minimum("0")),
				field("currency", "string", "The ISO 4217 code of the amount.", "თანხის ვალუტის ISO 4217 კოდი.", required),
			},
			PrimaryKey:  []string{"project", "position"},
			ForeignKeys: []ForeignKey{fk("project", "projects", "id"), fk("donor", "organisations", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := b.projects(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, p := range list(d, "projects") {
					for i, k := range list(p, "contributions") {
						out = append(out, []string{str(p, "id"), itoa(i + 1), str(k, "donor.id"), str(k, "amount.amount"), str(k, "amount.currency")})
					}
				}
				return out, nil
			},
		},
		{
			Name: "project_indicators", TitleEn: "Project indicators and their progress", TitleKa: "პროექტის ინდიკატორები და პროგრესი",
			En:     "Each indicator of a project's results with its progress on the export's day (see README: the day).",
			Ka:     "პროექტის შედეგების თითოეული ინდიკატორი და მისი პროგრესი ექსპორტის დღისთვის (იხ. README: დღე).",
			Source: "projects { indicators(on) }",
			Fields: []Field{
				fProject,
				field("indicator", "string", "The indicator's code within the project, such as lg-trained.", "ინდიკატორის კოდი პროექტში, მაგალითად lg-trained.", required),
				field("result_type", "string", "The level of the result, after the IATI results model: OUTPUT, OUTCOME or IMPACT.", "შედეგის დონე IATI-ს შედეგების მოდელით: OUTPUT (პროდუქტი), OUTCOME (შედეგი) ან IMPACT (ზეგავლენა).", required, enum("OUTPUT", "OUTCOME", "IMPACT")),
				field("result_ka", "string", "The result it measures, in Georgian.", "შედეგი, რომელსაც ზომავს, ქართულად.", required),
				field("result_en", "string", "The result it measures, in English.", "შედეგი, რომელსაც ზომავს, ინგლისურად."),
				field("title_ka", "string", "What it measures, in Georgian.", "რას ზომავს, ქართულად.", required),
				field("title_en", "string", "What it measures, in English.", "რას ზომავს, ინგლისურად."),
				field("unit", "string", "What it counts: COUNT (actuals add up), PERCENT (the latest stands), CURRENCY (actuals add up) or QUALITATIVE.", "რას ითვლის: COUNT (რაოდენობა, ჯამდება), PERCENT (პროცენტი, ბოლო მნიშვნელობა), CURRENCY (თანხა, ჯამდება) ან QUALITATIVE (თვისებრივი).", required, enum("COUNT", "PERCENT", "CURRENCY", "QUALITATIVE")),
				field("higher_is_better", "boolean", "true when a higher figure is progress.", "true, თუ უფრო მაღალი მაჩვენებელი პროგრესია.", required),
				field("baseline", "number", "Where the place stood before the project, in the indicator's unit; 0 when not given.", "საწყისი მდგომარეობა პროექტამდე, ინდიკატორის ერთეულში; 0, თუ არ არის მითითებული.", required, unit("indicator unit")),
				field("baseline_year", "integer", "The baseline's year; empty when unknown.", "საწყისი მაჩვენებლის წელი; ცარიელია, თუ უცნობია."),
				field("target_start", "date", "The first day of the target covering the export's day (or the last target once all are past); empty before any.", "სამიზნე პერიოდის პირველი დღე, რომელიც ექსპორტის დღეს მოიცავს (ან ბოლო სამიზნე, თუ ყველა გავიდა); ცარიელია, თუ ჯერ არცერთი არ დაწყებულა."),
				field("target_end", "date", "That target's last day.", "ამ სამიზნის ბოლო დღე."),
				field("target", "number", "That target's figure, in the indicator's unit.", "ამ სამიზნის მაჩვენებელი, ინდიკატორის ერთეულში.", unit("indicator unit")),
				field("actual", "number", "Counts and amounts: the sum of the actuals within the target's period reported by the day; percentages and qualitative indicators: the latest. 0 without a target.", "რაოდენობა და თანხა: სამიზნე პერიოდში დღემდე ანგარიშებული ფაქტობრივი მაჩვენებლების ჯამი; პროცენტი და თვისებრივი: ბოლო. 0 სამიზნის გარეშე.", required, unit("indicator unit")),
				field("percent", "number", "Percent of the way from the baseline to the target, two decimals; may pass 100 or fall below 0.", "გავლილი გზის პროცენტი საწყისიდან სამიზნემდე, ორი ათწილადით; შეიძლება აღემატებოდეს 100-ს ან იყოს 0-ზე ნაკლები.", required, unit("percent")),
				field("elapsed", "number", "Percent (0-100) of the target's period gone by on the day.", "სამიზნე პერიოდის განვლილი ნაწილი პროცენტებში (0-100) ამ დღისთვის.", required, unit("percent"), minimum("0"), maximum("100")),
				field("status", "string", "ON_TRACK, AT_RISK, MISSED, ACHIEVED, NO_TARGET or NOT_MEASURED (qualitative).", "ON_TRACK (გეგმის მიხედვით), AT_RISK (რისკის ქვეშ), MISSED (ვერ მიღწეული), ACHIEVED (მიღწეული), NO_TARGET (სამიზნის გარეშე) ან NOT_MEASURED (თვისებრივი).", required, enum("ON_TRACK", "AT_RISK", "MISSED", "ACHIEVED", "NO_TARGET", "NOT_MEASURED")),
			},
			PrimaryKey:  []string{"project", "indicator"},
			ForeignKeys: []ForeignKey{fk("project", "projects", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := b.projects(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, p := range list(d, "projects") {
					for _, i := range list(p, "indicators") {
						out = append(out, []string{str(p, "id"), str(i, "id"), str(i, "resultType"), str(i, "result.ka"), str(i, "result.en"), str(i, "title.ka"), str(i, "title.en"),
							str(i, "unit"), str(i, "higherIsBetter"), str(i, "baseline"), str(i, "baselineYear"), str(i, "target.start"), str(i, "target.end"), str(i, "target.value"),
							str(i, "actual"), str(i, "percent"), str(i, "elapsed"), str(i, "status")})
					}
				}
				return out, nil
			},
		},
		{
			Name: "project_targets", TitleEn: "Indicator targets", TitleKa: "ინდიკატორების სამიზნეები",
			En: "Every target of every indicator, by start day.", Ka: "ყოველი ინდიკატორის ყოველი სამიზნე, დაწყების დღის მიხედვით.",
			Source: "projects { indicators { targets } }",
			Fields: []Field{
				fProject,
				field("indicator", "string", "The indicator's code: project_indicators.csv.", "ინდიკატორის კოდი: project_indicators.csv.", required),
				field("start", "date", "The target period's first day.", "სამიზნე პერიოდის პირველი დღე.", required),
				field("end", "date", "The target period's last day.", "სამიზნე პერიოდის ბოლო დღე.", required),
				field("value", "number", "The figure to reach by end, in the indicator's unit.", "მაჩვენებელი, რომელიც ბოლო დღემდე უნდა იქნეს მიღწეული, ინდიკატორის ერთეულში.", required, unit("indicator unit")),
			},
			PrimaryKey:  []string{"project", "indicator", "start"},
			ForeignKeys: []ForeignKey{{Fields: []string{"project", "indicator"}, Resource: "project_indicators", Ref: []string{"project", "indicator"}}},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := b.projects(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, p := range list(d, "projects") {
					for _, i := range list(p, "indicators") {
						for _, t := range list(i, "targets") {
							out = append(out, []string{str(p, "id"), str(i, "id"), str(t, "start"), str(t, "end"), str(t, "value")})
						}
					}
				}
				return out, nil
			},
		},
	}
}

// joinedWith is joined with another separator, for texts that may hold
// "; " themselves.
func joinedWith(v any, listPath, path, sep string) string {
	s := ""
	for i, e := range list(v, listPath) {
		if i > 0 {
			s += sep
		}
		s += str(e, path)
	}
	return s
}
