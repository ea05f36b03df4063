//! root's SSH public keys, in `~/.ssh/authorized_keys` (root's home from
//! /etc/passwd). osconf's keys live in one marked block it owns:
//!
//! ```text
//! # BEGIN osconf: keys from the cloud; osconf replaces this block at each apply
//! ssh-ed25519 AAAA... alice@example
//! # END osconf
//! ```
//!
//! Each apply rewrites only that block (in place, or appended at the end), so
//! keys a later settings no longer lists go, and every line a person put
//! outside the block stays byte for byte. No keys removes the block. The
//! file is 0600 in a 0700 `.ssh`, its owner kept. Keys are optional to a
//! boot: anything in the way (a damaged block, a symlink, an unreadable
//! file) is a warning and the rest of the settings still apply. The plan's
//! half; `apply::ssh_keys` makes `~/.ssh` before the file is written.

use std::path::Path;

use crate::files::{FileWrite, Root};
use crate::settings::SshKey;

const PASSWD: &str = "/etc/passwd";
const DEFAULT_HOME: &str = "/root";
const BEGIN: &str = "# BEGIN osconf";
const BEGIN_LINE: &str = "# BEGIN osconf: keys from the cloud; osconf replaces this block at each apply";
const END: &str = "# END osconf";

/// What the keys need, computed before the first write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysPlan {
    /// The keys osconf's block will hold (duplicates dropped).
    pub keys: Vec<SshKey>,
    /// root's `~/.ssh/authorized_keys` and `~/.ssh` (guest paths).
    pub path: String,
    pub dir: String,
    /// root's uid and gid (from /etc/passwd) for a `.ssh` osconf creates.
    pub owner: (u32, u32),
    /// The new file, `None` when nothing is to be written (see `skipped`).
    pub write: Option<FileWrite>,
    /// Why the file is left alone although keys were asked for.
    pub skipped: Option<String>,
}

impl KeysPlan {
    /// Whether osconf's block after this apply holds `keys` (else it is unchanged).
    pub fn installs(&self) -> bool {
        self.skipped.is_none()
    }
}

/// Plans root's `authorized_keys` for `keys` (the settings' complete list).
pub fn render(root: &Root, keys: &[SshKey]) -> KeysPlan {
    let (home, owner) = root_home(root);
    let dir = format!("{}/.ssh", home.trim_end_matches('/'));
    let path = format!("{dir}/authorized_keys");
    let mut unique: Vec<SshKey> = Vec::new();
    for key in keys {
        if unique.iter().any(|k| k.same_key(key)) {
            log::warn!("SSH key {} is listed twice: installed once", key.fingerprint());
        } else {
            unique.push(key.clone());
        }
    }
    let mut plan = KeysPlan { keys: unique, path, dir, owner, write: None, skipped: None };
    match planned_content(root, &plan) {
        Ok(Some(content)) => {
            plan.write = Some(FileWrite { exact_mode: true, ..FileWrite::new(&plan.path, content, 0o600) })
        }
        Ok(None) => {}
        Err(why) => {
            log::warn!("root's SSH keys are not installed: {why}");
            plan.skipped = Some(why);
        }
    }
    plan
}

/// The new file; `None` when there is nothing to do (no keys, no block).
fn planned_content(root: &Root, plan: &KeysPlan) -> Result<Option<String>, String> {
    // Under --root an absolute symlink (e.g. /root -> /var/roothome on
    // ostree systems) would lead out of the tree: not followed there.
    if !root.is_host() {
        for ancestor in Path::new(&plan.dir).ancestors().filter(|a| a.parent().is_some()) {
            if root.is_symlink(ancestor) {
                return Err(format!("{} is a symbolic link, not followed under --root", ancestor.display()));
            }
        }
    }
    for (guest, want_dir) in [(&plan.dir, true), (&plan.path, false)] {
        // Never through a symlink: it could point anywhere (outside --root too).
        if root.exists(guest) {
            let fits = if want_dir {
                root.is_dir(guest) && !root.is_symlink(guest)
            } else {
                root.is_file(guest) && !root.is_symlink(guest)
            };
            if !fits {
                return Err(format!("{guest} is not a {}", if want_dir { "directory" } else { "regular file" }));
            }
        }
    }
    let current = root.read_optional(&plan.path).map_err(|e| e.to_string())?.unwrap_or_default();
    let new = with_block(&current, &plan.keys).map_err(|why| format!("{}: {why}", plan.path))?;
    // Keys are always written (that also restores the file's mode); no keys
    // only where a block is to go.
    Ok((!plan.keys.is_empty() || new != current).then_some(new))
}

