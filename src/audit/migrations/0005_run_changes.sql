-- shopsync audit store, schema version 5 (3 and 4 are taken by work in progress): the old
-- and the new value of every field a modify sent, so the run report shows old → new.
-- `actions.fields_json` keeps only what was sent. Written in the transaction that records
-- the write's intent. `old` NULL: the field had no value; `new` NULL: cleared (sent as
-- `#EMPTY#`). `merchant` is the merchant the write was for ('' until multi-merchant).
CREATE TABLE action_changes (
    merchant  TEXT    NOT NULL DEFAULT '',
    action_id INTEGER NOT NULL REFERENCES actions (id),
    field     TEXT    NOT NULL,
    old       TEXT,
    new       TEXT,
    PRIMARY KEY (action_id, field)
);
