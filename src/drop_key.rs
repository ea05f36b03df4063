//! Recognising a drop again without a plain digest of it.
//!
//! A drop holds the root password, and every other value in it is visible to
//! any local user (addresses, host name, name servers). A fast unkeyed hash
//! of it (SHA-256) printed or stored anywhere readable lets anyone rebuild
//! the drop around candidate passwords and test them offline. So the record
//! keeps an HMAC-SHA256 of the drop under a random per-host key
//! (`/var/lib/osconf/drop.key`, 0600, root only), and nothing osconf prints
//! or logs carries any digest of the drop: the display id is the record's
//! apply sequence number, which reveals nothing even if the key leaks later.
//!
//! HMAC is written here over `sha2` (RFC 2104, a dozen lines, checked against
//! the RFC 4231 vectors) rather than taken from the `hmac` crate: one
//! function, one hash, no new dependency in a binary kept small.

use std::io;

use sha2::{Digest, Sha256};

use crate::crypto::random::random_bytes;
use crate::files::{write_atomic, Mode, Root, WriteBatch};
use crate::state::KEY_PATH;

const KEY_LEN: usize = 32;
/// Domain separation: this key must never authenticate anything else.
const LABEL: &[u8] = b"osconf drop v1\0";

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// The per-host key. Never printed (no `Debug` of the bytes).
pub struct DropKey {
    bytes: [u8; KEY_LEN],
    /// Not on disk yet: `save_if_new` writes it (with the record, never from `plan`).
    new: bool,
}

impl std::fmt::Debug for DropKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DropKey {{ new: {} }}", self.new)
    }
}

impl DropKey {
    /// The host's key, or a fresh random one when there is none yet. A key
    /// file that is not 32 bytes is replaced, with a warning: the only cost
    /// is that the current drop is applied once more.
    pub fn load_or_new(root: &Root) -> io::Result<DropKey> {
        match root.read_bytes(KEY_PATH) {
            Ok(Some(bytes)) if bytes.len() == KEY_LEN => {
                let mut key = [0u8; KEY_LEN];
                key.copy_from_slice(&bytes);
                return Ok(DropKey { bytes: key, new: false });
            }
            Ok(Some(_)) => log::warn!(
                "{KEY_PATH} is damaged (not {KEY_LEN} bytes): making a new key; the current drop will be applied again"
            ),
            Ok(None) => {}
            Err(e) => return Err(e),
        }
        let mut bytes = [0u8; KEY_LEN];
        random_bytes(&mut bytes).map_err(|e| io::Error::new(e.kind(), format!("getrandom for {KEY_PATH}: {e}")))?;
        Ok(DropKey { bytes, new: true })
    }

    pub fn is_new(&self) -> bool {
        self.new
    }

    /// The record's "already applied" digest of a drop's bytes (hex).
    pub fn digest(&self, content: &[u8]) -> String {
        // The drop holds the password: its copy here is wiped when dropped.
        let mut message = zeroize::Zeroizing::new(Vec::with_capacity(LABEL.len() + content.len()));
        message.extend_from_slice(LABEL);
        message.extend_from_slice(content);
        hmac_sha256(&self.bytes, &message).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Writes a new key (0600) before the record that depends on it.
    pub fn save_if_new(&self, root: &Root) -> io::Result<()> {
        if self.new {
            write_atomic(root, KEY_PATH, &self.bytes, Mode::Exact(0o600))?;
        }
        Ok(())
    }

    /// Stages a new key in the apply's batch: renamed before the record
    /// (the batch's last file), made durable by the same syncs.
    pub fn stage_if_new(&self, root: &Root, batch: &mut WriteBatch) -> io::Result<()> {
        if self.new {
            batch.write(root, KEY_PATH, &self.bytes, Mode::Exact(0o600))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn keys_are_random_and_digests_keyed() {
        let root = Root::new(std::env::temp_dir().join(format!("osconf-key-{}", std::process::id())));
        let a = DropKey::load_or_new(&root).unwrap();
        let b = DropKey::load_or_new(&root).unwrap();
        assert!(a.is_new() && a.bytes != b.bytes);
        assert_ne!(a.digest(b"x"), b.digest(b"x"));
        assert_eq!(a.digest(b"x"), a.digest(b"x"));
        a.save_if_new(&root).unwrap();
        let again = DropKey::load_or_new(&root).unwrap();
        assert!(!again.is_new() && again.bytes == a.bytes);
        std::fs::remove_dir_all(root.base()).unwrap();
    }
}
