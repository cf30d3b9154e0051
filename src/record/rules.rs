//! Per-field normalisation and validation (docs/protocol.md §4.2; the simulator holds its
//! own statement of these rules, docs/protocol.md §8.4).
//! Every function takes a trimmed, non-empty value and returns its canonical form.

use super::business_time;
use super::text::{char_len, clean_text, fold_width, map_list, show};
use super::Field;

/// Normalise one raw value of `field`: trim; `Ok(None)` when empty; `Err(reason)` when
/// the value breaks the field's rule. Idempotent: a canonical value maps to itself.
pub fn normalise(field: Field, raw: &str) -> Result<Option<String>, String> {
    let v = raw.trim_matches(|c: char| c.is_whitespace());
    if v.is_empty() {
        return Ok(None);
    }
    if v == "#EMPTY#" {
        return Err("#EMPTY# is reserved for clearing a field; leave the cell empty".into());
    }
    let out = match field {
        Field::CategoryId => digits(v, 1, 32)?,
        Field::BrandName | Field::LicenceName => text(v, 0, 20)?,
        Field::MainShopName => main_shop_name(v)?,
        Field::BranchShopName => text(v, 2, 20)?,
        Field::Address => text(v, 4, 50)?,
        Field::ValueAdded => text(v, 0, 500)?,
        Field::ProvinceCode => area(v, "0000", None)?,
        Field::CityCode => area(v, "00", Some("0000"))?,
        Field::DistrictCode => area(v, "", Some("00"))?,
        Field::Longitude => coordinate(v, 73, 136)?,
        Field::Latitude => coordinate(v, 3, 54)?,
        Field::ContactNumber | Field::NotifyMobile => phones(v)?,
        Field::BusinessTime => business_time::normalise(v)?,
        Field::Wifi | Field::Parking | Field::Box | Field::NoSmoking | Field::IsOperatingOnline => {
            flag(v)?
        }
        Field::AvgPrice => avg_price(v)?,
        Field::BrandLogo
        | Field::MainImage
        | Field::Licence
        | Field::BusinessCertificate
        | Field::AuthLetter
        | Field::AuditImages
        | Field::OtherAuthorization => super::image::normalise_images(field, v)?,
        Field::ImplementId => code_list(v)?,
        Field::OnlineUrl => url_list(v)?,
        Field::IsvUid => isv_uid(v)?,
        Field::LicenceCode => licence_code(v)?,
        Field::LicenceExpires | Field::BusinessCertificateExpires => expiry(v)?,
    };
    Ok(Some(out))
}

/// Validate a store code: trimmed, 1..=32 chars, no control characters. Not width-folded:
/// the code is an identity and is kept exactly as the chain writes it.
pub fn normalise_store_id(raw: &str) -> Result<String, String> {
    let v = raw.trim_matches(|c: char| c.is_whitespace());
    if v.is_empty() {
        return Err("store_id is empty".into());
    }
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(format!(
            "store_id contains control character U+{:04X}",
            c as u32
        ));
    }
    let n = char_len(v);
    if n > 32 {
        return Err(format!("store_id is {n} chars; at most 32 allowed"));
    }
    Ok(v.to_string())
}

/// Whether a normalised `licence_expires`/`business_certificate_expires` value lies before
/// `date` (Alipay answers `*_LICENSE_EXPIRES` for a date in the past). `长期` and values
/// that are not dates never expire.
pub fn expires_before(value: &str, date: chrono::NaiveDate) -> bool {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok_and(|d| d < date)
}

fn text(v: &str, min: usize, max: usize) -> Result<String, String> {
    let t = clean_text(v)?;
    let n = char_len(&t);
    if n < min || n > max {
        return Err(if min > 0 {
            format!("{n} chars; must be {min} to {max}")
        } else {
            format!("{n} chars; at most {max} allowed")
        });
    }
    Ok(t)
}

/// Opening/closing bracket pairs around a branch part (`(…店)` etc.).
const BRACKETS: [(char, char); 6] = [
    ('(', ')'),
    ('（', '）'),
    ('【', '】'),
    ('[', ']'),
    ('<', '>'),
    ('《', '》'),
];

fn main_shop_name(v: &str) -> Result<String, String> {
    let t = text(v, 0, 20)?;
    let branch = t.ends_with('店')
        || BRACKETS
            .iter()
            .any(|(open, close)| t.contains(*open) && t.contains(&format!("店{close}")));
    if branch {
        return Err(format!(
            "{} carries a branch part (…店); put the branch into branch_shop_name",
            show(&t)
        ));
    }
    Ok(t)
}

fn digits(v: &str, min: usize, max: usize) -> Result<String, String> {
    let folded = fold_width(v);
    let d = if folded.contains(' ') {
        folded.replace(' ', "")
    } else {
        folded.into_owned()
    };
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a number (digits only)", show(v)));
    }
    if d.len() < min || d.len() > max {
        return Err(format!(
            "{} has {} digits; must be {min} to {max}",
            show(v),
            d.len()
        ));
    }
    Ok(d)
}

/// A 6-digit GB/T 2260 code ending in `suffix` and not ending in `not_suffix`.
fn area(v: &str, suffix: &str, not_suffix: Option<&str>) -> Result<String, String> {
    let d = fold_width(v);
    if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a 6-digit area code", show(v)));
    }
    if !d.ends_with(suffix) {
        return Err(format!("{d} must end in {suffix}"));
    }
    if let Some(bad) = not_suffix {
        if d.ends_with(bad) {
            return Err(format!(
                "{d} ends in {bad}: that is a code of a higher level"
            ));
        }
    }
    Ok(d.into_owned())
}

