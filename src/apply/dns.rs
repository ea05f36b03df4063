//! Name servers, written the way the image manages resolv.conf.

use std::net::Ipv4Addr;

use crate::error::Error;
use crate::files::{FileWrite, Root};

const RESOLV_CONF: &str = "/etc/resolv.conf";
const RESOLVED_DROPIN: &str = "/etc/systemd/resolved.conf.d/osconf.conf";
const RESOLVCONF_BASE: &str = "/etc/resolvconf/resolv.conf.d/base";

/// How the image manages /etc/resolv.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsMode {
    /// A plain file: rewrite its `nameserver` lines, keep search/options.
    Plain,
    /// A link to systemd-resolved's stub: configure resolved with a drop-in.
    Resolved,
    /// The resolvconf package: its `base` file feeds every regeneration.
    Resolvconf,
}

impl DnsMode {
    pub fn detect(root: &Root) -> DnsMode {
        let target = std::fs::read_link(root.path(RESOLV_CONF)).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
        if target.contains("systemd/resolve") {
            DnsMode::Resolved
        } else if target.contains("resolvconf") && root.exists("/etc/resolvconf/resolv.conf.d") {
            DnsMode::Resolvconf
        } else {
            DnsMode::Plain
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DnsMode::Plain => "/etc/resolv.conf",
            DnsMode::Resolved => "a systemd-resolved drop-in (resolv.conf is resolved's stub)",
            DnsMode::Resolvconf => "resolvconf's base file",
        }
    }

    /// Files that are osconf's own (removed if a later drop has no name servers).
    pub fn owned_path(self) -> Option<&'static str> {
        match self {
            DnsMode::Resolved => Some(RESOLVED_DROPIN),
            _ => None,
        }
    }
}

pub fn render(root: &Root, mode: DnsMode, servers: &[Ipv4Addr]) -> Result<FileWrite, Error> {
    let lines = |prefix: &str| servers.iter().map(|s| format!("{prefix}{s}\n")).collect::<String>();
    Ok(match mode {
        DnsMode::Resolved => {
            let list: Vec<String> = servers.iter().map(Ipv4Addr::to_string).collect();
            FileWrite::new(RESOLVED_DROPIN, format!("# Written by osconf from dns_nameserver.\n[Resolve]\nDNS={}\n", list.join(" ")), 0o644)
        }
        DnsMode::Resolvconf => {
            let current = root.read_optional(RESOLVCONF_BASE)?.unwrap_or_default();
            FileWrite::new(RESOLVCONF_BASE, keep_other_lines(&current) + &lines("nameserver "), 0o644)
        }
        DnsMode::Plain => {
            let current = match std::fs::symlink_metadata(root.path(RESOLV_CONF)) {
                Ok(meta) if meta.file_type().is_symlink() => String::new(),
                _ => root.read_optional(RESOLV_CONF)?.unwrap_or_default(),
            };
            FileWrite::new(RESOLV_CONF, keep_other_lines(&current) + &lines("nameserver "), 0o644)
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
        let kept = keep_other_lines("# x\nsearch example.com\nnameserver 1.1.1.1\noptions rotate\nnameserver 2.2.2.2\n");
        assert_eq!(kept, "# x\nsearch example.com\noptions rotate\n");
    }
}
