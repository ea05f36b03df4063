//! One osconf at a time: an advisory lock held for the whole run.

use std::fs::File;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::Error;
use crate::files::Root;

pub const LOCK_PATH: &str = "/run/osconf.lock";

/// Held while alive; released when dropped (or when the process dies).
pub struct RunLock {
    _lock: Flock<File>,
}

/// Waits up to `timeout` for another osconf to finish, then gives up cleanly.
pub fn acquire(root: &Root, timeout: Duration) -> Result<RunLock, Error> {
    let deadline = Instant::now().checked_add(timeout).ok_or_else(|| Error::Failed("lock wait too long".into()))?;
    let mut told = false;
    loop {
        let file = root.open_lock_file(LOCK_PATH, 0o666).map_err(|e| Error::Failed(e.to_string()))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(RunLock { _lock: lock }),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                if !told {
                    log::info!("another osconf is running; waiting for it to finish");
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err((_, e)) => {
                return Err(Error::Failed(format!(
                    "another osconf is still running after {}s ({e}); giving up",
                    timeout.as_secs()
                )))
            }
        }
    }
}
