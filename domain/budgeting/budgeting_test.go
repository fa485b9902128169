package budgeting_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/eventstore/inmem"
	"github.com/civicledger/civicledger/internal/domaintest"
)

// A cycle like Keda's of 2023, which gave each village an amount and
// voted on 8-10 December; the villages' amounts, the ideas and the ballots
// are illustrative.
const cycle = "keda-2023"

const gel = 100 // tetri in a lari

// on is a Meta on day (in Tbilisi) for actor.
func on(day string, a domain.Actor) domain.Meta {
	t, err := time.ParseInLocation(domain.DateLayout, day, domain.Tbilisi)
	if err != nil {
		panic(err)
	}
	return domain.Meta{Actor: a, Now: t.Add(12 * time.Hour)}
}

var (
	admin     = domain.Actor{ID: "key:admin", Role: domain.Admin}
	keda      = domain.Actor{ID: "key:keda", Role: domain.Applicant, Municipality: "keda"}
	batumi    = domain.Actor{ID: "key:batumi", Role: domain.Applicant, Municipality: "batumi"}
	box       = domain.Actor{ID: "key:keda-box", Role: domain.BallotBox, Municipality: "keda", Cycle: cycle}
	otherBox  = domain.Actor{ID: "key:keda-box-22", Role: domain.BallotBox, Municipality: "keda", Cycle: "keda-2022"}
	officer   = domain.Actor{ID: "key:keda-officer", Role: domain.Officer, Municipality: "keda"}
	batOffice = domain.Actor{ID: "key:batumi-officer", Role: domain.Officer, Municipality: "batumi"}
	analyst   = domain.Actor{ID: "key:analyst", Role: domain.Analyst}
)

var phases = []budgeting.Phase{
	{Kind: budgeting.Informing, Start: "2023-09-01", End: "2023-09-10"},
	{Kind: budgeting.Proposing, Start: "2023-09-11", End: "2023-10-10"},
	{Kind: budgeting.Reviewing, Start: "2023-10-11", End: "2023-11-30"},
	{Kind: budgeting.Voting, Start: "2023-12-08", End: "2023-12-10"},
	{Kind: budgeting.Tallying, Start: "2023-12-11", End: "2023-12-14"},
	{Kind: budgeting.Delivering, Start: "2023-12-15", End: "2024-12-31"},
}

func openCycle(f func(*budgeting.OpenCycle)) budgeting.OpenCycle {
	cmd := budgeting.OpenCycle{
		Municipality: "keda", Year: 2023, Title: domain.LocalizedText{Ka: "სამოქალაქო ბიუჯეტი 2023", En: "Civic budget 2023"},
		Currency: "GEL",
		Pots: []budgeting.Pot{
			{Code: "dzirula", Name: domain.LocalizedText{Ka: "ძირულა", En: "Dzirula"}, Amount: 20000 * gel, Population: 600},
			{Code: "zvare", Name: domain.LocalizedText{Ka: "ზვარე", En: "Zvare"}, Amount: 15000 * gel},
		},
		Phases:      slices.Clone(phases),
		Categories:  []budgeting.Category{{Code: "roads", Name: domain.LocalizedText{Ka: "გზები", En: "Roads"}}, {Code: "sport", Name: domain.LocalizedText{Ka: "სპორტი", En: "Sport"}}},
		Eligibility: budgeting.Eligibility{MinAge: 16, Residence: "registered in the village"},
		Rules:       budgeting.Rules{Ballot: budgeting.Approval, MaxProjects: 2, SecondBallot: budgeting.Refuse, Counting: budgeting.Counting{Method: budgeting.Greedy}},
	}
	if f != nil {
		f(&cmd)
	}
	return cmd
}

