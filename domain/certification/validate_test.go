package certification

import "testing"

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from   string
		months int
		want   string
	}{
		{"2019-06-15", 12, "2020-06-14"},
		{"2019-06-01", 12, "2020-05-31"},
		{"2020-02-29", 12, "2021-02-28"},
		{"2019-01-31", 1, "2019-02-28"},
		{"2019-01-30", 1, "2019-02-28"},
		{"2019-01-29", 1, "2019-02-28"},
		{"2019-01-28", 1, "2019-02-27"},
		{"2019-12-31", 6, "2020-06-30"},
	}
	for _, tt := range tests {
		if got := addMonths(tt.from, tt.months); got != tt.want {
			t.Errorf("addMonths(%s, %d) = %s, want %s", tt.from, tt.months, got, tt.want)
		}
	}
}
