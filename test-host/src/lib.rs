//! A wasmtime host for the Amazon Marketplace component: it replays recorded Amazon
//! sessions (HAR 1.2) strictly, with SQLite-backed `wasi:keyvalue`, a virtual clock
//! and captured guest logs.

pub mod bench;
pub mod campaign;
pub mod har;
pub mod kv;
pub mod runtime;
pub mod sandbox;
pub mod scenario;
pub mod simulate;
pub mod upstream;
pub mod view;
