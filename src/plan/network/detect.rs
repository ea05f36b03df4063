//! Which network stack the image uses, read from the image itself.

use crate::error::Error;
use crate::files::Root;

use super::Stack;

/// Which stack the image uses, and why (shown by `osconf plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub stack: Option<Stack>,
    pub reason: String,
}

/// `forced` (from osconf.conf `[network] stack`) wins. Otherwise the first
/// that matches, most specific first: netplan generates networkd or NM
/// configuration, so it goes before both; an enabled service before files
/// that may be leftovers.
pub fn detect(root: &Root, forced: Option<&str>) -> Result<Detection, Error> {
    if let Some(name) = forced {
        let stack = Stack::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Stack::ALL.iter().map(|s| s.name()).collect();
            Error::Invalid(format!(
                "[network] stack = {name:?} in osconf.conf: expected auto or one of {}",
                names.join(", ")
            ))
        })?;
        return Ok(found(stack, "set by [network] stack in osconf.conf".into()));
    }
    let any = |paths: &[&str]| paths.iter().find(|p| root.exists(p)).map(|p| p.to_string());
    if let (Some(binary), true) = (any(&["/usr/sbin/netplan", "/sbin/netplan"]), root.is_dir("/etc/netplan")) {
        return Ok(found(Stack::Netplan, format!("{binary} and /etc/netplan exist")));
    }
    if let Some(link) = enabled(root, "NetworkManager.service") {
        return Ok(found(Stack::NetworkManager, format!("NetworkManager.service is enabled ({link})")));
    }
    if let Some(link) = enabled(root, "systemd-networkd.service") {
        return Ok(found(Stack::Networkd, format!("systemd-networkd.service is enabled ({link})")));
    }
    if let (Some(ifup), true) = (any(&["/sbin/ifup", "/usr/sbin/ifup"]), root.exists("/etc/network/interfaces")) {
        return Ok(found(Stack::Ifupdown, format!("{ifup} and /etc/network/interfaces exist")));
    }
    if root.is_dir("/etc/sysconfig/network-scripts") {
        return Ok(found(Stack::RhelIfcfg, "/etc/sysconfig/network-scripts exists".into()));
    }
    if root.is_dir("/etc/sysconfig/network") {
        return Ok(found(Stack::SuseIfcfg, "/etc/sysconfig/network is a directory (SUSE wicked/ifcfg)".into()));
    }
    Ok(Detection {
        stack: None,
        reason: "no netplan, NetworkManager, systemd-networkd, ifupdown or ifcfg configuration found".into(),
    })
}

fn found(stack: Stack, reason: String) -> Detection {
    Detection { stack: Some(stack), reason }
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

    fn detected(root: &Root) -> Option<Stack> {
        let stack = detect(root, None).unwrap().stack;
        let _ = std::fs::remove_dir_all(root.base());
        stack
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
        assert_eq!(detected(&ubuntu), Some(Stack::Netplan));
        let fedora = tree(
            "fedora",
            &["etc/systemd/system/multi-user.target.wants/NetworkManager.service"],
            &["etc/sysconfig/network-scripts"],
        );
        assert_eq!(detected(&fedora), Some(Stack::NetworkManager));
        let networkd = tree(
            "networkd",
            &["etc/systemd/system/multi-user.target.wants/systemd-networkd.service", "etc/network/interfaces"],
            &[],
        );
        assert_eq!(detected(&networkd), Some(Stack::Networkd));
        let debian = tree("debian", &["sbin/ifup", "etc/network/interfaces"], &[]);
        assert_eq!(detected(&debian), Some(Stack::Ifupdown));
        let rhel7 = tree("rhel7", &[], &["etc/sysconfig/network-scripts"]);
        assert_eq!(detected(&rhel7), Some(Stack::RhelIfcfg));
        let suse = tree("suse", &[], &["etc/sysconfig/network"]);
        assert_eq!(detected(&suse), Some(Stack::SuseIfcfg));
        // Netplan's directory without its binary (a leftover) does not count.
        let leftover = tree("leftover", &["sbin/ifup", "etc/network/interfaces"], &["etc/netplan"]);
        assert_eq!(detected(&leftover), Some(Stack::Ifupdown));
        assert_eq!(detected(&tree("none", &[], &["etc"])), None);
    }

    #[test]
    fn a_forced_stack_wins_and_a_wrong_name_is_an_error() {
        let root = tree("forced", &["sbin/ifup", "etc/network/interfaces"], &[]);
        assert_eq!(detect(&root, Some("networkd")).unwrap().stack, Some(Stack::Networkd));
        assert!(detect(&root, Some("wicked")).unwrap_err().to_string().contains("expected auto or one of ifupdown"));
        let _ = std::fs::remove_dir_all(root.base());
    }
}
