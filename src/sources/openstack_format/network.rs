//! `network_data.json`: NICs by MAC, their static addresses and routes, and
//! the name servers.
//!
//! | item | becomes |
//! |---|---|
//! | `links[]` of a physical type (`phy`, `ovs`, `vif`, …; unknown: a warning) | one NIC, found by `ethernet_mac_address` (any case) |
//! | `networks[]` `ipv4` | the NIC's address and prefix (`netmask` dotted); a second one on the link: a secondary address, with its own prefix |
//! | `… routes[]` `0.0.0.0/0.0.0.0` | the NIC's gateway; the first NIC with one is eth0 and carries the default route, each other one routes its own replies |
//! | `… routes[]` others | the NIC's static routes |
//! | `networks[]` `ipv6` | the NIC's IPv6 addresses (`netmask` expanded, `ffff:ffff:ffff:ffff::`); `::/::` gives the IPv6 gateway |
//! | `… routes[]` other IPv6 ones (`netmask` expanded or a length) | the NIC's IPv6 routes |
//! | `networks[]` `ipv4_dhcp` | DHCP for the NIC's IPv4, by the stack's own client (no static address) |
//! | `networks[]` `ipv6_slaac`, `ipv6_dhcpv6-stateless`, `ipv6_dhcpv6-stateful` (`ipv6_dhcp`: stateful, as cloud-init reads it) | the NIC's IPv6 mode, beside any static IPv6 address |
//! | `links[]` `mtu` (an integer or null) | the NIC's MTU |
//! | `links[]` `bond`: `bond_links` (link ids), `bond_mode` (name or 0–6; absent: `balance-rr`), `bond_miimon`, `bond_xmit_hash_policy` | a bond `bondN` (N counts the bond links as listed, as cloud-init names them) of the physical links listed, which carry no address |
//! | `links[]` `vlan`: `vlan_link` (a physical or bond link's id), `vlan_id` (1–4094) | a VLAN `PARENT.ID` |
//! | `… ethernet_mac_address` of a bond, `vlan_mac_address` of a VLAN | kept in the record only: the bond takes its first member's MAC and the VLAN its parent's, as the kernel gives them |
//! | `services[]` `dns`, top level and per network | the name servers (IPv6 ones when eth0 has IPv6) |
//!
//! A bond or VLAN no network addresses (and that carries no addressed VLAN)
//! is left to the image, as a physical link is; so is, with a warning, one
//! whose member or parent is not a physical link listed (or is already
//! another bond's member), or whose mode or id is invalid. Also ignored
//! with a warning: a network on a bond's member, a DHCP network on a link
//! that has a static IPv4 address (the static one is applied).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use super::meta::object;
use super::NETWORK_DATA;
use crate::settings::build::{self};
use crate::settings::links::{self as bond_vlan, Bond, NicKind, Parent, Vlan};
use crate::settings::nic_extras::{
    add_ipv6, add_ipv6_route, add_secondary_with_prefix, ipv6_address, route_own_replies, set_ipv6_gateway,
};
use crate::settings::values::{self, shorten};
use crate::settings::{Ipv6Auto, Mac, Nic, Route, Route6};

/// Link types that are one NIC of the instance (cloud-init's
/// `KNOWN_PHYSICAL_TYPES`, with Huawei's `cascading` and OVH's `bgpovs`).
const PHYSICAL: [&str; 14] = [
    "phy",
    "ovs",
    "tap",
    "vif",
    "bridge",
    "hw_veb",
    "cascading",
    "bgpovs",
    "ethernet",
    "vhostuser",
    "hyperv",
    "dvs",
    "802.1qbh",
    "macvtap",
];

/// The IPv6 modes of network types, as cloud-init's
/// `convert_net_json` reads them (the legacy `ipv6_dhcp` is stateful).
const IPV6_AUTO: [(&str, Ipv6Auto); 4] = [
    ("ipv6_slaac", Ipv6Auto::Slaac),
    ("ipv6_dhcpv6-stateless", Ipv6Auto::DhcpStateless),
    ("ipv6_dhcpv6-stateful", Ipv6Auto::DhcpStateful),
    ("ipv6_dhcp", Ipv6Auto::DhcpStateful),
];

