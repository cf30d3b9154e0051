//! Unattended operation: schedule, single-instance lock, shutdown, listeners.
pub mod health;
pub mod lock;
pub mod notify_listener;
pub mod run;
pub mod schedule;
pub mod shutdown;
pub mod systemd;
pub mod ticker;
