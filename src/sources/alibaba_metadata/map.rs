//! Metadata items → typed values → `Settings`, through the validator
//! functions os.conf uses (`settings::values`) and the one builder
//! (`settings::build`). Each item is validated on its own: a missing or bad
//! optional item is a warning naming it, and the rest applies.
//!
//! | item | becomes |
//! |---|---|
//! | `hostname` | the host name |
//! | `instance-id` | recorded; required, see below |
//! | `dns-conf/nameservers` | the name servers: IPv4, and IPv6 when the primary NIC has an IPv6 address (else each is skipped with a warning) |
//! | `mac` | which NIC is primary: eth0, with the default route |
//! | `network/interfaces/macs/` | one NIC per listed MAC, in listing order after the primary |
//! | `…/<mac>/primary-ip-address` | the NIC's address; else `private-ipv4` (primary NIC), else the first of `…/<mac>/private-ipv4s` |
//! | `…/<mac>/netmask` | its prefix; else the prefix of `…/<mac>/vswitch-cidr-block` |
//! | `…/<mac>/gateway` | its gateway; on the primary NIC also the default route |
//! | `…/<mac>/vpc-cidr-block` | on the primary NIC, a route to the VPC through the gateway |
//! | `…/<mac>/private-ipv4s` | the NIC's secondary IPv4 addresses (all but its address) |
//! | `…/<mac>/ipv6s` | its IPv6 addresses, with the prefix of `…/<mac>/vswitch-ipv6-cidr-block` (else /64) |
//! | `…/<mac>/ipv6-gateway` | its IPv6 default route |
//! | (every NIC but the primary one) | per-NIC routing: replies leave by the NIC they came in on |
//! | `public-keys/`, `public-keys/<n>/openssh-key` | root's SSH keys: the complete list (none when `public-keys/` is 404) |
//!
//! A NIC without an address or prefix is left out (left to the image's own
//! configuration). When `public-keys/` or one of its keys cannot be read
//! this time (an HTTP error status), root's keys are left as they are.
//!
//! "Cannot tell" is never "none". Only a 404 for `public-keys/` says the
//! instance has no key pair (the EC2-style tree Alibaba serves has no
//! `public-keys/` directory then); a listing that yields no valid key — an
//! empty one, entries that are not `N/`, keys none of which validates —
//! leaves root's keys as they are, with a warning naming the item.
//!
//! An endpoint whose replies are not the platform's (a proxy answering
//! `200 ok` to every path, a captive portal's HTML, a wrong url) is not
//! believed at all ([`HttpError::Foreign`]): `instance-id` must be served
//! and look like Alibaba's (see [`instance_id`]), and no item may be an
//! HTML or XML page. It is read first, so nothing else is asked of such an
//! endpoint.

use std::net::IpAddr;

use crate::settings::build::{self, SettingsBuilder};
use crate::settings::values;
use crate::settings::{Mac, Nic, Route};

use super::nic_items::{fill_from_metadata, MetadataItems};
use crate::sources::http::HttpError;
use crate::sources::metadata_items::{finish, prefixed_id, Items, Mapped, Reading, MACS};

/// Reads the items. An error only for a transport failure, or when nothing
/// usable was served at all.
pub fn read(items: &dyn Items) -> Result<Mapped, HttpError> {
    let mut reading = Reading::new(items);
    let instance_id = reading.identity("instance-id", instance_id, false)?;
    let mut builder = SettingsBuilder::new();
    if let Some(name) = reading.typed("hostname", values::hostname)? {
        builder.hostname(name);
    }
    let servers = reading.nameservers()?;
    let (macs, primary_known) = reading.macs()?;
    // The first NIC carries the name servers in the network files: its label, and whether it has IPv6.
    let mut carrier: Option<(String, bool)> = None;
    for (index, (listed, mac)) in macs.iter().enumerate() {
        let index = index as u32;
        let Some(nic) = reading.nic(index, listed, *mac, index == 0 && primary_known)? else { continue };
        let (label, has_ipv6) = (nic.label(), !nic.ipv6.is_empty());
        match builder.nic(nic) {
            Ok(()) if carrier.is_none() => carrier = Some((label, has_ipv6)),
            Ok(()) => {}
            Err(conflict) => reading.warn(format!("{MACS}{listed}: {}: NIC left out", conflict.message)),
        }
    }
    if let Some(servers) = servers {
        builder.nameservers(reading.reachable(servers, carrier));
    }
    let ssh_keys = reading.ssh_keys()?;
    finish(reading, builder, ssh_keys, instance_id)
}

