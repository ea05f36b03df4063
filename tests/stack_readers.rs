//! The distributions' own readers on what osconf wrote into images that
//! already define the drop's NICs their own way (tests/golden/*/conflict*):
//! netplan's generator and networkd's file order, NetworkManager's keyfile
//! reader (`nmcli --offline`) and configuration (`NetworkManager
//! --print-config`), ifupdown's `ifquery`, and initscripts' documented
//! file-selection rules for ifcfg (no RHEL package can be installed here).
//! Each proves that, for every NIC of the drop, what the stack will apply is
//! osconf's configuration, and that a NIC not in the drop keeps the image's.
//! Needs netplan.io, network-manager and ifupdown (tests/install-deps.sh)
//! and root (a private mount namespace for ifquery).

mod common;

use std::fs;
use std::path::Path;

use common::*;
use osconf::settings::{Nic, Settings};
use osconf::sources::osconf_format;

/// The golden case's image with its drop applied; returns the tree and the drop's NICs.
fn applied(case: &str) -> (TempTree, Vec<Nic>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case);
    let tree = TempTree::new(&format!("readers-{}", case.replace('/', "-")));
    tree.copy_from(&dir.join("image"));
    let drop = fs::read_to_string(dir.join("os.conf")).unwrap();
    tree.write(DROP, &drop, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live"]);
    assert_eq!(code, 0, "{case}: {out}{err}");
    let nics = osconf_format::from_drop(drop.as_bytes(), osconf_format::ALIBABA).unwrap().nics;
    (tree, nics)
}

/// The NIC's kernel name in the image (its fake sysfs), else its drop label.
fn name_of(tree: &TempTree, nic: &Nic) -> String {
    let entries = fs::read_dir(tree.join("/sys/class/net")).into_iter().flatten().flatten();
    for entry in entries {
        let address = fs::read_to_string(entry.path().join("address")).unwrap_or_default();
        if address.trim().eq_ignore_ascii_case(&nic.mac.to_string()) {
            return entry.file_name().to_string_lossy().into_owned();
        }
    }
    nic.label()
}

/// A tool's stdout; it must succeed.
fn run(program: &str, args: &[&str], input: Option<&[u8]>) -> String {
    let out = run_tool(program, args, input);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---- netplan + networkd -------------------------------------------------

/// `key=value` lines of one section of a systemd ini file.
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{name}]");
        } else if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The `.network` file networkd uses for a link: the first in file-name
/// order (over /etc, /run, /usr/lib, /lib; for one name /etc before /run
/// before /lib) whose [Match] fits its MAC and name (systemd.network(5)).
fn networkd_winner(tree: &TempTree, mac: &str, name: &str) -> Option<(String, String)> {
    let mut files: std::collections::BTreeMap<String, std::path::PathBuf> = Default::default();
    for dir in ["/lib/systemd/network", "/usr/lib/systemd/network", "/run/systemd/network", "/etc/systemd/network"] {
        for entry in fs::read_dir(tree.join(dir)).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".network") {
                files.insert(file, entry.path());
            }
        }
    }
    files.into_iter().map(|(file, path)| (file, fs::read_to_string(path).unwrap())).find(|(_, text)| {
        section(text, "Match").iter().all(|(key, value)| match key.as_str() {
            "MACAddress" | "PermanentMACAddress" => value.split_whitespace().any(|m| m.eq_ignore_ascii_case(mac)),
            "Name" => {
                value.split_whitespace().any(|n| n == name || n.strip_suffix('*').is_some_and(|p| name.starts_with(p)))
            }
            _ => false,
        })
    })
}

fn netplan_case(case: &str, others: &[(&str, &str)]) {
    let (tree, nics) = applied(case);
    // netplan before 0.103 (Ubuntu 20.04 before .4) rejects `to: default`.
    assert!(!tree.read("/etc/netplan/90-osconf.yaml").contains("default"), "{case}: `to: default` in 90-osconf.yaml");
    run("netplan", &["generate", "--root-dir", tree.path.to_str().unwrap()], None);
    for nic in &nics {
        let name = name_of(&tree, nic);
        let (file, text) = networkd_winner(&tree, &nic.mac.to_string(), &name)
            .unwrap_or_else(|| panic!("{case}: no .network file for {name}"));
        let network = section(&text, "Network");
        assert!(network.contains(&("Address".into(), nic.ipv4_text())), "{case}: {name} gets {file}:\n{text}");
        assert!(!network.iter().any(|(k, _)| k == "DHCP" || k == "Gateway"), "{case}: {name} gets {file}:\n{text}");
        let routes = text.matches("[Route]").count();
        assert_eq!(routes, nic.routes.len(), "{case}: {name} gets {file}:\n{text}");
    }
    for (name, mac) in others {
        let (file, text) = networkd_winner(&tree, mac, name)
            .unwrap_or_else(|| panic!("{case}: the image's {name} lost its configuration"));
        assert!(
            section(&text, "Network").contains(&("DHCP".into(), "ipv4".into())),
            "{case}: {name} gets {file}:\n{text}"
        );
    }
}

