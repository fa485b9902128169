package opendata

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/civicledger/civicledger/domain"
	"github.com/civicledger/civicledger/projections"
)

// Exporter builds the open data: every table read from the GraphQL API
// as an anonymous caller, so exactly what the API's visibility policy
// shows the public is exported, and nothing else.
type Exporter struct {
	// API is the GraphQL API's handler (graph.Server.Handler()); the
	// export asks it POST /graphql without a key.
	API http.Handler
	// Position is the log position the read models stand at: the export
	// reflects it when it is the same before and after the tables are
	// read.
	Position func(context.Context) (int64, error)
	// Now is the clock (time.Now when nil): the day in Tbilisi decides
	// certificates' status and indicators' progress.
	Now func() time.Time
}

// ErrMoving is returned when the read models moved during every attempt
// to read the tables: no export could be said to reflect one position.
var ErrMoving = errors.New("open data: the read models kept moving while the tables were read; try again")

// Export is the open data at one log position and day: its files, and
// the ZIP that holds them all.
type Export struct {
	// Position is the log position the read models stood at while every
	// table was read.
	Position int64
	// Day is the day in Tbilisi the export is of (certificates' status,
	// indicators' progress and network memberships depend on it).
	Day string
	// Generated is when it was built.
	Generated time.Time
	// Names lists the files in the order the ZIP holds them.
	Names []string
	// Files are the files by name.
	Files map[string][]byte
	// Zip holds every file, datapackage.json first.
	Zip []byte
	// Rows counts each table's rows.
	Rows map[string]int
	// resources are the tables' descriptors for datapackage.json.
	resources []any
}

// ETag is the export's entity tag: its log position and day, which
// together decide every byte of it.
func (x *Export) ETag() string { return fmt.Sprintf(`"opendata-%d-%s"`, x.Position, x.Day) }

// ZipName is the ZIP's file name.
const ZipName = "civic-ledger-opendata.zip"

// build is one reading of the tables.
type build struct {
	day    string
	cycles []any
}

// attempts is how often Build reads the tables before giving up on a log
// that keeps moving.
const attempts = 4

// Build reads every table at one position of the read models: it reads
// them, then checks the read models did not move meanwhile, and reads
// them again if they did.
func (e *Exporter) Build(ctx context.Context) (*Export, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	for range attempts {
		before, err := e.Position(ctx)
		if err != nil {
			return nil, err
		}
		t := now()
		// The position goes into the files (README.md, datapackage.json)
		// as they are made; they are kept only if it has not moved.
		x, err := e.read(ctx, t, before)
		if err != nil {
			return nil, err
		}
		after, err := e.Position(ctx)
		if err != nil {
			return nil, err
		}
		if after == before {
			if err := x.pack(); err != nil {
				return nil, err
			}
			return x, nil
		}
	}
	return nil, ErrMoving
}

// read reads every table and makes every file but the ZIP, stating that
// they reflect the log at position.
func (e *Exporter) read(ctx context.Context, now time.Time, position int64) (*Export, error) {
	b := &build{day: domain.DayOf(now)}
	c := &client{api: e.API}
	x := &Export{Position: position, Day: b.day, Generated: now.UTC().Truncate(time.Second), Files: map[string][]byte{}, Rows: map[string]int{}}
	ts := tables()
	var resources []any
	for _, t := range ts {
		c.table = t.Name
		rows, err := t.rows(ctx, c, b)
		if err != nil {
			return nil, err
		}
		csvBytes, jsonBytes, err := encode(t, rows)
		if err != nil {
			return nil, err
		}
		x.add(t.Name+".csv", csvBytes)
		x.add(t.Name+".json", jsonBytes)
		x.Rows[t.Name] = len(rows)
		r := t.descriptor(len(rows))
		sum := sha256.Sum256(csvBytes)
		r["bytes"], r["hash"] = len(csvBytes), "sha256:"+hex.EncodeToString(sum[:])
		resources = append(resources, r)
	}
	c.table = "iati-activities"
	d, err := b.projects(ctx, c)
	if err != nil {
		return nil, err
	}
	iati, err := iatiXML(d, b.day, x.Generated)
	if err != nil {
		return nil, err
	}
	x.add(IATIName, iati)
	x.add("README.md", readme(ts, x))
	x.add("LICENSE.md", []byte(licenceText))
	x.resources = resources
	return x, nil
}

// add records a file.
func (x *Export) add(name string, b []byte) {
	x.Names = append(x.Names, name)
	x.Files[name] = b
}