pub struct Network {
    /// In order: the first carries the default route.
    pub nics: Vec<Nic>,
    pub nameservers: Vec<IpAddr>,
    pub warnings: Vec<String>,
}

/// One link as read, and what its networks gave.
struct Link {
    id: String,
    mac: Mac,
    address: Option<(Ipv4Addr, u8)>,
    /// From the default route: the item it came from, and the gateway.
    gateway: Option<(String, Ipv4Addr)>,
    routes: Vec<(String, Route)>,
    secondary: Vec<(String, Ipv4Addr, u8)>,
    ipv6: Vec<(String, Ipv6Addr, u8)>,
    ipv6_gateway: Option<(String, Ipv6Addr)>,
    ipv6_routes: Vec<(String, Route6)>,
    /// From an `ipv4_dhcp` network (the item), unless a static one came first.
    dhcp4: Option<String>,
    ipv6_auto: Option<Ipv6Auto>,
    mtu: Option<u32>,
    /// Why it is left to the image: a network or a type this version cannot express.
    left_out: bool,
    /// A bond or a VLAN; `None`: a physical link.
    virtual_link: Option<VirtualLink>,
    /// Its position in `links[]`: NICs follow the order listed.
    listed: usize,
}

/// A bond or VLAN link, its members or parent by link id.
enum VirtualLink {
    Bond { number: u32, members: Vec<String>, mode: String, miimon: Option<u32>, xmit_hash_policy: Option<String> },
    Vlan { parent: String, id: u16 },
}

impl Link {
    fn new(id: &str, mac: Mac, mtu: Option<u32>, virtual_link: Option<VirtualLink>) -> Link {
        Link {
            id: id.to_owned(),
            mac,
            address: None,
            gateway: None,
            routes: Vec::new(),
            secondary: Vec::new(),
            ipv6: Vec::new(),
            ipv6_gateway: None,
            ipv6_routes: Vec::new(),
            dhcp4: None,
            ipv6_auto: None,
            mtu,
            left_out: false,
            virtual_link,
            listed: 0,
        }
    }

    fn addressed(&self) -> bool {
        self.address.is_some() || self.dhcp4.is_some() || !self.ipv6.is_empty() || self.ipv6_auto.is_some()
    }

    fn members(&self) -> &[String] {
        match &self.virtual_link {
            Some(VirtualLink::Bond { members, .. }) => members,
            _ => &[],
        }
    }
}

pub fn read(bytes: &[u8]) -> Result<Network, String> {
    let object = object(bytes)?;
    let mut reading = Reading { warnings: Vec::new() };
    let mut links = reading.links(&object);
    let mut nameservers = Vec::new();
    reading.services(&object, "services", &mut nameservers);
    match object.get("networks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(networks)) => {
            for (n, network) in networks.iter().enumerate() {
                let item = format!("networks[{n}]");
                match network {
                    Value::Object(network) => {
                        reading.network(&item, network, &mut links);
                        reading.services(network, &format!("{item}.services"), &mut nameservers);
                    }
                    _ => reading.warn(&item, "not an object: ignored".into()),
                }
            }
        }
        Some(_) => reading.warn("networks", "not a list: ignored".into()),
    }
    let nics = reading.nics(links);
    let nameservers = reading.reachable(nameservers, nics.first());
    Ok(Network { nics, nameservers, warnings: reading.warnings })
}

struct Reading {
    warnings: Vec<String>,
}

impl Reading {
    fn warn(&mut self, item: &str, why: String) {
        self.warnings.push(format!("{NETWORK_DATA}: {item}: {why}"));
    }

