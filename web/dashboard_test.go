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

// TestDashboardBundleFresh: the embedded dashboard was built from the
// sources as they are (web/dashboard/build.mjs records their digest in
// dist/manifest.json) and is exactly what the build wrote. Editing
// web/dashboard/src or the lock file without rebuilding fails here,
// without node.
func TestDashboardBundleFresh(t *testing.T) {
	checkBundleFresh(t, dashboardDist, "dashboard/dist", "node web/build.mjs dashboard",
		[]string{"package-lock.json", "dashboard/build.mjs"}, "dashboard/src")
}

// TestDashboardServes: the page under its content security policy,
// revalidated; every file it names (and the fonts its style sheet names)
// from the server itself, with its content type, cached for a year by its
// hashed name, gzipped on request; 304 on a matching ETag; 404 for what
// the build did not write; and /dashboard redirected to the page once
// mounted as cmd/civic mounts it.
func TestDashboardServes(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET "+DashboardPrefix, Dashboard())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(path string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		// Set, the transport no longer asks for gzip and decodes it itself.
		if req.Header.Get("Accept-Encoding") == "" {
			req.Header.Set("Accept-Encoding", "identity")
		}
		res, err := client.Do(req)
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

	res, _ := fetch("/dashboard", nil)
	if res.StatusCode/100 != 3 || res.Header.Get("Location") != DashboardPrefix {
		t.Errorf("GET /dashboard = %d Location %q, want a redirect to %s", res.StatusCode, res.Header.Get("Location"), DashboardPrefix)
	}

	res, page := fetch(DashboardPrefix, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s = %d %s", DashboardPrefix, res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "font-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("the page's Cache-Control = %q, want no-cache: it names this build's files", cc)
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).Match(page) {
		t.Errorf("the page names another origin:\n%s", page)
	}
	if res2, again := fetch(DashboardPrefix+"index.html", nil); res2.StatusCode != http.StatusOK || !bytes.Equal(again, page) {
		t.Errorf("GET %sindex.html = %d, not the page", DashboardPrefix, res2.StatusCode)
	}

	// The page names its script, its style sheet and the regular fonts
	// (preloaded); the style sheet names all four fonts.
	assets := regexp.MustCompile(`"(assets/[a-z0-9/-]+-[A-Z0-9]{8}\.(?:js|css|woff2))"`)
	names := map[string]bool{}
	for _, m := range assets.FindAllSubmatch(page, -1) {
		names[string(m[1])] = true
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".woff2": "font/woff2"}
	kinds := map[string]int{}
	checked := map[string]bool{}
	for len(names) > 0 {
		for name := range names {
			delete(names, name)
			if checked[name] {
				continue
			}
			checked[name] = true
			ext := filepath.Ext(name)
			kinds[ext]++
			res, body := fetch(DashboardPrefix+name, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET %s%s = %d", DashboardPrefix, name, res.StatusCode)
				continue
			}
			if ct := res.Header.Get("Content-Type"); ct != types[ext] {
				t.Errorf("%s: Content-Type %q, want %q", name, ct, types[ext])
			}
			if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q, want a year, immutable (its name is its content's)", name, cc)
			}
			if ext == ".css" {
				for _, m := range regexp.MustCompile(`url\("?\./(fonts/[^")]+)"?\)`).FindAllSubmatch(body, -1) {
					names["assets/"+string(m[1])] = true
				}
				if regexp.MustCompile(`url\("?(https?:)?//`).Match(body) {
					t.Errorf("%s names another origin", name)
				}
			}
			if ext == ".js" {
				// Asked for gzip, the script comes compressed, and whole.
				gres, gz := fetch(DashboardPrefix+name, http.Header{"Accept-Encoding": {"gzip"}})
				if gres.Header.Get("Content-Encoding") != "gzip" {
					t.Errorf("%s: not gzipped on request", name)
				} else if zr, err := gzip.NewReader(bytes.NewReader(gz)); err != nil {
					t.Errorf("%s: %v", name, err)
				} else if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, body) {
					t.Errorf("%s: the gzipped script is not the script (%v)", name, err)
				}
				// Revalidation by ETag answers 304 without the body.
				nres, nbody := fetch(DashboardPrefix+name, http.Header{"If-None-Match": {res.Header.Get("ETag")}})
				if nres.StatusCode != http.StatusNotModified || len(nbody) != 0 {
					t.Errorf("%s with If-None-Match = %d (%d bytes), want 304", name, nres.StatusCode, len(nbody))
				}
			}
		}
	}
	if kinds[".js"] != 1 || kinds[".css"] != 1 || kinds[".woff2"] != 4 {
		t.Errorf("the page and its style sheet name %v, want a script, a style sheet and four fonts", kinds)
	}

	if res, body := fetch(DashboardPrefix+"LICENSES.txt", nil); res.StatusCode != http.StatusOK ||
		res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !bytes.Contains(body, []byte("echarts")) {
		t.Errorf("GET LICENSES.txt = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, path := range []string{DashboardPrefix + "nope.js", DashboardPrefix + "assets/", DashboardPrefix + "assets/../index.html", DashboardPrefix + "../web.go"} {
		if res, _ := fetch(path, nil); res.StatusCode != http.StatusNotFound && res.StatusCode/100 != 3 {
			t.Errorf("GET %s = %d, want 404 (or the mux's redirect to a clean path)", path, res.StatusCode)
		} else if res.StatusCode == http.StatusNotFound && res.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("GET %s: a 404 under the page's policy", path)
		}
	}
}
