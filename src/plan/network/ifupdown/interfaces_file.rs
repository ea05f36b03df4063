//! `/etc/network/interfaces`, the image's own file: read (or the default a
//! fresh Debian has), and freed of the image's own stanzas for osconf's
//! NICs. Where the stanzas live in interfaces.d, this file must also source
//! that directory; where they live in a block of this file (busybox), it
//! must not.

use crate::files::Root;

pub const INTERFACES: &str = "/etc/network/interfaces";

/// What a fresh ifupdown install has, when the image has no interfaces file.
const DEFAULT: &str = "auto lo\niface lo inet loopback\n";

/// The lines osconf adds where interfaces.d is not sourced yet.
const SOURCE_LINES: &str = "\n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n";

/// Whether [`without_conflicts`] adds `source /etc/network/interfaces.d/*`
/// when the text does not source that directory yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddSource {
    /// osconf's stanzas are files in interfaces.d.
    Yes,
    /// osconf's stanzas are a block of this file (busybox cannot source a
    /// directory): the lines an earlier osconf added to source it go.
    No,
}

/// The image's interfaces file, or the default one when it has none.
pub fn read(root: &Root) -> std::io::Result<String> {
    Ok(root.read_optional(INTERFACES)?.unwrap_or_else(|| DEFAULT.into()))
}

/// /etc/network/interfaces must not configure osconf's NICs itself (ifup
/// would bring them up twice, e.g. with DHCP): such stanzas are commented
/// out, marked, and the original is backed up (under
/// /var/lib/osconf/backup). With [`AddSource::Yes`] it must also source
/// interfaces.d.
pub fn without_conflicts(text: &str, names: &[String], add_source: AddSource) -> String {
    let mut out = String::new();
    let mut in_conflict = false;
    let mut sources = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let first = words.first().copied().unwrap_or("");
        let stanza_start = matches!(first, "iface" | "mapping" | "auto" | "source" | "source-directory")
            || first.starts_with("allow-");
        if stanza_start {
            in_conflict = false;
        }
        if first == "source"
            && words.get(1).is_some_and(|p| p.starts_with("/etc/network/interfaces.d") || *p == "interfaces.d/*")
            || first == "source-directory" && words.get(1).is_some_and(|p| p.contains("interfaces.d"))
        {
            sources = true;
        }
        let ours = |w: &&str| names.iter().any(|n| n == w);
        // `auto lo eth0` is a word list: only osconf's NICs leave it (lo keeps
        // `auto`); a line left with no interface is commented out whole.
        if first == "auto" || first.starts_with("allow-") {
            let kept: Vec<&str> = words[1..].iter().filter(|w| !ours(w)).copied().collect();
            if kept.len() == words.len() - 1 {
                out += &format!("{line}\n");
            } else if kept.is_empty() {
                out += &format!("#osconf# {line}\n");
            } else {
                out += &format!("#osconf# {line}\n{first} {}\n", kept.join(" "));
            }
            continue;
        }
        if first == "iface" {
            in_conflict = words.get(1).is_some_and(ours);
        }
        if (first == "iface" && in_conflict) || (in_conflict && !stanza_start && !line.trim().is_empty()) {
            out += &format!("#osconf# {line}\n");
        } else {
            out += &format!("{line}\n");
        }
    }
    match add_source {
        AddSource::Yes if !sources => out += SOURCE_LINES,
        AddSource::Yes => {}
        // busybox's ifup fails on a `source` line: osconf's own goes (an
        // image whose ifup became busybox's since an earlier apply).
        AddSource::No => {
            if let Some(kept) = out.strip_suffix(SOURCE_LINES) {
                out.truncate(kept.len());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_needs_no_change() {
        let debian = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n";
        assert_eq!(without_conflicts(debian, &["eth0".into()], AddSource::Yes), debian);
    }

    #[test]
    fn a_dhcp_stanza_for_our_nic_is_commented_out_and_source_added() {
        let text = "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n    hostname x\n\nauto eth9\niface eth9 inet dhcp\n";
        let fixed = without_conflicts(text, &["eth0".into()], AddSource::Yes);
        assert_eq!(
            fixed,
            "auto lo\niface lo inet loopback\n\n#osconf# allow-hotplug eth0\n#osconf# iface eth0 inet dhcp\n#osconf#     hostname x\n\nauto eth9\niface eth9 inet dhcp\n\
             \n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n"
        );
    }

    #[test]
    fn only_our_nics_leave_an_auto_line() {
        let text = "auto lo eth0\nallow-hotplug eth0 eth1\nauto eth0\niface lo inet loopback\niface eth0 inet dhcp\n";
        assert_eq!(
            without_conflicts(text, &["eth0".into()], AddSource::Yes),
            "#osconf# auto lo eth0\nauto lo\n#osconf# allow-hotplug eth0 eth1\nallow-hotplug eth1\n#osconf# auto eth0\niface lo inet loopback\n#osconf# iface eth0 inet dhcp\n\
             \n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n"
        );
    }

    #[test]
    fn without_source_osconfs_own_source_lines_go() {
        let sourced = without_conflicts("auto lo\niface lo inet loopback\n", &[], AddSource::Yes);
        assert!(sourced.ends_with(SOURCE_LINES), "{sourced}");
        assert_eq!(without_conflicts(&sourced, &[], AddSource::No), "auto lo\niface lo inet loopback\n");
        let image_own = "auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n";
        assert_eq!(without_conflicts(image_own, &[], AddSource::No), image_own, "the image's own line stays");
    }

    #[test]
    fn no_source_line_when_not_asked_for() {
        let text = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n";
        assert_eq!(
            without_conflicts(text, &["eth0".into()], AddSource::No),
            "auto lo\niface lo inet loopback\n\n#osconf# auto eth0\n#osconf# iface eth0 inet dhcp\n"
        );
    }
}
