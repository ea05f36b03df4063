//! osconf: makes a Linux guest match the settings its cloud dropped for it.
//!
//! Data flows one way: [`sources`] find and read a drop → [`settings`]
//! validates it → [`plan`] compares it with the last [`record`] → [`apply`]
//! makes the changes → [`record`] remembers what was done.

pub mod apply;
pub mod check;
pub mod commands;
pub mod config;
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

pub use error::Error;
