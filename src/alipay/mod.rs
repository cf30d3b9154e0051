//! Alipay Open Platform client for the Koubei shop methods.
pub mod envelope;
pub mod sign;
pub mod timestamp;
pub mod v3;
