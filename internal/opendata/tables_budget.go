package opendata

import (
	"context"
	"fmt"
)

// budgetCyclesQuery is a page of participatory budget cycles. Ten a
// page keeps it within the API's complexity limit.
const budgetCyclesQuery = `query($after: String) { budgetCycles(first: 10, after: $after) { edges { node {
  id municipality { code } unit year title { ka en } currency total { amount } source
  pots { code name { ka en } amount { amount } population }
  rules { version ballot counting { method } } eligibility { minAge }
  statistics { ideas onBallot voters online paper eligible eligibleSource turnout bySex { category count } byAgeBand { category count } }
  results { declaredOn rulesVersion upTo inputsDigest } } } pageInfo { hasNextPage endCursor } } }`

// budgetCycles is every cycle, read once per build.
func (b *build) budgetCycles(ctx context.Context, c *client) ([]any, error) {
	if b.cycles != nil {
		return b.cycles, nil
	}
	var out []any
	err := c.pages(ctx, budgetCyclesQuery, nil, "budgetCycles", func(n any) error { out = append(out, n); return nil })
	b.cycles = out
	return out, err
}

var fCycle = field("cycle", "string", "The cycle's ID: budget_cycles.csv.", "ციკლის იდენტიფიკატორი: budget_cycles.csv.", required)

var ageBands = []string{"UNDER_18", "AGE_18_29", "AGE_30_44", "AGE_45_64", "AGE_65_PLUS", "UNRECORDED"}

