package opendata

import (
	"slices"
	"testing"
)

func TestSuppress(t *testing.T) {
	for _, c := range []struct {
		counts []int
		want   []string
	}{
		// Nothing under 5: all shown, zeros too.
		{[]int{0, 10, 20}, []string{"0", "10", "20"}},
		// Two small cells holding 5 together: enough.
		{[]int{2, 3, 40, 50}, []string{"c", "c", "40", "50"}},
		// One small cell: the smallest other (a zero) joins it, but two
		// cells holding 2 pin each down within 0-2, so the next joins.
		{[]int{2, 10, 0}, []string{"c", "c", "c"}},
		// One small cell and large ones: the smallest large one joins.
		{[]int{1, 40, 50}, []string{"c", "c", "50"}},
		// A group under 5 in all: every cell hidden.
		{[]int{1, 2, 0}, []string{"c", "c", "c"}},
	} {
		if got := cells(c.counts); !slices.Equal(got, c.want) {
			t.Errorf("cells(%v) = %v, want %v", c.counts, got, c.want)
		}
	}
}
