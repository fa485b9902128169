-- The projections' control schema: one row per generation of each read
-- model, with its checkpoint. Readers never query it; they use schema rm.
CREATE SCHEMA projections;

-- Readers' views, one per projection table, each pointing at the active
-- generation's table of the same name.
CREATE SCHEMA rm;

-- A generation is one build of a projection, in schema proj_<name>_<n>.
-- position is its checkpoint: every event up to it is applied, none after.
-- Runners move it with a compare-and-set in the transaction that applies the
-- batch, so an event is never applied twice even when two processes believe
-- they lead.
CREATE TABLE projections.generations (
    name         text        NOT NULL,
    generation   integer     NOT NULL CHECK (generation > 0),
    version      integer     NOT NULL,
    schema       text        NOT NULL CONSTRAINT generations_schema UNIQUE,
    -- building: filling from position 0, not yet visible to readers.
    -- active: the generation the rm views show.
    -- retired: replaced (or abandoned before activation); its schema is
    -- dropped once no query reads it.
    state        text        NOT NULL CHECK (state IN ('building', 'active', 'retired')),
    position     bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- Set while the generation is stuck on a failing batch; cleared by the
    -- next batch that commits.
    last_error   text,
    error_since  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    PRIMARY KEY (name, generation),
    CHECK ((last_error IS NULL) = (error_since IS NULL))
);

-- Readers see one generation per projection.
CREATE UNIQUE INDEX generations_one_active ON projections.generations (name) WHERE state = 'active';
-- One build at a time per projection: a second would only race the first
-- to the switch.
CREATE UNIQUE INDEX generations_one_building ON projections.generations (name) WHERE state = 'building';