#[test]
fn netplan_cloud_init_definition_of_the_nic_does_not_win() {
    netplan_case("netplan/conflict-cloud-init", &[]);
}

#[test]
fn netplan_installer_definitions_of_the_nics_do_not_win_and_other_nics_keep_theirs() {
    netplan_case("netplan/conflict-installer", &[("ens9", "52:54:00:00:09:01")]);
}

#[test]
fn netplan_accepts_every_golden_netplan_file() {
    for case in ["netplan/vpc", "netplan/classic", "netplan/many", "netplan/classic-to-vpc"] {
        netplan_case(case, &[]);
    }
}

// ---- ifupdown ---------------------------------------------------------------

/// `ifquery ARGS` on the image's /etc/network (bound over the real one in a
/// private mount namespace, so `source /etc/network/interfaces.d/*` resolves).
fn ifquery(tree: &TempTree, args: &str) -> String {
    let script = format!("mount --bind '{}' /etc/network && exec ifquery {args}", tree.join("/etc/network").display());
    run("unshare", &["--mount", "--propagation", "private", "--", "sh", "-c", &script], None)
}

#[test]
fn ifquery_sees_lo_still_auto_and_only_osconf_stanzas_for_its_nics() {
    let (tree, nics) = applied("ifupdown/conflict-auto-lo");
    let auto: Vec<String> = ifquery(&tree, "--list").lines().map(str::to_owned).collect();
    assert_eq!(auto, ["lo", "eth0", "eth1"], "`auto` interfaces");
    let hotplug: Vec<String> = ifquery(&tree, "--list --allow hotplug").lines().map(str::to_owned).collect();
    assert_eq!(hotplug, ["eth9"], "allow-hotplug interfaces");
    for nic in &nics {
        let stanza = ifquery(&tree, &nic.label());
        assert!(
            stanza.contains(&format!("up: ip addr replace {} broadcast + dev {}", nic.ipv4_text(), nic.label())),
            "{stanza}"
        );
    }
    let backup = tree.read("/var/lib/osconf/backup/etc/network/interfaces");
    assert!(backup.starts_with("auto lo eth0\n"), "the original is kept out of /etc/network: {backup}");
    assert!(fs::read_dir(tree.join("/etc/network")).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("osconf-orig")));
}

// ---- RHEL ifcfg (initscripts' rules) -------------------------------------------

/// initscripts (and NetworkManager's ifcfg-rh) read every `ifcfg-*` in
/// network-scripts/ except names ending in these (initscripts' sysconfig.txt).
const INITSCRIPTS_IGNORED: [&str; 7] = ["~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"];

fn shell_value(text: &str, key: &str) -> Option<String> {
    text.lines().rev().find_map(|l| l.trim().strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_string()))
}

/// The ifcfg files initscripts loads that configure this NIC (by DEVICE,
/// which defaults to the file's suffix, or by HWADDR).
fn ifcfg_for(tree: &TempTree, nic: &Nic, name: &str) -> Vec<String> {
    let dir = tree.join("/etc/sysconfig/network-scripts");
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.starts_with("ifcfg-") || INITSCRIPTS_IGNORED.iter().any(|s| file.ends_with(s)) {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap();
        let device = shell_value(&text, "DEVICE").unwrap_or_else(|| file["ifcfg-".len()..].to_string());
        let hwaddr = shell_value(&text, "HWADDR").map(|m| m.to_lowercase());
        if device == name || hwaddr.as_deref() == Some(&nic.mac.to_string()) {
            found.push(file);
        }
    }
    found.sort();
    found
}

