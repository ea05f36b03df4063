//! The root password, set in /etc/shadow directly (no chpasswd): only root's
//! line changes, every other line and the file's mode and owner stay. The
//! plan's half: the hash and the new file; `apply::password` puts the plan's
//! root line into shadow as it is at the write, under the lock.

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::Password;

use crate::crypto::sha512_crypt;

pub const SHADOW: &str = "/etc/shadow";

/// The crypt hash /etc/shadow gets: the plain text hashed with a fresh
/// salt, or the source's hash as it is.
pub fn hash_of(password: &Password) -> Result<String, Error> {
    match password {
        Password::Plain(text) => sha512_crypt::hash_with_random_salt(text)
            .map_err(|e| Error::Failed(format!("reading random bytes for the password salt: {e}"))),
        Password::Hash(hash) => Ok(hash.clone()),
    }
}

/// The new /etc/shadow with root's `hash`, computed before anything is written.
pub fn render(root: &Root, hash: &str, days_since_epoch: u64) -> Result<FileWrite, Error> {
    let current = root
        .read_optional(SHADOW)?
        .ok_or_else(|| Error::Failed(format!("{SHADOW} does not exist: cannot set the root password")))?;
    let content = with_root_hash(&current, hash, days_since_epoch)?;
    Ok(FileWrite { secret: true, ..FileWrite::new(SHADOW, content, 0o640) })
}

/// Replaces root's hash and sets the last-change day to today, so that the
/// password is not treated as expired (a 0 there forces a change at login).
pub(crate) fn with_root_hash(shadow: &str, hash: &str, days_since_epoch: u64) -> Result<String, Error> {
    with_user_hash(shadow, "root", hash, days_since_epoch)
}

/// As [`with_root_hash`], for any `user` (user data's `chpasswd`).
pub(crate) fn with_user_hash(shadow: &str, user: &str, hash: &str, days_since_epoch: u64) -> Result<String, Error> {
    let mut found = false;
    let mut out = String::with_capacity(shadow.len() + hash.len());
    for line in shadow.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let mut fields: Vec<String> = body.split(':').map(str::to_owned).collect();
        if fields[0] == user && !found {
            if fields.len() < 3 {
                return Err(Error::Failed(format!("{SHADOW}: {user}'s line has {} fields, expected 9", fields.len())));
            }
            fields[1] = hash.to_owned();
            fields[2] = days_since_epoch.to_string();
            found = true;
        }
        out.push_str(&fields.join(":"));
        out.push_str(end);
    }
    if !found {
        return Err(Error::Failed(format!("{SHADOW} has no {user} account")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_roots_hash_and_date_change() {
        let shadow = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nuser:$6$x$y:19000:0:99999:7:::\n";
        let out = with_root_hash(shadow, "$6$salt$hash", 20000).unwrap();
        assert_eq!(
            out,
            "root:$6$salt$hash:20000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nuser:$6$x$y:19000:0:99999:7:::\n"
        );
    }

    #[test]
    fn keeps_a_missing_final_newline_and_a_forced_change() {
        let out = with_root_hash("root:!:0::::::", "$6$s$h", 5).unwrap();
        assert_eq!(out, "root:$6$s$h:5::::::");
    }

    #[test]
    fn no_root_is_an_error() {
        let e = with_root_hash("daemon:*:1:0:99999:7:::\n", "$6$s$h", 5).unwrap_err();
        assert!(e.to_string().contains("no root account"));
    }
}
