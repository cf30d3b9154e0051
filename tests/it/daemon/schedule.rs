use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use shopsync::daemon::schedule::{Schedule, ScheduleError, DEFAULT_TIMEZONE};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn shanghai_has_no_dst_a_year_of_daily_runs_is_02_30_plus_8() {
    let s = Schedule::parse("30 2 * * *", DEFAULT_TIMEZONE).unwrap();
    let runs = s.upcoming(utc("2026-01-01T00:00:00Z"), 366);
    assert_eq!(runs.len(), 366);
    for r in &runs {
        assert_eq!((r.hour(), r.minute(), r.second()), (2, 30, 0), "{r}");
        assert_eq!(r.format("%:z").to_string(), "+08:00", "{r}");
    }
    for w in runs.windows(2) {
        assert_eq!(w[1] - w[0], Duration::hours(24), "{} -> {}", w[0], w[1]);
    }
    // 02:30 in Shanghai is 18:30 UTC the day before.
    assert_eq!(runs[0].with_timezone(&Utc), utc("2026-01-01T18:30:00Z"));
}

#[test]
fn new_york_dst_changes_the_offset_and_the_gap() {
    let s = Schedule::parse("30 2 * * *", "America/New_York").unwrap();
    let runs = s.upcoming(utc("2026-03-01T00:00:00Z"), 20);
    let offsets: Vec<String> = runs.iter().map(|r| r.format("%:z").to_string()).collect();
    assert!(offsets.contains(&"-05:00".to_string()) && offsets.contains(&"-04:00".to_string()));
    // 2026-03-08: 02:30 does not exist; the run is not lost, and the spacing around it is
    // not 24 h, unlike Shanghai.
    let gaps: Vec<i64> = runs
        .windows(2)
        .map(|w| (w[1] - w[0]).num_minutes())
        .collect();
    assert!(gaps.iter().any(|g| *g != 24 * 60), "{gaps:?}");
    assert!(
        runs.iter().any(|r| r.day() == 8 && r.month() == 3),
        "{runs:?}"
    );
    let after = runs.iter().find(|r| r.day() == 10).unwrap();
    assert_eq!((after.hour(), after.minute()), (2, 30));
    assert_eq!(after.format("%:z").to_string(), "-04:00");
}

#[test]
fn day_of_week_0_and_7_are_both_sunday() {
    let from = utc("2026-11-26T00:00:00Z");
    for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
        let s = Schedule::parse(expr, "Asia/Shanghai").unwrap();
        let runs = s.upcoming(from, 5);
        assert_eq!(runs.len(), 5);
        for r in runs {
            assert_eq!(r.weekday(), Weekday::Sun, "{expr}: {r}");
            assert_eq!(r.hour(), 9);
        }
    }
}

#[test]
fn weekday_ranges_and_month_names_limit_the_runs() {
    let s = Schedule::parse("0 8 * JAN,FEB MON-FRI", "Asia/Shanghai").unwrap();
    let runs = s.upcoming(utc("2026-11-26T00:00:00Z"), 40);
    assert_eq!(runs.len(), 40);
    for r in &runs {
        assert!(!matches!(r.weekday(), Weekday::Sat | Weekday::Sun), "{r}");
        assert!(r.month() == 1 || r.month() == 2, "{r}");
    }
    // First run: Friday 2027-01-01 08:00 +08:00.
    assert_eq!(runs[0].to_rfc3339(), "2027-01-01T08:00:00+08:00");
}

#[test]
fn day_of_month_and_day_of_week_are_ored_like_vixie_cron() {
    let s = Schedule::parse("0 0 13 * 5", "Asia/Shanghai").unwrap();
    let runs = s.upcoming(utc("2026-11-01T00:00:00Z"), 12);
    assert!(runs
        .iter()
        .all(|r| r.day() == 13 || r.weekday() == Weekday::Fri));
    // November 2026: Fridays 6, 13, 20, 27 (the 13th is a Friday); December: Fridays 4, 11,
    // 18, 25 and Sunday the 13th.
    let days: Vec<String> = runs.iter().map(|r| r.format("%m-%d").to_string()).collect();
    assert_eq!(
        &days[..9],
        ["11-06", "11-13", "11-20", "11-27", "12-04", "12-11", "12-13", "12-18", "12-25"]
    );
}

#[test]
fn a_leading_seconds_field_runs_within_the_minute() {
    let s = Schedule::parse("*/15 0 3 * * *", "Asia/Shanghai").unwrap();
    let runs = s.upcoming(utc("2026-11-26T00:00:00Z"), 5);
    let times: Vec<String> = runs
        .iter()
        .map(|r| r.format("%H:%M:%S").to_string())
        .collect();
    assert_eq!(
        times,
        ["03:00:00", "03:00:15", "03:00:30", "03:00:45", "03:00:00"]
    );
    assert_eq!(runs[4].day(), runs[0].day() + 1);
}

#[test]
fn next_after_is_strictly_after() {
    let s = Schedule::parse("30 2 * * *", "Asia/Shanghai").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 18, 30, 0).unwrap(); // 02:30 +08
    assert_eq!(s.next_after(at), Some(at + Duration::days(1)));
    assert_eq!(s.next_after(at - Duration::seconds(1)), Some(at));
}

#[test]
fn describe_upcoming_shows_zone_and_offset() {
    let s = Schedule::parse("30 2 * * *", "Asia/Shanghai").unwrap();
    let text = s.describe_upcoming(utc("2026-11-26T00:00:00Z"), 3);
    assert!(
        text.contains("30 2 * * *") && text.contains("Asia/Shanghai"),
        "{text}"
    );
    assert!(text.contains("2026-11-27 02:30:00 +08:00"), "{text}");
    assert!(text.contains("2026-11-29 02:30:00 +08:00"), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[test]
fn invalid_lines_are_rejected_with_a_clear_message() {
    let cases = [
        ("30 2 * *", "4 fields"),
        ("0 30 2 * * * 2026", "7 fields"),
        ("61 2 * * *", "minute field \"61\""),
        ("30 25 * * *", "hour field \"25\""),
        ("30 2 * * FUNDAY", "day-of-week field \"FUNDAY\""),
        ("0 0 30 2 *", "never fires"),
        ("", "0 fields"),
    ];
    for (expr, needle) in cases {
        let err = Schedule::parse(expr, "Asia/Shanghai").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{expr:?}: {msg}");
        assert!(
            msg.contains(&format!("{expr:?}")),
            "message names the expression: {msg}"
        );
    }
    let err = Schedule::parse("30 2 * * *", "Mars/Olympus").unwrap_err();
    assert!(matches!(err, ScheduleError::UnknownTimeZone { .. }));
    assert!(err.to_string().contains("Mars/Olympus"), "{err}");
}
