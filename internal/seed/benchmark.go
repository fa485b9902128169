package seed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/registry"
)

// benchCorrelation ties every event of the benchmark demo together.
const benchCorrelation = CorrelationPrefix + "benchmark"

var (
	// benchActor publishes the method and runs the rounds: the platform,
	// since no administrator did.
	benchActor = domain.Actor{ID: "system:seed-benchmark", Role: domain.System}
	// benchAssessor judges the indicators and answers contests, as the
	// assessors of the index's consortium would.
	benchAssessor = domain.Actor{ID: "key:assessor-demo", Role: domain.Assessor}
	// benchReviewer reviews the assessor's scorecards.
	benchReviewer = domain.Actor{ID: "key:reviewer-demo", Role: domain.Assessor}
)

// benchApplicant is a municipality's own key, which assesses itself,
// contests its scores and adopts and reports on its action plan.
func benchApplicant(code string) domain.Actor {
	return domain.Actor{ID: "key:seed-" + code, Role: domain.Applicant, Municipality: code}
}

// BenchmarkReport says what Benchmark loaded. Its zero value means
// nothing was loaded because the method was published already.
type BenchmarkReport struct {
	// Scores counts the assessor's scores, computed ones included (a
	// score of no data too), not the municipalities' self-assessments;
	// Contests, the contests made (each answered); Reports, the progress
	// reports on the plans' commitments.
	Methods, Rounds, Scores, Contests, Plans, Reports int
}

// lsgiIndicator is an indicator of the demo's method with what the demo
// needs to invent plausible answers to it.
type lsgiIndicator struct {
	code, block string
	question    domain.LocalizedText
	scale       benchmark.Scale
	weight      int
	body        benchmark.Body
	evidence    bool
	computed    benchmark.Figure
	// ease is how commonly municipalities meet the indicator, added to a
	// municipality's general level: a budget is published nearly
	// everywhere, open data almost nowhere (as the index's reports find).
	ease float64
	// action is what a commitment to improve the indicator undertakes.
	action domain.LocalizedText
}

func lt(ka, en string) domain.LocalizedText { return domain.LocalizedText{Ka: ka, En: en} }

var (
	yesNo    = benchmark.Scale{Kind: benchmark.YesNo}
	points2  = benchmark.Scale{Kind: benchmark.Points, Max: 2}
	points4  = benchmark.Scale{Kind: benchmark.Points, Max: 4}
	percent  = benchmark.Scale{Kind: benchmark.Percent}
	banded   = func(b ...benchmark.Band) benchmark.Scale { return benchmark.Scale{Kind: benchmark.Banded, Bands: b} }
	cityHall = benchmark.CityHall
	council  = benchmark.Sakrebulo
	both     = benchmark.Both
)

// The blocks, weighed so that the 2021 block averages the index
// published (publication 27%, e-governance 32%, participation 23%) make
// the average total it published (28%): 0.35·27 + 0.40·32 + 0.25·23 = 28.
// Weights of 35/30/35 would contradict one of the published figures.
var lsgiBlocks = []benchmark.Block{
	{Code: "publication", Name: lt("პროაქტიული გამოქვეყნება", "Proactive publication"), Weight: 35},
	{Code: "e-governance", Name: lt("ელექტრონული მმართველობა", "E-governance"), Weight: 40},
	{Code: "participation", Name: lt("მოქალაქეთა ჩართულობა და ანგარიშვალდებულება", "Citizen participation and accountability"), Weight: 25},
}

