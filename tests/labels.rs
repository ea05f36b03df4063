//! Security labels survive osconf's atomic replace (issue 13, point 3):
//! files set with `setfattr` on this host's ext4 (SELinux need not be loaded
//! for `security.selinux` to be stored), read back with `getfattr`.

mod common;

use std::process::Command;

use common::*;

fn setfattr(tree: &TempTree, path: &str, name: &str, value: &str) {
    let out = Command::new("setfattr")
        .args(["-n", name, "-v", value])
        .arg(tree.join(path))
        .output()
        .expect("setfattr (Debian package attr) is installed");
    assert!(
        out.status.success(),
        "setfattr {name} on {path}: {} (the temp dir's file system must keep security.* attributes)",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `security.*` attribute of a file, as `getfattr -d` prints them.
fn security_xattrs(tree: &TempTree, path: &str) -> String {
    let out = Command::new("getfattr")
        .args(["--absolute-names", "-d", "-m", "^security\\."])
        .arg(tree.join(path))
        .output()
        .expect("getfattr");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("security.")).collect::<Vec<_>>().join("\n")
}

#[test]
fn replaced_files_keep_their_labels_new_files_get_none_of_a_temps() {
    let tree = TempTree::new("labels");
    minimal_image(&tree);
    setfattr(&tree, "/etc/shadow", "security.selinux", "system_u:object_r:shadow_t:s0");
    setfattr(&tree, "/etc/shadow", "security.osconf-test", "kept");
    setfattr(&tree, "/etc/hosts", "security.selinux", "system_u:object_r:net_conf_t:s0");
    setfattr(&tree, "/etc/hostname", "security.selinux", "system_u:object_r:hostname_etc_t:s0");
    setfattr(&tree, "/etc/resolv.conf", "security.selinux", "system_u:object_r:net_conf_t:s0");
    tree.write(DROP, include_str!("../examples/classic.conf"), 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        tree.read("/etc/hostname") == "iZ23r29djmjZ\n" && tree.read("/etc/resolv.conf").contains("7.7.7.7"),
        "the files were replaced"
    );
    assert_eq!(
        security_xattrs(&tree, "/etc/shadow"),
        "security.osconf-test=\"kept\"\nsecurity.selinux=\"system_u:object_r:shadow_t:s0\""
    );
    assert_eq!(security_xattrs(&tree, "/etc/hosts"), "security.selinux=\"system_u:object_r:net_conf_t:s0\"");
    assert_eq!(security_xattrs(&tree, "/etc/hostname"), "security.selinux=\"system_u:object_r:hostname_etc_t:s0\"");
    assert_eq!(security_xattrs(&tree, "/etc/resolv.conf"), "security.selinux=\"system_u:object_r:net_conf_t:s0\"");
    // New files: nothing copied from anywhere (the kernel's default for the directory).
    assert_eq!(security_xattrs(&tree, "/var/lib/osconf/records/alibaba-drop.json"), "");
}
