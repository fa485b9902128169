-- The dense log over a backend whose positions are not dense (KurrentDB):
-- for each event of the backend's global log, in its order, Civic Ledger's
-- dense position, the backend's own position, the event's identity and its
-- leaf hash; and the Merkle tree over the leaves with its signed
-- checkpoints. The events themselves stay in the backend: this is an
-- index and a tree, not a copy.
CREATE SCHEMA IF NOT EXISTS ledger;

CREATE TABLE ledger.entries (
    position  bigint PRIMARY KEY CHECK (position > 0),
    -- The backend's position ($all's offset in KurrentDB).
    source    bigint NOT NULL CONSTRAINT entries_source UNIQUE CHECK (source > 0),
    event_id  uuid   NOT NULL,
    stream_id text   COLLATE "C" NOT NULL,
    category  text   COLLATE "C" GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
    version   bigint NOT NULL CHECK (version > 0),
    -- tlog.LeafHash of the event as the backend returned it, at position.
    leaf      bytea  NOT NULL CHECK (octet_length(leaf) = 32),
    -- When the follower indexed it: the follower's lag, measured.
    indexed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entries_event_id ON ledger.entries (event_id);
CREATE INDEX entries_category ON ledger.entries (category, position);

-- Stored nodes of the tree over the leaves: every tlog.Stride-th level.
CREATE TABLE ledger.tree (
    level smallint NOT NULL CHECK (level > 0 AND level % 4 = 0),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints of the tree (C2SP tlog-checkpoint notes).
CREATE TABLE ledger.checkpoints (
    size      bigint      PRIMARY KEY CHECK (size > 0),
    root      bytea       NOT NULL CHECK (octet_length(root) = 32),
    signed_at timestamptz NOT NULL,
    note      text        NOT NULL
);

-- Append-only, as the PostgreSQL backend's log is: the trigger stops
-- accidents; whoever bypasses it (a superuser) is caught by VerifyRange,
-- which rehashes the backend's events against the leaves and the tree, and
-- the tree against the signed checkpoints.
CREATE FUNCTION ledger.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON ledger.entries
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER tree_append_only BEFORE UPDATE OR DELETE ON ledger.tree
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger.checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
