//! Random bytes from the kernel, for the per-host drop key and the password
//! salts.

use std::io;

/// Fills `buf` from getrandom(2): no /dev needed (a chroot preparing an
/// image may have none); blocks only until the kernel's pool is initialised.
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: the pointer and length describe `rest`, a live, writable slice.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else {
            filled += got as usize;
        }
    }
    Ok(())
}
