//! Standard output and standard error that never panic and never interrupt work.
//!
//! `println!`/`eprintln!` panic when the stream is closed (`shopsync sync | head`), which
//! would stop a run between a write and its recorded outcome. Everything shopsync prints
//! goes through here instead: text is redacted ([`crate::secret::redact`]), a failed write
//! is remembered and otherwise ignored, and [`final_exit`] turns a failure into the exit
//! code (`74`, EX_IOERR) once the work is done and recorded.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::exit::Exit;
use crate::secret::redact;

const NONE: u8 = 0;
const BROKEN_PIPE: u8 = 1;
const OTHER: u8 = 2;

static FAILED: AtomicU8 = AtomicU8::new(NONE);

fn note(e: &io::Error) {
    let kind = if e.kind() == io::ErrorKind::BrokenPipe {
        BROKEN_PIPE
    } else {
        OTHER
    };
    FAILED.fetch_max(kind, Ordering::SeqCst);
}

fn write_to(mut w: impl Write, text: &str) {
    let text = redact(text);
    if let Err(e) = w.write_all(text.as_bytes()).and_then(|()| w.flush()) {
        note(&e);
    }
}

/// Print a line on standard output.
pub fn out_line(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    write_to(io::stdout().lock(), &line);
}

/// Print a line on standard error.
pub fn err_line(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    write_to(io::stderr().lock(), &line);
}

/// An operator-facing message on stderr: a plain line on a terminal, a log event when
/// the log is JSON (so the JSON stream stays JSON).
pub fn note_line(text: &str) {
    if crate::logging::is_json() {
        tracing::info!(message = %redact(text));
    } else {
        err_line(text);
    }
}

/// A warning: `warning: …`, or a WARN event in a JSON log.
pub fn warn_line(text: &str) {
    if crate::logging::is_json() {
        tracing::warn!(message = %redact(text));
    } else {
        err_line(&format!("warning: {text}"));
    }
}

/// The error that ends a command: `error: …`, or an ERROR event in a JSON log.
pub fn error_line(text: &str) {
    if crate::logging::is_json() {
        tracing::error!(message = %redact(text));
    } else {
        err_line(&format!("error: {text}"));
    }
}

/// `println!` that never panics (see the module docs).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::output::out_line(&format!($($arg)*)) };
}

/// `eprintln!` that never panics (see the module docs).
#[macro_export]
macro_rules! tell {
    ($($arg:tt)*) => { $crate::output::err_line(&format!($($arg)*)) };
}

/// Standard output as a writer for reports: a failed write is remembered and swallowed,
/// so a long report into a closed pipe costs nothing and stops nothing.
pub struct Stdout {
    gave_up: bool,
}

/// The report writer on standard output.
pub fn stdout() -> Stdout {
    Stdout { gave_up: false }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.gave_up {
            if let Err(e) = io::stdout().lock().write_all(buf) {
                note(&e);
                self.gave_up = true;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.gave_up {
            if let Err(e) = io::stdout().lock().flush() {
                note(&e);
                self.gave_up = true;
            }
        }
        Ok(())
    }
}

/// Standard error for the log: every event is redacted, and a failed write is remembered
/// and swallowed. One writer per event (tracing's `MakeWriter`).
pub struct LogWriter {
    buf: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            write_to(io::stderr().lock(), &String::from_utf8_lossy(&self.buf));
        }
    }
}

/// The `MakeWriter` of the log subscriber.
pub fn log_writer() -> LogWriter {
    LogWriter { buf: Vec::new() }
}

/// Whether a command only reads and prints (a closed pipe there is the reader's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `audit`, `--print-schedule`, `show-plan`: nothing is lost when the reader goes.
    Query,
    /// Commands that do work (`plan`, `sync`, `follow-up`, `daemon`, `validate`, ...).
    Work,
}

/// The exit code once the work is done: a command that succeeded but could not write
/// its output exits 74 (EX_IOERR), except a query whose reader closed the pipe.
pub fn final_exit(exit: Exit, kind: Kind) -> Exit {
    match FAILED.load(Ordering::SeqCst) {
        NONE => exit,
        BROKEN_PIPE if kind == Kind::Query => exit,
        _ if exit == Exit::Ok => Exit::Output,
        _ => exit,
    }
}

/// Install a panic hook that prints the (redacted) panic through [`err_line`], so neither
/// a secret nor a second panic ("failed printing to stderr") can come out of a panic.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        err_line(&format!("shopsync panicked{location}: {message}"));
    }));
}