/// A decimal coordinate, canonical (no `+`, no leading zeros, no trailing fraction zeros,
/// no trailing point), ≤15 chars, in `lo..=hi` compared on the decimal text.
fn coordinate(v: &str, lo: u64, hi: u64) -> Result<String, String> {
    let s = fold_width(v);
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(format!("{} is not a decimal number", show(v)));
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut out = String::new();
    if neg && !(int == "0" && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if out.len() > 15 {
        return Err(format!("{out} is {} chars; at most 15 allowed", out.len()));
    }
    // ≤15 chars, so the integer part fits in u64.
    let whole: u64 = int
        .parse()
        .map_err(|_| format!("{} is not a decimal number", show(v)))?;
    let inside = !neg && whole >= lo && (whole < hi || (whole == hi && frac.is_empty()));
    if !inside {
        return Err(format!("{out} is outside {lo}..{hi}"));
    }
    Ok(out)
}

fn phones(v: &str) -> Result<String, String> {
    // One plain number: already canonical.
    if v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'+' | b'-'))
        && v.bytes().any(|b| b.is_ascii_digit())
    {
        return Ok(v.to_string());
    }
    let folded: String = fold_width(v)
        .chars()
        .map(|c| match c {
            '—' | '–' | '‐' | '−' => '-',
            '、' | ';' | '/' => ',',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let mut items = Vec::new();
    for part in folded.split(',') {
        let words: Vec<&str> = part.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return Err("empty number in the list (doubled or trailing separator)".into());
        }
        for w in words {
            if let Some(c) = w.chars().find(|c| !matches!(c, '0'..='9' | '+' | '-')) {
                return Err(format!(
                    "{} contains {c:?}; only digits, + and - allowed",
                    show(w)
                ));
            }
            if !w.bytes().any(|b| b.is_ascii_digit()) {
                return Err(format!("{} has no digits", show(w)));
            }
            items.push(w.to_string());
        }
    }
    Ok(items.join(","))
}

fn flag(v: &str) -> Result<String, String> {
    let s = fold_width(v).to_ascii_lowercase();
    match s.as_str() {
        "t" | "true" | "yes" | "y" | "1" | "是" | "有" => Ok("T".into()),
        "f" | "false" | "no" | "n" | "0" | "否" | "无" | "沒有" | "没有" => Ok("F".into()),
        _ => Err(format!(
            "{} is not T/F (also accepted: true/false, yes/no, Y/N, 1/0, 是/否, 有/无)",
            show(v)
        )),
    }
}

fn avg_price(v: &str) -> Result<String, String> {
    let folded = fold_width(v);
    let s = folded.trim();
    let s = s.strip_prefix('￥').unwrap_or(s).trim();
    let s = s.strip_prefix('¥').unwrap_or(s).trim();
    let s = s.strip_suffix('元').unwrap_or(s).trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{} is not a price in whole yuan", show(v)));
    }
    if frac.bytes().any(|b| b != b'0') {
        return Err(format!(
            "{} is not whole yuan; Alipay takes an integer 1..99999",
            show(v)
        ));
    }
    let int = int.trim_start_matches('0');
    if int.is_empty() || int.len() > 5 {
        return Err(format!("{} is outside 1..99999 yuan", show(v)));
    }
    Ok(int.to_string())
}

fn code_list(v: &str) -> Result<String, String> {
    map_list(v, |item| {
        if item.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(format!("{} contains whitespace", show(item)))
        } else {
            Ok(())
        }
    })
}

fn url_list(v: &str) -> Result<String, String> {
    let items: Vec<String> = v.split([',', '，']).map(|i| i.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err("empty item in the list (doubled or trailing separator)".into());
    }
    if let Some(bad) = items
        .iter()
        .find(|i| i.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(format!("{} contains whitespace", show(bad)));
    }
    Ok(items.join(","))
}

fn isv_uid(v: &str) -> Result<String, String> {
    let d = fold_width(v);
    if d.len() == 16 && d.starts_with("2088") && d.bytes().all(|b| b.is_ascii_digit()) {
        Ok(d.into_owned())
    } else {
        Err(format!(
            "{} is not a 16-digit Alipay PID starting with 2088",
            show(v)
        ))
    }
}

fn licence_code(v: &str) -> Result<String, String> {
    let s = fold_width(v);
    let ok = |c: char| c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c);
    match s.chars().find(|c| !ok(*c)) {
        None => Ok(s.into_owned()),
        Some(c) => Err(format!(
            "contains {c:?}; only Chinese, letters and digits allowed"
        )),
    }
}

fn expiry(v: &str) -> Result<String, String> {
    let s = fold_width(v);
    if s == "长期" {
        return Ok(s.into_owned());
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let bad = || format!("{} is neither a date yyyy-MM-dd nor 长期", show(v));
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let num = |t: &str, max_len: usize| -> Option<u32> {
        if t.is_empty() || t.len() > max_len || !t.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            t.parse().ok()
        }
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4).filter(|_| y.len() == 4), num(m, 2), num(d, 2))
    else {
        return Err(bad());
    };
    chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
        .map(|date| date.format("%Y-%m-%d").to_string())
        .ok_or_else(|| format!("{} is not a real date", show(v)))
}