func newService(t *testing.T) *budgeting.Service {
	t.Helper()
	types := &domain.Types{}
	registry.RegisterEvents(types)
	budgeting.RegisterEvents(types)
	svc := &budgeting.Service{Repo: &domain.Repository{Store: inmem.New(), Types: types, Keys: &domain.MemoryKeyring{}}}
	sys := on("2023-01-01", domain.Actor{ID: "system:test", Role: domain.System})
	for _, m := range []registry.MunicipalityRegistered{
		{Code: "keda", Name: domain.LocalizedText{Ka: "ქედა", En: "Keda"}, Region: "adjara", Kind: registry.OrdinaryMunicipality},
		{Code: "batumi", Name: domain.LocalizedText{Ka: "ბათუმი", En: "Batumi"}, Region: "adjara", Kind: registry.SelfGoverningCity},
	} {
		if _, err := svc.Repo.Save(context.Background(), registry.MunicipalityStream(m.Code), 0, sys, m); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

type step = domaintest.Step[*budgeting.Service]

func do(f func(context.Context, *budgeting.Service) error) func(context.Context, *budgeting.Service) error {
	return f
}

func idea(id, pot string, cost int64, f func(*budgeting.SubmitIdea)) budgeting.SubmitIdea {
	cmd := budgeting.SubmitIdea{ID: id, Cycle: cycle, Pot: pot, Category: "roads", Title: domain.LocalizedText{Ka: "იდეა " + id},
		Cost: cost, Currency: "GEL", ProposerKind: budgeting.Resident, Proposer: "ნინო ბერიძე", Channel: budgeting.Online}
	if f != nil {
		f(&cmd)
	}
	return cmd
}

func submit(day string, a domain.Actor, cmd budgeting.SubmitIdea) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.SubmitIdea(ctx, on(day, a), cmd)
		return err
	}
}

func review(id string, feasible bool, cost int64, reason string) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.ReviewIdea(ctx, on("2023-10-20", keda), budgeting.ReviewIdea{ID: id, Feasible: feasible, Cost: cost, Currency: "GEL",
			Reason: reason, Department: "infrastructure"})
		return err
	}
}

func cast(day string, a domain.Actor, voter, pot string, projects ...string) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.CastBallot(ctx, on(day, a), budgeting.CastBallot{Cycle: cycle, Voter: voter, Pot: pot, Projects: projects, Sex: "female", AgeBand: "30_44"})
		return err
	}
}

func paper(a domain.Actor, batch string, tally budgeting.Tally, ballots ...[]string) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		cmd := budgeting.EnterPaperBatch{Cycle: cycle, Pot: "dzirula", Batch: batch, Place: "Dzirula school", On: "2023-12-09", Tally: tally}
		for _, b := range ballots {
			cmd.Ballots = append(cmd.Ballots, budgeting.PaperBallot{Projects: b})
		}
		_, err := s.EnterPaperBatch(ctx, on("2023-12-11", a), cmd)
		return err
	}
}

