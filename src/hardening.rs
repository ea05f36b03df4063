//! No secret in a core dump. The drop holds the root password (Base64 of the
//! plain text on Alibaba), which osconf decodes and hashes: a crash while it
//! is in memory would write it into a core file, which systemd-coredump keeps
//! on disk, and in every image made from the instance. So each subcommand
//! first makes the process non-dumpable and its core size limit 0, before
//! any drop is read. (What is in memory is also wiped once used: the drop's
//! bytes, the decoded password and the hash's buffers are `Zeroizing`.)

/// Forbids core dumps of this process: `PR_SET_DUMPABLE` 0 (also keeps
/// other unprivileged processes of the same user from ptrace-attaching or
/// reading /proc/PID/mem) and `RLIMIT_CORE` 0, soft and hard, so that even
/// a core pattern piping to a helper gets nothing (the kernel checks the
/// dumpable flag first). A failure is only a warning: the settings still
/// apply, as a first boot without them would leave the instance unreachable.
pub fn forbid_core_dumps() {
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        log::warn!("prctl(PR_SET_DUMPABLE, 0) failed ({e}): a crash could write the password into a core dump");
    }
    if let Err(e) = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0) {
        log::warn!("setrlimit(RLIMIT_CORE, 0) failed ({e}): a crash could write the password into a core dump");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::resource::{getrlimit, Resource};

    /// Runs in a child process (this test binary, running only this test
    /// with `OSCONF_TEST_FORBID_DUMPS` set): the hardening lasts for the
    /// rest of a process, and the other tests must keep theirs as it was.
    #[test]
    fn after_the_call_the_process_is_not_dumpable_and_its_core_limit_is_zero() {
        if std::env::var_os("OSCONF_TEST_FORBID_DUMPS").is_some() {
            assert!(nix::sys::prctl::get_dumpable().unwrap(), "a test process starts dumpable");
            forbid_core_dumps();
            assert!(!nix::sys::prctl::get_dumpable().unwrap(), "PR_GET_DUMPABLE is still 1");
            assert_eq!(getrlimit(Resource::RLIMIT_CORE).unwrap(), (0, 0));
            return;
        }
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new(me)
            .args([
                "--exact",
                "hardening::tests::after_the_call_the_process_is_not_dumpable_and_its_core_limit_is_zero",
            ])
            .args(["--nocapture", "--test-threads", "1"])
            .env("OSCONF_TEST_FORBID_DUMPS", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        // The child ran this one test (a filter that matched nothing would pass too).
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
