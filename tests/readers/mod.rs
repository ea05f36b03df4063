//! Every reader of the image's files (and of what a cloud serves) as a
//! [`Target`]: the input goes where the reader reads it, in a tree of its
//! own, and the reader runs through osconf's public entry point, the way a
//! plan runs it. Shared by tests/proptest_readers.rs and tests/fuzz_readers.rs
//! (which names each reader and the test that covers it).
//!
//! A target's `run` returns `Err` when the reader broke its contract; a
//! panic or a hang is caught by the caller. The contract: an image file osconf
//! only reads never fails the plan (what it does not understand is a warning
//! naming the file and line); a file osconf edits fails it only with an error
//! naming that file, and only where it is not UTF-8 text or cannot be edited
//! safely (shadow without root's line).
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use osconf::apply;
use osconf::config::Config;
use osconf::drop_key::DropKey;
use osconf::files::Root;
use osconf::plan::dns::{self, DnsMode};
use osconf::plan::network::{self, Stack};
use osconf::plan::{hostname, password, ssh_keys};
use osconf::record::Record;
use osconf::settings::{Settings, SshKey};
use osconf::sources::alibaba_metadata::{read as read_metadata, Document, Fetch, Items};
use osconf::sources::http::{parse_response, MAX_BODY};
use osconf::sources::media::iso9660;
use osconf::sources::openstack_format::{self, Options};
use osconf::sources::osconf_format;
use osconf::user_data::{cloud_config, format as user_data};

const OPENSTACK: Options = Options { password: true };

use crate::common::TempTree;

/// One reader, fed through the file at `path` in its tree.
pub struct Target {
    pub name: &'static str,
    /// Where the input goes (guest path).
    pub path: &'static str,
    /// Its corpus: files under tests/corpus/image/<dir>, the golden images'
    /// files whose guest path starts with one of `golden`, and files the
    /// distribution's packages installed on this machine (`system`: files or
    /// directories, those absent skipped).
    dir: &'static str,
    golden: &'static [&'static str],
    system: &'static [&'static str],
    /// Makes the rest of the tree the reader needs.
    setup: fn(&TempTree),
    run: fn(&Root, &[u8]) -> Result<(), String>,
}

impl Target {
    /// A tree set up for this target (the input not written yet).
    pub fn tree(&self, tag: &str) -> TempTree {
        let tree = TempTree::new(&format!("readers-{tag}-{}", self.name));
        (self.setup)(&tree);
        tree
    }

    /// Writes `input` where the reader reads it in the tree at `base` and runs the reader.
    pub fn feed(&self, base: &Path, input: &[u8]) -> Result<(), String> {
        let path = base.join(self.path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, input).unwrap();
        (self.run)(&Root::new(base), input)
    }

    /// Runs the reader on the tree at `base` as it is (nothing written).
    pub fn run_only(&self, base: &Path) -> Result<(), String> {
        (self.run)(&Root::new(base), b"")
    }

    /// The corpus, as (where it came from, bytes), sorted.
    pub fn corpus(&self) -> Vec<(String, Vec<u8>)> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        collect(&manifest.join("tests/corpus/image").join(self.dir), &mut files);
        let golden = manifest.join("tests/golden");
        let mut images = Vec::new();
        collect(&golden, &mut images);
        images.retain(|p| {
            let text = p.to_string_lossy();
            let Some((_, guest)) = text.split_once("/image/") else { return false };
            self.golden.iter().any(|g| format!("/{guest}").starts_with(g))
        });
        files.extend(images);
        for system in self.system {
            collect(Path::new(system), &mut files);
        }
        let mut corpus: Vec<(String, Vec<u8>)> =
            files.into_iter().filter_map(|p| Some((p.display().to_string(), std::fs::read(&p).ok()?))).collect();
        corpus.sort();
        corpus
    }

    /// The hand-written corpus files (tests/corpus/image/<dir>) only.
    pub fn own_corpus_count(&self) -> usize {
        let mut files = Vec::new();
        collect(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/image").join(self.dir), &mut files);
        files.len()
    }
}

