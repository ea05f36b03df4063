//! The cloud-config's writes, beneath the root, each atomic (`crate::files`):
//! the host name (osconf's own hostname files, and the running kernel's name
//! on the host), root's SSH keys (added after the file's lines, as
//! cloud-init adds them, never into osconf's own block), passwords in
//! /etc/shadow (osconf's shadow writer, under the password-file lock) and
//! `write_files`. Each item that cannot be done is a warning naming it; the
//! others still are. Nothing secret is ever in a message.

use std::fs::Permissions;

use crate::apply::pwd_lock;
use crate::files::{write_atomic, Mode, Root};
use crate::plan::password::{hash_of, with_user_hash, SHADOW};
use crate::settings::SshKey;

use super::cloud_config::{CloudConfig, WriteFile};

/// Does what `config` asks; returns the warnings, each naming its item.
pub fn apply(root: &Root, config: &CloudConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(name) = &config.hostname {
        if let Err(why) = hostname(root, name, config.fqdn.as_deref()) {
            warnings.push(format!("hostname {name}: {why}"));
        }
    }
    if !config.ssh_keys.is_empty() {
        if let Err(why) = ssh_keys(root, &config.ssh_keys) {
            warnings.push(format!("ssh_authorized_keys: {why}"));
        }
    }
    if !config.passwords.is_empty() {
        passwords(root, config, &mut warnings);
    }
    for file in &config.write_files {
        match write_file(root, file) {
            Ok(()) => log::info!("user data: wrote {}", file.path),
            Err(why) => warnings.push(format!("write_files {}: {why}", file.path)),
        }
    }
    warnings
}

fn hostname(root: &Root, name: &str, fqdn: Option<&str>) -> Result<(), String> {
    let writes = crate::plan::hostname::render_with_fqdn(root, name, fqdn, None).map_err(|e| e.to_string())?;
    for write in writes {
        write_atomic(root, &write.path, &write.content, Mode::KeepExisting(write.mode)).map_err(|e| e.to_string())?;
    }
    if root.is_host() {
        crate::apply::hostname::set_live(name).map_err(|e| e.to_string())?;
    }
    log::info!("user data: host name {name}");
    Ok(())
}

/// Adds the keys root's `authorized_keys` does not hold yet, after its lines.
fn ssh_keys(root: &Root, keys: &[SshKey]) -> Result<(), String> {
    // osconf's keys writer knows root's home, owner and how to make `~/.ssh`.
    let plan = crate::plan::ssh_keys::render(root, &[]);
    let current = root.read_optional(&plan.path).map_err(|e| e.to_string())?.unwrap_or_default();
    let present: Vec<SshKey> = current.lines().filter_map(|line| SshKey::parse(line).ok()).collect();
    let mut content = current.clone();
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    let mut added = 0;
    for key in keys {
        if !present.iter().any(|p| p.same_key(key)) && !content.contains(&key.to_string()) {
            content.push_str(&format!("{key}\n"));
            added += 1;
        }
    }
    if added == 0 {
        return Ok(());
    }
    crate::apply::ssh_keys::prepare_dir(root, &plan).map_err(|e| e.to_string())?;
    write_atomic(root, &plan.path, &crate::files::bytes_of(&content), Mode::Exact(0o600)).map_err(|e| e.to_string())?;
    log::info!("user data: {added} SSH key(s) added to {}", plan.path);
    Ok(())
}

/// `chpasswd`: every user's line in /etc/shadow, under the lock.
fn passwords(root: &Root, config: &CloudConfig, warnings: &mut Vec<String>) {
    let _lock = match pwd_lock::acquire(root) {
        Ok(lock) => lock,
        Err(e) => return warnings.push(format!("chpasswd: {e}")),
    };
    let mut shadow = match root.read_optional(SHADOW) {
        Ok(Some(shadow)) => zeroize::Zeroizing::new(shadow),
        Ok(None) => return warnings.push(format!("chpasswd: {SHADOW} does not exist")),
        Err(e) => return warnings.push(format!("chpasswd: {e}")),
    };
    // cloud-init's expire: a change day of 0 makes the user change it at login.
    let day = if config.expire { 0 } else { days_since_epoch() };
    let mut changed = Vec::new();
    for entry in &config.passwords {
        let result = hash_of(&entry.password).and_then(|hash| with_user_hash(&shadow, &entry.user, &hash, day));
        match result {
            Ok(next) => {
                shadow = zeroize::Zeroizing::new(next);
                changed.push(entry.user.as_str());
            }
            Err(e) => warnings.push(format!("chpasswd: user {}: {e}", entry.user)),
        }
    }
    if changed.is_empty() {
        return;
    }
    match write_atomic(root, SHADOW, &crate::files::bytes_of(&shadow), Mode::KeepExisting(0o640)) {
        Ok(()) => log::info!(
            "user data: password set for {}{}",
            changed.join(", "),
            if config.expire { " (to be changed at the next login: chpasswd expire)" } else { "" }
        ),
        Err(e) => warnings.push(format!("chpasswd: writing {SHADOW}: {e}")),
    }
}

fn days_since_epoch() -> u64 {
    super::run::unix_now() / 86_400
}

fn write_file(root: &Root, file: &WriteFile) -> Result<(), String> {
    let uid = id_of(root, "/etc/passwd", &file.owner.0).ok_or(format!("no user {:?} in /etc/passwd", file.owner.0))?;
    let gid = id_of(root, "/etc/group", &file.owner.1).ok_or(format!("no group {:?} in /etc/group", file.owner.1))?;
    let mut content = zeroize::Zeroizing::new(Vec::new());
    if file.append {
        content.extend_from_slice(&root.read_bytes(&file.path).map_err(|e| e.to_string())?.unwrap_or_default());
    }
    content.extend_from_slice(&file.content);
    write_atomic(root, &file.path, &content, Mode::Exact(file.permissions)).map_err(|e| e.to_string())?;
    // Owner: set through the file just written, found beneath the root.
    let written = root.open(&file.path).map_err(|e| e.to_string())?.ok_or("gone after the write")?;
    std::os::unix::fs::fchown(&written, Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
    // chown clears set-id bits: the mode asked for, again.
    written
        .set_permissions(<Permissions as std::os::unix::fs::PermissionsExt>::from_mode(file.permissions))
        .map_err(|e| format!("chmod: {e}"))
}

/// A user's or group's id by name (or a number) in the image's file.
fn id_of(root: &Root, file: &str, name: &str) -> Option<u32> {
    if let Ok(id) = name.parse() {
        return Some(id);
    }
    let text = root.read_optional(file).ok().flatten().unwrap_or_default();
    let found = text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[0] == name).then(|| fields[2].parse().ok()).flatten()
    });
    // An image without the file still has root.
    found.or((name == "root").then_some(0))
}