// lsgiIndicators are the method's indicators, modelled on the Local
// Self-Government Index's questions; the wording, scales and weights are
// the demo's own.
var lsgiIndicators = []lsgiIndicator{
	// Proactive publication.
	{code: "budget-adopted", block: "publication", scale: yesNo, weight: 2, body: cityHall, evidence: true, ease: 0.45,
		question: lt("ქვეყნდება თუ არა ვებგვერდზე მიმდინარე წლის დამტკიცებული ბიუჯეტი?", "Is the year's adopted budget published on the website?"),
		action:   lt("დამტკიცებული ბიუჯეტის ვებგვერდზე გამოქვეყნება", "publish the adopted budget on the website")},
	{code: "budget-draft", block: "publication", scale: yesNo, weight: 2, body: council, evidence: true, ease: 0.2,
		question: lt("ქვეყნდება თუ არა ბიუჯეტის პროექტი საკრებულოს მიერ მის დამტკიცებამდე?", "Is the draft budget published before the Sakrebulo votes on it?"),
		action:   lt("ბიუჯეტის პროექტის გამოქვეყნება კენჭისყრამდე", "publish the draft budget before the vote")},
	{code: "budget-execution", block: "publication", scale: points4, weight: 2, body: cityHall, evidence: true, ease: 0.1,
		question: lt("ქვეყნდება თუ არა ბიუჯეტის შესრულების კვარტალური ანგარიშები (თითო ქულა თითო კვარტალზე)?", "Are the quarterly reports on the budget's execution published (a point a quarter)?"),
		action:   lt("ბიუჯეტის შესრულების კვარტალური ანგარიშების გამოქვეყნება", "publish the budget's quarterly execution reports")},
	{code: "citizens-budget", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.25,
		question: lt("ქვეყნდება თუ არა მოქალაქის ბიუჯეტი — ბიუჯეტის მარტივი გზამკვლევი?", "Is a citizen's budget, a plain guide to the budget, published?"),
		action:   lt("მოქალაქის ბიუჯეტის მომზადება და გამოქვეყნება", "prepare and publish a citizen's budget")},
	{code: "procurement-plan", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: 0.1,
		question: lt("ქვეყნდება თუ არა სახელმწიფო შესყიდვების წლიური გეგმა და მისი ცვლილებები?", "Is the year's procurement plan published, with its changes?"),
		action:   lt("შესყიდვების წლიური გეგმისა და მისი ცვლილებების გამოქვეყნება", "publish the procurement plan and its changes")},
	{code: "procurement-simplified", block: "publication", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.05,
		question: lt("ქვეყნდება თუ არა გამარტივებული შესყიდვის ხელშეკრულებები?", "Are the contracts of simplified procurements published?"),
		action:   lt("გამარტივებული შესყიდვის ხელშეკრულებების გამოქვეყნება", "publish the contracts of simplified procurements")},
	{code: "salaries-bonuses", block: "publication", scale: points2, weight: 2, body: both, evidence: true, ease: -0.1,
		question: lt("ქვეყნდება თუ არა თანამდებობის პირების ხელფასები, პრემიები და დანამატები?", "Are officials' salaries, bonuses and allowances published?"),
		action:   lt("ხელფასების, პრემიებისა და დანამატების გამოქვეყნება", "publish salaries, bonuses and allowances")},
	{code: "staff-list", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: 0.05,
		question: lt("ქვეყნდება თუ არა საშტატო ნუსხა თანამდებობების რაოდენობით?", "Is the staff list published, with the number of positions?"),
		action:   lt("საშტატო ნუსხის გამოქვეყნება", "publish the staff list")},
	{code: "vacancies", block: "publication", scale: points2, weight: 1, body: both, evidence: true, ease: 0.15,
		question: lt("ქვეყნდება თუ არა ვაკანსიები და კონკურსების შედეგები?", "Are vacancies and the results of competitions for them published?"),
		action:   lt("ვაკანსიებისა და კონკურსების შედეგების გამოქვეყნება", "publish vacancies and competition results")},
	{code: "legal-acts", block: "publication", scale: points2, weight: 2, body: both, evidence: true, ease: 0.2,
		question: lt("ქვეყნდება თუ არა ორგანოს სამართლებრივი აქტები სრულად და დროულად?", "Are the body's legal acts published in full and on time?"),
		action:   lt("სამართლებრივი აქტების სრულად და დროულად გამოქვეყნება", "publish legal acts in full and on time")},
	{code: "session-agenda", block: "publication", scale: yesNo, weight: 1, body: council, evidence: true, ease: 0.2,
		question: lt("ქვეყნდება თუ არა საკრებულოს სხდომის დღის წესრიგი წინასწარ?", "Is each Sakrebulo session's agenda published in advance?"),
		action:   lt("სხდომის დღის წესრიგის წინასწარ გამოქვეყნება", "publish session agendas in advance")},
	{code: "session-minutes", block: "publication", scale: points2, weight: 2, body: council, evidence: true, ease: 0,
		question: lt("ქვეყნდება თუ არა საკრებულოს სხდომების ოქმები?", "Are the minutes of Sakrebulo sessions published?"),
		action:   lt("საკრებულოს სხდომების ოქმების გამოქვეყნება", "publish the minutes of Sakrebulo sessions")},
	{code: "commission-minutes", block: "publication", scale: points2, weight: 1, body: council, evidence: true, ease: -0.2,
		question: lt("ქვეყნდება თუ არა საკრებულოს კომისიებისა და ფრაქციების სხდომების ოქმები?", "Are the minutes of the Sakrebulo's commissions and factions published?"),
		action:   lt("კომისიებისა და ფრაქციების ოქმების გამოქვეყნება", "publish the minutes of commissions and factions")},
	{code: "votes-by-name", block: "publication", scale: yesNo, weight: 1, body: council, evidence: true, ease: -0.3,
		question: lt("ქვეყნდება თუ არა საკრებულოს თითოეული წევრის ხმა სახელობით?", "Is each member's vote published by name?"),
		action:   lt("სახელობითი კენჭისყრის შედეგების გამოქვეყნება", "publish votes by name")},
	{code: "property", block: "publication", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.1,
		question: lt("ქვეყნდება თუ არა მუნიციპალური ქონების ნუსხა და ინფორმაცია მისი გასხვისებისა თუ იჯარის შესახებ?", "Is the list of municipal property published, with its sales and leases?"),
		action:   lt("მუნიციპალური ქონების ნუსხის გამოქვეყნება", "publish the list of municipal property")},
	{code: "programmes", block: "publication", scale: points4, weight: 2, body: cityHall, evidence: true, ease: 0,
		question: lt("ქვეყნდება თუ არა მუნიციპალური პროგრამები, მათი მოსარგებლეების კრიტერიუმები და განაცხადის წესი?", "Are municipal programmes published with who may benefit and how to apply?"),
		action:   lt("მუნიციპალური პროგრამებისა და მათი კრიტერიუმების გამოქვეყნება", "publish programmes and who may benefit")},
	{code: "infrastructure", block: "publication", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.1,
		question: lt("ქვეყნდება თუ არა ინფრასტრუქტურული პროექტები ღირებულებით, შემსრულებლითა და ვადებით?", "Are infrastructure projects published with their cost, contractor and deadline?"),
		action:   lt("ინფრასტრუქტურული პროექტების ღირებულებისა და ვადების გამოქვეყნება", "publish infrastructure projects' cost and deadlines")},
	{code: "audit-reports", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.3,
		question: lt("ქვეყნდება თუ არა აუდიტის დასკვნები და ორგანოს რეაგირება მათზე?", "Are audit reports published, with what the body did about them?"),
		action:   lt("აუდიტის დასკვნებისა და რეაგირების გამოქვეყნება", "publish audit reports and the response")},
	{code: "foi-report", block: "publication", scale: yesNo, weight: 1, body: both, evidence: true, ease: 0.1,
		question: lt("ქვეყნდება თუ არა საჯარო ინფორმაციის მოთხოვნების შესახებ წლიური ანგარიში?", "Is the annual report on requests for public information published?"),
		action:   lt("საჯარო ინფორმაციის წლიური ანგარიშის გამოქვეყნება", "publish the annual report on information requests")},
	{code: "foi-answered", block: "publication", scale: percent, weight: 3, body: both, evidence: true, ease: 0.05,
		question: lt("შემფასებლის მიერ გაგზავნილი საჯარო ინფორმაციის მოთხოვნების წილი, რომლებსაც 10 დღეში სრულად უპასუხეს", "Share of the assessor's requests for public information answered in full within 10 days"),
		action:   lt("საჯარო ინფორმაციის მოთხოვნებზე 10 დღეში სრული პასუხი", "answer information requests in full within 10 days")},
	{code: "strategy", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.05,
		question: lt("ქვეყნდება თუ არა მუნიციპალიტეტის განვითარების სტრატეგია და სივრცითი დაგეგმვის დოკუმენტები?", "Are the development strategy and spatial plans published?"),
		action:   lt("განვითარების სტრატეგიისა და სივრცითი გეგმების გამოქვეყნება", "publish the development strategy and spatial plans")},
	{code: "structure-contacts", block: "publication", scale: points2, weight: 1, body: both, evidence: true, ease: 0.3,
		question: lt("ქვეყნდება თუ არა ორგანოს სტრუქტურა, თანამდებობის პირები და მათი საკონტაქტო ინფორმაცია?", "Are the body's structure, its officials and their contacts published?"),
		action:   lt("სტრუქტურისა და საკონტაქტო ინფორმაციის განახლება", "keep the structure and contacts up to date")},
	{code: "business-trips", block: "publication", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.25,
		question: lt("ქვეყნდება თუ არა თანამდებობის პირების მივლინებები და მათი ხარჯები?", "Are officials' business trips and their cost published?"),
		action:   lt("მივლინებებისა და მათი ხარჯების გამოქვეყნება", "publish business trips and their cost")},

	// E-governance.
	{code: "website", block: "e-governance", scale: points2, weight: 2, body: both, evidence: true, ease: 0.3,
		question: lt("აქვს თუ არა ორგანოს საკუთარი ვებგვერდი, რომელიც კვირაში ერთხელ მაინც ახლდება?", "Does the body keep a website of its own, updated at least weekly?"),
		action:   lt("ვებგვერდის რეგულარული განახლება", "update the website at least weekly")},
	{code: "website-search", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, ease: 0.05,
		question: lt("შესაძლებელია თუ არა ვებგვერდზე ძიება საკვანძო სიტყვითა და თარიღით?", "Can the website be searched by keyword and date?"),
		action:   lt("ვებგვერდზე საძიებო სისტემის დამატება", "add search to the website")},
	{code: "english", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.2,
		question: lt("ხელმისაწვდომია თუ არა ძირითადი ინფორმაცია ინგლისურ ენაზე?", "Is the key information available in English?"),
		action:   lt("ძირითადი ინფორმაციის ინგლისურ ენაზე გამოქვეყნება", "publish the key information in English")},
	{code: "minority-languages", block: "e-governance", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.35,
		question: lt("ხელმისაწვდომია თუ არა ძირითადი ინფორმაცია მუნიციპალიტეტში მცხოვრები ეთნიკური უმცირესობების ენებზე?", "Is the key information available in the languages of the municipality's ethnic minorities?"),
		action:   lt("ძირითადი ინფორმაციის უმცირესობების ენებზე თარგმნა", "translate the key information into minority languages")},
	{code: "accessibility", block: "e-governance", scale: points4, weight: 1, body: cityHall, evidence: true, ease: -0.35,
		question: lt("რამდენად აკმაყოფილებს ვებგვერდი შეზღუდული შესაძლებლობის მქონე პირებისთვის ხელმისაწვდომობის სტანდარტს (WCAG 2.1)?", "How far does the website meet the accessibility standard (WCAG 2.1) for persons with disabilities?"),
		action:   lt("ვებგვერდის ხელმისაწვდომობის სტანდარტთან შესაბამისობა", "bring the website up to the accessibility standard")},
	{code: "mobile", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, ease: 0.15,
		question: lt("მოსახერხებელია თუ არა ვებგვერდი მობილური ტელეფონით სარგებლობისთვის?", "Is the website usable on a mobile phone?"),
		action:   lt("ვებგვერდის მობილური ვერსიის შექმნა", "make the website work on mobile phones")},
	{code: "open-data", block: "e-governance", scale: points4, weight: 2, body: cityHall, evidence: true, ease: -0.35,
		question: lt("ქვეყნდება თუ არა მონაცემები მანქანურად წაკითხვად ფორმატებში (ღია მონაცემები)?", "Is data published in machine-readable formats (open data)?"),
		action:   lt("მონაცემების ღია ფორმატებში გამოქვეყნება", "publish data in open formats")},
	{code: "e-foi", block: "e-governance", scale: yesNo, weight: 2, body: both, evidence: true, ease: 0.2,
		question: lt("შესაძლებელია თუ არა საჯარო ინფორმაციის ელექტრონულად გამოთხოვა?", "Can public information be requested electronically?"),
		action:   lt("საჯარო ინფორმაციის ელექტრონულად გამოთხოვის შესაძლებლობა", "accept information requests online")},
	{code: "e-petition", block: "e-governance", scale: yesNo, weight: 2, body: council, evidence: true, ease: -0.1,
		question: lt("შესაძლებელია თუ არა პეტიციის ელექტრონულად წარდგენა და ხელმოწერა?", "Can a petition be filed and signed electronically?"),
		action:   lt("ელექტრონული პეტიციის პლატფორმის ამოქმედება", "open an e-petition platform")},
	{code: "e-services", block: "e-governance", scale: percent, weight: 2, body: cityHall, evidence: true, ease: -0.1,
		question: lt("მუნიციპალური მომსახურებების წილი, რომლებზეც განაცხადის ონლაინ შეტანა შეიძლება", "Share of the municipality's services that can be applied for online"),
		action:   lt("მომსახურებების ონლაინ ხელმისაწვდომობის გაზრდა", "bring more services online")},
	{code: "application-status", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: 0,
		question: lt("შეუძლია თუ არა განმცხადებელს განცხადების სტატუსის ონლაინ გადამოწმება?", "Can an applicant follow their application's status online?"),
		action:   lt("განცხადების სტატუსის ონლაინ გადამოწმების შესაძლებლობა", "let applicants follow their application online")},
	{code: "session-streaming", block: "e-governance", scale: points2, weight: 2, body: council, evidence: true, ease: 0.05,
		question: lt("ტარდება თუ არა საკრებულოს სხდომების პირდაპირი ტრანსლაცია და ინახება თუ არა ჩანაწერები ონლაინ?", "Are Sakrebulo sessions streamed live, and their recordings kept online?"),
		action:   lt("სხდომების პირდაპირი ტრანსლაცია და ჩანაწერების შენახვა", "stream sessions live and keep the recordings")},
	{code: "social-media", block: "e-governance", scale: points2, weight: 1, body: both, evidence: true, ease: 0.35,
		question: lt("აქვს თუ არა ორგანოს აქტიური გვერდები სოციალურ ქსელებში?", "Does the body keep active pages on social media?"),
		action:   lt("სოციალური ქსელების აქტიური გამოყენება", "keep social media pages active")},
	{code: "social-answers", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, ease: 0,
		question: lt("პასუხობს თუ არა ორგანო მოქალაქეების შეკითხვებს სოციალურ ქსელებში?", "Does the body answer residents' questions on social media?"),
		action:   lt("სოციალურ ქსელებში მოქალაქეების შეკითხვებზე პასუხი", "answer residents' questions on social media")},
	{code: "e-consultation", block: "e-governance", scale: yesNo, weight: 1, body: council, evidence: true, ease: -0.25,
		question: lt("იხსნება თუ არა სამართლებრივი აქტების პროექტები ონლაინ კომენტარებისთვის?", "Are draft acts opened to comments online?"),
		action:   lt("აქტების პროექტების ონლაინ განხილვა", "open draft acts to comments online")},
	{code: "online-appointment", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.15,
		question: lt("შეუძლიათ თუ არა მოქალაქეებს მერთან შეხვედრაზე ონლაინ ჩაწერა?", "Can residents book a meeting with the mayor online?"),
		action:   lt("მერთან შეხვედრაზე ონლაინ ჩაწერის შესაძლებლობა", "let residents book a meeting with the mayor online")},
	{code: "procurement-links", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.15,
		question: lt("მიუთითებს თუ არა ვებგვერდი თითოეული შესყიდვის ბმულს სახელმწიფო შესყიდვების ელექტრონულ სისტემაში?", "Does each procurement on the website link to its record in the e-procurement system?"),
		action:   lt("შესყიდვების ელექტრონულ სისტემასთან ბმულების დამატება", "link each procurement to the e-procurement system")},
	{code: "project-map", block: "e-governance", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.4,
		question: lt("არსებობს თუ არა მუნიციპალური პროექტებისა და მომსახურებების ინტერაქტიული რუკა?", "Is there an interactive map of municipal projects and services?"),
		action:   lt("პროექტების ინტერაქტიული რუკის შექმნა", "build an interactive map of projects")},

	// Citizen participation and accountability.
	{code: "mayor-report", block: "participation", scale: yesNo, weight: 2, body: cityHall, evidence: true, ease: 0.2,
		question: lt("წარუდგინა თუ არა მერმა მოსახლეობას წლიური ანგარიში საჯარო შეხვედრაზე?", "Did the mayor report on the year's work to residents at a public meeting?"),
		action:   lt("მერის წლიური ანგარიშის საჯარო წარდგენა", "hold the mayor's annual report in public")},
	{code: "members-reports", block: "participation", scale: percent, weight: 2, body: council, evidence: true, ease: -0.1,
		question: lt("საკრებულოს წევრების წილი, რომლებმაც ამომრჩევლებს ანგარიში წარუდგინეს", "Share of Sakrebulo members who reported to their voters"),
		action:   lt("საკრებულოს წევრების ანგარიშები ამომრჩევლების წინაშე", "have every member report to their voters")},
	{code: "assemblies", block: "participation", scale: percent, weight: 2, body: cityHall, evidence: true, ease: -0.1,
		question: lt("დასახლებების წილი, რომელთა საერთო კრება წელიწადში ორჯერ მაინც შედგა", "Share of settlements whose general assembly met at least twice in the year"),
		action:   lt("დასახლებების საერთო კრებების რეგულარული მოწვევა", "convene settlements' general assemblies regularly")},
	{code: "petitions", block: "participation", scale: points2, weight: 2, body: council, evidence: true, ease: -0.05,
		question: lt("განიხილა თუ არა საკრებულომ პეტიციები კანონით დადგენილ ვადაში და გამოაქვეყნა თუ არა შედეგი?", "Were petitions considered within the legal deadline, and their outcome published?"),
		action:   lt("პეტიციების ვადაში განხილვა და შედეგის გამოქვეყნება", "consider petitions on time and publish the outcome")},
	{code: "advisory-council", block: "participation", scale: points2, weight: 2, body: cityHall, evidence: true, ease: -0.1,
		question: lt("ფუნქციონირებს თუ არა სამოქალაქო მრჩეველთა საბჭო და იკრიბება თუ არა რეგულარულად?", "Does the civil advisory council work and meet regularly?"),
		action:   lt("სამოქალაქო მრჩეველთა საბჭოს რეგულარული მუშაობა", "have the civil advisory council meet regularly")},
	{code: "gender-council", block: "participation", scale: points2, weight: 1, body: council, evidence: true, ease: 0.05,
		question: lt("ფუნქციონირებს თუ არა გენდერული თანასწორობის საბჭო გამოქვეყნებული სამოქმედო გეგმით?", "Does the gender equality council work, with a published action plan?"),
		action:   lt("გენდერული თანასწორობის სამოქმედო გეგმის მიღება", "adopt and publish a gender equality action plan")},
	{code: "budget-hearings", block: "participation", scale: points2, weight: 2, body: both, evidence: true, ease: -0.05,
		question: lt("განიხილეს თუ არა ბიუჯეტის პროექტი მოსახლეობასთან მის დამტკიცებამდე?", "Was the draft budget discussed with residents before its adoption?"),
		action:   lt("ბიუჯეტის პროექტის საჯარო განხილვა", "hold public hearings on the draft budget")},
	{code: "youth-council", block: "participation", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.15,
		question: lt("მონაწილეობს თუ არა ახალგაზრდული საბჭო გადაწყვეტილებების მიღებაში?", "Does a youth council take part in the body's decisions?"),
		action:   lt("ახალგაზრდული საბჭოს ჩართვა გადაწყვეტილებებში", "involve the youth council in decisions")},
	{code: "disability-council", block: "participation", scale: yesNo, weight: 1, body: cityHall, evidence: true, ease: -0.2,
		question: lt("ხდება თუ არა შეზღუდული შესაძლებლობის მქონე პირებთან კონსულტაცია მუდმივმოქმედი საბჭოს მეშვეობით?", "Are persons with disabilities consulted through a standing council?"),
		action:   lt("შეზღუდული შესაძლებლობის მქონე პირთა საბჭოს შექმნა", "set up a council of persons with disabilities")},
	{code: "open-sessions", block: "participation", scale: points2, weight: 1, body: council, ease: 0.15,
		question: lt("შეუძლიათ თუ არა მოქალაქეებს საკრებულოსა და მისი კომისიების სხდომებზე დასწრება და სიტყვით გამოსვლა?", "May residents attend, and speak at, Sakrebulo and commission sessions?"),
		action:   lt("სხდომებზე მოქალაქეთა დასწრებისა და გამოსვლის უზრუნველყოფა", "let residents attend and speak at sessions")},
	{code: "consultation-results", block: "participation", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.25,
		question: lt("ქვეყნდება თუ არა საჯარო კონსულტაციების შედეგები ორგანოს პასუხებთან ერთად?", "Are the results of public consultations published with the body's answers?"),
		action:   lt("კონსულტაციების შედეგებისა და პასუხების გამოქვეყნება", "publish consultation results with the answers")},
	{code: "ethics-code", block: "participation", scale: yesNo, weight: 1, body: both, evidence: true, ease: -0.05,
		question: lt("მიღებული აქვს თუ არა ორგანოს ეთიკის კოდექსი საჩივრების განხილვის წესით?", "Has the body adopted a code of ethics with a procedure for complaints?"),
		action:   lt("ეთიკის კოდექსისა და საჩივრების განხილვის წესის მიღება", "adopt a code of ethics with a complaints procedure")},
	{code: "complaints", block: "participation", scale: points2, weight: 1, body: cityHall, evidence: true, ease: -0.15,
		question: lt("ხდება თუ არა მოქალაქეთა საჩივრების მიღება, მათზე პასუხი და საჩივრების სტატისტიკის გამოქვეყნება?", "Are residents' complaints received, answered and counted in published statistics?"),
		action:   lt("საჩივრების სტატისტიკის გამოქვეყნება", "publish statistics of complaints and answers")},
	// Computed from the ledger's own records: no assessor judges them.
	{code: "budget-held", block: "participation", scale: yesNo, weight: 2, body: cityHall, computed: benchmark.BudgetHeld,
		question: lt("ჩაატარა თუ არა მუნიციპალიტეტმა მონაწილეობითი ბიუჯეტირება ამ წელს? (გამოითვლება Civic Ledger-ის ჩანაწერებიდან)", "Did the municipality run a participatory budget that year? (computed from Civic Ledger's records)")},
	{code: "budget-turnout", block: "participation", weight: 2, body: cityHall, computed: benchmark.BudgetTurnout,
		scale:    banded(benchmark.Band{From: 0, Points: 0}, benchmark.Band{From: 5, Points: 1}, benchmark.Band{From: 15, Points: 2}, benchmark.Band{From: 30, Points: 3}),
		question: lt("მონაწილეობით ბიუჯეტში მონაწილე ამომრჩევლები 1000 მცხოვრებზე (გამოითვლება)", "Voters in the participatory budget per 1,000 inhabitants (computed)")},
	{code: "activities-held", block: "participation", weight: 1, body: cityHall, computed: benchmark.ActivitiesHeld,
		scale:    banded(benchmark.Band{From: 0, Points: 0}, benchmark.Band{From: 1, Points: 1}, benchmark.Band{From: 10, Points: 2}, benchmark.Band{From: 25, Points: 3}),
		question: lt("მუნიციპალიტეტში ჩატარებული სამოქალაქო ჩართულობის ღონისძიებები (გამოითვლება)", "Civic participation activities held in the municipality (computed)")},
	{code: "attendance", block: "participation", weight: 1, body: cityHall, computed: benchmark.Attendance,
		scale:    banded(benchmark.Band{From: 0, Points: 0}, benchmark.Band{From: 5, Points: 1}, benchmark.Band{From: 20, Points: 2}, benchmark.Band{From: 50, Points: 3}),
		question: lt("ამ ღონისძიებებზე დასწრება 1000 მცხოვრებზე (გამოითვლება)", "Attendance of those activities per 1,000 inhabitants (computed)")},
	{code: "women-share", block: "participation", scale: percent, weight: 1, body: cityHall, computed: benchmark.WomenShare,
		question: lt("ქალების წილი ღონისძიებების მონაწილეებში, პროცენტებში (გამოითვლება)", "Women's share of the activities' attendance, in percent (computed)")},
	{code: "certified", block: "participation", scale: yesNo, weight: 1, body: cityHall, computed: benchmark.Certified,
		question: lt("მიიღო თუ არა მუნიციპალიტეტმა ამ წელს სამოქალაქო ჩართულობის სერტიფიკატი? (გამოითვლება)", "Was the municipality certified for civic engagement that year? (computed)")},
	{code: "cso-memberships", block: "participation", weight: 1, body: cityHall, computed: benchmark.Memberships,
		scale:    banded(benchmark.Band{From: 0, Points: 0}, benchmark.Band{From: 1, Points: 1}, benchmark.Band{From: 3, Points: 2}, benchmark.Band{From: 6, Points: 3}),
		question: lt("მუნიციპალიტეტში რეგისტრირებული სამოქალაქო ორგანიზაციების წევრობა ქსელებში (გამოითვლება)", "Network memberships of the civil society organisations registered in the municipality (computed)")},
}