    /// The links of a physical type, with a valid and distinct MAC and id.
    fn links(&mut self, object: &Map<String, Value>) -> Vec<Link> {
        let mut links: Vec<Link> = Vec::new();
        let entries = match object.get("links") {
            None | Some(Value::Null) => return links,
            Some(Value::Array(entries)) => entries,
            Some(_) => {
                self.warn("links", "not a list: ignored".into());
                return links;
            }
        };
        // Bonds and VLANs name other links: read once every physical one is.
        let mut bonds = Vec::new();
        let mut vlans = Vec::new();
        for (n, entry) in entries.iter().enumerate() {
            let item = format!("links[{n}]");
            let Some(id) = entry.get("id").and_then(Value::as_str) else {
                self.warn(&item, "no id: ignored".into());
                continue;
            };
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or_default();
            if kind == "bond" {
                // Numbered as listed, as cloud-init names them.
                bonds.push((n, item, id, entry, bonds.len() as u32));
                continue;
            }
            if kind == "vlan" {
                vlans.push((n, item, id, entry));
                continue;
            }
            if !PHYSICAL.contains(&kind) {
                self.warn(
                    &format!("{item}.type"),
                    format!("{:?} is not a known link type: taken as a physical NIC", shorten(kind)),
                );
            }
            let mac = match entry.get("ethernet_mac_address").and_then(Value::as_str).map(values::mac) {
                Some(Ok(mac)) => mac,
                Some(Err(why)) => {
                    self.warn(&format!("{item}.ethernet_mac_address"), format!("{why}: link ignored"));
                    continue;
                }
                None => {
                    self.warn(&format!("{item}.ethernet_mac_address"), "missing or not a string: link ignored".into());
                    continue;
                }
            };
            if links.iter().any(|l| l.id == id || l.mac == mac) {
                self.warn(&item, format!("id {:?} or MAC {mac} given twice: link ignored", shorten(id)));
                continue;
            }
            let mtu = self.mtu(&item, entry);
            links.push(Link { listed: n, ..Link::new(id, mac, mtu, None) });
        }
        for (n, item, id, entry, number) in bonds {
            if let Some(bond) = self.bond(&item, id, entry, number, &links) {
                links.push(Link { listed: n, ..bond });
            }
        }
        for (n, item, id, entry) in vlans {
            if let Some(vlan) = self.vlan(&item, id, entry, &links) {
                links.push(Link { listed: n, ..vlan });
            }
        }
        links.sort_by_key(|l| l.listed);
        links
    }

    /// `mtu`: an integer or null.
    fn mtu(&mut self, item: &str, entry: &Value) -> Option<u32> {
        match entry.get("mtu") {
            None | Some(Value::Null) => None,
            Some(mtu) => match mtu.as_u64().map(|m| values::mtu(&m.to_string())) {
                Some(Ok(mtu)) => Some(mtu),
                Some(Err(why)) => {
                    self.warn(&format!("{item}.mtu"), format!("{why}: ignored"));
                    None
                }
                None => {
                    let why = format!("{} is not an integer: ignored", shorten(&mtu.to_string()));
                    self.warn(&format!("{item}.mtu"), why);
                    None
                }
            },
        }
    }

    /// The link's own MAC under `key`, if given and valid (a bond's or
    /// VLAN's: else its first member's or its parent's).
    fn own_mac(&mut self, item: &str, entry: &Value, key: &str) -> Option<Mac> {
        match entry.get(key).and_then(Value::as_str).map(values::mac) {
            Some(Ok(mac)) => Some(mac),
            Some(Err(why)) => {
                self.warn(&format!("{item}.{key}"), format!("{why}: ignored"));
                None
            }
            None => None,
        }
    }

