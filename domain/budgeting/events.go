package budgeting

import "github.com/civicledger/civicledger/domain"

// RegisterEvents adds the participatory budgeting events to types.
func RegisterEvents(types *domain.Types) {
	domain.Register[CycleOpened](types)
	domain.Register[CycleRulesChanged](types)
	domain.Register[PhasesRescheduled](types)
	domain.Register[IdeaSubmitted](types)
	domain.Register[IdeaWithdrawn](types)
	domain.Register[IdeaMerged](types)
	domain.Register[IdeaReviewed](types)
	domain.Register[IdeaAppealed](types)
	domain.Register[AppealDecided](types)
	domain.Register[BallotPublished](types)
	domain.Register[BallotCast](types)
	domain.Register[PaperBatchEntered](types)
	domain.Register[BallotsClosed](types)
	domain.Register[ResultsDeclared](types)
	domain.Register[DeliveryReported](types)
	declareEvents(types)
}

// Pot is money the ballot shares out on its own: a district's or a
// village's amount (Keda gives each village its own), or the whole
// cycle's when it has one pot. Ideas are proposed in a pot and voted in
// it; each pot is counted on its own.
type Pot struct {
	Code string               `json:"code"`
	Name domain.LocalizedText `json:"name"`
	// Amount is in minor units of the cycle's currency (tetri of GEL).
	Amount int64 `json:"amount"`
	// Population is the pot's eligible population when the municipality
	// recorded it, 0 when it did not: turnout is then measured against
	// the 2014 census of the municipality.
	Population int64 `json:"population,omitempty"`
}

// Phase is one stage of a cycle with its first and last day (YYYY-MM-DD,
// in Tbilisi; both included).
type Phase struct {
	Kind  PhaseKind `json:"kind"`
	Start string    `json:"start"`
	End   string    `json:"end"`
}

// PhaseKind names a stage of a cycle, in the order they run. CONSUL
// Democracy has ten; Georgian municipalities run these six, and a cycle
// may skip informing or the appeal window.
type PhaseKind string

// The phases of a cycle.
const (
	// Informing: the municipality announces the cycle and holds meetings.
	Informing PhaseKind = "informing"
	// Proposing: residents submit ideas.
	Proposing PhaseKind = "proposing"
	// Reviewing: the municipality's departments judge feasibility and
	// cost; applicants may appeal; ideas are shortlisted.
	Reviewing PhaseKind = "reviewing"
	// Voting: residents vote, online through the municipality's ballot
	// box or on paper at meetings.
	Voting PhaseKind = "voting"
	// Tallying: paper ballots are entered; no one votes any more.
	Tallying PhaseKind = "tallying"
	// Delivering: the results are declared and the winners are built.
	Delivering PhaseKind = "delivering"
)

// PhaseKinds lists the phases in the order they run.
var PhaseKinds = []PhaseKind{Informing, Proposing, Reviewing, Voting, Tallying, Delivering}

// Category is a theme ideas are filed under (Tbilisi's "Your idea for the
// mayor" has 13: roads, parks, sport, culture, ...).
type Category struct {
	Code string               `json:"code"`
	Name domain.LocalizedText `json:"name"`
}

// Eligibility is who may propose and vote: the municipality checks it (a
// residence, an age) before its ballot box lets a resident vote; the
// ledger records what it was.
type Eligibility struct {
	MinAge int `json:"min_age"`
	// Residence says who counts as a resident ("registered in the
	// village", "living or working in the municipality").
	Residence string `json:"residence"`
}

// BallotKind is what a ballot may hold.
type BallotKind string

// The kinds of ballot.
const (
	// Approval: a voter approves up to MaxProjects projects.
	Approval BallotKind = "approval"
	// Knapsack: a voter picks projects whose costs add up to at most the
	// pot's amount (and at least MinSpendPercent of it).
	Knapsack BallotKind = "knapsack"
	// Cumulative: a voter spreads up to MaxPoints points over projects.
	Cumulative BallotKind = "cumulative"
)

