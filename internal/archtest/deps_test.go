// Package archtest holds tests of the code's shape rather than its
// behaviour: that imports point one way, as DESIGN.md lays out
// (cmd → graph → projections → domain → eventstore).
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/civicledger/civicledger"

type pkg struct {
	ImportPath string
	Deps       []string // transitive, non-test
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the check would prove nothing", len(pkgs))
	}
	return pkgs
}

// within reports whether path is the package dir or below it.
func within(path, dir string) bool {
	return path == module+"/"+dir || strings.HasPrefix(path, module+"/"+dir+"/")
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyDirection(t *testing.T) {
	rules := []struct {
		from      string   // packages at or below this directory
		exact     bool     // only the package itself
		forbidden []string // import path prefixes (module-relative when not containing a dot)
		stdOnly   bool
		why       string
	}{
		{from: "eventstore", exact: true, stdOnly: true, why: "the storage contract imports only the standard library"},
		{from: "eventstore", forbidden: []string{"domain", "projections", "graph", "cmd"}, why: "backends never import domain or anything above it"},
		{from: "domain", forbidden: []string{"github.com/jackc/pgx", "github.com/99designs/gqlgen", "github.com/vektah/gqlparser", "github.com/EventStore", "eventstore/postgres", "eventstore/kurrent", "projections", "graph", "cmd"}, why: "domain is pure Go over the eventstore contract"},
		{from: "projections", forbidden: []string{"graph", "cmd", "github.com/99designs/gqlgen"}, why: "projections sit below the GraphQL layer"},
		{from: "graph", forbidden: []string{"cmd"}, why: "graph sits below cmd"},
	}
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if r.exact && p.ImportPath != module+"/"+r.from || !r.exact && !within(p.ImportPath, r.from) {
				continue
			}
			for _, dep := range p.Deps {
				if r.stdOnly && !isStd(dep) {
					t.Errorf("%s imports %s: %s", p.ImportPath, dep, r.why)
				}
				for _, f := range r.forbidden {
					if !strings.Contains(f, ".") {
						f = module + "/" + f
					}
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("%s imports %s: %s", p.ImportPath, dep, r.why)
					}
				}
			}
		}
	}
}
