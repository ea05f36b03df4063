//! Arguments are bytes, not text: a path option (`--root`, `--drop`) may be
//! any bytes, as Linux paths are; any other argument that is not UTF-8 is a
//! usage error (exit 2) naming its position, never a panic.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use common::{copy_dir, minimal_image, osconf_command, TempTree};

#[test]
fn paths_that_are_not_utf8_are_used_as_they_are() {
    let image = TempTree::new("args-image");
    minimal_image(&image);
    let outer = TempTree::new("args-bytes");
    // A directory name with byte 0xff, which no UTF-8 text contains.
    let root = outer.path.join(OsStr::from_bytes(b"root-\xff"));
    copy_dir(&image.path, &root);
    let drop = root.join("drop.conf");
    std::fs::write(&drop, "hostname=bytes-path\n").unwrap();
    let out = osconf_command()
        .arg("apply")
        .arg("--drop")
        .arg(&drop)
        .arg("--root")
        .arg(&root)
        .arg("--no-live")
        .env_remove("OSCONF_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(root.join("etc/hostname")).unwrap(), "bytes-path\n");
    assert!(!drop.exists(), "the drop was applied, so deleted");
}

#[test]
fn any_other_argument_that_is_not_utf8_is_a_usage_error_naming_its_position() {
    let tree = TempTree::new("args-text");
    let root = tree.path.to_str().unwrap();
    let bad = OsStr::from_bytes(b"alibaba\xff");
    let cases: [(Vec<&OsStr>, &str); 3] = [
        (vec!["plan".as_ref(), "--root".as_ref(), root.as_ref(), "--format".as_ref(), bad], "argument 5"),
        (vec![OsStr::from_bytes(b"st\xfeatus")], "argument 1"),
        (vec!["plan".as_ref(), "--metadata".as_ref(), OsStr::from_bytes(b"http://\xff/")], "argument 3"),
    ];
    for (args, position) in cases {
        let out = osconf_command().args(&args).env_remove("OSCONF_LOG").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("usage: {position} ")) && stderr.contains("not valid UTF-8"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
