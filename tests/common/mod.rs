//! Helpers shared by the integration tests: temp trees, running the built
//! binary, and snapshots of a tree to prove what changed and what did not.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const OSCONF: &str = env!("CARGO_BIN_EXE_osconf");

/// How to start osconf: the words of `OSCONF_TEST_RUNNER`, then the binary
/// (`OSCONF_TEST_BIN`, default the one cargo built). tests/aarch64.sh sets
/// the runner to `qemu-aarch64-static`, which runs the aarch64 test binaries
/// but does not follow their execve (no binfmt_misc handler is assumed), and
/// the binary to the release build it ships.
pub fn osconf_argv() -> Vec<String> {
    let mut argv: Vec<String> =
        std::env::var("OSCONF_TEST_RUNNER").unwrap_or_default().split_whitespace().map(String::from).collect();
    argv.push(std::env::var("OSCONF_TEST_BIN").unwrap_or_else(|_| OSCONF.to_owned()));
    argv
}

/// A `Command` that runs osconf (see `osconf_argv`); add its arguments.
pub fn osconf_command() -> Command {
    let argv = osconf_argv();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// A scratch directory removed on drop.
pub struct TempTree {
    pub path: PathBuf,
}

impl TempTree {
    /// A fresh directory, its own even where two tests of one binary, run
    /// at once, ask for the same name (a number per tree made).
    pub fn new(name: &str) -> TempTree {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("osconf-test-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempTree { path }
    }

    pub fn join(&self, guest_path: &str) -> PathBuf {
        self.path.join(guest_path.trim_start_matches('/'))
    }

    pub fn write(&self, guest_path: &str, content: &str, mode: u32) {
        let path = self.join(guest_path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn read(&self, guest_path: &str) -> String {
        fs::read_to_string(self.join(guest_path)).unwrap_or_else(|e| panic!("{guest_path}: {e}"))
    }

    pub fn mode(&self, guest_path: &str) -> u32 {
        fs::metadata(self.join(guest_path)).unwrap().permissions().mode() & 0o7777
    }

    pub fn exists(&self, guest_path: &str) -> bool {
        self.join(guest_path).symlink_metadata().is_ok()
    }

    /// Every file under the tree with its bytes and mode (the lock files excluded).
    pub fn snapshot(&self) -> BTreeMap<String, (Vec<u8>, u32)> {
        snapshot(&self.path)
    }

    /// Copies a fixture directory into the tree.
    pub fn copy_from(&self, dir: &Path) {
        copy_dir(dir, &self.path);
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Every file under `dir` (relative path → bytes and mode; a symlink as its
/// target), the lock files excluded: osconf's run lock, and the password-file
/// lock it creates empty as glibc's lckpwdf does (tests/shadow_lock.rs).
pub fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.remove("run/osconf.lock");
    out.remove("etc/.pwd.lock");
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, u32)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        if meta.is_dir() {
            walk(base, &path, out);
        } else if meta.file_type().is_symlink() {
            out.insert(rel, (fs::read_link(&path).unwrap().to_string_lossy().as_bytes().to_vec(), 0o777));
        } else if !meta.is_file() {
            // A FIFO or device node: reading it would block or never end.
            out.insert(
                rel,
                (format!("<special {:o}>", meta.permissions().mode()).into_bytes(), meta.permissions().mode() & 0o7777),
            );
        } else {
            out.insert(rel, (fs::read(&path).unwrap(), meta.permissions().mode() & 0o7777));
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        if meta.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the built binary; returns (exit code, stdout, stderr).
pub fn osconf(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } =
        osconf_command().args(args).env_remove("OSCONF_LOG").output().expect("run osconf");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Runs a distribution's tool (`netplan`, `nmcli`, `ifup`, …) with `input`
/// on its stdin; its output, a tool this machine lacks named as what
/// tests/install-deps.sh installs.
pub fn run_tool(program: &str, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (tests/install-deps.sh installs it)"));
    if let Some(bytes) = input {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs `command` (stdout discarded); returns (exit code, stderr). Killed
/// after `limit`, and the test fails: a hang is a bug, not a slow run.
pub fn run_within(mut command: Command, limit: Duration) -> (i32, String) {
    let mut child =
        command.env_remove("OSCONF_LOG").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("run osconf");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("osconf still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the test `test` alone in a child process of this test binary
/// (`--exact`, one thread), where `work` does the test's part: no other
/// test's memory or threads are in the way of what it inspects in its
/// own process. In the child, `work` runs here directly.
pub fn alone_in_a_child(test: &str, work: fn()) {
    const CHILD: &str = "OSCONF_TEST_ALONE";
    if std::env::var_os(CHILD).is_some() {
        return work();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("OSCONF_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// True when libc's crypt would accept `password` for `hash` (checked with
/// `openssl passwd -6`, which computes the same SHA-512 crypt).
pub fn crypt_matches(password: &str, hash: &str) -> bool {
    let salt = hash.split('$').nth(2).expect("a $6$salt$hash");
    let out =
        Command::new("openssl").args(["passwd", "-6", "-salt", salt, password]).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl passwd failed");
    String::from_utf8_lossy(&out.stdout).trim() == hash
}

/// A minimal image: shadow, hosts, hostname, resolv.conf.
pub fn minimal_image(tree: &TempTree) {
    tree.write(
        "/etc/shadow",
        "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nalice:$6$abc$def:19000:0:99999:7:::\n",
        0o640,
    );
    tree.write("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n", 0o644);
    tree.write("/etc/hostname", "old-name\n", 0o644);
    tree.write("/etc/resolv.conf", "search example.internal\nnameserver 192.0.2.53\noptions timeout:2\n", 0o644);
}

pub const DROP: &str = "/boot/aliyun_custom_image/os.conf";

/// Files a golden case's apply writes whose content is not reproducible
/// (a random salt, the record's time, the host's random key): checked elsewhere.
pub const GOLDEN_DYNAMIC: [&str; 4] = [
    "etc/shadow",
    "var/lib/osconf/records/alibaba-drop.json",
    "var/lib/osconf/records/openstack-drive.json",
    "var/lib/osconf/drop.key",
];

/// What a golden case `tests/golden/<group>/<case>/` gives the apply of
/// its image (in `tree`): its `os.conf` drop, written into the tree; or,
/// where the case has a file `openstack-drive` naming a folder of
/// `tests/fixtures/openstack/`, a config drive tree holding that folder's
/// `meta_data.json` and `network_data.json` (read-only: nothing of it is
/// deleted), given as `--from openstack-drive=DIR`.
pub struct GoldenInput {
    /// The arguments after `apply --root TREE`.
    pub args: Vec<String>,
    /// The drive, removed when this is dropped.
    pub drive: Option<TempTree>,
    /// Whether the input sets root's password.
    pub sets_password: bool,
}

pub fn golden_input(case: &Path, tree: &TempTree) -> GoldenInput {
    let Ok(fixture) = fs::read_to_string(case.join("openstack-drive")) else {
        let drop = fs::read_to_string(case.join("os.conf")).unwrap();
        tree.write(DROP, &drop, 0o644);
        return GoldenInput { args: Vec::new(), drive: None, sets_password: drop.contains("password=") };
    };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openstack").join(fixture.trim());
    let drive = TempTree::new(&format!("golden-drive-{}", case.file_name().unwrap().to_string_lossy()));
    let mut sets_password = false;
    for file in ["meta_data.json", "network_data.json"] {
        let text = fs::read_to_string(fixture.join(file)).unwrap();
        sets_password |= file == "meta_data.json" && text.contains("\"admin_pass\"");
        drive.write(&format!("/openstack/latest/{file}"), &text, 0o644);
    }
    let args = vec!["--from".to_owned(), format!("openstack-drive={}", drive.path.display())];
    GoldenInput { args, drive: Some(drive), sets_password }
}

/// A metadata endpoint on loopback that knows only a host name (and the
/// instance id without which it would not be believed).
pub fn metadata_with_hostname(name: &'static str) -> String {
    let answer = move |line: &str, _: &str| match line {
        "GET /latest/meta-data/hostname HTTP/1.1" => (200, name.to_owned()),
        "GET /latest/meta-data/instance-id HTTP/1.1" => (200, "i-bp1media000000001".to_owned()),
        _ => (404, String::new()),
    };
    metadata_server::Server::default().serve(std::sync::Arc::new(answer)).0
}

pub mod metadata_server;
