//! Alipay's date-time texts in UTC+8, written without a format-string parser (summary
//! pages format one per shop): `yyyy-MM-dd HH:mm:ss` and, for `gmt_create`, with
//! milliseconds.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::alipay::timestamp::china;

fn write(t: DateTime<Utc>, millis: bool) -> String {
    let c = t.with_timezone(&china());
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second()
    );
    if millis {
        s.push_str(&format!(".{:03}", c.timestamp_subsec_millis().min(999)));
    }
    s
}

/// `yyyy-MM-dd HH:mm:ss`, UTC+8.
pub fn seconds(t: DateTime<Utc>) -> String {
    write(t, false)
}

/// `yyyy-MM-dd HH:mm:ss.SSS`, UTC+8.
pub fn millis(t: DateTime<Utc>) -> String {
    write(t, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn same_text_as_the_format_strings() {
        for t in [
            Utc.with_ymd_and_hms(2026, 11, 24, 18, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 59).unwrap()
                + chrono::Duration::milliseconds(7),
            Utc.with_ymd_and_hms(2016, 6, 23, 13, 15, 4).unwrap()
                + chrono::Duration::milliseconds(593),
        ] {
            assert_eq!(seconds(t), crate::alipay::timestamp::format(t));
            let c = t.with_timezone(&china());
            assert_eq!(millis(t), c.format("%Y-%m-%d %H:%M:%S%.3f").to_string());
        }
    }
}