/// Regular files under `path` (or `path` itself), recursively.
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::metadata(path) else { return };
    if meta.is_file() {
        out.push(path.to_path_buf());
    } else if meta.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            collect(&entry.path(), out);
        }
    }
}

/// The drop the network and host name targets render: two NICs, routes, DNS.
const DROP: &str = "hostname=iZ23r29djmjZ\neth0_ip_addr=10.171.254.123\neth0_mac_addr=00:8c:fa:5e:14:23\n\
eth0_netmask=255.255.255.0\neth0_gateway=10.171.254.1\neth0_route=\"10.0.0.0/8 10.171.254.1\"\n\
eth1_ip_addr=42.120.74.105\neth1_mac_addr=00:8c:fa:5e:14:24\neth1_netmask=255.255.255.0\n\
eth1_gateway=42.120.74.1\ndns_nameserver=\"7.7.7.7 8.8.8.8\"\n";

fn settings() -> Settings {
    osconf_format::from_drop(DROP.as_bytes(), osconf_format::ALIBABA).unwrap()
}

/// A reader osconf only reads: whatever the file holds, the plan goes on.
fn never_fails<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), String> {
    result.map(|_| ()).map_err(|e| format!("failed the plan: {e}"))
}

/// A file osconf edits: valid UTF-8 never fails the plan (unless `allowed`
/// says why); anything else fails it only with an error naming the file.
fn names_file_if_failing<T, E: std::fmt::Display>(
    result: Result<T, E>,
    path: &str,
    input: &[u8],
    allowed: &[&str],
) -> Result<(), String> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let message = e.to_string();
            if !message.contains(path) {
                return Err(format!("an error that does not name {path}: {message}"));
            }
            if std::str::from_utf8(input).is_ok() && !allowed.iter().any(|a| message.contains(a)) {
                return Err(format!("UTF-8 text failed the plan: {message}"));
            }
            Ok(())
        }
    }
}

/// The stack of this name (one of `network::STACKS`).
fn stack(name: &str) -> &'static Stack {
    Stack::from_name(name).unwrap_or_else(|| panic!("{name} is not a stack osconf knows"))
}

fn render(name: &str) -> impl Fn(&Root, &[u8]) -> Result<(), String> {
    let stack = stack(name);
    move |root, _| never_fails(network::render(stack, &settings(), root, &[]))
}

/// A stack that edits the image file at `path`: it may fail, naming it.
fn render_editing(name: &str, path: &'static str) -> impl Fn(&Root, &[u8]) -> Result<(), String> {
    let stack = stack(name);
    move |root, input| names_file_if_failing(network::render(stack, &settings(), root, &[]), path, input, &[])
}

fn write(tree: &TempTree, path: &str, content: &str) {
    tree.write(path, content, 0o644);
}

/// The NICs of `DROP` in the image's sysfs, under the names images give them.
fn nics(tree: &TempTree) {
    write(tree, "/sys/class/net/ens3/address", "00:8c:fa:5e:14:23\n");
    write(tree, "/sys/class/net/eth1/address", "00:8c:fa:5e:14:24\n");
}

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5ZNHc4aXvRxmC0D8ubrFx0aQ6LG2m5I0P8oKq9Z6s alice@example";

/// An Items tree that answers every item with the same text.
struct Echo(String);

