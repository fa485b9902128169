package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/budgeting"
	"github.com/civicledger/civicledger/domain/registry"
	"github.com/civicledger/civicledger/internal/pabulib"
)

// export writes the open data (`civic export DIR`, or `civic export
// opendata DIR`: see opendata.go), or a cycle in pabulib's format, the one
// participatory budgeting researchers count with: `civic export pabulib
// CYCLE DIR`, one file per pot (georgia_<municipality>_<year>_<pot>.pb),
// each holding the anonymous ballots the declared results counted. Before
// the results are declared it writes nothing: ballots are published with
// the results.
func (m *Main) export(ctx context.Context, args []string) error {
	const usage = "usage: civic export DIR (the open data: every public table as CSV and JSON, datapackage.json, README.md, LICENSE.md, iati-activities.xml and the ZIP of them, into DIR), " +
		"civic export opendata DIR (the same), or civic export pabulib CYCLE DIR (a cycle whose results are declared, such as keda-2023; one .pb file per pot is written into DIR)"
	fs := m.flags("export")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) != "pabulib" && fs.Arg(0) != "opendata":
		return m.exportOpenData(ctx, fs.Arg(0))
	case fs.NArg() == 2 && fs.Arg(0) == "opendata":
		return m.exportOpenData(ctx, fs.Arg(1))
	case fs.NArg() != 3 || fs.Arg(0) != "pabulib":
		return errors.New(usage)
	}
	cycle, dir := fs.Arg(1), fs.Arg(2)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a directory: %s", dir, usage)
	}
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	svc := &budgeting.Service{Repo: a.repo}
	c, ballots, err := svc.PublishedBallots(ctx, cycle)
	if err != nil {
		return errors.New(domain.MessageOf(err))
	}
	var muni registry.Municipality
	if _, err := a.repo.Load(ctx, registry.MunicipalityStream(c.Municipality()), &muni); err != nil {
		return err
	}
	titles := map[string]domain.LocalizedText{}
	for _, bp := range c.Ballot() {
		var i budgeting.Idea
		if _, err := a.repo.Load(ctx, budgeting.IdeaStream(bp.Idea), &i); err != nil {
			return err
		}
		titles[bp.Idea] = i.Title()
	}
	for _, p := range c.Pots() {
		in, err := pabulib.FromCycle(c, muni.Name().En, p.Code, ballots, titles)
		if err != nil {
			return err
		}
		name := filepath.Join(dir, fmt.Sprintf("georgia_%s_%d_%s.pb", c.Municipality(), c.Year(), p.Code))
		if err := writeAtomically(name, in); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s: %d projects, %d ballots\n", name, len(in.Projects.Rows), len(in.Votes.Rows))
	}
	return nil
}

// writeAtomically writes in to name through a file beside it, so a reader
// never sees half a file.
func writeAtomically(name string, in *pabulib.Instance) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := in.Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// countPabulib counts published pabulib instances with Civic Ledger's
// code and compares the winners with those each city published:
// `civic count pabulib FILE...`. It needs no database. It exits 1 when a
// counted instance's winners differ from its published ones, 0 when all
// agree; instances it does not count (ranked ballots, other rules, no
// published winners) are listed apart.
func (m *Main) countPabulib(args []string) (int, error) {
	fs := m.flags("count")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() < 2 || fs.Arg(0) != "pabulib" {
		return exitError, errors.New("usage: civic count pabulib FILE... (pabulib .pb files)")
	}
	var agree, differ, skipped int
	for _, name := range fs.Args()[1:] {
		f, err := os.Open(name)
		if err != nil {
			return exitError, err
		}
		in, err := pabulib.Read(f, pabulib.Limits{})
		f.Close()
		if err != nil {
			return exitError, fmt.Errorf("%s: %w", name, err)
		}
		e, err := in.Election()
		if errors.Is(err, pabulib.ErrUnsupported) || err == nil && len(e.Selected) == 0 {
			skipped++
			why := "no published winners"
			if err != nil {
				why = err.Error()
			}
			fmt.Fprintf(m.Stdout, "%s: skipped: %s\n", name, why)
			continue
		}
		if err != nil {
			return exitError, fmt.Errorf("%s: %w", name, err)
		}
		out, err := budgeting.Count(e.Counting, e.Budget, e.Candidates, e.Ballots)
		if err != nil {
			skipped++
			fmt.Fprintf(m.Stdout, "%s: skipped: the ballots cannot be counted: %s\n", name, domain.MessageOf(err))
			continue
		}
		got, want := slices.Sorted(slices.Values(out.Winners)), slices.Sorted(slices.Values(e.Selected))
		if slices.Equal(got, want) {
			agree++
			fmt.Fprintf(m.Stdout, "%s: agrees: %d winners, %d ballots\n", name, len(got), len(e.Ballots))
			continue
		}
		differ++
		var extra, missing []string
		for _, w := range got {
			if !slices.Contains(want, w) {
				extra = append(extra, w)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				missing = append(missing, w)
			}
		}
		fmt.Fprintf(m.Stdout, "%s: DIFFERS: counted also %v, published also %v\n", name, extra, missing)
	}
	fmt.Fprintf(m.Stdout, "%d agree, %d differ, %d skipped\n", agree, differ, skipped)
	if differ > 0 {
		return exitFailed, nil
	}
	return exitOK, nil
}

// importPabulib records published pabulib instances, each as a cycle
// counted by Civic Ledger's code: `civic import pabulib FILE...`. It
// sequences the log while it imports, as the counts read the ballots by
// position, and says for each file whether the declared winners are the
// published ones. A file that cannot be recorded whole writes nothing and
// stops the command.
func (m *Main) importPabulib(ctx context.Context, files []string) error {
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	seqCtx, stopSeq := context.WithCancel(ctx)
	seqDone := make(chan struct{})
	go func() { defer close(seqDone); a.store.RunSequencer(seqCtx) }()
	defer func() { stopSeq(); <-seqDone }()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		in, err := pabulib.Read(f, pabulib.Limits{})
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep, err := pabulib.Import(ctx, a.budgeting, in, filepath.Base(name))
		var de *domain.Error
		switch {
		case errors.As(err, &de) && de.Kind != domain.Internal:
			return fmt.Errorf("%s: %s", name, de.Message)
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		}
		verdict := "its published winners"
		switch {
		case rep.Published == nil:
			verdict = "(the file publishes none to compare)"
		case !rep.Agrees():
			verdict = fmt.Sprintf("NOT the published ones %v", rep.Published)
		}
		fmt.Fprintf(m.Stdout, "%s: cycle %s, %d projects, %d ballots; counted winners %v: %s\n", name, rep.Cycle, rep.Projects, rep.Ballots, rep.Winners, verdict)
	}
	return nil
}