// SecondBallot is what a second ballot of the same voter does.
type SecondBallot string

// The rules for a second ballot.
const (
	// Refuse keeps the first ballot and refuses the second.
	Refuse SecondBallot = "refuse"
	// Replace lets a voter change their mind until voting closes: the
	// last ballot counts.
	Replace SecondBallot = "replace"
)

// Rules are how a cycle votes and counts, as data with a version, so a
// recount uses the rules the results recorded.
type Rules struct {
	Version int        `json:"version"`
	Ballot  BallotKind `json:"ballot"`
	// MinProjects and MaxProjects bound how many projects a ballot
	// supports (0: no bound).
	MinProjects int `json:"min_projects,omitempty"`
	MaxProjects int `json:"max_projects,omitempty"`
	// MinSpendPercent, for a knapsack ballot, is the least share of the
	// pot a ballot must spend (Decidim's "minimum % of the budget").
	MinSpendPercent int `json:"min_spend_percent,omitempty"`
	// MaxPoints, for a cumulative ballot, is the most points in all.
	MaxPoints int64 `json:"max_points,omitempty"`
	// SecondBallot is Refuse or Replace.
	SecondBallot SecondBallot `json:"second_ballot"`
	// Counting is how winners are drawn (see Count).
	Counting Counting `json:"counting"`
}

// CycleOpened: a municipality set up its participatory budget for a year.
type CycleOpened struct {
	ID           string               `json:"id"`
	Municipality string               `json:"municipality"`
	Year         int                  `json:"year"`
	Title        domain.LocalizedText `json:"title"`
	// Currency is ISO 4217 (GEL); every amount of the cycle is in its
	// minor units.
	Currency    string      `json:"currency"`
	Pots        []Pot       `json:"pots"`
	Phases      []Phase     `json:"phases"`
	Categories  []Category  `json:"categories"`
	Eligibility Eligibility `json:"eligibility"`
	Rules       Rules       `json:"rules"`
	// Source says where the cycle's figures come from when it was
	// imported (a pabulib file's name) or marks demo data; "" for a cycle
	// run in the ledger.
	Source string `json:"source,omitempty"`
	// Unit names the place of an imported cycle from outside Georgia's
	// registry (a published instance of another country's city, as its
	// source writes it, "Warszawa, Wars"); Municipality is then a code
	// made from it, not a registered municipality. "" for Georgia's.
	Unit string `json:"unit,omitempty"`
}

// EventType implements domain.Event.
func (CycleOpened) EventType() string { return "budgeting.cycle_opened" }

