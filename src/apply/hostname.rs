//! The host name's live effect: the running kernel's name (the files are
//! planned in `plan::hostname`).

use crate::error::Error;

/// sethostname(2): the running kernel's name, without waiting for a reboot.
pub fn set_live(name: &str) -> Result<(), Error> {
    nix::unistd::sethostname(name).map_err(|e| Error::Failed(format!("sethostname({name}): {e}")))
}
