//! Making the stack read osconf's files in this boot, where it would
//! otherwise work from the old ones: what the stack's [`TakeEffect`] says
//! (see each stack's folder under `plan/network/` for why). Most stacks
//! read their files when they start, after osconf; netplan's generator ran
//! before any unit, and is run again.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::files::Root;
use crate::plan::network::{AsGenerator, TakeEffect};

/// How long a generator may take before osconf gives up on it.
const LIMIT: Duration = Duration::from_secs(30);

/// Carries out `effect`; never fails the apply (the files are in place for
/// the next boot whatever happens here). Only on the running system: an
/// offline image reads its files when it boots.
pub fn now(effect: &TakeEffect, root: &Root) {
    run(effect, root, &root.path(GENERATOR_OUT));
}

/// [`now`], with a generator run's output directories at `out`.
fn run(effect: &TakeEffect, root: &Root, out: &Path) {
    let TakeEffect::Generate { what, paths, reader, as_generator } = *effect else { return };
    if !root.is_host() {
        return;
    }
    if let Some(link) = as_generator.and_then(|g| generator_run(&g, root, out)) {
        let mut command = Command::new(link);
        command.args([out, out, out]);
        let ran = run_bounded(command, LIMIT);
        let _ = std::fs::remove_dir_all(out);
        match ran {
            Ok(()) => log::info!(
                "ran {link} as systemd does: {reader} starts from osconf's configuration in this boot (its \
                 units were added to this boot by the generator's run at boot)"
            ),
            Err(e) => log::warn!("{link} failed ({e}): {reader} reads osconf's files from the next boot on"),
        }
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

/// Where osconf's generator run writes what systemd would read from a
/// generator's output directories (its units are in this boot already).
const GENERATOR_OUT: &str = "/run/osconf/generator";

/// The generator's link, with `out` made a fresh, empty directory, when the
/// run at boot added its units to this boot; else None (run it as a program).
fn generator_run(generator: &AsGenerator, root: &Root, out: &Path) -> Option<&'static str> {
    if !generator.units_added.iter().all(|p| root.exists(p)) {
        return None;
    }
    let link = generator.links.iter().find(|p| root.is_file(p))?;
    let _ = std::fs::remove_dir_all(out);
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(out).ok()?;
    Some(link)
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
        let effect = TakeEffect::Generate { what: "a test generator", paths, reader: "nothing", as_generator: None };

        now(&effect, &Root::new(&dir));
        assert!(!marker.exists(), "run for an offline image");
        now(&effect, &Root::new("/"));
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Run as systemd runs it (from its generator link, three output
    /// directories, removed after) only once the run at boot added its units
    /// to this boot; else as a program, without arguments.
    #[test]
    fn a_generator_runs_as_systemd_does_once_its_units_are_in_this_boot() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("osconf-as-generator-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("systemd/system-generators")).unwrap();
        let (program, marker) = (dir.join("generate"), dir.join("ran"));
        // What it was called as and with: netplan's generate tells its modes apart by argv[0].
        let script = format!("#!/bin/sh\necho \"$0 $*\" >> '{}'\n[ $# = 0 ] || [ -d \"$1\" ]\n", marker.display());
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.join("systemd/system-generators/netplan");
        symlink(&program, &link).unwrap();
        let leak = |path: &Path| -> &'static str { Box::leak(path.display().to_string().into_boxed_str()) };
        let stamp = dir.join("netplan.stamp");
        let effect = TakeEffect::Generate {
            what: "a test generator",
            paths: Box::leak(Box::new([leak(&program)])),
            reader: "nothing",
            as_generator: Some(AsGenerator {
                links: Box::leak(Box::new([leak(&dir.join("missing")), leak(&link)])),
                units_added: Box::leak(Box::new([leak(&stamp)])),
            }),
        };
        let out = dir.join("out");

        run(&effect, &Root::new("/"), &out);
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            format!("{} \n", program.display()),
            "no stamp: a program"
        );
        std::fs::remove_file(&marker).unwrap();
        std::fs::write(&stamp, "").unwrap();
        run(&effect, &Root::new("/"), &out);
        let o = out.display();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), format!("{} {o} {o} {o}\n", link.display()));
        assert!(!out.exists(), "its output directory is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
