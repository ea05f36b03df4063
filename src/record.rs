//! What osconf did last: written last, atomically, mode 0600. Each kind of
//! source keeps its own record — `/var/lib/osconf/record.json` for drops
//! (first partition, CD-ROM, `--drop`), `metadata-record.json` for the
//! metadata endpoint — so each is applied once by its own digest, and
//! enabling both never makes one re-apply the other. The newer of the two
//! is what osconf set last: the next run diffs against it to remove what the
//! new settings no longer want.
//!
//! A record is input like any other (a disk edited offline, a bug of an
//! older version): [`Record::check`] validates every field when it is
//! loaded — the host name, addresses and routes with the settings'
//! validators, owned files only of the shapes osconf writes — and a damaged
//! record (not JSON, a field invalid) is a warning naming the file and the
//! field, and is treated as absent: its source's settings apply again, and
//! nothing is removed or restored on its word. The image's originals kept
//! under `/var/lib/osconf/backup` stay where they are.

use std::io;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, Mode, Root, WriteBatch};
use crate::plan::network::{Stack, STACKS};
use crate::settings::values::shorten;
use crate::settings::{build, nic_extras, values, Nic, SettingsBuilder, SshKey};
use crate::sources::alibaba_metadata::instance_id;
use crate::sources::SOURCES;
use crate::state::{record_path, METADATA_RECORD_PATH, RECORD_PATH};

