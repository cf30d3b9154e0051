//! `business_time` (docs/protocol.md §4.2): one or two segments
//! `<day>[-<day>] HH:mm-HH:mm`, days 周一..周日, or a bare `HH:mm-HH:mm` meaning every day.
//! Canonical form:
//! `周一-周五 09:00-20:00,周六-周日 10:00-22:00` (segments ordered by first day).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;

use super::text::{fold_width, show};

const DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

struct Segment {
    /// Inclusive day range (0 = 周一); `None` for a bare time range (every day).
    days: Option<(usize, usize)>,
    open: (u32, u32),
    close: (u32, u32),
}

impl Segment {
    fn mask(&self) -> u8 {
        match self.days {
            None => 0x7f,
            Some((a, b)) => (a..=b).fold(0, |m, d| m | (1 << d)),
        }
    }

    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        match self.days {
            None => {}
            Some((a, b)) if a == b => {
                out.push_str(DAYS[a]);
                out.push(' ');
            }
            Some((a, b)) => {
                out.push_str(DAYS[a]);
                out.push('-');
                out.push_str(DAYS[b]);
                out.push(' ');
            }
        }
        let _ = write!(
            out,
            "{:02}:{:02}-{:02}:{:02}",
            self.open.0, self.open.1, self.close.0, self.close.1
        );
    }
}

/// Fold the accepted variants into the plain grammar: full-width forms, 星期X/周天,
/// range words and dashes, segment separators.
fn fold(raw: &str) -> Cow<'_, str> {
    const DASHES: [char; 9] = ['~', '至', '到', '—', '–', '‐', '−', '－', '～'];
    let mut s = fold_width(raw);
    if s.contains("星期") || s.contains("周天") {
        s = Cow::Owned(
            s.replace("星期天", "周日")
                .replace("星期日", "周日")
                .replace("周天", "周日")
                .replace("星期", "周"),
        );
    }
    if !s.contains(DASHES) && !s.contains([';', '、']) {
        return s;
    }
    s.chars()
        .map(|c| match c {
            c if DASHES.contains(&c) => '-',
            ';' | '、' => ',',
            _ => c,
        })
        .collect::<String>()
        .into()
}

fn parse_day(s: &str) -> Option<(usize, &str)> {
    DAYS.iter()
        .enumerate()
        .find_map(|(i, d)| s.strip_prefix(d).map(|rest| (i, rest)))
}

fn parse_clock(s: &str) -> Result<((u32, u32), &str), String> {
    let digits = |t: &str| t.chars().take_while(char::is_ascii_digit).count();
    let h_len = digits(s);
    if !(1..=2).contains(&h_len) {
        return Err(format!("expected a time HH:mm at {}", show(s)));
    }
    let (h, rest) = s.split_at(h_len);
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("expected ':' in the time at {}", show(s)))?;
    if digits(rest) != 2 {
        return Err(format!("minutes must be two digits at {}", show(s)));
    }
    let (m, rest) = rest.split_at(2);
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| "bad hour".to_string())?,
        m.parse().map_err(|_| "bad minute".to_string())?,
    );
    if h > 23 || m > 59 {
        return Err(format!(
            "{h}:{m:02} is not a time of day (open all day is 00:00-23:59)"
        ));
    }
    Ok(((h, m), rest))
}

fn parse_segment(seg: &str) -> Result<Segment, String> {
    let seg = seg.trim();
    let (days, rest) = match parse_day(seg) {
        None => (None, seg),
        Some((a, rest)) => {
            let rest = rest.trim_start();
            match rest
                .strip_prefix('-')
                .map(str::trim_start)
                .and_then(parse_day)
            {
                Some((b, rest)) => {
                    if b < a {
                        return Err(format!("day range {}-{} runs backwards", DAYS[a], DAYS[b]));
                    }
                    (Some((a, b)), rest)
                }
                None => (Some((a, a)), rest),
            }
        }
    };
    let rest = rest.trim_start();
    if rest.starts_with('周') {
        return Err(format!("unknown day name in {}", show(seg)));
    }
    let (open, rest) = parse_clock(rest)?;
    let rest = rest
        .trim_start()
        .strip_prefix('-')
        .ok_or_else(|| format!("expected HH:mm-HH:mm in {}", show(seg)))?;
    let (close, rest) = parse_clock(rest.trim_start())?;
    if !rest.trim().is_empty() {
        return Err(format!(
            "unexpected text {} after the hours",
            show(rest.trim())
        ));
    }
    if open == close {
        return Err(format!(
            "opening and closing time are equal in {}",
            show(seg)
        ));
    }
    Ok(Segment { days, open, close })
}

/// How many recent values [`normalise`] remembers (per thread).
const MEMO_SIZE: usize = 8;

/// `(raw value, its normalisation)`.
type Remembered = (Box<str>, Result<String, String>);

thread_local! {
    /// Recent `(raw, result)` pairs, newest last. A chain's stores share a handful of
    /// opening hours, and parsing one costs far more than comparing it with a few.
    static MEMO: RefCell<VecDeque<Remembered>> =
        const { RefCell::new(VecDeque::new()) };
}

/// Normalise a non-empty, trimmed `business_time` value.
pub(crate) fn normalise(raw: &str) -> Result<String, String> {
    let hit = MEMO.with_borrow(|memo| {
        memo.iter()
            .rev()
            .find(|(r, _)| &**r == raw)
            .map(|(_, result)| result.clone())
    });
    if let Some(result) = hit {
        return result;
    }
    let result = parse(raw);
    MEMO.with_borrow_mut(|memo| {
        if memo.len() == MEMO_SIZE {
            memo.pop_front();
        }
        memo.push_back((raw.into(), result.clone()));
    });
    result
}

fn parse(raw: &str) -> Result<String, String> {
    let folded = fold(raw);
    let mut segments = Vec::new();
    for part in folded.split(',') {
        if part.trim().is_empty() {
            return Err("empty segment (doubled or trailing separator)".to_string());
        }
        segments.push(parse_segment(part)?);
    }
    if segments.len() > 2 {
        return Err(format!(
            "{} segments; Alipay allows at most two (e.g. 周一-周五 09:00-20:00,周六-周日 10:00-22:00)",
            segments.len()
        ));
    }
    if let [a, b] = segments.as_slice() {
        if a.mask() & b.mask() != 0 {
            return Err("the two segments cover the same day".to_string());
        }
    }
    segments.sort_by_key(|s| s.days.map_or(0, |d| d.0));
    let mut out = String::with_capacity(raw.len() + 8);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        segment.render(&mut out);
    }
    Ok(out)
}
