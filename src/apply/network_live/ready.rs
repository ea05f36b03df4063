//! Waiting until udev has finished with each NIC of the drop, before osconf
//! resolves its name or touches its link. udev renames NICs (eth0 → ens3)
//! after they appear, and kernels before 6.2 refuse to rename a link that
//! is up: a link brought up too early keeps `eth0` for this boot only, and
//! files keyed by name would describe a NIC the next boot does not have.
//! udev has finished with a link when `/run/udev/data/n<ifindex>` exists
//! (what systemd-networkd checks). An image without udev (no
//! `/run/udev/control`) renames nothing: there, only the NIC's presence is
//! waited for. Read through sysfs, so it is testable on a fake tree.

use std::time::{Duration, Instant};

use crate::error::Error;
use crate::files::Root;
use crate::settings::{Mac, Nic};

/// Where a NIC stands.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Absent,
    /// Present, udev not done with it yet.
    Pending(String),
    Ready,
}

/// A link with the MAC of a NIC waited for.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    mac: Mac,
    name: String,
    index: Option<u32>,
}

/// The links in sysfs that have the MAC of one of `nics`. Read once per
/// poll, whatever the number of NICs waited for (64 NICs must not mean 64
/// scans); of the other links only `address` is read.
fn links(root: &Root, nics: &[Nic]) -> Vec<Link> {
    let Ok(entries) = std::fs::read_dir(root.path("/sys/class/net")) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let dir = entry.path();
            let mac = std::fs::read_to_string(dir.join("address")).ok()?.trim().parse::<Mac>().ok()?;
            if !nics.iter().any(|n| n.mac == mac) {
                return None;
            }
            let index = std::fs::read_to_string(dir.join("ifindex")).ok().and_then(|i| i.trim().parse().ok());
            Some(Link { mac, name: entry.file_name().to_string_lossy().into_owned(), index })
        })
        .collect()
}

fn state(root: &Root, links: &[Link], mac: Mac, udev: bool) -> State {
    let mut pending = None;
    for link in links.iter().filter(|l| l.mac == mac) {
        // udev has finished with a link once its database has it.
        if !udev || link.index.is_some_and(|i| root.exists(&format!("/run/udev/data/n{i}"))) {
            return State::Ready;
        }
        pending = Some(link.name.clone());
    }
    pending.map_or(State::Absent, State::Pending)
}

