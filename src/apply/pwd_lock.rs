//! The password-file lock, taken as glibc's `lckpwdf(3)` takes it (and so
//! shadow-utils' passwd/useradd/chpasswd, systemd-sysusers and
//! systemd-firstboot): an fcntl write lock on `/etc/.pwd.lock`, waited for
//! with a bound (glibc waits 15 s). Held while /etc/shadow is replaced, so
//! that no other writer's read-modify-write of shadow interleaves with ours.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::files::Root;

pub const PWD_LOCK: &str = "/etc/.pwd.lock";
/// glibc's `lckpwdf` gives up after this long.
pub const PWD_LOCK_WAIT: Duration = Duration::from_secs(15);

/// Held while alive: closing the file releases the lock.
pub struct PwdLock {
    _file: File,
}

/// Takes the lock, waiting up to `PWD_LOCK_WAIT` for another holder.
pub fn acquire(root: &Root) -> Result<PwdLock, Error> {
    let failed = |e: std::io::Error| Error::Failed(format!("taking the password-file lock {PWD_LOCK}: {e}"));
    // As glibc: created 0600 if missing, opened for writing (a write lock needs it).
    let file = root.open_lock_file(PWD_LOCK, 0o600).map_err(failed)?;
    let deadline = Instant::now() + PWD_LOCK_WAIT;
    let mut told = false;
    loop {
        // SAFETY: a zeroed flock is valid; the fields set are the lock wanted.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = libc::F_WRLCK as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: a valid descriptor and a pointer to a live flock.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } == 0 {
            return Ok(PwdLock { _file: file });
        }
        let e = std::io::Error::last_os_error();
        let busy = matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES | libc::EINTR));
        if !busy {
            return Err(failed(e));
        }
        if Instant::now() >= deadline {
            return Err(Error::Failed(format!(
                "{PWD_LOCK} is still held after {} s (passwd, useradd, systemd-sysusers or systemd-firstboot is changing the password files); /etc/shadow was not changed",
                PWD_LOCK_WAIT.as_secs()
            )));
        }
        if !told {
            log::info!("waiting for {PWD_LOCK}: another program is changing the password files");
            told = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