/// osconf 0.1's two records, before each source had its own: still read,
/// for the sources that wrote them, until that source writes its own.
const OLD_RECORDS: [(&str, &[&str]); 2] =
    [(RECORD_PATH, &["alibaba-drop", "tencent-cdrom"]), (METADATA_RECORD_PATH, &["alibaba-metadata"])];

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Record {
    /// Format version of this file.
    pub version: u32,
    /// Seconds since the Unix epoch when the apply finished.
    pub applied_at: u64,
    /// Where the settings came from, in words.
    pub source: String,
    /// Counts applies on this host (1, 2, ...): the drop's display id in
    /// logs and `status`, revealing nothing about the drop.
    #[serde(default)]
    pub sequence: u64,
    /// HMAC-SHA256 (hex) of the drop's bytes under the host's key
    /// (`drop_key`): the same drop is never applied twice. Never printed.
    #[serde(default)]
    pub drop_hmac: String,
    /// A version-1 record's plain SHA-256 of the drop: read to recognise that
    /// drop once more, then replaced by `drop_hmac`, never written again.
    #[serde(default, rename = "drop_sha256", skip_serializing)]
    pub legacy_drop_sha256: Option<String>,
    pub hostname: Option<String>,
    /// Only whether it was set: the password itself is never recorded.
    pub password_set: bool,
    /// An IPv4 server reads and writes as before (`"7.7.7.7"`): older records still load.
    pub nameservers: Vec<IpAddr>,
    /// Addresses and routes osconf configured, per NIC (matched by MAC).
    pub nics: Vec<Nic>,
    /// The network stack whose files osconf rendered, if any.
    pub network_stack: Option<String>,
    /// Files osconf wrote and owns: removed when a later drop no longer needs them.
    pub owned_files: Vec<String>,
    /// The keys in osconf's block of root's `authorized_keys`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKey>,
    /// The registered source whose record this is (`records/<from>.json`);
    /// empty in osconf 0.1's records.
    #[serde(default)]
    pub from: String,
    /// The instance the settings were for (the metadata's `instance-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

impl Record {
    /// 2: `drop_sha256` replaced by `drop_hmac` and `sequence`.
    pub const VERSION: u32 = 2;

    /// What osconf set last, from any source: the newest record, or `None`
    /// on a system osconf never configured. A damaged record is a warning
    /// and counts as absent.
    pub fn load(root: &Root) -> io::Result<Option<Record>> {
        let (record, damaged) = Record::load_reporting(root)?;
        for why in damaged {
            log::warn!("{why}");
        }
        Ok(record)
    }

    /// Like [`Record::load`], with the damaged records (each a sentence
    /// naming the file and the field) returned instead of logged.
    pub fn load_reporting(root: &Root) -> io::Result<(Option<Record>, Vec<String>)> {
        let mut damaged = Vec::new();
        let mut records = Vec::new();
        // osconf 0.1's first: on a tie (records from before `sequence`), the
        // metadata's wins, its unit running after the drop's; then each source's.
        let old = OLD_RECORDS.iter().map(|(path, _)| (path.to_string(), ""));
        let own = SOURCES.iter().map(|source| (record_path(source.name()), source.name()));
        for (path, from) in old.chain(own) {
            match Record::read_path(root, &path, from)? {
                Ok(Some(record)) => records.push(record),
                Ok(None) => {}
                Err(why) => damaged.push(why),
            }
        }
        // `sequence` counts applies across all sources.
        let newest = records.into_iter().max_by_key(|r| (r.sequence, r.applied_at));
        Ok((newest, damaged))
    }

    /// The record of one source: what it applied last (a damaged one is a
    /// warning and counts as absent).
    pub fn load_source(root: &Root, source: &str) -> io::Result<Option<Record>> {
        Ok(Record::read_source(root, source)?.unwrap_or_else(|why| {
            log::warn!("{why}");
            None
        }))
    }

    /// The record of one source as found: `Ok(None)` absent, `Err(why)`
    /// damaged; osconf 0.1's record where the source has none of its own.
    /// An error only when a file cannot be read.
    pub fn read_source(root: &Root, source: &str) -> io::Result<Result<Option<Record>, String>> {
        match Record::read_path(root, &record_path(source), source)? {
            Ok(None) => match OLD_RECORDS.iter().find(|(_, sources)| sources.contains(&source)) {
                Some((path, _)) => Record::read_path(root, path, ""),
                None => Ok(Ok(None)),
            },
            found => Ok(found),
        }
    }

    /// The record in the file `path`, written for the source `from`.
    fn read_path(root: &Root, path: &str, from: &str) -> io::Result<Result<Option<Record>, String>> {
        let damaged = |why: String| {
            Ok(Err(format!(
                "{path} is damaged ({why}): ignored, as if this source had not been applied (the image's originals kept under /var/lib/osconf/backup stay)"
            )))
        };
        // osconf writes its record as UTF-8 JSON: anything else is damage.
        let text = match root.read_bytes(path)?.map(String::from_utf8) {
            Some(Ok(text)) => text,
            None => return Ok(Ok(None)),
            Some(Err(_)) => return damaged("not UTF-8 text".into()),
        };
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => return damaged(format!("not JSON: {e}")),
        };
        let record: Record = match serde_json::from_value(value.clone()) {
            Ok(record) => record,
            Err(e) => return damaged(format!("{}: {e}", culprit(&value))),
        };
        match record.check() {
            // The file it is in says whose it is.
            Ok(()) => Ok(Ok(Some(Record { from: from.to_owned(), ..record }))),
            Err(why) => damaged(why),
        }
    }

    /// Checks every field as the input it is, with the validators the
    /// settings use; the error names the field (`nics[0].prefix: …`).
    pub fn check(&self) -> Result<(), String> {
        let printable = |text: &str| text.len() <= 4096 && !text.chars().any(char::is_control);
        if !printable(&self.source) {
            return Err("source: holds a control character or is too long".into());
        }
        if !self.from.is_empty() && crate::sources::by_name(&self.from).is_none() {
            return Err(format!("from: {:?} is not a source osconf knows", shorten(&self.from)));
        }
        let hex = |text: &str| text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !self.drop_hmac.is_empty() && !hex(&self.drop_hmac) {
            return Err("drop_hmac: not a hex SHA-256 digest".into());
        }
        if self.legacy_drop_sha256.as_deref().is_some_and(|d| !hex(d)) {
            return Err("drop_sha256: not a hex SHA-256 digest".into());
        }
        if let Some(name) = &self.hostname {
            match values::hostname(name) {
                Ok(valid) if valid == *name => {}
                Ok(_) => return Err(format!("hostname: {:?} holds '_'", shorten(name))),
                Err(e) => return Err(format!("hostname: {e}")),
            }
        }
        for (n, server) in self.nameservers.iter().enumerate() {
            values::nameserver(&server.to_string()).map_err(|e| format!("nameservers[{n}]: {e}"))?;
        }
        let mut builder = SettingsBuilder::new();
        for (n, nic) in self.nics.iter().enumerate() {
            check_nic(nic).map_err(|e| format!("nics[{n}].{e}"))?;
            builder.nic(nic.clone()).map_err(|c| format!("nics[{n}]: {}", c.message))?;
        }
        crate::settings::links::check(&self.nics).map_err(|(index, why)| {
            let n = self.nics.iter().position(|nic| nic.index == index).unwrap_or_default();
            format!("nics[{n}].kind: {why}")
        })?;
        if let Some(stack) = self.network_stack.as_deref().filter(|s| Stack::from_name(s).is_none()) {
            return Err(format!("network_stack: {:?} is not a network stack osconf knows", shorten(stack)));
        }
        for (n, path) in self.owned_files.iter().enumerate() {
            if !osconf_could_own(path) {
                return Err(format!("owned_files[{n}]: {:?} is not a file osconf writes", shorten(path)));
            }
        }
        if let Some(id) = &self.instance_id {
            // The form of instance id its source's cloud gives (osconf 0.1's
            // records are the Alibaba metadata's).
            let valid = match crate::sources::by_name(&self.from) {
                Some(source) => source.instance_id(id),
                None => instance_id(id),
            };
            valid.map_err(|e| format!("instance_id: {e}"))?;
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record always serialises") + "\n"
    }

    /// What `status --json` shows: the record without its digest.
    pub fn to_display_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a record always serialises");
        if let Some(map) = value.as_object_mut() {
            map.remove("drop_hmac");
        }
        serde_json::to_string_pretty(&value).expect("a record always serialises") + "\n"
    }

    /// Whether this record was written for the drop with these bytes: by its
    /// keyed digest, or (a version-1 record) by the plain hash it kept.
    pub fn is_for_drop(&self, keyed_digest: &str, content: &[u8]) -> bool {
        (!self.drop_hmac.is_empty() && self.drop_hmac == keyed_digest)
            || self.legacy_drop_sha256.as_deref().is_some_and(|old| old == legacy_sha256_hex(content))
    }

    /// Where this record is kept: its source's file.
    pub fn path(&self) -> io::Result<String> {
        match crate::sources::by_name(&self.from) {
            Some(source) => Ok(record_path(source.name())),
            None => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, format!("a record of no source ({:?})", self.from)))
            }
        }
    }

    pub fn save(&self, root: &Root) -> io::Result<()> {
        write_atomic(root, &self.path()?, self.to_json().as_bytes(), Mode::Exact(0o600))
    }

    /// Stages the record as the batch's last file: it appears only once
    /// everything else the batch writes is durable.
    pub fn stage(&self, root: &Root, batch: &mut WriteBatch) -> io::Result<()> {
        batch.write_last(root, &self.path()?, self.to_json().as_bytes(), Mode::Exact(0o600))
    }
}