// LSGIMethod returns the demo's method: three blocks modelled on Georgia's
// Local Self-Government Index (IDFI, CTC and MSDC), proactive publication
// (35), e-governance (40) and citizen participation and accountability
// (25), 61 indicators judging the City Hall and the Sakrebulo apart, the
// participation block's last seven computed from the ledger, and three
// bands (leading from 50%, advancing from 25%). Its questions are written
// after the index's; its weights and scales are the demo's own.
func LSGIMethod() benchmark.Method {
	m := benchmark.Method{
		Blocks: slices.Clone(lsgiBlocks),
		Bands:  []benchmark.RankBand{{Name: "leading", From: 50}, {Name: "advancing", From: 25}, {Name: "starting", From: 0}},
	}
	for _, ind := range lsgiIndicators {
		m.Indicators = append(m.Indicators, benchmark.Indicator{Code: ind.code, Block: ind.block, Question: ind.question, Scale: ind.scale,
			Weight: ind.weight, Body: ind.body, Evidence: ind.evidence, Computed: string(ind.computed)})
	}
	return m
}

const lsgiReason = "Modelled on the Local Self-Government Index (IDFI, CTC, MSDC): proactive publication, e-governance, " +
	"citizen participation and accountability, the City Hall and the Sakrebulo judged apart. Demo data: the questions " +
	"follow the index, the weights and scales are the demo's own, and every score is illustrative except the figures " +
	"each round's title names as published by the index."

