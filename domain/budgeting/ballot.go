package budgeting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/civicledger/civicledger/domain"
)

// VoterSubject is the data subject whose key makes a cycle's voter
// pseudonyms. Erasing it (`civic erase subject`) once the results stand
// makes the pseudonyms unlinkable for ever: no one, the ledger included,
// can then tell whether a given resident voted.
func VoterSubject(cycle string) string { return "budget_cycle:" + cycle + ":voters" }

// pseudonym is the voter's pseudonym under key: 128 bits of an HMAC, so
// the same voter is the same pseudonym within the cycle, and the
// municipality's identifier never reaches the log.
func pseudonym(key []byte, cycle, voter string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(cycle))
	m.Write([]byte{0})
	m.Write([]byte(voter))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Voter is one voter's stream in a cycle: how many ballots they cast.
type Voter struct{ ballots int }

// Apply implements domain.Aggregate.
func (v *Voter) Apply(e domain.Event) error {
	if _, ok := e.(BallotCast); !ok {
		return fmt.Errorf("voter: unknown event %s", e.EventType())
	}
	v.ballots++
	return nil
}

// Cast decides a ballot already checked against the ballot: refused when
// the voter voted already and the rules refuse a second ballot.
func (v *Voter) Cast(rules Rules, b BallotCast) ([]domain.Event, error) {
	if v.ballots > 0 && rules.SecondBallot != Replace {
		return nil, domain.Errorf(domain.Conflict, "this voter has voted already in %s, whose rules refuse a second ballot", b.Cycle)
	}
	return []domain.Event{b}, nil
}

// PaperBatch is a paper batch's stream: entered or not.
type PaperBatch struct{ entered bool }

// Apply implements domain.Aggregate.
func (p *PaperBatch) Apply(e domain.Event) error {
	if _, ok := e.(PaperBatchEntered); !ok {
		return fmt.Errorf("paper batch: unknown event %s", e.EventType())
	}
	p.entered = true
	return nil
}

// Enter decides a batch whose ballots and tally are checked; a batch is
// entered once.
func (p *PaperBatch) Enter(b PaperBatchEntered) ([]domain.Event, error) {
	if p.entered {
		return nil, domain.Errorf(domain.Conflict, "paper batch %s of %s was entered already", b.Batch, b.Cycle)
	}
	return []domain.Event{b}, nil
}

// CheckBallot checks one ballot of pot against rules and the projects on
// the ballot, as a cast would: for an import, which checks every ballot of
// a file before writing any, so a file either goes in whole or not at all.
func CheckBallot(rules Rules, pot Pot, ballot []BallotProject, projects []string, points []int64) error {
	on := make(map[string]BallotProject, len(ballot))
	for _, bp := range ballot {
		on[bp.Idea] = bp
	}
	return checkBallot("", rules, pot, on, projects, points, "", "")
}

// checkBallot checks one ballot of pot against the rules and the ballot's
// projects (onBallot, by idea); prefix names the ballot in errors ("" for
// a command's own fields, "ballots[3]" for one of a batch).
func checkBallot(prefix string, r Rules, pot Pot, onBallot map[string]BallotProject, projects []string, points []int64, sex, ageBand string) error {
	field := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	var p domain.Problems
	if len(projects) == 0 {
		p.Add(invalid(field("projects"), "a ballot supports one project at least"))
	}
	seen := map[string]bool{}
	var cost int64
	for i, id := range projects {
		bp, ok := onBallot[id]
		switch {
		case !ok:
			p.Add(invalid(fmt.Sprintf("%s[%d]", field("projects"), i), "%q is not on the ballot", id))
			continue
		case bp.Pot != pot.Code:
			p.Add(invalid(fmt.Sprintf("%s[%d]", field("projects"), i), "%s is on the ballot of pot %s, not %s", id, bp.Pot, pot.Code))
			continue
		case seen[id]:
			p.Add(invalid(fmt.Sprintf("%s[%d]", field("projects"), i), "%s twice", id))
			continue
		}
		seen[id] = true
		cost += bp.Cost
	}
	n := len(projects)
	if r.MaxProjects > 0 && n > r.MaxProjects {
		p.Add(invalid(field("projects"), "%d projects, over the limit of %d", n, r.MaxProjects))
	}
	if r.MinProjects > 0 && n < r.MinProjects {
		p.Add(invalid(field("projects"), "%d projects, under the least of %d", n, r.MinProjects))
	}
	switch r.Ballot {
	case Knapsack:
		if cost > pot.Amount {
			p.Add(invalid(field("projects"), "they cost %d in all, over the pot's %d", cost, pot.Amount))
		} else if least := pot.Amount * int64(r.MinSpendPercent) / 100; cost < least {
			p.Add(invalid(field("projects"), "they cost %d in all, under the %d%% of the pot a ballot must spend (%d)", cost, r.MinSpendPercent, least))
		}
	case Cumulative:
		if len(points) != n {
			p.Add(invalid(field("points"), "%d points for %d projects: one for each", len(points), n))
			break
		}
		var sum int64
		for i, pt := range points {
			if pt < 1 {
				p.Add(invalid(fmt.Sprintf("%s[%d]", field("points"), i), "%d: a project supported gets 1 point or more", pt))
			}
			sum += pt
		}
		if sum > r.MaxPoints {
			p.Add(invalid(field("points"), "%d in all, over the limit of %d", sum, r.MaxPoints))
		}
	}
	if r.Ballot != Cumulative && points != nil {
		p.Add(invalid(field("points"), "only a cumulative ballot gives points"))
	}
	if sex != "" && !slices.Contains(domain.Sexes, sex) {
		p.Add(invalid(field("sex"), "%q is not one of %v", sex, domain.Sexes))
	}
	if ageBand != "" && !slices.Contains(domain.AgeBands, ageBand) {
		p.Add(invalid(field("ageBand"), "%q is not one of %v", ageBand, domain.AgeBands))
	}
	return p.Err()
}

// checkTally checks a paper batch's tally sheet against its ballots: the
// count of ballots, and every project's votes (points on a cumulative
// ballot), as an officer who counted by hand would be asked to.
func checkTally(b PaperBatchEntered) error {
	var p domain.Problems
	if b.Tally.Ballots != len(b.Ballots) {
		p.Add(invalid("tally.ballots", "the sheet says %d ballots; the batch holds %d", b.Tally.Ballots, len(b.Ballots)))
	}
	counted := map[string]int64{}
	for _, pb := range b.Ballots {
		for i, id := range pb.Projects {
			if pb.Points != nil && i < len(pb.Points) {
				counted[id] += pb.Points[i]
			} else {
				counted[id]++
			}
		}
	}
	for _, id := range sortedKeys(counted, b.Tally.Votes) {
		if counted[id] != b.Tally.Votes[id] {
			p.Add(invalid("tally.votes", "%s: the sheet says %d, the ballots give %d", id, b.Tally.Votes[id], counted[id]))
		}
	}
	return p.Err()
}

func sortedKeys(a, b map[string]int64) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
