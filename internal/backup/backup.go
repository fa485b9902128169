// Package backup writes a ledger's backup file and restores it: a logical
// dump of the ledger's database (pg_dump's custom format) beside a
// manifest that says what the dump holds, so that a restore refuses a file
// that is not whole, not this ledger's, or not going into an empty
// database, before it writes anything.
//
// The file is a POSIX tar archive, so that an operator without civic can
// still read it (tar -xf, then pg_restore): manifest.json first, then
// ledger.dump. The manifest and the dump are taken from one snapshot of
// the database (pg_export_snapshot, pg_dump --snapshot), so the counts and
// the checkpoint it names are exactly what the dump holds, however busy the
// ledger was while it was taken: every event committed before the dump
// began is in it, positioned or not.
//
// The signing key that signs the log's checkpoints is never in the file: it
// lives outside the database (a file, CIVIC_SIGNING_KEY), and a backup
// that held it would let whoever holds the backup sign a rewritten log in
// the ledger's name. Keep it apart from the backups. A restore checks that
// the key it is given signed the backup's last checkpoint.
//
// Moving a ledger to another cluster this way is what epochs are for
// (eventstore/postgres/migrations/0003_epochs.sql): the restored log's
// transaction IDs come from the old cluster, and the first Migrate on the
// new one starts a new epoch, after which the sequencer positions what the
// dump held unpositioned, in its original order, and then new writes.
package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/civicledger/civicledger/eventstore/postgres"
	"github.com/civicledger/civicledger/eventstore/tlog"
	"github.com/civicledger/civicledger/internal/pgembed"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
)

// Format names the layout of the file; a restore refuses any other.
const Format = "civic-backup/1"

const (
	manifestName = "manifest.json"
	dumpName     = "ledger.dump"
	// maxManifest bounds what a restore reads as the manifest of a file
	// it cannot trust yet.
	maxManifest = 1 << 20
)

// Manifest is what a backup file says about its dump. Every figure was
// read in the snapshot the dump was taken from.
type Manifest struct {
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Database is the name of the database the dump was taken from, and
	// Server its PostgreSQL's version (pg_restore needs one at least as
	// new as the pg_dump that wrote it, and pg_dump one at least as new as
	// the server).
	Database string `json:"database"`
	Server   string `json:"server_version"`
	// SystemID is the source cluster's system identifier and Epoch the
	// log's epoch on it (see 0003_epochs.sql).
	SystemID string `json:"system_id"`
	Epoch    int32  `json:"epoch"`
	// Events is how many events the dump holds, Positioned how many of
	// them have a position in the log (the rest are positioned, in their
	// original order, by the first sequencer on the restored database).
	Events     int64 `json:"events"`
	Positioned int64 `json:"positioned"`
	// Checkpoint is the log's last signed checkpoint in the dump (a C2SP
	// signed note), its Origin the log's name; both empty for a log never
	// signed. KeyID is the ID of the key that signed it, when the backup
	// was given that key.
	Checkpoint string `json:"checkpoint,omitempty"`
	Origin     string `json:"origin,omitempty"`
	KeyID      string `json:"key_id,omitempty"`
	// Dump describes ledger.dump: its size and SHA-256, which a restore
	// checks before it writes anything.
	Dump struct {
		Name   string `json:"name"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"dump"`
}

// tool finds pg_dump or pg_restore: in binDir, else beside the server
// binaries pgembed finds, else on PATH.
func tool(binDir, name string) (string, error) {
	dirs := []string{binDir}
	if d, err := pgembed.FindBinaries(); err == nil {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside the PostgreSQL server binaries or on PATH: install the PostgreSQL client (Debian: apt-get install postgresql-client) or set PG_BIN", name)
	}
	return p, nil
}

// command is a PostgreSQL client program run against the database at
// dbURL. The password goes in PGPASSWORD, not the command line, where
// any local user could read it; a key=value connection string is passed
// as it is.
func command(ctx context.Context, path, dbURL string, args ...string) *exec.Cmd {
	env := os.Environ()
	if u, err := url.Parse(dbURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
			dbURL = u.String()
		}
	}
	cmd := exec.CommandContext(ctx, path, append(args, "--dbname="+dbURL)...)
	cmd.Env = env
	return cmd
}

// run runs cmd and returns an error with the end of its standard error.
func run(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		return fmt.Errorf("%s: %v: %s", filepath.Base(cmd.Path), err, msg)
	}
	return nil
}