/// `current` with osconf's block holding `keys` (no block for no keys):
/// in the place of the old block, or appended. Lines outside it are kept.
fn with_block(current: &str, keys: &[SshKey]) -> Result<String, String> {
    let mut before = String::new();
    let mut after = String::new();
    let mut state = 0; // 0: before the block, 1: inside it, 2: after it
    for line in current.split_inclusive('\n') {
        let text = line.trim_end();
        match state {
            _ if text.starts_with(BEGIN) => {
                if state == 1 {
                    return Err(format!("a second {BEGIN:?} line before {END:?}: fix the file by hand"));
                }
                // A second block (copied by hand) is folded into the first.
                state = 1;
            }
            1 if text == END => state = 2,
            1 => {}
            0 => before.push_str(line),
            _ => after.push_str(line),
        }
    }
    if state == 1 {
        return Err(format!("{BEGIN:?} without {END:?}: fix the file by hand"));
    }
    if !before.is_empty() && !before.ends_with('\n') {
        before.push('\n');
    }
    if !keys.is_empty() {
        before.push_str(BEGIN_LINE);
        before.push('\n');
        for key in keys {
            before.push_str(&format!("{key}\n"));
        }
        before.push_str(END);
        before.push('\n');
    }
    Ok(before + &after)
}

/// root's home directory and ids from /etc/passwd; `/root`, 0, 0 when it
/// cannot be read or the entry is unusable (said in a warning).
fn root_home(root: &Root) -> (String, (u32, u32)) {
    let fallback = (DEFAULT_HOME.to_owned(), (0, 0));
    let passwd = match root.read_optional(PASSWD) {
        Ok(Some(text)) => text,
        Ok(None) => return fallback,
        Err(e) => {
            log::warn!("{e}: root's home taken to be {DEFAULT_HOME}");
            return fallback;
        }
    };
    let Some(fields) =
        passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f[0] == "root" && f.len() >= 7)
    else {
        return fallback;
    };
    let home = fields[5];
    let usable = home.starts_with('/') && !home.split('/').any(|c| c == "..") && !home.chars().any(char::is_control);
    if !usable {
        log::warn!(
            "{PASSWD}: root's home {:?} is not a usable absolute path: {DEFAULT_HOME} is used",
            crate::settings::values::shorten(home)
        );
        return fallback;
    }
    let id = |text: &str| text.parse::<u32>().unwrap_or(0);
    (home.to_owned(), (id(fields[2]), id(fields[3])))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    pub(crate) const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
    const BOB: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH bob";

    pub(crate) fn keys(lines: &[&str]) -> Vec<SshKey> {
        lines.iter().map(|l| SshKey::parse(l).unwrap()).collect()
    }

    fn block(lines: &[&str]) -> String {
        format!("{BEGIN_LINE}\n{}{END}\n", lines.iter().map(|l| format!("{l}\n")).collect::<String>())
    }

    #[test]
    fn block_is_appended_then_replaced_in_place_and_removed() {
        let person = "# mine\nssh-rsa AAAAB3Nza mine@laptop\n";
        let first = with_block(person, &keys(&[ALICE, BOB])).unwrap();
        assert_eq!(first, format!("{person}{}", block(&[ALICE, BOB])));
        // A person adds a line after osconf's block; the next apply drops bob.
        let edited = format!("{first}ssh-ed25519 AAAA later@host\n");
        let second = with_block(&edited, &keys(&[ALICE])).unwrap();
        assert_eq!(second, format!("{person}{}ssh-ed25519 AAAA later@host\n", block(&[ALICE])));
        let third = with_block(&second, &[]).unwrap();
        assert_eq!(third, format!("{person}ssh-ed25519 AAAA later@host\n"));
        assert_eq!(with_block(&third, &[]).unwrap(), third, "no keys and no block: unchanged");
    }

    #[test]
    fn a_last_line_without_newline_is_ended_not_joined() {
        assert_eq!(
            with_block("ssh-rsa AAAA me", &keys(&[ALICE])).unwrap(),
            format!("ssh-rsa AAAA me\n{}", block(&[ALICE]))
        );
        assert_eq!(with_block("", &keys(&[ALICE])).unwrap(), block(&[ALICE]));
    }

    #[test]
    fn edits_inside_the_block_are_replaced_and_two_blocks_become_one() {
        let current = format!("a\n{BEGIN_LINE}\nssh-rsa AAAA added-by-hand\n{END}\nb\n{BEGIN} old\n{BOB}\n{END}\nc\n");
        assert_eq!(with_block(&current, &keys(&[ALICE])).unwrap(), format!("a\n{}b\nc\n", block(&[ALICE])));
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_guess() {
        let e = with_block(&format!("a\n{BEGIN_LINE}\n{ALICE}\nb\n"), &[]).unwrap_err();
        assert!(e.contains("without"), "{e}");
        let e = with_block(&format!("{BEGIN_LINE}\n{BEGIN_LINE}\n{END}\n"), &[]).unwrap_err();
        assert!(e.contains("second"), "{e}");
        // A stray END outside a block is a person's line like any other.
        assert_eq!(with_block(&format!("{END}\n"), &[]).unwrap(), format!("{END}\n"));
    }

    pub(crate) fn tree(name: &str) -> Root {
        let dir = std::env::temp_dir().join(format!("osconf-ssh-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc")).unwrap();
        Root::new(dir)
    }

    #[test]
    fn home_comes_from_passwd_with_a_safe_fallback() {
        let root = tree("home");
        assert_eq!(root_home(&root), ("/root".into(), (0, 0)));
        fs::write(root.path(PASSWD), "daemon:x:1:1::/usr/sbin:/bin/false\nroot:x:0:0:root:/var/root:/bin/sh\n")
            .unwrap();
        assert_eq!(root_home(&root), ("/var/root".into(), (0, 0)));
        fs::write(root.path(PASSWD), "root:x:0:0:root:/../../etc:/bin/sh\n").unwrap();
        assert_eq!(root_home(&root).0, "/root");
        fs::write(root.path(PASSWD), "root:x:0:0:root:relative:/bin/sh\n").unwrap();
        assert_eq!(root_home(&root).0, "/root");
        let plan = render(&root, &keys(&[ALICE]));
        assert_eq!((plan.dir.as_str(), plan.path.as_str()), ("/root/.ssh", "/root/.ssh/authorized_keys"));
        fs::remove_dir_all(root.base()).unwrap();
    }

    #[test]
    fn render_dedups_skips_what_it_must_not_touch_and_writes_nothing_without_need() {
        let root = tree("render");
        let plan = render(&root, &keys(&[ALICE, &ALICE.replace("alice@example", "again"), BOB]));
        assert_eq!(plan.keys, keys(&[ALICE, BOB]));
        let write = plan.write.as_ref().unwrap();
        assert_eq!((write.path.as_str(), write.mode, write.exact_mode), ("/root/.ssh/authorized_keys", 0o600, true));
        assert_eq!(write.text(), block(&[ALICE, BOB]));
        // No keys and no file: nothing to do.
        let none = render(&root, &[]);
        assert!(none.write.is_none() && none.installs());
        // A symlinked authorized_keys is left alone (it may point anywhere).
        fs::create_dir_all(root.path("/root/.ssh")).unwrap();
        std::os::unix::fs::symlink("/etc/shadow", root.path("/root/.ssh/authorized_keys")).unwrap();
        let linked = render(&root, &keys(&[ALICE]));
        assert!(linked.write.is_none() && !linked.installs());
        assert!(linked.skipped.unwrap().contains("not a regular file"));
        // A symlinked home is not followed out of the tree.
        fs::remove_dir_all(root.path("/root")).unwrap();
        std::os::unix::fs::symlink("/var/roothome", root.path("/root")).unwrap();
        let escaped = render(&root, &keys(&[ALICE]));
        assert_eq!(escaped.skipped.as_deref(), Some("/root is a symbolic link, not followed under --root"));
        fs::remove_dir_all(root.base()).unwrap();
    }
}
