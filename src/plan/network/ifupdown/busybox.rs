//! busybox ifupdown (Alpine's classic default; Alpine images generally)
//! cannot source interfaces.d: older ones have no `source` directive, 1.35
//! expands no glob, so `source /etc/network/interfaces.d/*` makes its `ifup`
//! fail. There, osconf keeps its stanzas in one marked block of
//! `/etc/network/interfaces` (`# BEGIN osconf` … `# END osconf`), replaced
//! as a whole at each apply.

use crate::files::{FileWrite, Root};

use super::interfaces_file::{without_conflicts, AddSource, INTERFACES};

const BEGIN: &str = "# BEGIN osconf (written by osconf at each apply: edit osconf's settings, not this block)";
const END: &str = "# END osconf";

/// Why the image's ifupdown cannot source a directory, if it cannot: its
/// `ifup` is busybox's applet, or the image is Alpine.
pub fn detect(root: &Root) -> Option<String> {
    for ifup in ["/sbin/ifup", "/usr/sbin/ifup", "/bin/ifup"] {
        let target = root.read_link(ifup);
        if target.as_deref().and_then(|t| t.file_name()).is_some_and(|n| n == "busybox") {
            return Some(format!("{ifup} is busybox"));
        }
    }
    root.exists("/etc/alpine-release").then(|| "/etc/alpine-release exists".to_owned())
}

/// The stanzas (`stanzas`, one file per NIC as interfaces.d would hold it)
/// as the marked block of `current` (/etc/network/interfaces) instead.
pub fn render(current: &str, stanzas: &[FileWrite], names: &[String]) -> Option<FileWrite> {
    let kept = without_conflicts(&without_block(current), names, AddSource::No);
    let mut text = kept.trim_end_matches('\n').to_owned() + "\n\n" + BEGIN + "\n";
    for stanza in stanzas {
        text += &stanza.text();
    }
    text += END;
    text += "\n";
    (text != current).then(|| FileWrite::new(INTERFACES, text, 0o644))
}

/// The text without osconf's block (and the blank line put before it).
fn without_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("# BEGIN osconf") {
            inside = true;
        } else if inside && line == END {
            inside = false;
        } else if !inside {
            out += line;
            out += "\n";
        }
    }
    out.trim_end_matches('\n').to_owned() + "\n"
}