/// The top-level field (and element, for a list) whose value a record
/// cannot be read with: the one that, set to its empty default, lets it read.
fn culprit(value: &serde_json::Value) -> String {
    let Some(object) = value.as_object() else { return "not a JSON object".into() };
    let defaults = serde_json::to_value(Record::default()).expect("a record always serialises");
    let reads = |candidate: serde_json::Map<String, serde_json::Value>| {
        serde_json::from_value::<Record>(serde_json::Value::Object(candidate)).is_ok()
    };
    for (field, field_value) in object {
        let mut candidate = object.clone();
        match defaults.get(field) {
            Some(default) => candidate.insert(field.clone(), default.clone()),
            None => candidate.remove(field),
        };
        if !reads(candidate) {
            continue;
        }
        // In a list, the element whose removal lets the record read.
        for n in 0..field_value.as_array().map_or(0, Vec::len) {
            let mut candidate = object.clone();
            if let Some(list) = candidate.get_mut(field).and_then(|v| v.as_array_mut()) {
                list.remove(n);
            }
            if reads(candidate) {
                return format!("{field}[{n}]");
            }
        }
        return field.clone();
    }
    "several fields".into()
}

/// One recorded NIC, rebuilt through the functions that built it from a
/// source (`Nic::new`, `set_gateway`, `add_route`, `add_secondary`, …), so
/// it holds only what a source could have given. The error names the field.
fn check_nic(nic: &Nic) -> Result<(), String> {
    let mut rebuilt = match nic.address {
        Some(address) => {
            values::host_address(&address.to_string()).map_err(|e| format!("address: {e}"))?;
            // As a netmask gives it (values::netmask): 1 to 32.
            if !(1..=32).contains(&nic.prefix) {
                return Err(format!("prefix: /{} is not an IPv4 prefix length (1 to 32)", nic.prefix));
            }
            if nic.dhcp4 {
                return Err("dhcp4: a NIC with a static IPv4 address does not take one by DHCP".into());
            }
            Nic::new(nic.index, nic.mac, address, nic.prefix)
        }
        None if nic.prefix != 0 => return Err(format!("prefix: /{} without an address", nic.prefix)),
        None => Nic { dhcp4: nic.dhcp4, ..Nic::automatic(nic.index, nic.mac) },
    };
    if let Some(mtu) = nic.mtu {
        values::mtu(&mtu.to_string()).map_err(|e| format!("mtu: {e}"))?;
    }
    if let Some(gateway) = nic.gateway {
        values::host_address(&gateway.to_string())
            .and_then(|_| build::set_gateway(&mut rebuilt, gateway))
            .map_err(|e| format!("gateway: {e}"))?;
    }
    for (n, route) in nic.routes.iter().enumerate() {
        values::cidr(&format!("{}/{}", route.dest, route.prefix))
            .and_then(|_| values::host_address(&route.via.to_string()))
            .and_then(|_| build::add_route(&mut rebuilt, *route))
            .map_err(|e| format!("routes[{n}]: {e}"))?;
    }
    for (n, (address, prefix)) in nic.secondary.iter().enumerate() {
        nic_extras::add_secondary_with_prefix(&mut rebuilt, *address, *prefix)
            .map_err(|e| format!("secondary[{n}]: {e}"))?;
    }
    for (n, (address, prefix)) in nic.ipv6.iter().enumerate() {
        nic_extras::ipv6_address(&address.to_string())
            .and_then(|_| nic_extras::add_ipv6(&mut rebuilt, *address, *prefix))
            .map_err(|e| format!("ipv6[{n}]: {e}"))?;
    }
    if let Some(gateway) = nic.ipv6_gateway {
        nic_extras::set_ipv6_gateway(&mut rebuilt, gateway).map_err(|e| format!("ipv6_gateway: {e}"))?;
    }
    for (n, route) in nic.ipv6_routes.iter().enumerate() {
        nic_extras::add_ipv6_route(&mut rebuilt, *route).map_err(|e| format!("ipv6_routes[{n}]: {e}"))?;
    }
    // A table of its own only with a gateway, and never one of the kernel's (0, 253 to 255).
    if let Some(table) = nic.table {
        if nic.gateway.is_none() || matches!(table, 0 | 253..=255) {
            return Err(format!("table: {table} is not a routing table of the NIC's own"));
        }
    }
    Ok(())
}

