-- shopsync audit store, migration 5 (4 is reserved for another branch and may be applied
-- after this one; this one depends only on 1-3): the old and the new value of every field
-- a modify sent, so the run report shows old → new.
-- `actions.fields_json` keeps only what was sent. Written in the transaction that records
-- the write's intent. `old` NULL: the field had no value; `new` NULL: cleared (sent as
-- `#EMPTY#`). `merchant` is the merchant the write was for (as in
-- `actions.merchant`, migration 3; '' is the implicit merchant).
CREATE TABLE action_changes (
    merchant  TEXT    NOT NULL DEFAULT '',
    action_id INTEGER NOT NULL REFERENCES actions (id),
    field     TEXT    NOT NULL,
    old       TEXT,
    new       TEXT,
    PRIMARY KEY (action_id, field)
);
