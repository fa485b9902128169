package opendata

import (
	"sort"
	"strconv"
)

// suppress decides which cells of one group to suppress: counts of people
// by the categories of one dimension (every category, zeros included)
// that add up to the group's total, which another table publishes.
//
// Primary suppression hides every count from 1 to Threshold-1, as
// statistical offices do. A single hidden cell could then be worked out
// as the total less the cells shown, so complementary suppression hides
// the smallest cells shown (zeros first, as a zero tells as much as any
// count) until at least two cells are hidden and together hold at least
// Threshold people, or every cell is hidden: then each hidden cell could
// be anything from 0 to their sum, never pinned to a count under
// Threshold. A group with nothing under Threshold is shown whole.
func suppress(counts []int) []bool {
	hidden := make([]bool, len(counts))
	n, sum := 0, 0
	for i, c := range counts {
		if c > 0 && c < Threshold {
			hidden[i] = true
			n++
			sum += c
		}
	}
	if n == 0 {
		return hidden
	}
	// The cells shown, smallest first (ties in category order, so the
	// same data always suppress the same cells).
	var shown []int
	for i := range counts {
		if !hidden[i] {
			shown = append(shown, i)
		}
	}
	sort.SliceStable(shown, func(a, b int) bool { return counts[shown[a]] < counts[shown[b]] })
	for _, i := range shown {
		if n >= 2 && sum >= Threshold {
			break
		}
		hidden[i] = true
		n++
		sum += counts[i]
	}
	return hidden
}

// cells formats a group's counts, with the suppressed ones as the
// Suppressed symbol.
func cells(counts []int) []string {
	hidden := suppress(counts)
	out := make([]string, len(counts))
	for i, c := range counts {
		if hidden[i] {
			out[i] = Suppressed
		} else {
			out[i] = strconv.Itoa(c)
		}
	}
	return out
}
