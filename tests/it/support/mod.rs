//! Shared test servers and tools: a headless Chromium, a loopback HTTP receiver.
#![allow(dead_code)]

pub mod chromium;
pub mod http_receiver;
