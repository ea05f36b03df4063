//! osconf: makes a Linux guest match the settings its cloud dropped for it.
//!
//! Data flows one way: [`sources`] find and read a drop → [`settings`]
//! validates it → [`plan`] compares it with the last [`record`] and computes
//! every file, live change and backup before the first write (each network
//! stack in [`plan::network`]) → [`apply`] makes the changes, effects only →
//! [`record`] remembers what was done. [`state`] names osconf's own files
//! under /var/lib/osconf; [`crypto`] is the password hash and random bytes.
//!
//! The layer rule: a layer never imports one to its right (`plan` never
//! names `apply`; `settings` names no source, plan or effect), checked by
//! tests/layers.rs.

pub mod apply;
pub mod check;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod drop_key;
pub mod error;
pub mod files;
pub mod hardening;
pub mod lock;
pub mod output;
pub mod plan;
pub mod record;
pub mod settings;
pub mod sources;
pub mod state;
pub mod timing;
pub mod user_data;

pub use error::Error;