/// Alibaba's own items; the shared ones are read in `metadata_items`.
impl Reading<'_> {
    /// `dns-conf/nameservers`: each entry IPv4 or IPv6, in order, once.
    fn nameservers(&mut self) -> Result<Option<Vec<IpAddr>>, HttpError> {
        let Some(list) = self.optional("dns-conf/nameservers")? else { return Ok(None) };
        let mut servers: Vec<IpAddr> = Vec::new();
        for entry in list_entries(&list) {
            match values::nameserver(&entry) {
                Ok(server) if !servers.contains(&server) => servers.push(server),
                Ok(_) => {}
                Err(e) => self.warn(format!("dns-conf/nameservers: {e}: skipped")),
            }
        }
        Ok(Some(servers))
    }

    /// The name servers the instance can reach: an IPv6 one only when the
    /// NIC that carries them (`carrier`: the first NIC, its label and
    /// whether it has IPv6) has an IPv6 address. Without, nothing could
    /// reach it, and NetworkManager refuses `[ipv6] dns=` on a NIC whose
    /// IPv6 is off.
    fn reachable(&mut self, servers: Vec<IpAddr>, carrier: Option<(String, bool)>) -> Vec<IpAddr> {
        let why = match &carrier {
            Some((_, true)) => return servers,
            Some((label, false)) => format!("{label}, the primary NIC, has no IPv6 address"),
            None => "no NIC has IPv6".to_owned(),
        };
        let (kept, skipped): (Vec<IpAddr>, Vec<IpAddr>) = servers.into_iter().partition(IpAddr::is_ipv4);
        for server in skipped {
            self.warn(format!("dns-conf/nameservers: {server}: {why}: skipped"));
        }
        kept
    }

    /// One NIC from its items; `None` (with a warning) when it has no usable
    /// address or prefix.
    fn nic(&mut self, index: u32, listed: &str, mac: Mac, primary: bool) -> Result<Option<Nic>, HttpError> {
        let item = |key: &str| format!("{MACS}{listed}/{key}");
        let mut address = self.typed(&item("primary-ip-address"), values::host_address)?;
        if address.is_none() && primary {
            address = self.typed("private-ipv4", values::host_address)?;
        }
        let private_ipv4s = self.list(&item("private-ipv4s"))?;
        if let (None, Some(list)) = (address, &private_ipv4s) {
            match values::host_address(list_entries(list).first().map_or("", String::as_str)) {
                Ok(first) => address = Some(first),
                Err(e) => self.warn(format!("{}: {e}: ignored", item("private-ipv4s"))),
            }
        }
        let Some(address) = address else {
            self.warn(format!(
                "{}: no address (nor private-ipv4s): eth{index} ({mac}) left as the image configures it",
                item("primary-ip-address")
            ));
            return Ok(None);
        };
        let prefix = match self.typed(&item("netmask"), values::netmask)? {
            Some(prefix) => prefix,
            None => match self.typed(&item("vswitch-cidr-block"), values::cidr)? {
                Some((network, prefix)) if prefix > 0 && values::network_of(address, prefix) == network => prefix,
                _ => {
                    self.warn(format!("{}: no netmask (nor a vSwitch CIDR holding {address}): eth{index} ({mac}) left as the image configures it", item("netmask")));
                    return Ok(None);
                }
            },
        };
        let mut nic = Nic::new(index, mac, address, prefix);
        if let Some(gateway) = self.typed(&item("gateway"), values::host_address)? {
            if let Err(e) = build::set_gateway(&mut nic, gateway) {
                self.warn(format!("{}: {e}: ignored", item("gateway")));
            }
        }
        if let (true, Some(gateway)) = (primary, nic.gateway) {
            if let Some((dest, prefix)) = self.typed(&item("vpc-cidr-block"), values::cidr)? {
                // 0.0.0.0/0 would be a second default route: the gateway gives that one.
                let route = Route { dest, prefix, via: gateway };
                if prefix == 0 {
                    self.warn(format!("{}: {dest}/0 is not a VPC range: ignored", item("vpc-cidr-block")));
                } else if let Err(e) = build::add_route(&mut nic, route) {
                    self.warn(format!("{}: {e}: ignored", item("vpc-cidr-block")));
                }
            }
        }
        let ipv6s = self.list(&item("ipv6s"))?;
        // Without IPv6 addresses the IPv6 gateway and prefix mean nothing: not asked for.
        let (ipv6_gateway, ipv6_cidr) = match ipv6s {
            Some(_) => (self.list(&item("ipv6-gateway"))?, self.list(&item("vswitch-ipv6-cidr-block"))?),
            None => (None, None),
        };
        let extras = MetadataItems {
            private_ipv4s: private_ipv4s.as_deref(),
            ipv6s: ipv6s.as_deref(),
            ipv6_gateway: ipv6_gateway.as_deref(),
            ipv6_cidr: ipv6_cidr.as_deref(),
        };
        let warnings = fill_from_metadata(&mut nic, extras, &format!("{MACS}{listed}/"), index != 0);
        self.warnings.extend(warnings);
        Ok(Some(nic))
    }
}

/// A list item: a JSON array of strings (`["10.0.0.5"]`) or values separated
/// by new lines, spaces or commas.
fn list_entries(text: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    }
    text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Alibaba's instance ids: `i-` and lower-case letters and digits
/// (`i-bp1h4adlltjc1d48goaq`; classic-network ones are shorter,
/// `i-23r29djmj`); see [`prefixed_id`]. It also goes into the record and
/// `status`.
pub fn instance_id(text: &str) -> Result<String, String> {
    prefixed_id(text, "i-", "an Alibaba instance id")
}

