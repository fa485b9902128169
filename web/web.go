// Package web holds the browser pages the civic binary serves, built from
// npm packages by web/build.mjs into committed, minified files that are
// embedded here: GraphiQL at / (graphiql.go) and the dashboard. Nothing
// they load comes from another origin, so they work on a closed network
// (a ministry's, a municipality's) as they do on the internet.
//
// The package imports only the standard library, so graph and cmd/civic
// may both mount its handlers without an import cycle.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// hashedName matches the file names the builds give by content (esbuild's
// [name]-[hash]): such a file never changes, so browsers may keep it.
var hashedName = regexp.MustCompile(`-[A-Z0-9]{8}\.[a-z0-9]+$`)

// staticFile is one embedded file, with its digest and its gzip form made
// on first use: GraphiQL is megabytes of JavaScript, a third of that
// compressed, and a closed network is often a slow one.
type staticFile struct {
	name string
	raw  []byte
	etag string
	once sync.Once
	gz   []byte
}

func (f *staticFile) gzipped() []byte {
	f.once.Do(func() {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level: no error
		zw.Write(f.raw)
		zw.Close()
		f.gz = b.Bytes()
	})
	return f.gz
}

// staticFiles serves the files of an embedded directory by name, with
// the caching their names allow: a content-hashed name for a year, as
// immutable; any other (a page, a licence) revalidated by its ETag.
type staticFiles struct {
	files map[string]*staticFile
}

// newStaticFiles reads every file of dir in fsys. A file that cannot be
// read is a broken build, found at start.
func newStaticFiles(fsys fs.FS, dir string) (*staticFiles, error) {
	s := &staticFiles{files: map[string]*staticFile{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		name := strings.TrimPrefix(p, dir+"/")
		s.files[name] = &staticFile{name: name, raw: raw, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	return s, err
}

// serve answers a GET or HEAD for the file name; false when there is no
// such file. http.ServeContent handles If-None-Match (304) and ranges.
func (s *staticFiles) serve(w http.ResponseWriter, r *http.Request, name string) bool {
	f, ok := s.files[name]
	if !ok || name != path.Clean(name) {
		return false
	}
	h := w.Header()
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if hashedName.MatchString(name) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Add("Vary", "Accept-Encoding")
	body := f.raw
	if len(body) > 1024 && !precompressed(name) && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		// The encoded form is another representation: its own validator.
		h.Set("ETag", strings.TrimSuffix(f.etag, `"`)+`-gzip"`)
		body = f.gzipped()
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
	return true
}

// precompressed reports whether a file's format is compressed already
// (woff2 fonts, images): gzip would spend time to gain nothing.
func precompressed(name string) bool {
	switch path.Ext(name) {
	case ".woff2", ".woff", ".png", ".jpg", ".gif", ".webp", ".zip", ".gz":
		return true
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
