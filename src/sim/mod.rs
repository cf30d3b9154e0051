//! The built-in Alipay simulator.
