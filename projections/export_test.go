package projections

// TrendSource names the table ParticipationTrend reads for a trend, so
// that the tests hold each cube to the shapes it is meant to serve: a
// trend quietly falling back to the records would still be right, only
// slow.
func TrendSource(groupBy []Dimension, f TrendFilter) (string, error) {
	_, _, source, err := trendSQL(groupBy, f)
	return source, err
}
