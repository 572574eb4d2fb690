//! The component as every host gets it: built by this crate's build script
//! (profile `component`, `wasm32-wasip2`, shrunk by `wasm-opt -Oz` when `WASM_OPT`
//! names one) and embedded, so a binary that depends on it stands alone.

/// The component's bytes.
pub const WASM: &[u8] = include_bytes!(env!("PLUGIN_WASM"));

/// Which optimizer shrank it: `wasm-opt` or `none`.
pub const OPTIMIZER: &str = env!("PLUGIN_WASM_OPT");
