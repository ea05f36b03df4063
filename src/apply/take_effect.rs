//! Making the stack read osconf's files in this boot, where it would
//! otherwise work from the old ones: what the stack's [`TakeEffect`] says
//! (see each stack's folder under `plan/network/` for why). Most stacks
//! read their files when they start, after osconf; netplan's generator ran
//! before any unit, and is run again.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::files::Root;
use crate::plan::network::TakeEffect;

/// How long a generator may take before osconf gives up on it.
const LIMIT: Duration = Duration::from_secs(30);

/// Carries out `effect`; never fails the apply (the files are in place for
/// the next boot whatever happens here). Only on the running system: an
/// offline image reads its files when it boots.
pub fn now(effect: &TakeEffect, root: &Root) {
    let TakeEffect::Generate { what, paths, reader } = *effect else { return };
    if !root.is_host() {
        return;
    }
    let Some(generator) = paths.iter().find(|p| root.is_file(p)) else {
        log::warn!("{what} is not in {}: {reader} reads osconf's files from the next boot on", paths.join(", "));
        return;
    };
    match run_bounded(Command::new(generator), LIMIT) {
        Ok(()) => log::info!("ran {generator}: {reader} starts from osconf's configuration in this boot"),
        Err(e) => log::warn!("{generator} failed ({e}): {reader} reads osconf's files from the next boot on"),
    }
}

/// Runs a program (never a shell) with no input, and waits for it up to `limit`.
fn run_bounded(mut command: Command, limit: Duration) -> Result<(), String> {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => {
                let mut err = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
                }
                return Err(format!("{status}: {}", err.trim()));
            }
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {} s, stopped", limit.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_run_without_a_shell_and_bounded() {
        assert_eq!(run_bounded(Command::new("true"), LIMIT), Ok(()));
        assert!(run_bounded(Command::new("false"), LIMIT).unwrap_err().contains("exit status: 1"));
        let mut slow = Command::new("sleep");
        slow.arg("5");
        assert!(run_bounded(slow, Duration::from_millis(100)).unwrap_err().contains("stopped"));
    }

    /// The stack's description alone decides what runs: the first of its
    /// paths that exists, and only on the running system.
    #[test]
    fn a_generator_runs_from_the_first_path_that_exists_only_on_the_host() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("osconf-take-effect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (script, marker) = (dir.join("generate"), dir.join("ran"));
        std::fs::write(&script, format!("#!/bin/sh\necho ran >> '{}'\n", marker.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let leak = |path: &std::path::Path| -> &'static str { Box::leak(path.display().to_string().into_boxed_str()) };
        let paths: &'static [&'static str] = Box::leak(Box::new([leak(&dir.join("missing")), leak(&script)]));
        let effect = TakeEffect::Generate { what: "a test generator", paths, reader: "nothing" };

        now(&effect, &Root::new(&dir));
        assert!(!marker.exists(), "run for an offline image");
        now(&effect, &Root::new("/"));
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
