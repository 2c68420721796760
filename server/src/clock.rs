//! Time, passed in so that expiry and replay are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch (JWT NumericDate).
    fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The system clock plus an offset that tests move forward through the
/// test-only endpoint (`--test-clock`). Never enabled in production.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, ms: i64) -> i64 {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst) + ms
    }
}

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// A clock that only moves when told to; for unit tests.
#[cfg(test)]
#[derive(Debug)]
pub struct FixedClock(pub AtomicI64);

#[cfg(test)]
impl FixedClock {
    pub fn at(ms: i64) -> Self {
        FixedClock(AtomicI64::new(ms))
    }
}

#[cfg(test)]
impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_clock_moves_by_its_offset() {
        let c = ShiftedClock::default();
        let before = c.now_ms();
        assert_eq!(c.advance(600_000), 600_000);
        assert!(c.now_ms() >= before + 600_000);
        assert_eq!(FixedClock::at(1_999).now_s(), 1);
        assert_eq!(FixedClock::at(-1).now_s(), -1);
    }
}