// pack writes datapackage.json, which carries the position, and the ZIP.
func (x *Export) pack() error {
	pkg := map[string]any{
		"profile": "tabular-data-package", "name": "civic-ledger-opendata", "id": "civic-ledger-opendata-" + fmt.Sprint(x.Position),
		"title":       "Civic Ledger open data: civic participation in Georgia",
		"title_ka":    "Civic Ledger-ის ღია მონაცემები: სამოქალაქო მონაწილეობა საქართველოში",
		"description": "Every public read model of Civic Ledger, as an anonymous caller of its API sees it, at log position " + fmt.Sprint(x.Position) + " on " + x.Day + " (Tbilisi). See README.md.",
		"version":     fmt.Sprint(x.Position), "created": x.Generated.Format(time.RFC3339),
		"log_position": x.Position, "day": x.Day,
		"licenses": []any{map[string]any{"name": licenceID, "path": licenceURL, "title": licenceTitle}},
		"sources": []any{
			map[string]any{"title": "Civic Ledger (event log and read models), through its public GraphQL API", "path": "/graphql"},
			map[string]any{"title": "Geostat, 2014 General Population Census (population figures)", "path": "https://www.geostat.ge/en/modules/categories/568/population-census-2014"},
		},
		"keywords":  []string{"Georgia", "civic participation", "participatory budgeting", "civil society", "IATI"},
		"resources": x.resources,
	}
	b, err := json.MarshalIndent(pkg, "", "  ")
	if err != nil {
		return err
	}
	x.Names = append([]string{"datapackage.json"}, x.Names...)
	x.Files["datapackage.json"] = append(b, '\n')
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range x.Names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: x.Generated})
		if err != nil {
			return err
		}
		if _, err := w.Write(x.Files[n]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	x.Zip = buf.Bytes()
	return nil
}

// WriteDir writes every file of the export, and the ZIP, into dir, each
// through a temporary file beside it so a reader never sees half a file.
func (x *Export) WriteDir(dir string) error {
	names := append(slices.Clone(x.Names), ZipName)
	for _, n := range names {
		b := x.Files[n]
		if n == ZipName {
			b = x.Zip
		}
		if err := writeFile(filepath.Join(dir, n), b); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".opendata-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
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

// encode writes a table as CSV (RFC 4180, a header row, UTF-8) and as
// JSON (an array of objects keyed by the columns, numbers and booleans
// typed, empty and suppressed cells null). A row whose width is not the
// schema's, or a cell that holds the suppression symbol where the column
// may not, is a fault of this code and stops the export.
func encode(t *Table, rows [][]string) ([]byte, []byte, error) {
	var cb bytes.Buffer
	w := csv.NewWriter(&cb)
	header := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		header[i] = f.Name
	}
	if err := w.Write(header); err != nil {
		return nil, nil, err
	}
	objs := make([]json.RawMessage, 0, len(rows))
	for _, r := range rows {
		if len(r) != len(t.Fields) {
			return nil, nil, fmt.Errorf("open data: table %s: a row of %d cells for %d columns", t.Name, len(r), len(t.Fields))
		}
		var ob bytes.Buffer
		ob.WriteByte('{')
		for i, f := range t.Fields {
			cell := r[i]
			if cell == Suppressed && !f.Suppressible {
				return nil, nil, fmt.Errorf("open data: table %s: column %s holds %q, the suppression symbol", t.Name, f.Name, cell)
			}
			if i > 0 {
				ob.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			ob.Write(k)
			ob.WriteByte(':')
			switch {
			case cell == "" || cell == Suppressed:
				ob.WriteString("null")
			case f.Type == "integer" || f.Type == "number" || f.Type == "boolean":
				ob.WriteString(cell)
			default:
				v, _ := json.Marshal(cell)
				ob.Write(v)
			}
		}
		ob.WriteByte('}')
		if !json.Valid(ob.Bytes()) {
			return nil, nil, fmt.Errorf("open data: table %s: a row is not valid JSON: %s", t.Name, ob.Bytes())
		}
		objs = append(objs, ob.Bytes())
		if err := w.Write(r); err != nil {
			return nil, nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, nil, err
	}
	var jb bytes.Buffer
	jb.WriteString("[\n")
	for i, o := range objs {
		jb.Write(o)
		if i < len(objs)-1 {
			jb.WriteByte(',')
		}
		jb.WriteByte('\n')
	}
	jb.WriteString("]\n")
	return cb.Bytes(), jb.Bytes(), nil
}

// ReadModelsPosition is the log position every read model has applied:
// the least of their active generations' checkpoints. An export read
// while it stays the same reflects the log up to it.
func ReadModelsPosition(ctx context.Context, r *projections.Runner) (int64, error) {
	ps, err := r.Status(ctx)
	if err != nil {
		return 0, err
	}
	pos, found := int64(0), false
	for _, p := range ps {
		if p.State != projections.StateActive {
			continue
		}
		if !found || p.Position < pos {
			pos, found = p.Position, true
		}
	}
	if !found {
		return 0, errors.New("open data: no read model has an active generation yet")
	}
	return pos, nil
}

// VerifyDir checks that dir holds what WriteDir writes: the ZIP and every
// file in it, byte for byte, and nothing else. It names the first file
// that differs or is missing or extra, so that someone handed a copied
// export can tell it is whole.
func VerifyDir(dir string) error {
	zr, err := zip.OpenReader(filepath.Join(dir, ZipName))
	if err != nil {
		return err
	}
	defer zr.Close()
	want := map[string]bool{ZipName: true}
	for _, zf := range zr.File {
		want[zf.Name] = true
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		inZip, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		onDisk, err := os.ReadFile(filepath.Join(dir, zf.Name))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is missing", zf.Name)
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(inZip, onDisk) {
			return fmt.Errorf("%s: the file differs from the ZIP's", zf.Name)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !want[e.Name()] {
			return fmt.Errorf("%s is not of the export", e.Name())
		}
		delete(want, e.Name())
	}
	for name := range want {
		return fmt.Errorf("%s is missing", name)
	}
	return nil
}
