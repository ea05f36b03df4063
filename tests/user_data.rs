//! `osconf user-data` through the binary under `--root` (issue 26): each
//! format (a `#!` script, gzip, MIME multipart with a script and a
//! cloud-config, `#cloud-config`), each cloud-config key, a failing script
//! (logged with its exit code, exit status 0), a script past the timeout
//! (killed), the log file 0600, once per instance across two runs and again
//! for a new instance id, and Huawei's password script. Scripts run
//! chrooted into the tree, which holds a static busybox as /bin/sh.

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

const UUID: &str = "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04";
const OTHER_UUID: &str = "0b1d2c3e-1111-4222-8333-944455566677";
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
const LOG: &str = "/var/log/osconf-user-data.log";
const RECORD: &str = "/var/lib/osconf/user-data.json";

fn root(tree: &TempTree) -> &str {
    tree.path.to_str().unwrap()
}

/// An image with users, groups and a static busybox as /bin/sh (and the
/// few commands the tests' scripts use), so that a chrooted script runs.
fn image(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1001::/home/app:/bin/sh\n", 0o644);
    tree.write("/etc/group", "root:x:0:\nstaff:x:50:\n", 0o644);
    std::fs::create_dir_all(tree.join("/bin")).unwrap();
    std::fs::copy("/usr/bin/busybox", tree.join("/bin/busybox")).expect("busybox-static (tests/install-deps.sh)");
    for applet in ["sh", "cat", "echo", "touch", "sleep", "pwd", "env", "sort"] {
        std::os::unix::fs::symlink("busybox", tree.join(&format!("/bin/{applet}"))).unwrap();
    }
    tree
}

/// A config drive's content at `/drive` with `user_data`; its `--from`.
fn drive(tree: &TempTree, uuid: &str, user_data: &[u8]) -> String {
    let meta = serde_json::json!({"uuid": uuid, "hostname": "ecs-1.novalocal"}).to_string();
    tree.write("/drive/openstack/latest/meta_data.json", &meta, 0o644);
    std::fs::write(tree.join("/drive/openstack/latest/user_data"), user_data).unwrap();
    format!("openstack-drive={}", tree.join("/drive").display())
}

fn user_data(tree: &TempTree, from: &str) -> (i32, String, String) {
    osconf(&["user-data", "--root", root(tree), "--from", from])
}

