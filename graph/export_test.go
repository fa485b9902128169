package graph

// WithoutPolicy is c with the visibility policy left out: for benchmarks
// that measure what the policy costs, never for a server.
func WithoutPolicy(c Config) Config {
	c.noPolicy = true
	return c
}

// WithoutAnswerCache is c with the anonymous answer cache left out: for
// benchmarks of the GraphQL layer itself, which would otherwise measure
// the cache after the first request.
func WithoutAnswerCache(c Config) Config {
	c.noAnswerCache = true
	return c
}