/// Whether osconf could have written `path` as a file of its own (the plan's
/// `owned`: each stack's files and the DNS drop-ins): an exact directory of
/// osconf's and a file name of the shape it gives there — so a normalised
/// absolute path, no `..`, no `//`, nowhere else.
fn osconf_could_own(path: &str) -> bool {
    crate::plan::dns::owns(path) || STACKS.iter().any(|stack| (stack.owns)(path))
}

/// The version-1 digest, computed only to compare with an old record.
fn legacy_sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name servers became `IpAddr` (IPv6 from the metadata): a record
    /// written before still loads, and an IPv4 server is written as before.
    #[test]
    fn an_older_record_with_ipv4_name_servers_still_reads() {
        let old = r#"{"version": 2, "applied_at": 1790000000, "source": "x", "sequence": 3, "drop_hmac": "ab", "hostname": null,
                      "password_set": false, "nameservers": ["7.7.7.7", "8.8.8.8"], "nics": [], "network_stack": null, "owned_files": []}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(record.nameservers, ["7.7.7.7".parse::<IpAddr>().unwrap(), "8.8.8.8".parse().unwrap()]);
        assert!(
            record.to_json().contains("\"nameservers\": [\n    \"7.7.7.7\",\n    \"8.8.8.8\"\n  ]"),
            "{}",
            record.to_json()
        );
        let with_ipv6 = Record { nameservers: vec!["2400:3200::1".parse().unwrap()], ..record };
        let read: Record = serde_json::from_str(&with_ipv6.to_json()).unwrap();
        assert_eq!(read.nameservers, with_ipv6.nameservers);
    }

    use crate::plan::dns::DnsMode;
    use crate::plan::network;
    use crate::settings::Settings;
    use crate::sources::osconf_format;

    /// The classic example drop, its eth1 given what only the metadata
    /// carries (secondary address, IPv6, its own routing table).
    fn settings() -> Settings {
        let mut settings =
            osconf_format::from_drop(include_bytes!("../examples/classic.conf"), osconf_format::ALIBABA).unwrap();
        let eth1 = &mut settings.nics[1];
        nic_extras::add_secondary(eth1, "42.120.74.106".parse().unwrap()).unwrap();
        nic_extras::add_ipv6(eth1, "2001:db8::5".parse().unwrap(), 64).unwrap();
        nic_extras::set_ipv6_gateway(eth1, "2001:db8::1".parse().unwrap()).unwrap();
        let route =
            nic_extras::Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() };
        nic_extras::add_ipv6_route(eth1, route).unwrap();
        assert!(nic_extras::route_own_replies(eth1));
        settings
    }

    fn record() -> Record {
        let settings = settings();
        Record {
            version: Record::VERSION,
            source: "/boot/aliyun_custom_image/os.conf".into(),
            drop_hmac: "ab".repeat(32),
            hostname: settings.hostname.clone(),
            nameservers: settings.nameservers.clone(),
            nics: settings.nics.clone(),
            network_stack: Some("netplan".into()),
            owned_files: vec!["/etc/netplan/90-osconf.yaml".into()],
            instance_id: Some("i-bp1h4adlltjc1d48goaq".into()),
            ..Record::default()
        }
    }

    /// Every file any stack or DNS mode makes osconf's own is of a shape the
    /// check accepts — NICs under their kernel names too (ifcfg).
    #[test]
    fn every_file_osconf_owns_passes_the_check() {
        let base = std::env::temp_dir().join(format!("osconf-record-owned-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for (name, mac) in [("ens3", "00:8c:fa:5e:14:23"), ("enp0s4.100", "00:8c:fa:5e:14:24")] {
            std::fs::create_dir_all(base.join("sys/class/net").join(name)).unwrap();
            std::fs::write(base.join("sys/class/net").join(name).join("address"), format!("{mac}\n")).unwrap();
        }
        let settings = settings();
        let mut owned: Vec<String> =
            [DnsMode::Plain, DnsMode::Resolved, DnsMode::Resolvconf, DnsMode::NetworkManager, DnsMode::Netconfig]
                .iter()
                .filter_map(|mode| mode.owned_path().map(str::to_owned))
                .collect();
        for root in [Root::new("/nonexistent-osconf-root"), Root::new(&base)] {
            for stack in STACKS {
                let rendered = network::render(stack, &settings, &root, &[]).unwrap();
                owned.extend(rendered.owned.iter().map(|f| f.path.clone()));
            }
        }
        assert!(owned.iter().any(|p| p.ends_with("/ifcfg-ens3")) && owned.iter().any(|p| p.ends_with("/rule-eth1")));
        assert!(owned.iter().any(|p| p.ends_with("/route6-eth1")), "eth1's IPv6 route: {owned:?}");
        assert!(owned.len() > 20, "{owned:?}");
        for path in &owned {
            assert!(osconf_could_own(path), "{path}");
        }
        let record = Record { owned_files: owned, ..record() };
        assert_eq!(record.check(), Ok(()));
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// cloud-init's OpenStack sample of a bond with VLANs, as osconf reads it.
    fn cloud_init_bond() -> crate::sources::openstack_format::Read {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openstack/cloud-init/bond/");
        crate::sources::openstack_format::read(
            &std::fs::read(format!("{dir}meta_data.json")).unwrap(),
            Some(&std::fs::read(format!("{dir}network_data.json")).unwrap()),
            crate::sources::openstack_format::Options { password: false },
        )
        .unwrap()
    }

    /// The bond and VLAN files of every stack (`.netdev`, `bondN`,
    /// `PARENT.ID`) are of a shape the check accepts; near misses are not.
    #[test]
    fn bond_and_vlan_files_pass_the_check() {
        let read = cloud_init_bond();
        let root = Root::new("/nonexistent-osconf-root");
        let mut owned = Vec::new();
        for stack in STACKS {
            let rendered = network::render(stack, &read.settings, &root, &[]).unwrap();
            owned.extend(rendered.owned.iter().map(|f| f.path.clone()));
        }
        for path in ["/etc/systemd/network/10-osconf-bond0.netdev", "/etc/network/interfaces.d/osconf-bond0.602"] {
            assert!(owned.iter().any(|p| p == path), "{path}: {owned:?}");
        }
        for path in &owned {
            assert!(osconf_could_own(path), "{path}");
        }
        for path in [
            "/etc/systemd/network/10-osconf-eth0.0.network",
            "/etc/systemd/network/10-osconf-eth0.4095.netdev",
            "/etc/systemd/network/10-osconf-bond01.netdev",
            "/etc/systemd/network/10-osconf-eth0.100.5.network",
            "/etc/systemd/network/10-osconf-vlan5.netdev",
            "/etc/network/interfaces.d/osconf-bond0.",
            "/etc/NetworkManager/system-connections/osconf-bond.nmconnection",
        ] {
            assert!(!osconf_could_own(path), "{path:?}");
        }
    }

    #[test]
    fn paths_osconf_does_not_write_are_refused() {
        for path in [
            "/../../../x",
            "/etc/netplan/../../../x",
            "/etc/netplan/../shadow",
            "//etc/netplan/90-osconf.yaml",
            "/etc//netplan/90-osconf.yaml",
            "/etc/netplan/./90-osconf.yaml",
            "etc/netplan/90-osconf.yaml",
            "/etc/netplan/90-osconf.yaml/",
            "/etc/netplan/50-cloud-init.yaml",
            "/etc/shadow",
            "/etc/systemd/network/10-osconf-eth01.network",
            "/etc/systemd/network/10-osconf-eth.network",
            "/etc/network/interfaces.d/osconf-eth0/../../../interfaces",
            "/etc/network/interfaces",
            "/etc/sysconfig/network-scripts/ifcfg-",
            "/etc/sysconfig/network-scripts/ifcfg-..",
            "/etc/sysconfig/network-scripts/ifcfg-a b",
            "/etc/sysconfig/network-scripts/ifcfg-eth0\n",
            "/etc/sysconfig/network-scripts/ifcfg-averyveryverylongname",
            "/etc/sysconfig/network/config",
            "",
        ] {
            assert!(!osconf_could_own(path), "{path:?}");
        }
    }

    #[test]
    fn each_invalid_field_is_named() {
        let with = |change: &dyn Fn(&mut Record)| {
            let mut record = record();
            change(&mut record);
            record.check().unwrap_err()
        };
        assert_eq!(record().check(), Ok(()));
        type Case = (Box<dyn Fn(&mut Record)>, &'static str);
        let cases: Vec<Case> = vec![
            (Box::new(|r| r.hostname = Some("evil\n10.0.0.1 bank.example".into())), "hostname: "),
            (Box::new(|r| r.hostname = Some("a_b".into())), "hostname: "),
            (Box::new(|r| r.source = "x\u{1b}[2J".into()), "source: "),
            (Box::new(|r| r.drop_hmac = "zz".into()), "drop_hmac: "),
            (Box::new(|r| r.nameservers.push("127.0.0.1".parse().unwrap())), "nameservers[2]: "),
            (Box::new(|r| r.nics[0].prefix = 200), "nics[0].prefix: /200"),
            (Box::new(|r| r.nics[0].prefix = 0), "nics[0].prefix: /0"),
            (Box::new(|r| r.nics[1].address = Some("255.255.255.255".parse().unwrap())), "nics[1].address: "),
            (Box::new(|r| r.nics[0].gateway = Some("10.9.9.9".parse().unwrap())), "nics[0].gateway: "),
            (Box::new(|r| r.nics[0].routes[1].prefix = 33), "nics[0].routes[1]: "),
            (Box::new(|r| r.nics[0].routes[1].dest = "10.1.0.0".parse().unwrap()), "nics[0].routes[1]: "),
            (Box::new(|r| r.nics[1].secondary[0].1 = 99), "nics[1].secondary[0]: "),
            (Box::new(|r| r.nics[1].secondary[0].0 = r.nics[1].address.unwrap()), "nics[1].secondary[0]: "),
            (Box::new(|r| r.nics[1].ipv6[0].1 = 200), "nics[1].ipv6[0]: "),
            (Box::new(|r| r.nics[1].ipv6[0].0 = "fe80::1".parse().unwrap()), "nics[1].ipv6[0]: "),
            (Box::new(|r| r.nics[1].ipv6_gateway = Some("2001:db9::1".parse().unwrap())), "nics[1].ipv6_gateway: "),
            (Box::new(|r| r.nics[1].ipv6_routes[0].prefix = 0), "nics[1].ipv6_routes[0]: "),
            (Box::new(|r| r.nics[1].ipv6_routes[0].via = "2001:db9::1".parse().unwrap()), "nics[1].ipv6_routes[0]: "),
            (
                Box::new(|r| {
                    let twice = r.nics[1].ipv6_routes[0];
                    r.nics[1].ipv6_routes.push(twice)
                }),
                "nics[1].ipv6_routes[1]: ",
            ),
            (Box::new(|r| r.nics[1].table = Some(254)), "nics[1].table: "),
            (Box::new(|r| r.nics[1].mac = r.nics[0].mac), "nics[1]: "),
            (Box::new(|r| r.network_stack = Some("../x".into())), "network_stack: "),
            (Box::new(|r| r.owned_files.push("/../../../x".into())), "owned_files[1]: "),
            (Box::new(|r| r.instance_id = Some("ok\nx".into())), "instance_id: "),
        ];
        for (change, field) in cases {
            let why = with(&*change);
            assert!(why.starts_with(field), "{field}: {why}");
        }
    }

    /// A record of OpenStack's bond with VLANs (cloud-init's sample) loads
    /// back as written; a bond or VLAN no source could give is refused,
    /// naming the NIC.
    #[test]
    fn a_bond_and_vlan_record_round_trips_and_an_impossible_one_is_refused() {
        let read = cloud_init_bond();
        let bonded = Record { nics: read.settings.nics, ..record() };
        assert_eq!(bonded.check(), Ok(()));
        let json = serde_json::to_string(&bonded).unwrap();
        assert!(json.contains(r#""kind":{"bond":{"number":0,"members":["#), "{json}");
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap().nics, bonded.nics);
        type Case = (Box<dyn Fn(&mut Record)>, &'static str);
        let cases: Vec<Case> = vec![
            // nics: bond0.602, bond0.612, eth2, eth3 (the members), bond0.
            (Box::new(|r| r.nics[2].dhcp4 = true), "nics[4].kind: member eth2 has an address"),
            (Box::new(|r| drop(r.nics.remove(3))), "nics[3].kind: member 0c:c4:7a:34:6e:3d is none of"),
            (Box::new(|r| set_vlan_id(&mut r.nics[0], 0)), "nics[0].kind: 0 is not a VLAN id"),
            (Box::new(|r| set_mode(&mut r.nics[4], "lacp")), "nics[4].kind: "),
        ];
        for (change, field) in cases {
            let mut record = bonded.clone();
            change(&mut record);
            let why = record.check().unwrap_err();
            assert!(why.starts_with(field), "{field}: {why}");
        }
    }

    fn set_vlan_id(nic: &mut Nic, id: u16) {
        if let Some(crate::settings::NicKind::Vlan(vlan)) = &mut nic.kind {
            vlan.id = id;
        }
    }

    fn set_mode(nic: &mut Nic, mode: &str) {
        if let Some(crate::settings::NicKind::Bond(bond)) = &mut nic.kind {
            bond.mode = mode.into();
        }
    }

    /// Each metadata source's record holds its cloud's form of instance id.
    #[test]
    fn a_tencent_metadata_record_holds_a_tencent_instance_id() {
        let tencent = |id: &str| Record { from: "tencent-metadata".into(), instance_id: Some(id.into()), ..record() };
        assert_eq!(tencent("ins-3j1ha2pk").check(), Ok(()));
        assert_eq!(tencent("cfac763a-7094-446b-a8a9-b995e638471a").check(), Ok(()), "its uuid");
        assert!(tencent("i-bp1h4adlltjc1d48goaq").check().unwrap_err().starts_with("instance_id: "));
        assert!(tencent("ok").check().unwrap_err().starts_with("instance_id: "));
    }

    #[test]
    fn a_record_that_does_not_read_names_the_field_and_counts_as_absent() {
        let base = std::env::temp_dir().join(format!("osconf-record-damaged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("var/lib/osconf")).unwrap();
        let root = Root::new(&base);
        let good = serde_json::to_value(record()).unwrap();
        let mut bad_mac = good.clone();
        bad_mac["nics"][1]["mac"] = "zz".into();
        let mut bad_prefix = good.clone();
        bad_prefix["nics"][0]["prefix"] = 300.into();
        let mut bad_version = good.clone();
        bad_version["version"] = "two".into();
        let cases = [
            ("{\"version\": 2,".to_owned(), "not JSON: "),
            (bad_mac.to_string(), "nics[1]: "),
            (bad_prefix.to_string(), "nics[0]: "),
            ("[]".to_owned(), "not a JSON object"),
            (bad_version.to_string(), "version: "),
            (serde_json::json!({"version": 2}).to_string(), "several fields: "),
        ];
        for (text, why) in cases {
            std::fs::write(root.path(RECORD_PATH), &text).unwrap();
            let damaged = Record::read_source(&root, "alibaba-drop").unwrap().unwrap_err();
            assert!(damaged.starts_with(&format!("{RECORD_PATH} is damaged ({why}")), "{damaged}");
            assert_eq!(Record::load(&root).unwrap(), None);
        }
        std::fs::write(root.path(RECORD_PATH), b"\xff\xfe").unwrap();
        let damaged = Record::read_source(&root, "tencent-cdrom").unwrap().unwrap_err();
        assert!(damaged.starts_with(&format!("{RECORD_PATH} is damaged (not UTF-8 text)")), "{damaged}");
        // The metadata's record still counts when the drop's is damaged.
        std::fs::write(root.path(METADATA_RECORD_PATH), good.to_string()).unwrap();
        let (newest, damaged) = Record::load_reporting(&root).unwrap();
        assert_eq!(newest.map(|r| r.source), Some(good["source"].as_str().unwrap().to_owned()));
        assert_eq!(damaged.len(), 1);
        // A source's own record, once written, is read instead of osconf 0.1's.
        std::fs::create_dir_all(root.path(crate::state::RECORDS_DIR)).unwrap();
        let own = Record { from: "alibaba-metadata".into(), sequence: 9, ..record() };
        own.save(&root).unwrap();
        assert_eq!(Record::read_source(&root, "alibaba-metadata").unwrap(), Ok(Some(own.clone())));
        assert_eq!(Record::load(&root).unwrap(), Some(own.clone()), "the newest of all");
        let e = Record { from: "nowhere".into(), ..own }.save(&root).unwrap_err();
        assert!(e.to_string().contains("a record of no source"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
