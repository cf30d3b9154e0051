-- shopsync audit store, schema version 3: one database for every merchant of an app
-- (ISV mode, `[[merchant]]`). Every row belongs to one merchant, by name; '' is the
-- implicit merchant of a config without `[[merchant]]` tables, so a database made by an
-- earlier version keeps working unchanged. A store id only has to be unique within its
-- merchant; shop ids and apply ids are Alipay's and unique across the app.
ALTER TABLE runs ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE rejects ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE shop_map_history ADD COLUMN merchant TEXT NOT NULL DEFAULT '';
ALTER TABLE detail_cache ADD COLUMN merchant TEXT NOT NULL DEFAULT '';

-- store_id <-> shop_id, one shop per (merchant, store) and one store per shop.
CREATE TABLE shop_map_v3 (
    merchant  TEXT NOT NULL DEFAULT '',
    store_id  TEXT NOT NULL,
    shop_id   TEXT NOT NULL UNIQUE,
    how       TEXT NOT NULL CHECK (how IN ('created', 'adopted', 'notified')),
    mapped_at TEXT NOT NULL,
    PRIMARY KEY (merchant, store_id)
);
INSERT INTO shop_map_v3 (merchant, store_id, shop_id, how, mapped_at)
    SELECT '', store_id, shop_id, how, mapped_at FROM shop_map;
DROP TABLE shop_map;
ALTER TABLE shop_map_v3 RENAME TO shop_map;

-- The values Alipay last accepted, per (merchant, store, field).
CREATE TABLE accepted_values_v3 (
    merchant   TEXT NOT NULL DEFAULT '',
    store_id   TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant, store_id, field)
) WITHOUT ROWID;
INSERT INTO accepted_values_v3 (merchant, store_id, field, value, updated_at)
    SELECT '', store_id, field, value, updated_at FROM accepted_values;
DROP TABLE accepted_values;
ALTER TABLE accepted_values_v3 RENAME TO accepted_values;

CREATE INDEX runs_merchant ON runs (merchant, kind, status);
CREATE INDEX actions_merchant_store ON actions (merchant, store_id);
CREATE INDEX applications_merchant_store ON applications (merchant, store_id);
CREATE INDEX rejects_merchant_store ON rejects (merchant, store_id);
