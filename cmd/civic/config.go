package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
)

// config is the process configuration, read from the environment once.
type config struct {
	databaseURL string
	addr        string
	dataDir     string
	signingKey  string // path; "" means dataDir/signing-key.pem
	trustedKeys []string
	logLevel    slog.Level
	logJSON     bool
}

func (m *Main) config() (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(m.Getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		databaseURL: get("DATABASE_URL", ""),
		addr:        get("CIVIC_ADDR", "127.0.0.1:8080"),
		dataDir:     get("CIVIC_DATA_DIR", ".civic"),
		signingKey:  get("CIVIC_SIGNING_KEY", ""),
	}
	for _, p := range strings.Split(get("CIVIC_TRUSTED_KEYS", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.trustedKeys = append(c.trustedKeys, p)
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(get("CIVIC_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("CIVIC_LOG_LEVEL: %w (want debug, info, warn or error)", err)
	}
	switch f := get("CIVIC_LOG_FORMAT", "text"); f {
	case "text":
	case "json":
		c.logJSON = true
	default:
		return c, fmt.Errorf("CIVIC_LOG_FORMAT %q: want text or json", f)
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return c, fmt.Errorf("CIVIC_DATA_DIR: %w", err)
	}
	c.dataDir = abs
	return c, nil
}

// signingKeyPath is where the checkpoint signing key is read from, and
// where serve creates one when it is the default path.
func (c config) signingKeyPath() string {
	if c.signingKey != "" {
		return c.signingKey
	}
	return filepath.Join(c.dataDir, "signing-key.pem")
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
