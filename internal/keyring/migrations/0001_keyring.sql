-- The keyring: the keys personal data is sealed with in the log (see
-- domain/personal.go). It lives outside the log on purpose: destroying a
-- key here erases what the log holds sealed under it, in every copy of
-- the log, while the log's bytes and hash chain stay as they were.
--
-- It is not a projection: nothing rebuilds it from the log, since the keys
-- are in no event.
CREATE SCHEMA privacy;

CREATE TABLE privacy.keys (
    -- The data subject: organisation:<id>:contact, project:<id>:lead,
    -- expert:<actor>.
    subject    text        NOT NULL CHECK (subject <> ''),
    -- A subject erased and then given new data gets a new generation.
    -- Generation 0 holds no key: it records that the log holds data of the
    -- subject in plain text, written before personal data was sealed, so
    -- that erasing the subject is known and withholds it.
    generation integer     NOT NULL CHECK (generation >= 0),
    -- AES-256 key; NULL once destroyed.
    key        bytea       CHECK (key IS NULL OR octet_length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    PRIMARY KEY (subject, generation),
    CHECK (generation > 0 OR key IS NULL),
    CHECK (key IS NULL OR erased_at IS NULL)
);

-- One live key per subject: two commands sealing a new subject's data at
-- once agree on one key.
CREATE UNIQUE INDEX keys_live ON privacy.keys (subject) WHERE key IS NOT NULL;

-- The erased subjects: whether there are any is asked for every run of
-- plain-text personal data the log hands out.
CREATE INDEX keys_erased ON privacy.keys (subject) WHERE erased_at IS NOT NULL;

-- How far the log has been scanned for personal data in plain text.
CREATE TABLE privacy.plain_scan (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    -- Events found holding personal data in plain text, in all.
    events     bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO privacy.plain_scan DEFAULT VALUES;
