-- The event store: events as appended, the global log the sequencer builds
-- over them, and signed checkpoints of the log's hash chain.
CREATE SCHEMA eventstore;

-- One row per event. tx is the appending transaction's ID: readers take only
-- rows whose transaction has settled (tx < the oldest running transaction),
-- in (tx, seq) order, so a slow transaction can never land behind a reader.
-- Stream IDs and types compare bytewise (COLLATE "C"): they are identifiers.
CREATE TABLE eventstore.events (
    tx             xid8        NOT NULL DEFAULT pg_current_xact_id(),
    seq            bigint      NOT NULL GENERATED ALWAYS AS IDENTITY,
    event_id       uuid        NOT NULL,
    stream_id      text        COLLATE "C" NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0),
    type           text        COLLATE "C" NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version > 0),
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    -- json, not jsonb: kept byte for byte as appended, which is what the
    -- hash chain covers.
    data           json        NOT NULL,
    -- Metadata: who caused the event, in which role, as part of what.
    -- Columns rather than a JSON object, so auditors can query them.
    actor          text        NOT NULL DEFAULT '',
    role           text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    causation_id   text        NOT NULL DEFAULT '',
    command_id     text        NOT NULL DEFAULT '',
    CONSTRAINT events_stream_version PRIMARY KEY (stream_id, version),
    CONSTRAINT events_event_id UNIQUE (event_id),
    CONSTRAINT events_tx_seq UNIQUE (tx, seq)
);

-- The global log: dense positions 1..N over the settled events, each with
-- its link in the SHA-256 chain. Only the sequencer writes it.
CREATE TABLE eventstore.log (
    position bigint PRIMARY KEY CHECK (position > 0),
    tx       xid8   NOT NULL,
    seq      bigint NOT NULL CONSTRAINT log_seq UNIQUE,
    hash     bytea  NOT NULL CHECK (octet_length(hash) = 32)
);

-- Ed25519 signatures over the chain hash at a position, every K events or T
-- seconds: a rewrite of history before a checkpoint cannot be hidden by
-- recomputing the chain, since the rewriter lacks the key.
CREATE TABLE eventstore.checkpoints (
    position  bigint      PRIMARY KEY,
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id    text        NOT NULL,
    signature bytea       NOT NULL CHECK (octet_length(signature) = 64)
);

-- History is append-only. The trigger stops accidents and careless scripts;
-- whoever can bypass it (a superuser) is caught by `civic verify`.
CREATE FUNCTION eventstore.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'eventstore.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON eventstore.events
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON eventstore.events
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER log_append_only BEFORE UPDATE OR DELETE ON eventstore.log
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON eventstore.log
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore.refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON eventstore.checkpoints
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();

-- Raised by the append statement when its transaction ID is not above its
-- stream's last one, aborting the statement (see append.go).
CREATE FUNCTION eventstore.refuse_out_of_order(last_tx xid8, tx xid8) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'append in transaction % would land behind transaction % of its stream; retry in a new transaction', tx, last_tx
        USING ERRCODE = 'CL001';
END $$;
