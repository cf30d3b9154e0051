-- shopsync audit store, schema version 1.
--
-- Deliberately absent: any column for a private key, a public key, a signature or an
-- app_auth_token. Secrets never enter this file (docs/design.md invariant 6).
-- Timestamps are RFC 3339 UTC text with millisecond precision ("2026-11-25T22:11:25.000Z").

-- One row per `plan` or `sync` run. status 'running' until finish_run (or until
-- mark_interrupted_runs finds it left behind by a killed process).
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('plan', 'sync')),
    source       TEXT    NOT NULL,
    store_count  INTEGER NOT NULL CHECK (store_count >= 0),
    status       TEXT    NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'ok', 'partial', 'failed', 'guarded', 'interrupted')),
    started_at   TEXT    NOT NULL,
    finished_at  TEXT,
    summary_json TEXT,
    error        TEXT
);
CREATE INDEX runs_kind_status ON runs (kind, status);

-- One row per write sent (or about to be sent) to Alipay. The intent is inserted before
-- the request; the outcome columns are filled after. An unknown or missing outcome is
-- resolved later: the original outcome moves to original_outcome_json and the final one
-- takes its place, with resolved_at and resolution_note.
CREATE TABLE actions (
    id                    INTEGER PRIMARY KEY,
    run_id                INTEGER NOT NULL REFERENCES runs (id),
    store_id              TEXT    NOT NULL,
    kind                  TEXT    NOT NULL CHECK (kind IN ('create', 'modify')),
    shop_id               TEXT,
    -- Unique per logical write; a create confirmed not applied is resent with the same
    -- request_id (docs/protocol.md §6.4), so a second row may share it (see record_intent).
    request_id            TEXT    NOT NULL,
    fields_json           TEXT    NOT NULL,
    intent_at             TEXT    NOT NULL,
    outcome               TEXT    CHECK (outcome IN ('accepted', 'business', 'unknown', 'not_applied')),
    outcome_at            TEXT,
    apply_id              TEXT,
    audit_status          TEXT,
    code                  TEXT,
    sub_code              TEXT,
    msg                   TEXT,
    reason                TEXT,
    original_outcome_json TEXT,
    resolved_at           TEXT,
    resolution_note       TEXT
);
CREATE INDEX actions_run ON actions (run_id);
CREATE INDEX actions_request ON actions (request_id);
CREATE INDEX actions_store ON actions (store_id);
CREATE INDEX actions_open ON actions (outcome, resolved_at);

-- store_id <-> shop_id: one shop per store and one store per shop.
CREATE TABLE shop_map (
    store_id  TEXT NOT NULL PRIMARY KEY,
    shop_id   TEXT NOT NULL UNIQUE,
    how       TEXT NOT NULL CHECK (how IN ('created', 'adopted', 'notified')),
    mapped_at TEXT NOT NULL
);

-- Mappings removed by replace_mapping, kept for `audit store`.
CREATE TABLE shop_map_history (
    id          INTEGER PRIMARY KEY,
    store_id    TEXT NOT NULL,
    shop_id     TEXT NOT NULL,
    how         TEXT NOT NULL,
    mapped_at   TEXT NOT NULL,
    replaced_at TEXT NOT NULL
);
CREATE INDEX shop_map_history_store ON shop_map_history (store_id);

-- querydetail results: which store_id a listed shop carries (NULL: none).
CREATE TABLE detail_cache (
    shop_id    TEXT NOT NULL PRIMARY KEY,
    store_id   TEXT,
    fetched_at TEXT NOT NULL
);

-- Applications Alipay accepted (create/modify), followed until the audit ends.
CREATE TABLE applications (
    apply_id     TEXT    NOT NULL PRIMARY KEY,
    store_id     TEXT    NOT NULL,
    shop_id      TEXT,
    kind         TEXT    NOT NULL CHECK (kind IN ('create', 'modify')),
    request_id   TEXT    NOT NULL,
    action_id    INTEGER REFERENCES actions (id),
    fields_json  TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'failed')),
    submitted_at TEXT    NOT NULL,
    finished_at  TEXT,
    result_code  TEXT,
    result_desc  TEXT
);
CREATE INDEX applications_status ON applications (status);
CREATE INDEX applications_store ON applications (store_id);
CREATE INDEX applications_request ON applications (request_id);

-- The values Alipay last accepted for a store, one row per field.
CREATE TABLE accepted_values (
    store_id   TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, field)
) WITHOUT ROWID;

-- Audit-result notifications received (already verified by the receiver), deduplicated
-- by notify_id. fields_json holds the form without sign/sign_type.
CREATE TABLE notifications (
    notify_id    TEXT NOT NULL PRIMARY KEY,
    notify_time  TEXT,
    notify_type  TEXT,
    biz_type     TEXT,
    apply_id     TEXT,
    request_id   TEXT,
    shop_id      TEXT,
    audit_status TEXT,
    result_code  TEXT,
    result_desc  TEXT,
    fields_json  TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX notifications_apply ON notifications (apply_id);
CREATE INDEX notifications_request ON notifications (request_id);
