-- The log as a transparency log (eventstore/tlog): a Merkle tree over its
-- entries, signed checkpoints of the tree's root in the C2SP
-- tlog-checkpoint note format, and witnesses' co-signatures of them.

-- The canonical encoding of an entry, as eventstore.LeafBytes writes it,
-- and its RFC 6962 leaf hash: SHA-256(0x00 || bytes). Written in SQL so the
-- entries sequenced before the tree existed get their leaves here, and so
-- an auditor can recompute any leaf with nothing but SQL.
CREATE FUNCTION eventstore.lp(s text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT int4send(octet_length(convert_to(s, 'UTF8'))) || convert_to(s, 'UTF8')
$$;

CREATE FUNCTION eventstore.micros(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

CREATE FUNCTION eventstore.leaf_hash(pos bigint, e eventstore.events) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256('\x00'::bytea || convert_to('civicledger/leaf/v1', 'UTF8')
        || int8send(pos) || uuid_send(e.event_id)
        || eventstore.lp(e.stream_id) || int8send(e.version) || eventstore.lp(e.type)
        || int4send(e.schema_version)
        || int8send(eventstore.micros(e.occurred_at)) || int8send(eventstore.micros(e.recorded_at))
        || eventstore.lp(e.data::text)
        || eventstore.lp(e.actor) || eventstore.lp(e.role) || eventstore.lp(e.correlation_id)
        || eventstore.lp(e.causation_id) || eventstore.lp(e.command_id))
$$;

-- Each entry's leaf hash, beside it. The entries already there get theirs
-- now, the one time the log's rows change: this migration runs as the
-- schema's owner, with the append-only trigger off for it alone.
ALTER TABLE eventstore.log ADD COLUMN leaf bytea;
ALTER TABLE eventstore.log DISABLE TRIGGER log_append_only;
UPDATE eventstore.log l SET leaf = eventstore.leaf_hash(l.position, e)
FROM eventstore.events e WHERE e.tx = l.tx AND e.seq = l.seq;
ALTER TABLE eventstore.log ENABLE TRIGGER log_append_only;
ALTER TABLE eventstore.log ALTER COLUMN leaf SET NOT NULL,
    ADD CONSTRAINT log_leaf_size CHECK (octet_length(leaf) = 32);
-- The chain's links are no longer stored: the leaf takes the place of
-- each (the chain is kept by the sequencer in memory and signed in each
-- checkpoint, where civic verify checks it). Storing both cost the
-- sequencer a fifth of its speed (docs/PERFORMANCE.md).
ALTER TABLE eventstore.log DROP COLUMN hash;

-- The tree's perfect subtrees of every fourth level (4, 8, ...), by level
-- and index; the leaves are in eventstore.log. The sequencer writes them
-- with the log entries that complete them.
CREATE TABLE eventstore.tree (
    level smallint NOT NULL CHECK (level > 0 AND level % 4 = 0),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints of the tree: size, root, and the signed note itself,
-- which is what readers get (GET /log/checkpoint).
CREATE TABLE eventstore.tree_checkpoints (
    size      bigint      PRIMARY KEY CHECK (size > 0),
    root      bytea       NOT NULL CHECK (octet_length(root) = 32),
    signed_at timestamptz NOT NULL,
    note      text        NOT NULL
);

-- Witnesses' co-signatures of checkpoints: a witness that has checked a
-- checkpoint is consistent with the ones it saw before signs it too.
CREATE TABLE eventstore.cosignatures (
    size      bigint      NOT NULL REFERENCES eventstore.tree_checkpoints (size),
    witness   text        NOT NULL,
    -- The note signature line, "— <name> <base64>".
    signature text        NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);

CREATE TRIGGER tree_append_only BEFORE UPDATE OR DELETE ON eventstore.tree
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER tree_checkpoints_append_only BEFORE UPDATE OR DELETE ON eventstore.tree_checkpoints
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON eventstore.cosignatures
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();

-- The chain's own signed checkpoints give way to the tree's, whose notes
-- sign the chain's link too (the "civicledger chain" line). Those signed
-- before stay, under a name that says what they are: civic verify checks
-- them, and a sequencer signing a log for the first time checks the chain
-- against them first, so that upgrading does not discard evidence.
ALTER TABLE eventstore.checkpoints RENAME TO chain_checkpoints;
