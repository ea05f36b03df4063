//! Name servers, written the way the image manages resolv.conf. Where
//! resolv.conf is a link to a manager's file (systemd-resolved,
//! NetworkManager, SUSE netconfig), the servers go to that manager, which
//! writes its file: replacing the link with a plain file would take
//! resolv.conf away from it for good.
//!
//! IPv6 servers (from the metadata endpoint) go wherever IPv4 ones go:
//! resolv.conf's `nameserver` takes either family (resolv.conf(5)), as do
//! resolved's `DNS=`, netconfig's `NETCONFIG_DNS_STATIC_SERVERS` (written as
//! `nameserver` lines) and NetworkManager's global `servers=` (its
//! `load_global_dns()` in nm-config-data.c keeps a server valid as AF_INET
//! or AF_INET6 and drops the rest).

use std::net::IpAddr;

use super::{originals, shell_vars};
use crate::error::Error;
use crate::files::{FileWrite, Root};

const RESOLV_CONF: &str = "/etc/resolv.conf";
const RESOLVED_DROPIN: &str = "/etc/systemd/resolved.conf.d/osconf.conf";
const RESOLVCONF_BASE: &str = "/etc/resolvconf/resolv.conf.d/base";
/// NetworkManager's global DNS: it overrides every connection's servers,
/// so it reaches NM whichever stack osconf rendered the NICs for and
/// whether or not the drop has NICs (see NetworkManager.conf(5)).
const NM_DNS_CONF: &str = "/etc/NetworkManager/conf.d/90-osconf-dns.conf";

/// Whether osconf writes (and so may own) the file at `path` for DNS.
pub fn owns(path: &str) -> bool {
    path == RESOLVED_DROPIN || path == NM_DNS_CONF
}
/// SUSE netconfig's settings; it is sourced by the `netconfig` shell script.
const NETCONFIG: &str = "/etc/sysconfig/network/config";
const NETCONFIG_KEY: &str = "NETCONFIG_DNS_STATIC_SERVERS";

/// How the image manages /etc/resolv.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsMode {
    /// A plain file: rewrite its `nameserver` lines, keep search/options.
    Plain,
    /// A link to systemd-resolved's stub: configure resolved with a drop-in.
    Resolved,
    /// The resolvconf package: its `base` file feeds every regeneration.
    Resolvconf,
    /// A link to NetworkManager's file: NM's global DNS, in a conf.d file.
    NetworkManager,
    /// A link to netconfig's file (SUSE): its static servers setting.
    Netconfig,
}

impl DnsMode {
    pub fn detect(root: &Root) -> DnsMode {
        let target = root.read_link(RESOLV_CONF).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
        if target.contains("systemd/resolve") {
            DnsMode::Resolved
        } else if target.contains("resolvconf") && root.exists("/etc/resolvconf/resolv.conf.d") {
            DnsMode::Resolvconf
        } else if target.contains("NetworkManager/") {
            DnsMode::NetworkManager
        } else if target.contains("netconfig/") && root.is_file(NETCONFIG) {
            DnsMode::Netconfig
        } else {
            DnsMode::Plain
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DnsMode::Plain => "/etc/resolv.conf",
            DnsMode::Resolved => "a systemd-resolved drop-in (resolv.conf is resolved's stub)",
            DnsMode::Resolvconf => "resolvconf's base file",
            DnsMode::NetworkManager => "NetworkManager's global DNS (resolv.conf is NetworkManager's)",
            DnsMode::Netconfig => "netconfig's NETCONFIG_DNS_STATIC_SERVERS (resolv.conf is netconfig's)",
        }
    }

    /// The image's file osconf edits in this mode (its original is kept),
    /// if it edits one rather than owning a file of its own.
    pub fn edited_path(self) -> Option<&'static str> {
        match self {
            DnsMode::Plain => Some(RESOLV_CONF),
            DnsMode::Resolvconf => Some(RESOLVCONF_BASE),
            DnsMode::Netconfig => Some(NETCONFIG),
            DnsMode::Resolved | DnsMode::NetworkManager => None,
        }
    }

    /// Files that are osconf's own (removed if a later drop has no name servers).
    pub fn owned_path(self) -> Option<&'static str> {
        match self {
            DnsMode::Resolved => Some(RESOLVED_DROPIN),
            DnsMode::NetworkManager => Some(NM_DNS_CONF),
            _ => None,
        }
    }
}

