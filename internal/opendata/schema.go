package opendata

import (
	"context"
)

// Suppressed is the symbol a suppressed cell holds in the CSV files: a
// disaggregated count under Threshold, or a cell suppressed so that such a
// count cannot be worked out from a total (see suppress.go). It is one of
// every table schema's missingValues, so a Table Schema reader reads it as
// missing; "c" is Eurostat's and ONS's flag for a confidential cell.
const Suppressed = "c"

// Threshold is the least count of people a disaggregated cell may show.
const Threshold = 5

// Field is a column of a table: what the Table Schema and the README say
// of it, so that both are made from one declaration and cannot disagree.
type Field struct {
	// Name is the column's header, snake_case.
	Name string
	// Type is a Table Schema type: string, integer, number, boolean,
	// date, datetime or year.
	Type string
	// En and Ka describe the column in English and Georgian.
	En, Ka string
	// Unit is what a number counts (people, GEL, percent); "" for none.
	Unit string
	// Required columns are never empty.
	Required bool
	// Min and Max bound a number or date, in their lexical form (the
	// Table Schema allows a string; the Go validator needs one).
	Min, Max string
	// Enum lists the only values the column takes.
	Enum []string
	// Suppressible columns may hold the Suppressed symbol.
	Suppressible bool
}

// ForeignKey ties columns to another table's primary key.
type ForeignKey struct {
	Fields   []string
	Resource string
	Ref      []string
}

// Table is one file pair of the export (NAME.csv and NAME.json) and its
// schema.
type Table struct {
	// Name is the resource's name and the files' base name.
	Name string
	// TitleEn and TitleKa name the table; En and Ka describe what a row
	// is.
	TitleEn, TitleKa string
	En, Ka           string
	// Source is the GraphQL field the rows come from, for the README and
	// the package's sources: anyone can ask the API the same.
	Source      string
	Fields      []Field
	PrimaryKey  []string
	ForeignKeys []ForeignKey
	// rows reads the table from the API.
	rows func(ctx context.Context, c *client, b *build) ([][]string, error)
}

// field is a Field in one line; opts set the rest.
func field(name, typ, en, ka string, opts ...func(*Field)) Field {
	f := Field{Name: name, Type: typ, En: en, Ka: ka}
	for _, o := range opts {
		o(&f)
	}
	return f
}

// Options of field.
func unit(u string) func(*Field)    { return func(f *Field) { f.Unit = u } }
func required(f *Field)             { f.Required = true }
func suppressible(f *Field)         { f.Suppressible = true }
func minimum(m string) func(*Field) { return func(f *Field) { f.Min = m } }
func maximum(m string) func(*Field) { return func(f *Field) { f.Max = m } }
func enum(v ...string) func(*Field) { return func(f *Field) { f.Enum = v } }
func count(f *Field)                { f.Min = "0"; f.Unit = "people" }

// descriptor is the table's Table Schema resource in datapackage.json.
func (t *Table) descriptor(rows int) map[string]any {
	var fields []any
	for _, f := range t.Fields {
		d := map[string]any{"name": f.Name, "type": f.Type, "title": f.Name, "description": f.En, "description_ka": f.Ka}
		if f.Type == "date" {
			d["format"] = "default"
		}
		if f.Unit != "" {
			d["unit"] = f.Unit
		}
		c := map[string]any{}
		// A suppressed cell is missing to a Table Schema reader, so a
		// suppressible column cannot be required there, though it is
		// never empty.
		if f.Required && !f.Suppressible {
			c["required"] = true
		}
		if f.Min != "" {
			c["minimum"] = f.Min
		}
		if f.Max != "" {
			c["maximum"] = f.Max
		}
		if len(f.Enum) > 0 {
			c["enum"] = f.Enum
		}
		if len(c) > 0 {
			d["constraints"] = c
		}
		if f.Suppressible {
			d["suppressible"] = true
		}
		fields = append(fields, d)
	}
	schema := map[string]any{"fields": fields, "missingValues": []string{"", Suppressed}}
	if len(t.PrimaryKey) > 0 {
		schema["primaryKey"] = t.PrimaryKey
	}
	if len(t.ForeignKeys) > 0 {
		var fks []any
		for _, fk := range t.ForeignKeys {
			fks = append(fks, map[string]any{"fields": fk.Fields, "reference": map[string]any{"resource": fk.Resource, "fields": fk.Ref}})
		}
		schema["foreignKeys"] = fks
	}
	return map[string]any{
		"name": t.Name, "path": t.Name + ".csv", "profile": "tabular-data-resource",
		"title": t.TitleEn, "title_ka": t.TitleKa, "description": t.En, "description_ka": t.Ka,
		"format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
		"sources": []any{map[string]any{"title": "Civic Ledger GraphQL API, anonymous: " + t.Source, "path": "/graphql"}},
		"schema":  schema, "rows": rows,
	}
}
