//! Id formats (§8.3): 28-digit shop/apply ids, 34-char notify ids, 32-char image ids and
//! 16-digit internal request ids.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;

use crate::alipay::timestamp::china;

pub const KIND_SHOP: &str = "00077";
pub const KIND_APPLY: &str = "00107";

/// `yyyyMMdd` (UTC+8 date of `now`) + kind + 15-digit serial.
pub fn long_id(now: DateTime<Utc>, kind: &str, serial: u64) -> String {
    let date = now.with_timezone(&china()).format("%Y%m%d");
    format!("{date}{kind}{serial:015}")
}

/// 16 digits: `yyyyMMdd` + an 8-digit serial.
pub fn internal_request_id(now: DateTime<Utc>, serial: u64) -> String {
    let date = now.with_timezone(&china()).format("%Y%m%d");
    format!("{date}{:08}", serial % 100_000_000)
}

fn random_from(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// 34 lowercase alphanumerics.
pub fn notify_id(rng: &mut StdRng) -> String {
    random_from(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", 34)
}

/// 32 chars from `[A-Za-z0-9_-]`.
pub fn image_id(rng: &mut StdRng) -> String {
    random_from(
        rng,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        32,
    )
}

/// The §8.3 image id format: 32 chars from `[A-Za-z0-9_-]`.
pub fn well_formed_image_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;

    #[test]
    fn formats() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 18, 0, 0).unwrap();
        assert_eq!(long_id(t, KIND_APPLY, 1), "2026112500107000000000000001");
        assert_eq!(internal_request_id(t, 7), "2026112500000007");
        let mut rng = StdRng::seed_from_u64(1);
        let n = notify_id(&mut rng);
        assert_eq!(n.len(), 34);
        assert!(n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let img = image_id(&mut rng);
        assert!(well_formed_image_id(&img));
        assert!(well_formed_image_id("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"));
        assert!(!well_formed_image_id("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQE"));
        assert!(!well_formed_image_id("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQE."));
    }
}
