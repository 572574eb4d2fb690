//! The Amazon Marketplace order source, as a WASI 0.2 component.
//!
//! Domain logic lives in plain Rust modules over the small [`host::Host`] trait, so it
//! compiles and is tested natively. `component.rs` is the only wasm-specific file: it
//! implements `Host` over WASI and converts between WIT and domain types.

pub mod connect;
pub mod decimal;
pub mod error;
pub mod events;
pub mod gzip;
pub mod headers;
pub mod host;
pub mod import;
pub mod keys;
pub mod model;
pub mod notify;
pub mod redact;
pub mod spapi;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod testing;

pub use connect::connect;
pub use error::{AmazonError, Error};
pub use import::import_orders;
pub use notify::on_label_created;
pub use redact::redact;
