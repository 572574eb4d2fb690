//! Amazon's side of a usage plan: a token bucket per operation that starts full,
//! refills continuously at the plan's rate up to its burst, and refuses a call when
//! it holds less than one token.

use chrono::{DateTime, Utc};

/// Refill rounding that must not turn a token due now into a 429.
const WHOLE_TOKEN: f64 = 1.0 - 1e-9;

/// One operation's bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: DateTime<Utc>,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens restoring `rate` per second, at `now`.
    pub fn new(rate: f64, burst: u32, now: DateTime<Utc>) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            at: now,
        }
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        if now > self.at {
            let elapsed = (now - self.at).num_nanoseconds().unwrap_or(i64::MAX) as f64 / 1e9;
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
            self.at = now;
        }
    }

    /// Takes a token for a call at `now`; `false` when the call must get a 429.
    pub fn try_take(&mut self, now: DateTime<Utc>) -> bool {
        self.refill(now);
        if self.tokens >= WHOLE_TOKEN {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    /// The plan's rate, as `x-amzn-RateLimit-Limit` states it.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn burst_then_one_call_per_restore_period() {
        let start = DateTime::UNIX_EPOCH;
        let mut bucket = TokenBucket::new(0.0056, 20, start);
        assert!((0..20).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(!bucket.try_take(start + Duration::milliseconds(178_000)));
        assert!(bucket.try_take(start + Duration::milliseconds(178_572)));
        assert!(!bucket.try_take(start + Duration::milliseconds(178_572)));
    }
}
