// Package seed loads the reference data the system starts from, Georgia's
// regions and municipalities, as events. It goes through the domain
// services rather than writing events itself, so the data obeys every rule
// a user's command does and leaves the same audit trail.
//
// The data is embedded (data/*.csv, with data/SOURCES.md naming where each
// value comes from) so that a binary carries it and never reads files
// outside its own tree at run time.
package seed

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/domain/registry"
)

//go:embed data/georgia-regions.csv data/georgia-municipalities.csv
var data embed.FS

// The embedded files, named in errors as they are in the source tree.
const (
	regionsFile        = "data/georgia-regions.csv"
	municipalitiesFile = "data/georgia-municipalities.csv"
)

// CorrelationPrefix begins the correlation ID of every demo event, so
// that a ledger can tell its demo data from its own (serve loads the demo
// by default only into a ledger that holds nothing else).
const CorrelationPrefix = "seed:"

// Report says what a seeding added.
type Report struct {
	// Regions and Municipalities count the registrations made, not those
	// found already registered.
	Regions, Municipalities int
}

// Registry registers every region and municipality of the embedded data
// that is not registered yet, through svc (so all rules apply), as meta's
// actor. Running it twice registers nothing the second time. It returns
// what it added, also when it stops at an error part way.
//
// It neither compares nor updates what is registered already: a code, once
// registered, is the record, and the registry has no events to change one.
func Registry(ctx context.Context, svc *registry.Service, meta domain.Meta) (Report, error) {
	var report Report
	regions, err := readEmbedded(regionsFile, readRegions)
	if err != nil {
		return report, err
	}
	municipalities, err := readEmbedded(municipalitiesFile, readMunicipalities)
	if err != nil {
		return report, err
	}
	for _, r := range regions {
		added, err := ensure(
			func() error { _, _, err := svc.Region(ctx, r.cmd.Code); return err },
			func() error { _, err := svc.RegisterRegion(ctx, meta, r.cmd); return err },
		)
		if err != nil {
			return report, fmt.Errorf("%s:%d: region %s: %w", regionsFile, r.line, r.cmd.Code, err)
		}
		if added {
			report.Regions++
		}
	}
	for _, m := range municipalities {
		added, err := ensure(
			func() error { _, _, err := svc.Municipality(ctx, m.cmd.Code); return err },
			func() error { _, err := svc.RegisterMunicipality(ctx, meta, m.cmd); return err },
		)
		if err != nil {
			return report, fmt.Errorf("%s:%d: municipality %s: %w", municipalitiesFile, m.line, m.cmd.Code, err)
		}
		if added {
			report.Municipalities++
		}
	}
	return report, nil
}

// ensure registers something unless find finds it, and reports whether it
// did. Looking first keeps a second run from needing a role to write, and
// a Conflict on registering means another seeder got there in between,
// which leaves the same result.
func ensure(find, register func() error) (bool, error) {
	err := find()
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, domain.ErrNotFound) {
		return false, err
	}
	err = register()
	if errors.Is(err, domain.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// row is a command read from a CSV file, with its line for error messages.
type row[C any] struct {
	line int
	cmd  C
}

func readEmbedded[C any](file string, read func(io.Reader, string) ([]row[C], error)) ([]row[C], error) {
	b, err := data.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err) // only if the embed pattern and the names disagree
	}
	return read(bytes.NewReader(b), file)
}

// readRegions reads a regions table: code, name_en, name_ka, kind,
// capital_en, in any order. file names the input in errors.
func readRegions(r io.Reader, file string) ([]row[registry.RegisterRegion], error) {
	var rows []row[registry.RegisterRegion]
	err := readTable(r, file, []string{"code", "name_en", "name_ka", "kind", "capital_en"}, func(line int, field func(string) string) error {
		kind, err := registry.ParseRegionKind(field("kind"))
		if err != nil {
			return err
		}
		rows = append(rows, row[registry.RegisterRegion]{line: line, cmd: registry.RegisterRegion{
			Code:    field("code"),
			Name:    domain.LocalizedText{Ka: field("name_ka"), En: field("name_en")},
			Kind:    kind,
			Capital: field("capital_en"),
		}})
		return nil
	})
	return rows, err
}

// readMunicipalities reads a municipalities table: code, name_en, name_ka,
// region_code, kind, population_2014_census (empty when there is none), in
// any order. file names the input in errors.
func readMunicipalities(r io.Reader, file string) ([]row[registry.RegisterMunicipality], error) {
	var rows []row[registry.RegisterMunicipality]
	columns := []string{"code", "name_en", "name_ka", "region_code", "kind", "population_2014_census"}
	err := readTable(r, file, columns, func(line int, field func(string) string) error {
		kind, err := registry.ParseMunicipalityKind(field("kind"))
		if err != nil {
			return err
		}
		var population *int
		if s := field("population_2014_census"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("population_2014_census: %q is not a whole number", s)
			}
			population = &n
		}
		rows = append(rows, row[registry.RegisterMunicipality]{line: line, cmd: registry.RegisterMunicipality{
			Code:           field("code"),
			Name:           domain.LocalizedText{Ka: field("name_ka"), En: field("name_en")},
			Region:         field("region_code"),
			Kind:           kind,
			Population2014: population,
		}})
		return nil
	})
	return rows, err
}

// readTable reads a CSV table whose first row names its columns, and calls
// each for every further row with a lookup by column name: files are read
// by name rather than position, so a column added or moved by whoever
// maintains the data cannot shift values into the wrong field unnoticed.
// A "code" column, where there is one, must be unique within the file.
// Errors name the file and line.
func readTable(r io.Reader, file string, columns []string, each func(line int, field func(string) string) error) error {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty; want a header row naming the columns %s", file, strings.Join(columns, ", "))
	}
	if err != nil {
		return csvError(file, err)
	}
	index := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\uFEFF")) // a byte-order mark from spreadsheet exports
		if _, dup := index[name]; dup {
			return fmt.Errorf("%s:1: column %q appears twice", file, name)
		}
		index[name] = i
	}
	for _, c := range columns {
		if _, ok := index[c]; !ok {
			return fmt.Errorf("%s:1: no column %q (the header has %s)", file, c, strings.Join(header, ", "))
		}
	}
	seen := map[string]int{} // code -> line
	rows := 0
	for {
		record, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		field := func(name string) string { return strings.TrimSpace(record[index[name]]) }
		if _, ok := index["code"]; ok {
			code := field("code")
			if first, dup := seen[code]; dup {
				return fmt.Errorf("%s:%d: code %q repeats line %d", file, line, code, first)
			}
			seen[code] = line
		}
		if err := each(line, field); err != nil {
			return fmt.Errorf("%s:%d: %w", file, line, err)
		}
		rows++
	}
	if rows == 0 {
		return fmt.Errorf("%s: no rows after the header", file)
	}
	return nil
}

// csvError puts a parse error in the file:line form of the others.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %w", file, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", file, err)
}
