//! The strings the simulator signs and verifies, built by its own code from the reference
//! (never the client's builders): the classic request (§2.4), the v3 `Authorization`
//! header and request/response strings (§3), and the notification "V1" rule (§5).
//! RSA itself is `alipay::sign::{SignKey, VerifyKey}`, used only as a primitive.

use std::collections::BTreeMap;

/// Join `k=v` pairs with `&`, values raw, after dropping empty values and the `excluded`
/// names and sorting by key in byte order.
fn sorted_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>, excluded: &[&str]) -> String {
    let mut kept: Vec<(&str, &str)> = pairs
        .filter(|(k, v)| !v.is_empty() && !excluded.contains(k))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(kept.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// §2.4: every text parameter except `sign` (`sign_type` included), empty values dropped,
/// sorted by key, joined raw.
pub fn classic_request_content(params: &BTreeMap<String, String>) -> String {
    sorted_pairs(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign"],
    )
}

/// §5 "V1": like a request, but without `sign_type` either.
pub fn notification_content(form: &[(String, String)]) -> String {
    sorted_pairs(
        form.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign", "sign_type"],
    )
}

/// A parsed v3 `Authorization` header: `ALIPAY-SHA256withRSA <auth string>,sign=<b64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Everything between the scheme and `,sign=`, exactly as sent: it is signed as is.
    pub auth_string: String,
    pub sign: String,
    /// The auth string's `key=value` items (`app_id`, `app_cert_sn`, `nonce`, `timestamp`).
    pub items: BTreeMap<String, String>,
}

impl Authorization {
    /// `None` when the scheme or the `,sign=` part is missing.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.strip_prefix("ALIPAY-SHA256withRSA ")?;
        let at = rest.rfind(",sign=")?;
        let auth_string = rest[..at].to_string();
        let sign = rest[at + ",sign=".len()..].to_string();
        let items = auth_string
            .split(',')
            .filter_map(|item| item.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Self {
            auth_string,
            sign,
            items,
        })
    }

    pub fn item(&self, key: &str) -> Option<&str> {
        self.items.get(key).map(String::as_str)
    }
}

/// §3: auth string, verb, URI as received, body (empty for GET), and the app auth token
/// when the header was sent; every line ends with `\n`.
pub fn v3_request_content(
    auth_string: &str,
    verb: &str,
    uri: &str,
    body: &str,
    app_auth_token: Option<&str>,
) -> String {
    let mut s = format!("{auth_string}\n{verb}\n{uri}\n{body}\n");
    if let Some(token) = app_auth_token {
        s.push_str(token);
        s.push('\n');
    }
    s
}

/// §8.8: `<alipay-timestamp>\n<alipay-nonce>\n<body>\n`.
pub fn v3_response_content(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_and_sign_are_left_out_and_keys_sorted() {
        let p: BTreeMap<String, String> = [
            ("sign", "x"),
            ("b", "2"),
            ("notify_url", ""),
            ("a", "1&=\"中"),
            ("sign_type", "RSA2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(classic_request_content(&p), "a=1&=\"中&b=2&sign_type=RSA2");
        let form: Vec<(String, String)> = p.into_iter().collect();
        assert_eq!(notification_content(&form), "a=1&=\"中&b=2");
    }

    #[test]
    fn authorization_items() {
        let a = Authorization::parse(
            "ALIPAY-SHA256withRSA app_id=1,app_cert_sn=ab,nonce=n,timestamp=5,sign=c2ln=",
        )
        .unwrap();
        assert_eq!(a.auth_string, "app_id=1,app_cert_sn=ab,nonce=n,timestamp=5");
        assert_eq!(a.sign, "c2ln=");
        assert_eq!(a.item("app_cert_sn"), Some("ab"));
        assert_eq!(Authorization::parse("Bearer x"), None);
    }
}
