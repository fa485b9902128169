package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/benchmark"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/catalog"
	"github.com/civicledger/civicledger/domain/certification"
)

// replay prints what GraphQL's certificationAudit and replayDecision give,
// for people without a GraphQL client: `civic replay application ID`. It
// exits 0 when the log is intact and the decision matches its events
// (followed or overridden, or not decided yet), 1 when it found something
// wrong, 2 when it could not look.
func (m *Main) replay(ctx context.Context, args []string) (int, error) {
	fs := m.flags("replay")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() == 2 && fs.Arg(0) == "cycle" {
		return m.recount(ctx, fs.Arg(1))
	}
	if fs.NArg() == 3 && fs.Arg(0) == "score" {
		return m.replayScore(ctx, fs.Arg(1), fs.Arg(2))
	}
	if fs.NArg() != 2 || fs.Arg(0) != "application" {
		return exitError, fmt.Errorf("usage: civic replay application ID (an application ID is <year>-<municipality>, for example 2019-batumi) | " +
			"civic replay cycle ID (a budgeting cycle, for example keda-2023) | civic replay score ROUND MUNICIPALITY (a benchmark score, for example 2021 poti)")
	}
	db, keys, c, err := m.openForAudit(ctx)
	if err != nil {
		return exitError, err
	}
	defer db.close()
	store, err := openLog(ctx, c, db.pool, nil, keys, c.logger(m.Stderr))
	if err != nil {
		return exitError, err
	}
	defer store.Close()
	a, err := certification.AuditApplication(ctx, store, catalog.Types, fs.Arg(1), certification.FullChain, 0)
	if err != nil {
		return exitError, err
	}
	return m.printAudit(a), nil
}

// printAudit prints an audit and returns the exit code it calls for.
func (m *Main) printAudit(a certification.Audit) int {
	w := m.Stdout
	fmt.Fprintf(w, "application %s: %d events\n", a.ApplicationID, len(a.Events))
	fmt.Fprintf(w, "%8s  %-10s  %-20s  %-45s  %-40s  %s\n", "position", "occurred", "recorded (UTC)", "type", "actor (role)", "hash")
	for _, e := range a.Events {
		hash := "-"
		if e.Hash != nil {
			hash = hex.EncodeToString(e.Hash)[:16] + "…"
		}
		fmt.Fprintf(w, "%8d  %-10s  %-20s  %-45s  %-40s  %s\n", e.Position, e.OccurredAt.In(domain.Tbilisi).Format(certification.DateLayout),
			e.RecordedAt.UTC().Format("2006-01-02 15:04:05"), e.Type,
			e.Metadata.Actor+" ("+e.Metadata.Role+")", hash)
	}
	code := exitOK
	switch v := a.Verification; {
	case v == nil:
		fmt.Fprintln(w, "log: not verified (no event of the application has a log position yet)")
	case v.Intact():
		fmt.Fprintf(w, "log: intact over positions %d..%d (%d events hashed, %d checkpoint signatures valid)\n", v.From, v.To, v.Events, v.Checkpoints)
	default:
		fmt.Fprintf(w, "log: BROKEN at position %d: %s\n", v.FirstBad, v.Problem)
		code = exitFailed
	}
	r := a.Replay
	if r.Decision == nil {
		fmt.Fprintln(w, "decision: none yet")
		return code
	}
	outcome := "not certified"
	if r.Decision.Certified {
		outcome = "certified"
	}
	fmt.Fprintf(w, "decision: %s under rules version %d; it recorded the recommendation %s and inputs digest %s\n",
		outcome, r.Decision.RulesVersion, describe(r.Decision.Recommendation), r.Decision.InputsDigest)
	if r.InputsDigest != "" {
		fmt.Fprintf(w, "replay: recomputed %s, inputs digest %s\n", describe(r.Recommendation), r.InputsDigest)
	}
	switch r.Verdict {
	case certification.Followed:
		fmt.Fprintln(w, "verdict: FOLLOWED: the decision is what the recommendation says")
	case certification.Overridden:
		fmt.Fprintf(w, "verdict: OVERRIDDEN, with the justification: %s\n", r.Decision.Justification)
	default:
		fmt.Fprintln(w, "verdict: MISMATCH: the decision's record does not match its events")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		code = exitFailed
	}
	return code
}