// Options are Write's.
type Options struct {
	// URL is the ledger's database.
	URL string
	// BinDir holds pg_dump (and pg_restore); empty: found as tool says.
	BinDir string
	// Key is the log's public key, to name in the manifest the key that
	// signed its last checkpoint; nil: not named.
	Key ed25519.PublicKey
}

// Write writes a backup of the ledger at opts.URL to path, which must not
// exist: the file appears whole or not at all (it is written beside it and
// renamed).
func Write(ctx context.Context, path string, opts Options) (Manifest, error) {
	var m Manifest
	if _, err := os.Lstat(path); err == nil {
		return m, fmt.Errorf("%s exists: choose a new file (a backup never overwrites one)", path)
	}
	pgDump, err := tool(opts.BinDir, "pg_dump")
	if err != nil {
		return m, err
	}
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return m, fmt.Errorf("database URL: %w", err)
	}
	// This session holds the snapshot pg_dump takes: it stays idle in its
	// transaction while pg_dump runs, so no timeout may end it.
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "0"
	cfg.RuntimeParams["application_name"] = "civic backup"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return m, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return m, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return m, fmt.Errorf("export the snapshot: %w", err)
	}
	if err := describe(ctx, tx, &m); err != nil {
		return m, err
	}
	if m.Checkpoint != "" && opts.Key != nil {
		if _, err := openCheckpoint(m.Checkpoint, []ed25519.PublicKey{opts.Key}); err == nil {
			m.KeyID = postgres.KeyID(opts.Key)
		}
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".civic-backup-*.dump")
	if err != nil {
		return m, err
	}
	dumpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(dumpPath)
	// --snapshot: the dump sees what the manifest describes. No
	// --serializable-deferrable: the exported snapshot is already a
	// consistent one, and waiting for a safe snapshot could stall behind
	// the sequencer.
	if err := run(command(ctx, pgDump, opts.URL, "--format=custom", "--snapshot="+snapshot, "--file="+dumpPath)); err != nil {
		return m, fmt.Errorf("dump the database: %w", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		return m, fmt.Errorf("end the snapshot: %w", err)
	}
	sum, size, err := hashFile(dumpPath)
	if err != nil {
		return m, err
	}
	m.Dump.Name, m.Dump.Size, m.Dump.SHA256 = dumpName, size, sum
	if err := writeArchive(path, m, dumpPath); err != nil {
		return m, err
	}
	return m, nil
}