func budgetTables() []*Table {
	ts := []*Table{
		{
			Name: "budget_cycles", TitleEn: "Participatory budget cycles", TitleKa: "სამოქალაქო ბიუჯეტის ციკლები",
			En:     "A municipality's participatory budget for a year: its money, rules, participation and, once declared, its results. Who voted, and for what, is never published.",
			Ka:     "მუნიციპალიტეტის სამოქალაქო ბიუჯეტი ერთი წლისთვის: თანხა, წესები, მონაწილეობა და, გამოცხადების შემდეგ, შედეგები. ვინ და რას მისცა ხმა, არასოდეს ქვეყნდება.",
			Source: "budgetCycles",
			Fields: []Field{
				field("id", "string", "The cycle's ID: the municipality's code and the year, such as keda-2023.", "ციკლის იდენტიფიკატორი: მუნიციპალიტეტის კოდი და წელი, მაგალითად keda-2023.", required),
				withDesc(fMuni, "The municipality's code (municipalities.csv); empty for a cycle imported from outside Georgia's registry.", "მუნიციპალიტეტის კოდი (municipalities.csv); ცარიელია საქართველოს რეესტრის გარედან იმპორტირებული ციკლისთვის."),
				field("unit", "string", "The place of a cycle imported from outside Georgia's registry, as its source names it; empty for a Georgian municipality's.", "საქართველოს რეესტრის გარედან იმპორტირებული ციკლის ადგილი, წყაროს მიხედვით; ქართული მუნიციპალიტეტისთვის ცარიელია."),
				field("year", "integer", "The year the cycle budgets for.", "წელი, რომლისთვისაც ციკლი ბიუჯეტს ადგენს.", required),
				field("title_ka", "string", "The title in Georgian.", "სათაური ქართულად.", required),
				field("title_en", "string", "The title in English.", "სათაური ინგლისურად."),
				field("currency", "string", "The ISO 4217 code every amount of the cycle is in, such as GEL.", "ციკლის ყველა თანხის ვალუტის ISO 4217 კოდი, მაგალითად GEL.", required),
				field("total", "number", "The sum of the pots, in the cycle's currency.", "ქვაბების ჯამი ციკლის ვალუტაში.", required, unit("currency"), minimum("0")),
				field("rules_version", "integer", "The version of the voting and counting rules in force.", "ხმის მიცემისა და დათვლის მოქმედი წესების ვერსია.", required, minimum("1")),
				field("ballot", "string", "What a ballot may hold (the API's BallotKind).", "რა შეიძლება შეიცავდეს ბიულეტენი (API-ის BallotKind).", required),
				field("counting_method", "string", "How winners are drawn from the ballots (the API's CountingMethod).", "როგორ ვლინდებიან გამარჯვებულები ბიულეტენებიდან (API-ის CountingMethod).", required),
				field("min_age", "integer", "The youngest age at which a resident may propose and vote.", "მინიმალური ასაკი, რომლიდანაც მცხოვრებს შეუძლია იდეის წარდგენა და ხმის მიცემა.", required, minimum("0"), unit("years")),
				field("ideas", "integer", "Ideas submitted, whatever became of them.", "წარდგენილი იდეები, მიუხედავად მათი ბედისა.", required, minimum("0"), unit("ideas")),
				field("on_ballot", "integer", "Projects on the ballot.", "ბიულეტენში შეტანილი პროექტები.", required, minimum("0"), unit("projects")),
				field("voters", "integer", "Ballots counted so far: online voters (each once) and paper ballots.", "დათვლილი ბიულეტენები: ონლაინ ამომრჩევლები (თითო ერთხელ) და ქაღალდის ბიულეტენები.", required, count),
				field("online", "integer", "Online voters, each counted once.", "ონლაინ ამომრჩევლები, თითო ერთხელ.", required, count),
				field("paper", "integer", "Paper ballots entered.", "შეყვანილი ქაღალდის ბიულეტენები.", required, minimum("0"), unit("ballots")),
				field("eligible", "integer", "The population turnout is measured against; empty when unknown.", "მოსახლეობა, რომლის მიმართაც აქტივობა იზომება; ცარიელია, თუ უცნობია.", unit("people"), minimum("0")),
				field("eligible_source", "string", "Where eligible comes from: RECORDED (the pots' populations) or CENSUS_2014 (an upper bound).", "საიდან არის eligible: RECORDED (ქვაბების მოსახლეობა) ან CENSUS_2014 (ზედა ზღვარი).", enum("RECORDED", "CENSUS_2014")),
				field("turnout", "number", "voters / eligible, a fraction (0.12 is 12%); empty when eligible is unknown.", "voters / eligible, წილადი (0.12 არის 12%); ცარიელია, თუ eligible უცნობია.", minimum("0"), unit("fraction")),
				field("results_declared_on", "date", "The day the results were declared; empty until then (and budget_votes.csv holds no row of the cycle).", "შედეგების გამოცხადების დღე; მანამდე ცარიელია (და budget_votes.csv-ში ციკლის სტრიქონი არ არის)."),
				field("results_rules_version", "integer", "The rules version the ballots were counted under; empty until declared.", "წესების ვერსია, რომლითაც ბიულეტენები დაითვალა; გამოცხადებამდე ცარიელია."),
				field("results_up_to", "integer", "The log position the count read the ballots up to; empty until declared.", "ჟურნალის პოზიცია, რომლამდეც დათვლამ ბიულეტენები წაიკითხა; გამოცხადებამდე ცარიელია.", minimum("1")),
				field("results_inputs_digest", "string", "The hex SHA-256 of the count's inputs, which a recount must reproduce; empty until declared.", "დათვლის შემავალი მონაცემების SHA-256 (hex), რომელიც ხელახალმა დათვლამ უნდა გაიმეოროს; გამოცხადებამდე ცარიელია."),
				field("source", "string", "Where the figures come from when imported, or a demo mark; empty for a cycle run in the ledger.", "საიდან არის მონაცემები იმპორტისას, ან სადემონსტრაციო ნიშანი; ცარიელია ლეჯერში ჩატარებული ციკლისთვის."),
			},
			PrimaryKey:  []string{"id"},
			ForeignKeys: []ForeignKey{fk("municipality", "municipalities", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				cs, err := b.budgetCycles(ctx, c)
				var out [][]string
				for _, y := range cs {
					out = append(out, []string{str(y, "id"), str(y, "municipality.code"), str(y, "unit"), str(y, "year"), str(y, "title.ka"), str(y, "title.en"), str(y, "currency"), str(y, "total.amount"),
						str(y, "rules.version"), str(y, "rules.ballot"), str(y, "rules.counting.method"), str(y, "eligibility.minAge"),
						str(y, "statistics.ideas"), str(y, "statistics.onBallot"), str(y, "statistics.voters"), str(y, "statistics.online"), str(y, "statistics.paper"),
						str(y, "statistics.eligible"), str(y, "statistics.eligibleSource"), str(y, "statistics.turnout"),
						str(y, "results.declaredOn"), str(y, "results.rulesVersion"), str(y, "results.upTo"), str(y, "results.inputsDigest"), str(y, "source")})
				}
				return out, err
			},
		},
		{
			Name: "budget_pots", TitleEn: "Participatory budget pots", TitleKa: "სამოქალაქო ბიუჯეტის ქვაბები",
			En: "The money each cycle's ballot shares out on its own: a village's share, or the whole budget.", Ka: "თანხა, რომელსაც ციკლის ბიულეტენი ცალკე ანაწილებს: სოფლის წილი ან მთელი ბიუჯეტი.",
			Source: "budgetCycles { pots }",
			Fields: []Field{
				fCycle,
				field("pot", "string", "The pot's code within the cycle.", "ქვაბის კოდი ციკლში.", required),
				fNameKa, fNameEn,
				field("amount", "number", "The money it shares out, in the cycle's currency.", "გასანაწილებელი თანხა ციკლის ვალუტაში.", required, unit("currency"), minimum("0")),
				field("population", "integer", "The pot's eligible population as the municipality recorded it; empty when it did not.", "ქვაბის უფლებამოსილი მოსახლეობა მუნიციპალიტეტის ჩანაწერით; ცარიელია, თუ არ ჩაუწერია.", unit("people"), minimum("0")),
			},
			PrimaryKey:  []string{"cycle", "pot"},
			ForeignKeys: []ForeignKey{fk("cycle", "budget_cycles", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				cs, err := b.budgetCycles(ctx, c)
				var out [][]string
				for _, y := range cs {
					for _, p := range list(y, "pots") {
						out = append(out, []string{str(y, "id"), str(p, "code"), str(p, "name.ka"), str(p, "name.en"), str(p, "amount.amount"), str(p, "population")})
					}
				}
				return out, err
			},
		},
		{
			Name: "budget_ideas", TitleEn: "Participatory budget ideas", TitleKa: "სამოქალაქო ბიუჯეტის იდეები",
			En:     "Every idea of every cycle, from its submission to its delivery. The proposer's name is personal data and never shown.",
			Ka:     "ყოველი ციკლის ყოველი იდეა, წარდგენიდან განხორციელებამდე. ავტორის სახელი პერსონალური მონაცემია და არასოდეს ჩანს.",
			Source: "budgetCycle { ideas }",
			Fields: []Field{
				field("id", "string", "The idea's ID, such as keda-2023-017.", "იდეის იდენტიფიკატორი, მაგალითად keda-2023-017.", required),
				fCycle,
				field("pot", "string", "The pot it was proposed in: budget_pots.csv.", "ქვაბი, რომელშიც იქნა წარდგენილი: budget_pots.csv.", required),
				field("category", "string", "The category's code within the cycle; empty when the cycle has none.", "კატეგორიის კოდი ციკლში; ცარიელია, თუ ციკლს კატეგორიები არ აქვს."),
				field("title_ka", "string", "The title in Georgian.", "სათაური ქართულად.", required),
				field("title_en", "string", "The title in English.", "სათაური ინგლისურად."),
				field("estimate", "number", "The proposer's estimate, in the cycle's currency.", "ავტორის შეფასება ციკლის ვალუტაში.", required, unit("currency"), minimum("0")),
				field("cost", "number", "The reviewed cost (or as an upheld appeal set it); the estimate until reviewed.", "განხილვით დადგენილი ღირებულება (ან დაკმაყოფილებული გასაჩივრებით); განხილვამდე შეფასება.", required, unit("currency"), minimum("0")),
				field("proposer_kind", "string", "Who proposed it (the API's ProposerKind).", "ვინ წარადგინა (API-ის ProposerKind).", required),
				field("organisation", "string", "The proposing CSO's ID (organisations.csv), for a CSO's idea.", "წარმდგენი სსო-ს იდენტიფიკატორი (organisations.csv) სსო-ს იდეისთვის."),
				field("channel", "string", "How it reached the municipality (the API's BudgetChannel).", "როგორ მიაღწია მუნიციპალიტეტს (API-ის BudgetChannel).", required),
				field("submitted_on", "date", "The day it was proposed.", "წარდგენის დღე.", required),
				field("status", "string", "Where it stands in review (the API's IdeaStatus).", "განხილვის სტატუსი (API-ის IdeaStatus).", required),
				field("review_reason", "string", "The review's reason; empty when none was given.", "განხილვის დასაბუთება; ცარიელია, თუ არ მიცემულა."),
				field("closing_reason", "string", "Why it was withdrawn or merged; empty when none was given.", "გამოთხოვის ან გაერთიანების მიზეზი; ცარიელია, თუ არ მიცემულა."),
				field("department", "string", "The department that reviewed it; empty when not said.", "განმხილველი სამსახური; ცარიელია, თუ არ არის მითითებული."),
				field("merged_into", "string", "The ID of the idea it was merged into; empty unless merged.", "იდეის იდენტიფიკატორი, რომელსაც შეუერთდა; ცარიელია, თუ არ გაერთიანებულა."),
				field("delivery_status", "string", "How a winner's delivery stands, as last reported; empty until reported.", "გამარჯვებული პროექტის განხორციელების სტატუსი ბოლო ანგარიშით; ანგარიშამდე ცარიელია."),
				field("delivery_progress", "integer", "Percent done, 0 to 100; empty until reported.", "შესრულების პროცენტი, 0-100; ანგარიშამდე ცარიელია.", minimum("0"), maximum("100"), unit("percent")),
				field("delivery_spent", "number", "What was spent so far, in the cycle's currency; empty until reported.", "აქამდე დახარჯული თანხა ციკლის ვალუტაში; ანგარიშამდე ცარიელია.", minimum("0"), unit("currency")),
			},
			PrimaryKey:  []string{"id"},
			ForeignKeys: []ForeignKey{fk("cycle", "budget_cycles", "id"), {Fields: []string{"cycle", "pot"}, Resource: "budget_pots", Ref: []string{"cycle", "pot"}}, fk("organisation", "organisations", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				cs, err := b.budgetCycles(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, y := range cs {
					err := c.pages(ctx, `query($id: ID!, $after: String) { budgetCycle(id: $id) { ideas(first: 100, after: $after) { edges { node {
  id pot category title { ka en } estimate { amount } cost { amount } proposerKind organisation { id } channel submittedOn status reviewReason closingReason department mergedInto
  delivery { status progress spent { amount } } } } pageInfo { hasNextPage endCursor } } } }`, map[string]any{"id": at(y, "id")}, "budgetCycle.ideas", func(i any) error {
						out = append(out, []string{str(i, "id"), str(y, "id"), str(i, "pot"), str(i, "category"), str(i, "title.ka"), str(i, "title.en"), str(i, "estimate.amount"), str(i, "cost.amount"),
							str(i, "proposerKind"), str(i, "organisation.id"), str(i, "channel"), str(i, "submittedOn"), str(i, "status"), str(i, "reviewReason"), str(i, "closingReason"),
							str(i, "department"), str(i, "mergedInto"), str(i, "delivery.status"), str(i, "delivery.progress"), str(i, "delivery.spent.amount")})
						return nil
					})
					if err != nil {
						return nil, err
					}
				}
				return out, nil
			},
		},
		{
			Name: "budget_votes", TitleEn: "Participatory budget results", TitleKa: "სამოქალაქო ბიუჯეტის შედეგები",
			En:     "Each project's votes in its pot's count, and whether it won: only for cycles whose results are declared (the API shows no vote before).",
			Ka:     "თითოეული პროექტის ხმები ქვაბის დათვლაში და გაიმარჯვა თუ არა: მხოლოდ იმ ციკლებისთვის, რომელთა შედეგებიც გამოცხადებულია (API მანამდე ხმებს არ აჩვენებს).",
			Source: "budgetCycle { results { pots { votes winners } } }",
			Fields: []Field{
				fCycle,
				field("pot", "string", "The pot: budget_pots.csv.", "ქვაბი: budget_pots.csv.", required),
				field("idea", "string", "The project's idea: budget_ideas.csv.", "პროექტის იდეა: budget_ideas.csv.", required),
				field("votes", "integer", "Its votes: ballots supporting it, or the points given it on a cumulative ballot.", "მისი ხმები: მხარდამჭერი ბიულეტენები, ან კუმულაციურ ბიულეტენზე მიცემული ქულები.", required, minimum("0"), unit("votes")),
				field("winner", "boolean", "Whether the count chose it.", "აირჩია თუ არა დათვლამ.", required),
				field("winner_order", "integer", "Its place in the order the counting method chose the winners, from 1; empty for a project that did not win.", "ადგილი იმ თანმიმდევრობაში, რომლითაც დათვლის მეთოდმა გამარჯვებულები აირჩია, 1-დან; ცარიელია წაგებული პროექტისთვის.", minimum("1")),
				field("pot_ballots", "integer", "Ballots counted in the pot.", "ქვაბში დათვლილი ბიულეტენები.", required, minimum("0"), unit("ballots")),
			},
			PrimaryKey:  []string{"cycle", "pot", "idea"},
			ForeignKeys: []ForeignKey{fk("cycle", "budget_cycles", "id"), fk("idea", "budget_ideas", "id")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				cs, err := b.budgetCycles(ctx, c)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, y := range cs {
					// The cycles page says which have results; each one's
					// votes then come from the API, which shows them only
					// once declared.
					if at(y, "results") == nil {
						continue
					}
					d, err := c.query(ctx, `query($id: ID!) { budgetCycle(id: $id) { results { pots { pot ballots winners { id } votes { idea { id } votes } } } } }`, map[string]any{"id": at(y, "id")})
					if err != nil {
						return nil, err
					}
					for _, p := range list(d, "budgetCycle.results.pots") {
						order := map[string]int{}
						for i, w := range list(p, "winners") {
							order[str(w, "id")] = i + 1
						}
						for _, v := range list(p, "votes") {
							id := str(v, "idea.id")
							won, place := "false", ""
							if n, ok := order[id]; ok {
								won, place = "true", itoa(n)
							}
							out = append(out, []string{str(y, "id"), str(p, "pot"), id, str(v, "votes"), won, place, str(p, "ballots")})
						}
					}
				}
				return out, nil
			},
		},
	}
	ts = append(ts, votersBy("budget_voters_by_sex", "sex", "bySex", []string{"FEMALE", "MALE", "UNRECORDED"},
		"The voters' sex as the municipality verified it: FEMALE, MALE or UNRECORDED.", "ამომრჩეველთა სქესი მუნიციპალიტეტის მიერ გადამოწმებით: FEMALE (ქალი), MALE (კაცი) ან UNRECORDED (არ არის მითითებული)."))
	ts = append(ts, votersBy("budget_voters_by_age_band", "age_band", "byAgeBand", ageBands,
		"The voters' age band: UNDER_18, AGE_18_29, AGE_30_44, AGE_45_64, AGE_65_PLUS or UNRECORDED.", "ამომრჩეველთა ასაკობრივი ჯგუფი: UNDER_18, AGE_18_29, AGE_30_44, AGE_45_64, AGE_65_PLUS ან UNRECORDED."))
	return ts
}

// votersBy is a cycle's voters by one dimension, small counts
// suppressed as attendance's are; a cycle's categories add up to its
// voters in budget_cycles.csv.
func votersBy(name, column, api string, categories []string, en, ka string) *Table {
	return &Table{
		Name: name, TitleEn: "Participatory budget voters by " + column + " (small counts suppressed)", TitleKa: "სამოქალაქო ბიუჯეტის ამომრჩევლები ჭრილში: " + column + " (მცირე რიცხვები დაფარულია)",
		En:     "Each cycle's voters by " + column + ", every category, zeros included; they add up to the cycle's voters in budget_cycles.csv. Counts from 1 to 4 are suppressed, with complementary cells (README: suppression).",
		Ka:     "თითოეული ციკლის ამომრჩევლები ჭრილში (" + column + "), ყველა კატეგორია, ნულების ჩათვლით; ჯამი budget_cycles.csv-ის voters-ს უდრის. 1-დან 4-მდე რიცხვები დაფარულია, დამატებით უჯრებთან ერთად (README: დაფარვა).",
		Source: "budgetCycles { statistics { " + api + " } }",
		Fields: []Field{fCycle, field(column, "string", en, ka, required, enum(categories...)),
			field("voters", "integer", "Voters of the category; \""+Suppressed+"\" where suppressed (a JSON null).", "კატეგორიის ამომრჩევლები; \""+Suppressed+"\", სადაც დაფარულია (JSON-ში null).", required, count, suppressible)},
		PrimaryKey:  []string{"cycle", column},
		ForeignKeys: []ForeignKey{fk("cycle", "budget_cycles", "id")},
		rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
			cs, err := b.budgetCycles(ctx, c)
			if err != nil {
				return nil, err
			}
			var out [][]string
			for _, y := range cs {
				got := map[string]int{}
				for _, k := range list(y, "statistics."+api) {
					n, err := atoi(str(k, "count"))
					if err != nil {
						return nil, err
					}
					got[str(k, "category")] = n
				}
				total, err := atoi(str(y, "statistics.voters"))
				if err != nil {
					return nil, err
				}
				counts, sum := make([]int, len(categories)), 0
				for i, cat := range categories {
					counts[i] = got[cat]
					sum += counts[i]
				}
				if sum != total {
					return nil, fmt.Errorf("open data: %s %s: the categories add up to %d, the voters are %d", name, str(y, "id"), sum, total)
				}
				for i, cell := range cells(counts) {
					out = append(out, []string{str(y, "id"), categories[i], cell})
				}
			}
			return out, nil
		},
	}
}
