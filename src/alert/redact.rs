//! Robot URLs for logs and errors, without their access tokens.
//!
//! DingTalk carries the token in the query (`?access_token=…`), WeCom too (`?key=…`),
//! Feishu in the path (`/open-apis/bot/v2/hook/<token>`), and a generic webhook may carry
//! one anywhere. So: every query value, any user info, the fragment, and every path
//! segment that could be a token become `[redacted]`. A segment is kept only when it
//! cannot be one: at most 3 characters (`v2`), or up to 16 lowercase letters, `-`, `_`
//! and `.` (`robot`, `send`, `cgi-bin`, `open-apis`, `hooks`).

/// What replaces a secret part.
pub const REDACTED: &str = "[redacted]";

/// `url` with its secret parts replaced by `[redacted]`.
pub fn url_text(url: &str) -> String {
    let Ok(u) = reqwest::Url::parse(url) else {
        return "[not a URL]".to_string();
    };
    let mut out = format!("{}://", u.scheme());
    if !u.username().is_empty() || u.password().is_some() {
        out.push_str(REDACTED);
        out.push('@');
    }
    if let Some(host) = u.host_str() {
        out.push_str(host);
    }
    if let Some(port) = u.port() {
        out.push_str(&format!(":{port}"));
    }
    if let Some(segments) = u.path_segments() {
        for s in segments {
            out.push('/');
            if safe_segment(s) {
                out.push_str(s);
            } else {
                out.push_str(REDACTED);
            }
        }
    }
    let mut first = true;
    for (k, _) in u.query_pairs() {
        out.push(if first { '?' } else { '&' });
        first = false;
        if safe_segment(&k) {
            out.push_str(&k);
        } else {
            out.push_str(REDACTED);
        }
        out.push('=');
        out.push_str(REDACTED);
    }
    if u.fragment().is_some() {
        out.push('#');
        out.push_str(REDACTED);
    }
    out
}

/// `s` (a path segment or query value) could be a token: not provably harmless.
pub fn could_be_secret(s: &str) -> bool {
    !safe_segment(s)
}

fn safe_segment(s: &str) -> bool {
    s.chars().count() <= 3
        || (s.len() <= 16
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || matches!(c, '-' | '_' | '.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platforms_token_is_redacted_and_the_rest_kept() {
        assert_eq!(
            url_text("https://oapi.dingtalk.com/robot/send?access_token=6f1a2b3cDEF&timestamp=1&sign=x%2By"),
            "https://oapi.dingtalk.com/robot/send?access_token=[redacted]&timestamp=[redacted]&sign=[redacted]"
        );
        assert_eq!(
            url_text("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=[redacted]"
        );
        assert_eq!(
            url_text(
                "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
            ),
            "https://open.feishu.cn/open-apis/bot/v2/hook/[redacted]"
        );
        assert_eq!(
            url_text("http://user:pw@127.0.0.1:8080/hooks/T0ABC/SecretPart#frag"),
            "http://[redacted]@127.0.0.1:8080/hooks/[redacted]/[redacted]#[redacted]"
        );
        // A lowercase word that is long enough to be a token is redacted too.
        assert_eq!(
            url_text("https://h/hook/abcdefghijklmnopq"),
            "https://h/hook/[redacted]"
        );
        assert_eq!(url_text("not a url"), "[not a URL]");
    }
}
