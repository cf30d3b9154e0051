//! Which merchant a request acts for: the app's own without an `app_auth_token`, else the
//! merchant that authorised the app with that token (an ISV acts for many chains; docs/protocol.md §1).

/// The merchant acting when the request has no `app_auth_token`.
pub const OWN_MERCHANT: &str = "2088000000000001";
/// The merchant the first accepted `app_auth_token` acts for.
pub const TOKEN_MERCHANT: &str = "2088000000000002";

/// The merchant the `index`-th accepted `app_auth_token` acts for: each token is one
/// merchant's authorisation of the app (an ISV acting for many chains), so each has its
/// own shops, orders and images; the first is [`TOKEN_MERCHANT`].
pub fn token_merchant(index: usize) -> String {
    (2_088_000_000_000_002u64 + index as u64).to_string()
}

/// The merchant `token` acts for (`None`: not an accepted token); no token, the app's own.
pub fn merchant_of(tokens: &[String], token: Option<&str>) -> Option<String> {
    match token {
        None | Some("") => Some(OWN_MERCHANT.to_string()),
        Some(t) => tokens.iter().position(|x| x == t).map(token_merchant),
    }
}
