//! The global allocator: mimalloc, for every binary that links the library (the
//! `shopsync` binary, tests, benchmarks), except fuzz builds, where the sanitizer must see
//! every allocation.
//!
//! A sync allocates one small value per field of every store and shop; with the system
//! allocator, malloc/free were about a quarter of the local work's time (BENCHMARKS.md).

#[cfg(not(fuzzing))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
