package graph

// WithoutPolicy is c with the visibility policy left out: for benchmarks
// that measure what the policy costs, never for a server.
func WithoutPolicy(c Config) Config {
	c.noPolicy = true
	return c
}
