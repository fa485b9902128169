// Command civic is Civic Ledger's one binary: the server and the tools that
// run beside it.
//
//	civic serve                 run the server (embedded PostgreSQL unless DATABASE_URL is set)
//	civic migrate               create or update the database schema
//	civic verify [--from N] [--to M] [--against FILE|DIR]
//	                            check the log: leaves, Merkle tree, signed checkpoints
//	civic checkpoint            sign the log as it stands
//	civic witness init|run      a witness of a log, on an auditor's machine
//	civic import registry       register Georgia's regions and municipalities
//	civic import demo           the registry, then the demo 2019 certification cycle
//	civic replay application ID audit an application and replay its decision
//	civic replay cycle ID       recount a participatory budget from its ballots
//	civic replay score ROUND M  recompute a benchmark score from its events
//	civic export DIR            the open data (CSV, JSON, Data Package, IATI XML, ZIP)
//	civic export pabulib CYCLE DIR  a cycle's ballots and results as pabulib files
//	civic copy-events --from S --to S  move a ledger between PostgreSQL and KurrentDB
//	civic count pabulib FILE... count published instances, compare the winners
//	civic keys create|revoke    issue and withdraw API keys
//	civic erase subject ID      erase a data subject's personal data
//	civic rebuild NAME          rebuild a read model beside the live one, then switch
//	civic project               run the sequencer and the projections, no API
//
// Configuration comes from the environment; see config.go and the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Exit codes.
const (
	exitOK = 0
	// exitFailed: the command ran and found something wrong (verify found
	// the log broken).
	exitFailed = 1
	// exitError: the command could not do its work (bad usage, bad
	// configuration, database unreachable).
	exitError = 2
)

// Main is the program, separated from the process so tests can run commands
// with their own environment and output.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// errUsage marks an error whose message is the usage text to print.
var errUsage = errors.New("usage")

