package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// checkBundleFresh checks an embedded build (dist, in fsys) against its
// sources: the digest its manifest.json records is the one of files and
// of every file under dirs now (so a source changed without a rebuild
// fails), and the files embedded are those the build wrote, at the sizes
// it wrote them. rebuild is the command that mends it.
func checkBundleFresh(t *testing.T, fsys embed.FS, dist, rebuild string, files []string, dirs ...string) {
	t.Helper()
	var manifest struct {
		Inputs string           `json:"inputs"`
		Files  map[string]int64 `json:"files"`
	}
	raw, err := fs.ReadFile(fsys, dist+"/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if got := inputDigest(t, files, dirs...); got != manifest.Inputs {
		t.Errorf("web/%s was built from other sources (digest %s, the sources' %s): run `%s` (after `npm ci` in web/)", dist, manifest.Inputs, got, rebuild)
	}
	embedded := map[string]int64{}
	err = fs.WalkDir(fsys, dist, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != dist+"/manifest.json" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			embedded[strings.TrimPrefix(p, dist+"/")] = info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(manifest.Files, "manifest.json")
	for name, size := range manifest.Files {
		if embedded[name] != size {
			t.Errorf("%s: %d bytes embedded, the build wrote %d", name, embedded[name], size)
		}
	}
	for name := range embedded {
		if _, ok := manifest.Files[name]; !ok {
			t.Errorf("%s is embedded but not of the build: remove it, or rebuild", name)
		}
	}
}

// inputDigest recomputes a build's digest of its inputs as the build
// scripts do: files and every file under dirs, in path order, each as
// "path\nlength\n" and its bytes.
func inputDigest(t *testing.T, files []string, dirs ...string) string {
	t.Helper()
	files = append([]string(nil), files...)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, filepath.ToSlash(p))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n%d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}
