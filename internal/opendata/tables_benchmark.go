package opendata

import "context"

const roundsQuery = `{ benchmarkRounds { id title { ka en } year methodVersion assessmentEnd commentsUntil preliminarySharedOn publishedOn average municipalities { code } } }`

// publishedRounds are the rounds the API says are published: their
// rankings and scores are public, the others' are not (the API refuses
// them to anonymous callers).
func (b *build) publishedRounds(ctx context.Context, c *client) ([]any, error) {
	d, err := c.query(ctx, roundsQuery, nil)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, r := range list(d, "benchmarkRounds") {
		if at(r, "publishedOn") != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

var fRound = field("round", "string", "The round's ID: benchmark_rounds.csv.", "რაუნდის იდენტიფიკატორი: benchmark_rounds.csv.", required)

func benchmarkTables() []*Table {
	return []*Table{
		{
			Name: "benchmark_rounds", TitleEn: "Civic-engagement benchmark rounds", TitleKa: "სამოქალაქო ჩართულობის ბენჩმარკინგის რაუნდები",
			En:     "The rounds of the benchmark comparing municipalities' civic engagement, published or not; scores only of published ones are in the other benchmark tables.",
			Ka:     "მუნიციპალიტეტების სამოქალაქო ჩართულობის შედარების რაუნდები, გამოქვეყნებული თუ არა; ქულები მხოლოდ გამოქვეყნებული რაუნდებისაა სხვა ცხრილებში.",
			Source: "benchmarkRounds",
			Fields: []Field{
				field("id", "string", "The round's ID, such as 2025.", "რაუნდის იდენტიფიკატორი, მაგალითად 2025.", required),
				field("title_ka", "string", "The title in Georgian.", "სათაური ქართულად.", required),
				field("title_en", "string", "The title in English.", "სათაური ინგლისურად."),
				field("year", "integer", "The year judged.", "შესაფასებელი წელი.", required),
				field("method_version", "integer", "The version of the method it is scored under: benchmark_indicators.csv.", "მეთოდის ვერსია, რომლითაც ფასდება: benchmark_indicators.csv.", required, minimum("1")),
				field("municipalities", "integer", "How many municipalities it covers.", "რამდენ მუნიციპალიტეტს მოიცავს.", required, minimum("0"), unit("municipalities")),
				field("assessment_end", "date", "Scores are given until this day.", "ქულები ამ დღემდე ისმება.", required),
				field("comments_until", "date", "The last day of the comment window.", "კომენტარების ფანჯრის ბოლო დღე.", required),
				field("preliminary_shared_on", "date", "The day preliminary results were shared with the municipalities; empty before.", "წინასწარი შედეგების მუნიციპალიტეტებისთვის გაზიარების დღე; მანამდე ცარიელია."),
				field("published_on", "date", "The day it was published; empty before.", "გამოქვეყნების დღე; მანამდე ცარიელია."),
				field("average", "number", "The mean of the published totals, in percent; empty before publication.", "გამოქვეყნებული ჯამების საშუალო, პროცენტებში; გამოქვეყნებამდე ცარიელია.", unit("percent"), minimum("0"), maximum("100")),
			},
			PrimaryKey: []string{"id"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, roundsQuery, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range list(d, "benchmarkRounds") {
					out = append(out, []string{str(r, "id"), str(r, "title.ka"), str(r, "title.en"), str(r, "year"), str(r, "methodVersion"), itoa(len(list(r, "municipalities"))),
						str(r, "assessmentEnd"), str(r, "commentsUntil"), str(r, "preliminarySharedOn"), str(r, "publishedOn"), str(r, "average")})
				}
				return out, nil
			},
		},
		{
			Name: "benchmark_indicators", TitleEn: "Benchmark method: indicators", TitleKa: "ბენჩმარკინგის მეთოდი: ინდიკატორები",
			En:     "Every indicator of every published version of the method, with its block and the block's weight.",
			Ka:     "მეთოდის ყოველი გამოქვეყნებული ვერსიის ყოველი ინდიკატორი, მისი ბლოკითა და ბლოკის წონით.",
			Source: "benchmarkMethod(version)",
			Fields: []Field{
				field("method_version", "integer", "The method's version.", "მეთოდის ვერსია.", required, minimum("1")),
				field("indicator", "string", "The indicator's code.", "ინდიკატორის კოდი.", required),
				field("block", "string", "The code of its block.", "მისი ბლოკის კოდი.", required),
				field("block_name_ka", "string", "The block's name in Georgian.", "ბლოკის სახელწოდება ქართულად.", required),
				field("block_name_en", "string", "The block's name in English.", "ბლოკის სახელწოდება ინგლისურად."),
				field("block_weight", "integer", "The block's weight in the total; the blocks' weights add up to 100.", "ბლოკის წონა ჯამში; ბლოკების წონების ჯამი 100-ია.", required, minimum("0"), maximum("100")),
				field("question_ka", "string", "The question, in Georgian.", "კითხვა ქართულად.", required),
				field("question_en", "string", "The question, in English.", "კითხვა ინგლისურად."),
				field("scale", "string", "How it is answered: YES_NO, POINTS (0 to scale_max), PERCENT or BANDED.", "როგორ პასუხობენ: YES_NO (კი/არა), POINTS (0-დან scale_max-მდე), PERCENT (პროცენტი) ან BANDED (დიაპაზონები).", required, enum("YES_NO", "POINTS", "PERCENT", "BANDED")),
				field("scale_max", "integer", "A points scale's top; empty for the others.", "ქულების შკალის მაქსიმუმი; სხვებისთვის ცარიელია.", minimum("0")),
				field("weight", "integer", "Its weight within its block.", "წონა ბლოკის შიგნით.", required, minimum("0")),
				field("body", "string", "The body judged: CITY_HALL, SAKREBULO or BOTH (each scored apart).", "შესაფასებელი ორგანო: CITY_HALL (მერია), SAKREBULO (საკრებულო) ან BOTH (ორივე, ცალ-ცალკე).", required, enum("CITY_HALL", "SAKREBULO", "BOTH")),
				field("evidence_required", "boolean", "Whether a score needs evidence.", "სჭირდება თუ არა ქულას მტკიცებულება.", required),
				field("computed", "string", "The ledger figure it is computed from (the API's benchmarkFigures); empty for a judged indicator.", "ლეჯერის მაჩვენებელი, რომლიდანაც გამოითვლება (API-ის benchmarkFigures); შეფასებითი ინდიკატორისთვის ცარიელია."),
			},
			PrimaryKey: []string{"method_version", "indicator"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, roundsQuery, nil)
				if err != nil {
					return nil, err
				}
				seen := map[string]bool{}
				var out [][]string
				for _, r := range list(d, "benchmarkRounds") {
					v := str(r, "methodVersion")
					if seen[v] {
						continue
					}
					seen[v] = true
					m, err := c.query(ctx, `query($v: Int!) { benchmarkMethod(version: $v) { blocks { code name { ka en } weight } indicators { code block question { ka en } scale { kind max } weight body evidenceRequired computed } } }`, map[string]any{"v": at(r, "methodVersion")})
					if err != nil {
						return nil, err
					}
					blocks := map[string]any{}
					for _, bl := range list(m, "benchmarkMethod.blocks") {
						blocks[str(bl, "code")] = bl
					}
					for _, i := range list(m, "benchmarkMethod.indicators") {
						bl := blocks[str(i, "block")]
						out = append(out, []string{v, str(i, "code"), str(i, "block"), str(bl, "name.ka"), str(bl, "name.en"), str(bl, "weight"), str(i, "question.ka"), str(i, "question.en"),
							str(i, "scale.kind"), str(i, "scale.max"), str(i, "weight"), str(i, "body"), str(i, "evidenceRequired"), str(i, "computed")})
					}
				}
				return out, nil
			},
		},
		{
			Name: "benchmark_rankings", TitleEn: "Benchmark rankings", TitleKa: "ბენჩმარკინგის რეიტინგები",
			En:     "Each published round's overall ranking: a municipality's total, band, bodies' scores and change against the previous published round. Rounds not published are not here: their scores are confidential until publication.",
			Ka:     "ყოველი გამოქვეყნებული რაუნდის საერთო რეიტინგი: მუნიციპალიტეტის ჯამური ქულა, დიაპაზონი, ორგანოების ქულები და ცვლილება წინა გამოქვეყნებულ რაუნდთან შედარებით. გამოუქვეყნებელი რაუნდები აქ არ არის: მათი ქულები გამოქვეყნებამდე კონფიდენციალურია.",
			Source: "ranking(round)",
			Fields: []Field{
				fRound, withReq(fMuni),
				field("rank", "integer", "1 for the highest; empty without a score.", "1 უმაღლესისთვის; ქულის გარეშე ცარიელია.", minimum("1")),
				field("score", "number", "The total, in percent; empty for no data.", "ჯამური ქულა პროცენტებში; მონაცემის გარეშე ცარიელია.", unit("percent"), minimum("0"), maximum("100")),
				field("band", "string", "The method's band of the score.", "ქულის დიაპაზონი მეთოდის მიხედვით."),
				field("coverage", "number", "The share of the method's weight that had data, 0 to 1.", "მეთოდის წონის წილი, რომელსაც მონაცემი ჰქონდა, 0-დან 1-მდე.", required, unit("fraction"), minimum("0"), maximum("1")),
				field("city_hall", "number", "City Hall's score, in percent; empty for no data.", "მერიის ქულა პროცენტებში; მონაცემის გარეშე ცარიელია.", unit("percent")),
				field("sakrebulo", "number", "The Sakrebulo's score, in percent; empty for no data.", "საკრებულოს ქულა პროცენტებში; მონაცემის გარეშე ცარიელია.", unit("percent")),
				field("previous_score", "number", "The total in the previous published round.", "ჯამური ქულა წინა გამოქვეყნებულ რაუნდში.", unit("percent")),
				field("previous_rank", "integer", "The rank in the previous published round.", "ადგილი წინა გამოქვეყნებულ რაუნდში."),
				field("change", "number", "Points gained since the previous round.", "წინა რაუნდის შემდეგ მოპოვებული ქულები.", unit("percentage points")),
				field("rank_change", "integer", "Places gained since the previous round.", "წინა რაუნდის შემდეგ მოპოვებული ადგილები.", unit("places")),
			},
			PrimaryKey:  []string{"round", "municipality"},
			ForeignKeys: []ForeignKey{fk("round", "benchmark_rounds", "id"), fk("municipality", "municipalities", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				rs, err := b.publishedRounds(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range rs {
					d, err := c.query(ctx, rankingQuery, map[string]any{"r": at(r, "id")})
					if err != nil {
						return nil, err
					}
					for _, e := range list(d, "ranking") {
						bodies := map[string]string{}
						for _, x := range list(e, "bodies") {
							bodies[str(x, "body")] = str(x, "score")
						}
						out = append(out, []string{str(r, "id"), str(e, "municipality.code"), str(e, "rank"), str(e, "score"), str(e, "band"), str(e, "coverage"),
							bodies["CITY_HALL"], bodies["SAKREBULO"], str(e, "previousScore"), str(e, "previousRank"), str(e, "change"), str(e, "rankChange")})
					}
				}
				return out, nil
			},
		},
		{
			Name: "benchmark_block_scores", TitleEn: "Benchmark block scores", TitleKa: "ბენჩმარკინგის ბლოკების ქულები",
			En: "Each municipality's score in each block of each published round.", Ka: "თითოეული მუნიციპალიტეტის ქულა ყოველი გამოქვეყნებული რაუნდის ყოველ ბლოკში.",
			Source: "ranking(round) { blocks }",
			Fields: []Field{fRound, withReq(fMuni),
				field("block", "string", "The block's code: benchmark_indicators.csv.", "ბლოკის კოდი: benchmark_indicators.csv.", required),
				field("score", "number", "The block's score, in percent; empty for no data.", "ბლოკის ქულა პროცენტებში; მონაცემის გარეშე ცარიელია.", unit("percent"), minimum("0"), maximum("100"))},
			PrimaryKey:  []string{"round", "municipality", "block"},
			ForeignKeys: []ForeignKey{{Fields: []string{"round", "municipality"}, Resource: "benchmark_rankings", Ref: []string{"round", "municipality"}}},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				rs, err := b.publishedRounds(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range rs {
					d, err := c.query(ctx, rankingQuery, map[string]any{"r": at(r, "id")})
					if err != nil {
						return nil, err
					}
					for _, e := range list(d, "ranking") {
						for _, x := range list(e, "blocks") {
							out = append(out, []string{str(r, "id"), str(e, "municipality.code"), str(x, "block"), str(x, "score")})
						}
					}
				}
				return out, nil
			},
		},
		{
			Name: "benchmark_scores", TitleEn: "Benchmark indicator values", TitleKa: "ბენჩმარკინგის ინდიკატორების მნიშვნელობები",
			En:     "Every indicator's value for each body of each municipality in each published round.",
			Ka:     "ყოველი ინდიკატორის მნიშვნელობა თითოეული მუნიციპალიტეტის თითოეული ორგანოსთვის ყოველ გამოქვეყნებულ რაუნდში.",
			Source: "compareMunicipalities(round, municipalities)",
			Fields: []Field{fRound, withReq(fMuni),
				field("indicator", "string", "The indicator's code: benchmark_indicators.csv.", "ინდიკატორის კოდი: benchmark_indicators.csv.", required),
				field("body", "string", "The body judged: CITY_HALL or SAKREBULO.", "შესაფასებელი ორგანო: CITY_HALL (მერია) ან SAKREBULO (საკრებულო).", required, enum("CITY_HALL", "SAKREBULO", "BOTH")),
				field("value", "number", "The value on the indicator's scale (after any contest's revision or correction); empty when not scored or no data.", "მნიშვნელობა ინდიკატორის შკალაზე (გასაჩივრების ან შესწორების შემდეგ); ცარიელია, თუ არ შეფასებულა ან მონაცემი არ არის.", unit("indicator scale"))},
			PrimaryKey:  []string{"round", "municipality", "indicator", "body"},
			ForeignKeys: []ForeignKey{{Fields: []string{"round", "municipality"}, Resource: "benchmark_rankings", Ref: []string{"round", "municipality"}}},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				rs, err := b.publishedRounds(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range rs {
					munis := list(r, "municipalities")
					seen := map[[3]string]bool{}
					// compareMunicipalities takes two to ten at a time: a
					// last chunk of one overlaps the one before, and each
					// value is kept once.
					for i := 0; i < len(munis); i += 10 {
						lo, hi := i, min(i+10, len(munis))
						if hi-lo < 2 {
							lo = max(0, hi-10)
						}
						var codes []string
						for _, m := range munis[lo:hi] {
							codes = append(codes, str(m, "code"))
						}
						d, err := c.query(ctx, `query($r: ID!, $m: [ID!]!) { compareMunicipalities(round: $r, municipalities: $m) { indicators { indicator body values { municipality value } } } }`,
							map[string]any{"r": at(r, "id"), "m": codes})
						if err != nil {
							return nil, err
						}
						for _, ind := range list(d, "compareMunicipalities.indicators") {
							for _, v := range list(ind, "values") {
								k := [3]string{str(v, "municipality"), str(ind, "indicator"), str(ind, "body")}
								if seen[k] {
									continue
								}
								seen[k] = true
								out = append(out, []string{str(r, "id"), k[0], k[1], k[2], str(v, "value")})
							}
						}
					}
				}
				return out, nil
			},
		},
	}
}

const rankingQuery = `query($r: ID!) { ranking(round: $r) { municipality { code } rank score band coverage previousScore previousRank change rankChange blocks { block score } bodies { body score } } }`
