package web

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

// dashboardDist is the dashboard as web/dashboard/build.mjs bundles it:
// index.html, its script and style sheet and the woff2 fonts under
// assets/ (content-hashed names), and LICENSES.txt.
//
//go:embed dashboard/dist
var dashboardDist embed.FS

// DashboardPrefix is the path the dashboard is served under. The page is
// DashboardPrefix itself and names its files and the API relative to it
// (assets/..., ../graphql), so it also works behind a proxy that mounts
// the server under a path of its own.
const DashboardPrefix = "/dashboard/"

// dashboardCSP confines the page to its own origin: a chart library or a
// font that reached for a CDN would fail in every browser, not only on a
// closed network, and the browser test would see it. ECharts sets inline
// styles on the elements it draws; CSV files are downloaded from blob:
// URLs the page makes; the API is /graphql.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"font-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

// dashboardTypes are the content types of the dashboard's files. Go's
// own table lacks woff2 (it would fall back to the system's mime.types,
// which a container may not have) and says nothing of a charset for text.
var dashboardTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

var dashboardFiles = func() *staticFiles {
	s, err := newStaticFiles(dashboardDist, "dashboard/dist")
	if err != nil {
		panic("web: the embedded dashboard cannot be read: " + err.Error())
	}
	if s.files["index.html"] == nil {
		panic("web: the embedded dashboard has no index.html: run node web/build.mjs dashboard")
	}
	return s
}()

// Dashboard serves the dashboard: its page at DashboardPrefix and its
// files below it, for GET and HEAD. Mount it on "GET /dashboard/"; the
// ServeMux then redirects /dashboard to the page. The page reads only the
// public GraphQL API, as an anonymous caller.
func Dashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, DashboardPrefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" || name == "index.html" {
			name = "index.html"
			w.Header().Set("Content-Security-Policy", dashboardCSP)
			w.Header().Set("Referrer-Policy", "no-referrer")
		}
		if ct, ok := dashboardTypes[path.Ext(name)]; ok {
			w.Header().Set("Content-Type", ct)
		}
		if !dashboardFiles.serve(w, r, name) {
			w.Header().Del("Content-Type")
			w.Header().Del("Content-Security-Policy")
			w.Header().Del("Referrer-Policy")
			http.NotFound(w, r)
		}
	})
}
