package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/access"
	"github.com/civicledger/civicledger/domain/privacy"
)

// importCmd loads data as events: `civic import registry` (Georgia's
// regions and municipalities) or `civic import demo` (the illustrative 2019
// certification cycle, which needs the registry, so it imports that too).
// Each loads only what is not there yet.
func (m *Main) importCmd(ctx context.Context, args []string) error {
	const usage = "usage: civic import registry|demo|pabulib (registry: the regions and municipalities of Georgia; " +
		"demo: the registry and the demo data; pabulib FILE...: published participatory budgets, each a cycle)"
	fs := m.flags("import")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() >= 2 && fs.Arg(0) == "pabulib" {
		return m.importPabulib(ctx, fs.Args()[1:])
	}
	if fs.NArg() != 1 || fs.Arg(0) != "registry" && fs.Arg(0) != "demo" {
		return errors.New(usage)
	}
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	rep, err := a.importRegistry(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "registered %d regions and %d municipalities (the rest were registered already)\n", rep.Regions, rep.Municipalities)
	if fs.Arg(0) != "demo" {
		return nil
	}
	// The budgets' counts read the ballots by log position, so the demo
	// needs the log sequenced as it loads; the benchmark's computed
	// indicators read the read models, so it needs them built too. This
	// process does both unless a server does (one leads; the other stands
	// by).
	bgCtx, stop := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); a.store.RunSequencer(bgCtx) }()
	go func() {
		defer bg.Done()
		if err := a.runner.Run(bgCtx); err != nil && bgCtx.Err() == nil {
			a.log.Error("projections stopped", "err", err)
		}
	}()
	demo, err := a.importDemo(ctx, true)
	if err == nil {
		demo.benchmark, err = a.importBenchmark(ctx)
	}
	stop()
	bg.Wait()
	if err != nil {
		return err
	}
	if c := demo.certification; c.Events > 0 {
		fmt.Fprintf(m.Stdout, "loaded the 2019 certification cycle: %d applications, %d certified, %d events\n", c.Applications, c.Certified, c.Events)
	} else {
		fmt.Fprintln(m.Stdout, "the 2019 certification cycle exists already")
	}
	if c := demo.civil; c.Events > 0 {
		fmt.Fprintf(m.Stdout, "loaded civil-society activity: %d organisations, %d networks, %d projects, %d activities, %d events\n",
			c.Organisations, c.Networks, c.Projects, c.Activities, c.Events)
	} else {
		fmt.Fprintln(m.Stdout, "the civil-society demo exists already")
	}
	if h := demo.history; h.Events > 0 {
		fmt.Fprintf(m.Stdout, "loaded an illustrative activity history: %d activities (%d held), %d attendees, %d events\n",
			h.Activities, h.Held, h.Attendees, h.Events)
	} else {
		fmt.Fprintln(m.Stdout, "the activity history exists already")
	}
	if b := demo.budgets; b.Cycles > 0 {
		fmt.Fprintf(m.Stdout, "loaded participatory budgets: %d cycles, %d ideas, %d online and %d paper ballots, counted and declared\n",
			b.Cycles, b.Ideas, b.Ballots, b.PaperBallots)
	} else {
		fmt.Fprintln(m.Stdout, "the participatory budgets exist already")
	}
	if b := demo.benchmark; b.Rounds > 0 {
		fmt.Fprintf(m.Stdout, "loaded the civic-engagement benchmark: %d rounds, %d scores, %d contests, %d action plans with %d reports\n",
			b.Rounds, b.Scores, b.Contests, b.Plans, b.Reports)
	} else {
		fmt.Fprintln(m.Stdout, "the benchmark exists already")
	}
	return nil
}

// openTool opens the app for a command that writes events but runs no
// server: it runs no sequencer, so the events it appends get their
// positions from whichever `civic serve` runs (now or later).
func (m *Main) openTool(ctx context.Context) (*app, error) {
	c, err := m.config()
	if err != nil {
		return nil, err
	}
	return openApp(ctx, c, c.logger(m.Stderr), nil)
}

