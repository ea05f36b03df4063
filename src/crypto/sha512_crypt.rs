//! SHA-512 crypt (`$6$`), as glibc's crypt(3) and pam_unix compute it
//! (Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512").
//!
//! Written over `sha2` because the `sha-crypt` crate encodes the salt bytes
//! it is given, producing salts libc does not reproduce (shared/NOTES.md).
//!
//! Nothing derived from the password outlives the call: the intermediate
//! digests and sequences are wiped, and so are the hashers' buffers (sha2's
//! `zeroize` feature); the password itself is never copied.

use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ROUNDS: usize = 5000;
pub const SALT_LEN: usize = 16;

/// A new `$6$` hash of `password` with a random 16-character salt.
pub fn hash_with_random_salt(password: &str) -> std::io::Result<String> {
    let mut bytes = [0u8; SALT_LEN];
    super::random::random_bytes(&mut bytes)?;
    let salt: String = bytes.iter().map(|b| ITOA64[(b & 0x3f) as usize] as char).collect();
    Ok(hash(password.as_bytes(), &salt))
}

/// `$6$<salt>$<hash>` with the default 5000 rounds. `salt` uses the crypt
/// alphabet and is cut to 16 characters, as libc does.
pub fn hash(password: &[u8], salt: &str) -> String {
    let salt = &salt.as_bytes()[..salt.len().min(SALT_LEN)];
    let digest = |parts: &[&[u8]]| -> [u8; 64] {
        let mut h = Sha512::new();
        for part in parts {
            h.update(part);
        }
        h.finalize().into()
    };
    // Repeats `source` cyclically to `len` bytes (wiped when dropped).
    let stretch = |source: &[u8; 64], len: usize| -> Zeroizing<Vec<u8>> {
        Zeroizing::new(source.iter().cycle().take(len).copied().collect())
    };

    let mut b = digest(&[password, salt, password]);
    let mut a = Sha512::new();
    a.update(password);
    a.update(salt);
    a.update(&*stretch(&b, password.len()));
    let mut n = password.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(b);
        } else {
            a.update(password);
        }
        n >>= 1;
    }
    let mut a: [u8; 64] = a.finalize().into();

    // The password `len` times over, hashed as it is fed: never copied.
    let mut dp: [u8; 64] = {
        let mut h = Sha512::new();
        for _ in 0..password.len() {
            h.update(password);
        }
        h.finalize().into()
    };
    let p = stretch(&dp, password.len());
    let ds = digest(&[&salt.repeat(16 + a[0] as usize)]);
    let s = stretch(&ds, salt.len());

    let mut c = a;
    for round in 0..ROUNDS {
        let mut h = Sha512::new();
        if round % 2 == 1 {
            h.update(&*p)
        } else {
            h.update(c)
        }
        if round % 3 != 0 {
            h.update(&s)
        }
        if round % 7 != 0 {
            h.update(&*p)
        }
        if round % 2 == 1 {
            h.update(c)
        } else {
            h.update(&*p)
        }
        c = h.finalize().into();
    }
    // `c` is the hash, written to /etc/shadow; the rest was only the way there.
    for digest in [&mut a, &mut b, &mut dp] {
        digest.zeroize();
    }

    let mut out = format!("$6${}$", std::str::from_utf8(salt).expect("crypt alphabet is ASCII"));
    let mut push = |w: u32, chars: usize| {
        for i in 0..chars {
            out.push(ITOA64[((w >> (6 * i)) & 0x3f) as usize] as char);
        }
    };
    // glibc's byte order: triples (i, i+21, i+42) rotated by i mod 3.
    for i in 0..21 {
        let (x, y, z) = match i % 3 {
            0 => (i, i + 21, i + 42),
            1 => (i + 21, i + 42, i),
            _ => (i + 42, i, i + 21),
        };
        push((u32::from(c[x]) << 16) | (u32::from(c[y]) << 8) | u32::from(c[z]), 4);
    }
    push(u32::from(c[63]), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vectors() {
        // From Drepper's specification (rounds=5000 cases).
        assert_eq!(
            hash(b"Hello world!", "saltstring"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            hash(b"qwHr1234", "saltsaltsalt"),
            "$6$saltsaltsalt$LLER3bRioFpIoIyM4w2iweMO0MJ8zYamMjJG3fq.HAalyWDPkQelTVCsysogZ8GUmasQZ1qWZY62wdxB1xyKZ0"
        );
    }

    #[test]
    fn salts_are_random_and_sixteen_characters() {
        let a = hash_with_random_salt("pw").unwrap();
        let b = hash_with_random_salt("pw").unwrap();
        assert_ne!(a, b);
        let salt = a.split('$').nth(2).unwrap();
        assert_eq!(salt.len(), SALT_LEN);
        assert_eq!(hash(b"pw", salt), a);
    }
}
