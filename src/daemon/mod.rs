//! Unattended operation: schedule, single-instance lock, shutdown, listeners.
pub mod health;
pub mod lock;
pub mod notify_listener;
pub mod notify_sink;
pub mod schedule;
pub mod service;
pub mod shutdown;
pub mod systemd;
pub mod ticker;