// benchRound is a round of the demo: its calendar (the year judged is
// assessed from 1 October, scores until the end of January, comments in
// February, publication in mid-March) and the block averages it aims at.
type benchRound struct {
	id   string
	year int
	// blocks are the block averages aimed at; their weighted mean is the
	// average total.
	blocks map[string]float64
	title  domain.LocalizedText
}

func (r benchRound) day(offset int, md string) string { return fmt.Sprintf("%d-%s", r.year+offset, md) }

var benchRounds = []benchRound{
	{id: "2021", year: 2021, blocks: map[string]float64{"publication": 27, "e-governance": 32, "participation": 23},
		title: lt("ადგილობრივი თვითმმართველობის ინდექსი 2021 (დემო: საშუალო 28%, საუკეთესო ფოთი 70%, ყველაზე დაბალი ადიგენი 4% და ბლოკების საშუალოები გამოქვეყნებული ინდექსისაა; დანარჩენი საილუსტრაციოა)",
			"Local Self-Government Index 2021 (demo: the average of 28%, the best, Poti at 70%, the lowest, Adigeni at 4%, and the block averages are the published index's; everything else is illustrative)")},
	{id: "2023", year: 2023, blocks: map[string]float64{"publication": 34, "e-governance": 38, "participation": 20},
		title: lt("ადგილობრივი თვითმმართველობის ინდექსი 2023 (დემო: ბლოკების საშუალოები გამოქვეყნებული ინდექსისაა; დანარჩენი საილუსტრაციოა)",
			"Local Self-Government Index 2023 (demo: the block averages are the published index's; everything else is illustrative)")},
	{id: "2025", year: 2025, blocks: map[string]float64{"publication": 38, "e-governance": 42, "participation": 22},
		title: lt("ადგილობრივი თვითმმართველობის ინდექსი 2025 (დემო: ყველა მონაცემი საილუსტრაციოა)",
			"Local Self-Government Index 2025 (demo: every figure illustrative)")},
}

