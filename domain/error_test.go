package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/civicledger/civicledger/domain"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		kind domain.Kind
		msg  string
	}{
		{domain.Errorf(domain.NotFound, "application %s not found", "a-1"), domain.NotFound, "application a-1 not found"},
		{fmt.Errorf("record score: %w", domain.Errorf(domain.Invalid, "score 7 is outside 0..5")), domain.Invalid, "score 7 is outside 0..5"},
		{domain.Wrap(errors.New("connection refused"), "load application"), domain.Internal, "internal error"},
		{errors.New("boom"), domain.Internal, "internal error"},
	}
	for _, tt := range tests {
		if got := domain.KindOf(tt.err); got != tt.kind {
			t.Errorf("KindOf(%q) = %s, want %s", tt.err, got, tt.kind)
		}
		if got := domain.MessageOf(tt.err); got != tt.msg {
			t.Errorf("MessageOf(%q) = %q, want %q", tt.err, got, tt.msg)
		}
	}
}

func TestIsMatchesKind(t *testing.T) {
	err := fmt.Errorf("decide: %w", domain.Errorf(domain.Conflict, "scores are missing"))
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("errors.Is(%q, ErrConflict) = false, want true", err)
	}
	if errors.Is(err, domain.ErrNotFound) {
		t.Errorf("errors.Is(%q, ErrNotFound) = true, want false", err)
	}
	if errors.Is(domain.Errorf(domain.Conflict, "a"), domain.Errorf(domain.Conflict, "b")) {
		t.Error("two different conflict errors match each other; only the sentinels should match by kind")
	}
	cause := errors.New("disk full")
	if w := domain.Wrap(cause, "append"); !errors.Is(w, cause) || w.Error() != "append: disk full" {
		t.Errorf("Wrap = %q, Is(cause) = %v; want the cause kept for the log", w, errors.Is(w, cause))
	}
}
