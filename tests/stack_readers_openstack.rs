//! The distributions' own readers on what osconf writes from OpenStack
//! config drives (the golden cases `tests/golden/<stack>/openstack-*`):
//! static IPv4 and IPv6, DHCP, SLAAC and DHCPv6, MTU, a bond with VLANs
//! on it. netplan's generator
//! (and the networkd files it makes), ifupdown's `ifup --no-act` (which
//! prints the commands each method runs), NetworkManager's keyfile reader
//! (`nmcli --offline`). RHEL's and SUSE's ifcfg files are compared with
//! what cloud-init's sysconfig renderer writes for the same modes (its
//! `_render_subnets`), since no RHEL or SUSE tool runs here.
//! Needs netplan.io, network-manager and ifupdown (tests/install-deps.sh)
//! and root (a private mount namespace for ifup).

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// The golden case's image after `osconf apply --from openstack-drive=` its drive.
fn applied(case: &str) -> TempTree {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case);
    let tree = TempTree::new(&format!("readers-os-{}", case.replace('/', "-")));
    tree.copy_from(&dir.join("image"));
    let input = golden_input(&dir, &tree);
    assert!(input.drive.is_some(), "{case} is no OpenStack case");
    let mut args = vec!["apply", "--root", tree.path.to_str().unwrap(), "--no-live"];
    args.extend(input.args.iter().map(String::as_str));
    let (code, out, err) = osconf(&args);
    assert_eq!(code, 0, "{case}: {out}{err}");
    tree
}

