//! Hostile exports and configs.
