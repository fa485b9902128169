// Package digest is how the ledger fingerprints what a computed number
// rests on (a decision's inputs; vote counts and benchmark scores after
// it), so that an auditor who does not trust the ledger recomputes the
// fingerprint from the events and compares.
//
// A digest is "<version>:<hex SHA-256>" of a document canonicalised by
// RFC 8785 (JSON Canonicalization Scheme, github.com/gowebpki/jcs): keys
// sorted by UTF-16 code units, numbers as ECMAScript writes them, no
// white space. So what is hashed depends on the document's values alone,
// not on how a Go struct happens to marshal; and the version names the
// document's layout, which each area freezes: a later layout is a new
// version, and a digest already recorded is recomputed under the version
// it carries, forever.
//
// Digests recorded before this scheme are 64 bare hex digits (version
// "v1", SHA-256 of Go's encoding/json output): Version reports them so,
// and their area keeps the frozen v1 layout to recompute them.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/gowebpki/jcs"
)

// Canonical returns the RFC 8785 form of doc's JSON encoding.
func Canonical(doc any) ([]byte, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(b)
}

// Sum returns the digest of doc under version: "<version>:<hex>".
func Sum(version string, doc any) (string, error) {
	if !versionForm.MatchString(version) || version == Legacy {
		return "", fmt.Errorf("digest version %q: want v2, v3, ...", version)
	}
	c, err := Canonical(doc)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return version + ":" + hex.EncodeToString(sum[:]), nil
}

// Legacy is the version of a digest recorded as bare hex, before
// versions were written.
const Legacy = "v1"

var (
	versionForm = regexp.MustCompile(`^v[1-9][0-9]*$`)
	bareHex     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	versioned   = regexp.MustCompile(`^(v[1-9][0-9]*):[0-9a-f]{64}$`)
)

// Version returns the version a recorded digest was made under, and
// false when d is no digest.
func Version(d string) (string, bool) {
	if bareHex.MatchString(d) {
		return Legacy, true
	}
	if m := versioned.FindStringSubmatch(d); m != nil {
		return m[1], true
	}
	return "", false
}
