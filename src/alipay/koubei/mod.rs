//! The Koubei shop methods (`alipay.offline.market.*`, docs/protocol.md §4): [`model`]
//! holds their requests and answers as Rust types, [`methods`] calls them over the
//! gateway. They implement [`crate::alipay::ShopApi`], the interface the engine speaks.

mod methods;
mod model;

pub use model::*;
