//! shopsync: keep a POS chain's store list in sync with its Koubei shops on Alipay.
pub mod alipay;
pub mod clock;
pub mod sim;