// describe fills the manifest from the snapshot tx is in.
func describe(ctx context.Context, tx pgx.Tx, m *Manifest) error {
	m.Format = Format
	var isLedger bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('eventstore.events') IS NOT NULL AND to_regclass('eventstore.epochs') IS NOT NULL`).Scan(&isLedger); err != nil {
		return fmt.Errorf("read the database: %w", err)
	}
	if !isLedger {
		return errors.New("the database holds no Civic Ledger of this version (no eventstore.events and eventstore.epochs): run civic migrate against it first, or check DATABASE_URL")
	}
	err := tx.QueryRow(ctx, `
		SELECT now(), current_database(), current_setting('server_version'),
		       (SELECT system_identifier FROM pg_control_system())::text,
		       coalesce(eventstore.epoch(), 0),
		       (SELECT count(*) FROM eventstore.events),
		       (SELECT coalesce(max(position), 0) FROM eventstore.log),
		       coalesce((SELECT note FROM eventstore.tree_checkpoints ORDER BY size DESC LIMIT 1), '')`).
		Scan(&m.CreatedAt, &m.Database, &m.Server, &m.SystemID, &m.Epoch, &m.Events, &m.Positioned, &m.Checkpoint)
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if m.Checkpoint != "" {
		m.Origin = tlog.Origin([]byte(m.Checkpoint))
	}
	return nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeArchive writes the manifest and the dump as a tar file at path,
// through a file beside it that is synced and renamed, so that a crash
// leaves no half-written backup under the name.
func writeArchive(path string, m Manifest, dumpPath string) (err error) {
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	f, err := os.CreateTemp(filepath.Dir(path), ".civic-backup-*.partial")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.CreatedAt.Truncate(time.Second), Typeflag: tar.TypeReg}
	}
	if err := tw.WriteHeader(hdr(manifestName, int64(len(manifest)))); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr(dumpName, m.Dump.Size)); err != nil {
		return err
	}
	d, err := os.Open(dumpPath)
	if err != nil {
		return err
	}
	_, err = io.Copy(tw, d)
	d.Close()
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Link, not rename: a file that appeared at path meanwhile is kept.
	if err := os.Link(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Remove(f.Name())
}

// ReadManifest reads the manifest of the backup file at path, without
// reading its dump: what the file says it holds, to decide what a restore
// needs before the restore checks the rest.
func ReadManifest(path string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	_, m, err := readManifest(f, path)
	return m, err
}

// readManifest reads the manifest at the start of the backup file f, and
// returns the tar reader standing at the dump's entry.
func readManifest(f *os.File, path string) (*tar.Reader, Manifest, error) {
	var m Manifest
	// A tar file says so at 257 ("ustar"): without it the file is not a
	// backup; with it, a file that ends early is a truncated one.
	var magic [5]byte
	if _, err := f.ReadAt(magic[:], 257); err != nil || string(magic[:]) != "ustar" {
		return nil, m, notBackup(path)
	}
	tr := tar.NewReader(f)
	h, err := tr.Next()
	if err != nil {
		return nil, m, truncated(path, err)
	}
	if h.Name != manifestName || h.Size > maxManifest {
		return nil, m, notBackup(path)
	}
	raw, err := io.ReadAll(tr)
	if err != nil {
		return nil, m, truncated(path, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, m, fmt.Errorf("%s: its manifest is not valid: %v", path, err)
	}
	if m.Format != Format {
		return nil, m, fmt.Errorf("%s: format %q, this civic reads %q", path, m.Format, Format)
	}
	if m.Dump.Name != dumpName || m.Dump.Size <= 0 || len(m.Dump.SHA256) != 64 {
		return nil, m, fmt.Errorf("%s: its manifest does not describe a dump", path)
	}
	return tr, m, nil
}

// Open reads the backup file at path: its manifest, and its dump, which it
// copies to a file in dir and checks against the manifest's size and
// SHA-256. It returns that file's path (the caller removes it). A file
// that is not a backup, is truncated or damaged is an error saying so.
func Open(path, dir string) (Manifest, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, "", err
	}
	defer f.Close()
	tr, m, err := readManifest(f, path)
	if err != nil {
		return m, "", err
	}
	h, err := tr.Next()
	if err != nil {
		return m, "", truncated(path, err)
	}
	if h.Name != dumpName {
		return m, "", fmt.Errorf("%s: holds %q where %s belongs", path, h.Name, dumpName)
	}
	out, err := os.CreateTemp(dir, ".civic-restore-*.dump")
	if err != nil {
		return m, "", err
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, hash), tr)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	fail := func(err error) (Manifest, string, error) {
		os.Remove(out.Name())
		return m, "", err
	}
	switch {
	case err != nil:
		return fail(truncated(path, err))
	case n != m.Dump.Size:
		return fail(fmt.Errorf("%s is truncated: its dump has %d bytes, the manifest says %d", path, n, m.Dump.Size))
	case hex.EncodeToString(hash.Sum(nil)) != m.Dump.SHA256:
		return fail(fmt.Errorf("%s is damaged: its dump's SHA-256 is %x, the manifest says %s", path, hash.Sum(nil), m.Dump.SHA256))
	}
	return m, out.Name(), nil
}

func notBackup(path string) error {
	return fmt.Errorf("%s is not a Civic Ledger backup (want a tar file starting with %s)", path, manifestName)
}

func truncated(path string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s is truncated: it ends before its dump does", path)
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// openCheckpoint checks that one of keys signed the checkpoint.
func openCheckpoint(signed string, keys []ed25519.PublicKey) (tlog.Checkpoint, error) {
	origin := tlog.Origin([]byte(signed))
	var vs []note.Verifier
	for _, k := range keys {
		v, err := tlog.NewVerifier(origin, k)
		if err != nil {
			return tlog.Checkpoint{}, err
		}
		vs = append(vs, v)
	}
	c, _, err := tlog.Open([]byte(signed), origin, vs)
	return c, err
}

// RestoreOptions are Restore's.
type RestoreOptions struct {
	// URL is the database to restore into: it must be empty.
	URL string
	// BinDir holds pg_restore; empty: found as tool says.
	BinDir string
	// Keys are the log's signing key's public key and the keys it trusts
	// (CIVIC_TRUSTED_KEYS): one of them must have signed the backup's
	// last checkpoint, or the backup is another ledger's.
	Keys []ed25519.PublicKey
	// Origin, when set (CIVIC_LOG_ORIGIN), must be the backup's.
	Origin string
	// TempDir is where the dump is unpacked; empty: the system's.
	TempDir string
}

// Restore restores the backup file at path into the empty database at
// opts.URL, after checking the file is whole, is this ledger's (signed by
// one of opts.Keys, under opts.Origin) and the database holds nothing.
// Any refusal, and any failure of the restore itself (one transaction),
// leaves the database as it was. The caller then runs the migrations
// (postgres.Migrate), which take the log up on this cluster, before
// anything appends to it.
func Restore(ctx context.Context, path string, opts RestoreOptions) (Manifest, error) {
	m, dump, err := Open(path, opts.TempDir)
	if err != nil {
		return m, err
	}
	defer os.Remove(dump)
	if err := Check(m, opts.Keys, opts.Origin); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	pgRestore, err := tool(opts.BinDir, "pg_restore")
	if err != nil {
		return m, err
	}
	// pg_restore --list reads the whole table of contents: a dump it
	// cannot read is refused before the database is touched.
	if err := run(exec.CommandContext(ctx, pgRestore, "--list", dump)); err != nil {
		return m, fmt.Errorf("%s: its dump is not readable: %w", path, err)
	}
	conn, err := pgx.Connect(ctx, opts.URL)
	if err != nil {
		return m, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if err := empty(ctx, conn); err != nil {
		return m, err
	}
	// One transaction: a restore that fails leaves nothing behind. No
	// owners or privileges: the objects belong to whoever restores them,
	// on a cluster that need not have the source's roles.
	if err := run(command(ctx, pgRestore, opts.URL, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", dump)); err != nil {
		return m, fmt.Errorf("restore: nothing was written: %w", err)
	}
	var events, positioned int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM eventstore.events), (SELECT coalesce(max(position), 0) FROM eventstore.log)`).Scan(&events, &positioned); err != nil {
		return m, fmt.Errorf("read the restored ledger: %w", err)
	}
	if events != m.Events || positioned != m.Positioned {
		return m, fmt.Errorf("the restored database holds %d events (%d positioned); the backup says %d (%d)", events, positioned, m.Events, m.Positioned)
	}
	return m, nil
}