/// Whether a tool succeeded, and its stdout then stderr.
fn run(program: &str, args: &[&str], input: Option<&[u8]>) -> (bool, String) {
    let out = run_tool(program, args, input);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// Every line of `wanted` is a line of `text`.
fn assert_has(text: &str, wanted: &[&str], what: &str) {
    let have = lines(text);
    for line in wanted {
        assert!(have.contains(line), "{what}: {line:?} missing:\n{text}");
    }
}

#[test]
fn netplan_generates_dhcp_slaac_dhcpv6_and_mtu_for_networkd() {
    for case in ["netplan/openstack-multi-nic", "netplan/openstack-kubevirt", "netplan/openstack-huawei"] {
        let tree = applied(case);
        let (ok, out) = run("netplan", &["generate", "--root-dir", tree.path.to_str().unwrap()], None);
        assert!(ok, "{case}: netplan generate: {out}");
        let network = |nic: &str| tree.read(&format!("/run/systemd/network/10-netplan-osconf-{nic}.network"));
        match case {
            "netplan/openstack-multi-nic" => {
                assert_has(
                    &network("eth0"),
                    &[
                        "Address=192.168.10.5/24",
                        "Address=2001:db8:10::5/64",
                        "Gateway=fe80::1",
                        // The IPv6 route other than the default one.
                        "Destination=2001:db8:99::/48",
                    ],
                    case,
                );
                // Stateless DHCPv6: router advertisements and DHCPv6; the MTU on the link.
                let eth1 = network("eth1");
                assert_has(&eth1, &["MTUBytes=1450", "Address=10.20.0.5/16", "DHCP=ipv6", "IPv6AcceptRA=yes"], case);
            }
            "netplan/openstack-kubevirt" => {
                assert_has(&network("eth1"), &["DHCP=yes", "IPv6AcceptRA=yes"], case);
                assert_has(&network("eth2"), &["DHCP=ipv4"], case);
                assert!(!network("eth0").contains("DHCP="), "{case}: eth0 is static:\n{}", network("eth0"));
            }
            _ => assert_has(&network("eth0"), &["DHCP=ipv4", "DNS=100.125.21.250"], case),
        }
    }
}

/// osconf's own networkd files say what netplan's generator says for the
/// same modes (the generator is networkd's reference writer here).
#[test]
fn networkd_files_say_what_netplan_says_for_the_same_modes() {
    let ours = applied("networkd/openstack-kubevirt");
    assert_has(&ours.read("/etc/systemd/network/10-osconf-eth1.network"), &["DHCP=yes", "IPv6AcceptRA=yes"], "eth1");
    assert_has(&ours.read("/etc/systemd/network/10-osconf-eth2.network"), &["DHCP=ipv4"], "eth2");
    let ours = applied("networkd/openstack-multi-nic");
    assert_has(
        &ours.read("/etc/systemd/network/10-osconf-eth1.network"),
        &["[Link]", "MTUBytes=1450", "IPv6AcceptRA=yes"],
        "eth1",
    );
}

/// `ifup --no-act` runs ifupdown's own parser and prints what each method
/// does: the DHCP client for `inet dhcp`, `accept_ra` and the DHCPv6 client
/// for `inet6 auto` with `dhcp 1`, the MTU before the link is up.
#[test]
fn ifup_runs_dhcp_and_ipv6_methods_from_osconf_stanzas() {
    // ifup runs the DHCP client it finds, or says none is installed.
    let dhcp4 = ["dhclient -4", "udhcpc", "dhcpcd", "pump", "No DHCP client software found"];
    let dhcp6 = ["dhclient -6", "No DHCPv6 client software found"];
    for (case, nic, wanted, clients) in [
        ("ifupdown/openstack-huawei", "eth0", &["(inet)"][..], &[&dhcp4[..]][..]),
        (
            "ifupdown/openstack-kubevirt",
            "eth1",
            &["(inet)", "(inet6)", "accept_ra=1"][..],
            &[&dhcp4[..], &dhcp6[..]][..],
        ),
        (
            "ifupdown/openstack-multi-nic",
            "eth1",
            &["ip link set dev eth1 mtu 1450", "(inet6)", "accept_ra=2", "autoconf=1"][..],
            &[&dhcp6[..]][..],
        ),
    ] {
        let tree = applied(case);
        let script = format!(
            "mount --bind '{}' /etc/network && mount -t tmpfs run /run && mkdir -p /run/network && exec ifup --no-act --verbose {nic}",
            tree.join("/etc/network").display()
        );
        let (ok, out) = run("unshare", &["--mount", "--propagation", "private", "--", "sh", "-c", &script], None);
        assert!(ok && !out.contains("nknown"), "{case}: {out}");
        for want in wanted {
            assert!(out.contains(want), "{case}: {want:?} not in what ifup would do:\n{out}");
        }
        for client in clients {
            assert!(
                client.iter().any(|c| out.contains(c)),
                "{case}: no client of {client:?} in what ifup would do:\n{out}"
            );
        }
    }
}

/// NetworkManager's keyfile reader keeps each method and the MTU.
#[test]
fn networkmanager_reads_auto_dhcp_and_mtu() {
    let read = |tree: &TempTree, nic: &str| {
        let path = tree.join(&format!("/etc/NetworkManager/system-connections/osconf-{nic}.nmconnection"));
        let (ok, out) = run("nmcli", &["--offline", "connection", "modify"], Some(&fs::read(path).unwrap()));
        assert!(ok, "{nic}: {out}");
        out
    };
    let kubevirt = applied("networkmanager/openstack-kubevirt");
    let eth1 = read(&kubevirt, "eth1");
    assert!(
        eth1.contains("[ipv4]\nmethod=auto\n") && eth1.contains("[ipv6]\n") && eth1.contains("method=dhcp"),
        "{eth1}"
    );
    let eth2 = read(&kubevirt, "eth2");
    assert!(eth2.contains("[ipv4]\nmethod=auto\n") && eth2.contains("method=ignore"), "{eth2}");
    let multi = applied("networkmanager/openstack-multi-nic");
    let eth1 = read(&multi, "eth1");
    assert!(eth1.contains("mtu=1450"), "{eth1}");
    let ipv6 = eth1.split("[ipv6]").nth(1).unwrap();
    assert!(ipv6.contains("method=auto"), "{eth1}");
    let huawei = applied("networkmanager/openstack-huawei");
    let eth0 = read(&huawei, "eth0");
    assert!(eth0.contains("method=auto") && eth0.contains("dns=100.125.21.250;"), "{eth0}");
}

/// The keys cloud-init's sysconfig renderer writes for each mode
/// (cloudinit/net/sysconfig.py, `_render_subnets`): RHEL `BOOTPROTO=dhcp`;
/// `IPV6INIT`, `IPV6_AUTOCONF`, `DHCPV6C` (`DHCPV6C_OPTIONS=-S` for
/// stateless); SUSE `BOOTPROTO` dhcp4/dhcp6/dhcp with `DHCLIENT6_MODE`;
/// `MTU` in both.
#[test]
fn ifcfg_files_carry_the_keys_cloud_init_writes_for_each_mode() {
    let scripts = "/etc/sysconfig/network-scripts";
    let rhel = applied("rhel-ifcfg/openstack-kubevirt");
    assert_has(&rhel.read(&format!("{scripts}/ifcfg-eth2")), &["BOOTPROTO=dhcp", "IPV6INIT=no"], "rhel eth2");
    assert_has(
        &rhel.read(&format!("{scripts}/ifcfg-eth1")),
        &["BOOTPROTO=dhcp", "IPV6INIT=yes", "IPV6_AUTOCONF=no", "DHCPV6C=yes"],
        "rhel eth1 (stateful DHCPv6)",
    );
    let rhel = applied("rhel-ifcfg/openstack-multi-nic");
    assert_has(
        &rhel.read(&format!("{scripts}/ifcfg-eth1")),
        &["BOOTPROTO=none", "MTU=1450", "IPV6INIT=yes", "IPV6_AUTOCONF=yes", "DHCPV6C=yes", "DHCPV6C_OPTIONS=-S"],
        "rhel eth1 (stateless DHCPv6)",
    );
    let suse = "/etc/sysconfig/network";
    let tree = applied("suse-ifcfg/openstack-kubevirt");
    assert_has(&tree.read(&format!("{suse}/ifcfg-eth2")), &["BOOTPROTO='dhcp4'"], "suse eth2");
    assert_has(
        &tree.read(&format!("{suse}/ifcfg-eth1")),
        &["BOOTPROTO='dhcp'", "DHCLIENT6_MODE='managed'"],
        "suse eth1",
    );
    let tree = applied("suse-ifcfg/openstack-multi-nic");
    assert_has(
        &tree.read(&format!("{suse}/ifcfg-eth1")),
        &["BOOTPROTO='dhcp6'", "IPADDR='10.20.0.5/16'", "DHCLIENT6_MODE='info'", "MTU='1450'"],
        "suse eth1",
    );
}

/// `osconf plan` and `osconf status` say how each NIC gets its addresses.
#[test]
fn plan_and_status_name_dhcp_ipv6_modes_and_mtu() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/networkd/openstack-multi-nic");
    let tree = TempTree::new("readers-os-plan");
    tree.copy_from(&dir.join("image"));
    let input = golden_input(&dir, &tree);
    let mut args = vec!["plan", "--root", tree.path.to_str().unwrap()];
    args.extend(input.args.iter().map(String::as_str));
    let (code, plan, err) = osconf(&args);
    assert_eq!(code, 0, "{err}");
    assert_has(
        &plan,
        &[
            "eth1 (MAC fa:16:3e:10:00:02): 10.20.0.5/16, gateway 10.20.0.1",
            "IPv6 by SLAAC with stateless DHCPv6",
            "MTU 1450",
        ],
        "plan",
    );

    let tree = applied("networkd/openstack-kubevirt");
    let (code, status, err) = osconf(&["status", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_has(
        &status,
        &[
            "eth1 (MAC 06:aa:bb:cc:dd:01): IPv4 by DHCP; routes: none",
            "IPv6 by DHCPv6",
            "eth2 (MAC 06:aa:bb:cc:dd:02): IPv4 by DHCP; routes: none",
        ],
        "status",
    );
}

/// A bond of two NICs with two VLANs on it (golden cases
/// `<stack>/openstack-bond-vlan`, cloud-init's `NETWORK_DATA_BOND`).
const BOND_VLAN: &str = "openstack-bond-vlan";

/// netplan's generator reads osconf's `bonds:` and `vlans:` and writes the
/// bond's and VLANs' `.netdev` and `.network` files networkd reads; those
/// say what osconf's own networkd files say for the same settings.
#[test]
fn netplan_generates_the_bond_and_vlans_osconf_writes_for_networkd() {
    let tree = applied(&format!("netplan/{BOND_VLAN}"));
    let (ok, out) = run("netplan", &["generate", "--root-dir", tree.path.to_str().unwrap()], None);
    assert!(ok && !out.contains("rror"), "netplan generate: {out}");
    let generated = |file: &str| tree.read(&format!("/run/systemd/network/10-netplan-{file}"));
    let ours = applied(&format!("networkd/{BOND_VLAN}"));
    let own = |file: &str| ours.read(&format!("/etc/systemd/network/10-osconf-{file}"));
    let bond = ["Name=bond0", "Kind=bond", "Mode=802.3ad", "MIIMonitorSec=100ms", "TransmitHashPolicy=layer3+4"];
    assert_has(&generated("bond0.netdev"), &bond, "netplan's bond0.netdev");
    assert_has(&own("bond0.netdev"), &bond, "osconf's bond0.netdev");
    for id in ["602", "612"] {
        let vlan = [format!("Name=bond0.{id}"), "Kind=vlan".into(), format!("Id={id}")];
        let vlan: Vec<&str> = vlan.iter().map(String::as_str).collect();
        assert_has(&generated(&format!("bond0.{id}.netdev")), &vlan, "netplan's VLAN");
        assert_has(&own(&format!("bond0.{id}.netdev")), &vlan, "osconf's VLAN");
    }
    let carrier = ["VLAN=bond0.602", "VLAN=bond0.612"];
    assert_has(&generated("bond0.network"), &carrier, "netplan's bond0.network");
    assert_has(&own("bond0.network"), &carrier, "osconf's bond0.network");
    for member in ["eth2", "eth3"] {
        assert_has(&generated(&format!("osconf-{member}.network")), &["Bond=bond0"], "netplan's member");
        assert_has(&own(&format!("{member}.network")), &["Bond=bond0"], "osconf's member");
    }
    let primary = ["Name=bond0.602", "Address=2.2.2.13/29", "Gateway=2.2.2.9", "DNS=1.1.1.191"];
    assert_has(&generated("bond0.602.network"), &primary, "netplan's bond0.602");
    assert_has(&own("bond0.602.network"), &primary, "osconf's bond0.602");
}

/// NetworkManager's keyfile reader takes the bond, its ports and the VLANs
/// and keeps their keys.
#[test]
fn networkmanager_reads_the_bond_its_ports_and_the_vlans() {
    let tree = applied(&format!("networkmanager/{BOND_VLAN}"));
    let read = |id: &str| {
        let path = tree.join(&format!("/etc/NetworkManager/system-connections/osconf-{id}.nmconnection"));
        let (ok, out) = run("nmcli", &["--offline", "connection", "modify"], Some(&fs::read(path).unwrap()));
        assert!(ok, "{id}: {out}");
        out
    };
    let bond = read("bond0");
    assert_has(&bond, &["type=bond", "interface-name=bond0"], "bond0");
    let options = bond.split("[bond]").nth(1).unwrap_or_default();
    assert_has(options, &["mode=802.3ad", "miimon=100", "xmit_hash_policy=layer3+4"], "bond0 [bond]");
    for port in ["eth2", "eth3"] {
        let text = read(port);
        // NetworkManager 1.46 writes master= and slave-type= as controller= and port-type=.
        let controller = text.contains("master=bond0") || text.contains("controller=bond0");
        let kind = text.contains("slave-type=bond") || text.contains("port-type=bond");
        assert!(controller && kind && !text.contains("[ipv4]"), "{port}: {text}");
    }
    let vlan = read("bond0.602");
    assert_has(&vlan, &["type=vlan", "id=602", "parent=bond0", "address1=2.2.2.13/29,2.2.2.9"], "bond0.602");
}

/// `ifup --no-act` reads osconf's stanzas for the bond, a member and a VLAN
/// (its options are the ifenslave and vlan hooks' to use) and prints the
/// commands of each.
#[test]
fn ifup_reads_the_bond_member_and_vlan_stanzas() {
    let tree = applied(&format!("ifupdown/{BOND_VLAN}"));
    let stanza = tree.read("/etc/network/interfaces.d/osconf-bond0");
    assert_has(&stanza, &["bond-slaves eth2 eth3", "bond-mode 802.3ad", "bond-miimon 100"], "bond0");
    assert_has(&stanza, &["bond-xmit-hash-policy layer3+4"], "bond0");
    assert_has(&tree.read("/etc/network/interfaces.d/osconf-eth2"), &["bond-master bond0"], "eth2");
    assert_has(&tree.read("/etc/network/interfaces.d/osconf-bond0.602"), &["vlan-raw-device bond0"], "bond0.602");
    for (nic, want) in [
        ("bond0", "ip link set dev bond0 up"),
        ("eth2", "ip link set dev eth2 mtu 1500"),
        ("bond0.602", "ip addr replace 2.2.2.13/29 broadcast + dev bond0.602"),
        ("bond0.612", "ip route replace 192.168.1.0/32 via 10.0.1.1 dev bond0.612"),
    ] {
        let script = format!(
            "mount --bind '{}' /etc/network && mount -t tmpfs run /run && mkdir -p /run/network && exec ifup --no-act --verbose {nic}",
            tree.join("/etc/network").display()
        );
        let (ok, out) = run("unshare", &["--mount", "--propagation", "private", "--", "sh", "-c", &script], None);
        assert!(ok && !out.contains("nknown"), "{nic}: {out}");
        assert!(out.contains(want), "{nic}: {want:?} not in what ifup would do:\n{out}");
    }
}

/// The keys cloud-init's sysconfig renderer writes for a bond, its members
/// and a VLAN (cloudinit/net/sysconfig.py, `_render_bond_interfaces` and
/// `_render_vlan_interfaces`; tests/unittests/net/network_configs.py's
/// expected `ifcfg-bond0` and `ifcfg-bond0.200`): RHEL `TYPE=Bond`,
/// `BONDING_MASTER=yes`, `BONDING_OPTS`, members `MASTER` and `SLAVE=yes`,
/// VLANs `VLAN=yes` and `PHYSDEV`; SUSE `BONDING_MASTER`,
/// `BONDING_MODULE_OPTS`, `BONDING_SLAVE_n`, members `BOOTPROTO=none` and
/// `STARTMODE=hotplug`, VLANs `ETHERDEVICE` and `VLAN_ID`.
#[test]
fn ifcfg_files_carry_the_keys_cloud_init_writes_for_bonds_and_vlans() {
    let scripts = "/etc/sysconfig/network-scripts";
    let rhel = applied(&format!("rhel-ifcfg/{BOND_VLAN}"));
    let options = "BONDING_OPTS=\"mode=802.3ad miimon=100 xmit_hash_policy=layer3+4\"";
    let bond = ["DEVICE=bond0", "TYPE=Bond", "BONDING_MASTER=yes", options, "ONBOOT=yes"];
    assert_has(&rhel.read(&format!("{scripts}/ifcfg-bond0")), &bond, "rhel bond0");
    for member in ["eth2", "eth3"] {
        let keys = ["MASTER=bond0", "SLAVE=yes", "BOOTPROTO=none", "TYPE=Ethernet"];
        assert_has(&rhel.read(&format!("{scripts}/ifcfg-{member}")), &keys, "rhel member");
    }
    let vlan = ["DEVICE=bond0.602", "VLAN=yes", "PHYSDEV=bond0", "IPADDR=2.2.2.13", "GATEWAY=2.2.2.9"];
    let text = rhel.read(&format!("{scripts}/ifcfg-bond0.602"));
    assert_has(&text, &vlan, "rhel bond0.602");
    assert!(!text.contains("HWADDR") && !text.contains("TYPE="), "a VLAN is bound to no MAC and has no TYPE: {text}");

    let suse = "/etc/sysconfig/network";
    let tree = applied(&format!("suse-ifcfg/{BOND_VLAN}"));
    let bond = [
        "BONDING_MASTER='yes'",
        "BONDING_MODULE_OPTS='mode=802.3ad miimon=100 xmit_hash_policy=layer3+4'",
        "BONDING_SLAVE_0='eth2'",
        "BONDING_SLAVE_1='eth3'",
        "STARTMODE='auto'",
    ];
    assert_has(&tree.read(&format!("{suse}/ifcfg-bond0")), &bond, "suse bond0");
    assert_has(&tree.read(&format!("{suse}/ifcfg-eth2")), &["BOOTPROTO='none'", "STARTMODE='hotplug'"], "suse eth2");
    let vlan = ["ETHERDEVICE='bond0'", "VLAN_ID='612'", "IPADDR='10.0.1.5/29'"];
    assert_has(&tree.read(&format!("{suse}/ifcfg-bond0.612")), &vlan, "suse bond0.612");
    assert_has(&tree.read(&format!("{suse}/ifroute-bond0.612")), &["192.168.1.0/32 10.0.1.1 - bond0.612"], "route");
}
