// Package pabulib reads and writes the .pb files of pabulib, the library
// of participatory budgeting data researchers count with
// (https://pabulib.org/format): a META section of key;value pairs, a
// PROJECTS section and a VOTES section, each a table separated by
// semicolons with its header on its first line.
//
// Civic Ledger exports a cycle in it so anyone can count our ballots with
// their own tools, and imports published instances so any city's history
// can be recounted by our code.
package pabulib

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Instance is one .pb file: one budget of one process, its projects and
// its ballots. Columns keep their order, so a file read and written again
// says the same.
type Instance struct {
	Meta     Table
	Projects Table
	Votes    Table
}

// Table is a section: its header and its rows, each as long as the
// header.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Get returns the value of column col in row i, "" when there is no such
// column.
func (t *Table) Get(i int, col string) string {
	k := slices.Index(t.Columns, col)
	if k < 0 {
		return ""
	}
	return t.Rows[i][k]
}

// Has reports whether the table has column col.
func (t *Table) Has(col string) bool { return slices.Contains(t.Columns, col) }

// MetaValue returns META's value for key, "" when absent.
func (in *Instance) MetaValue(key string) string {
	for _, r := range in.Meta.Rows {
		if r[0] == key {
			return r[1]
		}
	}
	return ""
}

// SetMeta sets META's key, appending it when absent.
func (in *Instance) SetMeta(key, value string) {
	for _, r := range in.Meta.Rows {
		if r[0] == key {
			r[1] = value
			return
		}
	}
	in.Meta.Rows = append(in.Meta.Rows, []string{key, value})
}

// Limits bound what Read accepts, since a file may come from anyone.
type Limits struct {
	// Bytes is the most read (256 MiB when zero: the largest instances in
	// the library, Warsaw's city-wide ones, are about 60 MiB).
	Bytes int64
	// Rows is the most rows in a section (2,000,000 when zero).
	Rows int
}

// ErrFormat is wrapped by every error about a file's content.
var ErrFormat = errors.New("pabulib")

func formatErr(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrFormat, line, fmt.Sprintf(format, args...))
}

// Read reads a .pb file. It checks the file's shape (the three sections in
// order, headers, rows as wide as their header, META's key;value) and
// leaves what the values mean to the caller.
func Read(r io.Reader, lim Limits) (*Instance, error) {
	if lim.Bytes <= 0 {
		lim.Bytes = 256 << 20
	}
	if lim.Rows <= 0 {
		lim.Rows = 2_000_000
	}
	lr := &io.LimitedReader{R: r, N: lim.Bytes + 1}
	br := bufio.NewReader(lr)
	// A BOM some editors write.
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	in := &Instance{}
	sections := []struct {
		name string
		t    *Table
	}{{"META", &in.Meta}, {"PROJECTS", &in.Projects}, {"VOTES", &in.Votes}}
	cur := -1
	for {
		rec, err := cr.Read()
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: the file is larger than %d bytes", ErrFormat, lim.Bytes)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && cur+1 < len(sections) && strings.TrimSpace(rec[0]) == sections[cur+1].name {
			cur++
			continue
		}
		if cur < 0 {
			return nil, formatErr(line, "the file must begin with META")
		}
		t := sections[cur].t
		if t.Columns == nil {
			for i := range rec {
				rec[i] = strings.TrimSpace(rec[i])
			}
			if slices.Contains(rec, "") {
				return nil, formatErr(line, "%s's header has an empty column name", sections[cur].name)
			}
			t.Columns = rec
			continue
		}
		if len(rec) != len(t.Columns) {
			return nil, formatErr(line, "%s row has %d fields, its header %d", sections[cur].name, len(rec), len(t.Columns))
		}
		if len(t.Rows) >= lim.Rows {
			return nil, formatErr(line, "%s has more than %d rows", sections[cur].name, lim.Rows)
		}
		t.Rows = append(t.Rows, rec)
	}
	if cur != len(sections)-1 {
		return nil, fmt.Errorf("%w: the sections META, PROJECTS and VOTES must all be there, in that order", ErrFormat)
	}
	if len(in.Meta.Columns) != 2 {
		return nil, fmt.Errorf("%w: META's header must be key;value", ErrFormat)
	}
	for _, want := range []struct {
		t   *Table
		col string
	}{{&in.Projects, "project_id"}, {&in.Projects, "cost"}, {&in.Votes, "voter_id"}, {&in.Votes, "vote"}} {
		if !want.t.Has(want.col) {
			return nil, fmt.Errorf("%w: column %s is missing", ErrFormat, want.col)
		}
	}
	return in, nil
}

// Write writes in as a .pb file: semicolons, quotes only where a value
// needs them.
func (in *Instance) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	for _, s := range []struct {
		name string
		t    *Table
	}{{"META", &in.Meta}, {"PROJECTS", &in.Projects}, {"VOTES", &in.Votes}} {
		if err := cw.Write([]string{s.name}); err != nil {
			return err
		}
		if err := cw.Write(s.t.Columns); err != nil {
			return err
		}
		for _, r := range s.t.Rows {
			if err := cw.Write(r); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// Int parses a whole number field (a vote count, points), naming where
// it is when it is not one.
func Int(where, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %q is not a whole number", ErrFormat, where, s)
	}
	return n, nil
}

// Amount parses an amount of money (a budget, a cost) into minor units of
// a currency with exp decimals: "106165.64" is 10616564 at exp 2. The
// library writes most amounts whole, some with a fraction; more fraction
// digits than the currency has (other than zeros) are an error, never
// rounded.
func Amount(where, s string, exp int) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	bad := func() (int64, error) {
		return 0, fmt.Errorf("%w: %s: %q is not an amount with at most %d decimals", ErrFormat, where, s, exp)
	}
	if len(frac) > exp || whole == "" || strings.ContainsAny(whole, "+-") || strings.ContainsAny(frac, "+-") {
		return bad()
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return bad()
	}
	return n, nil
}

// List splits a comma-separated field ("" is an empty list).
func List(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
