//! SUSE's wicked/ifcfg: ifcfg-NAME + ifroute-NAME + ifrule-NAME in
//! /etc/sysconfig/network, named by the kernel's NIC name. A route or rule
//! file is written only when the NIC has such lines, and like every file
//! osconf owns it is removed when the settings no longer need it.
//!
//! A bond has `BONDING_MASTER='yes'`, `BONDING_MODULE_OPTS` and its members
//! as `BONDING_SLAVE_n`, each member `BOOTPROTO='none'` and
//! `STARTMODE='hotplug'` (ifcfg-bond(5)); a VLAN has `ETHERDEVICE` (its
//! parent) and `VLAN_ID` (ifcfg-vlan(5)), as cloud-init's sysconfig
//! renderer writes them for SUSE.

use crate::files::FileWrite;
use crate::settings::links::{bond_of, members_of, parent_of};
use crate::settings::{NicKind, Settings};

use super::extra::policy_rules;
use super::{header, lines_file, Configure, NicNames, Rendered, Stack, TakeEffect};

mod extra;

const SUSE: &str = "/etc/sysconfig/network";

/// Last: /etc/sysconfig/network is also a file on RHEL (checked first,
/// by its network-scripts directory).
pub static STACK: Stack = Stack {
    name: "suse-ifcfg",
    precedence: 60,
    detect: |root| root.is_dir(SUSE).then(|| format!("{SUSE} is a directory (SUSE wicked/ifcfg)")),
    render: |settings, names, _, _| Ok(render(settings, names)),
    check: |_| format!("osconf writes {SUSE}/ifcfg-NAME and ifroute-NAME"),
    take_effect: TakeEffect::AtStart,
    live: Configure::Now,
    owns: |path| super::file_of_interface(path, "/etc/sysconfig/network", &["ifcfg-", "ifroute-", "ifrule-"]),
};