// planRegions are the regions whose municipalities draw action plans from
// the 2023 round: the seed's three target regions.
var planRegions = []string{"adjara", "guria", "shida-kartli"}

// The demo's fixed points, from the index's 2021 report.
const (
	benchBest, benchBestTotal   = "poti", 70.0
	benchWorst, benchWorstTotal = "adigeni", 4.0
	benchAverage2021            = 28.0
)

// Benchmark loads the demo benchmark through svc, so every rule of the
// service checks it: the method (LSGIMethod) published, and rounds 2021,
// 2023 and 2025 over the 64 municipalities of the registry, each opened,
// its computed indicators scored from svc.Ledger, a few municipalities'
// self-assessments, every judged indicator scored with its evidence and
// rationale, the preliminary results shared, a handful of contests
// answered (some kept, some revised) and the round published, each
// command on a day of the round's calendar. After the 2023 round the
// municipalities of Adjara, Guria and Shida Kartli adopt action plans on
// their weakest indicators, and report progress through 2024-2025; the
// 2025 round shows the indicators they completed improved.
//
// The judged scores are generated (seeded, so the same ledger gives the
// same scores) and steered so that each municipality's total lands near
// a target: the index's published 2021 average, best and worst, and its
// 2021 and 2023 block averages, hold whatever the ledger's figures are,
// since the judged scores make up for the computed ones. Everything else
// is illustrative, and the rounds' titles say which figures are not.
//
// It loads nothing when the method has a version already, so a server
// may call it at every start. The municipalities must be registered
// first (see Registry), and svc.Ledger set.
func Benchmark(ctx context.Context, svc *benchmark.Service) (BenchmarkReport, error) {
	var methods benchmark.Methods
	if _, err := svc.Repo.Load(ctx, benchmark.MethodStream, &methods); err != nil {
		return BenchmarkReport{}, err
	}
	if methods.Latest() > 0 {
		return BenchmarkReport{}, nil
	}
	if svc.Ledger == nil {
		return BenchmarkReport{}, errors.New("benchmark demo: the service has no ledger to compute figures from")
	}
	rows, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		return BenchmarkReport{}, err
	}
	var munis []registry.RegisterMunicipality
	for _, r := range rows {
		if r.cmd.Kind != registry.OccupiedMunicipality {
			munis = append(munis, r.cmd)
		}
	}
	d := newBenchDemo(munis)
	var rep BenchmarkReport
	if _, err := svc.PublishMethod(ctx, benchMeta("2021-09-15", benchActor), benchmark.PublishMethod{Method: d.method, Reason: lsgiReason}); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return rep, nil // another loader published it meanwhile
		}
		return rep, fmt.Errorf("benchmark demo: method: %w", err)
	}
	rep.Methods++
	for _, r := range benchRounds {
		if r.id == "2025" {
			if err := d.loadPlans(ctx, svc, &rep); err != nil {
				return rep, fmt.Errorf("benchmark demo: plans: %w", err)
			}
		}
		if err := d.loadRound(ctx, svc, r, &rep); err != nil {
			return rep, fmt.Errorf("benchmark demo: round %s: %w", r.id, err)
		}
	}
	return rep, nil
}

// benchMeta is a command's meta on a day, at noon in Tbilisi.
func benchMeta(day string, a domain.Actor) domain.Meta {
	t := noonOf(day)
	return domain.Meta{Actor: a, CorrelationID: benchCorrelation, Now: t, OccurredAt: t}
}

// benchKey is an indicator as it judges one body.
type benchKey struct {
	indicator string
	body      benchmark.Body
}

// benchDemo is the demo's generated state: the targets, and what the
// rounds and plans decided, which later rounds build on.
type benchDemo struct {
	method benchmark.Method
	specs  map[string]*lsgiIndicator
	munis  []registry.RegisterMunicipality
	// totals[round][municipality] is the total aimed at.
	totals map[string]map[string]float64
	// judged[round][municipality] are the judged values decided.
	judged map[string]map[string]map[benchKey]*float64
	// improved[municipality] are the 2025 values a plan's commitments
	// brought, on top of what the municipality would have scored without
	// it.
	improved map[string]map[benchKey]float64
	mu       sync.Mutex
}

