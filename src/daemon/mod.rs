//! Unattended operation: schedule, single-instance lock, shutdown, listeners.