    /// A bond of physical links already read; `None` (a warning): left to the image.
    fn bond(&mut self, item: &str, id: &str, entry: &Value, number: u32, links: &[Link]) -> Option<Link> {
        let left = "the bond is left to the image's own configuration";
        if links.iter().any(|l| l.id == id) {
            self.warn(item, format!("id {:?} given twice: {left}", shorten(id)));
            return None;
        }
        let ids: Vec<&str> = match entry.get("bond_links").and_then(Value::as_array) {
            Some(ids) if !ids.is_empty() => ids.iter().map(|m| m.as_str().unwrap_or_default()).collect(),
            _ => {
                self.warn(&format!("{item}.bond_links"), format!("missing or not a list of link ids: {left}"));
                return None;
            }
        };
        let mut members = Vec::new();
        for member in ids {
            let physical = links.iter().find(|l| l.id == member && l.virtual_link.is_none());
            let Some(physical) = physical else {
                let why = format!("{:?} is no physical link listed: {left}", shorten(member));
                self.warn(&format!("{item}.bond_links"), why);
                return None;
            };
            if members.contains(&physical.id) || links.iter().any(|l| l.members().contains(&physical.id)) {
                let why = format!("{:?} is listed twice or in another bond: {left}", shorten(member));
                self.warn(&format!("{item}.bond_links"), why);
                return None;
            }
            members.push(physical.id.clone());
        }
        let mode = match entry.get("bond_mode") {
            None | Some(Value::Null) => Ok(bond_vlan::BOND_MODES[0].to_owned()),
            Some(Value::String(mode)) => bond_vlan::bond_mode(mode),
            Some(Value::Number(mode)) => bond_vlan::bond_mode(&mode.to_string()),
            Some(other) => Err(format!("{} is not a bonding mode", shorten(&other.to_string()))),
        };
        let mode = match mode {
            Ok(mode) => mode,
            Err(why) => {
                self.warn(&format!("{item}.bond_mode"), format!("{why}: {left}"));
                return None;
            }
        };
        let miimon = match entry.get("bond_miimon") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let number = value.as_u64().or_else(|| value.as_str().and_then(|t| t.trim().parse().ok()));
                match number.and_then(|n| u32::try_from(n).ok()) {
                    Some(miimon) => Some(miimon),
                    None => {
                        let why = format!("{} is not a non-negative integer: ignored", shorten(&value.to_string()));
                        self.warn(&format!("{item}.bond_miimon"), why);
                        None
                    }
                }
            }
        };
        let xmit_hash_policy = match entry.get("bond_xmit_hash_policy") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_str().map(bond_vlan::xmit_hash_policy) {
                Some(Ok(policy)) => Some(policy),
                Some(Err(why)) => {
                    self.warn(&format!("{item}.bond_xmit_hash_policy"), format!("{why}: ignored"));
                    None
                }
                None => {
                    self.warn(&format!("{item}.bond_xmit_hash_policy"), "not a string: ignored".into());
                    None
                }
            },
        };
        let first = links.iter().find(|l| l.id == members[0]).map(|l| l.mac)?;
        let mac = self.own_mac(item, entry, "ethernet_mac_address").unwrap_or(first);
        let mtu = self.mtu(item, entry);
        Some(Link::new(id, mac, mtu, Some(VirtualLink::Bond { number, members, mode, miimon, xmit_hash_policy })))
    }

    /// A VLAN on a physical or bond link already read; `None` (a warning): left to the image.
    fn vlan(&mut self, item: &str, id: &str, entry: &Value, links: &[Link]) -> Option<Link> {
        let left = "the VLAN is left to the image's own configuration";
        if links.iter().any(|l| l.id == id) {
            self.warn(item, format!("id {:?} given twice: {left}", shorten(id)));
            return None;
        }
        let parent_id = entry.get("vlan_link").and_then(Value::as_str).unwrap_or_default();
        let parent =
            links.iter().find(|l| l.id == parent_id && !matches!(l.virtual_link, Some(VirtualLink::Vlan { .. })));
        let Some(parent) = parent else {
            let why = format!("{:?} is no physical or bond link listed: {left}", shorten(parent_id));
            self.warn(&format!("{item}.vlan_link"), why);
            return None;
        };
        if links.iter().any(|l| l.members().contains(&parent.id)) {
            let why = format!("{:?} is a bond's member: {left}", shorten(parent_id));
            self.warn(&format!("{item}.vlan_link"), why);
            return None;
        }
        let vlan_id = entry.get("vlan_id");
        let number = vlan_id.and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|t| t.trim().parse().ok())));
        let vlan_id = match number.map(bond_vlan::vlan_id) {
            Some(Ok(vlan_id)) => vlan_id,
            Some(Err(why)) => {
                self.warn(&format!("{item}.vlan_id"), format!("{why}: {left}"));
                return None;
            }
            None => {
                self.warn(&format!("{item}.vlan_id"), format!("missing or not an integer: {left}"));
                return None;
            }
        };
        let taken = |l: &Link| matches!(&l.virtual_link, Some(VirtualLink::Vlan { parent: p, id }) if *p == parent.id && *id == vlan_id);
        if links.iter().any(taken) {
            self.warn(&format!("{item}.vlan_id"), format!("{vlan_id} is on {:?} already: {left}", shorten(parent_id)));
            return None;
        }
        let mac = self.own_mac(item, entry, "vlan_mac_address").unwrap_or(parent.mac);
        let mtu = self.mtu(item, entry);
        Some(Link::new(id, mac, mtu, Some(VirtualLink::Vlan { parent: parent.id.clone(), id: vlan_id })))
    }

    /// One entry of `networks`, onto its link.
    fn network(&mut self, item: &str, network: &Map<String, Value>, links: &mut [Link]) {
        let Some(link_id) = network.get("link").and_then(Value::as_str) else {
            self.warn(&format!("{item}.link"), "missing or not a string: network ignored".into());
            return;
        };
        if links.iter().any(|l| l.members().iter().any(|m| m == link_id)) {
            let why = format!("{:?} is a bond's member, which carries no address: network ignored", shorten(link_id));
            return self.warn(&format!("{item}.link"), why);
        }
        let Some(link) = links.iter_mut().find(|l| l.id == link_id) else {
            self.warn(&format!("{item}.link"), format!("{:?} is no link listed: network ignored", shorten(link_id)));
            return;
        };
        let kind = network.get("type").and_then(Value::as_str).unwrap_or_default();
        let text = |key: &str| network.get(key).and_then(Value::as_str);
        match kind {
            "ipv4" => {
                let address = match (text("ip_address").map(values::host_address), text("netmask").map(values::netmask))
                {
                    (Some(Ok(address)), Some(Ok(prefix))) => (address, prefix),
                    (Some(Err(why)), _) => return self.left_out(link, &format!("{item}.ip_address"), why),
                    (_, Some(Err(why))) => return self.left_out(link, &format!("{item}.netmask"), why),
                    (None, _) => return self.left_out(link, &format!("{item}.ip_address"), "missing".into()),
                    (_, None) => return self.left_out(link, &format!("{item}.netmask"), "missing".into()),
                };
                if let Some(dhcp) = link.dhcp4.take() {
                    self.warn(&dhcp, format!("the link has a static IPv4 address ({item}): DHCP is not applied"));
                }
                if link.address.is_none() {
                    link.address = Some(address);
                } else {
                    link.secondary.push((format!("{item}.ip_address"), address.0, address.1));
                }
                for (n, route) in list(network, "routes").iter().enumerate() {
                    let route_item = format!("{item}.routes[{n}]");
                    match ipv4_route(route) {
                        Ok(route) if route.is_default() => match &link.gateway {
                            None => link.gateway = Some((format!("{route_item}.gateway"), route.via)),
                            Some((_, gateway)) if *gateway == route.via => {}
                            Some((_, gateway)) => self
                                .warn(&route_item, format!("a second default route (via {gateway} already): ignored")),
                        },
                        Ok(route) => link.routes.push((route_item, route)),
                        Err(why) => self.warn(&route_item, format!("{why}: ignored")),
                    }
                }
            }
            "ipv6" => {
                let address = match (text("ip_address"), text("netmask")) {
                    (Some(address), netmask) => ipv6_with_prefix(address, netmask),
                    (None, _) => Err("missing".into()),
                };
                let (address, prefix) = match address {
                    Ok(address) => address,
                    Err(why) => return self.warn(&format!("{item}.ip_address"), format!("{why}: ignored")),
                };
                link.ipv6.push((format!("{item}.ip_address"), address, prefix));
                for (n, route) in list(network, "routes").iter().enumerate() {
                    let route_item = format!("{item}.routes[{n}]");
                    let get = |key: &str| route.get(key).and_then(Value::as_str).map(str::trim);
                    match (get("network"), get("netmask"), get("gateway").map(str::parse::<Ipv6Addr>)) {
                        (Some("::"), Some("::"), Some(Ok(gateway))) if link.ipv6_gateway.is_none() => {
                            link.ipv6_gateway = Some((format!("{route_item}.gateway"), gateway))
                        }
                        (Some("::"), Some("::"), Some(Ok(_))) => {
                            self.warn(&route_item, "a second IPv6 default route: ignored".into())
                        }
                        (Some(network), Some(netmask), Some(Ok(via))) => match ipv6_route(network, netmask, via) {
                            Ok(route) => link.ipv6_routes.push((route_item, route)),
                            Err(why) => self.warn(&route_item, format!("{why}: ignored")),
                        },
                        _ => self.warn(&route_item, "not an IPv6 route (network, netmask, gateway): ignored".into()),
                    }
                }
            }
            "ipv4_dhcp" | "dhcp4" if link.address.is_some() => self.warn(
                &format!("{item}.type"),
                format!("{kind}: the link has a static IPv4 address: DHCP is not applied"),
            ),
            "ipv4_dhcp" | "dhcp4" => {
                link.dhcp4.get_or_insert_with(|| format!("{item}.type"));
            }
            kind if IPV6_AUTO.iter().any(|(name, _)| *name == kind) => {
                let mode = IPV6_AUTO.iter().find(|(name, _)| *name == kind).map(|(_, mode)| *mode);
                match (link.ipv6_auto, mode) {
                    (None, mode) => link.ipv6_auto = mode,
                    (Some(first), Some(mode)) if first == mode => {}
                    (Some(first), _) => self.warn(
                        &format!("{item}.type"),
                        format!("{kind}: the link takes IPv6 by {first} already: ignored"),
                    ),
                }
            }
            kind => self.left_out(
                link,
                &format!("{item}.type"),
                format!(
                    "{:?} is not a network type osconf knows; the NIC is left to the image's own configuration",
                    shorten(kind)
                ),
            ),
        }
    }

    fn left_out(&mut self, link: &mut Link, item: &str, why: String) {
        if !why.contains("left to the image") {
            self.warn(item, format!("{why}: the NIC is left to the image's own configuration"));
        } else {
            self.warn(item, why);
        }
        link.left_out = true;
    }

    /// `services[] {type: dns, address}` into `servers`, each once.
    fn services(&mut self, object: &Map<String, Value>, item: &str, servers: &mut Vec<IpAddr>) {
        let key = item.rsplit('.').next().unwrap_or(item);
        let entries = match object.get(key) {
            None | Some(Value::Null) => return,
            Some(Value::Array(entries)) => entries,
            Some(_) => return self.warn(item, "not a list: ignored".into()),
        };
        for (n, entry) in entries.iter().enumerate() {
            if entry.get("type").and_then(Value::as_str) != Some("dns") {
                continue;
            }
            let entry_item = format!("{item}[{n}].address");
            match entry.get("address").and_then(Value::as_str).map(values::nameserver) {
                Some(Ok(server)) if !servers.contains(&server) => servers.push(server),
                Some(Ok(_)) => {}
                Some(Err(why)) => self.warn(&entry_item, format!("{why}: skipped")),
                None => self.warn(&entry_item, "missing or not a string: skipped".into()),
            }
        }
    }

    /// The links as NICs: the first with a gateway is eth0 (the default
    /// route), the others addressed follow in the order listed; then the
    /// links only a kept bond or VLAN needs (its members, its parent).
    fn nics(&mut self, links: Vec<Link>) -> Vec<Nic> {
        // A link no network gives an address is left to the image.
        let mut keep: Vec<bool> = links.iter().map(|l| !l.left_out && l.addressed()).collect();
        let position = |id: &str| links.iter().position(|l| l.id == id);
        // VLANs first: one may keep its bond, whose members then follow.
        for pass in [true, false] {
            for (n, link) in links.iter().enumerate() {
                match &link.virtual_link {
                    Some(VirtualLink::Vlan { parent, .. }) if pass && keep[n] => {
                        let Some(p) = position(parent) else { continue };
                        if links[p].left_out {
                            self.warn(&link.id, format!("its parent {parent:?} is left to the image: so is the VLAN"));
                            keep[n] = false;
                        } else {
                            keep[p] = true;
                        }
                    }
                    Some(VirtualLink::Bond { members, .. }) if !pass && keep[n] => {
                        for member in members.iter().filter_map(|m| position(m)) {
                            keep[member] = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        let (mut kept, structural): (Vec<Link>, Vec<Link>) =
            links.into_iter().zip(keep).filter(|(_, keep)| *keep).map(|(link, _)| link).partition(Link::addressed);
        if let Some(first) = kept.iter().position(|l| l.gateway.is_some()) {
            let primary = kept.remove(first);
            kept.insert(0, primary);
        }
        kept.extend(structural);
        let index_of = |id: &str| kept.iter().position(|l| l.id == id).map(|i| i as u32);
        let kinds: Vec<Option<NicKind>> = kept
            .iter()
            .map(|link| match &link.virtual_link {
                None => None,
                Some(VirtualLink::Bond { number, members, mode, miimon, xmit_hash_policy }) => {
                    let members = members.iter().filter_map(|m| kept.iter().find(|l| l.id == *m)).map(|l| l.mac);
                    Some(NicKind::Bond(Bond {
                        number: *number,
                        members: members.collect(),
                        mode: mode.clone(),
                        miimon: *miimon,
                        xmit_hash_policy: xmit_hash_policy.clone(),
                    }))
                }
                Some(VirtualLink::Vlan { parent, id }) => {
                    let parent = kept.iter().find(|l| l.id == *parent)?;
                    let parent = match &parent.virtual_link {
                        Some(VirtualLink::Bond { number, .. }) => Parent::Bond(*number),
                        _ => Parent::Nic(index_of(&parent.id)?),
                    };
                    Some(NicKind::Vlan(Vlan { parent, id: *id }))
                }
            })
            .collect();
        let mut nics = Vec::new();
        for ((index, link), kind) in kept.into_iter().enumerate().zip(kinds) {
            if link.virtual_link.is_some() && kind.is_none() {
                // Its parent is kept whenever it is (above): never taken as physical.
                self.warn(&link.id, "its parent is not applied: left to the image's own configuration".into());
                continue;
            }
            let mut nic = match link.address {
                Some((address, prefix)) => Nic::new(index as u32, link.mac, address, prefix),
                None => Nic { dhcp4: link.dhcp4.is_some(), ..Nic::automatic(index as u32, link.mac) },
            };
            nic.ipv6_auto = link.ipv6_auto;
            nic.mtu = link.mtu;
            if let Some((item, gateway)) = link.gateway {
                if let Err(why) = build::set_gateway(&mut nic, gateway) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            for (item, route) in link.routes {
                if let Err(why) = build::add_route(&mut nic, route) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            for (item, address, prefix) in link.secondary {
                if let Err(why) = add_secondary_with_prefix(&mut nic, address, prefix) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            for (item, address, prefix) in link.ipv6 {
                if let Err(why) = add_ipv6(&mut nic, address, prefix) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            if let (Some((item, gateway)), false) = (link.ipv6_gateway, nic.ipv6.is_empty()) {
                if let Err(why) = set_ipv6_gateway(&mut nic, gateway) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            for (item, route) in link.ipv6_routes {
                if let Err(why) = add_ipv6_route(&mut nic, route) {
                    self.warn(&item, format!("{why}: ignored"));
                }
            }
            if index != 0 {
                route_own_replies(&mut nic);
            }
            nic.kind = kind;
            nics.push(nic);
        }
        nics
    }

    /// The name servers the instance can reach: an IPv6 one only when eth0,
    /// which carries them in the network files, has an IPv6 address (as the
    /// Alibaba metadata source does, see `alibaba_metadata::map`).
    fn reachable(&mut self, servers: Vec<IpAddr>, first: Option<&Nic>) -> Vec<IpAddr> {
        let why = match first {
            Some(nic) if !nic.ipv6.is_empty() || nic.ipv6_auto.is_some() => return servers,
            Some(nic) => format!("{}, the primary NIC, has no IPv6 address", nic.label()),
            None => "no NIC has IPv6".to_owned(),
        };
        let (kept, skipped): (Vec<IpAddr>, Vec<IpAddr>) = servers.into_iter().partition(IpAddr::is_ipv4);
        for server in skipped {
            self.warn("services", format!("{server}: {why}: skipped"));
        }
        kept
    }
}

/// A list under `key`; anything else is no list.
fn list<'a>(object: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    object.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `{network, netmask, gateway}`; `0.0.0.0/0.0.0.0` is the default route.
fn ipv4_route(route: &Value) -> Result<Route, String> {
    let get = |key: &str| route.get(key).and_then(Value::as_str).ok_or_else(|| format!("no {key}"));
    let (network, netmask, gateway) =
        (values::ipv4(get("network")?)?, get("netmask")?, values::host_address(get("gateway")?)?);
    let prefix = if netmask.trim() == "0.0.0.0" { 0 } else { values::netmask(netmask)? };
    if values::network_of(network, prefix) != network {
        return Err(format!("{network} is not the network of /{prefix}"));
    }
    Ok(Route { dest: network, prefix, via: gateway })
}

/// An IPv6 address with its prefix: from an expanded `netmask`
/// (`ffff:ffff:ffff:ffff::`), or `address/prefix`; /64 when neither says.
fn ipv6_with_prefix(address: &str, netmask: Option<&str>) -> Result<(Ipv6Addr, u8), String> {
    let (address, given) = match address.split_once('/') {
        Some((address, prefix)) => {
            (address, Some(prefix.parse::<u8>().map_err(|_| format!("{:?} is not a prefix length", shorten(prefix)))?))
        }
        None => (address, None),
    };
    let address = ipv6_address(address)?;
    // An empty netmask says nothing; some clouds give the length as text
    // (cloud-init's `OS_SAMPLES`: "64").
    let netmask = netmask.map(str::trim).filter(|m| !m.is_empty());
    let prefix = match (netmask, given) {
        (Some(netmask), _) => ipv6_prefix(netmask)?,
        (None, Some(prefix)) => prefix,
        (None, None) => 64,
    };
    Ok((address, prefix))
}

/// The length of an IPv6 `netmask`: expanded (`ffff:ffff:ffff::`) or a
/// length as text (`48`), 1 to 128.
fn ipv6_prefix(netmask: &str) -> Result<u8, String> {
    let netmask = netmask.trim();
    if netmask.bytes().all(|b| b.is_ascii_digit()) {
        return match netmask.parse::<u8>() {
            Ok(prefix @ 1..=128) => Ok(prefix),
            _ => Err(format!("netmask {:?} is not an IPv6 prefix length", shorten(netmask))),
        };
    }
    let bits = u128::from(
        netmask.parse::<Ipv6Addr>().map_err(|_| format!("netmask {:?} is not an IPv6 mask", shorten(netmask)))?,
    );
    let prefix = bits.leading_ones();
    if bits.checked_shl(prefix).unwrap_or(0) != 0 || prefix == 0 {
        return Err(format!("netmask {netmask} is not a contiguous IPv6 mask"));
    }
    Ok(prefix as u8)
}

/// An IPv6 route other than the default one, `{network, netmask, gateway}`
/// as read; `add_ipv6_route` checks it against the NIC.
fn ipv6_route(network: &str, netmask: &str, via: Ipv6Addr) -> Result<Route6, String> {
    let dest = network.parse().map_err(|_| format!("network {:?} is not an IPv6 address", shorten(network)))?;
    Ok(Route6 { dest, prefix: ipv6_prefix(netmask)?, via })
}
