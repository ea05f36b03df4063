//! `osconf check` on prepared image trees: each item's status and fix.

mod common;

use common::*;

/// An image that is ready: systemd with osconf enabled, ifupdown, root locked.
fn ready_image(tree: &TempTree) {
    tree.write("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640);
    tree.write("/lib/systemd/systemd", "", 0o755);
    tree.write("/lib/systemd/system/osconf.service", "[Unit]\n", 0o644);
    std::fs::create_dir_all(tree.join("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/osconf.service",
        tree.join("/etc/systemd/system/multi-user.target.wants/osconf.service"),
    )
    .unwrap();
    tree.write("/sbin/ifup", "", 0o755);
    tree.write("/etc/network/interfaces", "source /etc/network/interfaces.d/*\n", 0o644);
    std::fs::create_dir_all(tree.join("/boot/aliyun_custom_image")).unwrap();
}

fn check(tree: &TempTree) -> (i32, String) {
    let (code, out, err) = osconf(&["check", "--root", tree.path.to_str().unwrap()]);
    assert!(err.is_empty(), "{err}");
    (code, out)
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.get(9..).is_some_and(|rest| rest.starts_with(&format!("{name}:"))))
        .unwrap_or_else(|| panic!("no {name} line in:\n{out}"))
}

#[test]
fn a_ready_image_passes() {
    let tree = TempTree::new("check-ready");
    ready_image(&tree);
    let (code, out) = check(&tree);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAILED") && !out.contains("WARNING"), "{out}");
    assert!(line(&out, "osconf at boot").contains("enabled for systemd"));
    assert!(
        line(&out, "network stack").contains("ifupdown")
            && line(&out, "network stack").contains("interfaces.d/osconf-ethN"),
        "{out}"
    );
    assert!(out.ends_with("The image is ready for osconf.\n"));
}

#[test]
fn each_problem_is_named_with_its_fix() {
    let tree = TempTree::new("check-broken");
    ready_image(&tree);
    std::fs::remove_file(tree.join("/etc/systemd/system/multi-user.target.wants/osconf.service")).unwrap();
    std::fs::remove_dir(tree.join("/boot/aliyun_custom_image")).unwrap();
    tree.write("/etc/shadow", "daemon:*:19000:0:99999:7:::\n", 0o640);
    tree.write("/usr/bin/cloud-init", "", 0o755);
    let (code, out) = check(&tree);
    assert_eq!(code, 1, "{out}");
    assert!(line(&out, "osconf at boot").starts_with("FAILED"));
    assert!(out.contains("fix: systemctl enable osconf.service"), "{out}");
    assert!(line(&out, "root account").starts_with("FAILED"));
    assert!(line(&out, "drop directory").starts_with("WARNING"));
    assert!(line(&out, "cloud-init").starts_with("WARNING"));
    assert!(out.contains("cloud-init.disabled"));
    assert!(out.ends_with("The image is NOT ready: fix the FAILED items.\n"));
}

#[test]
fn sysv_images_missing_shadow_and_baked_in_secrets() {
    let tree = TempTree::new("check-sysv");
    ready_image(&tree);
    std::fs::remove_dir_all(tree.join("/lib/systemd")).unwrap();
    std::fs::remove_dir_all(tree.join("/etc/systemd")).unwrap();
    std::fs::create_dir_all(tree.join("/etc/rcS.d")).unwrap();
    std::os::unix::fs::symlink("../init.d/osconf", tree.join("/etc/rcS.d/S01osconf")).unwrap();
    tree.write("/root/.ssh/authorized_keys", "ssh-ed25519 AAAA builder@laptop\n", 0o600);
    let (code, out) = check(&tree);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "osconf at boot").contains("SysV init (/etc/rcS.d/S01osconf)"), "{out}");
    assert!(line(&out, "root login").starts_with("WARNING"), "{out}");
    std::fs::remove_file(tree.join("/etc/shadow")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 1);
    assert!(line(&out, "/etc/shadow").starts_with("FAILED"), "{out}");
}

