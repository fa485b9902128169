package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/civicledger/civicledger/graph"
	"github.com/civicledger/civicledger/internal/opendata"
)

// openDataAPI is the GraphQL API the open data is read from: a server of
// its own over the same services and read models, with the same
// visibility policy (the export asks it without a key, as the public),
// but no rate limit: the export's own requests must not spend the
// allowance of the machine's anonymous callers, nor be refused by it.
func openDataAPI(a *app, log *slog.Logger) *graph.Server {
	cfg := a.cfg.graph(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	cfg.RatePerSecond = -1
	return graph.NewServer(graph.Deps{
		Store: a.store, Registry: a.registry, Certification: a.certification, Networks: a.networks, Projects: a.projects, Activities: a.activities,
		Reads: a.reads, Runner: a.runner, Keys: keyLookup{a.reads, a.access}, Logger: log,
		Privacy: a.privacy, Keyring: a.keys, Budgeting: a.budgeting, Benchmark: a.benchmark,
	}, cfg)
}

// openDataExporter reads the open data from the API, at the position the
// read models stand at.
func openDataExporter(a *app, log *slog.Logger) *opendata.Exporter {
	return &opendata.Exporter{API: openDataAPI(a, log).Handler(), Position: func(ctx context.Context) (int64, error) {
		return opendata.ReadModelsPosition(ctx, a.runner)
	}}
}

// openDataHandler serves /opendata/.
func openDataHandler(a *app, log *slog.Logger) http.Handler {
	return &opendata.Handler{Exporter: openDataExporter(a, log), Logger: log}
}

// exportOpenData writes the open data into dir: `civic export DIR` (or
// `civic export opendata DIR`), the same files /opendata/ serves and its
// ZIP holds, read from the read models as they stand (a server running
// beside it keeps them moving; one that is not leaves them where it
// stopped).
func (m *Main) exportOpenData(ctx context.Context, dir string) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a directory: usage: civic export DIR", dir)
	}
	a, err := m.openTool(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	x, err := openDataExporter(a, a.log).Build(ctx)
	if err != nil {
		return err
	}
	if err := x.WriteDir(dir); err != nil {
		return err
	}
	rows := 0
	for _, n := range x.Rows {
		rows += n
	}
	fmt.Fprintf(m.Stdout, "%s: %d tables (%d rows), datapackage.json, README.md, LICENSE.md, %s and %s, at log position %d on %s\n",
		dir, len(x.Rows), rows, opendata.IATIName, opendata.ZipName, x.Position, x.Day)
	return nil
}
