//! netplan: one YAML file for all NICs, each matched by MAC. Mode 0600, as
//! netplan warns about readable configuration. Values are validated IPv4
//! addresses and MACs, quoted anyway.
//!
//! The image's own definitions of the same NICs must not win. netplan turns
//! every definition id into its own `10-netplan-<id>.network`, and networkd
//! uses the first matching file in name order, so an image's `ens3` (DHCP,
//! from cloud-init's `50-cloud-init.yaml` or the installer's
//! `00-installer-config.yaml`) beats an `osconf-eth0` for the same MAC.
//! Definitions with the same id are merged, lists appended: taking over the
//! image's id would keep its addresses and `gateway4`. So each image
//! definition of a NIC in the drop is cut out of its file (the original is
//! kept under /var/lib/osconf/backup); only a definition that cannot be cut
//! (written in flow style inside a larger collection) is taken over by id,
//! with a warning. Routes are written `0.0.0.0/0`: netplan before 0.103
//! rejects `to: default`.
//!
//! An image file osconf cannot read (not UTF-8, or YAML its reader rejects:
//! a closer of the wrong kind, flow collections nested too deep) never fails
//! the apply: each problem is a warning naming the file and line, and the
//! rest of the file is still read, so its block definitions of osconf's NICs
//! are still cut out — taking a broken line inside them along. netplan
//! rejects every file when one does not parse (osconf's own included), so a
//! problem left elsewhere is said to leave the network to osconf's live
//! configuration until the file is fixed; osconf does not remove or rewrite
//! lines it does not understand.
//!
//! netplan renders its YAML in a systemd generator, before any unit (osconf
//! included) runs: on the boot that applies a drop, networkd would start
//! from what the old YAML said. So osconf runs netplan's generator again
//! (what `netplan generate` runs, without its Python front end) before
//! networkd starts ([`TakeEffect::Generate`]). Run as a program during boot,
//! the generator also starts networkd and its wait-online itself (five
//! `systemctl` processes, about a second of an emulated boot); when its run
//! at boot enabled both already, osconf runs it as systemd does instead, which
//! only writes its output (and reads the YAML as the next boot's run will).
//!
//! Bonds go under `bonds:` (`interfaces:` the members' ids, `parameters:`
//! mode, mii-monitor-interval, transmit-hash-policy), VLANs under `vlans:`
//! (`id:`, `link:` the parent's id); netplan names each device by its id,
//! so theirs are the device names (`bond0`, `PARENT.ID`).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::links::{members_of, parent_of};
use crate::settings::{Mac, Nic, NicKind, Settings};
use crate::state::backup_path;

use super::detect::first_existing;
use super::{dns_for, header, join, read_image_file, AsGenerator, Configure, NicNames, Rendered, Stack, TakeEffect};
use yaml::{read, Definition, Problem};

mod extra;
mod yaml;

const OWN: &str = "/etc/netplan/90-osconf.yaml";

/// Where netplan's generator is (`netplan generate` runs `/lib/netplan/generate`).
const GENERATORS: [&str; 3] = ["/lib/netplan/generate", "/usr/lib/netplan/generate", "/usr/libexec/netplan/generate"];

/// First: netplan generates networkd's or NetworkManager's configuration,
/// so their services are enabled on its images too.
pub static STACK: Stack = Stack {
    name: "netplan",
    precedence: 10,
    detect,
    render: |settings, names, root, _| render(settings, names, root),
    check: |_| format!("osconf writes {OWN}"),
    take_effect: TakeEffect::Generate {
        what: "netplan's generator",
        paths: &GENERATORS,
        reader: "networkd",
        as_generator: Some(AsGenerator {
            links: &["/lib/systemd/system-generators/netplan", "/usr/lib/systemd/system-generators/netplan"],
            // Its stamp, and networkd and its wait-online enabled for this
            // boot (netplan's enable_networkd) because the image's YAML
            // configures networkd already.
            units_added: &[
                "/run/systemd/generator/netplan.stamp",
                "/run/systemd/generator/multi-user.target.wants/systemd-networkd.service",
                "/run/systemd/generator/network-online.target.wants/systemd-networkd-wait-online.service",
            ],
        }),
    },
    live: Configure::Now,
    owns: |path| path == "/etc/netplan/90-osconf.yaml",
};

/// The program and the directory: the directory alone may be a leftover.
fn detect(root: &Root) -> Option<String> {
    let binary = first_existing(root, &["/usr/sbin/netplan", "/sbin/netplan"])?;
    root.is_dir("/etc/netplan").then(|| format!("{binary} and /etc/netplan exist"))
}

