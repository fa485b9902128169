// Package benchmark is the area of the civic-engagement benchmark
// (ბენჩმარკინგი): a method of blocks and indicators, applied in rounds to
// municipalities, whose scores are ranked, compared across rounds and
// turned into action plans.
//
// Everything a score rests on is data in events: the method, with a
// version (a change is a new version; a round is scored under the version
// it opened with), each indicator's scale, weight and the body it applies
// to (City Hall, Sakrebulo or both, as Georgia's Local Self-Government
// Index scores them apart). Aggregate turns a municipality's indicator
// values into block and total scores by the method alone, so anyone can
// recompute them; Rank orders municipalities with the method's ties and
// bands.
package benchmark
