package main

import (
	"context"
	"fmt"
)

// migrate creates or updates the schema (openDatabase does the work).
func (m *Main) migrate(ctx context.Context, args []string) error {
	if err := m.flags("migrate").Parse(args); err != nil {
		return err
	}
	c, err := m.config()
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, c, c.logger(m.Stderr))
	if err != nil {
		return err
	}
	defer db.close()
	fmt.Fprintln(m.Stdout, "schema is current")
	return nil
}
