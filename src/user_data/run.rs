//! Running a user-data script or a `runcmd` command: as root, in `/`, with
//! a clean environment (`PATH`, `HOME=/root`, `LANG=C`), stdin /dev/null,
//! in a process group of its own; under `--root DIR` chrooted into DIR
//! (fork, chroot, chdir /, exec). A script is written to a private file
//! (0700 in a 0700 directory) and exec'd directly: the kernel reads its
//! `#!`. osconf uses no shell itself; only `runcmd` strings go through
//! `/bin/sh -c`, as cloud-init defines them.
//!
//! Output (stdout and stderr, one pipe) goes to the log and is appended to
//! [`LOG_PATH`] (created 0600: user data can hold secrets). A run past its
//! time is killed with its whole process group. Nothing here fails the
//! command: every outcome is reported in an [`Outcome`].

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::files::{write_atomic, Mode, Root};

/// The user data's log (beneath the root), 0600.
pub const LOG_PATH: &str = "/var/log/osconf-user-data.log";
/// Where scripts are written before they run (0700).
pub const SCRIPT_DIR: &str = "/var/lib/osconf/user-data";
/// The default bound on one script's or command's run time.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The clean environment every run gets.
const ENVIRONMENT: [(&str, &str); 3] = [("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), ("HOME", "/root"), ("LANG", "C")];
/// Longest output line kept whole in the log (a longer one is cut there).
const MAX_LINE: usize = 4096;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    TimedOut(Duration),
    NotStarted(String),
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    /// A shell's exit code for it (128+signal, 124 for the timeout as
    /// timeout(1) does, 127 when it could not start).
    pub fn code(&self) -> i32 {
        match self {
            Outcome::Exited(code) => *code,
            Outcome::Signalled(signal) => 128 + signal,
            Outcome::TimedOut(_) => 124,
            Outcome::NotStarted(_) => 127,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(code) => write!(f, "exit code {code}"),
            Outcome::Signalled(signal) => write!(f, "killed by signal {signal}"),
            Outcome::TimedOut(after) => write!(f, "killed after the {} s timeout", after.as_secs()),
            Outcome::NotStarted(why) => write!(f, "not started: {why}"),
        }
    }
}

/// Runs scripts and commands beneath one root, logging to one file.
pub struct Runner<'a> {
    root: &'a Root,
    timeout: Duration,
    log: File,
    /// The root to chroot into; `None` on the host's own root.
    chroot: Option<CString>,
}