/// Where netplan reads YAML, weakest first: a file in a later directory
/// shadows the file of the same name in an earlier one.
const DIRS: [&str; 3] = ["/lib/netplan", "/etc/netplan", "/run/netplan"];

/// The netplan files the image has (osconf's own excluded), by file name,
/// each from the directory that wins for that name.
fn image_files(root: &Root) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for dir in DIRS {
        let Ok(entries) = root.read_dir(dir) else { continue };
        for entry in entries {
            let name = entry.name;
            let path = format!("{dir}/{name}");
            if name.ends_with(".yaml") && path != OWN {
                files.insert(name, path);
            }
        }
    }
    files
}

/// Whether an image definition configures this NIC (known by MAC and kernel name).
fn configures(def: &Definition, nic: &Nic, name: &str) -> bool {
    def.mac.as_deref().and_then(|m| m.parse::<Mac>().ok()) == Some(nic.mac)
        || (!def.has_match && def.id == name)
        || (!def.broad_match && def.match_name.as_deref() == Some(name))
}

fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut parsed = Vec::new();
    for (_, path) in image_files(root) {
        let Some(text) = read_image_file(root, &path, "netplan") else { continue };
        let reading = read(&text);
        parsed.push((path, text, reading.definitions, reading.problems));
    }
    let all: Vec<&Definition> = parsed.iter().flat_map(|(_, _, defs, _)| defs).collect();
    // Ids with a definition that cannot be cut (flow style inside a collection).
    let uncuttable: BTreeSet<&str> = all.iter().filter(|d| d.lines.is_none()).map(|d| d.id.as_str()).collect();

    // Per NIC, the image ids that configure it; every occurrence of such an
    // id is cut, unless one of them cannot be: then the id is taken over.
    let mut cut: BTreeSet<String> = BTreeSet::new();
    let mut taken: BTreeMap<Mac, Vec<String>> = BTreeMap::new();
    for nic in &settings.nics {
        let name = names.of(nic);
        let ids: BTreeSet<&str> = all.iter().filter(|d| configures(d, nic, &name)).map(|d| d.id.as_str()).collect();
        for id in ids {
            if !uncuttable.contains(id) {
                cut.insert(id.to_string());
            } else {
                log::warn!("netplan: the image defines {name} ({}) as {id:?} in flow style; osconf takes that id over, keys it does not set stay merged", nic.mac);
                taken.entry(nic.mac).or_default().push(id.to_string());
            }
        }
        for def in all.iter().filter(|d| d.broad_match && !configures(d, nic, &name)) {
            log::warn!("netplan: the image's definition {:?} matches by driver or name pattern and may also match {name}; osconf's own wins only where it sorts first", def.id);
        }
    }

    let mut edited = Vec::new();
    for (path, text, defs, problems) in &parsed {
        let gone: Vec<&Definition> = defs.iter().filter(|d| cut.contains(&d.id)).collect();
        let cut_lines = cut_lines(text, &gone);
        warn_problems(path, defs, problems, &cut_lines);
        if gone.is_empty() {
            continue;
        }
        let Some(target) = path
            .strip_prefix("/lib/netplan/")
            .map(|name| format!("/etc/netplan/{name}"))
            .or_else(|| path.strip_prefix("/etc/").map(|_| path.clone()))
        else {
            log::warn!("netplan: {path} defines NICs osconf configures but is in /run, where osconf does not write");
            continue;
        };
        edited.push(FileWrite::new(target, without(text, &gone, &cut_lines, defs.len(), path), 0o600));
    }

    let mut text = header("#", "all NICs");
    text += "network:\n  version: 2\n  ethernets:\n";
    // A physical NIC's ids: osconf's, or the image's it takes over.
    let ids = |nic: &Nic| taken.get(&nic.mac).cloned().unwrap_or_else(|| vec![format!("osconf-{}", nic.label())]);
    for nic in settings.nics.iter().filter(|n| n.is_physical()) {
        for id in ids(nic) {
            text += &format!("    \"{id}\":\n");
            text += &definition(settings, nic);
        }
    }
    // The id a bond or VLAN names another device by.
    let id_of = |nic: &Nic| match nic.kind {
        None => ids(nic).swap_remove(0),
        Some(_) => names.of(nic),
    };
    for (section, bonds) in [("bonds", true), ("vlans", false)] {
        let mut devices = settings.nics.iter().filter(|n| n.bond().is_some() == bonds && n.vlan().is_some() != bonds);
        let Some(first) = devices.next() else { continue };
        text += &format!("  {section}:\n");
        for nic in std::iter::once(first).chain(devices) {
            text += &format!("    \"{}\":\n", names.of(nic));
            match &nic.kind {
                Some(NicKind::Bond(bond)) => {
                    let ids: Vec<String> =
                        members_of(&settings.nics, bond).map(|m| format!("\"{}\"", id_of(m))).collect();
                    text += &format!("      interfaces: [{}]\n", join(&ids, ", "));
                    text += &format!("      parameters:\n        mode: \"{}\"\n", bond.mode);
                    if let Some(miimon) = bond.miimon {
                        text += &format!("        mii-monitor-interval: {miimon}\n");
                    }
                    if let Some(policy) = &bond.xmit_hash_policy {
                        text += &format!("        transmit-hash-policy: \"{policy}\"\n");
                    }
                }
                Some(NicKind::Vlan(vlan)) => {
                    let link = parent_of(&settings.nics, vlan).map_or_else(|| vlan.parent.label(), id_of);
                    text += &format!("      id: {}\n      link: \"{link}\"\n", vlan.id);
                }
                None => {}
            }
            text += &definition(settings, nic);
        }
    }
    Ok(Rendered { owned: vec![FileWrite::new(OWN, text, 0o600)], edited, disabled: Vec::new() })
}

