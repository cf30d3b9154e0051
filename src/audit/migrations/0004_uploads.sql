-- shopsync audit store, schema version 4: store
-- photos uploaded through alipay.offline.material.image.upload, and the category tree
-- answers of alipay.offline.market.shop.category.query.
--
-- `merchant` is the merchant's name as in migration 3 ('' for the implicit merchant): an
-- image id is issued for the merchant whose app_auth_token the upload carried, so
-- uploads are kept per (app, merchant). Categories are the platform's: cached per app.

-- One row per upload attempt that ended: 'uploaded' (Alipay issued image_id) or 'failed'
-- (Alipay's code/sub_code/msg, or the local reason in msg). The same content (sha256 of
-- the bytes) is uploaded once per (app_id, merchant): the partial unique index is the
-- dedupe key. `source` is the file path or URL the bytes were read from; `stores_json`
-- the stores whose writes waited on this upload in run_id.
CREATE TABLE uploads (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES runs (id),
    app_id      TEXT    NOT NULL,
    merchant    TEXT    NOT NULL DEFAULT '',
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    source      TEXT    NOT NULL,
    image_type  TEXT    NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes >= 0),
    outcome     TEXT    NOT NULL CHECK (outcome IN ('uploaded', 'failed')),
    image_id    TEXT,
    image_url   TEXT,
    code        TEXT,
    sub_code    TEXT,
    msg         TEXT,
    stores_json TEXT    NOT NULL DEFAULT '[]',
    at          TEXT    NOT NULL,
    CHECK ((outcome = 'uploaded') = (image_id IS NOT NULL))
);
CREATE UNIQUE INDEX uploads_content ON uploads (app_id, merchant, sha256)
    WHERE outcome = 'uploaded';
CREATE INDEX uploads_run ON uploads (run_id);
CREATE INDEX uploads_image ON uploads (image_id);

-- The categories category.query answered, kept for a day (sync::categories), keyed by
-- app.
CREATE TABLE category_cache (
    app_id      TEXT    NOT NULL,
    category_id TEXT    NOT NULL,
    name        TEXT,
    link        TEXT,
    level       TEXT,
    is_leaf     INTEGER NOT NULL CHECK (is_leaf IN (0, 1)),
    fetched_at  TEXT    NOT NULL,
    PRIMARY KEY (app_id, category_id)
) WITHOUT ROWID;