func describe(r certification.Recommendation) string {
	if r.Certify {
		return fmt.Sprintf("certify (weighted score %.2f)", r.Score)
	}
	return fmt.Sprintf("do not certify (weighted score %.2f: %s)", r.Score, strings.Join(r.Reasons, "; "))
}

// recount prints what GraphQL's recountCycle gives: `civic replay cycle
// ID`. It exits 0 when the ballots, counted again, give the declared
// results (or none are declared yet), 1 on a mismatch.
func (m *Main) recount(ctx context.Context, cycle string) (int, error) {
	a, err := m.openTool(ctx)
	if err != nil {
		return exitError, err
	}
	defer a.close()
	r, err := (&budgeting.Service{Repo: a.repo}).Recount(ctx, cycle)
	if err != nil {
		return exitError, errors.New(domain.MessageOf(err))
	}
	w := m.Stdout
	if r.Declared == nil {
		fmt.Fprintf(w, "cycle %s: no results declared yet\n", cycle)
		return exitOK, nil
	}
	d := r.Declared
	fmt.Fprintf(w, "cycle %s: results declared on %s under rules version %d, counting the ballots up to log position %d\n", cycle, d.On, d.RulesVersion, d.UpTo)
	fmt.Fprintf(w, "declared inputs digest   %s\nrecounted inputs digest  %s (%d ballots)\n", d.InputsDigest, r.InputsDigest, r.Ballots)
	for _, p := range r.Pots {
		fmt.Fprintf(w, "pot %s: %d ballots, %d of %d spent, winners %s\n", p.Pot, p.Ballots, p.Spent, p.Budget, strings.Join(p.Winners, ", "))
	}
	if r.Verdict != budgeting.Mismatch {
		fmt.Fprintf(w, "recount: %s\n", r.Verdict)
		return exitOK, nil
	}
	fmt.Fprintln(w, "recount: MISMATCH")
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	return exitFailed, nil
}

// replayScore prints what GraphQL's replayScore gives: `civic replay
// score ROUND MUNICIPALITY`. It exits 0 when the published result (and
// the last correction's) follows from the scorecard's events under the
// round's method version, or the round is not published yet; 1 on a
// mismatch.
func (m *Main) replayScore(ctx context.Context, round, municipality string) (int, error) {
	a, err := m.openTool(ctx)
	if err != nil {
		return exitError, err
	}
	defer a.close()
	rp, err := (&benchmark.Service{Repo: a.repo}).ReplayScore(ctx, round, municipality)
	if err != nil {
		return exitError, errors.New(domain.MessageOf(err))
	}
	w := m.Stdout
	show := func(x *float64) string {
		if x == nil {
			return "no data"
		}
		return fmt.Sprintf("%.2f", *x)
	}
	result := func(label string, p benchmark.Published) {
		blocks := make([]string, 0, len(p.Blocks))
		for _, b := range slices.Sorted(maps.Keys(p.Blocks)) {
			blocks = append(blocks, b+" "+show(p.Blocks[b]))
		}
		fmt.Fprintf(w, "%-11s total %s; %s; City Hall %s, Sakrebulo %s; coverage %.2f; inputs digest %s\n", label, show(p.Total), strings.Join(blocks, ", "),
			show(p.Bodies[benchmark.CityHall]), show(p.Bodies[benchmark.Sakrebulo]), p.Coverage, p.InputsDigest)
	}
	fmt.Fprintf(w, "round %s, %s\n", round, municipality)
	if rp.Published != nil {
		result("published", *rp.Published)
	}
	result("recomputed", rp.Recomputed)
	result("current", rp.Current)
	switch rp.Verdict {
	case benchmark.Mismatch:
		fmt.Fprintln(w, "replay: MISMATCH")
		for _, p := range rp.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		return exitFailed, nil
	case benchmark.Unpublished:
		fmt.Fprintln(w, "replay: the round is not published yet")
	default:
		fmt.Fprintln(w, "replay: followed")
	}
	return exitOK, nil
}
