//! Amazon's side of a usage plan: a token bucket per operation that starts full,
//! refills continuously at the plan's rate up to its burst, and refuses a call when
//! it holds less than one token.

use chrono::{DateTime, Utc};

use amazon_marketplace::spapi::UsagePlan;

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
    /// A full bucket of `plan` at `now`.
    pub fn new(plan: &UsagePlan, now: DateTime<Utc>) -> Self {
        Self {
            rate: plan.rate,
            burst: f64::from(plan.burst),
            tokens: f64::from(plan.burst),
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

    /// A full bucket of `plan` with another rate: a seller Amazon granted more.
    pub fn with_rate(plan: &UsagePlan, rate: f64, now: DateTime<Utc>) -> Self {
        Self {
            rate,
            ..Self::new(plan, now)
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
        let mut bucket = TokenBucket::new(&UsagePlan::SEARCH_ORDERS, start);
        assert!((0..20).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(!bucket.try_take(start + Duration::milliseconds(178_000)));
        assert!(bucket.try_take(start + Duration::milliseconds(178_572)));
        assert!(!bucket.try_take(start + Duration::milliseconds(178_572)));
    }
}