#[test]
fn initscripts_loads_only_osconf_ifcfg_for_the_drop_nics() {
    for case in ["rhel-ifcfg/conflict", "rhel-ifcfg/classic", "networkmanager/conflict"] {
        let (tree, nics) = applied(case);
        let nm = case.starts_with("networkmanager");
        for nic in &nics {
            let name = name_of(&tree, nic);
            let files = ifcfg_for(&tree, nic, &name);
            if nm {
                assert!(files.is_empty(), "{case}: NetworkManager's ifcfg-rh would load {files:?} for {name}");
                continue;
            }
            assert_eq!(files, [format!("ifcfg-{name}")], "{case}: initscripts loads these for {name}");
            let text = tree.read(&format!("/etc/sysconfig/network-scripts/ifcfg-{name}"));
            assert!(
                text.contains("BOOTPROTO=none\n") && text.contains(&format!("IPADDR={}\n", nic.address.unwrap())),
                "{text}"
            );
            // Route files of other names for this NIC are gone too.
            let routes: Vec<String> = fs::read_dir(tree.join("/etc/sysconfig/network-scripts"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.starts_with("route-") && f != &format!("route-{name}") && !f.ends_with("eth9"))
                .filter(|f| !nics.iter().any(|n| f == &format!("route-{}", name_of(&tree, n))))
                .collect();
            assert!(routes.is_empty(), "{case}: {routes:?}");
        }
        if case == "rhel-ifcfg/conflict" {
            assert!(tree.exists("/etc/sysconfig/network-scripts/ifcfg-eth9"), "a NIC not in the drop keeps its file");
            assert!(tree
                .read("/var/lib/osconf/backup/etc/sysconfig/network-scripts/ifcfg-eth0")
                .contains("BOOTPROTO=dhcp"));
        }
        let backups_in_scripts = fs::read_dir(tree.join("/etc/sysconfig/network-scripts"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("osconf"));
        assert!(!backups_in_scripts, "{case}: osconf left a file initscripts may load in network-scripts/");
    }
}

// ---- NetworkManager ------------------------------------------------------------

/// A keyfile as NetworkManager's own reader normalises it (`nmcli --offline`).
fn nm_profile(path: &Path) -> Vec<(String, String, String)> {
    let normalised = run("nmcli", &["--offline", "connection", "modify"], Some(&fs::read(path).unwrap()));
    let mut current = String::new();
    let mut out = Vec::new();
    for line in normalised.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((current.clone(), k.to_string(), v.to_string()));
        }
    }
    out
}

fn get<'a>(profile: &'a [(String, String, String)], section: &str, key: &str) -> Option<&'a str> {
    profile.iter().find(|(s, k, _)| s == section && k == key).map(|(_, _, v)| v.as_str())
}