#[test]
fn json_for_tools() {
    let tree = TempTree::new("check-json");
    ready_image(&tree);
    let (code, out, _) = osconf(&["check", "--root", tree.path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ready"], true);
    let items = report["items"].as_array().unwrap();
    assert!(items
        .iter()
        .all(|i| i["status"] == "OK" && i["name"].is_string() && i["detail"].is_string() && i["fix"] == ""));
    assert!(items.iter().any(|i| i["name"] == "network stack"));
}

#[test]
fn openrc_images_need_the_openrc_script_in_a_runlevel() {
    let tree = TempTree::new("check-openrc");
    ready_image(&tree);
    std::fs::remove_dir_all(tree.join("/lib/systemd")).unwrap();
    std::fs::remove_dir_all(tree.join("/etc/systemd")).unwrap();
    tree.write("/sbin/openrc-run", "", 0o755);
    tree.write("/etc/init.d/osconf", "#!/bin/sh\n### BEGIN INIT INFO\n", 0o755);
    let (code, out) = check(&tree);
    assert_eq!(code, 1, "{out}");
    assert!(line(&out, "osconf at boot").contains("not the OpenRC script"), "{out}");
    tree.write(
        "/etc/init.d/osconf",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openrc/osconf")).unwrap(),
        0o755,
    );
    let (code, out) = check(&tree);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fix: rc-update add osconf boot"), "{out}");
    std::fs::create_dir_all(tree.join("/etc/runlevels/boot")).unwrap();
    std::os::unix::fs::symlink("/etc/init.d/osconf", tree.join("/etc/runlevels/boot/osconf")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "osconf at boot").contains("enabled for OpenRC (/etc/runlevels/boot/osconf)"), "{out}");
}

/// The .deb enables the unit on SysV images too (deb-systemd-helper, for a
/// later switch to systemd): without systemd that link boots nothing, so the
/// SysV link is what counts, and its absence is a failure.
#[test]
fn sysv_images_are_judged_by_their_rc_links_not_the_debs_wants_link() {
    let tree = TempTree::new("check-sysv-deb");
    ready_image(&tree);
    std::fs::remove_file(tree.join("/lib/systemd/systemd")).unwrap();
    std::fs::create_dir_all(tree.join("/etc/rcS.d")).unwrap();
    std::os::unix::fs::symlink("../init.d/osconf", tree.join("/etc/rcS.d/S09osconf")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "osconf at boot").contains("enabled for SysV init (/etc/rcS.d/S09osconf)"), "{out}");
    std::fs::remove_file(tree.join("/etc/rcS.d/S09osconf")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 1, "{out}");
    assert!(line(&out, "osconf at boot").contains("/etc/init.d/osconf is not enabled"), "{out}");
}

/// Debian's openrc runs LSB scripts (its lsb2rcconf reads their headers): the
/// .deb's SysV script, which update-rc.d puts in sysinit, is enabled there.
#[test]
fn debian_openrc_runs_the_debs_sysv_script() {
    let tree = TempTree::new("check-openrc-debian");
    ready_image(&tree);
    std::fs::remove_dir_all(tree.join("/lib/systemd")).unwrap();
    std::fs::remove_dir_all(tree.join("/etc/systemd")).unwrap();
    tree.write("/sbin/openrc-run", "", 0o755);
    tree.write("/lib/rc/bin/lsb2rcconf", "", 0o755);
    tree.write(
        "/etc/init.d/osconf",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/init.d/osconf")).unwrap(),
        0o755,
    );
    std::fs::create_dir_all(tree.join("/etc/runlevels/sysinit")).unwrap();
    std::os::unix::fs::symlink("/etc/init.d/osconf", tree.join("/etc/runlevels/sysinit/osconf")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "osconf at boot").contains("enabled for OpenRC (/etc/runlevels/sysinit/osconf)"), "{out}");
    // Upstream OpenRC (no lsb2rcconf) cannot run it.
    std::fs::remove_file(tree.join("/lib/rc/bin/lsb2rcconf")).unwrap();
    let (code, out) = check(&tree);
    assert_eq!(code, 1, "{out}");
    assert!(line(&out, "osconf at boot").contains("not the OpenRC script"), "{out}");
}
