//! Typed ids, so that a map's type says what maps to what and a store id cannot be passed
//! where a shop id is expected.
//!
//! - [`StoreId`]: the chain's own store code (`store_id` in create/modify, "out shop id").
//! - [`ShopId`]: Alipay's 28-digit shop id, issued when a create's audit succeeds.
//! - [`ApplyId`]: Alipay's 28-digit application ("business flow order") id, in the answer
//!   of an accepted create or modify.
//! - [`RequestId`]: our `request_id` of one create or modify (letters and digits, unique
//!   per request); Alipay echoes it in the audit notification.
//!
//! Every id is text on the wire and in the audit store; these types only give it a name.
//! A [`StoreId`] from an export is built by the field rules (`record::normalise_store_id`),
//! which normalise and check it first.

use std::borrow::Borrow;
use std::fmt;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wrap a value already known to be this kind of id (from Alipay, the audit
            /// store, or the field rules).
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        /// Ids are text: read as `&str` (never converted into another kind of id).
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_string())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                String::column_result(value).map(Self)
            }
        }
    };
}

text_id!(
    /// The chain's own store code (`store_id`): unique within one merchant.
    StoreId
);
text_id!(
    /// Alipay's shop id (28 digits), known once a create's audit succeeded.
    ShopId
);
text_id!(
    /// Alipay's application id (28 digits) of an accepted create or modify.
    ApplyId
);
text_id!(
    /// Our `request_id` of one create or modify (letters and digits).
    RequestId
);

/// The prefix of a placeholder apply id (see [`ApplyId::unidentified`]).
const UNIDENTIFIED: &str = "unidentified-";

impl ApplyId {
    /// The placeholder of an application Alipay has but whose apply id is not known yet:
    /// a create answered `SHOP_CREATE_REPEAT_REQUEST` (an earlier attempt with this
    /// request id arrived), or a write whose lost answer was confirmed by querydetail. It
    /// is replaced by the real id once a channel identifies it (sync::confirm).
    pub fn unidentified(request_id: &RequestId) -> Self {
        Self(format!("{UNIDENTIFIED}{request_id}"))
    }

    /// A real apply id (not a placeholder): it can be asked about by id.
    pub fn is_identified(&self) -> bool {
        !self.0.starts_with(UNIDENTIFIED)
    }
}

impl RequestId {
    /// A fresh request id: 32 hex digits (letters and digits only, as Alipay requires).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        Self(hex::encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_map_keyed_by_a_typed_id_is_looked_up_by_text() {
        let mut m: HashMap<StoreId, ShopId> = HashMap::new();
        m.insert(StoreId::new("SH-1"), ShopId::new("2026"));
        assert_eq!(m.get("SH-1").map(ShopId::as_str), Some("2026"));
    }

    #[test]
    fn generated_request_ids_are_letters_and_digits_and_distinct() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn serde_is_the_bare_text() {
        let id = ApplyId::new("2026112500107000000000000001");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"2026112500107000000000000001\""
        );
    }
}
