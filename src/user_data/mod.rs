//! The instance's user data (issue 26), once per instance: what the cloud
//! gives as opaque bytes beside the settings (PLATFORM.md §8), run as
//! cloud-init runs it for the formats images without cloud-init need.
//!
//! - [`format`]: the bytes into parts: `#!` scripts and `#cloud-config`
//!   documents, through gzip and MIME multipart; anything else a warning.
//! - [`cloud_config`]: the YAML subset osconf honours, validated into what
//!   it will do.
//! - [`effects`]: the cloud-config's writes (host name, root's SSH keys,
//!   passwords in /etc/shadow, `write_files`), beneath the root.
//! - [`run`]: a script or command run as root in `/` with a clean
//!   environment, chrooted under `--root DIR`, its output logged, its time
//!   bounded.
//! - [`once`]: the record that makes it once per instance, keyed by the
//!   instance id and a keyed digest of the data.
//!
//! Huawei delivers the root password of a password-login Linux instance only
//! this way: `#!/bin/bash` + `echo 'root:$6$…' | chpasswd -e` (§5).

pub mod cloud_config;
pub mod effects;
pub mod format;
pub mod once;
pub mod run;
