-- An append takes the newest epoch, without asking the cluster who it is.
--
-- eventstore.epoch() as 0003 wrote it compared the newest epoch with the
-- cluster's identity, pg_control_system(), which reads and checks the
-- control file on every call: as the default of every appended row it
-- halved the append rate (BenchmarkAppend, 1 writer: 0.71 of a plain
-- INSERT before, 0.36 after). The identity is checked where the database
-- can have moved: eventstore.take_up(), which every civic command runs
-- when it opens the database (Migrate), the sequencer when it takes the
-- lead, and the event store before a process's first append. Those take
-- up a new epoch before anything is appended on a new cluster.
-- PL/pgSQL rather than SQL: it keeps the query's plan for the session,
-- where an SQL function called from a column default is planned again
-- in every statement.
CREATE OR REPLACE FUNCTION eventstore.epoch() RETURNS integer
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT max(epoch) FROM eventstore.epochs);
END $$;

-- The newest epoch if it is this cluster's (0003's eventstore.epoch()).
CREATE FUNCTION eventstore.cluster_epoch() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT epoch FROM eventstore.epochs
    WHERE epoch = (SELECT max(epoch) FROM eventstore.epochs)
      AND system_id = (SELECT system_identifier FROM pg_control_system())
$$;

CREATE OR REPLACE FUNCTION eventstore.take_up() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    e integer;
BEGIN
    e := eventstore.cluster_epoch();
    IF eventstore.epoch_holds(e) THEN
        RETURN e;
    END IF;
    LOCK TABLE eventstore.events IN SHARE MODE;
    LOCK TABLE eventstore.epochs IN EXCLUSIVE MODE;
    e := eventstore.cluster_epoch();
    IF NOT eventstore.epoch_holds(e) THEN
        INSERT INTO eventstore.epochs (epoch, system_id)
        SELECT max(epoch) + 1, (SELECT system_identifier FROM pg_control_system()) FROM eventstore.epochs
        RETURNING epoch INTO e;
    END IF;
    RETURN e;
END $$;
