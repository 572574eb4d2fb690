//! The component's view of Amazon's token buckets, one per operation, kept in storage
//! between calls. It starts from the default usage plan, follows every call the
//! component makes, takes the rate from `x-amzn-RateLimit-Limit` when Amazon sends
//! it, and empties on a 429 (which carries neither a rate nor a Retry-After).
//!
//! The view only ever errs towards waiting: a bucket shared with another app of the
//! same seller can be emptier than the view, and the 429 that follows corrects it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::Store;
use crate::spapi::usage_plans::UsagePlan;

/// A token counts as there when the bucket holds at least this much of it; absorbs
/// floating-point rounding at the instant a token completes.
const WHOLE_TOKEN: f64 = 1.0 - 1e-9;

/// One bucket as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Tokens in the bucket at `at`.
    pub tokens: f64,
    /// When `tokens` was true.
    pub at: DateTime<Utc>,
    /// Tokens per second (the plan's, or Amazon's header).
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

impl Bucket {
    /// A full bucket of the default plan: what Amazon grants an unused seller.
    pub fn full(plan: &UsagePlan, now: DateTime<Utc>) -> Self {
        Self {
            tokens: f64::from(plan.burst),
            at: now,
            rate: plan.rate,
            burst: plan.burst,
        }
    }

    /// Tokens at `now`, refilled since `at` and capped at the burst. A clock that went
    /// backwards refills nothing.
    pub fn tokens_at(&self, now: DateTime<Utc>) -> f64 {
        let elapsed = (now - self.at)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0) as f64
            / 1e6;
        (self.tokens + elapsed * self.rate).min(f64::from(self.burst))
    }

    /// The first moment a call can be made: `now`, or when the next token completes
    /// (rounded up to the millisecond, so a caller that waits exactly that long finds
    /// the token there).
    pub fn ready_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        // The view may have been updated after `now` was read (the call's answer came
        // later): count from whichever is later.
        let now = now.max(self.at);
        let tokens = self.tokens_at(now);
        if tokens >= WHOLE_TOKEN {
            return now;
        }
        let wait_ms = ((1.0 - tokens) / self.rate * 1000.0).ceil();
        now + Duration::milliseconds(wait_ms.min(86_400_000.0) as i64)
    }

    /// Takes one token for a call made at `now`.
    pub fn spend(&mut self, now: DateTime<Utc>) {
        self.tokens = (self.tokens_at(now) - 1.0).max(0.0);
        self.at = now.max(self.at);
    }

    /// Amazon refused a call at `now`: its bucket is empty whatever the view said.
    pub fn empty(&mut self, now: DateTime<Utc>) {
        self.tokens = 0.0;
        self.at = now.max(self.at);
    }

    /// Amazon's `x-amzn-RateLimit-Limit` names the rate that applies to this seller.
    pub fn set_rate(&mut self, now: DateTime<Utc>, rate: f64) {
        if rate.is_finite() && rate > 0.0 && rate <= 1000.0 {
            // The time since the last look refilled at the lower of the two rates: a
            // header that lowers the rate must not leave what the old one promised.
            let slower = Self {
                rate: self.rate.min(rate),
                ..*self
            };
            self.tokens = slower.tokens_at(now);
            self.at = now.max(self.at);
            self.rate = rate;
        }
    }
}

fn key(plan: &UsagePlan) -> String {
    format!("{}{}", crate::keys::PACING_PREFIX, plan.name)
}

/// The stored view of `plan`'s bucket, or a full one. A damaged record is replaced
/// by a full bucket: the worst case is one 429, which corrects it.
pub fn load(store: &Store<'_>, plan: &UsagePlan, now: DateTime<Utc>) -> Bucket {
    match store.load::<Bucket>(&key(plan)) {
        Ok(Some(bucket)) if bucket.rate > 0.0 && bucket.tokens.is_finite() => bucket,
        _ => Bucket::full(plan, now),
    }
}

/// Stores the view of `plan`'s bucket.
pub fn save(store: &Store<'_>, plan: &UsagePlan, bucket: &Bucket) -> Result<(), Error> {
    store.save(&key(plan), bucket)
}

/// When `plan` can next be called, from the stored view.
pub fn ready_at(store: &Store<'_>, plan: &UsagePlan, now: DateTime<Utc>) -> DateTime<Utc> {
    load(store, plan, now).ready_at(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    #[test]
    fn a_full_burst_then_one_token_per_period() {
        let start = at("2026-11-20T00:00:00Z");
        let plan = UsagePlan::SEARCH_ORDERS;
        let mut bucket = Bucket::full(&plan, start);
        for _ in 0..20 {
            assert_eq!(bucket.ready_at(start), start);
            bucket.spend(start);
        }
        let next = bucket.ready_at(start);
        let period = (next - start).num_milliseconds();
        assert_eq!(
            period, 178_572,
            "1 / 0.0056 s, rounded up to the millisecond"
        );
        assert_eq!(
            bucket.ready_at(next),
            next,
            "the token is there when promised"
        );
        bucket.spend(next);
        // The fraction of a token left over from rounding up carries on: two tokens
        // take exactly two periods.
        assert_eq!((bucket.ready_at(next) - start).num_milliseconds(), 357_143);
    }

    #[test]
    fn throttling_empties_and_the_header_changes_the_rate() {
        let start = at("2026-11-20T00:00:00Z");
        let mut bucket = Bucket::full(&UsagePlan::GET_ORDER, start);
        bucket.empty(start);
        assert_eq!((bucket.ready_at(start) - start).num_milliseconds(), 2000);
        bucket.set_rate(start, 10.0);
        assert_eq!((bucket.ready_at(start) - start).num_milliseconds(), 100);
        bucket.set_rate(start, f64::NAN);
        assert_eq!(bucket.rate, 10.0, "a nonsense header is ignored");
    }

    #[test]
    fn a_lower_rate_learned_late_refills_nothing_at_the_old_one() {
        let start = at("2026-11-20T00:00:00Z");
        let mut bucket = Bucket::full(&UsagePlan::SEARCH_ORDERS, start);
        bucket.empty(start);
        // The answer says the seller's rate is a tenth of the default, 100 s after
        // the request: those 100 s refilled at the seller's rate, not the default.
        let answered = start + Duration::seconds(100);
        bucket.set_rate(answered, 0.00056);
        assert!((bucket.tokens_at(answered) - 0.056).abs() < 1e-9);
    }

    #[test]
    fn the_bucket_never_holds_more_than_its_burst() {
        let start = at("2026-11-20T00:00:00Z");
        let mut bucket = Bucket::full(&UsagePlan::CONFIRM_SHIPMENT, start);
        bucket.empty(start);
        assert_eq!(bucket.tokens_at(start + Duration::days(3)), 10.0);
        assert_eq!(bucket.tokens_at(start - Duration::days(3)), 0.0);
    }
}
