//! The wasmtime embedding a platform would copy: the compiled, pre-instantiated
//! component and one instance per connected store ([`runtime`]), `wasi:keyvalue` on
//! SQLite ([`kv`]), the limits a third-party plugin runs within ([`sandbox`]), and
//! the host's clock ([`clock`]), the compiled component kept on disk
//! ([`compiled`]), and the export calls a host made ([`export_log`]). Where the component's HTTP requests go is an
//! [`crate::amazon::Amazon`] of the caller's choosing.

pub mod clock;
pub mod compiled;
pub mod export_log;
pub mod kv;
pub mod runtime;
pub mod sandbox;

pub use clock::VirtualClock;
pub use kv::SqliteStorage;
pub use runtime::{CallRecord, ComponentInstance, Limits, Runtime, bindings, datetime, time};
