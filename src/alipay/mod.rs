//! Alipay Open Platform client for the Koubei shop methods.
pub mod cert;
pub mod envelope;
pub mod error;
pub mod gateway;
pub mod shop;
pub mod sign;
pub mod timestamp;
pub mod v3;

pub use error::{AlipayError, ErrorClass};
pub use gateway::{Gateway, GatewayConfig};
