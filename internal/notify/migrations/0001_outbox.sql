-- The notification outbox: what the certification workflow tells
-- municipalities, one row per event that calls for it, sent at least once.
--
-- It is not a projection. Projections are rebuilt from position 0 on a
-- rebuild or a version change, which here would send every notification
-- again; nothing rebuilds this schema, and its checkpoint is its own.
CREATE SCHEMA outbox;

-- How far the log has been turned into notifications: every event up to
-- position, none after. A notifier moves it with a compare-and-set in the
-- transaction that inserts the batch's notifications, so two notifiers
-- never both commit the same batch.
CREATE TABLE outbox.checkpoint (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    position   bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO outbox.checkpoint DEFAULT VALUES;

CREATE TABLE outbox.notifications (
    -- The log position of the event that caused the notification. An event
    -- causes at most one, so inserting a batch again inserts nothing.
    position        bigint      PRIMARY KEY CHECK (position > 0),
    event_id        uuid        NOT NULL,
    -- invitation, result or certificate.
    kind            text        NOT NULL,
    -- The code of the municipality told; a sender maps it to an address
    -- when it sends, so a changed address setting applies to what is still
    -- waiting.
    municipality    text        NOT NULL,
    year            integer     NOT NULL,
    -- Georgian first, then English.
    subject         text        NOT NULL,
    body            text        NOT NULL,
    -- When the causing event occurred (business time).
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Why the notification will not be sent (an event too old to be news
    -- when it was read, such as an import of a past cycle); NULL for one to
    -- send. An operator may clear it to send it after all.
    skipped         text,
    sent_at         timestamptz,
    -- Attempts so far, the one under way included; a claim increments it,
    -- and only the claim with the current count may record a failure.
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the notification is next due. A claim moves it a lease ahead,
    -- so a sender that dies mid-send leaves it due again afterwards.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_error      text
);

-- What the sending loop claims, and what the status counts.
CREATE INDEX notifications_due ON outbox.notifications (next_attempt_at, position)
    WHERE sent_at IS NULL AND skipped IS NULL;