// TestCycle walks a cycle from its opening to its winners' delivery, with
// the bad input of every step refused and nothing written.
func TestCycle(t *testing.T) {
	svc := newService(t)
	store := svc.Repo.Store
	domaintest.Run(t, svc, store, []step{
		// Opening.
		{Name: "an analyst may not open a cycle", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", analyst), openCycle(nil))
			return err
		}), Kind: domain.Forbidden, Text: "open a participatory budget cycle"},
		{Name: "Batumi may not open Keda's", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", batumi), openCycle(nil))
			return err
		}), Kind: domain.Forbidden, Text: "a municipality runs its own cycles"},
		{Name: "every invalid field at once", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", keda), openCycle(func(c *budgeting.OpenCycle) {
				c.Currency = "LARI"
				c.Pots[1].Amount = -5
				c.Phases = c.Phases[:3]
				c.Rules.MaxProjects, c.Rules.MinProjects = 1, 2
			}))
			return err
		}), Kind: domain.Invalid, Text: `5 fields are invalid: currency: "LARI" is not an ISO 4217 currency code (GEL, ...); pots[1].amount: -5: a pot's amount is more than 0; phases: a cycle needs a voting phase; phases: a cycle needs a delivering phase; rules.minProjects: 2 is over maxProjects, 1`},
		{Name: "phases out of order and overlapping", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", keda), openCycle(func(c *budgeting.OpenCycle) {
				c.Phases[3].Start = "2023-11-30"
			}))
			return err
		}), Kind: domain.Invalid, Text: "phases[3].start: 2023-11-30 overlaps the phase before, which ends 2023-11-30"},
		{Name: "an unknown municipality", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", admin), openCycle(func(c *budgeting.OpenCycle) { c.Municipality = "atlantis" }))
			return err
		}), Kind: domain.Invalid, Text: `municipality: "atlantis" is not a municipality in the registry`},
		{Name: "equal shares with a greedy step", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", keda), openCycle(func(c *budgeting.OpenCycle) { c.Rules.Counting.Step = 100 }))
			return err
		}), Kind: domain.Invalid, Text: "rules.counting: utility and step belong to equal shares"},
		{Name: "open", Then: []string{"budgeting.cycle_opened"}, Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-01", keda), openCycle(nil))
			return err
		})},
		{Name: "open twice", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.OpenCycle(ctx, on("2023-08-02", admin), openCycle(nil))
			return err
		}), Kind: domain.Conflict, Text: "keda has a participatory budget cycle for 2023 already"},
		{Name: "rules change before voting", Then: []string{"budgeting.cycle_rules_changed"}, Do: do(func(ctx context.Context, s *budgeting.Service) error {
			r := openCycle(nil).Rules
			r.MaxProjects = 3
			_, err := s.ChangeRules(ctx, on("2023-08-05", keda), budgeting.ChangeRules{Cycle: cycle, Rules: r, Reason: "the council asked for three"})
			return err
		})},

		// Ideas.
		{Name: "an idea before proposals open", Do: submit("2023-09-05", box, idea("keda-2023-001", "dzirula", 8000*gel, nil)), Kind: domain.Invalid, Text: "keda-2023 proposes ideas from 2023-09-11 to 2023-10-10; today is 2023-09-05"},
		{Name: "an idea over the village's amount, in the wrong currency, in no pot", Do: submit("2023-09-15", box, idea("keda-2023-001", "dzirula", 25000*gel, func(c *budgeting.SubmitIdea) {
			c.Pot, c.Currency = "nowhere", "EUR"
		})), Kind: domain.Invalid, Text: `pot: "nowhere" is not a pot of keda-2023; cost.currency: "EUR": the cycle's amounts are in GEL`},
		{Name: "an idea over the village's amount", Do: submit("2023-09-15", box, idea("keda-2023-001", "dzirula", 25000*gel, nil)), Kind: domain.Invalid, Text: "cost: 2500000 is over pot dzirula's whole amount, 2000000"},
		{Name: "a negative cost", Do: submit("2023-09-15", box, idea("keda-2023-001", "dzirula", -1, nil)), Kind: domain.Invalid, Text: "cost: -1 is negative"},
		{Name: "another cycle's ballot box", Do: submit("2023-09-15", otherBox, idea("keda-2023-001", "dzirula", 1, nil)), Kind: domain.Forbidden, Text: "submit an idea"},
		{Name: "idea 1, online", Then: []string{"budgeting.idea_submitted"}, Do: submit("2023-09-15", box, idea("keda-2023-001", "dzirula", 8000*gel, nil))},
		{Name: "idea 2, online", Then: []string{"budgeting.idea_submitted"}, Do: submit("2023-09-16", box, idea("keda-2023-002", "dzirula", 9000*gel, nil))},
		{Name: "idea 3, on paper, entered later", Then: []string{"budgeting.idea_submitted"}, Do: submit("2023-10-15", keda, idea("keda-2023-003", "dzirula", 6000*gel, func(c *budgeting.SubmitIdea) {
			c.Channel, c.On, c.ProposerKind, c.Category = budgeting.Paper, "2023-10-01", budgeting.Group, "sport"
		}))},
		{Name: "a paper idea dated after proposals closed", Do: submit("2023-10-15", keda, idea("keda-2023-009", "dzirula", 1, func(c *budgeting.SubmitIdea) {
			c.Channel, c.On = budgeting.Paper, "2023-10-12"
		})), Kind: domain.Invalid, Text: "on: 2023-10-12: keda-2023 proposed ideas from 2023-09-11 to 2023-10-10"},
		{Name: "idea 4, Zvare", Then: []string{"budgeting.idea_submitted"}, Do: submit("2023-09-20", box, idea("keda-2023-004", "zvare", 10000*gel, nil))},
		{Name: "idea 5, Zvare, a duplicate of 4", Then: []string{"budgeting.idea_submitted"}, Do: submit("2023-09-21", box, idea("keda-2023-005", "zvare", 9000*gel, nil))},
		{Name: "idea 1 again", Do: submit("2023-09-22", box, idea("keda-2023-001", "dzirula", 1, nil)), Kind: domain.Conflict, Text: "idea keda-2023-001 exists already"},

		// Review.
		{Name: "infeasible without a reason", Do: review("keda-2023-002", false, 0, ""), Kind: domain.Invalid, Text: "reason: required"},
		{Name: "feasible", Then: []string{"budgeting.idea_reviewed"}, Do: review("keda-2023-001", true, 8500*gel, "")},
		{Name: "infeasible", Then: []string{"budgeting.idea_reviewed"}, Do: review("keda-2023-002", false, 0, "the land is private")},
		{Name: "feasible 3", Then: []string{"budgeting.idea_reviewed"}, Do: review("keda-2023-003", true, 6000*gel, "")},
		{Name: "feasible 4", Then: []string{"budgeting.idea_reviewed"}, Do: review("keda-2023-004", true, 12000*gel, "")},
		{Name: "appeal a feasible idea", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.AppealIdea(ctx, on("2023-10-25", keda), budgeting.AppealIdea{ID: "keda-2023-001", Grounds: "g"})
			return err
		}), Kind: domain.Conflict, Text: "only an idea found infeasible is appealed"},
		{Name: "appeal", Then: []string{"budgeting.idea_appealed"}, Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.AppealIdea(ctx, on("2023-10-25", keda), budgeting.AppealIdea{ID: "keda-2023-002", Grounds: "the owner donated the plot"})
			return err
		})},
		{Name: "upheld", Then: []string{"budgeting.appeal_decided"}, Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.DecideAppeal(ctx, on("2023-11-01", keda), budgeting.DecideAppeal{ID: "keda-2023-002", Upheld: true, Cost: 9000 * gel, Currency: "GEL", Reason: "deed seen"})
			return err
		})},
		{Name: "merged into another pot's idea", Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.MergeIdea(ctx, on("2023-11-02", keda), budgeting.MergeIdea{ID: "keda-2023-005", Into: "keda-2023-001", Reason: "same road"})
			return err
		}), Kind: domain.Invalid, Text: "into: idea keda-2023-001 is of keda-2023, pot dzirula; this one of keda-2023, pot zvare"},
		{Name: "merged", Then: []string{"budgeting.idea_merged"}, Do: do(func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.MergeIdea(ctx, on("2023-11-02", keda), budgeting.MergeIdea{ID: "keda-2023-005", Into: "keda-2023-004", Reason: "the same road"})
			return err
		})},
		{Name: "a merged idea on the ballot", Do: publish("keda-2023-001", "keda-2023-005"), Kind: domain.Invalid, Text: "ideas[1]: idea keda-2023-005 is merged"},
		{Name: "the ballot", Then: []string{"budgeting.ballot_published"}, Do: publish("keda-2023-001", "keda-2023-002", "keda-2023-003", "keda-2023-004")},
		{Name: "the same ballot again changes nothing", Then: []string{}, Do: publish("keda-2023-004", "keda-2023-003", "keda-2023-002", "keda-2023-001")},
		{Name: "a review after the ballot", Do: review("keda-2023-003", false, 0, "late"), Kind: domain.Conflict, Text: "the ballot of keda-2023 is published"},

		// Voting.
		{Name: "a ballot before voting", Do: cast("2023-12-07", box, "01001012345", "dzirula", "keda-2023-001"), Kind: domain.Conflict, Text: "keda-2023 votes from 2023-12-08 to 2023-12-10; today is 2023-12-07"},
		{Name: "a ballot by another cycle's box", Do: cast("2023-12-08", otherBox, "01001012345", "dzirula", "keda-2023-001"), Kind: domain.Forbidden, Text: "this ballot box is keda-2022's"},
		{Name: "a ballot by the municipality's own key", Do: cast("2023-12-08", keda, "01001012345", "dzirula", "keda-2023-001"), Kind: domain.Forbidden, Text: "cast a ballot"},
		{Name: "over the approval limit", Do: cast("2023-12-08", box, "01001012345", "dzirula", "keda-2023-001", "keda-2023-002", "keda-2023-003", "keda-2023-004"), Kind: domain.Invalid, Text: "projects[3]: keda-2023-004 is on the ballot of pot zvare, not dzirula; projects: 4 projects, over the limit of 3"},
		{Name: "a project not on the ballot", Do: cast("2023-12-08", box, "01001012345", "dzirula", "keda-2023-009"), Kind: domain.Invalid, Text: `projects[0]: "keda-2023-009" is not on the ballot`},
		{Name: "voter 1", Then: []string{"budgeting.ballot_cast"}, Do: cast("2023-12-08", box, "01001012345", "dzirula", "keda-2023-001", "keda-2023-003")},
		{Name: "voter 1 again", Do: cast("2023-12-09", box, "01001012345", "dzirula", "keda-2023-002"), Kind: domain.Conflict, Text: "this voter has voted already in keda-2023"},
		{Name: "voter 2", Then: []string{"budgeting.ballot_cast"}, Do: cast("2023-12-09", box, "01001054321", "dzirula", "keda-2023-002", "keda-2023-003")},
		{Name: "voter 3", Then: []string{"budgeting.ballot_cast"}, Do: cast("2023-12-10", box, "01001099999", "dzirula", "keda-2023-002")},
		{Name: "voter 4, Zvare", Then: []string{"budgeting.ballot_cast"}, Do: cast("2023-12-10", box, "01002011111", "zvare", "keda-2023-004")},
		{Name: "a ballot after voting", Do: cast("2023-12-11", box, "01001077777", "dzirula", "keda-2023-001"), Kind: domain.Conflict, Text: "today is 2023-12-11"},

		// Paper.
		{Name: "a batch whose sheet does not add up", Do: paper(officer, "dzirula-school", budgeting.Tally{Ballots: 3, Votes: map[string]int64{"keda-2023-001": 2, "keda-2023-002": 1}},
			[]string{"keda-2023-001"}, []string{"keda-2023-001", "keda-2023-002"}), Kind: domain.Invalid,
			Text: "tally.ballots: the sheet says 3 ballots; the batch holds 2"},
		{Name: "a batch with a vote miscounted", Do: paper(officer, "dzirula-school", budgeting.Tally{Ballots: 2, Votes: map[string]int64{"keda-2023-001": 2, "keda-2023-002": 2}},
			[]string{"keda-2023-001"}, []string{"keda-2023-001", "keda-2023-002"}), Kind: domain.Invalid,
			Text: "tally.votes: keda-2023-002: the sheet says 2, the ballots give 1"},
		{Name: "Batumi's officer", Do: paper(batOffice, "dzirula-school", budgeting.Tally{Ballots: 1, Votes: map[string]int64{"keda-2023-001": 1}}, []string{"keda-2023-001"}),
			Kind: domain.Forbidden, Text: "an officer of batumi enters batumi's paper ballots only"},
		{Name: "a paper batch", Then: []string{"budgeting.paper_batch_entered"}, Do: paper(officer, "dzirula-school", budgeting.Tally{Ballots: 2, Votes: map[string]int64{"keda-2023-001": 2, "keda-2023-002": 1}},
			[]string{"keda-2023-001"}, []string{"keda-2023-001", "keda-2023-002"})},
		{Name: "the same batch again", Do: paper(officer, "dzirula-school", budgeting.Tally{Ballots: 1, Votes: map[string]int64{"keda-2023-001": 1}}, []string{"keda-2023-001"}),
			Kind: domain.Conflict, Text: "paper batch dzirula-school of keda-2023 was entered already"},

		// Results.
		{Name: "results while tallying", Do: declare("2023-12-14"), Kind: domain.Conflict, Text: "results are declared from 2023-12-15"},
		{Name: "results", Then: []string{"budgeting.ballots_closed", "budgeting.results_declared"}, Do: declare("2023-12-15")},
		{Name: "results twice", Do: declare("2023-12-16"), Kind: domain.Conflict, Text: "results were declared on 2023-12-15"},

		// Delivery.
		{Name: "a loser delivered", Do: deliver("keda-2023-003", budgeting.InProgress, 10), Kind: domain.Conflict, Text: "idea keda-2023-003 did not win"},
		{Name: "completed at 90%", Do: deliver("keda-2023-001", budgeting.Completed, 90), Kind: domain.Invalid, Text: "a completed delivery is at 100%"},
		{Name: "procurement", Then: []string{"budgeting.delivery_reported"}, Do: deliver("keda-2023-001", budgeting.Procurement, 10)},
		{Name: "progress going back", Do: deliver("keda-2023-001", budgeting.InProgress, 5), Kind: domain.Invalid, Text: "5% is below the 10% reported before"},
		{Name: "completed", Then: []string{"budgeting.delivery_reported"}, Do: deliver("keda-2023-001", budgeting.Completed, 100)},
		{Name: "after completion", Do: deliver("keda-2023-001", budgeting.InProgress, 100), Kind: domain.Conflict, Text: "delivery is completed"},
	})

	// Dzirula: 001 has 1 online + 2 paper = 3 votes, 002 has 2 online + 1
	// paper = 3, 003 has 2; 20,000 GEL: 001 (8,500, cheaper of the tie)
	// then 002 (9,000); 003 (6,000) no longer fits. Zvare: 004 alone.
	var c budgeting.Cycle
	if _, err := svc.Repo.Load(context.Background(), budgeting.CycleStream(cycle), &c); err != nil {
		t.Fatal(err)
	}
	r := c.Results()
	if r == nil || r.RulesVersion != 2 || len(r.Pots) != 2 {
		t.Fatalf("results %+v", r)
	}
	dz, zv := r.Pots[0], r.Pots[1]
	if !slices.Equal(dz.Winners, []string{"keda-2023-001", "keda-2023-002"}) || dz.Spent != 17500*gel || dz.Ballots != 5 ||
		dz.Votes["keda-2023-001"] != 3 || dz.Votes["keda-2023-002"] != 3 || dz.Votes["keda-2023-003"] != 2 {
		t.Errorf("Dzirula %+v", dz)
	}
	if !slices.Equal(zv.Winners, []string{"keda-2023-004"}) || zv.Ballots != 1 {
		t.Errorf("Zvare %+v", zv)
	}
	rc, err := svc.Recount(context.Background(), cycle)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Verdict != budgeting.Followed || rc.InputsDigest != r.InputsDigest || rc.Ballots != 6 {
		t.Errorf("recount %s (%q), digest %s vs %s, %d ballots", rc.Verdict, rc.Problems, rc.InputsDigest, r.InputsDigest, rc.Ballots)
	}
}