// keys manages API keys: create, revoke. An applicant or officer key acts
// for one municipality (--municipality), a hub key for one region
// (--region), a ballot-box key for one budgeting cycle (--cycle); the
// other roles' keys (an assessor's among them) for none.
func (m *Main) keys(ctx context.Context, args []string) error {
	const usage = "usage: civic keys create --role ROLE --name NAME [--municipality CODE] [--region CODE] [--cycle ID] | civic keys revoke ID [--reason TEXT]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "create":
		fs := m.flags("keys create")
		role := fs.String("role", "", "the key's role: analyst, applicant, hub, expert, consortium, auditor, admin, officer, ballot-box or assessor")
		name := fs.String("name", "", "who the key is for, e.g. dashboard.transparency-international")
		muni := fs.String("municipality", "", "for an applicant or officer key: the code of the municipality it acts for")
		region := fs.String("region", "", "for a hub key: the code of the region it acts for, e.g. kvemo-kartli")
		cycle := fs.String("cycle", "", "for a ballot-box key: the budgeting cycle it is bound to, <municipality>-<year>, e.g. keda-2023")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		switch {
		case fs.NArg() > 0:
			return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), usage)
		case *role == "":
			return errors.New("--role is required: analyst, applicant, hub, expert, consortium, auditor, admin, officer, ballot-box or assessor")
		case strings.TrimSpace(*name) == "":
			return errors.New("--name is required: who the key is for, e.g. dashboard.transparency-international")
		}
		r, err := domain.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("--role: %s", domain.MessageOf(err))
		}
		a, err := m.openTool(ctx)
		if err != nil {
			return err
		}
		defer a.close()
		key, id, _, err := a.access.CreateKey(ctx, access.SystemMeta("keys", time.Now().UTC()), access.CreateKey{
			Name: *name, Role: r, Municipality: strings.TrimSpace(*muni), Region: strings.TrimSpace(*region), Cycle: strings.TrimSpace(*cycle),
		})
		if err != nil {
			return errors.New(flagMessage(domain.MessageOf(err)))
		}
		fmt.Fprintf(m.Stderr, "created key %s (%s, %s); it is shown once, keep it safe:\n", id, *name, r)
		fmt.Fprintln(m.Stdout, key)
		return nil
	case "revoke":
		fs := m.flags("keys revoke")
		reason := fs.String("reason", "", "why, for the audit trail")
		// The ID may come before the flags (flag stops at the first
		// argument that is not one).
		rest := args[1:]
		var id string
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			id, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if id == "" && fs.NArg() == 1 {
			id = fs.Arg(0)
		} else if id == "" || fs.NArg() != 0 {
			return errors.New(usage)
		}
		a, err := m.openTool(ctx)
		if err != nil {
			return err
		}
		defer a.close()
		if _, err := a.access.RevokeKey(ctx, access.SystemMeta("keys", time.Now().UTC()), access.RevokeKey{ID: id, Reason: *reason}); err != nil {
			return errors.New(domain.MessageOf(err))
		}
		fmt.Fprintf(m.Stdout, "revoked key %s; servers stop accepting it as soon as they apply the revocation, open WebSockets included\n", id)
		return nil
	}
	return errors.New(usage)
}

// flagMessage names the --cycle flag in a message of CreateKey's about
// the cycle, which the service words after its field ("cycle: ..." or
// "cycle \"keda-1999\": ..."), so that whoever runs the command knows which
// flag to fix. Other messages are left as they were.
func flagMessage(msg string) string {
	if strings.HasPrefix(msg, "cycle:") || strings.HasPrefix(msg, `cycle "`) {
		return "--" + msg
	}
	return msg
}

// erase erases a data subject's personal data: `civic erase subject ID
// --reason TEXT`. It first records the subjects whose data the log holds in
// plain text from before it sealed personal data, so those can be erased
// too, and says what it could not erase.
func (m *Main) erase(ctx context.Context, args []string) error {
	const usage = "usage: civic erase subject ID --reason TEXT (ID: organisation:<id>:contact, project:<id>:lead or expert:<actor>)"
	if len(args) == 0 || args[0] != "subject" {
		return errors.New(usage)
	}
	fs := m.flags("erase subject")
	reason := fs.String("reason", "", "why the data is erased, for the audit trail (required; no personal data)")
	rest := args[1:]
	var subject string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		subject, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if subject == "" && fs.NArg() == 1 {
		subject = fs.Arg(0)
	} else if subject == "" || fs.NArg() != 0 {
		return errors.New(usage)
	}
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.scanPlain(ctx); err != nil {
		return err
	}
	er, err := a.privacy.Erase(ctx, access.SystemMeta("erase", time.Now().UTC()), privacy.Erase{Subject: subject, Reason: *reason})
	if err != nil {
		return errors.New(domain.MessageOf(err))
	}
	if er.KeysDestroyed > 0 {
		fmt.Fprintf(m.Stdout, "erased %s: %d key(s) destroyed; what the log holds sealed under them can no longer be read\n", er.Subject, er.KeysDestroyed)
	} else {
		fmt.Fprintf(m.Stdout, "erased %s: its data, recorded before the log sealed personal data, is withheld from every read path; "+
			"its bytes stay in the log, which only a rewrite of history (which civic verify shows) could remove\n", er.Subject)
	}
	fmt.Fprintln(m.Stdout, "the read models drop the values as soon as civic serve applies the erasure; the log, its hashes and its checkpoints are unchanged")
	return nil
}

// rebuild builds a new generation of a read model from the start of the log
// and switches readers to it: `civic rebuild NAME`. A running server keeps
// answering from the old one meanwhile.
func (m *Main) rebuild(ctx context.Context, args []string) error {
	fs := m.flags("rebuild")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var names []string
	for _, p := range readModels() {
		names = append(names, p.Name())
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: civic rebuild NAME (one of %s)", strings.Join(names, ", "))
	}
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	start := time.Now()
	if err := a.runner.Rebuild(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "rebuilt %s in %s\n", fs.Arg(0), time.Since(start).Round(time.Millisecond))
	return nil
}

// project runs the projections (and the sequencer) without serving
// queries: `civic project`, for deployments that keep them apart.
func (m *Main) project(ctx context.Context, args []string) error {
	if err := m.flags("project").Parse(args); err != nil {
		return err
	}
	c, err := m.config()
	if err != nil {
		return err
	}
	log := c.logger(m.Stderr)
	key, err := loadSigningKey(c.signingKeyPath(), false)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, c, log, key)
	if err != nil {
		return err
	}
	defer a.close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.store.RunSequencer(ctx)
	}()
	log.Info("civic projecting")
	err = a.runner.Run(ctx)
	<-done
	return err
}
