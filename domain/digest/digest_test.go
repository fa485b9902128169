package digest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/domain/digest"
)

// TestSum: the digest is SHA-256 of the RFC 8785 form, whatever the order
// or spelling of the document's keys and numbers, behind its version.
func TestSum(t *testing.T) {
	a, err := digest.Sum("v2", map[string]any{"b": 60.0, "a": []any{1, "ზ"}, "c": map[string]any{"y": 0.5, "x": true}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := digest.Sum("v2", struct {
		C struct {
			X bool    `json:"x"`
			Y float64 `json:"y"`
		} `json:"c"`
		A []any `json:"a"`
		B int   `json:"b"`
	}{C: struct {
		X bool    `json:"x"`
		Y float64 `json:"y"`
	}{true, 0.5}, A: []any{1, "ზ"}, B: 60})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(`{"a":[1,"ზ"],"b":60,"c":{"x":true,"y":0.5}}`))
	want := "v2:" + hex.EncodeToString(sum[:])
	if a != want || b != want {
		t.Fatalf("Sum = %s and %s; want %s for both", a, b, want)
	}
	for _, v := range []string{"", "v1", "2", "v0", "v2 "} {
		if _, err := digest.Sum(v, 1); err == nil {
			t.Errorf("Sum under version %q succeeded", v)
		}
	}
}

func TestVersion(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	for in, want := range map[string]string{hex64: "v1", "v2:" + hex64: "v2", "v13:" + hex64: "v13",
		"": "", "v2:" + hex64[:60]: "", strings.ToUpper(hex64): "", "v0:" + hex64: ""} {
		got, ok := digest.Version(in)
		if got != want || ok != (want != "") {
			t.Errorf("Version(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