impl<'a> Runner<'a> {
    /// Opens (creates 0600) the log beneath `root`.
    pub fn new(root: &'a Root, timeout: Duration) -> Result<Runner<'a>, Error> {
        let failed = |e: std::io::Error| Error::Failed(format!("opening {}: {e}", root.path(LOG_PATH).display()));
        let log = root.open_lock_file(LOG_PATH, 0o600).map_err(failed)?;
        root.set_mode(LOG_PATH, 0o600).map_err(failed)?;
        let chroot = if root.is_host() {
            None
        } else {
            let base = std::path::absolute(root.base())
                .map_err(|e| Error::Failed(format!("{}: {e}", root.base().display())))?;
            Some(
                CString::new(base.as_os_str().as_bytes())
                    .map_err(|_| Error::Usage("--root: a NUL byte in the path".into()))?,
            )
        };
        Ok(Runner { root, timeout, log, chroot })
    }

    /// A line in the log file (and nowhere else).
    pub fn note(&mut self, line: &str) {
        let _ = self.log.seek(SeekFrom::End(0)).and_then(|_| writeln!(self.log, "osconf: {line}"));
    }

    /// Writes `body` to a private file and runs it.
    pub fn script(&mut self, name: &str, index: usize, body: &[u8]) -> Outcome {
        let path = format!("{SCRIPT_DIR}/part-{index:03}");
        let written = self
            .root
            .create_dir(SCRIPT_DIR, 0o700, (0, 0))
            .and_then(|()| self.root.set_mode(SCRIPT_DIR, 0o700))
            .and_then(|()| write_atomic(self.root, &path, body, Mode::Exact(0o700)));
        let outcome = match written {
            Ok(()) => self.run(name, std::slice::from_ref(&path)),
            Err(e) => Outcome::NotStarted(format!("writing {path}: {e}")),
        };
        // It may hold a password: gone once run.
        if let Err(e) = crate::files::remove_durably(self.root, &path) {
            log::warn!("user data: removing {path}: {e}");
        }
        outcome
    }

    /// Runs `argv` (its program an absolute path, or found in PATH), waits
    /// for it within the timeout, and logs it.
    pub fn run(&mut self, name: &str, argv: &[String]) -> Outcome {
        log::info!("user data: running {name}");
        self.note(&format!("running {name} at {}", unix_now()));
        let outcome = self.spawn_and_wait(name, argv);
        self.note(&format!("{name}: {outcome}"));
        if outcome.succeeded() {
            log::info!("user data: {name}: {outcome}");
        } else {
            log::warn!("user data: {name}: {outcome}");
        }
        outcome
    }

    fn spawn_and_wait(&mut self, name: &str, argv: &[String]) -> Outcome {
        let Some((program, args)) = argv.split_first() else { return Outcome::NotStarted("an empty command".into()) };
        let (mut reader, writer) = match std::io::pipe() {
            Ok(pipe) => pipe,
            Err(e) => return Outcome::NotStarted(format!("pipe: {e}")),
        };
        let mut command = Command::new(program);
        command.args(args).env_clear().envs(ENVIRONMENT).current_dir("/").stdin(Stdio::null()).process_group(0);
        match writer.try_clone() {
            Ok(copy) => command.stdout(writer).stderr(copy),
            Err(e) => return Outcome::NotStarted(format!("pipe: {e}")),
        };
        if let Some(base) = self.chroot.clone() {
            // SAFETY: runs in the child between fork and exec; chroot(2) and
            // chdir(2) are async-signal-safe and the path was made before the fork.
            unsafe {
                command.pre_exec(move || {
                    if libc::chroot(base.as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = match spawn(&mut command) {
            Ok(child) => child,
            Err(e) => return Outcome::NotStarted(e.to_string()),
        };
        // The parent's copies of the pipe's write end go with the command.
        drop(command);
        let deadline = Instant::now() + self.timeout;
        let mut lines = Lines::default();
        let _ = set_nonblocking(&reader);
        let mut open = true;
        loop {
            if open {
                open = self.pump(&mut reader, &mut lines, name, deadline);
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
            match child.try_wait() {
                Ok(Some(status)) => {
                    // What it wrote last; a child it left running may hold the pipe: not waited for.
                    self.drain(&mut reader, &mut lines, name);
                    self.flush_line(&mut lines, name);
                    return match (status.code(), status.signal()) {
                        (Some(code), _) => Outcome::Exited(code),
                        (None, Some(signal)) => Outcome::Signalled(signal),
                        (None, None) => Outcome::NotStarted("no exit status".into()),
                    };
                }
                Ok(None) => {}
                Err(e) => return Outcome::NotStarted(format!("waiting: {e}")),
            }
            if Instant::now() >= deadline {
                // The whole group: a script's children go with it.
                // SAFETY: kill(2) with the child's process group id.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                self.drain(&mut reader, &mut lines, name);
                self.flush_line(&mut lines, name);
                return Outcome::TimedOut(self.timeout);
            }
        }
    }

    /// Waits (up to 100 ms, never past `deadline`) for output and passes it
    /// on; `false` once the pipe is closed.
    fn pump(&mut self, reader: &mut std::io::PipeReader, lines: &mut Lines, name: &str, deadline: Instant) -> bool {
        let wait = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
        let mut poll = libc::pollfd { fd: reader.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, wait.as_millis() as libc::c_int) };
        if ready <= 0 {
            return true;
        }
        let mut buffer = [0u8; 8192];
        match reader.read(&mut buffer) {
            Ok(0) => false,
            Ok(n) => {
                self.output(&buffer[..n], lines, name);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => true,
            Err(_) => false,
        }
    }

    /// What is in the pipe now, without waiting.
    fn drain(&mut self, reader: &mut std::io::PipeReader, lines: &mut Lines, name: &str) {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            self.output(&buffer[..n], lines, name);
        }
    }

    /// Output bytes: into the log file as they are, and line by line into the log.
    fn output(&mut self, bytes: &[u8], lines: &mut Lines, name: &str) {
        let _ = self.log.seek(SeekFrom::End(0)).and_then(|_| self.log.write_all(bytes));
        for &byte in bytes {
            if byte == b'\n' {
                self.flush_line(lines, name);
            } else if lines.current.len() < MAX_LINE {
                lines.current.push(byte);
            }
        }
    }

    fn flush_line(&mut self, lines: &mut Lines, name: &str) {
        if !lines.current.is_empty() {
            log::info!("user data: {name}: {}", String::from_utf8_lossy(&lines.current));
            lines.current.clear();
        }
    }
}

/// The output line being gathered for the log.
#[derive(Default)]
struct Lines {
    current: Vec<u8>,
}

/// Spawns, retrying a moment on ETXTBSY: a script just written may still be
/// open for writing in a child another thread is forking.
fn spawn(command: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn set_nonblocking(reader: &std::io::PipeReader) -> std::io::Result<()> {
    let fd = reader.as_raw_fd();
    // SAFETY: fcntl on a descriptor this process owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Seconds since the epoch, for the log and the record.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree(name: &str) -> Root {
        let dir = std::env::temp_dir().join(format!("osconf-run-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Root::new(dir)
    }

    #[test]
    fn output_exit_code_environment_and_log_mode() {
        let log_root = tree("out");
        // On the host's root the log would be the host's: a runner beneath a tree, not chrooted.
        let mut runner = Runner::new(&log_root, Duration::from_secs(10)).unwrap();
        runner.chroot = None;
        let outcome =
            runner.run("env", &["/bin/sh".into(), "-c".into(), "pwd; env | sort; echo oops >&2; exit 3".into()]);
        assert_eq!(outcome, Outcome::Exited(3));
        let log = std::fs::read_to_string(log_root.path(LOG_PATH)).unwrap();
        assert!(log.contains("/\nHOME=/root\nLANG=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"), "{log}");
        assert!(log.contains("oops\n") && log.contains("osconf: env: exit code 3"), "{log}");
        let mode = std::fs::metadata(log_root.path(LOG_PATH)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(log_root.base()).unwrap();
    }

    #[test]
    fn a_run_past_its_time_is_killed_with_its_group() {
        let log_root = tree("timeout");
        let mut runner = Runner::new(&log_root, Duration::from_millis(500)).unwrap();
        runner.chroot = None;
        let marker = log_root.path("/survivor");
        let line = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let started = Instant::now();
        let outcome = runner.run("slow", &["/bin/sh".into(), "-c".into(), line]);
        assert!(matches!(outcome, Outcome::TimedOut(_)), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "the script's child outlived the kill");
        std::fs::remove_dir_all(log_root.base()).unwrap();
    }

    #[test]
    fn a_missing_program_is_not_started() {
        let log_root = tree("missing");
        let mut runner = Runner::new(&log_root, Duration::from_secs(1)).unwrap();
        runner.chroot = None;
        assert!(matches!(runner.run("x", &["/nonexistent/x".into()]), Outcome::NotStarted(_)));
        std::fs::remove_dir_all(log_root.base()).unwrap();
    }
}
