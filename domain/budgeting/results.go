package budgeting

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/digest"
	"github.com/civicledger/civicledger/eventstore"
)

// DigestVersion is the layout of a count's inputs as its digest covers
// them (countDoc): frozen, so a digest recorded under it is recomputed the
// same way for ever.
const DigestVersion = "v2"

// counted is one ballot as the count takes it.
type counted struct {
	pot      string
	projects []string
	points   []int64
}

// key is the ballot's canonical text: its projects in order with their
// points ("a:1,b:2"), which sorts the ballots so that neither the digest
// nor the count depends on the order they were read in.
func (b counted) key() string {
	var s strings.Builder
	for i, p := range b.projects {
		if i > 0 {
			s.WriteByte(',')
		}
		s.WriteString(p)
		s.WriteByte(':')
		pt := int64(1)
		if b.points != nil {
			pt = b.points[i]
		}
		s.WriteString(strconv.FormatInt(pt, 10))
	}
	return s.String()
}

// readBallots reads a cycle's ballots from the log up to position upTo
// (0: every positioned one): each voter's last ballot, and every paper
// ballot. It returns them with the highest position it read.
func readBallots(ctx context.Context, store eventstore.Store, types *domain.Types, cycle string, upTo int64) ([]counted, int64, error) {
	cat := BallotCategory(cycle)
	latest := map[string]counted{}
	var paper []counted
	var after, last int64
	for {
		page, err := store.ReadCategory(ctx, cat, after, eventstore.MaxReadLimit)
		if err != nil {
			return nil, 0, domain.Wrap(err, "read the ballots of "+cycle)
		}
		done := len(page) < eventstore.MaxReadLimit
		for _, se := range page {
			if upTo > 0 && se.Position > upTo {
				done = true
				break
			}
			e, err := types.Decode(se)
			if err != nil {
				return nil, 0, domain.Wrap(err, "decode a ballot")
			}
			switch e := e.(type) {
			case BallotCast:
				if e.Cycle != cycle {
					return nil, 0, domain.Wrap(fmt.Errorf("position %d: a ballot of %s in %s's stream", se.Position, e.Cycle, cycle), "read the ballots")
				}
				latest[se.Stream] = counted{pot: e.Pot, projects: e.Projects, points: e.Points}
			case PaperBatchEntered:
				if e.Cycle != cycle {
					return nil, 0, domain.Wrap(fmt.Errorf("position %d: a batch of %s in %s's stream", se.Position, e.Cycle, cycle), "read the ballots")
				}
				for _, b := range e.Ballots {
					paper = append(paper, counted{pot: e.Pot, projects: b.Projects, points: b.Points})
				}
			default:
				return nil, 0, domain.Wrap(fmt.Errorf("position %d: %s among the ballots", se.Position, se.Type), "read the ballots")
			}
			last = se.Position
		}
		if done || len(page) == 0 {
			break
		}
		after = page[len(page)-1].Position
	}
	out := slices.Collect(maps.Values(latest))
	return append(out, paper...), last, nil
}

// countDoc is what a count's digest covers (DigestVersion): the cycle,
// the rules, and per pot its money, its projects with their costs and its
// ballots in canonical order.
type countDoc struct {
	Cycle string   `json:"cycle"`
	Rules Rules    `json:"rules"`
	Pots  []potDoc `json:"pots"`
}

type potDoc struct {
	Pot      string          `json:"pot"`
	Budget   int64           `json:"budget"`
	Projects []BallotProject `json:"projects"`
	Ballots  []string        `json:"ballots"`
}

