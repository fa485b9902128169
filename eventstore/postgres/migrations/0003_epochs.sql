-- Epochs: the log survives being moved to another PostgreSQL cluster.
--
-- The sequencer orders events by the transaction that appended them,
-- which is what lets it never miss a slow writer. But transaction IDs
-- belong to one cluster: a logical dump restored into another (pg_dump
-- and pg_restore, a copy into a managed service) carries the old IDs,
-- while the new cluster hands out IDs from its own counter, usually far
-- below them, so new events would sort before old ones. So every event
-- records the epoch it was appended in, an epoch being a run of the log
-- on one cluster, and the log is ordered by (epoch, transaction,
-- sequence): all of an older epoch before any of a newer one. An older
-- epoch's events are all settled (they came in a dump, or committed
-- before the log moved), so the sequencer positions them without asking
-- the new cluster about transactions it never ran. A physical copy
-- (pg_basebackup, a data directory copied, a snapshot) keeps its
-- cluster's identity and transaction counter, and stays in its epoch.
--
-- A cluster can come back: a log moved from A to B and restored into A
-- again. A's transaction IDs would then sort before B's epoch, so a
-- cluster's epoch is only ever the newest one: a cluster whose epoch is
-- not the newest takes up a new one (and appears in epochs twice).
CREATE TABLE eventstore.epochs (
    epoch      integer     PRIMARY KEY CHECK (epoch > 0),
    -- The cluster's pg_control_system().system_identifier; NULL for epoch
    -- 1 of a log older than epochs, whose cluster was not recorded.
    system_id  bigint,
    started_at timestamptz NOT NULL DEFAULT now(),
    -- The cluster's transaction counter when the epoch began.
    first_xid  xid8        NOT NULL DEFAULT pg_current_xact_id()
);
CREATE TRIGGER epochs_append_only BEFORE UPDATE OR DELETE ON eventstore.epochs
    FOR EACH ROW EXECUTE FUNCTION eventstore.refuse_change();

-- Everything logged so far is epoch 1.
INSERT INTO eventstore.epochs (epoch, system_id, first_xid) VALUES (1, NULL, '0');

-- The epoch of the cluster this runs on: the newest epoch, if it is this
-- cluster's; NULL until take_up() has recorded it, so an append on a
-- cluster not taken up fails rather than land out of order.
CREATE FUNCTION eventstore.epoch() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT epoch FROM eventstore.epochs
    WHERE epoch = (SELECT max(epoch) FROM eventstore.epochs)
      AND system_id = (SELECT system_identifier FROM pg_control_system())
$$;

ALTER TABLE eventstore.events ADD COLUMN epoch integer NOT NULL DEFAULT 1;
ALTER TABLE eventstore.events ALTER COLUMN epoch SET DEFAULT eventstore.epoch();
ALTER TABLE eventstore.log ADD COLUMN epoch integer NOT NULL DEFAULT 1;
ALTER TABLE eventstore.log ALTER COLUMN epoch DROP DEFAULT;
ALTER TABLE eventstore.events ADD CONSTRAINT events_epoch_tx_seq UNIQUE (epoch, tx, seq);
ALTER TABLE eventstore.events DROP CONSTRAINT events_tx_seq;

-- Whether this cluster can go on in epoch e: it is this cluster's, and
-- no event of it carries a transaction ID the cluster has not issued yet.
-- Such an event means the database was copied from a physical copy of
-- this cluster (same identity) that went on without it: the two counters
-- diverged, and this one's next IDs would sort before those events.
CREATE FUNCTION eventstore.epoch_holds(e integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT e IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM eventstore.events
        WHERE epoch = e AND tx >= pg_snapshot_xmax(pg_current_snapshot()))
$$;

-- Records this cluster as the log's next epoch, unless its epoch is the
-- newest and holds; returns the epoch. Every civic command calls it when
-- it opens the database (with the migrations), and the sequencer when it
-- takes the lead, so a restored log is taken up before anything is
-- appended to it. Taking up a new epoch first waits for every append in
-- flight and holds new ones back until it commits (SHARE on events
-- conflicts with their ROW EXCLUSIVE): an append still in flight in the
-- old epoch could otherwise commit after the sequencer took that epoch
-- for settled.
CREATE FUNCTION eventstore.take_up() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    e integer;
BEGIN
    e := eventstore.epoch();
    IF eventstore.epoch_holds(e) THEN
        RETURN e;
    END IF;
    LOCK TABLE eventstore.events IN SHARE MODE;
    LOCK TABLE eventstore.epochs IN EXCLUSIVE MODE;
    e := eventstore.epoch();
    IF NOT eventstore.epoch_holds(e) THEN
        INSERT INTO eventstore.epochs (epoch, system_id)
        SELECT max(epoch) + 1, (SELECT system_identifier FROM pg_control_system()) FROM eventstore.epochs
        RETURNING epoch INTO e;
    END IF;
    RETURN e;
END $$;

SELECT eventstore.take_up();