impl Items for Echo {
    fn get(&self, _item: &str) -> Result<Fetch, osconf::sources::http::HttpError> {
        Ok(Fetch::Value(self.0.clone()))
    }
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "netplan",
        path: "/etc/netplan/50-cloud-init.yaml",
        dir: "netplan",
        golden: &["/etc/netplan/", "/lib/netplan/"],
        system: &["/usr/share/doc/netplan/examples", "/etc/netplan"],
        setup: |tree| {
            nics(tree);
            write(tree, "/usr/sbin/netplan", "");
            write(tree, "/etc/netplan/01-image.yaml", "network:\n  version: 2\n  renderer: networkd\n");
        },
        run: |root, input| render("netplan")(root, input),
    },
    Target {
        name: "networkd",
        path: "/etc/systemd/network/05-image.network",
        dir: "networkd",
        golden: &["/etc/systemd/network/", "/usr/lib/systemd/network/", "/lib/systemd/network/"],
        system: &["/usr/lib/systemd/network", "/etc/systemd/network"],
        setup: nics,
        run: |root, input| render("networkd")(root, input),
    },
    Target {
        name: "sysfs-address",
        path: "/sys/class/net/ens3/address",
        dir: "none",
        golden: &["/sys/class/net/"],
        system: &[],
        setup: |tree| write(tree, "/etc/systemd/network/05-image.network", "[Match]\nName=ens3\n"),
        run: |root, input| render("networkd")(root, input),
    },
    Target {
        name: "ifupdown",
        path: "/etc/network/interfaces",
        dir: "ifupdown",
        golden: &["/etc/network/"],
        system: &[
            "/usr/share/doc/ifupdown/examples/network-interfaces",
            "/usr/share/doc/ifupdown/examples/bridge",
            "/usr/share/doc/ifupdown/examples/pattern-matching",
            "/etc/network/interfaces",
        ],
        setup: nics,
        run: |root, input| render_editing("ifupdown", "/etc/network/interfaces")(root, input),
    },
    Target {
        name: "ifupdown-busybox",
        path: "/etc/network/interfaces",
        dir: "ifupdown",
        golden: &["/etc/network/"],
        system: &["/usr/share/doc/ifupdown/examples/network-interfaces", "/etc/network/interfaces"],
        setup: |tree| {
            nics(tree);
            write(tree, "/etc/alpine-release", "3.20.3\n");
        },
        run: |root, input| render_editing("ifupdown", "/etc/network/interfaces")(root, input),
    },
    Target {
        name: "ifcfg",
        path: "/etc/sysconfig/network-scripts/ifcfg-eth0",
        dir: "ifcfg",
        golden: &["/etc/sysconfig/network-scripts/"],
        system: &["/etc/os-release", "/usr/lib/os-release"],
        setup: |tree| {
            nics(tree);
            write(tree, "/etc/sysconfig/network-scripts/route-eth0", "10.9.0.0/16 via 10.171.254.1\n");
        },
        run: |root, input| render("rhel-ifcfg")(root, input),
    },
    Target {
        name: "nm-keyfile",
        path: "/etc/NetworkManager/system-connections/image.nmconnection",
        dir: "networkmanager",
        golden: &["/etc/NetworkManager/system-connections/"],
        system: &["/usr/share/doc/network-manager/examples", "/etc/NetworkManager/NetworkManager.conf"],
        setup: nics,
        run: |root, input| render("networkmanager")(root, input),
    },
    Target {
        name: "nm-osconf-conf",
        path: "/etc/NetworkManager/conf.d/90-osconf.conf",
        dir: "networkmanager",
        golden: &["/etc/NetworkManager/conf.d/"],
        system: &["/usr/share/doc/network-manager/examples"],
        setup: nics,
        run: |root, input| render("networkmanager")(root, input),
    },
    Target {
        name: "resolv.conf",
        path: "/etc/resolv.conf",
        dir: "resolv",
        golden: &["/etc/resolv.conf"],
        system: &["/etc/resolv.conf"],
        setup: |_| {},
        run: |root, input| {
            let servers: Vec<IpAddr> = vec!["7.7.7.7".parse().unwrap(), "2001:db8::53".parse().unwrap()];
            names_file_if_failing(dns::render(root, DnsMode::Plain, &servers), "/etc/resolv.conf", input, &[])?;
            names_file_if_failing(dns::restore(root, DnsMode::Plain), "/etc/resolv.conf", input, &[])
        },
    },
    Target {
        name: "netconfig",
        path: "/etc/sysconfig/network/config",
        dir: "sysconfig",
        golden: &["/etc/sysconfig/network/config"],
        system: &["/etc/os-release"],
        setup: |_| {},
        run: |root, input| {
            let servers: Vec<IpAddr> = vec!["7.7.7.7".parse().unwrap()];
            names_file_if_failing(
                dns::render(root, DnsMode::Netconfig, &servers),
                "/etc/sysconfig/network/config",
                input,
                &[],
            )
        },
    },
    Target {
        name: "hosts",
        path: "/etc/hosts",
        dir: "hosts",
        golden: &["/etc/hosts"],
        system: &["/etc/hosts"],
        setup: |_| {},
        run: |root, input| {
            names_file_if_failing(hostname::render(root, "iZ23r29djmjZ.example", None), "/etc/hosts", input, &[])?;
            names_file_if_failing(hostname::restore(root), "/etc/hosts", input, &[])
        },
    },
    Target {
        name: "sysconfig-network",
        path: "/etc/sysconfig/network",
        dir: "sysconfig",
        golden: &["/etc/sysconfig/network"],
        system: &["/etc/os-release", "/usr/lib/os-release"],
        setup: |_| {},
        run: |root, input| {
            names_file_if_failing(hostname::render(root, "iZ23r29djmjZ", None), "/etc/sysconfig/network", input, &[])
        },
    },
    Target {
        name: "original-hostname",
        path: "/var/lib/osconf/backup/etc/hostname",
        dir: "hostname",
        golden: &["/etc/hostname", "/var/lib/osconf/backup/etc/hostname"],
        system: &["/etc/hostname"],
        setup: |tree| write(tree, "/etc/hostname", "iZ23r29djmjZ\n"),
        run: |root, input| {
            names_file_if_failing(hostname::restore(root), "/var/lib/osconf/backup/etc/hostname", input, &[])
        },
    },
    Target {
        name: "shadow",
        path: "/etc/shadow",
        dir: "shadow",
        golden: &["/etc/shadow"],
        system: &[],
        setup: |_| {},
        run: |root, input| {
            let hash =
                "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghij";
            let rendered = password::render(root, hash, 20_000);
            // Without root's line (or with too few fields) there is nothing to set.
            names_file_if_failing(rendered, "/etc/shadow", input, &["no root account", "root's line has"])?;
            if let Ok(text) = std::str::from_utf8(input) {
                let planned = "root:$6$s$h:20000:0:99999:7:::\n";
                names_file_if_failing(
                    apply::password::rebase(text, planned.as_bytes()),
                    "/etc/shadow",
                    input,
                    &["no root account", "root's line has"],
                )?;
            }
            Ok(())
        },
    },
    Target {
        name: "passwd",
        path: "/etc/passwd",
        dir: "passwd",
        golden: &["/etc/passwd"],
        system: &["/etc/passwd"],
        setup: |_| {},
        run: |root, _| {
            let plan = ssh_keys::render(root, &[SshKey::parse(ED25519).unwrap()]);
            let usable = plan.path.starts_with('/') && !plan.path.split('/').any(|c| c == "..");
            usable.then_some(()).ok_or_else(|| format!("authorized_keys at {:?}", plan.path))
        },
    },
    Target {
        name: "authorized_keys",
        path: "/root/.ssh/authorized_keys",
        dir: "authorized_keys",
        golden: &["/root/.ssh/"],
        system: &[],
        setup: |_| {},
        run: |root, _| {
            ssh_keys::render(root, &[SshKey::parse(ED25519).unwrap()]);
            Ok(())
        },
    },
    Target {
        name: "record.json",
        path: "/var/lib/osconf/record.json",
        dir: "record",
        golden: &["/var/lib/osconf/record.json", "/var/lib/osconf/metadata-record.json"],
        system: &[],
        setup: |_| {},
        // A damaged record is an error (move it away to start afresh): it must name the file.
        run: |root, input| {
            names_file_if_failing(Record::load(root), "/var/lib/osconf/record.json", input, &["is damaged"])
        },
    },
    Target {
        name: "drop.key",
        path: "/var/lib/osconf/drop.key",
        dir: "none",
        golden: &["/var/lib/osconf/drop.key"],
        system: &[],
        setup: |_| {},
        run: |root, _| never_fails(DropKey::load_or_new(root)),
    },
    Target {
        name: "osconf.conf",
        path: "/etc/osconf/osconf.conf",
        dir: "osconf-conf",
        golden: &["/etc/osconf/"],
        system: &["/usr/share/doc/network-manager/examples/server.conf"],
        setup: |_| {},
        // osconf's own configuration: a value it cannot use stops osconf, naming it.
        run: |root, input| {
            names_file_if_failing(Config::load(root), "/etc/osconf/osconf.conf", input, &["/etc/osconf/osconf.conf"])
        },
    },
    Target {
        name: "metadata-document",
        path: "/input/meta-data-all.json",
        dir: "metadata",
        golden: &[],
        system: &[],
        setup: |_| {},
        run: |_, input| {
            // As Endpoint::document takes it: a JSON object, else the item walk.
            let Ok(text) = std::str::from_utf8(input) else { return Ok(()) };
            if let Ok(value @ serde_json::Value::Object(_)) = serde_json::from_str::<serde_json::Value>(text) {
                let _ = read_metadata(&Document(value));
            }
            Ok(())
        },
    },
    Target {
        name: "user-data",
        path: "/input/user_data",
        dir: "user-data",
        golden: &[],
        system: &[],
        setup: |_| {},
        // Any bytes: parts within the bounds, each script starting with its `#!`.
        run: |_, input| {
            let parsed = user_data::parse(input);
            if parsed.parts.len() > user_data::MAX_PARTS {
                return Err(format!("{} parts", parsed.parts.len()));
            }
            let mut total = 0;
            for part in &parsed.parts {
                match part {
                    user_data::Part::Script { body, .. } if !body.starts_with(b"#!") => {
                        return Err("a script that does not start with #!".into())
                    }
                    user_data::Part::Script { body, .. } => total += body.len(),
                    user_data::Part::CloudConfig(text) => total += text.len(),
                }
            }
            if total > user_data::MAX_DECODED {
                return Err(format!("{total} bytes of parts"));
            }
            Ok(())
        },
    },
    Target {
        name: "cloud-config",
        path: "/input/cloud-config",
        dir: "user-data",
        golden: &[],
        system: &[],
        setup: |_| {},
        // Any text: only absolute paths without `..`, modes that are modes, commands with a program.
        run: |_, input| {
            let config = cloud_config::read(&[&String::from_utf8_lossy(input)]);
            for file in &config.write_files {
                if !file.path.starts_with('/') || file.path.split('/').any(|c| c == "..") || file.permissions > 0o7777 {
                    return Err(format!("write_files {:?} {:o}", file.path, file.permissions));
                }
            }
            if config.runcmd.iter().any(|command| command.argv().is_empty()) {
                return Err("an empty runcmd".into());
            }
            Ok(())
        },
    },
    Target {
        name: "metadata-items",
        path: "/input/item",
        dir: "metadata",
        golden: &[],
        system: &[],
        setup: |_| {},
        run: |_, input| {
            let _ = read_metadata(&Echo(String::from_utf8_lossy(input).into_owned()));
            Ok(())
        },
    },
    Target {
        name: "openstack-meta-data",
        path: "/input/meta_data.json",
        // The real fixtures (tests/fixtures/openstack) are the corpus.
        dir: "../../fixtures/openstack",
        golden: &[],
        system: &[],
        setup: |_| {},
        // Anything: settings, or an error in words naming the file; never a panic.
        run: |_, input| match openstack_format::read(input, None, OPENSTACK) {
            Err(e) if !e.starts_with("meta_data.json: ") => Err(format!("an error that does not name the file: {e}")),
            _ => Ok(()),
        },
    },
    Target {
        name: "openstack-network-data",
        path: "/input/network_data.json",
        dir: "../../fixtures/openstack",
        golden: &[],
        system: &[],
        setup: |_| {},
        // Whatever network_data.json holds, the rest of the settings apply.
        run: |_, input| {
            let meta = br#"{"uuid": "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04", "hostname": "ecs-ddd4.novalocal"}"#;
            match openstack_format::read(meta, Some(input), OPENSTACK) {
                Ok(read) if read.settings.hostname.as_deref() == Some("ecs-ddd4") => Ok(()),
                Ok(read) => Err(format!("the host name was lost: {:?}", read.settings.hostname)),
                Err(e) => Err(format!("network_data.json failed the whole: {e}")),
            }
        },
    },
    Target {
        name: "http-response",
        path: "/input/response",
        dir: "http",
        golden: &[],
        system: &[],
        setup: |_| {},
        run: |_, input| {
            for eof in [false, true] {
                if let Ok(Some(response)) = parse_response(input, eof) {
                    if response.body.len() > MAX_BODY {
                        return Err(format!("a body of {} bytes", response.body.len()));
                    }
                }
            }
            Ok(())
        },
    },
    Target {
        name: "iso9660",
        path: "/input/config.iso",
        dir: "iso9660",
        golden: &[],
        system: &[],
        setup: |_| {},
        // An image file read without mounting: whatever its bytes, a file
        // within the limit, nothing, or an error in words. Corpus: config
        // drives as nova (genisoimage -J -r ... -no-pad) and xorriso
        // (-as mkisofs -J -R -no-pad) make them.
        run: |_, input| {
            let mut image = std::io::Cursor::new(input);
            let _ = iso9660::volume_label(&mut image);
            for path in ["qcloud_action/os.conf", "openstack/latest/meta_data.json"] {
                match iso9660::read_file(&mut image, path, osconf_format::MAX_DROP_BYTES) {
                    Ok(Some(content)) if content.len() > osconf_format::MAX_DROP_BYTES => {
                        return Err(format!("{path}: {} bytes", content.len()))
                    }
                    Err(e) if e.to_string().is_empty() => return Err(format!("{path}: an error without words")),
                    _ => {}
                }
            }
            Ok(())
        },
    },
    Target {
        name: "check-image",
        path: "/etc/shadow",
        dir: "shadow",
        golden: &["/etc/shadow"],
        system: &[],
        setup: |tree| write(tree, "/root/.ssh/authorized_keys", &format!("{ED25519}\n")),
        run: |root, _| {
            osconf::check::run(root, &osconf::check::clouds::ALL);
            Ok(())
        },
    },
];