func publish(ideas ...string) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.PublishBallot(ctx, on("2023-11-25", keda), budgeting.PublishBallot{Cycle: cycle, Ideas: ideas})
		return err
	}
}

func declare(day string) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.DeclareResults(ctx, on(day, keda), budgeting.DeclareResults{Cycle: cycle})
		return err
	}
}

func deliver(id string, status budgeting.DeliveryStatus, progress int) func(context.Context, *budgeting.Service) error {
	return func(ctx context.Context, s *budgeting.Service) error {
		_, err := s.ReportDelivery(ctx, on("2024-03-01", keda), budgeting.ReportDelivery{ID: id, Status: status, Progress: progress,
			Spent: 4000 * gel, Currency: "GEL", Milestone: "contract signed", On: "2024-03-01"})
		return err
	}
}

// votingCycle is a cycle opened under rules with ideas 001-003 of Dzirula
// (8,000, 9,000 and 6,000 GEL) on its ballot, on the first day of voting.
func votingCycle(t *testing.T, rules budgeting.Rules) *budgeting.Service {
	t.Helper()
	svc := newService(t)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.OpenCycle(ctx, on("2023-08-01", keda), openCycle(func(c *budgeting.OpenCycle) { c.Rules = rules })))
	for _, i := range []struct {
		id   string
		cost int64
	}{{"keda-2023-001", 8000 * gel}, {"keda-2023-002", 9000 * gel}, {"keda-2023-003", 6000 * gel}} {
		must(svc.SubmitIdea(ctx, on("2023-09-15", box), idea(i.id, "dzirula", i.cost, nil)))
		must(svc.ReviewIdea(ctx, on("2023-10-20", keda), budgeting.ReviewIdea{ID: i.id, Feasible: true, Cost: i.cost, Currency: "GEL"}))
	}
	must(svc.PublishBallot(ctx, on("2023-11-25", keda), budgeting.PublishBallot{Cycle: cycle, Ideas: []string{"keda-2023-001", "keda-2023-002", "keda-2023-003"}}))
	return svc
}

