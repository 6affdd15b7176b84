//! How long one call of a function takes, learnt from its calls so far: it
//! sizes the work handed to a thread at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A moving average of one call's time, shared by the threads that call.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// Nanoseconds per call; 0 before the first calls are timed.
    nanos: AtomicU64,
}

impl Pace {
    /// Records that `calls` calls took `elapsed` in all.
    pub fn record(&self, elapsed: Duration, calls: usize) {
        let per_call = (elapsed.as_nanos() / calls.max(1) as u128).clamp(1, u64::MAX as u128) as u64;
        let old = self.nanos.load(Ordering::Relaxed);
        let new = if old == 0 { per_call } else { (old.saturating_mul(3) / 4).saturating_add(per_call / 4) };
        self.nanos.store(new.max(1), Ordering::Relaxed);
    }

    /// How long `calls` calls are expected to take; `None` before any call
    /// was timed.
    pub fn estimate(&self, calls: usize) -> Option<Duration> {
        match self.nanos.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos.saturating_mul(calls as u64))),
        }
    }

    /// How many calls fit in `time` (at least 1, at most `max`), or
    /// `unknown` before any call was timed.
    pub fn calls_in(&self, time: Duration, unknown: usize, max: usize) -> usize {
        match self.nanos.load(Ordering::Relaxed) {
            0 => unknown,
            nanos => usize::try_from(time.as_nanos() / u128::from(nanos)).unwrap_or(usize::MAX).clamp(1, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_time_of_a_call() {
        let pace = Pace::default();
        assert_eq!(pace.estimate(10), None);
        assert_eq!(pace.calls_in(Duration::from_millis(1), 4, 256), 4);
        pace.record(Duration::from_micros(100), 10);
        assert_eq!(pace.estimate(10), Some(Duration::from_micros(100)));
        assert_eq!(pace.calls_in(Duration::from_millis(1), 4, 256), 100);
        assert_eq!(pace.calls_in(Duration::from_millis(100), 4, 256), 256);
        // Slow calls move the average a quarter of the way at a time.
        pace.record(Duration::from_millis(1), 1);
        assert_eq!(pace.estimate(1), Some(Duration::from_micros(257) + Duration::from_nanos(500)));
        pace.record(Duration::from_secs(1), 1);
        assert_eq!(pace.calls_in(Duration::from_millis(1), 4, 256), 1);
    }
}
