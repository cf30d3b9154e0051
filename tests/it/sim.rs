//! The simulator over real HTTP: signed requests built here, responses verified with the
//! Alipay test key, the clock driven by hand.
mod audit;
mod cert;
mod client;
mod faults;
mod gateway;
mod images;
mod latency;
mod layout;
mod notify;
mod orders;
mod rules;
mod signing;
mod snapshot;
mod stats;
mod v3;
