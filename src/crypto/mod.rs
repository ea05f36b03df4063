//! The cryptography osconf computes itself, used by planning (the password's
//! hash) and by the record (the drop key): SHA-512 crypt and the kernel's
//! random bytes. The drop key's HMAC stays with the key (`drop_key`).

pub mod random;
pub mod sha512_crypt;
