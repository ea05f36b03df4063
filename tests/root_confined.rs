//! `--root DIR` is confined (issue 22): the image's symbolic links are
//! followed as the image means them, inside DIR, and one whose target is
//! not in the image is refused, naming it, before anything is written. An
//! image whose `etc` led to another directory had that directory's shadow,
//! hosts and resolv.conf rewritten; one whose /etc/hosts led to a 0600 file
//! had that file's content copied into its new 0644 /etc/hosts.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");

/// `osconf apply --drop FILE --root TREE --no-live`, the drop beside the tree.
fn apply_offline(tree: &TempTree, drops: &TempTree) -> (i32, String, String) {
    drops.write("/os.conf", CLASSIC, 0o644);
    let drop = drops.join("/os.conf");
    osconf(&["apply", "--drop", drop.to_str().unwrap(), "--root", tree.path.to_str().unwrap(), "--no-live"])
}

#[test]
fn an_etc_that_links_out_of_the_image_is_refused_and_nothing_is_written() {
    let outside = TempTree::new("confined-outside-etc");
    minimal_image(&outside);
    let drops = TempTree::new("confined-drops-etc");
    let tree = TempTree::new("confined-etc");
    // Both ways out: the absolute host path and a relative climb.
    for target in [outside.join("/etc"), "../confined-outside-etc/etc".into()] {
        let _ = fs::remove_file(tree.join("/etc"));
        symlink(&target, tree.join("/etc")).unwrap();
        let (outside_before, tree_before) = (outside.snapshot(), tree.snapshot());
        let (code, out, err) = apply_offline(&tree, &drops);
        assert_eq!(code, 1, "{target:?} must be refused: {out}{err}");
        assert!(err.contains("/etc is a symbolic link to") && err.contains("not in the image"), "{err}");
        assert_eq!(outside.snapshot(), outside_before, "{target:?}: the outside directory was changed");
        assert_eq!(tree.snapshot(), tree_before, "{target:?}: the tree was written");
        assert!(drops.exists("/os.conf"), "a refused drop is kept");
    }
}

#[test]
fn a_hosts_that_links_to_an_outside_file_is_refused_and_its_content_never_copied() {
    let outside = TempTree::new("confined-outside-secret");
    outside.write("/secret", "10.9.9.9\tsecret-host-name\n", 0o600);
    let drops = TempTree::new("confined-drops-hosts");
    let tree = TempTree::new("confined-hosts");
    minimal_image(&tree);
    fs::remove_file(tree.join("/etc/hosts")).unwrap();
    symlink(outside.join("/secret"), tree.join("/etc/hosts")).unwrap();
    let (outside_before, tree_before) = (outside.snapshot(), tree.snapshot());
    let (code, out, err) = apply_offline(&tree, &drops);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("/etc/hosts is a symbolic link to"), "{err}");
    assert_eq!(outside.snapshot(), outside_before);
    assert_eq!(tree.snapshot(), tree_before, "the tree was written");
    assert!(!format!("{out}{err}").contains("secret-host-name"));
}

#[test]
fn absolute_links_inside_the_image_are_followed_inside_it() {
    let drops = TempTree::new("confined-drops-inside");
    let tree = TempTree::new("confined-inside");
    // /etc -> /usr/etc and /etc/hosts -> /usr/share/hosts: absolute, as an
    // image means them; the build host has neither.
    let staging = TempTree::new("confined-inside-staging");
    minimal_image(&staging);
    fs::create_dir_all(tree.join("/usr")).unwrap();
    fs::rename(staging.join("/etc"), tree.join("/usr/etc")).unwrap();
    symlink("/usr/etc", tree.join("/etc")).unwrap();
    tree.write("/usr/share/hosts", "127.0.0.1\tlocalhost\n10.1.1.1\timage-own-host\n", 0o644);
    fs::remove_file(tree.join("/usr/etc/hosts")).unwrap();
    symlink("/usr/share/hosts", tree.join("/usr/etc/hosts")).unwrap();
    // resolv.conf to systemd-resolved's stub, missing offline: resolved mode.
    fs::remove_file(tree.join("/usr/etc/resolv.conf")).unwrap();
    symlink("/run/systemd/resolve/stub-resolv.conf", tree.join("/usr/etc/resolv.conf")).unwrap();

    let (code, out, err) = apply_offline(&tree, &drops);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fs::read_to_string(tree.join("/usr/etc/hostname")).unwrap(), "iZ23r29djmjZ\n");
    assert!(fs::read_to_string(tree.join("/usr/etc/shadow")).unwrap().starts_with("root:$6$"));
    // The link's target was read (its line kept) and the link replaced by a file.
    let hosts = fs::read_to_string(tree.join("/usr/etc/hosts")).unwrap();
    assert!(hosts.contains("image-own-host") && hosts.contains("iZ23r29djmjZ"), "{hosts}");
    assert!(!fs::symlink_metadata(tree.join("/usr/etc/hosts")).unwrap().file_type().is_symlink());
    assert!(tree.read("/usr/share/hosts").ends_with("image-own-host\n"), "the link's target is not written");
    assert_eq!(
        fs::read_link(tree.join("/usr/etc/resolv.conf")).unwrap().to_str(),
        Some("/run/systemd/resolve/stub-resolv.conf")
    );
    assert!(tree.read("/usr/etc/systemd/resolved.conf.d/osconf.conf").contains("DNS="));
    assert!(fs::symlink_metadata(tree.join("/etc")).unwrap().file_type().is_symlink());
}

#[test]
fn a_boot_that_links_out_of_the_image_gives_no_drop_and_deletes_nothing() {
    let outside = TempTree::new("confined-outside-boot");
    outside.write("/aliyun_custom_image/os.conf", CLASSIC, 0o644);
    let tree = TempTree::new("confined-boot");
    minimal_image(&tree);
    symlink(outside.path.to_str().unwrap(), tree.join("/boot")).unwrap();
    let (outside_before, tree_before) = (outside.snapshot(), tree.snapshot());
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(outside.snapshot(), outside_before, "the outside drop was deleted or changed");
    assert_eq!(tree.snapshot(), tree_before, "the tree was written");
}
