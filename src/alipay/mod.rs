//! The Alipay Open Platform client: keys and signatures ([`sign`]), the answer envelope
//! ([`envelope`]), the classic gateway ([`gateway`]) and v3 signing ([`v3`]), error classes
//! ([`error`]), the app's rate limit ([`ratelimit`]) and retries ([`retry`]), and the store
//! API the engine speaks ([`api::ShopApi`]), implemented by the Koubei shop methods
//! ([`koubei`]). Certificate mode (SNs, chains, rotation) is in [`cert`].
pub mod api;
pub mod cert;
pub mod envelope;
pub mod error;
pub mod gateway;
pub mod koubei;
pub mod ratelimit;
pub mod retry;
pub mod shared_quota;
pub mod sign;
pub mod timestamp;
pub mod v3;

pub use api::ShopApi;
pub use error::{AlipayError, ErrorClass};
pub use gateway::{Gateway, GatewayConfig};
