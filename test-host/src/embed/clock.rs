//! The host's clock: virtual, so hours of Amazon's rate limits run in milliseconds
//! and every run is reproducible. The component reads it through `wasi:clocks`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The machine's wall clock now (a live session's clock follows it).
pub fn wall_now() -> DateTime<Utc> {
    std::time::SystemTime::now().into()
}

/// The host's wall and monotonic clock, moved only by the host.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl VirtualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    fn since_epoch(&self) -> Duration {
        self.now()
            .signed_duration_since(DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        self.since_epoch()
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        u64::try_from(self.since_epoch().as_nanos()).unwrap_or(u64::MAX)
    }
}
