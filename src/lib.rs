//! shopsync: keep a POS chain's store list in sync with its Koubei shops on Alipay.
pub mod alipay;
pub mod audit;
pub mod clock;
pub mod daemon;
pub mod logging;
pub mod sim;
pub mod source;
pub mod store;
