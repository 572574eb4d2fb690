//! What the host called, in order: each export with its time, its arguments and
//! what it returned, as JSON of the WIT values. A recording's `_scenario` is
//! written from it, so a session run against any Amazon becomes a fixture.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One export call as the host made it.
#[derive(Debug, Clone)]
pub struct ExportCall {
    /// The export's WIT name, e.g. `import-orders`; `restart` for a fresh
    /// instance on the same storage (a crash).
    pub export: &'static str,
    /// The host's clock when the call began.
    pub at: DateTime<Utc>,
    /// The arguments, each the JSON of its WIT value (the settings first, for
    /// the exports that take them).
    pub arguments: Vec<Value>,
    /// The JSON of the returned `result` (`{"Ok": ...}` or `{"Err": ...}`).
    pub result: Value,
}

/// The calls of one instance (and its restarts), when the host asked for them.
#[derive(Debug, Clone, Default)]
pub struct ExportLog {
    /// Every call so far.
    pub calls: Vec<ExportCall>,
}

/// The JSON of a WIT value (its Rust field names); `null` if it does not
/// serialize, which no generated binding does.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
