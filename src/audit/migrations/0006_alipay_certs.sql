-- shopsync audit store, schema version 6 (3-5 are other features' migrations).
--
-- Certificate mode (docs/protocol.md §2.9): the Alipay certificates downloaded after a
-- rotation, kept so the next run trusts them without downloading them again (each is
-- checked again at load: dates, chain to the configured root bundle). Certificates are
-- public; nothing secret is kept. They belong to the app, not to a merchant.
CREATE TABLE alipay_certs (
    app_id     TEXT NOT NULL,
    sn         TEXT NOT NULL,
    -- The PEM chain as downloaded, leaf first.
    pem        TEXT NOT NULL,
    not_after  TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (app_id, sn)
) WITHOUT ROWID;

-- v3 answers carry alipay-trace-id: kept with each write, for Alipay's support.
ALTER TABLE actions ADD COLUMN trace_id TEXT;
