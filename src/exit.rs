//! Process exit codes (docs/design.md, "Exit codes").

/// What the process tells cron and systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `plan`: already in sync.
    Ok = 0,
    /// The run failed (nothing or only part applied; details in the audit store).
    Failed = 1,
    /// `plan` only: changes are pending.
    Changes = 2,
    /// `sync` finished but some stores failed (business errors, rejected rows, unknown
    /// outcomes still to confirm).
    Partial = 3,
    /// A safety guard stopped the run before any write.
    Guard = 4,
    /// Configuration or credentials invalid.
    Config = 78,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