// benchRand is a generator of its own for each name, so that loading
// municipalities concurrently, or in another order, draws the same.
func benchRand(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

func newBenchDemo(munis []registry.RegisterMunicipality) *benchDemo {
	d := &benchDemo{method: LSGIMethod(), specs: map[string]*lsgiIndicator{}, munis: munis,
		totals: map[string]map[string]float64{}, judged: map[string]map[string]map[benchKey]*float64{}, improved: map[string]map[benchKey]float64{}}
	d.method.Version = 1
	for i := range lsgiIndicators {
		d.specs[lsgiIndicators[i].code] = &lsgiIndicators[i]
	}
	// 2021: a level per municipality from its size, the cities and the
	// municipalities that have run participatory budgets since 2019
	// higher, fitted around Poti's and Adigeni's published totals to the
	// published average.
	inProgramme := []string{"akhaltsikhe", "batumi", "gori", "kutaisi", "marneuli", "ozurgeti", "sighnaghi", "tskaltubo", "zugdidi"}
	raw := map[string]float64{}
	for _, m := range munis {
		r := benchRand("level", m.Code)
		pop := 20000.0
		if m.Population2014 != nil {
			pop = float64(*m.Population2014)
		}
		x := 24 + 5*math.Log(pop/30000) + 7*r.NormFloat64()
		if m.Kind == registry.SelfGoverningCity {
			x += 10
		}
		if slices.Contains(inProgramme, m.Code) {
			x += 6
		}
		raw[m.Code] = x
	}
	delete(raw, benchBest)
	delete(raw, benchWorst)
	n := float64(len(munis))
	t21 := fitMean(raw, (benchAverage2021*n-benchBestTotal-benchWorstTotal)/(n-2), benchWorstTotal+5, benchBestTotal-8)
	t21[benchBest], t21[benchWorst] = benchBestTotal, benchWorstTotal
	d.totals["2021"] = t21
	// Later rounds move from the last with noise, to the rounds' averages.
	prev := t21
	for _, r := range benchRounds[1:] {
		next := map[string]float64{}
		for code, t := range prev {
			g := benchRand("growth", r.id, code)
			next[code] = t * (1 + 0.15*(2*g.Float64()-1))
		}
		d.totals[r.id] = fitMean(next, weightedMean(r.blocks), 2, 92)
		prev = d.totals[r.id]
	}
	return d
}

// weightedMean is the total of block scores by the method's weights.
func weightedMean(blocks map[string]float64) float64 {
	t := 0.0
	for _, b := range lsgiBlocks {
		t += float64(b.Weight) * blocks[b.Code] / 100
	}
	return t
}

// fitMean shifts values so that, clipped to lo-hi, their mean is mean.
func fitMean(values map[string]float64, mean, lo, hi float64) map[string]float64 {
	out := map[string]float64{}
	shift := 0.0
	for range 60 {
		sum := 0.0
		for k, v := range values {
			out[k] = min(hi, max(lo, v+shift))
			sum += out[k]
		}
		shift += mean - sum/float64(len(values))
	}
	return out
}

// blockTargets splits a municipality's total into block targets near
// the round's block averages, scaled so that they weigh up to the total.
func (d *benchDemo) blockTargets(r benchRound, code string, total float64) map[string]float64 {
	g := benchRand("blocks", r.id, code)
	w := weightedMean(r.blocks)
	out := map[string]float64{}
	sum := 0.0
	for _, b := range lsgiBlocks {
		out[b.Code] = total * r.blocks[b.Code] / w * (1 + 0.12*(2*g.Float64()-1))
		sum += float64(b.Weight) * out[b.Code] / 100
	}
	for k := range out {
		out[k] = min(100, out[k]*total/sum)
	}
	return out
}

// benchSlot is an indicator of one body in a municipality's scorecard
// as the generator fills it.
type benchSlot struct {
	spec *lsgiIndicator
	body benchmark.Body
	// w is its weight in its block: half the indicator's for each body
	// of an indicator judging both, as Aggregate counts it.
	w float64
	// value is nil for no data.
	value *float64
	// free: judged and with data, so the generator chooses its value.
	free bool
	// aim is where the municipality stands on it apart from its general
	// level: the indicator's ease, the municipality's own habit (the same
	// every round) and the year's chance.
	aim float64
	// u rounds its share to the scale, the same every round, so that a
	// municipality whose level rises keeps what it had.
	u float64
}

func (s *benchSlot) share() float64 {
	if s.value == nil {
		return 0
	}
	x, _ := s.spec.scale.Share(*s.value)
	return x
}

// top is the slot's highest value.
func (s *benchSlot) top() float64 {
	switch s.spec.scale.Kind {
	case benchmark.Points:
		return float64(s.spec.scale.Max)
	case benchmark.Percent:
		return 100
	}
	return 1
}

// quantize turns a share into a value of the slot's scale, rounding up
// or down by s.u, so that over many slots the shares average out.
func (s *benchSlot) quantize(x float64) float64 {
	x = min(1, max(0, x))
	switch s.spec.scale.Kind {
	case benchmark.Percent:
		return math.Round(x * 100)
	case benchmark.Points:
		return min(float64(s.spec.scale.Max), math.Floor(x*float64(s.spec.scale.Max)+s.u))
	}
	if s.u < x {
		return 1
	}
	return 0
}

func ptr(x float64) *float64 { return &x }

// fill chooses the free slots' values of a block so that its score is
// target (percent) as nearly as the scales allow, given its computed
// slots and leaving out those with no data, and returns the score: first a general level is found at
// which the slots' shares, each at its aim, average to what is needed;
// then each is rounded to its scale; then the rounding is made up, one
// step of a yes/no or points slot at a time and the rest by the percent
// slots.
func fill(slots []*benchSlot, target float64) float64 {
	var wData, known, wFree float64
	var free []*benchSlot
	for _, s := range slots {
		if s.value == nil && !s.free {
			continue
		}
		wData += s.w
		if s.free {
			wFree += s.w
			free = append(free, s)
		} else {
			known += s.w * s.share()
		}
	}
	if wData == 0 {
		return math.NaN()
	}
	needed := min(wFree, max(0, target/100*wData-known))
	at := func(c float64) float64 {
		sum := 0.0
		for _, s := range free {
			sum += s.w * min(1, max(0, c+s.aim))
		}
		return sum
	}
	lo, hi := -2.0, 2.0
	for range 50 {
		if c := (lo + hi) / 2; at(c) < needed {
			lo = c
		} else {
			hi = c
		}
	}
	got := 0.0
	for _, s := range free {
		s.value = ptr(s.quantize(lo + s.aim))
		got += s.w * s.share()
	}
	gap := needed - got
	for range 200 {
		var best *benchSlot
		bestLeft, dir := math.Abs(gap), math.Copysign(1, gap)
		for _, s := range free {
			if s.spec.scale.Kind == benchmark.Percent {
				continue
			}
			v := *s.value + dir
			if v < 0 || v > s.top() {
				continue
			}
			if left := math.Abs(gap - dir*s.w/s.top()); left < bestLeft-1e-9 {
				best, bestLeft = s, left
			}
		}
		if best == nil {
			break
		}
		*best.value += dir
		gap -= dir * best.w / best.top()
	}
	var pct []*benchSlot
	wPct := 0.0
	for _, s := range free {
		if s.spec.scale.Kind == benchmark.Percent {
			pct = append(pct, s)
			wPct += s.w
		}
	}
	for range 5 {
		if wPct == 0 || math.Abs(gap) < 1e-6 {
			break
		}
		delta := gap / wPct
		for _, s := range pct {
			was := s.share()
			*s.value = math.Round(min(1, max(0, was+delta)) * 100)
			gap -= s.w * (s.share() - was)
		}
	}
	sum := known
	for _, s := range free {
		sum += s.w * s.share()
	}
	return 100 * sum / wData
}

// benchCard is what the generator decided for a municipality in a round.
type benchCard struct {
	code  string
	slots []*benchSlot
	// preliminary are values scored lower than decided, which a contest
	// then has revised to the decided value.
	preliminary map[benchKey]float64
	contests    []benchContest
}

// benchContest is a score a municipality contests, and whether the
// assessor revises it.
type benchContest struct {
	key     benchKey
	revised bool
}

// decide generates a municipality's judged values for a round around the
// computed values the ledger gave: the block with computed indicators
// first, as what it can reach depends on the ledger, then the others
// aiming at what keeps the total on its target. In 2025 a plan's
// commitments then lift their indicators above what the municipality
// would have scored without it, so the plan shows in the total too.
func (d *benchDemo) decide(r benchRound, m registry.RegisterMunicipality, computed []benchmark.Value) (*benchCard, error) {
	g := benchRand("values", r.id, m.Code)
	small := m.Population2014 != nil && *m.Population2014 < 20000
	got := map[benchKey]*float64{}
	for _, v := range computed {
		got[benchKey{v.Indicator, v.Body}] = v.Value
	}
	lifted := d.improved[m.Code]
	if r.id != "2025" {
		lifted = nil
	}
	card := &benchCard{code: m.Code, preliminary: map[benchKey]float64{}}
	byBlock := map[string][]*benchSlot{}
	for i := range lsgiIndicators {
		spec := &lsgiIndicators[i]
		bodies := []benchmark.Body{spec.body}
		w := float64(spec.weight)
		if spec.body == benchmark.Both {
			bodies, w = []benchmark.Body{benchmark.CityHall, benchmark.Sakrebulo}, w/2
		}
		for _, b := range bodies {
			k := benchKey{spec.code, b}
			s := &benchSlot{spec: spec, body: b, w: w}
			switch {
			case spec.computed != "":
				s.value = got[k]
			case small && lifted[k] == 0 && g.Float64() < 0.05:
				// No data: a page that would not load, a request never
				// answered.
			default:
				s.free = true
				habit := benchRand("habit", m.Code, spec.code, string(b))
				s.aim = spec.ease + 0.15*habit.NormFloat64() + 0.06*g.NormFloat64()
				s.u = habit.Float64()
			}
			card.slots = append(card.slots, s)
			byBlock[spec.block] = append(byBlock[spec.block], s)
		}
	}
	total := d.totals[r.id][m.Code]
	targets := d.blockTargets(r, m.Code, total)
	// The block with computed indicators first; then the rest, scaled to
	// make up whatever it missed.
	first := "participation"
	reached := fill(byBlock[first], targets[first])
	rest := 0.0
	for _, b := range lsgiBlocks {
		if b.Code != first {
			rest += float64(b.Weight) * targets[b.Code]
		}
	}
	wFirst := 0.0
	for _, b := range lsgiBlocks {
		if b.Code == first {
			wFirst = float64(b.Weight)
		}
	}
	scale := 1.0
	if !math.IsNaN(reached) && rest > 0 {
		scale = max(0, (total*100-wFirst*reached)/rest)
	}
	for _, b := range lsgiBlocks {
		if b.Code != first {
			fill(byBlock[b.Code], min(100, targets[b.Code]*scale))
		}
	}
	for _, s := range card.slots {
		if v := lifted[benchKey{s.spec.code, s.body}]; s.free && v > *s.value {
			*s.value = v
		}
	}
	if _, err := d.method.Aggregate(card.values()); err != nil {
		return nil, err // a value off its scale: a bug of the generator
	}
	return card, nil
}

// values are the card's values, as Aggregate takes them.
func (c *benchCard) values() []benchmark.Value {
	out := make([]benchmark.Value, len(c.slots))
	for i, s := range c.slots {
		out[i] = benchmark.Value{Indicator: s.spec.code, Body: s.body, Value: s.value}
	}
	return out
}

// site is a body's website, as the demo's evidence names it.
func site(code string, body benchmark.Body) string {
	if body == benchmark.Sakrebulo {
		return "https://sakrebulo." + code + ".gov.ge"
	}
	return "https://" + code + ".gov.ge"
}

// rationale says why a judged value was given, short, as every score
// of a municipality is read again whenever it is scored.
func rationale(s *benchSlot, v *float64) string {
	const mark = " (illustrative)"
	if v == nil {
		return "No data: the page would not load and the request went unanswered." + mark
	}
	x := *v
	switch s.spec.scale.Kind {
	case benchmark.YesNo:
		if x == 1 {
			return "On the website, complete and current." + mark
		}
		return "Not on the website, nor given on request." + mark
	case benchmark.Points:
		switch {
		case x == 0:
			return fmt.Sprintf("0 of %d: not published.", s.spec.scale.Max) + mark
		case x == float64(s.spec.scale.Max):
			return fmt.Sprintf("%d of %d: in full and on time.", s.spec.scale.Max, s.spec.scale.Max) + mark
		}
		return fmt.Sprintf("%g of %d: in part, or late.", x, s.spec.scale.Max) + mark
	}
	return fmt.Sprintf("%g%% by the assessor's count.", x) + mark
}

// evidence is what a judged value rests on.
func evidence(r benchRound, code string, s *benchSlot) []benchmark.Evidence {
	if s.spec.code == "foi-answered" {
		return []benchmark.Evidence{{Kind: "foi", Ref: fmt.Sprintf("Requests for public information to the %s of %s, %d (illustrative)", s.body, code, r.year),
			AnsweredOn: r.day(1, "01-10")}}
	}
	return []benchmark.Evidence{{Kind: "url", Ref: site(code, s.body) + "/#" + s.spec.code}}
}

// loadRound runs a round: opened, computed, self-assessed and scored by
// municipality (several at once), shared, contested and published.
func (d *benchDemo) loadRound(ctx context.Context, svc *benchmark.Service, r benchRound, rep *BenchmarkReport) error {
	codes := make([]string, len(d.munis))
	for i, m := range d.munis {
		codes[i] = m.Code
	}
	if _, err := svc.OpenRound(ctx, benchMeta(r.day(0, "10-01"), benchActor), benchmark.OpenRound{ID: r.id, Title: r.title, Year: r.year,
		MethodVersion: 1, Municipalities: codes, Schedule: benchmark.Schedule{AssessmentEnd: r.day(1, "01-31"), CommentsUntil: r.day(1, "02-28")}}); err != nil {
		return err
	}
	rep.Rounds++
	n, err := svc.ComputeRound(ctx, benchMeta(r.day(0, "10-02"), benchActor), r.id)
	rep.Scores += n
	if err != nil {
		return err
	}
	// Which municipalities assess themselves, and which contest a score,
	// kept or revised: a few of each.
	pick := benchRand("picks", r.id)
	order := slices.Clone(codes)
	pick.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	selfAssessing, contesting := order[:8], order[8:14]

	cards := make([]*benchCard, len(d.munis))
	var (
		mu     sync.Mutex
		scores int
		errs   []error
		wg     sync.WaitGroup
	)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := d.munis[i]
				card, n, err := d.scoreMunicipality(ctx, svc, r, m, slices.Contains(selfAssessing, m.Code), slices.Index(contesting, m.Code))
				mu.Lock()
				cards[i] = card
				scores += n
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", m.Code, err))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range d.munis {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	rep.Scores += scores
	if len(errs) > 0 {
		return errs[0]
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	judged := map[string]map[benchKey]*float64{}
	for _, c := range cards {
		judged[c.code] = map[benchKey]*float64{}
		for _, s := range c.slots {
			if s.spec.computed == "" {
				judged[c.code][benchKey{s.spec.code, s.body}] = s.value
			}
		}
	}
	d.mu.Lock()
	d.judged[r.id] = judged
	d.mu.Unlock()

	// A second assessor reviews every scorecard before the municipalities
	// see it.
	for _, c := range cards {
		if _, err := svc.ReviewScorecard(ctx, benchMeta(r.day(1, "01-30"), benchReviewer), benchmark.Review{Round: r.id, Municipality: c.code,
			Accepted: true, Note: "checked against the evidence (illustrative)"}); err != nil {
			return fmt.Errorf("%s: review: %w", c.code, err)
		}
	}
	if _, err := svc.SharePreliminary(ctx, benchMeta(r.day(1, "02-01"), benchActor), r.id); err != nil {
		return err
	}
	for _, c := range cards {
		for _, ct := range c.contests {
			if err := d.contest(ctx, svc, r, c, ct); err != nil {
				return fmt.Errorf("%s: contest of %s: %w", c.code, ct.key.indicator, err)
			}
			rep.Contests++
		}
	}
	_, err = svc.Publish(ctx, benchMeta(r.day(1, "03-15"), benchActor), r.id)
	return err
}

// scoreMunicipality decides a municipality's values and scores them: its
// self-assessment first when it makes one, then the assessor's scores,
// spread over the assessment's days. contest is its place among the
// contesting municipalities (-1: none); the first half of them have a
// score revised, the rest a score kept.
func (d *benchDemo) scoreMunicipality(ctx context.Context, svc *benchmark.Service, r benchRound, m registry.RegisterMunicipality, selfAssess bool, contest int) (*benchCard, int, error) {
	var sc benchmark.Scorecard
	if _, err := svc.Repo.Load(ctx, benchmark.ScorecardStream(r.id, m.Code), &sc); err != nil {
		return nil, 0, err
	}
	card, err := d.decide(r, m, sc.AtPublication())
	if err != nil {
		return nil, 0, err
	}
	g := benchRand("acts", r.id, m.Code)
	var judged []*benchSlot
	for _, s := range card.slots {
		if s.free {
			judged = append(judged, s)
		}
	}
	if contest >= 0 {
		c := benchContest{revised: contest < 3}
		for _, k := range g.Perm(len(judged)) {
			s := judged[k]
			if s.spec.scale.Kind == benchmark.Percent || !c.revised && *s.value == s.top() {
				continue
			}
			if c.revised && *s.value < 1 {
				continue
			}
			c.key = benchKey{s.spec.code, s.body}
			if c.revised {
				card.preliminary[c.key] = *s.value - 1
			}
			card.contests = append(card.contests, c)
			break
		}
	}
	if selfAssess {
		for _, k := range g.Perm(len(judged))[:3] {
			s := judged[k]
			// Municipalities see themselves a step better than the
			// assessor does.
			v := min(s.top(), *s.value+1+float64(g.IntN(2)))
			if s.spec.scale.Kind == benchmark.Percent {
				v = min(100, *s.value+float64(10+g.IntN(20)))
			}
			if _, err := svc.SelfAssess(ctx, benchMeta(r.day(0, "10-20"), benchApplicant(m.Code)), benchmark.Score{Round: r.id, Municipality: m.Code,
				Indicator: s.spec.code, Body: s.body, Value: ptr(v), Rationale: "The municipality's own assessment (illustrative)"}); err != nil {
				return card, 0, err
			}
		}
	}
	n := 0
	days := []string{r.day(0, "11-10"), r.day(0, "11-24"), r.day(0, "12-08"), r.day(0, "12-22"), r.day(1, "01-12"), r.day(1, "01-26")}
	for i, s := range card.slots {
		if s.spec.computed != "" {
			continue
		}
		v := s.value
		if p, ok := card.preliminary[benchKey{s.spec.code, s.body}]; ok {
			v = ptr(p)
		}
		cmd := benchmark.Score{Round: r.id, Municipality: m.Code, Indicator: s.spec.code, Body: s.body, Value: v, Rationale: rationale(s, v)}
		if v != nil {
			cmd.Evidence = evidence(r, m.Code, s)
		}
		if _, err := svc.Score(ctx, benchMeta(days[i*len(days)/len(card.slots)], benchAssessor), cmd); err != nil {
			return card, n, fmt.Errorf("%s of the %s: %w", s.spec.code, s.body, err)
		}
		n++
	}
	return card, n, nil
}

// contest has a municipality contest a preliminary score in the comment
// window, and the assessor answer: a revised score back to the value
// decided, a kept one as it was.
func (d *benchDemo) contest(ctx context.Context, svc *benchmark.Service, r benchRound, c *benchCard, ct benchContest) error {
	grounds := "The document was published on our website before the assessment ended; the link is attached (illustrative)."
	if !ct.revised {
		grounds = "The score does not reflect the information we sent in answer to the request (illustrative)."
	}
	if _, err := svc.Contest(ctx, benchMeta(r.day(1, "02-12"), benchApplicant(c.code)), benchmark.Contest{Round: r.id, Municipality: c.code,
		Indicator: ct.key.indicator, Body: ct.key.body, Grounds: grounds,
		Evidence: []benchmark.Evidence{{Kind: "url", Ref: site(c.code, ct.key.body) + "/#" + ct.key.indicator + "-contest"}}}); err != nil {
		return err
	}
	answer := benchmark.Answer{Round: r.id, Municipality: c.code, Indicator: ct.key.indicator, Body: ct.key.body, Kept: true,
		Reason: "The answer to the request came after the assessment's cut-off date; the score stands (illustrative)."}
	if ct.revised {
		for _, s := range c.slots {
			if s.spec.code == ct.key.indicator && s.body == ct.key.body {
				answer.Kept, answer.Value = false, s.value
			}
		}
		answer.Reason = "The municipality's evidence shows the document was published in time; the score is revised (illustrative)."
	}
	_, err := svc.AnswerContest(ctx, benchMeta(r.day(1, "02-22"), benchAssessor), answer)
	return err
}

// benchCommitment is a commitment of a demo plan and how it fares.
type benchCommitment struct {
	benchmark.Commitment
	// completed on time; late: completed after its due date; otherwise
	// still delayed when the 2025 round opens.
	completed, late bool
	keys            []benchKey
}

// loadPlans has each municipality of the plan regions adopt an action
// plan from the 2023 round, committing to its weakest judged indicators,
// and report progress through 2024-2025; what its commitments brought is
// kept for the 2025 round.
func (d *benchDemo) loadPlans(ctx context.Context, svc *benchmark.Service, rep *BenchmarkReport) error {
	judged := d.judged["2023"]
	if judged == nil {
		return errors.New("the 2023 round was not loaded")
	}
	dues := []struct{ milestone, due string }{{"2024-07-31", "2024-12-31"}, {"2024-09-30", "2025-03-31"}, {"2024-10-31", "2025-06-30"}}
	for i, m := range d.munis {
		if !slices.Contains(planRegions, m.Region) {
			continue
		}
		g := benchRand("plan", m.Code)
		cs := d.commitments(judged[m.Code], 2+g.IntN(3), g)
		for k := range cs {
			dd := dues[(k+i)%len(dues)]
			c := &cs[k]
			c.Code = fmt.Sprintf("c%d", k+1)
			c.Due = dd.due
			c.Milestones = []benchmark.Milestone{
				{Code: "prepare", Due: dd.milestone, Text: lt("პროცედურა დამტკიცდა და პასუხისმგებელი პირი განისაზღვრა", "Procedure approved and a responsible officer named")},
				{Code: "deliver", Due: dd.due, Text: lt("ვალდებულება შესრულდა და შედეგი ვებგვერდზე აისახა", "Done, and shown on the website")},
			}
			switch x := g.Float64(); {
			case x < 0.55:
				c.completed = true
			case x < 0.8:
				c.late = true
			}
		}
		cmd := benchmark.AdoptPlan{Round: "2023", Municipality: m.Code,
			Title: lt("სამოქმედო გეგმა 2024–2025 ადგილობრივი თვითმმართველობის ინდექსის 2023 წლის შედეგების მიხედვით (საილუსტრაციო)",
				"Action plan 2024-2025 from the 2023 Local Self-Government Index (illustrative)")}
		for _, c := range cs {
			cmd.Commitments = append(cmd.Commitments, c.Commitment)
		}
		adopted := fmt.Sprintf("2024-04-%02d", 10+i%15)
		me := benchApplicant(m.Code)
		if _, err := svc.AdoptPlan(ctx, benchMeta(adopted, me), cmd); err != nil {
			return fmt.Errorf("%s: %w", m.Code, err)
		}
		rep.Plans++
		id := benchmark.PlanID("2023", m.Code)
		improved := map[benchKey]float64{}
		for _, c := range cs {
			reports := []benchmark.ReportProgress{{Plan: id, Commitment: c.Code, Milestone: "prepare", Status: benchmark.OnTrack, Progress: 40,
				Note: "The procedure is approved and an officer answers for it (illustrative)."}}
			reportDays := []string{c.Milestones[0].Due}
			switch {
			case c.completed:
				reports = append(reports, benchmark.ReportProgress{Plan: id, Commitment: c.Code, Milestone: "deliver", Status: benchmark.Completed,
					Progress: 100, Note: "Done, and shown on the website since (illustrative)."})
				reportDays = append(reportDays, c.Due)
			default:
				reports[0] = benchmark.ReportProgress{Plan: id, Commitment: c.Code, Status: benchmark.OnTrack, Progress: 20,
					Note: "Drafting under way; the procedure awaits approval (illustrative)."}
				reports = append(reports, benchmark.ReportProgress{Plan: id, Commitment: c.Code, Status: benchmark.Delayed, Progress: 50 + 5*g.IntN(5),
					Note: "Delayed: the staff who would publish it were not hired in time (illustrative)."})
				reportDays = append(reportDays, c.Due)
				if c.late {
					reports = append(reports, benchmark.ReportProgress{Plan: id, Commitment: c.Code, Milestone: "deliver", Status: benchmark.Completed,
						Progress: 100, Note: "Done, a few months late (illustrative)."})
					reportDays = append(reportDays, "2025-09-15")
				}
			}
			for k, p := range reports {
				if _, err := svc.ReportProgress(ctx, benchMeta(reportDays[k], me), p); err != nil {
					return fmt.Errorf("%s: %s: %w", m.Code, c.Code, err)
				}
				rep.Reports++
			}
			// What the commitment brings to the 2025 round: full marks once
			// completed, a step up while delayed.
			for _, k := range c.keys {
				s := benchSlot{spec: d.specs[k.indicator]}
				was := 0.0
				if v := judged[m.Code][k]; v != nil {
					was = *v
				}
				v := s.top()
				if !c.completed && !c.late {
					v = min(s.top(), was+max(1, s.top()/4))
				}
				if v > 0 {
					improved[k] = v
				}
			}
		}
		d.mu.Lock()
		d.improved[m.Code] = improved
		d.mu.Unlock()
	}
	return nil
}

// commitments groups a municipality's weakest judged indicators of 2023
// (lowest share first, the heavier first among equals) into n
// commitments of one block each, up to two indicators a commitment.
func (d *benchDemo) commitments(judged map[benchKey]*float64, n int, g *rand.Rand) []benchCommitment {
	type weak struct {
		code  string
		share float64
		w     int
		tie   float64
	}
	byCode := map[string]*weak{}
	for k, v := range judged {
		spec := d.specs[k.indicator]
		share := 1.0 // no data: not something a plan can aim at
		if v != nil {
			share, _ = spec.scale.Share(*v)
		}
		if w, ok := byCode[k.indicator]; ok {
			w.share = min(w.share, share)
			continue
		}
		byCode[k.indicator] = &weak{code: k.indicator, share: share, w: spec.weight}
	}
	var ws []*weak
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		byCode[code].tie = g.Float64()
		ws = append(ws, byCode[code])
	}
	slices.SortFunc(ws, func(a, b *weak) int {
		switch {
		case a.share != b.share:
			return cmp.Compare(a.share, b.share)
		case a.w != b.w:
			return b.w - a.w
		}
		return cmp.Compare(a.tie, b.tie)
	})
	var out []benchCommitment
	for _, w := range ws {
		spec := d.specs[w.code]
		i := slices.IndexFunc(out, func(c benchCommitment) bool {
			return d.specs[c.Indicators[0]].block == spec.block && len(c.Indicators) < 2
		})
		switch {
		case i >= 0:
		case len(out) < n:
			out = append(out, benchCommitment{})
			i = len(out) - 1
		default:
			continue
		}
		c := &out[i]
		c.Indicators = append(c.Indicators, w.code)
		if len(out) == n && !slices.ContainsFunc(out, func(c benchCommitment) bool { return len(c.Indicators) < 2 }) {
			break
		}
	}
	for i := range out {
		c := &out[i]
		var ka, en []string
		bodies := map[benchmark.Body]bool{}
		for _, code := range c.Indicators {
			spec := d.specs[code]
			ka, en = append(ka, spec.action.Ka), append(en, spec.action.En)
			bodies[spec.body] = true
			for k := range judged {
				if k.indicator == code {
					c.keys = append(c.keys, k)
				}
			}
		}
		slices.SortFunc(c.keys, func(a, b benchKey) int {
			return strings.Compare(a.indicator+string(a.body), b.indicator+string(b.body))
		})
		c.Text = lt(strings.Join(ka, "; "), strings.ToUpper(en[0][:1])+strings.Join(en, "; ")[1:])
		c.Responsible = benchmark.Both
		if len(bodies) == 1 {
			for b := range bodies {
				c.Responsible = b
			}
		}
	}
	return out
}