// CycleRulesChanged: the voting or counting rules changed before anyone
// voted; the version goes up.
type CycleRulesChanged struct {
	ID     string `json:"id"`
	Rules  Rules  `json:"rules"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (CycleRulesChanged) EventType() string { return "budgeting.cycle_rules_changed" }

// PhasesRescheduled: the calendar moved (a voting week postponed).
type PhasesRescheduled struct {
	ID     string  `json:"id"`
	Phases []Phase `json:"phases"`
	Reason string  `json:"reason"`
}

// EventType implements domain.Event.
func (PhasesRescheduled) EventType() string { return "budgeting.phases_rescheduled" }

// ProposerKind is who proposed an idea.
type ProposerKind string

// The kinds of proposer.
const (
	Resident ProposerKind = "resident"
	Group    ProposerKind = "group"
	CSO      ProposerKind = "cso"
)

// Channel is how an idea or a ballot reached the municipality.
type Channel string

// The channels.
const (
	Online Channel = "online"
	Paper  Channel = "paper"
)

// IdeaSubmitted: a resident, a group or a CSO proposed an idea.
type IdeaSubmitted struct {
	ID       string               `json:"id"`
	Cycle    string               `json:"cycle"`
	Pot      string               `json:"pot"`
	Category string               `json:"category"`
	Title    domain.LocalizedText `json:"title"`
	// Cost is the proposer's estimate, in minor units.
	Cost         int64        `json:"cost"`
	ProposerKind ProposerKind `json:"proposer_kind"`
	// Organisation is the CSO's ID in the registry, for a CSO.
	Organisation string `json:"organisation,omitempty"`
	// Proposer is the proposer's name: personal data, sealed.
	Proposer string  `json:"proposer,omitempty"`
	Channel  Channel `json:"channel"`
	On       string  `json:"on"`
}

// EventType implements domain.Event.
func (IdeaSubmitted) EventType() string { return "budgeting.idea_submitted" }

// IdeaWithdrawn: the proposer withdrew the idea.
type IdeaWithdrawn struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (IdeaWithdrawn) EventType() string { return "budgeting.idea_withdrawn" }

// IdeaMerged: the idea was merged into another of the same pot, which
// goes on in its place.
type IdeaMerged struct {
	ID     string `json:"id"`
	Into   string `json:"into"`
	Reason string `json:"reason"`
}

// EventType implements domain.Event.
func (IdeaMerged) EventType() string { return "budgeting.idea_merged" }

// IdeaReviewed: a department judged the idea feasible or not, and what it
// would cost.
type IdeaReviewed struct {
	ID         string `json:"id"`
	Feasible   bool   `json:"feasible"`
	Reason     string `json:"reason"`
	Cost       int64  `json:"cost"`
	Department string `json:"department"`
}

// EventType implements domain.Event.
func (IdeaReviewed) EventType() string { return "budgeting.idea_reviewed" }

// IdeaAppealed: the proposer appealed a review that found the idea
// infeasible.
type IdeaAppealed struct {
	ID      string `json:"id"`
	Grounds string `json:"grounds"`
}

// EventType implements domain.Event.
func (IdeaAppealed) EventType() string { return "budgeting.idea_appealed" }

// AppealDecided: the appeal was upheld (the idea is feasible, at Cost) or
// rejected.
type AppealDecided struct {
	ID     string `json:"id"`
	Upheld bool   `json:"upheld"`
	Reason string `json:"reason"`
	Cost   int64  `json:"cost,omitempty"`
}

// EventType implements domain.Event.
func (AppealDecided) EventType() string { return "budgeting.appeal_decided" }

// BallotProject is a project on the ballot: a feasible idea at its
// reviewed cost (or the cost an upheld appeal set).
type BallotProject struct {
	Idea string `json:"idea"`
	Pot  string `json:"pot"`
	Cost int64  `json:"cost"`
}

// BallotPublished: the municipality put the shortlisted ideas on the
// ballot, each at its reviewed cost. Ballots are checked against it, and
// the count takes its projects as the candidates; publishing it again
// before voting starts replaces it.
type BallotPublished struct {
	ID       string          `json:"id"`
	Projects []BallotProject `json:"projects"`
}

// EventType implements domain.Event.
func (BallotPublished) EventType() string { return "budgeting.ballot_published" }

// BallotCast: a voter voted online, in their own stream (VoterStream), so
// the store itself refuses a second ballot or orders a replacement. The
// voter is known only by a pseudonym (an HMAC of what the municipality
// verified, under a key of the cycle's that the ledger holds and can
// destroy), so a second ballot is recognised and no one can tell who
// voted. A later BallotCast in the same stream replaces the earlier one
// when the cycle's rules allow it.
type BallotCast struct {
	Cycle string `json:"cycle"`
	Pot   string `json:"pot"`
	Voter string `json:"voter"`
	// Projects are the ideas supported, and Points, on a cumulative
	// ballot, the points given each.
	Projects []string `json:"projects"`
	Points   []int64  `json:"points,omitempty"`
	// Sex and AgeBand are the voter's, as the municipality verified
	// them, for the statistics ("" when not given); the bands are the
	// activities' attendance bands.
	Sex     string `json:"sex,omitempty"`
	AgeBand string `json:"age_band,omitempty"`
}

// EventType implements domain.Event.
func (BallotCast) EventType() string { return "budgeting.ballot_cast" }

// PaperBallot is one paper ballot of a batch.
type PaperBallot struct {
	Projects []string `json:"projects"`
	Points   []int64  `json:"points,omitempty"`
	Sex      string   `json:"sex,omitempty"`
	AgeBand  string   `json:"age_band,omitempty"`
}

// PaperBatchEntered: an officer entered a batch of paper ballots from one
// meeting or polling place, with the tally sheet's totals, which the
// ballots were checked against.
type PaperBatchEntered struct {
	Cycle string `json:"cycle"`
	Pot   string `json:"pot"`
	Batch string `json:"batch"`
	Place string `json:"place"`
	// On is the day the ballots were cast.
	On      string        `json:"on"`
	Ballots []PaperBallot `json:"ballots"`
	// Tally is the sheet's count of ballots and of votes per project.
	Tally Tally `json:"tally"`
}

// EventType implements domain.Event.
func (PaperBatchEntered) EventType() string { return "budgeting.paper_batch_entered" }

// Tally is a tally sheet: the ballots of a batch and each project's votes.
type Tally struct {
	Ballots int              `json:"ballots"`
	Votes   map[string]int64 `json:"votes"`
}

// BallotsClosed: the ballots were closed for the count. The count takes
// every ballot the log holds before this event: once it has a position,
// every ballot committed before it has a smaller one (the log orders
// events by their transactions), so none is left out for arriving late,
// and a recount reads exactly the same ballots.
type BallotsClosed struct {
	ID string `json:"id"`
	On string `json:"on"`
}

// EventType implements domain.Event.
func (BallotsClosed) EventType() string { return "budgeting.ballots_closed" }

// PotResult is one pot's count.
type PotResult struct {
	Pot     string           `json:"pot"`
	Budget  int64            `json:"budget"`
	Winners []string         `json:"winners"`
	Spent   int64            `json:"spent"`
	Ballots int              `json:"ballots"`
	Votes   map[string]int64 `json:"votes"`
}

// ResultsDeclared: the ballots were counted and the winners declared, on
// or after the results day. The count is recorded with the rules version
// it used, the log position it read the ballots up to (BallotsClosed's),
// and a digest of its inputs, so anyone can recount (Service.Recount).
type ResultsDeclared struct {
	ID           string      `json:"id"`
	RulesVersion int         `json:"rules_version"`
	UpTo         int64       `json:"up_to"`
	InputsDigest string      `json:"inputs_digest"`
	Pots         []PotResult `json:"pots"`
	On           string      `json:"on"`
}

// EventType implements domain.Event.
func (ResultsDeclared) EventType() string { return "budgeting.results_declared" }

// DeliveryStatus is where a winning project's delivery stands.
type DeliveryStatus string

// The delivery statuses, in their usual order.
const (
	Planned     DeliveryStatus = "planned"
	Procurement DeliveryStatus = "procurement"
	InProgress  DeliveryStatus = "in_progress"
	Completed   DeliveryStatus = "completed"
	Abandoned   DeliveryStatus = "cancelled"
)

// DeliveryReported: the municipality reported on a winner's delivery.
type DeliveryReported struct {
	ID     string         `json:"id"`
	Status DeliveryStatus `json:"status"`
	// Progress is in percent, 0-100.
	Progress int `json:"progress"`
	// Spent is what was spent so far, in minor units.
	Spent     int64    `json:"spent"`
	Milestone string   `json:"milestone,omitempty"`
	Documents []string `json:"documents,omitempty"`
	On        string   `json:"on"`
}

// EventType implements domain.Event.
func (DeliveryReported) EventType() string { return "budgeting.delivery_reported" }
