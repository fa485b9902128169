package domain

import (
	"strings"
	"unicode/utf8"
)

// LocalizedText is a name or text in Georgian and English. Georgian comes
// first: it is the language of the programmes recorded here, and the one a
// name must have.
type LocalizedText struct {
	Ka string `json:"ka"`
	En string `json:"en,omitempty"`
}

// maxText bounds each language of a localized text, in characters.
const maxText = 500

// Normalize trims surrounding spaces of both languages.
func (t LocalizedText) Normalize() LocalizedText {
	return LocalizedText{Ka: strings.TrimSpace(t.Ka), En: strings.TrimSpace(t.En)}
}

// Validate checks that the Georgian text is there and neither is too long.
// field names the input in the error.
func (t LocalizedText) Validate(field string) error {
	switch {
	case t.Ka == "":
		return Errorf(Invalid, "%s: the Georgian text (ka) is required", field)
	case utf8.RuneCountInString(t.Ka) > maxText:
		return Errorf(Invalid, "%s: the Georgian text is over %d characters", field, maxText)
	case utf8.RuneCountInString(t.En) > maxText:
		return Errorf(Invalid, "%s: the English text is over %d characters", field, maxText)
	}
	return nil
}

// English returns the English text, or nil when there is none: the API
// shows a missing translation as null, not as an empty text.
func (t LocalizedText) English() *string {
	if t.En == "" {
		return nil
	}
	return &t.En
}
