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
    /// A safety guard stopped the run before any write (for `plan`: would stop a sync).
    Guard = 4,
    /// The command line is wrong (EX_USAGE).
    Usage = 64,
    /// The work was done and recorded, but its output could not be written (EX_IOERR).
    Output = 74,
    /// Configuration or credentials invalid.
    Config = 78,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The worse of two outcomes (for a run made of several parts): failures beat
    /// partial results, partial results beat success.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::Changes => 1,
                Exit::Output => 2,
                Exit::Partial => 3,
                Exit::Guard => 4,
                Exit::Failed => 5,
                Exit::Usage => 6,
                Exit::Config => 7,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}
