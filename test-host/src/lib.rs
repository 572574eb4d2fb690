//! A wasmtime host for the Amazon Marketplace component, arranged by role:
//!
//! - [`embed`]: the embedding a platform would copy (runtime, storage, sandbox, clock);
//! - [`amazon`]: every Amazon the component can talk to (HAR recordings replayed
//!   strictly, the recorder, fault injection, the SP-API simulator);
//! - [`seller`]: the simulated host platform, a seller with its own database and its
//!   import, shipping and redaction desks, checked against the simulated world;
//! - [`drive`]: what calls the component like a host: replay and the demo, the
//!   simulation, the fault campaign, the benchmark, and the JSON they print.

pub mod amazon;
pub mod drive;
pub mod embed;
pub mod seller;
