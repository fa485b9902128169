package postgres

// ChainOnly returns o with the tree left out of the sequencer: the
// baseline of BenchmarkSequencer. Its log entries have no leaf, so the
// database it runs on must allow that.
func ChainOnly(o Options) Options {
	o.chainOnly = true
	return o
}
