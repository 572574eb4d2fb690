//! The component as every host gets it: built by this crate's build script
//! (profile `component`, `wasm32-wasip2`, shrunk by `wasm-opt -Oz` when `WASM_OPT`
//! names one) and embedded, so a binary that depends on it stands alone.

/// The component's bytes.
pub const WASM: &[u8] = include_bytes!(env!("PLUGIN_WASM"));

/// Which optimizer shrank it: `wasm-opt` or `none`.
pub const OPTIMIZER: &str = env!("PLUGIN_WASM_OPT");

/// The build's own directory for the component, where a host may keep what it
/// compiles from it; `None` when the binary runs away from its build.
pub fn build_dir() -> Option<&'static std::path::Path> {
    let dir = std::path::Path::new(env!("PLUGIN_WASM")).parent()?;
    dir.is_dir().then_some(dir)
}