/// Warnings osconf logged, for tests that look at them (`capture_warnings`).
/// Where this thread's warnings go: each test captures its own, as the
/// tests of one binary run side by side and all log through one logger.
pub type Sink = std::sync::Arc<Mutex<Vec<String>>>;

thread_local! {
    static SINK: std::cell::RefCell<Option<Sink>> = const { std::cell::RefCell::new(None) };
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        SINK.with(|sink| {
            if let Some(sink) = &*sink.borrow() {
                let mut warnings = sink.lock().unwrap();
                // Bounded: a hostile input may warn once per line.
                if warnings.len() < 1000 {
                    warnings.push(record.args().to_string());
                }
            }
        });
    }

    fn flush(&self) {}
}

/// Collects the warnings osconf logs on this thread from now on (and on the
/// threads that [`adopt`] its [`sink`]).
pub fn capture_warnings() {
    static LOGGER: Capture = Capture;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    SINK.with(|sink| *sink.borrow_mut() = Some(Sink::default()));
}

/// This thread's sink, for a thread it starts to [`adopt`].
pub fn sink() -> Option<Sink> {
    SINK.with(|sink| sink.borrow().clone())
}

/// Sends this thread's warnings where `sink` goes.
pub fn adopt(sink: Option<Sink>) {
    SINK.with(|own| *own.borrow_mut() = sink);
}

/// The warnings collected on this thread since the last call.
pub fn take_warnings() -> Vec<String> {
    sink().map(|sink| std::mem::take(&mut *sink.lock().unwrap())).unwrap_or_default()
}