#[cfg(test)]
mod tests {
    use super::super::items::Document;
    use super::*;

    /// One NIC, with IPv6 (`ipv6s`) or without, and a mixed server list.
    fn tree(ipv6s: Option<&str>) -> Document {
        let mut nic = serde_json::json!({"primary-ip-address": "172.16.1.10", "netmask": "255.255.240.0", "gateway": "172.16.15.253"});
        if let Some(list) = ipv6s {
            nic["ipv6s"] = serde_json::json!(list);
        }
        Document(serde_json::json!({
            "instance-id": "i-bp1test000000000001",
            "mac": "00:16:3e:00:00:01",
            "network": {"interfaces": {"macs": {"00:16:3e:00:00:01": nic}}},
            "dns-conf": {"nameservers": "100.100.2.136\n2400:3200::1\nfe80::53\n2400:3200::1\nnonsense"},
        }))
    }

    #[test]
    fn ipv6_name_servers_need_an_ipv6_address_on_the_primary_nic() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let mapped = read(&tree(Some("[\"2001:db8:10:1::a\"]"))).unwrap();
        assert_eq!(mapped.settings.nameservers, [ip("100.100.2.136"), ip("2400:3200::1")]);
        assert_eq!(
            mapped.warnings,
            [
                "dns-conf/nameservers: fe80::53 cannot be a name server: skipped",
                "dns-conf/nameservers: \"nonsense\" is not an IP address: skipped"
            ]
        );
        assert!(
            mapped.canonical.contains("\"nameservers\":[\"100.100.2.136\",\"2400:3200::1\"]"),
            "{}",
            mapped.canonical
        );

        let mapped = read(&tree(None)).unwrap();
        assert_eq!(mapped.settings.nameservers, [ip("100.100.2.136")]);
        assert_eq!(
            mapped.warnings[2],
            "dns-conf/nameservers: 2400:3200::1: eth0, the primary NIC, has no IPv6 address: skipped"
        );
        assert_eq!(mapped.warnings.len(), 3, "{:?}", mapped.warnings);
    }

    #[test]
    fn instance_ids_look_like_alibabas() {
        for good in ["i-bp1h4adlltjc1d48goaq", "i-23r29djmj", "i-abcd"] {
            assert_eq!(instance_id(good).as_deref(), Ok(good));
        }
        let long = format!("i-{}", "a".repeat(63));
        for bad in [
            "ok",
            "",
            "i-",
            "i-abc",
            "I-bp1abcdef",
            "i-BP1ABCDEF",
            "i-bp1 abcd",
            "i-bp1_abcd",
            "ins-abcdef",
            "{\"id\":1}",
            &long,
        ] {
            assert!(instance_id(bad).is_err(), "{bad:?}");
        }
    }

    /// What a proxy or portal serves is not believed; a listing without a
    /// valid key keeps root's keys; only a missing `public-keys/` is no key.
    #[test]
    fn foreign_replies_are_refused_and_unsure_key_listings_keep_the_keys() {
        let with = |path: &[&str], value: serde_json::Value| {
            let mut document = tree(None);
            let mut node = &mut document.0;
            for part in &path[..path.len() - 1] {
                node = node.as_object_mut().unwrap().entry(part.to_string()).or_insert(serde_json::json!({}));
            }
            node[path[path.len() - 1]] = value;
            document
        };
        let foreign = |document: &Document| match read(document) {
            Err(HttpError::Foreign(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(foreign(&with(&["instance-id"], "ok".into())).starts_with("instance-id: \"ok\" is not"));
        assert!(foreign(&with(&["instance-id"], serde_json::Value::Null)).starts_with("instance-id: not served"));
        let html = "\n<!DOCTYPE html><html><body>Login</body></html>";
        assert!(foreign(&with(&["instance-id"], html.into())).contains("HTML"));
        assert!(foreign(&with(&["hostname"], html.into())).starts_with("hostname: the reply is an HTML"));

        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
        let keys = |public_keys: serde_json::Value| read(&with(&["public-keys"], public_keys)).unwrap();
        let unsure = [
            serde_json::json!({}),
            serde_json::json!("ok"),
            serde_json::json!({"0": {"openssh-key": "ssh-ed25519 AAAA broken"}, "1": {"openssh-key": "ok"}}),
        ];
        for listing in unsure {
            let mapped = keys(listing.clone());
            assert_eq!(mapped.settings.ssh_keys, None, "{listing}");
            let last = mapped.warnings.last().unwrap();
            assert_eq!(last, "public-keys/: no valid key among those listed: root's SSH keys left as they are");
        }
        let one = keys(serde_json::json!({"0": {"openssh-key": key}, "1": {"openssh-key": "ok"}}));
        assert_eq!(one.settings.ssh_keys.map(|k| k.len()), Some(1));
        assert_eq!(read(&tree(None)).unwrap().settings.ssh_keys, Some(Vec::new()), "no public-keys/: no key");
    }
}