const usage = `civic: Civic Ledger, civic participation in Georgia as an event-sourced GraphQL service

Usage:
  civic serve                      run the server
  civic migrate                    create or update the database schema
  civic verify [--from N] [--to M] [--against FILE|DIR]... [--stale D]
                                   check the log: every entry's hashes, the Merkle tree, each
                                   signed checkpoint and its link to the one before, the
                                   checkpoints kept outside (a witness's directory); exit 1
                                   naming the first position that cannot be trusted
  civic checkpoint                 sign the log as it stands now and print the checkpoint
  civic witness init --dir DIR --name NAME (--log-key KEY | --log URL)
                                   set up a witness of a log (an auditor's own machine)
  civic witness run --dir DIR --log URL [--every D]
                                   check the log's checkpoint extends the last one seen,
                                   co-sign it and keep it (exit 1: history was rewritten)
  civic import registry            register Georgia's regions and municipalities
  civic import demo                the registry, then the demo: the 2019 certification cycle,
                                   civil-society activity, participatory budgets (serve loads
                                   it on first start)
  civic import pabulib FILE...     record published participatory budgets (pabulib files), each
                                   a cycle counted by this code, and compare the winners
  civic replay application ID      list an application's events with their hashes, verify the
                                   log over them, and replay its decision (exit 1: mismatch)
  civic replay cycle ID            count a participatory budget's ballots again from the log, as
                                   its declared results did (exit 1: mismatch)
  civic replay score ROUND MUNI    recompute a municipality's benchmark result in a round from its
                                   scorecard's events under the round's method (exit 1: mismatch)
  civic export DIR                 write the open data into DIR: every public table as CSV and JSON,
                                   datapackage.json, README.md, LICENSE.md, IATI XML and a ZIP
  civic export pabulib CYCLE DIR   write a cycle's declared results and anonymous ballots as
                                   pabulib files, one per pot, for counting with other tools
  civic copy-events --from postgres|kurrent --to kurrent|postgres
                                   copy the ledger's events to the other store (KURRENTDB_URL,
                                   DATABASE_URL) in log order, keeping IDs, streams, versions,
                                   data and metadata; resumable; then verify the destination
  civic count pabulib FILE...      count published pabulib instances with this code and compare
                                   the winners with the published ones (exit 1: one differs)
  civic keys create --role R --name N [--municipality M] [--region G] [--cycle C]
                                   issue an API key (printed once); R is analyst, applicant,
                                   hub, expert, consortium, auditor, admin, officer,
                                   ballot-box or assessor; applicant and officer keys need
                                   --municipality, hub keys --region, ballot-box keys --cycle
                                   (a budgeting cycle, e.g. keda-2023); the others none
  civic keys revoke ID [--reason TEXT]
                                   withdraw an API key
  civic erase subject ID --reason TEXT
                                   erase a data subject's personal data (a contact person,
                                   organisation:<id>:contact; a project lead, project:<id>:lead;
                                   an expert's name, expert:<actor>): its keys are destroyed,
                                   the log and its hashes stay intact
  civic backup FILE                write a backup of the ledger (its database, from one snapshot,
                                   with a manifest); the signing key is never in it
  civic restore [--check] FILE     restore a backup into an empty database, position what it held
                                   unpositioned, sign and verify the log (--check: check the
                                   file is whole and this ledger's, write nothing)
  civic rebuild NAME               rebuild a read model beside the live one, then switch
  civic project                    run the sequencer and the projections without the API

Configuration (environment):
  DATABASE_URL          PostgreSQL to use; unset: a private cluster in CIVIC_DATA_DIR
  CIVIC_EVENTSTORE      postgres (events beside the read models) or kurrent (events in
                        KurrentDB; their dense positions, hashes and tree in PostgreSQL)
  KURRENTDB_URL         KurrentDB's connection string with CIVIC_EVENTSTORE=kurrent:
                        kurrentdb:// or esdb:// (+discover), hosts, tls, credentials
  CIVIC_ADDR            listen address (127.0.0.1:8080)
  CIVIC_DATA_DIR        where the private cluster and the signing key live (.civic)
  CIVIC_SIGNING_KEY     Ed25519 private key (PEM) that signs log checkpoints
                        (default: CIVIC_DATA_DIR/signing-key.pem, created by serve)
  CIVIC_TRUSTED_KEYS    comma-separated PEM files of the log's earlier public keys, after
                        a key rotation (verify and the sequencer accept their checkpoints)
  CIVIC_LOG_ORIGIN      the log's name in its checkpoints (default: the name they carry,
                        or civic-ledger/<key ID> for a new log)
  CIVIC_CHECKPOINT_EVERY, CIVIC_CHECKPOINT_INTERVAL  sign the log every N entries or T (1000, 1s)
  CIVIC_WITNESSES       comma-separated verifier keys of the witnesses whose co-signatures
                        the server takes (civic witness init prints one)
  PG_BIN                directory of the PostgreSQL server binaries
  CIVIC_STATEMENT_TIMEOUT  longest a query may run (5s)
  CIVIC_WAIT_TIMEOUT    longest a read waits to see a write (5s)
  CIVIC_RATE_LIMIT      requests a second per API key or anonymous address (20; 0: none)
  CIVIC_MAX_DEPTH, CIVIC_MAX_COMPLEXITY, CIVIC_MAX_BODY_BYTES  query limits (12, 5000, 1 MiB)
  CIVIC_MAX_FIELDS, CIVIC_MAX_TOKENS  a query's fields, fragments expanded, and tokens (1000, 10000)
  CIVIC_REQUEST_TIMEOUT, CIVIC_MAX_RESPONSE_BYTES  a request's time and answer (15s, 8 MiB)
  CIVIC_MAX_SOCKETS_PER_KEY, CIVIC_MAX_SOCKETS_PER_ADDRESS      open WebSockets (16, 64)
  CIVIC_TRUSTED_PROXIES comma-separated addresses or CIDR prefixes of reverse proxies whose
                        X-Forwarded-For names the client anonymous limits apply to
  CIVIC_INTROSPECTION   public or signed-in (default: public on a loopback address)
  CIVIC_DEMO            on or off: serve loads the 2019 demo cycle (default: on for the
                        embedded database while its ledger holds nothing else, off with
                        DATABASE_URL)
  CIVIC_SMTP_ADDR       SMTP relay (host:port) for the certification notifications;
                        unset: serve writes them to the log
  CIVIC_SMTP_FROM       their sender, such as Civic Ledger <certification@example.org>
  CIVIC_NOTIFY_TO       their recipient, {municipality} standing for its code, such as
                        certification+{municipality}@example.org
  CIVIC_SMTP_USER, CIVIC_SMTP_PASSWORD  AUTH PLAIN, over TLS or to localhost only
  CIVIC_SMTP_TLS        starttls, tls (implicit, port 465) or off (starttls)
  CIVIC_NOTIFY_MAX_AGE  events that occurred longer ago are not announced (720h; 0: no limit)
  CIVIC_LOG_LEVEL       debug, info, warn or error (info)
  CIVIC_LOG_FORMAT      text or json (text)
`

// Run runs the command named by args[0] and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitError
	}
	var err error
	code := exitOK
	switch args[0] {
	case "serve":
		err = m.serve(ctx, args[1:])
	case "migrate":
		err = m.migrate(ctx, args[1:])
	case "verify":
		code, err = m.verify(ctx, args[1:])
	case "checkpoint":
		err = m.checkpoint(ctx, args[1:])
	case "witness":
		code, err = m.witnessCmd(ctx, args[1:])
	case "import":
		err = m.importCmd(ctx, args[1:])
	case "replay":
		code, err = m.replay(ctx, args[1:])
	case "export":
		err = m.export(ctx, args[1:])
	case "copy-events":
		err = m.copyEvents(ctx, args[1:])
	case "count":
		code, err = m.countPabulib(args[1:])
	case "keys":
		err = m.keys(ctx, args[1:])
	case "backup":
		err = m.backupCmd(ctx, args[1:])
	case "restore":
		code, err = m.restoreCmd(ctx, args[1:])
	case "rebuild":
		err = m.rebuild(ctx, args[1:])
	case "erase":
		err = m.erase(ctx, args[1:])
	case "project":
		err = m.project(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(m.Stderr, "civic: unknown command %q\n\n%s", args[0], usage)
		return exitError
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(m.Stderr, "civic %s: %v\n", args[0], err)
		return exitError
	}
	return code
}

// flags returns a flag set for a subcommand that reports to m.Stderr.
func (m *Main) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("civic "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}
