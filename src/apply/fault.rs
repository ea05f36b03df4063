//! Fault injection for the crash-consistency tests (tests/crash.rs). Debug
//! builds only — a release binary compiles this to nothing:
//! `OSCONF_TEST_FAIL_AT=N` makes the N-th step of an apply fail, and
//! `OSCONF_TEST_STEP_DELAY_MS` sleeps before each step, so that a test can
//! kill the process in the middle of an apply.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;

static STEPS: AtomicUsize = AtomicUsize::new(0);

/// Called before each step of an apply that changes something.
pub fn step(what: &str) -> Result<(), Error> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    let n = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(ms) = std::env::var("OSCONF_TEST_STEP_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if std::env::var("OSCONF_TEST_FAIL_AT").ok().and_then(|v| v.parse::<usize>().ok()) == Some(n) {
        return Err(Error::Failed(format!("injected failure at step {n} ({what})")));
    }
    Ok(())
}
