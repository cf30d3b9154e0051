//! Issue 4, process level: the real binary's daemon and sync under signals and a second
//! instance, notifications end to end, health and metrics after a scheduled run; and the
//! simulator's state snapshot.
mod daemon_proc;
mod notify;
pub(crate) mod proc;
mod sigterm_sync;
mod snapshot;
