package eventstore

// StoredRef locates a stored event, for deciding whether an append is a retry.
type StoredRef struct {
	ID       ID
	Stream   string
	Version  int64
	Position int64 // 0 when not yet known
}

// RetryOf decides whether p is a retry of an append that is stored already:
// all of p's IDs stored as versions v+1..v+n of p's stream, in p's order.
// stored holds what the backend found for p's IDs (IDs not stored are
// absent). It returns the stored append's result and true for a retry, an
// *DuplicateIDError when some ID is stored any other way, and false with no
// error when none of p's IDs is stored. Backends share it so that they draw
// the line between retry and conflict in the same place.
func RetryOf(p *Prepared, stored map[ID]StoredRef) (AppendResult, bool, error) {
	if len(stored) == 0 {
		return AppendResult{}, false, nil
	}
	first, ok := stored[p.Events[0].ID]
	if !ok {
		for _, e := range p.Events[1:] {
			if ref, found := stored[e.ID]; found {
				return AppendResult{}, false, &DuplicateIDError{ID: ref.ID, Stream: ref.Stream, Version: ref.Version}
			}
		}
		return AppendResult{}, false, nil
	}
	conflict := &DuplicateIDError{ID: first.ID, Stream: first.Stream, Version: first.Version}
	if first.Stream != p.Stream {
		return AppendResult{}, false, conflict
	}
	for i, e := range p.Events[1:] {
		ref, found := stored[e.ID]
		if !found || ref.Stream != p.Stream || ref.Version != first.Version+int64(i)+1 {
			return AppendResult{}, false, conflict
		}
	}
	last := stored[p.Events[len(p.Events)-1].ID]
	return AppendResult{Version: last.Version, Position: last.Position, LastID: last.ID}, true, nil
}
