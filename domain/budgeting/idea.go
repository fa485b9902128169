package budgeting

import (
	"fmt"

	"github.com/civicledger/civicledger/domain"
)

// IdeaStatus is where an idea stands in review.
type IdeaStatus string

// The statuses of an idea.
const (
	Submitted  IdeaStatus = "submitted"
	Feasible   IdeaStatus = "feasible"
	Infeasible IdeaStatus = "infeasible"
	Appealed   IdeaStatus = "appealed"
	Withdrawn  IdeaStatus = "withdrawn"
	Merged     IdeaStatus = "merged"
)

// Idea is a proposal as its stream tells it.
type Idea struct {
	id, cycle, pot, category string
	title                    domain.LocalizedText
	cost                     int64 // the reviewed cost once feasible, the estimate before
	status                   IdeaStatus
	appealed                 bool
	delivery                 DeliveryStatus
	progress                 int
}

// ID returns the idea's ID, "" before it was submitted.
func (i *Idea) ID() string { return i.id }

// Cycle returns the idea's cycle.
func (i *Idea) Cycle() string { return i.cycle }

// Pot returns the pot the idea was proposed in.
func (i *Idea) Pot() string { return i.pot }

// Title returns the idea's title.
func (i *Idea) Title() domain.LocalizedText { return i.title }

// Status returns where the idea stands in review.
func (i *Idea) Status() IdeaStatus { return i.status }

// Cost returns the reviewed cost of a feasible idea, the proposer's
// estimate of one not yet reviewed.
func (i *Idea) Cost() int64 { return i.cost }

// Delivery returns the last delivery status reported, "" for none.
func (i *Idea) Delivery() DeliveryStatus { return i.delivery }

// Apply implements domain.Aggregate.
func (i *Idea) Apply(e domain.Event) error {
	switch e := e.(type) {
	case IdeaSubmitted:
		if i.id != "" {
			return fmt.Errorf("idea %s: submitted twice", i.id)
		}
		*i = Idea{id: e.ID, cycle: e.Cycle, pot: e.Pot, category: e.Category, title: e.Title, cost: e.Cost, status: Submitted}
	case IdeaWithdrawn:
		i.status = Withdrawn
	case IdeaMerged:
		i.status = Merged
	case IdeaReviewed:
		// An infeasible idea keeps its estimate: its reviewed cost means
		// nothing.
		i.status = Infeasible
		if e.Feasible {
			i.status, i.cost = Feasible, e.Cost
		}
	case IdeaAppealed:
		i.status, i.appealed = Appealed, true
	case AppealDecided:
		i.status = Infeasible
		if e.Upheld {
			i.status, i.cost = Feasible, e.Cost
		}
	case DeliveryReported:
		i.delivery, i.progress = e.Status, e.Progress
	default:
		return fmt.Errorf("idea %s: unknown event %s", i.id, e.EventType())
	}
	return nil
}

// open refuses an idea that left the process.
func (i *Idea) open(action string) error {
	if i.status == Withdrawn || i.status == Merged {
		return domain.Errorf(domain.Conflict, "idea %s is %s and cannot be %s", i.id, i.status, action)
	}
	return nil
}

// Withdraw decides a withdrawal, before the ballot is out.
func (i *Idea) Withdraw(cmd WithdrawIdea) ([]domain.Event, error) {
	if err := i.open("withdrawn"); err != nil {
		return nil, err
	}
	return []domain.Event{IdeaWithdrawn{ID: i.id, Reason: cmd.Reason}}, nil
}

// MergeInto decides merging the idea into into, another open idea of the
// same cycle and pot.
func (i *Idea) MergeInto(cmd MergeIdea, into *Idea) ([]domain.Event, error) {
	if err := i.open("merged"); err != nil {
		return nil, err
	}
	if into.id == "" {
		return nil, invalid("into", "%q is not an idea", cmd.Into)
	}
	if into.id == i.id {
		return nil, invalid("into", "an idea cannot be merged into itself")
	}
	if into.cycle != i.cycle || into.pot != i.pot {
		return nil, invalid("into", "idea %s is of %s, pot %s; this one of %s, pot %s", into.id, into.cycle, into.pot, i.cycle, i.pot)
	}
	if err := into.open("merged into"); err != nil {
		return nil, err
	}
	return []domain.Event{IdeaMerged{ID: i.id, Into: into.id, Reason: cmd.Reason}}, nil
}

// Review decides a department's review, of an idea not reviewed yet or
// reviewed again before any appeal.
func (i *Idea) Review(cmd ReviewIdea, pot Pot) ([]domain.Event, error) {
	if err := i.open("reviewed"); err != nil {
		return nil, err
	}
	if i.appealed {
		return nil, domain.Errorf(domain.Conflict, "idea %s was appealed: the appeal decides it now", i.id)
	}
	if cmd.Feasible && cmd.Cost > pot.Amount {
		return nil, invalid("cost", "%d is over pot %s's whole amount, %d: an idea the pot cannot pay for is not feasible", cmd.Cost, pot.Code, pot.Amount)
	}
	return []domain.Event{IdeaReviewed{ID: i.id, Feasible: cmd.Feasible, Reason: cmd.Reason, Cost: cmd.Cost, Department: cmd.Department}}, nil
}

// Appeal decides the proposer's appeal of a review that found the idea
// infeasible; an idea is appealed once.
func (i *Idea) Appeal(cmd AppealIdea) ([]domain.Event, error) {
	if err := i.open("appealed"); err != nil {
		return nil, err
	}
	switch {
	case i.appealed:
		return nil, domain.Errorf(domain.Conflict, "idea %s was appealed already", i.id)
	case i.status != Infeasible:
		return nil, domain.Errorf(domain.Conflict, "idea %s is %s: only an idea found infeasible is appealed", i.id, i.status)
	}
	return []domain.Event{IdeaAppealed{ID: i.id, Grounds: cmd.Grounds}}, nil
}

// DecideAppeal decides an appeal under way.
func (i *Idea) DecideAppeal(cmd DecideAppeal, pot Pot) ([]domain.Event, error) {
	if i.status != Appealed {
		return nil, domain.Errorf(domain.Conflict, "idea %s is %s, with no appeal to decide", i.id, i.status)
	}
	if cmd.Upheld && cmd.Cost > pot.Amount {
		return nil, invalid("cost", "%d is over pot %s's whole amount, %d", cmd.Cost, pot.Code, pot.Amount)
	}
	return []domain.Event{AppealDecided{ID: i.id, Upheld: cmd.Upheld, Reason: cmd.Reason, Cost: cmd.Cost}}, nil
}

// ReportDelivery decides a delivery report on a winner. A delivery that
// was completed or cancelled is over.
func (i *Idea) ReportDelivery(cmd ReportDelivery) ([]domain.Event, error) {
	if i.delivery == Completed || i.delivery == Abandoned {
		return nil, domain.Errorf(domain.Conflict, "idea %s's delivery is %s: nothing more is reported", i.id, i.delivery)
	}
	if cmd.Progress < i.progress && cmd.Status != Abandoned {
		return nil, invalid("progress", "%d%% is below the %d%% reported before", cmd.Progress, i.progress)
	}
	return []domain.Event{DeliveryReported{ID: i.id, Status: cmd.Status, Progress: cmd.Progress, Spent: cmd.Spent,
		Milestone: cmd.Milestone, Documents: cmd.Documents, On: cmd.On}}, nil
}