// TestBallotRules: each kind of ballot refuses what its rules forbid.
func TestBallotRules(t *testing.T) {
	ballot := func(points []int64, projects ...string) func(context.Context, *budgeting.Service) error {
		return func(ctx context.Context, s *budgeting.Service) error {
			_, err := s.CastBallot(ctx, on("2023-12-08", box), budgeting.CastBallot{Cycle: cycle, Voter: "v-" + projects[0] + "-" + string(rune('a'+len(projects))),
				Pot: "dzirula", Projects: projects, Points: points})
			return err
		}
	}
	t.Run("knapsack", func(t *testing.T) {
		svc := votingCycle(t, budgeting.Rules{Ballot: budgeting.Knapsack, MinSpendPercent: 50, SecondBallot: budgeting.Refuse,
			Counting: budgeting.Counting{Method: budgeting.Greedy}})
		domaintest.Run(t, svc, svc.Repo.Store, []step{
			{Name: "over the village's amount", Do: ballot(nil, "keda-2023-001", "keda-2023-002", "keda-2023-003"), Kind: domain.Invalid,
				Text: "they cost 2300000 in all, over the pot's 2000000"},
			{Name: "under half of it", Do: ballot(nil, "keda-2023-003"), Kind: domain.Invalid, Text: "under the 50% of the pot a ballot must spend (1000000)"},
			{Name: "points on a knapsack ballot", Do: ballot([]int64{1, 1}, "keda-2023-001", "keda-2023-002"), Kind: domain.Invalid, Text: "only a cumulative ballot gives points"},
			{Name: "within", Then: []string{"budgeting.ballot_cast"}, Do: ballot(nil, "keda-2023-001", "keda-2023-002")},
		})
	})
	t.Run("cumulative", func(t *testing.T) {
		svc := votingCycle(t, budgeting.Rules{Ballot: budgeting.Cumulative, MaxPoints: 5, SecondBallot: budgeting.Refuse,
			Counting: budgeting.Counting{Method: budgeting.Greedy}})
		domaintest.Run(t, svc, svc.Repo.Store, []step{
			{Name: "no points", Do: ballot(nil, "keda-2023-001"), Kind: domain.Invalid, Text: "0 points for 1 projects"},
			{Name: "too many points", Do: ballot([]int64{3, 3}, "keda-2023-001", "keda-2023-002"), Kind: domain.Invalid, Text: "6 in all, over the limit of 5"},
			{Name: "a zero", Do: ballot([]int64{0, 3}, "keda-2023-001", "keda-2023-002"), Kind: domain.Invalid, Text: "points[0]: 0"},
			{Name: "a project twice", Do: ballot([]int64{1, 1}, "keda-2023-001", "keda-2023-001"), Kind: domain.Invalid, Text: "keda-2023-001 twice"},
			{Name: "within", Then: []string{"budgeting.ballot_cast"}, Do: ballot([]int64{4, 1}, "keda-2023-001", "keda-2023-002")},
		})
	})
}

