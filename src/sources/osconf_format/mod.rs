//! The os.conf drop format, shared by the clouds that drop a file: Alibaba's
//! first partition and Tencent's CD-ROM (and `--drop`). `parse` reads the
//! `key=value` lines as data; `to_settings` validates them into `Settings`.
//! What differs between the clouds is their [`Dialect`], which the source
//! that found the drop chooses: how the password is encoded, and which NIC
//! a gateway gives the default route (PLATFORM.md).

pub mod parse;
pub mod to_settings;

pub use parse::{parse, Entry, ParseError, MAX_DROP_BYTES};
pub use to_settings::{from_drop, from_entries};

use crate::settings::PasswordForm;

/// One cloud's os.conf contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub form: PasswordForm,
    pub carrier: Carrier,
}

/// Which NIC a gateway gives the default route, whatever other NICs the drop lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Alibaba's internet-facing NIC: eth1 when the drop lists it (classic
    /// networks), eth0 otherwise (VPC).
    InternetNic,
    /// Tencent's eth0.
    FirstNic,
}

/// Alibaba: the password's Base64, the default route on the internet-facing NIC.
pub const ALIBABA: Dialect = Dialect { form: PasswordForm::Base64Plain, carrier: Carrier::InternetNic };

/// Tencent: a crypt hash, the default route on eth0.
pub const TENCENT: Dialect = Dialect { form: PasswordForm::CryptHash, carrier: Carrier::FirstNic };

#[cfg(test)]
mod tests;
