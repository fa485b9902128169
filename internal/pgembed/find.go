package pgembed

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// requiredBinaries are the programs Start executes. pg_ctl is deliberately
// not required: the server is run directly so that we own its lifetime.
var requiredBinaries = []string{"initdb", "postgres"}

// NotFoundError is returned by FindBinaries (and by Start when Options.BinDir
// is empty) when no directory holds the PostgreSQL server binaries. Its
// message names every place searched and the ways to fix it, so callers can
// show it to the user unchanged instead of composing their own advice.
type NotFoundError struct {
	// Looked lists the places searched, in search order, as shown to the user.
	Looked []string
}

// Error says where it looked and how to install the binaries or do without.
func (e *NotFoundError) Error() string {
	var where string
	switch n := len(e.Looked); n {
	case 0:
		where = "any searched location"
	case 1:
		where = e.Looked[0]
	default:
		where = strings.Join(e.Looked[:n-1], ", ") + " or " + e.Looked[n-1]
	}
	return "PostgreSQL server binaries (" + strings.Join(requiredBinaries, ", ") + ") not found in " + where +
		". Install them (Debian/Ubuntu: apt-get install -y postgresql; macOS: brew install postgresql@15)," +
		" set PG_BIN to their directory, or set DATABASE_URL to use a server you run yourself."
}

// FindBinaries returns the directory holding the PostgreSQL server programs
// initdb and postgres (pg_ctl, which sits beside them, is not needed), so
// that callers can run a private cluster without requiring a system-wide
// server. It searches, in order: $PG_BIN;
// the directory of `postgres` on PATH (or, when that is a symlink, the
// directory it points into); the
// highest-versioned /usr/lib/postgresql/*/bin; /usr/local/pgsql/bin; and the
// highest-versioned Homebrew postgresql@* under /opt/homebrew/opt and
// /usr/local/opt. A place that is set but lacks the binaries (even PG_BIN) is
// skipped rather than fatal. When no place has them the error is a
// *NotFoundError whose message explains how to fix that.
func FindBinaries() (string, error) {
	return findBinariesIn(defaultSearchPlaces())
}

// searchPlace is one entry of the search order; it is a separate type so
// tests can inject a search that does not see this machine's installation.
type searchPlace struct {
	name string   // how NotFoundError describes the place
	dirs []string // candidate directories, most preferred first
}

func defaultSearchPlaces() []searchPlace {
	pgBin := searchPlace{name: "PG_BIN"}
	if v := os.Getenv("PG_BIN"); v != "" {
		pgBin.name = "PG_BIN=" + v
		pgBin.dirs = []string{v}
	}
	onPath := searchPlace{name: "PATH"}
	if p, err := exec.LookPath("postgres"); err == nil {
		// Prefer the installation directory over a directory of symlinks
		// into it: that is where the server looks for its share/ and lib/.
		if real, err := filepath.EvalSymlinks(p); err == nil && filepath.Dir(real) != filepath.Dir(p) {
			onPath.dirs = append(onPath.dirs, filepath.Dir(real))
		}
		onPath.dirs = append(onPath.dirs, filepath.Dir(p))
	}
	places := []searchPlace{pgBin, onPath}
	for _, pattern := range []string{
		"/usr/lib/postgresql/*/bin",
		"/usr/local/pgsql/bin",
		"/opt/homebrew/opt/postgresql@*/bin",
		"/usr/local/opt/postgresql@*/bin",
	} {
		places = append(places, searchPlace{name: pattern, dirs: globByVersion(pattern)})
	}
	return places
}

func findBinariesIn(places []searchPlace) (string, error) {
	looked := make([]string, 0, len(places))
	for _, p := range places {
		looked = append(looked, p.name)
		for _, d := range p.dirs {
			if hasBinaries(d) {
				if abs, err := filepath.Abs(d); err == nil {
					d = abs
				}
				return d, nil
			}
		}
	}
	return "", &NotFoundError{Looked: looked}
}

func hasBinaries(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range requiredBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// globByVersion expands a pattern with a single '*' path segment and orders
// the matches by the version that '*' stands for, highest first, comparing
// numerically so that 15 beats 9.6 (a plain string sort would not).
func globByVersion(pattern string) []string {
	matches, err := filepath.Glob(pattern)
	if err != nil || len(matches) == 0 {
		return matches
	}
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	idx := slices.IndexFunc(segs, func(s string) bool { return strings.Contains(s, "*") })
	if idx < 0 {
		return matches
	}
	prefix, suffix, _ := strings.Cut(segs[idx], "*")
	version := func(m string) []int {
		parts := strings.Split(filepath.ToSlash(m), "/")
		if idx >= len(parts) {
			return nil
		}
		v := strings.TrimSuffix(strings.TrimPrefix(parts[idx], prefix), suffix)
		var nums []int
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
			n, err := strconv.Atoi(f)
			if err != nil {
				break
			}
			nums = append(nums, n)
		}
		return nums
	}
	slices.SortStableFunc(matches, func(a, b string) int {
		return slices.Compare(version(b), version(a))
	})
	return matches
}
