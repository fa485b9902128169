package main

import (
	"strings"
	"testing"
)

// TestDemoSetting: serve loads the demo data on the embedded database
// unless told not to, and on a database of one's own only when told to.
func TestDemoSetting(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
		err  string
	}{
		{map[string]string{}, true, ""},
		{map[string]string{"CIVIC_DEMO": "off"}, false, ""},
		{map[string]string{"DATABASE_URL": "postgres://db/civic"}, false, ""},
		{map[string]string{"DATABASE_URL": "postgres://db/civic", "CIVIC_DEMO": "on"}, true, ""},
		{map[string]string{"CIVIC_DEMO": "yes"}, false, `CIVIC_DEMO "yes": want on or off`},
	}
	for _, tt := range tests {
		m := &Main{Getenv: func(k string) string { return tt.env[k] }}
		c, err := m.config()
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("config(%v) = %v; want an error containing %q", tt.env, err, tt.err)
			}
		case err != nil:
			t.Errorf("config(%v) = %v", tt.env, err)
		case c.loadDemo() != tt.want:
			t.Errorf("config(%v).loadDemo() = %v; want %v", tt.env, c.loadDemo(), tt.want)
		}
	}
}
