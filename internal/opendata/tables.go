package opendata

import (
	"context"
	"fmt"
	"strconv"
)

// Fields several tables share, described once.
var (
	fRegion = field("region", "string", "The region's code: regions.csv.", "რეგიონის კოდი: regions.csv.")
	fMuni   = field("municipality", "string", "The municipality's code: municipalities.csv.", "მუნიციპალიტეტის კოდი: municipalities.csv.")
	fYear   = field("year", "integer", "The calendar year of the activities' first day (Tbilisi time).", "აქტივობის პირველი დღის კალენდარული წელი (თბილისის დროით).", required, minimum("1990"))
	fType   = field("activity_type", "string", "The kind of activity: TRAINING, CONSULTATION, MULTI_STAKEHOLDER_MEETING, COORDINATION_MEETING, FORUM, ROUND_TABLE, CSO_FAIR, COMPETITION, INTERNSHIP, MENTORING or AWARENESS_CAMPAIGN.", "აქტივობის სახე: TRAINING (ტრენინგი), CONSULTATION (კონსულტაცია), MULTI_STAKEHOLDER_MEETING (მრავალმხრივი შეხვედრა), COORDINATION_MEETING (საკოორდინაციო შეხვედრა), FORUM (ფორუმი), ROUND_TABLE (მრგვალი მაგიდა), CSO_FAIR (სსო-ების ბაზრობა), COMPETITION (კონკურსი), INTERNSHIP (სტაჟირება), MENTORING (მენტორობა), AWARENESS_CAMPAIGN (ცნობიერების ამაღლების კამპანია).",
		required, enum(activityTypes...))
	fNameKa = field("name_ka", "string", "The name in Georgian.", "სახელწოდება ქართულად.", required)
	fNameEn = field("name_en", "string", "The name in English; empty when there is no translation.", "სახელწოდება ინგლისურად; ცარიელია, თუ თარგმანი არ არსებობს.")
	fPop    = field("population_2014", "integer", "Population at the 2014 General Population Census (Geostat); empty for occupied territories the census did not cover.", "მოსახლეობა 2014 წლის მოსახლეობის საყოველთაო აღწერით (საქსტატი); ცარიელია ოკუპირებული ტერიტორიებისთვის, რომლებიც აღწერამ ვერ მოიცვა.", unit("people"), minimum("0"))
)

var activityTypes = []string{"TRAINING", "CONSULTATION", "MULTI_STAKEHOLDER_MEETING", "COORDINATION_MEETING", "FORUM", "ROUND_TABLE", "CSO_FAIR", "COMPETITION", "INTERNSHIP", "MENTORING", "AWARENESS_CAMPAIGN"}

// fk is a foreign key of one column onto a table's code column.
func fk(col, table, ref string) ForeignKey {
	return ForeignKey{Fields: []string{col}, Resource: table, Ref: []string{ref}}
}