// Check says whether a backup with manifest m belongs to the ledger whose
// keys and origin are given: its last checkpoint must be signed by one of
// keys, under origin when that is set. A backup of a log never signed
// belongs to any.
func Check(m Manifest, keys []ed25519.PublicKey, origin string) error {
	if m.Checkpoint == "" {
		return nil
	}
	if origin != "" && m.Origin != origin {
		return fmt.Errorf("it is the backup of log %q, and this ledger's is %q (CIVIC_LOG_ORIGIN): nothing was written", m.Origin, origin)
	}
	if len(keys) == 0 {
		return fmt.Errorf("its log %q is signed, and no signing key was given to check it against: nothing was written", m.Origin)
	}
	if _, err := openCheckpoint(m.Checkpoint, keys); err != nil {
		var ids []string
		for _, k := range keys {
			ids = append(ids, postgres.KeyID(k))
		}
		named := ""
		if m.KeyID != "" {
			named = " (key " + m.KeyID + ")"
		}
		return fmt.Errorf("it is another ledger's backup: log %q is signed by another key%s than this ledger's (%s): %v; nothing was written", m.Origin, named, strings.Join(ids, ", "), err)
	}
	return nil
}

// empty refuses a database that holds anything: a ledger above all, which
// a restore would merge with another's.
func empty(ctx context.Context, conn *pgx.Conn) error {
	var events int64 = -1
	var hasLog bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('eventstore.events') IS NOT NULL`).Scan(&hasLog); err != nil {
		return fmt.Errorf("read the database: %w", err)
	}
	if hasLog {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM eventstore.events`).Scan(&events); err != nil {
			return fmt.Errorf("read the database: %w", err)
		}
		if events > 0 {
			return fmt.Errorf("the database %s already holds a ledger (%d events): restore into an empty database; nothing was written", conn.Config().Database, events)
		}
	}
	var schemas []string
	err := conn.QueryRow(ctx, `
		SELECT coalesce(array_agg(DISTINCT n.nspname ORDER BY n.nspname), '{}')
		FROM pg_namespace n
		WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		   OR n.nspname = 'public' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid)`).Scan(&schemas)
	if err != nil {
		return fmt.Errorf("read the database: %w", err)
	}
	if len(schemas) > 0 {
		return fmt.Errorf("the database %s is not empty (schemas %s): restore into an empty database; nothing was written", conn.Config().Database, strings.Join(schemas, ", "))
	}
	return nil
}
