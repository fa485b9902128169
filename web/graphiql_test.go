package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGraphiQLBundleFresh: the embedded GraphiQL was built from the
// sources as they are (web/build.mjs records their digest in
// manifest.json), and is what the manifest lists. A change to the
// examples, the page's source or the lock file without a rebuild fails
// here, without node.
func TestGraphiQLBundleFresh(t *testing.T) {
	checkBundleFresh(t, graphiqlDist, "graphiql/dist", "node web/build.mjs graphiql",
		[]string{"package-lock.json", "build.mjs"}, "graphiql/src", "graphiql/examples")
}

// TestGraphiQLServes: the page at / under its content security policy,
// every file it names (and those they name: chunks, workers) from the
// server itself, cached by what their names say, gzipped on request.
func TestGraphiQLServes(t *testing.T) {
	srv := httptest.NewServer(GraphiQL())
	defer srv.Close()

	res, page := get(t, srv.URL+"/", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache: the page names this build's files", res.Header.Get("Cache-Control"))
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).Match(page) {
		t.Errorf("the page names another origin:\n%s", page)
	}

	// Every file the page names, and every file those name in turn, is
	// served; a file of the build nobody names is allowed (LICENSES.txt).
	refs := regexp.MustCompile(`(?:graphiql/|\./|")((?:graphiql|chunk|editor\.worker|json\.worker|graphql\.worker)-[A-Z0-9]{8}\.(?:js|css))`)
	seen := map[string]bool{}
	queue := []string{}
	for _, m := range refs.FindAllSubmatch(page, -1) {
		queue = append(queue, string(m[1]))
	}
	if len(queue) != 2 {
		t.Fatalf("the page names %v, want its script and its style sheet", queue)
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		res, body := get(t, srv.URL+GraphiQLPrefix+name, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s%s = %d", GraphiQLPrefix, name, res.StatusCode)
			continue
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable: its name changes with its content", name, cc)
		}
		wantType := map[string]string{".js": "text/javascript", ".css": "text/css"}[filepath.Ext(name)]
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("%s: Content-Type %q, want %s", name, ct, wantType)
		}
		for _, m := range refs.FindAllSubmatch(body, -1) {
			queue = append(queue, string(m[1]))
		}
	}
	workers := 0
	for name := range seen {
		if strings.Contains(name, ".worker-") {
			workers++
		}
	}
	if workers != 3 {
		t.Errorf("the scripts name %d of Monaco's workers (editor, json, graphql), want 3: %v", workers, seen)
	}

	// Gzip on request, the same bytes once inflated, with a validator of
	// its own; If-None-Match gets 304.
	name := ""
	for n := range seen {
		if strings.HasPrefix(n, "graphiql-") && strings.HasSuffix(n, ".js") {
			name = n
		}
	}
	_, plain := get(t, srv.URL+GraphiQLPrefix+name, nil)
	res, zipped := get(t, srv.URL+GraphiQLPrefix+name, map[string]string{"Accept-Encoding": "gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip asked for: Content-Encoding %q, Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	inflated, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(inflated, plain) {
		t.Fatalf("the gzipped %s does not inflate to the file (%v)", name, err)
	}
	if len(zipped) >= len(plain)/2 {
		t.Errorf("%s: %d bytes gzipped of %d: want at least halved", name, len(zipped), len(plain))
	}
	for _, enc := range []string{"", "gzip"} {
		res, _ := get(t, srv.URL+GraphiQLPrefix+name, map[string]string{"Accept-Encoding": enc})
		etag := res.Header.Get("ETag")
		res, _ = get(t, srv.URL+GraphiQLPrefix+name, map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
		if etag == "" || res.StatusCode != http.StatusNotModified {
			t.Errorf("Accept-Encoding %q: If-None-Match %s = %d, want 304", enc, etag, res.StatusCode)
		}
	}
	if res, _ := get(t, srv.URL+GraphiQLPrefix+name, map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 refuses gzip, got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}

	// Nothing else: the page under /graphiql/ (it is served at / only,
	// with its policy), unknown names, paths that climb.
	for _, p := range []string{GraphiQLPrefix, GraphiQLPrefix + "index.html", GraphiQLPrefix + "nope.js", GraphiQLPrefix + "../web.go", "/index.html", "/graphiqlx"} {
		if res, _ := get(t, srv.URL+p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func get(t *testing.T, url string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// The transport would ask for gzip itself, and hide it.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}