/// NetworkManager's autoconnect choice for a NIC, by its documented rules: of
/// the ethernet profiles with autoconnect on that fit the device (no
/// mac-address or the NIC's, no interface-name or the NIC's), the highest
/// autoconnect-priority; all the candidates are returned, best first.
fn nm_candidates(tree: &TempTree, nic: &Nic, name: &str) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(tree.join("/etc/NetworkManager/system-connections")).unwrap().flatten() {
        let profile = nm_profile(&entry.path());
        let fits = get(&profile, "connection", "type") == Some("ethernet")
            && get(&profile, "connection", "autoconnect") != Some("false")
            && get(&profile, "ethernet", "mac-address").is_none_or(|m| m.eq_ignore_ascii_case(&nic.mac.to_string()))
            && get(&profile, "connection", "interface-name").is_none_or(|i| i == name);
        if fits {
            let priority = get(&profile, "connection", "autoconnect-priority").map_or(0, |p| p.parse().unwrap());
            out.push((priority, get(&profile, "connection", "id").unwrap().to_string()));
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    out
}

fn nm_config(tree: &TempTree) -> String {
    let conf = tree.join("/etc/NetworkManager/NetworkManager.conf");
    let dir = tree.join("/etc/NetworkManager/conf.d");
    run(
        "NetworkManager",
        &[&format!("--config={}", conf.display()), &format!("--config-dir={}", dir.display()), "--print-config"],
        None,
    )
}

#[test]
fn networkmanager_autoconnects_osconf_profiles_and_creates_no_default_profile() {
    for (case, freed) in [
        ("networkmanager/conflict", None),
        ("networkmanager/classic-to-vpc", Some("00:8c:fa:5e:14:24")),
        ("networkmanager/vpc", None),
    ] {
        let (tree, nics) = applied(case);
        for nic in &nics {
            let name = name_of(&tree, nic);
            let candidates = nm_candidates(&tree, nic, &name);
            assert_eq!(
                candidates.first().map(|c| c.1.clone()),
                Some(format!("osconf-{}", nic.label())),
                "{case}: {name}: {candidates:?}"
            );
            assert!(candidates.iter().skip(1).all(|c| c.0 < candidates[0].0), "{case}: {name}: a tie: {candidates:?}");
            assert!(
                candidates.len() == 1 || case != "networkmanager/conflict",
                "{case}: the image's profile bound to {name} is still there: {candidates:?}"
            );
        }
        let config = nm_config(&tree);
        let line =
            config.lines().find(|l| l.starts_with("no-auto-default=")).unwrap_or_else(|| panic!("{case}: {config}"));
        for nic in &nics {
            assert!(line.contains(&format!("mac:{}", nic.mac)), "{case}: {line}");
        }
        if let Some(mac) = freed {
            assert!(
                line.contains(&format!("mac:{mac}")),
                "{case}: the NIC osconf stopped configuring gets a DHCP profile: {line}"
            );
        }
        if case == "networkmanager/conflict" {
            assert!(line.contains("mac:52:54:00:00:09:01"), "the image's own list is kept: {line}");
            assert!(
                tree.exists("/etc/NetworkManager/system-connections/office.nmconnection"),
                "a profile for another NIC is kept"
            );
        }
    }
}

// ---- systemd-networkd -----------------------------------------------------------

#[test]
fn networkd_uses_osconf_files_for_the_drop_nics_and_the_image_s_for_others() {
    let (tree, nics) = applied("networkd/conflict");
    for nic in &nics {
        let name = name_of(&tree, nic);
        let (file, text) = networkd_winner(&tree, &nic.mac.to_string(), &name).unwrap();
        assert_eq!(file, format!("10-osconf-{}.network", nic.label()), "networkd would use {file} for {name}:\n{text}");
    }
    let (file, _) = networkd_winner(&tree, "52:54:00:00:09:01", "eth9").unwrap();
    assert_eq!(file, "20-eth9.network");
    assert!(tree.read("/var/lib/osconf/backup/etc/systemd/network/05-ens3.network").contains("DHCP=yes"));
}

// ---- IPv6 name servers (metadata) ------------------------------------------------

/// Each family's name servers in its own section of the keyfile, as
/// NetworkManager's reader keeps them: it silently drops an IPv6 server
/// from `[ipv4] dns=`, and refuses the whole profile for `[ipv6] dns=` with
/// `method=ignore` (a NIC without IPv6: the IPv6 servers are left out).
#[test]
fn networkmanager_reads_ipv6_name_servers_from_the_ipv6_section() {
    use osconf::files::Root;
    use osconf::plan::network::{render, Stack};
    use osconf::settings::nic_extras;

    let drop = "eth0_ip_addr=192.168.50.10\neth0_mac_addr=52:54:00:12:34:56\neth0_netmask=255.255.255.0\neth0_gateway=192.168.50.1\ndns_nameserver=\"192.168.50.2\"\n";
    let mut settings = osconf_format::from_drop(drop.as_bytes(), osconf_format::ALIBABA).unwrap();
    settings.nameservers.push("2001:db8:50::53".parse().unwrap());
    let tree = TempTree::new("readers-nm-dns6");
    let profile = |settings: &Settings| {
        let rendered =
            render(Stack::from_name("networkmanager").unwrap(), settings, &Root::new(&tree.path), &[]).unwrap();
        let keyfile = rendered.owned.iter().find(|f| f.path.ends_with("osconf-eth0.nmconnection")).unwrap();
        tree.write("/eth0.nmconnection", &keyfile.text(), 0o600);
        nm_profile(&tree.join("/eth0.nmconnection"))
    };

    // eth0 without IPv6: the profile loads, with the IPv4 server only.
    let read = profile(&settings);
    assert_eq!(
        (get(&read, "ipv4", "dns"), get(&read, "ipv6", "method"), get(&read, "ipv6", "dns")),
        (Some("192.168.50.2;"), Some("ignore"), None),
        "{read:?}"
    );

    let eth0 = &mut settings.nics[0];
    nic_extras::add_ipv6(eth0, nic_extras::ipv6_address("2001:db8:50::10").unwrap(), 64).unwrap();
    nic_extras::set_ipv6_gateway(eth0, "2001:db8:50::1".parse().unwrap()).unwrap();
    let read = profile(&settings);
    assert_eq!(get(&read, "ipv4", "dns"), Some("192.168.50.2;"), "{read:?}");
    assert_eq!(
        (get(&read, "ipv6", "dns"), get(&read, "ipv6", "ignore-auto-dns")),
        (Some("2001:db8:50::53;"), Some("true")),
        "{read:?}"
    );
}
