package web

import (
	"embed"
	"net/http"
	"strings"
)

// graphiqlDist is GraphiQL as web/build.mjs bundles it: index.html, its
// scripts (with Monaco's workers) and style sheet, LICENSES.txt, and
// manifest.json, which says what it was built from.
//
//go:embed graphiql/dist
var graphiqlDist embed.FS

// GraphiQLPrefix is the path GraphiQL's files are served under; the page
// itself is at / and names them relative to it (graphiql/...), so it also
// works behind a proxy that mounts the server under a path of its own.
const GraphiQLPrefix = "/graphiql/"

// graphiqlCSP confines the page to its own origin, so a bundle that
// tried to load anything from elsewhere (a CDN, a font service) would fail
// in every browser rather than work only when online. Monaco sets styles
// inline; the fonts are data: URLs in the style sheet; the API is at
// /graphql, by HTTP and WebSocket (CSP 3: 'self' covers ws: and wss: to the
// same host).
const graphiqlCSP = "default-src 'self'; script-src 'self'; worker-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

var graphiqlFiles = func() *staticFiles {
	s, err := newStaticFiles(graphiqlDist, "graphiql/dist")
	if err != nil {
		panic("web: the embedded GraphiQL cannot be read: " + err.Error())
	}
	if s.files["index.html"] == nil {
		panic("web: the embedded GraphiQL has no index.html: run node web/build.mjs")
	}
	return s
}()

// GraphiQL serves GraphiQL: its page at / (the API's explorer, opening on
// an example query and with a menu of examples per role) and its files
// under GraphiQLPrefix. Mount it for GET on both; other paths are 404.
func GraphiQL() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := ""
		switch {
		case r.URL.Path == "/":
			name = "index.html"
			w.Header().Set("Content-Security-Policy", graphiqlCSP)
			w.Header().Set("Referrer-Policy", "no-referrer")
		case strings.HasPrefix(r.URL.Path, GraphiQLPrefix):
			name = strings.TrimPrefix(r.URL.Path, GraphiQLPrefix)
			if name == "index.html" {
				name = "" // the page is served at / only, under its policy
			}
		}
		if name == "" || !graphiqlFiles.serve(w, r, name) {
			http.NotFound(w, r)
		}
	})
}
