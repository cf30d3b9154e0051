//! Daemon building blocks: schedule, ticker, instance lock, systemd protocol, shutdown,
//! notification and health listeners.
mod health;
mod lock;
mod logging;
mod notify_listener;
mod schedule;
mod shutdown;
mod systemd_notify;
mod ticker;
