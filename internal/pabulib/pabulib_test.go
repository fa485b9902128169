package pabulib_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/civicledger/civicledger/internal/pabulib"
)

// TestRoundTrip: a published instance read and written again is the same
// file, byte for byte, and its values are where the format says.
func TestRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("../../domain/budgeting/testdata/pabulib/poland_warszawa_2017_wars.pb")
	if err != nil {
		t.Fatal(err)
	}
	in, err := pabulib.Read(bytes.NewReader(raw), pabulib.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.MetaValue("budget"); got != "1500000" {
		t.Errorf("budget %q", got)
	}
	if n := len(in.Projects.Rows); n != 27 {
		t.Errorf("%d projects, want 27 (num_projects)", n)
	}
	if n := len(in.Votes.Rows); n != 1751 {
		t.Errorf("%d votes, want 1751 (num_votes)", n)
	}
	if got := in.Projects.Get(0, "project_id"); got != "950" {
		t.Errorf("first project %q", got)
	}
	var out bytes.Buffer
	if err := in.Write(&out); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(raw), "\r\n", "\n")
	if out.String() != want {
		a, b := out.String(), want
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Errorf("written differs from read at byte %d: %q vs %q", i, a[max(0, i-40):min(len(a), i+40)], b[max(0, i-40):min(len(b), i+40)])
	}
}

// TestReadRefuses: files that are not instances say what is wrong, as
// ErrFormat, and a file over the size limit is not read to its end.
func TestReadRefuses(t *testing.T) {
	good := "META\nkey;value\nbudget;100\nPROJECTS\nproject_id;cost\n1;50\nVOTES\nvoter_id;vote\n1;1\n"
	for _, tc := range []struct {
		name, file, text string
		lim              pabulib.Limits
	}{
		{"not beginning with META", "PROJECTS\nproject_id;cost\n", "must begin with META", pabulib.Limits{}},
		{"a section missing", "META\nkey;value\nbudget;1\nPROJECTS\nproject_id;cost\n1;5\n", "META, PROJECTS and VOTES", pabulib.Limits{}},
		{"a short row", strings.Replace(good, "1;50", "1", 1), "PROJECTS row has 1 fields, its header 2", pabulib.Limits{}},
		{"no cost column", strings.Replace(strings.Replace(good, "project_id;cost", "project_id;price", 1), "", "", 0), "column cost is missing", pabulib.Limits{}},
		{"META not key;value", strings.Replace(good, "key;value", "key;value;extra", 1), "", pabulib.Limits{}},
		{"too large", good, "larger than 20 bytes", pabulib.Limits{Bytes: 20}},
		{"too many rows", good + "2;1\n3;1\n", "VOTES has more than 2 rows", pabulib.Limits{Rows: 2}},
		{"an empty column name", strings.Replace(good, "voter_id;vote", "voter_id;;vote", 1), "empty column name", pabulib.Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pabulib.Read(strings.NewReader(tc.file), tc.lim)
			if !errors.Is(err, pabulib.ErrFormat) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v; want ErrFormat with %q", err, tc.text)
			}
		})
	}
	if _, err := pabulib.Read(strings.NewReader("\ufeff"+good), pabulib.Limits{}); err != nil {
		t.Errorf("a file with a byte-order mark: %v", err)
	}
}

// TestAmount: amounts become minor units exactly, never rounded.
func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		s    string
		exp  int
		want int64
		ok   bool
	}{
		{"1500000", 2, 150000000, true},
		{"106165.64", 2, 10616564, true},
		{"106165.6", 2, 10616560, true},
		{"100.00", 0, 100, true},
		{" 7 ", 2, 700, true},
		{"1.005", 2, 0, false},
		{"-5", 2, 0, false},
		{"+5", 2, 0, false},
		{".5", 2, 0, false},
		{"5e3", 2, 0, false},
		{"99999999999999999999", 2, 0, false},
		{"", 2, 0, false},
	} {
		got, err := pabulib.Amount("cost", tc.s, tc.exp)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Amount(%q, %d) = %d, %v; want %d, ok %v", tc.s, tc.exp, got, err, tc.want, tc.ok)
		}
	}
}

// TestCheck: a published instance (with its language written the old
// way, as the library's early files do) passes but for that; each kind of
// break is named.
func TestCheck(t *testing.T) {
	raw, err := os.ReadFile("../../domain/budgeting/testdata/pabulib/poland_warszawa_2017_wars.pb")
	if err != nil {
		t.Fatal(err)
	}
	read := func(s string) *pabulib.Instance {
		t.Helper()
		in, err := pabulib.Read(strings.NewReader(s), pabulib.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	if got := pabulib.Check(read(string(raw))); len(got) != 1 || !strings.Contains(got[0], `language "polish" is not an ISO 639-1 code`) {
		t.Fatalf("Check(published) = %q; want only the old-style language", got)
	}
	fixed := strings.Replace(string(raw), "language;polish", "language;pl", 1)
	if got := pabulib.Check(read(fixed)); got != nil {
		t.Fatalf("Check(published, language fixed) = %q", got)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"num_votes", "num_votes;1751", "num_votes;1750", "META num_votes is 1750; VOTES has 1751 rows"},
		{"a vote count", "\n950;350000;public transit and roads,environmental protection,health;798;", "\n950;350000;public transit and roads,environmental protection,health;799;", "PROJECTS 950: votes \"799\"; the ballots give 798"},
		{"a fractional cost", "\n1868;8630;", "\n1868;8630.5;", `cost "8630.5" is not whole`},
		{"an unknown rule", "rule;greedy", "rule;lottery", `META rule "lottery"`},
		{"an unknown field", "edition;3", "editions;3", `META field "editions" is not one the format knows`},
		{"dates reversed", "date_end;24.06.2016", "date_end;24.06.2015", "date_end 24.06.2015 is before date_begin 14.06.2016"},
		{"a missing budget", "budget;1500000\n", "", `META field "budget" is required`},
		{"a ballot repeating a project", ";internet;2068\n", ";internet;2068,2068\n", "names project 2068 twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Replace(fixed, tc.from, tc.to, 1)
			if s == fixed {
				t.Fatal("the edit did not apply")
			}
			got := pabulib.Check(read(s))
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("Check = %q; want %q among them", got, tc.want)
			}
		})
	}
}
