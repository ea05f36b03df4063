//! Time: where an apply's time goes (each step logs its duration at debug
//! level, `OSCONF_LOG=debug`, so a slow boot can be read step by step), and
//! the wall clock's seconds for the record and the shadow file.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch; 0 if the clock is before it.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Times consecutive steps: each [`lap`](Stopwatch::lap) logs the time since
/// the previous one (or the start).
pub struct Stopwatch {
    last: Instant,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch { last: Instant::now() }
    }

    pub fn lap(&mut self, step: &str) {
        let now = Instant::now();
        log::debug!("time: {step} {:.3} ms", now.duration_since(self.last).as_secs_f64() * 1e3);
        self.last = now;
    }
}
