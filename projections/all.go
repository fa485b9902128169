package projections

// All returns every read model of the server, in the order a fresh
// database builds them (places first: the others show their names).
func All() []Projection {
	return []Projection{Places{}, Organisations{}, Keys{}, Certification{}, Networks{}, Projects{}, Activities{}, Budgeting{}, Benchmark{}}
}
