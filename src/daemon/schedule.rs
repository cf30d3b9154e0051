//! When the daemon syncs: a crontab line evaluated in a configured IANA time zone.
//!
//! Parsing is done by `croner`, which follows Vixie cron: five fields (minute, hour,
//! day-of-month, month, day-of-week) or six with a leading seconds field, `JAN`..`DEC` and
//! `SUN`..`SAT` names, day-of-week `0` and `7` both Sunday, and the day-of-month /
//! day-of-week OR rule when both are restricted. A year field is not accepted.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// The time zone a schedule is read in unless the configuration names another.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// Why a schedule line or its time zone was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "Schedule {expr:?} has {found} fields; expected 5 (minute hour day-of-month month \
         day-of-week) or 6 (a leading seconds field, then those 5)."
    )]
    FieldCount { expr: String, found: usize },
    #[error("Schedule {expr:?} is invalid: {reason}")]
    Invalid { expr: String, reason: String },
    #[error("Schedule {expr:?} never fires (no date matches it).")]
    NeverFires { expr: String },
    #[error(
        "Time zone {tz:?} of schedule {expr:?} is not a known IANA zone name \
         (for example \"Asia/Shanghai\")."
    )]
    UnknownTimeZone { expr: String, tz: String },
}

/// A parsed crontab line and the zone its fields are read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    tz: Tz,
    cron: Cron,
}

impl Schedule {
    /// Parse a crontab line (`expr`) read in IANA time zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let trimmed = expr.trim();
        let zone: Tz = tz
            .trim()
            .parse()
            .map_err(|_| ScheduleError::UnknownTimeZone {
                expr: expr.to_string(),
                tz: tz.to_string(),
            })?;
        // `@daily` and friends are croner's business; everything else must be 5 or 6 fields
        // (croner itself would also take a 7th, year, field, which crontab does not have).
        if !trimmed.starts_with('@') {
            let found = trimmed.split_whitespace().count();
            if !(5..=6).contains(&found) {
                return Err(ScheduleError::FieldCount {
                    expr: expr.to_string(),
                    found,
                });
            }
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(trimmed).map_err(|e| ScheduleError::Invalid {
            expr: expr.to_string(),
            reason: explain(&parser, trimmed, &e.to_string()),
        })?;
        let schedule = Schedule {
            expr: trimmed.to_string(),
            tz: zone,
            cron,
        };
        // A line such as `0 0 30 2 *` parses but never matches: refuse it now rather than
        // let the daemon idle forever. Every real line matches within 4 years (29 Feb).
        let probe = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(); // 2026-01-01
        if schedule.next_after(probe).is_none() {
            return Err(ScheduleError::NeverFires {
                expr: expr.to_string(),
            });
        }
        Ok(schedule)
    }

    /// The line as given (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The zone the fields are read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first firing time strictly after `t`; `None` if there is none within the search
    /// horizon (only for lines that never match, which `parse` refuses).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The next `n` firing times strictly after `from`, in the schedule's zone.
    pub fn upcoming(&self, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = from;
        while out.len() < n {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            out.push(next.with_timezone(&self.tz));
            cursor = next;
        }
        out
    }

    /// A few lines for `shopsync daemon --print-schedule`: the line, its zone, and the next
    /// `n` firing times shown in that zone with their UTC offset.
    pub fn describe_upcoming(&self, from: DateTime<Utc>, n: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Schedule: {} ({})", self.expr, self.tz.name());
        let times = self.upcoming(from, n);
        if times.is_empty() {
            out.push_str("No upcoming runs.\n");
        }
        for t in times {
            let _ = writeln!(out, "  {}", t.format("%Y-%m-%d %H:%M:%S %:z (%a)"));
        }
        out
    }
}

/// Name the field at fault: parse each field alone (the others `*`) and report the first
/// one croner refuses, with its allowed range.
fn explain(parser: &CronParser, expr: &str, croner_msg: &str) -> String {
    const FIVE: [(&str, &str); 5] = [
        ("minute", "0-59"),
        ("hour", "0-23"),
        ("day-of-month", "1-31"),
        ("month", "1-12 or JAN-DEC"),
        ("day-of-week", "0-7 or SUN-SAT"),
    ];
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let names: Vec<(&str, &str)> = if fields.len() == 6 {
        std::iter::once(("second", "0-59")).chain(FIVE).collect()
    } else {
        FIVE.to_vec()
    };
    if fields.len() == names.len() {
        for (i, field) in fields.iter().enumerate() {
            let alone: Vec<&str> = (0..fields.len())
                .map(|j| if j == i { *field } else { "*" })
                .collect();
            if let Err(e) = parser.parse(&alone.join(" ")) {
                let (name, range) = names[i];
                return format!("{name} field {field:?} (allowed {range}): {e}");
            }
        }
    }
    croner_msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_constant_is_2026_01_01() {
        let probe = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        assert_eq!(probe.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }
}
