//! The Alipay Open Platform client: keys and signatures ([`sign`]), the classic answer
//! envelope ([`envelope`]) and v3 signing ([`v3`]), the two protocols behind one interface
//! ([`transport`]), the client of one app ([`gateway`]) with the keys that verify answers
//! ([`answer_keys`]) and certificate rotation ([`rotation`]), error classes ([`error`]),
//! the app's rate limit ([`ratelimit`]) and retries ([`retry`]), and the store API the
//! engine speaks ([`api::ShopApi`]), implemented by the Koubei shop methods ([`koubei`]).
//! Certificate mode's files, SNs and chains are in [`cert`].
pub mod answer_keys;
pub mod api;
pub mod cert;
pub mod envelope;
pub mod error;
pub mod gateway;
pub mod koubei;
pub mod ratelimit;
pub mod retry;
pub mod rotation;
pub mod shared_quota;
pub mod sign;
pub mod timestamp;
pub mod transport;
pub mod v3;

pub use answer_keys::{CertStore, KeptCert, NotificationKeys};
pub use api::ShopApi;
pub use error::{AlipayError, ErrorClass};
pub use gateway::{Gateway, GatewayConfig};
pub use transport::Protocol;