fn record(tree: &TempTree) -> serde_json::Value {
    serde_json::from_str(&tree.read(RECORD)).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

const SCRIPT: &str =
    "#!/bin/sh\necho ran >> /ran.txt\necho \"env: $PATH $HOME $LANG $(pwd) $(env | sort | cat | wc -l 2>/dev/null)\"\n";

#[test]
fn a_script_runs_chrooted_once_per_instance_and_again_for_a_new_one() {
    let tree = image("ud-once");
    let from = drive(&tree, UUID, SCRIPT.as_bytes());
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/ran.txt"), "ran\n", "run inside the tree: {err}");
    let log = tree.read(LOG);
    assert!(log.contains("env: /usr/sbin:/usr/bin:/sbin:/bin /root C / "), "{log}");
    assert!(err.contains("user-data: exit code 0"), "{err}");
    assert_eq!(tree.mode(LOG) & 0o777, 0o600);
    assert_eq!(tree.mode(RECORD) & 0o777, 0o600);
    let first = record(&tree);
    assert_eq!(first["instance_id"], UUID);
    assert_eq!(first["results"][0]["exit_code"], 0);
    // Keyed: not a plain SHA-256 of the data.
    let digest = first["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    let plain =
        std::process::Command::new("sha256sum").arg(tree.join("/drive/openstack/latest/user_data")).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains(digest));
    // The script itself does not stay: it may hold a password.
    assert!(std::fs::read_dir(tree.join("/var/lib/osconf/user-data")).unwrap().next().is_none());
    assert_eq!(tree.mode("/var/lib/osconf/user-data") & 0o777, 0o700);

    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ran already"), "{err}");
    assert_eq!(tree.read("/ran.txt"), "ran\n");

    // New data for the same instance: not run again.
    let from = drive(&tree, UUID, b"#!/bin/sh\necho other >> /ran.txt\n");
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not run again"), "{err}");
    assert_eq!(tree.read("/ran.txt"), "ran\n");

    // An image made from this instance, booted as a new one: runs again.
    let from = drive(&tree, OTHER_UUID, SCRIPT.as_bytes());
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/ran.txt"), "ran\nran\n");
    assert_eq!(record(&tree)["instance_id"], OTHER_UUID);
    let (_, status, _) = osconf(&["status", "--root", root(&tree)]);
    assert!(status.contains("User data: ran at unix time") && status.contains(OTHER_UUID), "{status}");
    assert!(status.contains("user-data: exit code 0"), "{status}");
}

#[test]
fn a_failing_script_is_logged_with_its_exit_code_and_osconf_exits_0() {
    let tree = image("ud-fail");
    let from = drive(&tree, UUID, b"#!/bin/sh\necho about to fail\nexit 7\n");
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warn: user data: user-data: exit code 7"), "{err}");
    assert!(err.contains("user data: user-data: about to fail"), "{err}");
    let log = tree.read(LOG);
    assert!(log.contains("about to fail\n") && log.contains("osconf: user-data: exit code 7"), "{log}");
    assert_eq!(record(&tree)["results"][0]["exit_code"], 7);
    let (_, status, _) = osconf(&["status", "--root", root(&tree)]);
    assert!(status.contains("user-data: exit code 7"), "{status}");
}

#[test]
fn a_script_past_the_timeout_is_killed() {
    let tree = image("ud-timeout");
    tree.write("/etc/osconf/osconf.conf", "[user-data]\ntimeout_s = 1\n", 0o644);
    let from = drive(&tree, UUID, b"#!/bin/sh\n(sleep 3; touch /survived) &\nsleep 30\ntouch /finished\n");
    let started = Instant::now();
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(err.contains("killed after the 1 s timeout"), "{err}");
    assert_eq!(record(&tree)["results"][0]["exit_code"], 124);
    std::thread::sleep(Duration::from_millis(3500));
    assert!(!tree.exists("/finished") && !tree.exists("/survived"), "the script's process group is killed");
}

#[test]
fn huaweis_password_script_runs_chrooted() {
    let tree = image("ud-huawei");
    // chpasswd stand-in inside the tree: what it is given shows it ran there.
    tree.write("/usr/sbin/chpasswd", "#!/bin/sh\ncat > /chpasswd-input\necho \"args: $*\" >> /chpasswd-input\n", 0o755);
    let hash = "$6$rounds=5000$salt$abcdefghijklmnopqrstuvwxyz";
    let script = format!("#!/bin/sh\necho 'root:{hash}' | chpasswd -e;\n");
    let from = drive(&tree, UUID, script.as_bytes());
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/chpasswd-input"), format!("root:{hash}\nargs: -e\n"));
    assert!(!err.contains(hash), "the hash is not logged: {err}");
}

#[test]
fn gzip_and_multipart_with_a_script_and_a_cloud_config() {
    let tree = image("ud-multipart");
    let cloud = "#cloud-config\nwrite_files:\n  - path: /etc/from-cloud-config\n    content: written\nruncmd:\n  - [touch, /from-runcmd-argv]\n  - echo shell > /from-runcmd-shell\n";
    let multipart = format!(
        "Content-Type: multipart/mixed; boundary=\"==b==\"\nMIME-Version: 1.0\n\n--==b==\nContent-Type: text/x-shellscript\nContent-Disposition: attachment; filename=\"first.sh\"\n\n#!/bin/sh\necho first >> /order\n\n--==b==\nContent-Type: text/cloud-config\n\n{cloud}\n--==b==\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\nIyEvYmluL3NoCmVjaG8gc2Vjb25kID4+IC9vcmRlcgo=\n--==b==--\n"
    );
    let from = drive(&tree, UUID, &gzip(multipart.as_bytes()));
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/order"), "first\nsecond\n", "{err}");
    assert_eq!(tree.read("/etc/from-cloud-config"), "written");
    assert!(tree.exists("/from-runcmd-argv"), "{err}");
    assert_eq!(tree.read("/from-runcmd-shell"), "shell\n");
    let names: Vec<String> =
        record(&tree)["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["first.sh", "part-3", "runcmd 1", "runcmd 2"]);
}

#[test]
fn every_cloud_config_key() {
    let tree = image("ud-cloud-config");
    tree.write("/etc/app.conf", "first\n", 0o644);
    let alice_hash = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./";
    let cloud = format!(
        "#cloud-config\nhostname: web1\nfqdn: web1.example.org\nssh_authorized_keys:\n  - {KEY}\nchpasswd:\n  users:\n    - {{name: root, password: 'Sekr3t!pw', type: text}}\n    - {{name: alice, password: '{alice_hash}'}}\n    - {{name: bob, password: 'x1', type: text}}\nwrite_files:\n  - path: /etc/app.conf\n    content: second\n    append: true\n  - path: /etc/secret.key\n    encoding: b64\n    content: c2VjcmV0\n    permissions: '0600'\n    owner: app:staff\npackages: [nginx]\n"
    );
    let from = drive(&tree, UUID, cloud.as_bytes());
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "web1\n");
    assert!(tree.read("/etc/hosts").contains("web1.example.org web1"), "{}", tree.read("/etc/hosts"));
    assert!(tree.read("/root/.ssh/authorized_keys").contains(KEY));
    assert_eq!(tree.mode("/root/.ssh/authorized_keys") & 0o777, 0o600);
    let shadow = tree.read("/etc/shadow");
    let field = |user: &str, n: usize| {
        shadow.lines().find(|l| l.starts_with(&format!("{user}:"))).unwrap().split(':').nth(n).unwrap().to_owned()
    };
    assert!(crypt_matches("Sekr3t!pw", &field("root", 1)), "{shadow}");
    assert_eq!(field("alice", 1), alice_hash);
    // chpasswd's expire defaults to true, as cloud-init's: change at the next login.
    assert_eq!((field("root", 2), field("alice", 2)), ("0".to_owned(), "0".to_owned()));
    assert_eq!(field("daemon", 2), "19000");
    assert!(err.contains("user bob") && err.contains("no bob account"), "{err}");
    assert_eq!(tree.read("/etc/app.conf"), "first\nsecond");
    assert_eq!(tree.read("/etc/secret.key"), "secret");
    let meta = std::fs::metadata(tree.join("/etc/secret.key")).unwrap();
    assert_eq!((std::os::unix::fs::MetadataExt::uid(&meta), std::os::unix::fs::MetadataExt::gid(&meta)), (1001, 50));
    assert_eq!(tree.mode("/etc/secret.key") & 0o7777, 0o600);
    assert!(err.contains("cloud-config key \"packages\": not supported"), "{err}");
    for secret in ["Sekr3t", "c2VjcmV0", "secret\n", "x1'"] {
        assert!(
            !err.contains(secret) && !tree.read(LOG).contains(secret) && !tree.read(RECORD).contains(secret),
            "{secret}"
        );
    }
}

#[test]
fn other_formats_are_named_and_not_run() {
    let tree = image("ud-other");
    let from = drive(&tree, UUID, b"#include\nhttp://192.0.2.1/secret\n");
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("#include data: not run"), "{err}");
    assert!(!err.contains("192.0.2.1"), "{err}");
}