fn render(settings: &Settings, names: &NicNames) -> Rendered {
    let mut owned = Vec::new();
    for nic in &settings.nics {
        let name = names.of(nic);
        let mut text = header("#", &format!("{} settings, MAC {}", nic.label(), nic.mac));
        match bond_of(&settings.nics, nic) {
            None => text += &format!("BOOTPROTO='{}'\nSTARTMODE='auto'\n", extra::boot_proto(nic)),
            Some(_) => text += "BOOTPROTO='none'\nSTARTMODE='hotplug'\n",
        }
        match &nic.kind {
            None => {}
            Some(NicKind::Bond(bond)) => {
                let options = super::bonding_options(bond);
                text += &format!("BONDING_MASTER='yes'\nBONDING_MODULE_OPTS='{options}'\n");
                for (n, member) in members_of(&settings.nics, bond).enumerate() {
                    text += &format!("BONDING_SLAVE_{n}='{}'\n", names.of(member));
                }
            }
            Some(NicKind::Vlan(vlan)) => {
                let parent = parent_of(&settings.nics, vlan).map_or_else(|| vlan.parent.label(), |p| names.of(p));
                text += &format!("ETHERDEVICE='{parent}'\nVLAN_ID='{}'\n", vlan.id);
            }
        }
        if let Some((address, prefix)) = nic.ipv4() {
            text += &format!("IPADDR='{address}/{prefix}'\n");
        }
        text += &extra::ifcfg(nic);
        owned.push(FileWrite::new(format!("{SUSE}/ifcfg-{name}"), text, 0o644));
        let routes: String = nic
            .routes
            .iter()
            .map(|r| match r.is_default() {
                true => format!("default {} - {name}\n", r.via),
                false => format!("{}/{} {} - {name}\n", r.dest, r.prefix, r.via),
            })
            .collect();
        owned.extend(lines_file(format!("{SUSE}/ifroute-{name}"), nic, "routes", routes + &extra::routes(nic, &name)));
        // wicked reads ifrule-<ifname> beside ifroute-<ifname> for a static
        // NIC (compat-suse.c, __ni_suse_addrconf_static(), ni_suse_read_rules()).
        owned.extend(lines_file(format!("{SUSE}/ifrule-{name}"), nic, "routing rules", policy_rules(nic)));
    }
    Rendered { owned, edited: Vec::new(), disabled: Vec::new() }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::settings::nic_extras;
    use crate::settings::Nic;

    /// A route as wicked reads an `ifroute-<ifname>` line: (table, destination, prefix, gateway, scope).
    type WickedRoute = (u32, Option<IpAddr>, u8, Option<IpAddr>, &'static str);

    /// The lines wicked parses: __ni_suse_read_routes() and
    /// ni_suse_read_rules() cut each line at the first `#`, skip leading
    /// blanks, and skip what is left empty.
    fn lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
        text.lines()
            .map(|l| l.split('#').next().unwrap().split([' ', '\t']).filter(|t| !t.is_empty()).collect::<Vec<_>>())
            .filter(|t| !t.is_empty())
    }

    /// compat-suse.c, __ni_suse_route_parse() with __ni_suse_route_parse_opts(),
    /// for what osconf writes: columns destination, gateway, netmask,
    /// interface (`-`: none), then `table N` / `scope NAME` pairs. Anything
    /// it would reject (or not read as meant) is an error here.
    fn wicked_route(t: &[&str], ifname: &str) -> Result<WickedRoute, String> {
        let column = |n: usize| t.get(n).copied().filter(|c| *c != "-");
        let gateway = column(1).map(|g| g.parse::<IpAddr>().map_err(|_| format!("gateway {g}"))).transpose()?;
        if column(2).is_some() || column(3).is_some_and(|n| n != ifname) {
            return Err(format!("netmask or foreign interface in {t:?}"));
        }
        let (mut table, mut scope) = (254, "universe");
        let mut opts = t.iter().skip(4);
        while let Some(opt) = opts.next() {
            let value = opts.next().ok_or(format!("{opt} without a value"))?;
            match *opt {
                "table" => {
                    table = value.parse().ok().filter(|n| *n != 0 && *n != u32::MAX).ok_or(format!("table {value}"))?
                }
                "scope" => {
                    scope = ["universe", "global", "site", "link", "host", "nowhere"]
                        .into_iter()
                        .find(|s| s == value)
                        .ok_or(format!("scope {value}"))?
                }
                // `via`/`dev` belong in their columns; other keywords osconf does not write.
                _ => return Err(format!("option {opt}")),
            }
        }
        let (destination, prefix) = match t[0] {
            "default" => (None, 0),
            text => {
                let (address, prefix) = text.split_once('/').ok_or(format!("{text} without a prefix"))?;
                (
                    Some(address.parse::<IpAddr>().map_err(|_| format!("destination {text}"))?),
                    prefix.parse().map_err(|_| format!("prefix {text}"))?,
                )
            }
        };
        // The family comes from the gateway, else the destination; `default` needs the gateway.
        if destination.is_none() && gateway.is_none()
            || gateway.zip(destination).is_some_and(|(g, d)| g.is_ipv4() != d.is_ipv4())
        {
            return Err(format!("no family, or two, in {t:?}"));
        }
        Ok((table, destination, prefix, gateway, scope))
    }

    /// compat-suse.c, ni_suse_parse_rule(), for what osconf writes:
    /// `from PREFIX` (its address gives the family), `table N`, `priority N`.
    fn wicked_rule(t: &[&str]) -> Result<(IpAddr, u8, u32, u32), String> {
        let (mut from, mut table, mut priority) = (None, 254, None);
        for pair in t.chunks(2) {
            let [key, value] = pair else { return Err(format!("{pair:?} without a value")) };
            let number = || value.parse::<u32>().map_err(|_| format!("{key} {value}"));
            match *key {
                "from" | "src" => {
                    from = value
                        .split_once('/')
                        .and_then(|(a, p)| Some((a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?)))
                }
                "table" | "lookup" => table = number()?,
                "priority" | "pref" | "preference" | "prio" => priority = Some(number()?),
                _ => return Err(format!("keyword {key}")),
            }
        }
        let (address, prefix) = from.ok_or("a rule without family")?;
        Ok((address, prefix, table, priority.ok_or("no priority")?))
    }

    #[test]
    fn wicked_reads_the_suse_per_nic_routing_as_meant() {
        let mut nic = Nic::new(1, "52:54:00:12:34:57".parse().unwrap(), "10.0.1.5".parse().unwrap(), 24);
        crate::settings::build::set_gateway(&mut nic, "10.0.1.1".parse().unwrap()).unwrap();
        nic.routes.push(crate::settings::Route {
            dest: "172.16.0.0".parse().unwrap(),
            prefix: 12,
            via: "10.0.1.1".parse().unwrap(),
        });
        nic_extras::add_secondary(&mut nic, "10.0.1.6".parse().unwrap()).unwrap();
        nic_extras::add_ipv6(&mut nic, "2001:db8:1::5".parse().unwrap(), 64).unwrap();
        nic_extras::set_ipv6_gateway(&mut nic, "fe80::1".parse().unwrap()).unwrap();
        let route6 =
            nic_extras::Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() };
        nic_extras::add_ipv6_route(&mut nic, route6).unwrap();
        assert!(nic_extras::route_own_replies(&mut nic));
        let settings = Settings { nics: vec![nic], ..Settings::default() };
        let files = render(&settings, &NicNames { found: Vec::new(), physical: Vec::new() }).owned;
        let file =
            |name: &str| files.iter().find(|f| f.path == format!("/etc/sysconfig/network/{name}")).unwrap().text();

        let routes: Vec<WickedRoute> =
            lines(&file("ifroute-eth1")).map(|t| wicked_route(&t, "eth1").unwrap()).collect();
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(
            routes,
            [
                (254, ip("172.16.0.0"), 12, ip("10.0.1.1"), "universe"),
                (254, None, 0, ip("fe80::1"), "universe"),
                (254, ip("fd30::"), 48, ip("fe80::f001"), "universe"),
                (1001, ip("10.0.1.0"), 24, None, "link"),
                (1001, None, 0, ip("10.0.1.1"), "universe"),
            ]
        );
        let rules: Vec<_> = lines(&file("ifrule-eth1")).map(|t| wicked_rule(&t).unwrap()).collect();
        assert_eq!(rules, [(ip("10.0.1.5").unwrap(), 32, 1001, 1001), (ip("10.0.1.6").unwrap(), 32, 1001, 1001)]);
        // The mirror rejects what wicked would not read as meant.
        assert!(wicked_route(&["default", "-", "-", "eth1", "table", "1001"], "eth1").is_err(), "no family");
        assert!(wicked_route(&["10.0.1.0/24", "-", "-", "eth1", "via", "10.0.1.1"], "eth1").is_err());
        assert!(wicked_rule(&["table", "1001", "priority", "1001"]).is_err(), "no family");
    }
}
