//! The audit store (SQLite): runs, actions, shop map, applications, accepted values.