/// Waits up to `wait` until every NIC exists and udev is done with it, and
/// returns the MACs of the NICs that never appeared. Neither those nor one
/// that udev has not finished with by then fail the apply: each is a
/// warning naming it, and osconf goes on. An absent NIC (detached, or a
/// drop for more NICs than the instance has) gets its files, keyed by its
/// MAC, and the stack configures it when it appears; the rest applies now.
pub fn wait_until_ready(root: &Root, nics: &[Nic], wait: Duration) -> Result<Vec<Mac>, Error> {
    // Bonds and VLANs do not exist before the stack creates them: only hardware is waited for.
    let physical: Vec<Nic> = nics.iter().filter(|n| n.is_physical()).cloned().collect();
    let nics = &physical[..];
    let udev = root.exists("/run/udev/control");
    let deadline = Instant::now()
        .checked_add(wait)
        .ok_or_else(|| Error::Failed(format!("nic_wait_seconds {} is too large", wait.as_secs())))?;
    loop {
        let links = links(root, nics);
        let states: Vec<(&Nic, State)> =
            nics.iter().map(|n| (n, state(root, &links, n.mac, udev))).filter(|(_, s)| *s != State::Ready).collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        if Instant::now() >= deadline {
            let mut absent = Vec::new();
            for (nic, s) in &states {
                match s {
                    State::Pending(name) => log::warn!(
                        "udev has not finished with {name} ({}, MAC {}) after {} s: its name may still change",
                        nic.label(),
                        nic.mac,
                        wait.as_secs_f32()
                    ),
                    State::Absent => {
                        log::warn!("{}", absent_warning(nic, wait));
                        absent.push(nic.mac);
                    }
                    State::Ready => {}
                }
            }
            return Ok(absent);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The warning for a NIC that did not appear within `wait`.
fn absent_warning(nic: &Nic, wait: Duration) -> String {
    let default_route = match nic.default_route() {
        Some(route) => format!(" It carries the default route (via {}): osconf sets none until then.", route.via),
        None => String::new(),
    };
    format!(
        "no network interface with the MAC of {} (MAC {}) appeared within {} s: it is left out for now, and its \
         network files are written so that the stack configures it when it appears; everything else is \
         applied.{default_route}",
        nic.label(),
        nic.mac,
        wait.as_secs_f32()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(last: u8) -> Nic {
        Nic::new(0, Mac([0x52, 0x54, 0, 0, 0, last]), "10.0.0.5".parse().unwrap(), 24)
    }

    /// A tree with eth0 (index 2) in sysfs and, if `udev`, a running udev.
    fn tree(name: &str, udev: bool) -> Root {
        let base = std::env::temp_dir().join(format!("osconf-ready-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("sys/class/net/eth0")).unwrap();
        std::fs::write(base.join("sys/class/net/eth0/address"), "52:54:00:00:00:01\n").unwrap();
        std::fs::write(base.join("sys/class/net/eth0/ifindex"), "2\n").unwrap();
        if udev {
            std::fs::create_dir_all(base.join("run/udev/data")).unwrap();
            std::fs::write(base.join("run/udev/control"), "").unwrap();
        }
        Root::new(base)
    }

    #[test]
    fn only_the_links_of_the_nics_waited_for_are_listed() {
        let root = tree("listed", false);
        std::fs::create_dir_all(root.path("/sys/class/net/eth1")).unwrap();
        std::fs::write(root.path("/sys/class/net/eth1/address"), "52:54:00:00:00:07\n").unwrap();
        assert_eq!(links(&root, &[nic(1)]), [Link { mac: nic(1).mac, name: "eth0".into(), index: Some(2) }]);
        assert_eq!(links(&root, &[nic(7)]), [Link { mac: nic(7).mac, name: "eth1".into(), index: None }]);
        let _ = std::fs::remove_dir_all(root.base());
    }

    #[test]
    fn without_udev_a_present_nic_is_ready_at_once() {
        let root = tree("no-udev", false);
        assert_eq!(state(&root, &links(&root, &[nic(1)]), nic(1).mac, false), State::Ready);
        wait_until_ready(&root, &[nic(1)], Duration::ZERO).unwrap();
        let _ = std::fs::remove_dir_all(root.base());
    }

    #[test]
    fn with_udev_the_wait_ends_when_udev_wrote_the_link_s_data() {
        let root = tree("udev", true);
        assert_eq!(state(&root, &links(&root, &[nic(1)]), nic(1).mac, true), State::Pending("eth0".into()));
        let data = root.path("/run/udev/data/n2");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(data, "").unwrap();
        });
        let started = Instant::now();
        wait_until_ready(&root, &[nic(1)], Duration::from_secs(5)).unwrap();
        let waited = started.elapsed();
        writer.join().unwrap();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(5), "{waited:?}");
        let _ = std::fs::remove_dir_all(root.base());
    }

    #[test]
    fn udev_never_finishing_and_a_missing_nic_are_bounded_and_not_fatal() {
        let root = tree("bounded", true);
        let started = Instant::now();
        assert_eq!(wait_until_ready(&root, &[nic(1)], Duration::from_millis(200)).unwrap(), []);
        assert!(started.elapsed() >= Duration::from_millis(200));
        let started = Instant::now();
        let absent = wait_until_ready(&root, &[nic(1), nic(9)], Duration::from_millis(100)).unwrap();
        assert_eq!(absent, [nic(9).mac], "the missing NIC is returned, the pending one is not");
        assert!(started.elapsed() >= Duration::from_millis(100));
        let _ = std::fs::remove_dir_all(root.base());
    }

    /// A bond or VLAN is created by the stack after osconf: never waited
    /// for, nor reported absent (its MAC here is no hardware's).
    #[test]
    fn a_bond_or_vlan_is_not_waited_for() {
        let root = tree("virtual", false);
        let vlan = crate::settings::Vlan { parent: crate::settings::Parent::Nic(0), id: 5 };
        let virtual_nic = Nic { kind: Some(crate::settings::NicKind::Vlan(vlan)), ..nic(9) };
        let started = Instant::now();
        assert_eq!(wait_until_ready(&root, &[nic(1), virtual_nic], Duration::from_secs(5)).unwrap(), []);
        assert!(started.elapsed() < Duration::from_secs(4));
        let _ = std::fs::remove_dir_all(root.base());
    }

    #[test]
    fn the_warning_for_an_absent_nic_names_it_and_the_default_route_it_carries() {
        let mut eth1 = Nic::new(1, Mac([0x52, 0x54, 0, 0, 0, 2]), "10.0.1.5".parse().unwrap(), 24);
        let text = absent_warning(&eth1, Duration::from_millis(1500));
        assert!(
            text.starts_with("no network interface with the MAC of eth1 (MAC 52:54:00:00:00:02) appeared within 1.5 s")
        );
        assert!(!text.contains("default route"), "{text}");
        eth1.routes.push(crate::settings::Route::default_via("10.0.1.1".parse().unwrap()));
        let text = absent_warning(&eth1, Duration::from_secs(10));
        assert!(text.ends_with("It carries the default route (via 10.0.1.1): osconf sets none until then."), "{text}");
    }
}
