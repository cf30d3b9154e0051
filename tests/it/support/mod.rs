//! Shared test servers and tools: a headless Chromium.
#![allow(dead_code)]

pub mod chromium;