/// For a drop that no longer sets name servers: the image's own
/// `nameserver` lines back from the kept original (lines others added since
/// stay). Resolved and NetworkManager modes need nothing: osconf's own file
/// is removed.
pub fn restore(root: &Root, mode: DnsMode) -> Result<Option<FileWrite>, Error> {
    let Some(path) = mode.edited_path() else { return Ok(None) };
    let Some(original) = originals::read(root, path)? else {
        log::warn!("no original {path} was kept (set by an older osconf): it keeps the last name servers set");
        return Ok(None);
    };
    let current = current_text(root, mode)?;
    if mode == DnsMode::Netconfig {
        return Ok(Some(FileWrite::new(path, shell_vars::restore(&current, &original, NETCONFIG_KEY), 0o644)));
    }
    // Nothing else changed since: the original as it was, its line order too.
    if keep_other_lines(&current) == keep_other_lines(&original) {
        return Ok(Some(FileWrite::new(path, original, 0o644)));
    }
    let servers: String = original
        .lines()
        .filter(|l| l.split_whitespace().next() == Some("nameserver"))
        .map(|l| format!("{l}\n"))
        .collect();
    Ok(Some(FileWrite::new(path, keep_other_lines(&current) + &servers, 0o644)))
}

/// The file's text as osconf edits it (a symlinked resolv.conf in plain
/// mode is replaced by a file: nothing of the link's target is kept).
fn current_text(root: &Root, mode: DnsMode) -> Result<String, Error> {
    let path = mode.edited_path().unwrap_or(RESOLV_CONF);
    if root.is_symlink(path) && mode == DnsMode::Plain {
        return Ok(String::new());
    }
    Ok(root.read_optional(path)?.unwrap_or_default())
}

pub fn render(root: &Root, mode: DnsMode, servers: &[IpAddr]) -> Result<FileWrite, Error> {
    let list = |separator: &str| servers.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(separator);
    Ok(match mode {
        DnsMode::Resolved => FileWrite::new(
            RESOLVED_DROPIN,
            format!("# Written by osconf from the instance's name servers.\n[Resolve]\nDNS={}\n", list(" ")),
            0o644,
        ),
        DnsMode::NetworkManager => FileWrite::new(
            NM_DNS_CONF,
            format!(
                "# Written by osconf from the instance's name servers.\n[global-dns-domain-*]\nservers={}\n",
                list(",")
            ),
            0o644,
        ),
        DnsMode::Netconfig => FileWrite::new(
            NETCONFIG,
            shell_vars::set(&current_text(root, mode)?, NETCONFIG_KEY, &format!("\"{}\"", list(" "))),
            0o644,
        ),
        DnsMode::Resolvconf | DnsMode::Plain => {
            let path = mode.edited_path().expect("these modes edit a file");
            let lines: String = servers.iter().map(|s| format!("nameserver {s}\n")).collect();
            FileWrite::new(path, keep_other_lines(&current_text(root, mode)?) + &lines, 0o644)
        }
    })
}

/// Everything but `nameserver` lines (search, options, comments) stays.
fn keep_other_lines(text: &str) -> String {
    text.lines().filter(|l| l.split_whitespace().next() != Some("nameserver")).map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_nameservers_keeps_search_and_options() {
        let kept =
            keep_other_lines("# x\nsearch example.com\nnameserver 1.1.1.1\noptions rotate\nnameserver 2.2.2.2\n");
        assert_eq!(kept, "# x\nsearch example.com\noptions rotate\n");
    }

    /// Metadata's IPv6 servers reach every manager beside the IPv4 ones, in order.
    #[test]
    fn ipv6_servers_go_wherever_ipv4_ones_go() {
        let dir = std::env::temp_dir().join(format!("osconf-dns6-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc/sysconfig/network")).unwrap();
        std::fs::write(dir.join("etc/resolv.conf"), "search example.com\nnameserver 192.0.2.53\n").unwrap();
        std::fs::write(
            dir.join("etc/sysconfig/network/config"),
            "NETCONFIG_DNS_POLICY=\"auto\"\nNETCONFIG_DNS_STATIC_SERVERS=\"\"\n",
        )
        .unwrap();
        let root = Root::new(&dir);
        let servers: Vec<IpAddr> =
            ["100.100.2.136", "2400:3200::1", "2400:3200:baba::1"].iter().map(|s| s.parse().unwrap()).collect();
        let text = |mode| render(&root, mode, &servers).unwrap().text();
        assert_eq!(
            text(DnsMode::Plain),
            "search example.com\nnameserver 100.100.2.136\nnameserver 2400:3200::1\nnameserver 2400:3200:baba::1\n"
        );
        assert_eq!(
            text(DnsMode::Resolvconf),
            "nameserver 100.100.2.136\nnameserver 2400:3200::1\nnameserver 2400:3200:baba::1\n"
        );
        assert!(text(DnsMode::Resolved).ends_with("[Resolve]\nDNS=100.100.2.136 2400:3200::1 2400:3200:baba::1\n"));
        assert!(text(DnsMode::NetworkManager)
            .ends_with("[global-dns-domain-*]\nservers=100.100.2.136,2400:3200::1,2400:3200:baba::1\n"));
        assert_eq!(text(DnsMode::Netconfig), "NETCONFIG_DNS_POLICY=\"auto\"\nNETCONFIG_DNS_STATIC_SERVERS=\"100.100.2.136 2400:3200::1 2400:3200:baba::1\"\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
