//! The host name: /etc/hostname, HOSTNAME= in /etc/sysconfig/network where
//! that file exists (RHEL family), and one managed line in /etc/hosts. The
//! files only; `apply::hostname` sets the running kernel's name.

use std::net::Ipv4Addr;

use super::{originals, shell_vars};
use crate::error::Error;
use crate::files::{FileWrite, Root};

pub const HOSTS: &str = "/etc/hosts";
const HOSTNAME: &str = "/etc/hostname";
const HOSTS_MARKER: &str = "# managed by osconf";
const SYSCONFIG_NETWORK: &str = "/etc/sysconfig/network";
/// Files whose image original is kept before osconf first sets a name
/// (/etc/hosts needs none: osconf's line is marked).
pub const KEPT_ORIGINALS: [&str; 2] = [HOSTNAME, SYSCONFIG_NETWORK];

/// The files to write for `name`; `address` is what it maps to in /etc/hosts
/// (the primary NIC's address, or 127.0.1.1 when the drop has no NIC).
pub fn render(root: &Root, name: &str, address: Option<Ipv4Addr>) -> Result<Vec<FileWrite>, Error> {
    render_with_fqdn(root, name, None, address)
}

/// As [`render`], with the full name `fqdn` first on the /etc/hosts line
/// (what `hostname -f` answers), `name` its alias.
pub fn render_with_fqdn(
    root: &Root,
    name: &str,
    fqdn: Option<&str>,
    address: Option<Ipv4Addr>,
) -> Result<Vec<FileWrite>, Error> {
    let mut writes = vec![FileWrite::new(HOSTNAME, format!("{name}\n"), 0o644)];
    // A file on the RHEL family; on SUSE the same path is a directory.
    if root.is_file(SYSCONFIG_NETWORK) {
        let current = root.read_optional(SYSCONFIG_NETWORK)?.unwrap_or_default();
        writes.push(FileWrite::new(SYSCONFIG_NETWORK, shell_vars::set(&current, "HOSTNAME", name), 0o644));
    }
    let hosts = root.read_optional(HOSTS)?.unwrap_or_else(|| "127.0.0.1\tlocalhost\n".into());
    let address = address.unwrap_or(Ipv4Addr::new(127, 0, 1, 1));
    writes.push(FileWrite::new(HOSTS, with_managed_line(&hosts, address, name, fqdn), 0o644));
    Ok(writes)
}

/// For a drop that no longer sets a host name: /etc/hostname and HOSTNAME=
/// as the image had them (from the kept originals), no managed line in
/// /etc/hosts. Also returns the image's name, for the running kernel.
pub fn restore(root: &Root) -> Result<(Vec<FileWrite>, Option<String>), Error> {
    let mut writes = Vec::new();
    let mut name = None;
    match originals::read(root, HOSTNAME)? {
        Some(original) => {
            // For the kernel only if valid, as systemd would take it at boot;
            // the image's own name may be `localhost`, which no drop may set.
            let first = original.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
            name = first.and_then(|n| crate::settings::values::hostname_syntax(n).ok());
            writes.push(FileWrite::new(HOSTNAME, original, 0o644));
        }
        None => log::warn!("no original {HOSTNAME} was kept (set by an older osconf): it keeps the last name set"),
    }
    if root.is_file(SYSCONFIG_NETWORK) {
        let current = root.read_optional(SYSCONFIG_NETWORK)?.unwrap_or_default();
        let original = originals::read(root, SYSCONFIG_NETWORK)?.unwrap_or_default();
        let restored = shell_vars::restore(&current, &original, "HOSTNAME");
        if restored != current {
            writes.push(FileWrite::new(SYSCONFIG_NETWORK, restored, 0o644));
        }
    }
    if let Some(hosts) = root.read_optional(HOSTS)? {
        let restored = without_managed_line(&hosts);
        if restored != hosts {
            writes.push(FileWrite::new(HOSTS, restored, 0o644));
        }
    }
    Ok((writes, name))
}

fn without_managed_line(hosts: &str) -> String {
    hosts.lines().filter(|l| !l.trim_end().ends_with(HOSTS_MARKER)).map(|l| format!("{l}\n")).collect()
}

/// Drops the previous managed line and adds the new one: re-applying never
/// duplicates it. A dotted name also gets its short form as an alias; a
/// full name given comes first, the name as its alias.
fn with_managed_line(hosts: &str, address: Ipv4Addr, name: &str, fqdn: Option<&str>) -> String {
    let mut out = without_managed_line(hosts);
    let names = match (fqdn, name.split_once('.')) {
        (Some(fqdn), _) if fqdn != name => format!("{fqdn} {name}"),
        (_, Some((short, _))) => format!("{name} {short}"),
        _ => name.to_owned(),
    };
    out.push_str(&format!("{address}\t{names}\t{HOSTS_MARKER}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_hosts_line_is_replaced_not_duplicated() {
        let first = with_managed_line("127.0.0.1\tlocalhost\n", Ipv4Addr::new(10, 0, 0, 5), "a", None);
        let second = with_managed_line(&first, Ipv4Addr::new(10, 0, 0, 6), "b.example.com", None);
        assert_eq!(second, "127.0.0.1\tlocalhost\n10.0.0.6\tb.example.com b\t# managed by osconf\n");
    }

    /// OpenStack's `ecs-ddd4.novalocal`: /etc/hostname has the first label,
    /// /etc/hosts the full name first (`hostname -f`), the label its alias.
    #[test]
    fn a_full_name_comes_first_on_the_hosts_line() {
        let line = with_managed_line("", Ipv4Addr::new(10, 0, 0, 5), "ecs-ddd4", Some("ecs-ddd4.novalocal"));
        assert_eq!(line, "10.0.0.5\tecs-ddd4.novalocal ecs-ddd4\t# managed by osconf\n");
        let dir = std::env::temp_dir().join(format!("osconf-hostname-fqdn-{}", std::process::id()));
        let writes = render_with_fqdn(&Root::new(&dir), "ecs-ddd4", Some("ecs-ddd4.novalocal"), None).unwrap();
        assert_eq!(writes[0].path, HOSTNAME);
        assert_eq!(writes[0].content, b"ecs-ddd4\n");
        let hosts = writes.iter().find(|w| w.path == HOSTS).unwrap();
        assert!(String::from_utf8_lossy(&hosts.content)
            .ends_with("127.0.1.1\tecs-ddd4.novalocal ecs-ddd4\t# managed by osconf\n"));
    }

    /// A drop may not set `localhost`, but the image's own name may be it:
    /// put back, it is the kernel's name again too.
    #[test]
    fn the_images_own_localhost_is_restored_for_the_kernel() {
        let dir = std::env::temp_dir().join(format!("osconf-hostname-restore-{}", std::process::id()));
        let root = Root::new(&dir);
        let kept = root.path(&crate::state::backup_path(HOSTNAME));
        std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
        std::fs::write(&kept, "localhost.localdomain\n").unwrap();
        let (writes, name) = restore(&root).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(name.as_deref(), Some("localhost.localdomain"));
        assert_eq!(writes[0].path, HOSTNAME);
    }
}
