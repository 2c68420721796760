//! Token buckets keyed by client address (log-in, pairing) or user (push
//! bombing). Log-in and pairing give the token back when the attempt
//! succeeds, so the address limits count failures (guesses), not people
//! behind one address who know their passwords. In memory and per node: a
//! node that restarts forgets, which errs towards availability; account
//! lock-outs are in the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER_MS: i64 = 10 * 60 * 1000;
const SWEEP_AT_LEN: usize = 10_000;

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token; false when the bucket is empty. `now_ms` comes from the clock.
    pub fn allow(&self, key: K, now_ms: i64) -> bool {
        let capacity = f64::from(self.per_minute);
        let Ok(mut buckets) = self.buckets.lock() else {
            return false;
        };
        if buckets.len() >= SWEEP_AT_LEN {
            buckets.retain(|_, b| now_ms - b.updated_ms < FORGET_AFTER_MS);
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: capacity, updated_ms: now_ms });
        let elapsed = (now_ms - bucket.updated_ms).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * capacity / 60_000.0).min(capacity);
        bucket.updated_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// Returns the token of an attempt that turned out to be no guess.
    pub fn refund(&self, key: &K) {
        let capacity = f64::from(self.per_minute);
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.get_mut(key)
        {
            bucket.tokens = (bucket.tokens + 1.0).min(capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_over_time_per_key() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.allow("a", 0)));
        assert!(!limiter.allow("a", 0));
        assert!(limiter.allow("b", 0), "keys are independent");
        assert!(!limiter.allow("a", 19_999));
        assert!(limiter.allow("a", 20_000), "one token per 20 s at 3/min");
        assert!(!limiter.allow("a", 20_000));
    }

    #[test]
    fn a_refund_gives_back_one_token_up_to_the_capacity() {
        let limiter = RateLimiter::new(2);
        assert!(limiter.allow("a", 0) && limiter.allow("a", 0));
        assert!(!limiter.allow("a", 0));
        limiter.refund(&"a");
        assert!(limiter.allow("a", 0), "the refunded token");
        assert!(!limiter.allow("a", 0));
        limiter.refund(&"a");
        limiter.refund(&"a");
        limiter.refund(&"a");
        assert!(limiter.allow("a", 0) && limiter.allow("a", 0));
        assert!(!limiter.allow("a", 0), "never above the capacity");
        limiter.refund(&"unknown");
        assert!(limiter.allow("unknown", 0));
    }
}
