//! Gateway timestamps: `yyyy-MM-dd HH:mm:ss` in fixed UTC+8, whatever the host's zone.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

/// Format string of the classic `timestamp` parameter and of Alipay's date-times.
pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// China Standard Time: UTC+8, no DST.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Format an instant as a gateway timestamp in UTC+8.
pub fn format(t: DateTime<Utc>) -> String {
    t.with_timezone(&china()).format(FORMAT).to_string()
}

/// Parse a gateway timestamp (UTC+8). `None` when it does not match the format.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s, FORMAT).ok()?;
    china()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_utc_plus_8() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap();
        assert_eq!(format(t), "2026-11-25 02:30:00");
        assert_eq!(parse("2026-11-25 02:30:00"), Some(t));
        assert_eq!(parse("2026-11-25T02:30:00"), None);
    }
}
