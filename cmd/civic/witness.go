package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore"
	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog/witness"
)

// checkpoint asks for a signed checkpoint of the log as it stands and
// prints it: the leading sequencer signs it, in a running server or, when
// none runs, in this process (with the signing key).
func (m *Main) checkpoint(ctx context.Context, args []string) error {
	fs := m.flags("checkpoint")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the checkpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c, err := m.config()
	if err != nil {
		return err
	}
	if c.eventStore == "kurrent" {
		return errors.New("CIVIC_EVENTSTORE=kurrent: the server's follower signs the log within CIVIC_CHECKPOINT_INTERVAL of every event it indexes, and when it stops; " +
			"civic checkpoint asks the PostgreSQL log's sequencer only. GET /log/checkpoint gives the latest")
	}
	log := c.logger(m.Stderr)
	key, err := loadSigningKey(c.signingKeyPath(), false)
	if err != nil && c.signingKey != "" {
		return err
	}
	db, err := openDatabase(ctx, c, log)
	if err != nil {
		return err
	}
	defer db.close()
	opts, err := c.storeOptions(key, log)
	if err != nil {
		return err
	}
	store := postgres.New(db.pool, opts)
	defer store.Close()
	cp, err := signNow(ctx, store, key != nil, *wait)
	if err != nil {
		return err
	}
	fmt.Fprint(m.Stdout, cp.Note)
	return nil
}

// signNow has the log signed as it stands, events still waiting for a
// position included, and returns the checkpoint: by the sequencer leading
// in a server, or by one of this process's own (lead: the store has the
// signing key), which waits while a server leads and leads when none
// does. It gives up after wait, saying why the sequencer could not lead
// when it knows.
func signNow(ctx context.Context, store *postgres.Store, lead bool, wait time.Duration) (*eventstore.Checkpoint, error) {
	seqCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	if lead {
		go func() { defer close(done); store.RunSequencer(seqCtx) }()
	} else {
		close(done)
	}
	defer func() { stop(); <-done }()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	cp, err := store.RequestCheckpoint(wctx)
	if err != nil {
		if st, serr := store.Status(ctx); serr == nil && st.SequencerError != "" {
			return nil, fmt.Errorf("the sequencer cannot lead: %s", st.SequencerError)
		}
		return nil, err
	}
	return cp, nil
}

// witnessCmd runs a witness of a log (see eventstore/tlog/witness):
//
//	civic witness init --dir D --name NAME (--log-key KEY | --log URL)
//	civic witness run --dir D --log URL [--every 1m] [--submit=false]
//
// run exits 1 when the log's history is not what the witness saw before.
func (m *Main) witnessCmd(ctx context.Context, args []string) (int, error) {
	const usage = "usage: civic witness init --dir DIR --name NAME (--log-key KEY | --log URL) | civic witness run --dir DIR --log URL [--every DURATION] [--submit=false]"
	if len(args) == 0 {
		return exitError, errors.New(usage)
	}
	switch args[0] {
	case "init":
		if err := m.witnessInit(ctx, args[1:]); err != nil {
			return exitError, err
		}
		return exitOK, nil
	case "run":
		return m.witnessRun(ctx, args[1:])
	}
	return exitError, errors.New(usage)
}

// witnessInit creates a witness's directory and prints its key.
func (m *Main) witnessInit(ctx context.Context, args []string) error {
	fs := m.flags("witness init")
	dir := fs.String("dir", "", "the witness's directory (created)")
	name := fs.String("name", "", "the witness's name in its co-signatures, such as auditor.example.ge/witness")
	logKey := fs.String("log-key", "", "the log's verifier key (<origin>+<hash>+<key>), as its operator publishes it")
	logURL := fs.String("log", "", "the log's base URL, to take its key from GET /log/key when --log-key is not given (trust on first use)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *name == "" || fs.NArg() > 0 {
		return errors.New("usage: civic witness init --dir DIR --name NAME (--log-key KEY | --log URL)")
	}
	key := *logKey
	if key == "" {
		if *logURL == "" {
			return errors.New("--log-key or --log: the witness needs the log's key")
		}
		b, err := (&witness.Client{Base: *logURL, HTTP: &http.Client{Timeout: 30 * time.Second}}).Key(ctx)
		if err != nil {
			return err
		}
		key = b
	}
	vkey, err := witness.Init(*dir, *name, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "witness %s of log %s created in %s\n", *name, strings.SplitN(key, "+", 2)[0], *dir)
	fmt.Fprintf(m.Stdout, "its key, for the log's operator to add to CIVIC_WITNESSES:\n%s\n", vkey)
	return nil
}

// witnessRun checks and co-signs the log's latest checkpoint, once or
// every interval.
func (m *Main) witnessRun(ctx context.Context, args []string) (int, error) {
	fs := m.flags("witness run")
	dir := fs.String("dir", "", "the witness's directory (civic witness init)")
	logURL := fs.String("log", "", "the log's base URL, such as https://civic-ledger.example.ge")
	every := fs.Duration("every", 0, "check again at this interval until stopped (default: once)")
	submit := fs.Bool("submit", true, "give the log the co-signature (POST /log/cosignature)")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if *dir == "" || *logURL == "" || fs.NArg() > 0 {
		return exitError, errors.New("usage: civic witness run --dir DIR --log URL [--every DURATION] [--submit=false]")
	}
	w, err := witness.Open(*dir)
	if err != nil {
		return exitError, err
	}
	client := &witness.Client{Base: *logURL, HTTP: &http.Client{Timeout: 30 * time.Second}}
	for {
		res, err := w.Step(ctx, client)
		switch {
		case errors.Is(err, witness.ErrRolledBack) || errors.Is(err, witness.ErrForked) || errors.Is(err, witness.ErrInconsistent):
			fmt.Fprintf(m.Stdout, "ALERT: the log's history is not what this witness saw: %v\n", err)
			fmt.Fprintf(m.Stdout, "keep %s: its checkpoints prove what the log held (civic verify --against %[1]s)\n", filepath.Join(*dir, witness.SeenDir))
			return exitFailed, nil
		case err != nil && *every == 0:
			return exitError, err
		case err != nil:
			fmt.Fprintf(m.Stderr, "civic witness: %v (trying again in %s)\n", err, *every)
		case res.Cosigned == nil:
			fmt.Fprintf(m.Stdout, "the log is still at size %d: nothing new to co-sign\n", res.Size)
		default:
			what := "the first checkpoint seen, taken on trust"
			if res.Previous > 0 {
				what = fmt.Sprintf("consistent with size %d, seen before", res.Previous)
			}
			fmt.Fprintf(m.Stdout, "co-signed the checkpoint of size %d (%s)\n", res.Size, what)
			if *submit {
				if err := client.Submit(ctx, res.Cosigned); err != nil {
					fmt.Fprintf(m.Stderr, "civic witness: the log did not take the co-signature: %v\n", err)
				}
			}
		}
		if *every == 0 {
			return exitOK, nil
		}
		select {
		case <-time.After(*every):
		case <-ctx.Done():
			return exitOK, nil
		}
	}
}
