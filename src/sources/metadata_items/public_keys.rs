//! root's SSH keys from the metadata's `public-keys/` listing: every
//! listed entry's `public-keys/<n>/openssh-key`, each key validated by
//! [`SshKey::parse`].

use crate::settings::values::shorten;
use crate::settings::SshKey;

/// The index of one entry of the metadata's `public-keys/` listing: `0/`
/// (a directory) or `0=name` (EC2 style); the key is then `public-keys/0/openssh-key`.
pub fn listing_index(entry: &str) -> Result<u32, String> {
    let entry = entry.trim();
    let digits = entry.strip_suffix('/').unwrap_or_else(|| entry.split_once('=').map_or(entry, |(n, _)| n));
    match digits.parse::<u32>() {
        Ok(n) if digits.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(format!("entry {:?} is not of the form N/ or N=name", shorten(entry))),
    }
}

/// root's keys from the metadata: `listing` is the `public-keys/` item
/// (`None`: not served, so no key pair is bound), `get` reads one item
/// (`Ok(None)`: not served). Every key of every listed entry's
/// `public-keys/<n>/openssh-key`, in listing order; a bad entry or key is a
/// warning naming its item. The complete list, for `Settings::ssh_keys`;
/// the metadata source takes an empty list from a served listing as "cannot
/// tell", not as "no key" (only a listing not served is that).
pub fn keys_from_metadata<E>(
    listing: Option<&str>,
    mut get: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<(Vec<SshKey>, Vec<String>), E> {
    let (mut keys, mut warnings) = (Vec::new(), Vec::new());
    for entry in listing.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
        let index = match listing_index(entry) {
            Ok(index) => index,
            Err(e) => {
                warnings.push(format!("public-keys/: {e}: skipped"));
                continue;
            }
        };
        let item = format!("public-keys/{index}/openssh-key");
        match get(&item)? {
            None => warnings.push(format!("{item}: not served: skipped")),
            // Some endpoints serve several keys of one pair, one a line.
            Some(text) => {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    match SshKey::parse(line) {
                        Ok(key) => keys.push(key),
                        Err(e) => warnings.push(format!("{item}: {e}: skipped")),
                    }
                }
            }
        }
    }
    Ok((keys, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ssh_key::tests::ED25519;

    #[test]
    fn keys_from_metadata_reads_every_listed_key_and_names_bad_items() {
        let items = |item: &str| -> Result<Option<String>, ()> {
            Ok(match item {
                "public-keys/0/openssh-key" => Some(format!("{ED25519}\n")),
                "public-keys/1/openssh-key" => Some("ssh-ed25519 AAAA broken\n".into()),
                "public-keys/3/openssh-key" => Some(format!("{}\n\n{}", ED25519.replace("alice", "bob"), "not a key")),
                _ => None,
            })
        };
        let (keys, warnings) = keys_from_metadata(Some("0/\n1=pair-b\nx/\n2/\n3/\n"), items).unwrap();
        assert_eq!(keys.iter().map(|k| k.comment().unwrap()).collect::<Vec<_>>(), ["alice@example", "bob@example"]);
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].starts_with("public-keys/1/openssh-key: ssh-ed25519 key: the body"), "{warnings:#?}");
        assert!(warnings[1].starts_with("public-keys/: entry \"x/\""), "{warnings:#?}");
        assert_eq!(warnings[2], "public-keys/2/openssh-key: not served: skipped");
        assert!(warnings[3].starts_with("public-keys/3/openssh-key: \"not\" is not a key type"), "{warnings:#?}");
        // Nothing listed: no key (osconf's block goes); a transport error stops.
        assert_eq!(keys_from_metadata(None, items).unwrap(), (vec![], vec![]));
        assert_eq!(keys_from_metadata(Some("0/"), |_| Err::<Option<String>, _>("timeout")), Err("timeout"));
    }

    #[test]
    fn listing_entries() {
        assert_eq!(listing_index("0/"), Ok(0));
        assert_eq!(listing_index("12=my-key-pair"), Ok(12));
        assert_eq!(listing_index(" 3 "), Ok(3));
        for bad in ["", "/", "x/", "-1/", "+1/", "1/2/", "99999999999/"] {
            assert!(listing_index(bad).is_err(), "{bad:?}");
        }
    }
}