// countCycle counts ballots under rules, each pot of the cycle on its own
// with the projects on its ballot, and returns each pot's result and the
// digest of the inputs.
func countCycle(c *Cycle, rules Rules, ballots []counted) ([]PotResult, string, error) {
	slices.SortFunc(ballots, func(a, b counted) int {
		if a.pot != b.pot {
			return strings.Compare(a.pot, b.pot)
		}
		return strings.Compare(a.key(), b.key())
	})
	doc := countDoc{Cycle: c.id, Rules: rules}
	var results []PotResult
	for _, pot := range c.pots {
		pd := potDoc{Pot: pot.Code, Budget: pot.Amount, Projects: []BallotProject{}, Ballots: []string{}}
		var cands []Candidate
		for _, bp := range c.ballot {
			if bp.Pot == pot.Code {
				pd.Projects = append(pd.Projects, bp)
				cands = append(cands, Candidate{ID: bp.Idea, Cost: bp.Cost})
			}
		}
		var votes []Vote
		for _, b := range ballots {
			if b.pot == pot.Code {
				votes = append(votes, Vote{Projects: b.projects, Points: b.points})
				pd.Ballots = append(pd.Ballots, b.key())
			}
		}
		out, err := Count(rules.Counting, pot.Amount, cands, votes)
		if err != nil {
			return nil, "", fmt.Errorf("pot %s: %w", pot.Code, err)
		}
		doc.Pots = append(doc.Pots, pd)
		results = append(results, PotResult{Pot: pot.Code, Budget: pot.Amount, Winners: nonNil(out.Winners), Spent: out.Spent,
			Ballots: out.Ballots, Votes: out.Votes})
	}
	for _, b := range ballots {
		if _, ok := c.Pot(b.pot); !ok {
			return nil, "", fmt.Errorf("a ballot of pot %q, which the cycle does not have", b.pot)
		}
	}
	d, err := digest.Sum(DigestVersion, doc)
	if err != nil {
		return nil, "", err
	}
	return results, d, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Verdict is what a recount finds.
type Verdict string

// The verdicts of a recount.
const (
	// Undeclared: the cycle has no results to recount.
	Undeclared Verdict = "undeclared"
	// Followed: the ballots, counted again under the rules version the
	// results recorded, give the declared winners, and the same digest.
	Followed Verdict = "followed"
	// Mismatch: they do not: a ballot or the results were altered, or
	// the counting code changed. Problems says where.
	Mismatch Verdict = "mismatch"
)

// Recount is a cycle's results recomputed from its events.
type Recount struct {
	Cycle   string
	Verdict Verdict
	// Declared is the results as recorded; nil when undeclared.
	Declared *ResultsDeclared
	// Rules are the rules version the results recorded, as the cycle's
	// events hold it.
	Rules Rules
	// Pots and InputsDigest are recomputed from the ballots up to the
	// position the results recorded.
	Pots         []PotResult
	InputsDigest string
	Ballots      int
	Problems     []string
}

// recount counts the ballots again as c's declared results did and
// compares.
func recount(c *Cycle, ballots []counted) (Recount, error) {
	r := Recount{Cycle: c.id, Verdict: Undeclared, Declared: c.results}
	if c.results == nil {
		return r, nil
	}
	d := c.results
	rules, ok := c.RulesVersion(d.RulesVersion)
	if !ok {
		r.Verdict = Mismatch
		r.Problems = append(r.Problems, fmt.Sprintf("the results name rules version %d, which the cycle does not have", d.RulesVersion))
		return r, nil
	}
	r.Rules, r.Ballots = rules, len(ballots)
	pots, dig, err := countCycle(c, rules, ballots)
	if err != nil {
		r.Verdict = Mismatch
		r.Problems = append(r.Problems, "the ballots cannot be counted: "+err.Error())
		return r, nil
	}
	r.Pots, r.InputsDigest = pots, dig
	if dig != d.InputsDigest {
		r.Problems = append(r.Problems, fmt.Sprintf("inputs digest recomputed %s; the results recorded %s", dig, d.InputsDigest))
	}
	declared := map[string]PotResult{}
	for _, p := range d.Pots {
		declared[p.Pot] = p
	}
	for _, p := range pots {
		was, ok := declared[p.Pot]
		switch {
		case !ok:
			r.Problems = append(r.Problems, fmt.Sprintf("pot %s: the results do not have it", p.Pot))
		case !slices.Equal(was.Winners, p.Winners):
			r.Problems = append(r.Problems, fmt.Sprintf("pot %s: winners recounted %v; declared %v", p.Pot, p.Winners, was.Winners))
		case was.Spent != p.Spent || was.Ballots != p.Ballots || !reflect.DeepEqual(was.Votes, p.Votes):
			r.Problems = append(r.Problems, fmt.Sprintf("pot %s: recounted %d ballots, %v votes, %d spent; declared %d, %v, %d",
				p.Pot, p.Ballots, p.Votes, p.Spent, was.Ballots, was.Votes, was.Spent))
		}
	}
	r.Verdict = Followed
	if len(r.Problems) > 0 {
		r.Verdict = Mismatch
	}
	return r, nil
}

// Ballot is a ballot as the ledger publishes it once the results are
// declared: its pot and what it supported, with no voter, no channel, no
// day, and in a canonical order rather than the order cast, so nothing
// ties it to a person.
type Ballot struct {
	Pot      string
	Projects []string
	Points   []int64
}

// PublishedBallots returns the ballots a cycle's declared results counted,
// anonymous (Ballot), for anyone to count again with their own tools (a
// pabulib file). This is the one read path of ballots outside the count,
// and the rule is decided here: nobody sees a ballot before the results
// are declared (a running count would sway the vote), and after it,
// everyone sees them without who cast them.
func (s *Service) PublishedBallots(ctx context.Context, cycle string) (*Cycle, []Ballot, error) {
	c, err := s.loadCycle(ctx, "cycle", cycle)
	if err != nil {
		return nil, nil, err
	}
	if c.results == nil {
		return nil, nil, domain.Errorf(domain.Conflict, "%s's ballots are published with its results, which are not declared", c.id)
	}
	ballots, _, err := readBallots(ctx, s.Repo.Store, s.Repo.Types, c.id, c.results.UpTo)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(ballots, func(a, b counted) int {
		if a.pot != b.pot {
			return strings.Compare(a.pot, b.pot)
		}
		return strings.Compare(a.key(), b.key())
	})
	out := make([]Ballot, len(ballots))
	for i, b := range ballots {
		out[i] = Ballot{Pot: b.pot, Projects: b.projects, Points: b.points}
	}
	return c, out, nil
}