/// Each problem of an image file as a warning naming the file and line, and
/// what it means: a problem on a line cut out with a definition is gone.
fn warn_problems(path: &str, defs: &[Definition], problems: &[Problem], cut_lines: &[bool]) {
    for problem in problems {
        let what = if cut_lines.get(problem.line - 1) == Some(&true) {
            "it is in a definition osconf replaces, and goes with it"
        } else {
            "netplan rejects this file and then applies none, osconf's included: until it is fixed, the network is osconf's live configuration"
        };
        log::warn!(
            "netplan: {path} line {}: {}; osconf reads the rest of the file; {what}",
            problem.line,
            problem.message
        );
    }
    for def in defs.iter().filter(|d| d.unreadable) {
        log::warn!("netplan: {path}: what the image's definition {:?} matches could not be read: it may also configure a NIC osconf configures", def.id);
    }
}

/// The body of osconf's definition of one NIC.
fn definition(settings: &Settings, nic: &Nic) -> String {
    // A bond or VLAN is found by its id, its name.
    let mut text = match nic.kind {
        None => format!("      match:\n        macaddress: \"{}\"\n", nic.mac),
        Some(_) => String::new(),
    };
    text += &extra::automatic(nic);
    let addresses: String = nic.ipv4().map(|(a, p)| format!("        - \"{a}/{p}\"\n")).unwrap_or_default();
    let addresses = addresses + &extra::addresses(nic);
    if !addresses.is_empty() {
        text += &format!("      addresses:\n{addresses}");
    }
    let extra_routes = extra::routes(nic);
    if !nic.routes.is_empty() || !extra_routes.is_empty() {
        text += "      routes:\n";
        for route in &nic.routes {
            text += &format!("        - to: \"{}/{}\"\n          via: \"{}\"\n", route.dest, route.prefix, route.via);
        }
        text += &extra_routes;
    }
    text += &extra::policy(nic);
    let dns = dns_for(settings, nic);
    if !dns.is_empty() {
        let quoted: Vec<String> = dns.iter().map(|a| format!("\"{a}\"")).collect();
        text += &format!("      nameservers:\n        addresses: [{}]\n", join(&quoted, ", "));
    }
    text
}

/// Per line of `text` (0-based), whether it is in one of the `gone`
/// definitions. One mark per line (block definitions do not overlap), so
/// this is linear in the file.
fn cut_lines(text: &str, gone: &[&Definition]) -> Vec<bool> {
    let mut cut = vec![false; text.lines().count()];
    for (first, end) in gone.iter().filter_map(|d| d.lines) {
        let end = end.min(cut.len());
        cut[first.min(end)..end].iter_mut().for_each(|c| *c = true);
    }
    cut
}

/// `text` without the lines of the `gone` definitions (`cut_lines`); an
/// `ethernets:` left empty goes too (netplan rejects an empty mapping there).
fn without(text: &str, gone: &[&Definition], cut_lines: &[bool], total: usize, path: &str) -> String {
    let ids: Vec<&str> = gone.iter().map(|d| d.id.as_str()).collect();
    let mut out =
        format!("# osconf removed the definitions of {} here: osconf configures it in {OWN}.\n", ids.join(", "));
    out += &format!("# The original file is {}.\n", backup_path(path));
    for (n, line) in text.lines().enumerate() {
        let empty_ethernets = gone.len() == total && line.split('#').next().unwrap_or("").trim() == "ethernets:";
        if !cut_lines[n] && !empty_ethernets {
            out += line;
            out += "\n";
        }
    }
    out
}