// tables are the export's tables, in the order the README lists them.
// Each reads the public API as an anonymous caller; nothing here decides
// what is public.
func tables() []*Table {
	ts := []*Table{
		{
			Name: "regions", TitleEn: "Regions", TitleKa: "რეგიონები",
			En:     "Georgia's first-level units: 9 regions, 2 autonomous republics and Tbilisi; one row each.",
			Ka:     "საქართველოს პირველი დონის ერთეულები: 9 მხარე, 2 ავტონომიური რესპუბლიკა და თბილისი; თითო სტრიქონი თითოეულზე.",
			Source: "regions",
			Fields: []Field{
				field("code", "string", "The region's permanent code, such as kvemo-kartli.", "რეგიონის მუდმივი კოდი, მაგალითად kvemo-kartli.", required),
				fNameKa, fNameEn,
				field("kind", "string", "REGION (mkhare), AUTONOMOUS_REPUBLIC or CAPITAL (Tbilisi).", "REGION (მხარე), AUTONOMOUS_REPUBLIC (ავტონომიური რესპუბლიკა) ან CAPITAL (თბილისი).", required, enum("REGION", "AUTONOMOUS_REPUBLIC", "CAPITAL")),
				field("capital", "string", "The English name of the region's centre; empty for a region without one.", "რეგიონის ადმინისტრაციული ცენტრის სახელი ინგლისურად; ცარიელია, თუ ასეთი არ აქვს."),
				field("population_2014", "integer", "The sum of its municipalities' 2014 census populations (Geostat); empty when none has a figure.", "მისი მუნიციპალიტეტების მოსახლეობის ჯამი 2014 წლის აღწერით (საქსტატი); ცარიელია, თუ არცერთს არ აქვს მონაცემი.", unit("people"), minimum("0")),
			},
			PrimaryKey: []string{"code"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, `{ regions { code name { ka en } kind capital population2014 } }`, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, r := range list(d, "regions") {
					out = append(out, []string{str(r, "code"), str(r, "name.ka"), str(r, "name.en"), str(r, "kind"), str(r, "capital"), str(r, "population2014")})
				}
				return out, nil
			},
		},
		{
			Name: "municipalities", TitleEn: "Municipalities", TitleKa: "მუნიციპალიტეტები",
			En: "Units of local self-government; one row each.", Ka: "ადგილობრივი თვითმმართველობის ერთეულები; თითო სტრიქონი თითოეულზე.",
			Source: "municipalities",
			Fields: []Field{
				field("code", "string", "The municipality's permanent code, such as rustavi.", "მუნიციპალიტეტის მუდმივი კოდი, მაგალითად rustavi.", required),
				fNameKa, fNameEn,
				field("kind", "string", "MUNICIPALITY, SELF_GOVERNING_CITY or OCCUPIED (kept as a legal entity, its administration working from controlled territory).", "MUNICIPALITY (მუნიციპალიტეტი), SELF_GOVERNING_CITY (თვითმმართველი ქალაქი) ან OCCUPIED (ოკუპირებული: იურიდიული პირი, რომლის ადმინისტრაცია კონტროლირებად ტერიტორიაზე მუშაობს).", required, enum("MUNICIPALITY", "SELF_GOVERNING_CITY", "OCCUPIED")),
				withReq(fRegion), fPop,
			},
			PrimaryKey:  []string{"code"},
			ForeignKeys: []ForeignKey{fk("region", "regions", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, `{ municipalities { code name { ka en } kind region { code } population2014 } }`, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, m := range list(d, "municipalities") {
					out = append(out, []string{str(m, "code"), str(m, "name.ka"), str(m, "name.en"), str(m, "kind"), str(m, "region.code"), str(m, "population2014")})
				}
				return out, nil
			},
		},
		{
			Name: "organisations", TitleEn: "Organisations", TitleKa: "ორგანიზაციები",
			En:     "Organisations taking part in the programmes, without their contact details (an address is for signed-in callers; a contact person's name, e-mail and phone are personal data).",
			Ka:     "პროგრამებში მონაწილე ორგანიზაციები, საკონტაქტო მონაცემების გარეშე (მისამართი მხოლოდ ავტორიზებული მომხმარებლებისთვისაა; საკონტაქტო პირის სახელი, ელფოსტა და ტელეფონი პერსონალური მონაცემებია).",
			Source: "organisations",
			Fields: []Field{
				field("id", "string", "The organisation's ID in the registry.", "ორგანიზაციის იდენტიფიკატორი რეესტრში.", required),
				field("kind", "string", "CSO, CBO, REGIONAL_HUB, DONOR, GOVERNMENT_BODY, BUSINESS, MEDIA or ACADEMIC.", "CSO (სამოქალაქო საზოგადოების ორგანიზაცია), CBO (სათემო ორგანიზაცია), REGIONAL_HUB (რეგიონული ჰაბი), DONOR (დონორი), GOVERNMENT_BODY (სახელმწიფო უწყება), BUSINESS (ბიზნესი), MEDIA (მედია) ან ACADEMIC (აკადემიური).", required, enum("CSO", "CBO", "REGIONAL_HUB", "DONOR", "GOVERNMENT_BODY", "BUSINESS", "MEDIA", "ACADEMIC")),
				fNameKa, fNameEn,
				field("legal_form", "string", "Its legal form, as free text; empty when not given.", "სამართლებრივი ფორმა, თავისუფალი ტექსტით; ცარიელია, თუ არ არის მითითებული."),
				withDesc(fRegion, "The code of the region it is placed in (regions.csv); empty for a national or foreign body.", "რეგიონის კოდი, სადაც ის მდებარეობს (regions.csv); ცარიელია ეროვნული ან უცხოური ორგანიზაციისთვის."),
				withDesc(fMuni, "The code of the municipality it is placed in (municipalities.csv); empty when placed only in a region, or in none.", "მუნიციპალიტეტის კოდი, სადაც ის მდებარეობს (municipalities.csv); ცარიელია, თუ მხოლოდ რეგიონშია ან არსად."),
				field("website", "string", "Its website; empty when not given.", "ვებგვერდი; ცარიელია, თუ არ არის მითითებული."),
				field("founded", "date", "The day it was founded; empty when not given.", "დაარსების თარიღი; ცარიელია, თუ არ არის მითითებული."),
				field("status", "string", "ACTIVE (working) or CLOSED.", "ACTIVE (მოქმედი) ან CLOSED (დახურული).", required, enum("ACTIVE", "CLOSED")),
				field("closed_on", "date", "The day it closed; empty while it is open.", "დახურვის თარიღი; ცარიელია, სანამ მოქმედია."),
				field("closed_reason", "string", "Why it closed; empty while it is open.", "დახურვის მიზეზი; ცარიელია, სანამ მოქმედია."),
				field("registered_at", "datetime", "When the ledger recorded its registration (RFC 3339).", "როდის ჩაიწერა მისი რეგისტრაცია რეესტრში (RFC 3339).", required),
				field("updated_at", "datetime", "When the ledger recorded its last change (RFC 3339).", "როდის ჩაიწერა მისი ბოლო ცვლილება (RFC 3339).", required),
			},
			PrimaryKey:  []string{"id"},
			ForeignKeys: []ForeignKey{fk("region", "regions", "code"), fk("municipality", "municipalities", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				var out [][]string
				err := c.pages(ctx, `query($after: String) { organisations(first: 100, after: $after) { edges { node { id kind name { ka en } legalForm region { code } municipality { code } website founded status closedOn closedReason registeredAt updatedAt } } pageInfo { hasNextPage endCursor } } }`, nil, "organisations",
					func(o any) error {
						out = append(out, []string{str(o, "id"), str(o, "kind"), str(o, "name.ka"), str(o, "name.en"), str(o, "legalForm"), str(o, "region.code"), str(o, "municipality.code"),
							str(o, "website"), str(o, "founded"), str(o, "status"), str(o, "closedOn"), str(o, "closedReason"), str(o, "registeredAt"), str(o, "updatedAt")})
						return nil
					})
				return out, err
			},
		},
		{
			Name: "networks", TitleEn: "Networks", TitleKa: "ქსელები",
			En: "Consortia, hub networks and coalitions; one row each.", Ka: "კონსორციუმები, ჰაბების ქსელები და კოალიციები; თითო სტრიქონი თითოეულზე.",
			Source: "networks",
			Fields: []Field{
				field("id", "string", "The network's code, such as cssige.", "ქსელის კოდი, მაგალითად cssige.", required),
				field("kind", "string", "CONSORTIUM, HUB_NETWORK or COALITION.", "CONSORTIUM (კონსორციუმი), HUB_NETWORK (ჰაბების ქსელი) ან COALITION (კოალიცია).", required, enum("CONSORTIUM", "HUB_NETWORK", "COALITION")),
				fNameKa, fNameEn,
				field("formed_on", "date", "The day the network began.", "ქსელის შექმნის დღე.", required),
			},
			PrimaryKey: []string{"id"},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, networksQuery, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, n := range list(d, "networks") {
					out = append(out, []string{str(n, "id"), str(n, "kind"), str(n, "name.ka"), str(n, "name.en"), str(n, "formedOn")})
				}
				return out, nil
			},
		},
		{
			Name: "network_memberships", TitleEn: "Network memberships", TitleKa: "ქსელის წევრობა",
			En:     "Every period of every membership: a period ends where the member's role, region or status changed.",
			Ka:     "ყოველი წევრობის ყოველი პერიოდი: პერიოდი მთავრდება, როცა წევრის როლი, რეგიონი ან სტატუსი იცვლება.",
			Source: "networks { timeline }",
			Fields: []Field{
				field("network", "string", "The network's code: networks.csv.", "ქსელის კოდი: networks.csv.", required),
				field("organisation", "string", "The member organisation's ID: organisations.csv.", "წევრი ორგანიზაციის იდენტიფიკატორი: organisations.csv.", required),
				field("role", "string", "LEAD, MEMBER, PARTNER, DONOR or REGIONAL_HUB during the period.", "როლი პერიოდში: LEAD (წამყვანი), MEMBER (წევრი), PARTNER (პარტნიორი), DONOR (დონორი) ან REGIONAL_HUB (რეგიონული ჰაბი).", required, enum("LEAD", "MEMBER", "PARTNER", "DONOR", "REGIONAL_HUB")),
				withDesc(fRegion, "The code of the region a regional hub acts for; empty for other roles.", "რეგიონის კოდი, რომელშიც რეგიონული ჰაბი მოქმედებს; სხვა როლებისთვის ცარიელია."),
				field("status", "string", "ACTIVE (in force) or SUSPENDED during the period.", "ACTIVE (მოქმედი) ან SUSPENDED (შეჩერებული) პერიოდში.", required, enum("ACTIVE", "SUSPENDED")),
				field("joined_on", "date", "The day the membership began.", "წევრობის დაწყების დღე.", required),
				field("valid_from", "date", "The period's first day.", "პერიოდის პირველი დღე.", required),
				field("valid_to", "date", "The first day the period no longer held; empty while it lasts.", "პირველი დღე, როცა პერიოდი აღარ მოქმედებს; ცარიელია, სანამ გრძელდება."),
				field("reason", "string", "Why it was suspended, for a suspended period; empty otherwise.", "შეჩერების მიზეზი შეჩერებული პერიოდისთვის; სხვა შემთხვევაში ცარიელია."),
			},
			PrimaryKey:  []string{"network", "organisation", "valid_from"},
			ForeignKeys: []ForeignKey{fk("network", "networks", "id"), fk("organisation", "organisations", "id"), fk("region", "regions", "code")},
			rows: func(ctx context.Context, c *client, b *build) ([][]string, error) {
				d, err := c.query(ctx, networksQuery, nil)
				if err != nil {
					return nil, err
				}
				var out [][]string
				for _, n := range list(d, "networks") {
					for _, m := range list(n, "timeline") {
						out = append(out, []string{str(n, "id"), str(m, "organisation.id"), str(m, "role"), str(m, "region.code"), str(m, "status"), str(m, "joinedOn"), str(m, "validFrom"), str(m, "validTo"), str(m, "reason")})
					}
				}
				return out, nil
			},
		},
	}
	ts = append(ts, projectTables()...)
	ts = append(ts, activityTables()...)
	ts = append(ts, certificationTables()...)
	ts = append(ts, budgetTables()...)
	ts = append(ts, benchmarkTables()...)
	return ts
}

const networksQuery = `{ networks { id kind name { ka en } formedOn timeline { organisation { id } role region { code } status joinedOn validFrom validTo reason } } }`

// withReq is f, required.
func withReq(f Field) Field { f.Required = true; return f }

// withDesc is f described otherwise.
func withDesc(f Field, en, ka string) Field { f.En, f.Ka = en, ka; return f }

// withName is f under another name, described otherwise.
func withName(f Field, name, en, ka string) Field { f.Name, f.En, f.Ka = name, en, ka; return f }

// itoa formats a count.
func itoa(n int) string { return strconv.Itoa(n) }

// atoi reads a count the API gave; a count that is not one is the API's
// fault, reported as such.
func atoi(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("open data: %q is not a count", s)
	}
	return n, nil
}
