package budgeting

import (
	"strings"

	"github.com/civicledger/civicledger/domain"
)

// Who sees a participatory budget. Everything a municipality publishes
// is public: the cycle, its calendar and rules, the ideas and their
// reviews, the ballot, the results and the delivery. A proposer's name is
// personal data, for the municipality running the cycle and the judges.
// Ballots are readable by no one outside the server: the count and the
// recount read them inside, and publish only totals; who voted for what
// is never shown, even to an admin. A paper batch's tally sheet is the
// municipality's and the judges', its ballots no one's.

// Staff are those who run a municipality's cycle: its own keys (the
// applicant's, which is the municipality's, and its officers'), and the
// judges.
var Staff = domain.Either(domain.Judges, domain.OwnStaff)

// ProposerSubject is the data subject of an idea's proposer: what `civic
// erase subject` takes to erase their name.
func ProposerSubject(idea string) string { return "budget_idea:" + idea + ":proposer" }

// MunicipalityOf is the municipality of a cycle ID ("keda" of
// "keda-2023"): a cycle is a municipality's for a year.
func MunicipalityOf(cycle string) string {
	if i := strings.LastIndexByte(cycle, '-'); i > 0 {
		return cycle[:i]
	}
	return cycle
}

func cycleScope(cycle string) domain.Scope { return domain.Scope{Municipality: MunicipalityOf(cycle)} }

func declareEvents(t *domain.Types) {
	domain.Declare[CycleOpened](t, domain.Everyone, nil).
		Show("id", "municipality", "year", "title", "currency", "pots", "phases", "categories", "eligibility", "rules", "source", "unit")
	domain.Declare[CycleRulesChanged](t, domain.Everyone, nil).Show("id", "rules", "reason")
	domain.Declare[PhasesRescheduled](t, domain.Everyone, nil).Show("id", "phases", "reason")
	domain.Declare(t, domain.Everyone, func(_ string, e IdeaSubmitted) domain.Scope { return cycleScope(e.Cycle) }).
		Show("id", "cycle", "pot", "category", "title", "cost", "proposer_kind", "organisation", "channel", "on").
		Personal(Staff, func(e IdeaSubmitted) string { return ProposerSubject(e.ID) }, "proposer")
	domain.Declare[IdeaWithdrawn](t, domain.Everyone, nil).Show("id", "reason")
	domain.Declare[IdeaMerged](t, domain.Everyone, nil).Show("id", "into", "reason")
	domain.Declare[IdeaReviewed](t, domain.Everyone, nil).Show("id", "feasible", "reason", "cost", "department")
	domain.Declare[IdeaAppealed](t, domain.Everyone, nil).Show("id", "grounds")
	domain.Declare[AppealDecided](t, domain.Everyone, nil).Show("id", "upheld", "reason", "cost")
	domain.Declare[BallotPublished](t, domain.Everyone, nil).Show("id", "projects")
	domain.Declare[BallotCast](t, domain.Nobody, nil).
		Show("cycle", "pot", "voter", "projects", "points", "sex", "age_band")
	domain.Declare(t, Staff, func(_ string, e PaperBatchEntered) domain.Scope { return cycleScope(e.Cycle) }).
		Show("cycle", "pot", "batch", "place", "on", "tally").
		Only(domain.Nobody, "ballots")
	domain.Declare[BallotsClosed](t, domain.Everyone, nil).Show("id", "on")
	domain.Declare[ResultsDeclared](t, domain.Everyone, nil).Show("id", "rules_version", "up_to", "inputs_digest", "pots", "on")
	domain.Declare[DeliveryReported](t, domain.Everyone, nil).Show("id", "status", "progress", "spent", "milestone", "documents", "on")
}

// DeclareViews declares who sees participatory budgets in the API: all of
// it everyone, since all of it is what a municipality publishes. No view
// holds a ballot or a voter's pseudonym: the statistics and the turnout
// are counts, and the results and the recount are totals per project.
// The mutations are open at the view, as every area's are: the service
// checks each actor's role and municipality.
func DeclareViews(v *domain.Views) {
	v.View("Query", domain.Everyone, "budgetCycles budgetCycle budgetIdea recountCycle budgetingTrend")
	v.View("BudgetTrendRow", domain.Enclosing, "year region municipality channel sex ageBand cycles voters ideas amount population turnout")
	v.View("Mutation", domain.Everyone, "openBudgetCycle changeBudgetRules rescheduleBudgetPhases submitIdea withdrawIdea mergeIdea "+
		"reviewIdea appealIdea decideAppeal publishBallot castBallot enterPaperBatch declareResults reportDelivery")
	v.View("Subscription", domain.Everyone, "cycleTurnout")
	v.View("BudgetCycle", domain.Everyone, "id municipality unit year title currency total pots phases currentPhase categories eligibility "+
		"rules ballot ideas statistics results source")
	v.View("BudgetIdea", domain.Everyone, "id cycle pot category title estimate cost proposerKind organisation channel submittedOn "+
		"status reviewReason closingReason department appealGrounds appealReason mergedInto delivery")
	v.View("BudgetPot", domain.Enclosing, "code name amount population")
	v.View("BudgetPhase", domain.Enclosing, "kind start end")
	v.View("BudgetCategory", domain.Enclosing, "code name")
	v.View("BudgetEligibility", domain.Enclosing, "minAge residence")
	v.View("BudgetRules", domain.Enclosing, "version ballot minProjects maxProjects minSpendPercent maxPoints secondBallot counting")
	v.View("BudgetCounting", domain.Enclosing, "method utility step threshold")
	v.View("BallotProject", domain.Enclosing, "idea pot cost")
	v.View("BudgetDelivery", domain.Enclosing, "status progress spent milestone documents reportedOn")
	v.View("BudgetStatistics", domain.Enclosing, "ideas byStatus onBallot voters online paper eligible eligibleSource turnout bySex byAgeBand pots delivery")
	v.View("DeliveryRollup", domain.Enclosing, "winners byStatus unreported progress cost spent")
	v.View("DeliveryStatusCount", domain.Enclosing, "status count")
	v.View("IdeaStatusCount", domain.Enclosing, "status count")
	v.View("PotStatistics", domain.Enclosing, "pot amount ideas voters")
	v.View("BudgetResults", domain.Enclosing, "rulesVersion upTo inputsDigest declaredOn pots")
	v.View("PotResult", domain.Enclosing, "pot budget spent ballots winners votes")
	v.View("IdeaVotes", domain.Enclosing, "idea votes")
	v.View("CycleRecount", domain.Everyone, "cycle verdict rulesVersion upTo inputsDigest declaredDigest ballots pots problems verification")
	v.View("CycleTurnout", domain.Everyone, "cycle voters online paper")
	v.View("BudgetCycleConnection", domain.Enclosing, "edges pageInfo")
	v.View("BudgetCycleEdge", domain.Enclosing, "cursor node")
	v.View("BudgetIdeaConnection", domain.Enclosing, "edges pageInfo")
	v.View("BudgetIdeaEdge", domain.Enclosing, "cursor node")
	v.View("BudgetCyclePayload", domain.Enclosing, "position cycle")
	v.View("BudgetIdeaPayload", domain.Enclosing, "position idea")
	v.View("BallotPayload", domain.Enclosing, "position accepted")
	v.View("PaperBatchPayload", domain.Enclosing, "position")
}