// TestSecondBallotReplaces: under the replace rule a voter's last ballot
// is the one counted, and the voter counts once.
func TestSecondBallotReplaces(t *testing.T) {
	svc := votingCycle(t, budgeting.Rules{Ballot: budgeting.Approval, SecondBallot: budgeting.Replace, Counting: budgeting.Counting{Method: budgeting.Greedy}})
	ctx := context.Background()
	for _, b := range []struct {
		day, voter, project string
	}{{"2023-12-08", "A", "keda-2023-001"}, {"2023-12-08", "B", "keda-2023-001"}, {"2023-12-09", "A", "keda-2023-003"}, {"2023-12-10", "A", "keda-2023-002"}} {
		if _, err := svc.CastBallot(ctx, on(b.day, box), budgeting.CastBallot{Cycle: cycle, Voter: b.voter, Pot: "dzirula", Projects: []string{b.project}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.DeclareResults(ctx, on("2023-12-15", keda), budgeting.DeclareResults{Cycle: cycle}); err != nil {
		t.Fatal(err)
	}
	var c budgeting.Cycle
	if _, err := svc.Repo.Load(ctx, budgeting.CycleStream(cycle), &c); err != nil {
		t.Fatal(err)
	}
	dz := c.Results().Pots[0]
	if dz.Ballots != 2 || dz.Votes["keda-2023-001"] != 1 || dz.Votes["keda-2023-002"] != 1 || dz.Votes["keda-2023-003"] != 0 {
		t.Errorf("counted %d ballots, votes %v; want 2 ballots, A's last (002) and B's (001)", dz.Ballots, dz.Votes)
	}
}
