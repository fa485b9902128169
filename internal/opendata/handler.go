package opendata

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/civicledger/civicledger/domain"
)

// Handler serves the open data under /opendata/: an index, every file of
// the export and the ZIP. Each answer carries the export's ETag (its log
// position and day) and an If-None-Match that names it gets 304 without
// anything being read; the export is built once per position and day,
// and kept.
type Handler struct {
	Exporter *Exporter
	Logger   *slog.Logger

	mu   sync.Mutex
	last *Export
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/opendata/")
	if name == r.URL.Path || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	now := time.Now
	if h.Exporter.Now != nil {
		now = h.Exporter.Now
	}
	pos, err := h.Exporter.Position(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	want := (&Export{Position: pos, Day: domain.DayOf(now())}).ETag()
	// Public data, the same for everyone: caches may keep it, but must
	// ask again each time, as a new event may change it.
	w.Header().Set("Cache-Control", "public, no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), want) {
		w.Header().Set("ETag", want)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	x, err := h.export(ctx, want)
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("ETag", x.ETag())
	w.Header().Set("Civic-Log-Position", fmt.Sprint(x.Position))
	if x.ETag() != want && etagMatches(r.Header.Get("If-None-Match"), x.ETag()) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var body []byte
	switch name {
	case "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		if err := indexPage.Execute(&b, x); err != nil {
			h.fail(w, err)
			return
		}
		body = []byte(b.String())
	case ZipName:
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="civic-ledger-opendata-%d.zip"`, x.Position))
		body = x.Zip
	default:
		b, ok := x.Files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType(name))
		body = b
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// export is the export of the ETag wanted, built if the kept one is of
// another; while the read models keep moving, the kept one is served
// (its own ETag says which it is).
func (h *Handler) export(ctx context.Context, want string) (*Export, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != nil && h.last.ETag() == want {
		return h.last, nil
	}
	x, err := h.Exporter.Build(ctx)
	if errors.Is(err, ErrMoving) && h.last != nil {
		return h.last, nil
	}
	if err != nil {
		return nil, err
	}
	h.last = x
	return x, nil
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if errors.Is(err, ErrMoving) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	log.Error("open data export failed", "err", err)
	http.Error(w, "the open data could not be exported; the server's log says why", http.StatusInternalServerError)
}

// etagMatches reports whether an If-None-Match header names etag (or is
// *), weak tags comparing as strong ones, as RFC 9110 says for GET.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// contentType is a file's media type.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json"
	case ".md":
		return "text/markdown; charset=utf-8"
	case ".xml":
		return "application/xml"
	}
	return "application/octet-stream"
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="ka"><head><meta charset="utf-8"><title>Civic Ledger: ღია მონაცემები / open data</title></head>
<body>
<h1>Civic Ledger: ღია მონაცემები / open data</h1>
<p>ჟურნალის პოზიცია / log position {{.Position}} · დღე / day {{.Day}} · ლიცენზია / licence <a href="LICENSE.md">CC BY 4.0</a></p>
<p><a href="civic-ledger-opendata.zip">civic-ledger-opendata.zip</a>: ყველა ფაილი / every file, <a href="datapackage.json">datapackage.json</a>, <a href="README.md">README.md</a> (ველების აღწერა / the fields described)</p>
<ul>{{range .Names}}
<li><a href="{{.}}">{{.}}</a></li>{{end}}
</ul>
</body></html>
`))