#[test]
fn no_user_data_is_nothing_to_do() {
    let tree = image("ud-none");
    let meta = serde_json::json!({"uuid": UUID}).to_string();
    tree.write("/drive/openstack/latest/meta_data.json", &meta, 0o644);
    let from = format!("openstack-drive={}", tree.join("/drive").display());
    let (code, _, err) = user_data(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no user data found"), "{err}");
    assert!(!tree.exists(RECORD));
}

/// The same script from every source that carries user data.
#[test]
fn the_same_data_from_each_source() {
    let script = "#!/bin/sh\necho from-source > /ran.txt\n";
    type Answer = Box<dyn Fn(&str) -> (u16, String) + Send + Sync>;
    let serve = |answer: Answer| {
        metadata_server::Server::default().serve(std::sync::Arc::new(move |line: &str, _: &str| answer(line))).0
    };
    let alibaba = serve(Box::new(move |line| match line {
        "GET /latest/meta-data/instance-id HTTP/1.1" => (200, "i-bp1userdata000001".into()),
        "GET /latest/meta-data/hostname HTTP/1.1" => (200, "ali-1".into()),
        "GET /latest/user-data HTTP/1.1" => (200, script.into()),
        _ => (404, String::new()),
    }));
    let tencent = serve(Box::new(move |line| match line {
        "GET /latest/meta-data/ HTTP/1.1" => (200, "instance-id\nhostname".into()),
        "GET /latest/meta-data/instance-id HTTP/1.1" => (200, "ins-3j1ha2pk".into()),
        "GET /latest/meta-data/hostname HTTP/1.1" => (200, "VM-0-5-centos".into()),
        "GET /latest/user-data HTTP/1.1" => (200, script.into()),
        _ => (404, String::new()),
    }));
    let openstack = serve(Box::new(move |line| match line {
        "GET /openstack/latest/meta_data.json HTTP/1.1" => (200, serde_json::json!({"uuid": UUID}).to_string()),
        "GET /openstack/latest/user_data HTTP/1.1" => (200, script.into()),
        _ => (404, String::new()),
    }));
    let mut places: Vec<(&str, String)> = vec![
        ("alibaba-metadata", format!("alibaba-metadata={alibaba}")),
        ("tencent-metadata", format!("tencent-metadata={tencent}")),
        ("openstack-metadata", format!("openstack-metadata={openstack}")),
    ];
    let drive_tree = TempTree::new("ud-sources-media");
    let drive_from = drive(&drive_tree, UUID, script.as_bytes());
    places.push(("openstack-drive", drive_from));
    let iso = drive_tree.join("/drive.iso");
    let made = std::process::Command::new("genisoimage")
        .args(["-quiet", "-J", "-r", "-V", "config-2", "-o"])
        .arg(&iso)
        .arg(drive_tree.join("/drive"))
        .status()
        .expect("genisoimage (tests/install-deps.sh installs it)");
    assert!(made.success());
    places.push(("openstack-drive", format!("openstack-drive={}", iso.display())));
    // Tencent's CD-ROM with an OpenStack user_data beside its drop.
    let cdrom: PathBuf = drive_tree.join("/drive");
    std::fs::create_dir_all(cdrom.join("qcloud_action")).unwrap();
    std::fs::write(cdrom.join("qcloud_action/os.conf"), include_str!("../examples/tencent.conf")).unwrap();
    places.push(("tencent-cdrom", format!("tencent-cdrom={}", cdrom.display())));
    for (index, (source, from)) in places.iter().enumerate() {
        let tree = image(&format!("ud-source-{index}"));
        let (code, _, err) = user_data(&tree, from);
        assert_eq!(code, 0, "{source}: {err}");
        assert_eq!(tree.read("/ran.txt"), "from-source\n", "{source}: {err}");
        assert_eq!(record(&tree)["source"], *source);
        // Each source's instance id; Tencent's CD-ROM's from the meta_data.json beside its user data.
        let id = match *source {
            "alibaba-metadata" => "i-bp1userdata000001",
            "tencent-metadata" => "ins-3j1ha2pk",
            _ => UUID,
        };
        assert_eq!(record(&tree)["instance_id"], id, "{source}");
    }
}

#[test]
fn a_404_is_no_user_data() {
    let tree = image("ud-404");
    let url = metadata_server::Server::default()
        .serve(std::sync::Arc::new(|line: &str, _: &str| match line {
            "GET /openstack/latest/meta_data.json HTTP/1.1" => (200, serde_json::json!({"uuid": UUID}).to_string()),
            _ => (404, String::new()),
        }))
        .0;
    let (code, _, err) = user_data(&tree, &format!("openstack-metadata={url}"));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no user data found"), "{err}");
}

/// The osconf.conf the packages install says the default timeout.
#[test]
fn the_packaged_osconf_conf_holds_the_default_timeout() {
    let packaged = include_str!("../packaging/osconf.conf");
    let config = osconf::config::Config::parse(packaged).unwrap();
    assert_eq!(config.user_data_timeout, osconf::config::Config::default().user_data_timeout);
    assert!(packaged.contains("[user-data]\n"));
}

/// gzip'd user data served over HTTP is read as bytes: a stand-in for
/// OpenStack's service that answers with any bytes (the shared stand-in
/// serves text).
#[test]
fn gzip_user_data_from_a_metadata_service() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = gzip(b"#!/bin/sh\necho zipped > /ran.txt\n");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let first = String::from_utf8_lossy(&request[..n]).lines().next().unwrap_or_default().to_owned();
            let body: Vec<u8> = match first.as_str() {
                "GET /openstack/latest/meta_data.json HTTP/1.1" => {
                    serde_json::json!({"uuid": UUID}).to_string().into_bytes()
                }
                "GET /openstack/latest/user_data HTTP/1.1" => served.clone(),
                _ => {
                    let _ =
                        stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    continue;
                }
            };
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    let tree = image("ud-gzip-http");
    let (code, _, err) = user_data(&tree, &format!("openstack-metadata={url}"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/ran.txt"), "zipped\n", "{err}");
}
