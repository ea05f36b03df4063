//! Which network stack the image uses, read from the image itself.

use crate::error::Error;
use crate::files::Root;

use super::{Stack, STACKS};

/// Which stack the image uses, and why (shown by `osconf plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub stack: Option<&'static Stack>,
    pub reason: String,
}

/// `forced` (from osconf.conf `[network] stack`) wins. Otherwise the first
/// stack of [`STACKS`] whose `detect` answers, in the order of their
/// `precedence` (most specific first).
pub fn detect(root: &Root, forced: Option<&str>) -> Result<Detection, Error> {
    if let Some(name) = forced {
        let stack = Stack::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = STACKS.iter().map(|s| s.name).collect();
            Error::Invalid(format!(
                "[network] stack = {name:?} in osconf.conf: expected auto or one of {}",
                names.join(", ")
            ))
        })?;
        return Ok(found(stack, "set by [network] stack in osconf.conf".into()));
    }
    let mut by_precedence = STACKS.to_vec();
    by_precedence.sort_by_key(|s| s.precedence);
    for stack in by_precedence {
        if let Some(reason) = (stack.detect)(root) {
            return Ok(found(stack, reason));
        }
    }
    Ok(Detection {
        stack: None,
        reason: "no netplan, NetworkManager, systemd-networkd, ifupdown or ifcfg configuration found".into(),
    })
}

fn found(stack: &'static Stack, reason: String) -> Detection {
    Detection { stack: Some(stack), reason }
}

/// The first of `paths` the image has (a stack's program, for its `detect`).
pub fn first_existing(root: &Root, paths: &[&str]) -> Option<String> {
    paths.iter().find(|p| root.exists(p)).map(|p| p.to_string())
}

/// The wants-link that enables `unit`, if any (`systemctl enable` makes one).
pub fn enabled(root: &Root, unit: &str) -> Option<String> {
    let entries = root.read_dir("/etc/systemd/system").ok()?;
    let mut links: Vec<String> = entries
        .into_iter()
        .filter(|e| e.name.ends_with(".wants"))
        .map(|e| format!("/etc/systemd/system/{}/{unit}", e.name))
        .filter(|link| root.exists(link))
        .collect();
    links.sort();
    links.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str, files: &[&str], dirs: &[&str]) -> Root {
        let base = std::env::temp_dir().join(format!("osconf-detect-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for dir in dirs {
            std::fs::create_dir_all(base.join(dir)).unwrap();
        }
        for file in files {
            std::fs::create_dir_all(base.join(file).parent().unwrap()).unwrap();
            std::fs::write(base.join(file), "").unwrap();
        }
        Root::new(base)
    }

    /// The name of the stack detected in `root` (then removed).
    fn detected(root: &Root) -> Option<&'static str> {
        let stack = detect(root, None).unwrap().stack;
        let _ = std::fs::remove_dir_all(root.base());
        stack.map(Stack::name)
    }

    #[test]
    fn each_stack_is_recognised() {
        let ubuntu = tree(
            "ubuntu",
            &[
                "usr/sbin/netplan",
                "etc/network/interfaces",
                "sbin/ifup",
                "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
            ],
            &["etc/netplan"],
        );
        assert_eq!(detected(&ubuntu), Some("netplan"));
        let fedora = tree(
            "fedora",
            &["etc/systemd/system/multi-user.target.wants/NetworkManager.service"],
            &["etc/sysconfig/network-scripts"],
        );
        assert_eq!(detected(&fedora), Some("networkmanager"));
        let networkd = tree(
            "networkd",
            &["etc/systemd/system/multi-user.target.wants/systemd-networkd.service", "etc/network/interfaces"],
            &[],
        );
        assert_eq!(detected(&networkd), Some("networkd"));
        let debian = tree("debian", &["sbin/ifup", "etc/network/interfaces"], &[]);
        assert_eq!(detected(&debian), Some("ifupdown"));
        let rhel7 = tree("rhel7", &[], &["etc/sysconfig/network-scripts"]);
        assert_eq!(detected(&rhel7), Some("rhel-ifcfg"));
        let suse = tree("suse", &[], &["etc/sysconfig/network"]);
        assert_eq!(detected(&suse), Some("suse-ifcfg"));
        // Netplan's directory without its binary (a leftover) does not count.
        let leftover = tree("leftover", &["sbin/ifup", "etc/network/interfaces"], &["etc/netplan"]);
        assert_eq!(detected(&leftover), Some("ifupdown"));
        assert_eq!(detected(&tree("none", &[], &["etc"])), None);
    }

    /// Records and osconf.conf hold these names: renaming one would make
    /// osconf forget which stack it wrote for. Distinct precedences keep
    /// detection independent of the order of `STACKS`.
    #[test]
    fn the_stacks_keep_their_names_and_each_has_its_own_precedence() {
        let names: Vec<&str> = STACKS.iter().map(|s| s.name).collect();
        assert_eq!(names, ["ifupdown", "rhel-ifcfg", "suse-ifcfg", "networkd", "networkmanager", "netplan"]);
        let mut precedences: Vec<u8> = STACKS.iter().map(|s| s.precedence).collect();
        precedences.sort();
        precedences.dedup();
        assert_eq!(precedences.len(), STACKS.len(), "two stacks share a precedence");
    }

    #[test]
    fn a_forced_stack_wins_and_a_wrong_name_is_an_error() {
        let root = tree("forced", &["sbin/ifup", "etc/network/interfaces"], &[]);
        assert_eq!(detect(&root, Some("networkd")).unwrap().stack.map(Stack::name), Some("networkd"));
        assert!(detect(&root, Some("wicked")).unwrap_err().to_string().contains("expected auto or one of ifupdown"));
        let _ = std::fs::remove_dir_all(root.base());
    }
}
