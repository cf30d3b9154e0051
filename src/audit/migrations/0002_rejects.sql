-- shopsync audit store, schema version 2: every rejected export row of every run, so
-- `audit show RUN`, `audit store ID` and `audit rejects` can say which rows and why.
-- `value` is the raw cell (or default) the reason is about, cut to 200 characters.
CREATE TABLE rejects (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs (id),
    file      TEXT    NOT NULL,
    line      INTEGER NOT NULL CHECK (line >= 0),
    store_id  TEXT,
    field     TEXT,
    reason    TEXT    NOT NULL,
    value     TEXT
);
CREATE INDEX rejects_run ON rejects (run_id, line);
CREATE INDEX rejects_store ON rejects (store_id);
