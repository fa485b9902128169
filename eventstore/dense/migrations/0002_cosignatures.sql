-- Witnesses' co-signatures of the dense log's checkpoints, as the
-- PostgreSQL log keeps them: a witness that has checked a checkpoint is
-- consistent with the ones it saw before signs it too.
CREATE TABLE ledger.cosignatures (
    size      bigint      NOT NULL REFERENCES ledger.checkpoints (size),
    witness   text        NOT NULL,
    -- The note signature line, "— <name> <base64>".
    signature text        NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);
CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE ON ledger.cosignatures
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change();
