//! The `#cloud-config` subset osconf honours, read from YAML into what it
//! will do ([`CloudConfig`]), validated before anything is written:
//! `hostname`, `fqdn`, `ssh_authorized_keys` (root's), `chpasswd` (`users:`,
//! the older `list:`, `expire`), `write_files` and `runcmd`. Every other key
//! is a warning naming it; so is a bad value of a known key, and the rest
//! still applies. Several documents (MIME parts) are merged key by key, a
//! later part's key replacing an earlier one's, as cloud-init's default
//! merge of top-level keys does.
//!
//! YAML is read with `yaml-rust2`, whose loader copies an alias's node each
//! time it is used: [`load`] first counts the nodes the aliases would make
//! and refuses a document past [`MAX_NODES`] (a "billion laughs" bomb) or
//! nested deeper than [`MAX_NESTING`].

use std::io::Read as _;

use base64::Engine as _;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};
use zeroize::Zeroizing;

use crate::settings::values::{hostname as valid_hostname, hostname_syntax};
use crate::settings::{Password, SshKey};

use super::format::MAX_DECODED;

/// Most YAML nodes one document may expand to, aliases counted.
pub const MAX_NODES: usize = 1_000_000;
/// Deepest nesting of YAML collections: a cloud-config needs a handful;
/// `- - - - …` nests one level per two bytes, and the loaded tree is
/// dropped recursively.
pub const MAX_NESTING: usize = 64;

/// The keys osconf acts on.
pub const KNOWN_KEYS: [&str; 6] = ["hostname", "fqdn", "ssh_authorized_keys", "chpasswd", "write_files", "runcmd"];

/// What the cloud-config asks for.
#[derive(Debug, Default)]
pub struct CloudConfig {
    /// The short host name and the full one, when asked.
    pub hostname: Option<String>,
    pub fqdn: Option<String>,
    pub ssh_keys: Vec<SshKey>,
    pub passwords: Vec<UserPassword>,
    /// `chpasswd: expire` (cloud-init's default: true): the users must
    /// change their password at the next login.
    pub expire: bool,
    pub write_files: Vec<WriteFile>,
    pub runcmd: Vec<Command>,
    pub warnings: Vec<String>,
}

/// One `chpasswd` entry.
#[derive(Debug)]
pub struct UserPassword {
    pub user: String,
    pub password: Password,
}

/// One `write_files` entry, its content decoded.
pub struct WriteFile {
    pub path: String,
    pub content: Zeroizing<Vec<u8>>,
    pub permissions: u32,
    /// `user:group` names (default `root:root`).
    pub owner: (String, String),
    pub append: bool,
}

impl std::fmt::Debug for WriteFile {
    // Never the content: it may be a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WriteFile({}, {} bytes, {:o}, {:?}, append {})",
            self.path,
            self.content.len(),
            self.permissions,
            self.owner,
            self.append
        )
    }
}

/// One `runcmd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A list: exec'd as it is.
    Argv(Vec<String>),
    /// A string: `/bin/sh -c` it, as cloud-init does.
    Shell(String),
}

impl Command {
    /// The argv run.
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Argv(argv) => argv.clone(),
            Command::Shell(line) => vec!["/bin/sh".into(), "-c".into(), line.clone()],
        }
    }
}

/// Reads and merges the cloud-config documents, in order.
pub fn read(documents: &[&str]) -> CloudConfig {
    let mut merged = Hash::new();
    let mut warnings = Vec::new();
    for (index, text) in documents.iter().enumerate() {
        match load(text) {
            Ok(Yaml::Hash(hash)) => {
                for (key, value) in hash {
                    merged.insert(key, value);
                }
            }
            Ok(Yaml::Null) => {}
            Ok(_) => warnings.push(format!("cloud-config {}: not a mapping of keys, left out", index + 1)),
            Err(why) => warnings.push(format!("cloud-config {}: {why}, left out", index + 1)),
        }
    }
    let mut config = from_hash(&merged);
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    config
}

/// One YAML document, bounded (see the module's docs).
fn load(text: &str) -> Result<Yaml, String> {
    if text.len() > MAX_DECODED {
        return Err(format!("larger than {MAX_DECODED} bytes"));
    }
    count_nodes(text)?;
    let mut documents = YamlLoader::load_from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    Ok(if documents.is_empty() { Yaml::Null } else { documents.swap_remove(0) })
}

/// Refuses a document whose aliases would expand past [`MAX_NODES`].
fn count_nodes(text: &str) -> Result<(), String> {
    let mut parser = Parser::new_from_str(text);
    // Nodes made so far; each anchor's size; the open collections' anchor and start count.
    let mut nodes: usize = 0;
    let mut sizes: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut open: Vec<(usize, usize)> = Vec::new();
    loop {
        let (event, _) = parser.next_token().map_err(|e| format!("not valid YAML: {e}"))?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                if anchor > 0 {
                    sizes.insert(anchor, 1);
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                open.push((anchor, nodes));
                if open.len() > MAX_NESTING {
                    return Err(format!("nested deeper than {MAX_NESTING} levels"));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop() {
                    if anchor > 0 {
                        sizes.insert(anchor, nodes - start + 1);
                    }
                }
            }
            Event::Alias(anchor) => nodes = nodes.saturating_add(sizes.get(&anchor).copied().unwrap_or(1)),
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(format!("expands to more than {MAX_NODES} nodes (aliases counted)"));
        }
    }
}

fn from_hash(hash: &Hash) -> CloudConfig {
    let mut config = CloudConfig { expire: true, ..CloudConfig::default() };
    for (key, value) in hash {
        let Some(key) = key.as_str() else {
            config.warnings.push("a key that is not text: ignored".into());
            continue;
        };
        match key {
            "hostname" => config.hostname = text_value(value, "hostname", &mut config.warnings),
            "fqdn" => config.fqdn = text_value(value, "fqdn", &mut config.warnings),
            "ssh_authorized_keys" => ssh_keys(value, &mut config),
            "chpasswd" => chpasswd(value, &mut config),
            "write_files" => write_files(value, &mut config),
            "runcmd" => runcmd(value, &mut config),
            other => config.warnings.push(format!("cloud-config key {}: not supported, ignored", shown(other))),
        }
    }
    names(&mut config);
    config
}

/// A key or name in a message: printable, short.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(64).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    format!("{out:?}")
}

/// A scalar as text (YAML may read `host1` as a string, `123` as an integer).
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_value(value: &Yaml, key: &str, warnings: &mut Vec<String>) -> Option<String> {
    let text = scalar(value);
    if text.is_none() {
        warnings.push(format!("cloud-config {key}: not a text value, ignored"));
    }
    text
}

/// `hostname` and `fqdn` checked; the short name from `fqdn` when only it is given.
fn names(config: &mut CloudConfig) {
    if let Some(fqdn) = config.fqdn.take() {
        match hostname_syntax(&fqdn) {
            Ok(fqdn) => config.fqdn = Some(fqdn),
            Err(why) => config.warnings.push(format!("cloud-config fqdn {}: {why}, ignored", shown(&fqdn))),
        }
    }
    let wanted = config.hostname.take().or_else(|| config.fqdn.clone());
    if let Some(name) = wanted {
        // cloud-init: a hostname with dots is the fqdn; its first label the name.
        if config.fqdn.is_none() && name.contains('.') {
            config.fqdn = hostname_syntax(&name).ok();
        }
        let short = name.split('.').next().unwrap_or_default().to_owned();
        match valid_hostname(&short) {
            Ok(short) => config.hostname = Some(short),
            Err(why) => config.warnings.push(format!("cloud-config hostname {}: {why}, ignored", shown(&name))),
        }
    }
}

fn ssh_keys(value: &Yaml, config: &mut CloudConfig) {
    let Some(list) = value.as_vec() else {
        config.warnings.push("cloud-config ssh_authorized_keys: not a list, ignored".into());
        return;
    };
    for (index, item) in list.iter().enumerate() {
        match scalar(item).map(|text| SshKey::parse(&text)) {
            Some(Ok(key)) => config.ssh_keys.push(key),
            Some(Err(why)) => {
                config.warnings.push(format!("cloud-config ssh_authorized_keys item {}: {why}", index + 1))
            }
            None => config.warnings.push(format!("cloud-config ssh_authorized_keys item {}: not text", index + 1)),
        }
    }
}

fn chpasswd(value: &Yaml, config: &mut CloudConfig) {
    let Some(hash) = value.as_hash() else {
        config.warnings.push("cloud-config chpasswd: not a mapping, ignored".into());
        return;
    };
    for (key, value) in hash {
        match key.as_str().unwrap_or_default() {
            "expire" => match value.as_bool() {
                Some(expire) => config.expire = expire,
                None => config.warnings.push("cloud-config chpasswd expire: not true or false, ignored".into()),
            },
            "users" => {
                let Some(users) = value.as_vec() else {
                    config.warnings.push("cloud-config chpasswd users: not a list, ignored".into());
                    continue;
                };
                for (index, user) in users.iter().enumerate() {
                    let field =
                        |name: &str| user.as_hash().and_then(|h| h.get(&Yaml::String(name.into()))).and_then(scalar);
                    let (Some(name), Some(password)) = (field("name"), field("password").map(Zeroizing::new)) else {
                        config.warnings.push(format!(
                            "cloud-config chpasswd users item {}: needs name and password, ignored",
                            index + 1
                        ));
                        continue;
                    };
                    let kind = field("type").unwrap_or_else(|| "hash".into());
                    add_password(config, &name, password, &kind);
                }
            }
            "list" => {
                let entries: Vec<Zeroizing<String>> = match value {
                    Yaml::String(text) => text.lines().map(|l| Zeroizing::new(l.to_owned())).collect(),
                    Yaml::Array(items) => items.iter().filter_map(scalar).map(Zeroizing::new).collect(),
                    _ => {
                        config.warnings.push("cloud-config chpasswd list: neither text nor a list, ignored".into());
                        continue;
                    }
                };
                for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
                    let Some((name, password)) = entry.trim().split_once(':') else {
                        config
                            .warnings
                            .push("cloud-config chpasswd list: an entry without user:password, ignored".into());
                        continue;
                    };
                    // The older form tells a hash by its look, as cloud-init does.
                    let kind = if password.starts_with('$') { "hash" } else { "text" };
                    add_password(config, name, Zeroizing::new(password.to_owned()), kind);
                }
            }
            other => config.warnings.push(format!("cloud-config chpasswd {}: not supported, ignored", shown(other))),
        }
    }
}

/// One user's password, validated; the value never shown.
fn add_password(config: &mut CloudConfig, name: &str, password: Zeroizing<String>, kind: &str) {
    let user_ok =
        !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !user_ok {
        config.warnings.push(format!("cloud-config chpasswd: user {}: not a user name, ignored", shown(name)));
        return;
    }
    let password = match kind {
        "hash" => crate::settings::values::password(&password, crate::settings::PasswordForm::CryptHash),
        "text" if password.is_empty() || password.chars().any(char::is_control) => {
            Err("is empty or holds a control character (value not shown)".into())
        }
        "text" => Ok(Password::Plain(password)),
        other => Err(format!("type {}: not supported (hash or text)", shown(other))),
    };
    match password {
        Ok(password) => config.passwords.push(UserPassword { user: name.to_owned(), password }),
        Err(why) => config.warnings.push(format!("cloud-config chpasswd: user {name}'s password {why}, ignored")),
    }
}

fn write_files(value: &Yaml, config: &mut CloudConfig) {
    let Some(list) = value.as_vec() else {
        config.warnings.push("cloud-config write_files: not a list, ignored".into());
        return;
    };
    for (index, item) in list.iter().enumerate() {
        match write_file(item) {
            Ok(file) => config.write_files.push(file),
            Err(why) => config.warnings.push(format!("cloud-config write_files item {}: {why}, ignored", index + 1)),
        }
    }
}

fn write_file(item: &Yaml) -> Result<WriteFile, String> {
    let hash = item.as_hash().ok_or("not a mapping")?;
    let field = |name: &str| hash.get(&Yaml::String(name.into()));
    let text = |name: &str| field(name).and_then(scalar);
    let path = text("path").ok_or("no path")?;
    if !path.starts_with('/') || path.contains('\0') || path.split('/').any(|c| c == "..") {
        return Err(format!("path {}: not an absolute path without ..", shown(&path)));
    }
    let content = Zeroizing::new(text("content").unwrap_or_default());
    let encoding = text("encoding").unwrap_or_default().to_ascii_lowercase();
    let content = decode(&content, &encoding)?;
    let permissions = match text("permissions") {
        None => 0o644,
        Some(mode) => {
            let digits = mode.trim().trim_start_matches("0o");
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or(format!("permissions {}: not an octal mode", shown(&mode)))?
        }
    };
    let owner = match text("owner") {
        None => ("root".to_owned(), "root".to_owned()),
        Some(owner) => match owner.split_once(':') {
            Some((user, group)) => (user.to_owned(), group.to_owned()),
            None => (owner.clone(), owner),
        },
    };
    let append = field("append").and_then(Yaml::as_bool).unwrap_or(false);
    if field("defer").and_then(Yaml::as_bool) == Some(true) {
        log::info!("write_files {path}: defer is not needed by osconf (no package installs): written now");
    }
    Ok(WriteFile { path, content, permissions, owner, append })
}

/// `encoding`: b64/base64, gzip/gz, gz+b64/gz+base64, or none.
fn decode(content: &str, encoding: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let base64 = |text: &str| -> Result<Zeroizing<Vec<u8>>, String> {
        let clean: Zeroizing<String> = Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
        base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| "content: not valid base64".into())
    };
    let gunzip = |bytes: &[u8]| -> Result<Zeroizing<Vec<u8>>, String> {
        let mut out = Zeroizing::new(Vec::new());
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_DECODED as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("content: gzip: {e}"))?;
        if out.len() > MAX_DECODED {
            return Err(format!("content: more than {MAX_DECODED} bytes decompressed"));
        }
        Ok(out)
    };
    match encoding {
        "" | "text/plain" => Ok(Zeroizing::new(content.as_bytes().to_vec())),
        "b64" | "base64" => base64(content),
        "gz" | "gzip" => gunzip(content.as_bytes()),
        "gz+b64" | "gz+base64" | "gzip+b64" | "gzip+base64" => gunzip(&base64(content)?),
        other => Err(format!("encoding {}: not supported", shown(other))),
    }
}

fn runcmd(value: &Yaml, config: &mut CloudConfig) {
    let Some(list) = value.as_vec() else {
        config.warnings.push("cloud-config runcmd: not a list, ignored".into());
        return;
    };
    for (index, item) in list.iter().enumerate() {
        let command = match item {
            Yaml::Array(words) => {
                let argv: Option<Vec<String>> = words.iter().map(scalar).collect();
                argv.filter(|a| !a.is_empty() && a.iter().all(|w| !w.contains('\0'))).map(Command::Argv)
            }
            other => scalar(other).filter(|line| !line.contains('\0')).map(Command::Shell),
        };
        match command {
            Some(command) => config.runcmd.push(command),
            None => config.warnings.push(format!(
                "cloud-config runcmd item {}: neither a command line nor a list of words, ignored",
                index + 1
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> CloudConfig {
        read(&[text])
    }

    #[test]
    fn names() {
        let c = one("#cloud-config\nhostname: web1\nfqdn: web1.example.org\n");
        assert_eq!((c.hostname.as_deref(), c.fqdn.as_deref()), (Some("web1"), Some("web1.example.org")));
        let c = one("#cloud-config\nfqdn: db.example.org\n");
        assert_eq!((c.hostname.as_deref(), c.fqdn.as_deref()), (Some("db"), Some("db.example.org")));
        let c = one("#cloud-config\nhostname: 'bad name'\n");
        assert!(c.hostname.is_none() && c.warnings[0].contains("hostname"), "{:?}", c.warnings);
    }

    #[test]
    fn ssh_keys_are_validated() {
        let c = one("#cloud-config\nssh_authorized_keys:\n  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@b\n  - junk\n");
        assert_eq!(c.ssh_keys.len(), 1);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn chpasswd_users_list_and_expire() {
        let c = one("#cloud-config\nchpasswd:\n  expire: false\n  users:\n    - {name: root, password: '$6$salt$abcdef', type: hash}\n    - name: alice\n      password: s3cret\n      type: text\n    - {name: bob, password: x, type: RANDOM}\n");
        assert!(!c.expire);
        let users: Vec<&str> = c.passwords.iter().map(|p| p.user.as_str()).collect();
        assert_eq!(users, ["root", "alice"]);
        assert!(matches!(c.passwords[1].password, Password::Plain(_)));
        assert!(c.warnings[0].contains("RANDOM"), "{:?}", c.warnings);
        assert!(c.warnings.iter().all(|w| !w.contains("s3cret")));
        let c = one("#cloud-config\nchpasswd:\n  list: |\n    root:$6$salt$abcdef\n    alice:plain\n");
        assert!(c.expire, "cloud-init's default");
        assert!(
            matches!(c.passwords[0].password, Password::Hash(_))
                && matches!(c.passwords[1].password, Password::Plain(_))
        );
        let c = one("#cloud-config\nchpasswd:\n  list: ['root:pw1']\n");
        assert_eq!(c.passwords.len(), 1);
        let c = one("#cloud-config\nchpasswd:\n  users: [{name: root, password: 'notahash'}]\n");
        assert!(c.passwords.is_empty() && !c.warnings[0].contains("notahash"), "{:?}", c.warnings);
    }

    #[test]
    fn write_files_decodes_every_encoding() {
        let gz = crate::user_data::format::tests::gzip(b"zipped");
        let gz_b64 = base64::engine::general_purpose::STANDARD.encode(&gz);
        let text = format!("#cloud-config\nwrite_files:\n  - path: /etc/a\n    content: plain\n    permissions: '0600'\n    owner: app:staff\n    append: true\n  - path: /etc/b\n    encoding: b64\n    content: aGVsbG8=\n  - path: /etc/c\n    encoding: gz+b64\n    content: {gz_b64}\n  - path: etc/relative\n  - path: /etc/d\n    permissions: '999'\n");
        let c = one(&text);
        assert_eq!(c.write_files.len(), 3, "{:?}", c.warnings);
        let a = &c.write_files[0];
        assert_eq!((&a.path[..], &a.content[..], a.permissions, a.append), ("/etc/a", &b"plain"[..], 0o600, true));
        assert_eq!(a.owner, ("app".into(), "staff".into()));
        assert_eq!(&c.write_files[1].content[..], b"hello");
        assert_eq!(c.write_files[1].permissions, 0o644);
        assert_eq!(&c.write_files[2].content[..], b"zipped");
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }

    #[test]
    fn runcmd_lists_and_strings() {
        let c = one("#cloud-config\nruncmd:\n  - [touch, /tmp/x]\n  - echo hi > /tmp/y\n  - {a: b}\n");
        assert_eq!(
            c.runcmd,
            vec![Command::Argv(vec!["touch".into(), "/tmp/x".into()]), Command::Shell("echo hi > /tmp/y".into())]
        );
        assert_eq!(c.runcmd[1].argv(), ["/bin/sh", "-c", "echo hi > /tmp/y"]);
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn other_keys_are_named() {
        let c = one("#cloud-config\npackages: [nginx]\nusers: []\n");
        assert_eq!(
            c.warnings,
            [
                "cloud-config key \"packages\": not supported, ignored",
                "cloud-config key \"users\": not supported, ignored"
            ]
        );
    }

    #[test]
    fn parts_merge_later_keys_winning() {
        let c = read(&["#cloud-config\nhostname: one\nruncmd: [a]\n", "#cloud-config\nhostname: two\n"]);
        assert_eq!(c.hostname.as_deref(), Some("two"));
        assert_eq!(c.runcmd.len(), 1);
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut text = String::from("#cloud-config\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let c = one(&text);
        assert!(c.warnings[0].contains("more than"), "{:?}", c.warnings);
        let c = one("#cloud-config\nx: &k host\nhostname: *k\n");
        assert_eq!(c.hostname.as_deref(), Some("host"));
    }

    #[test]
    fn deep_nesting_is_refused_before_loading() {
        let deep = format!("#cloud-config\nx:\n  {}1\n", "- ".repeat(200_000));
        let c = one(&deep);
        assert!(c.warnings[0].contains("nested deeper"), "{:?}", c.warnings);
        let fine = format!("#cloud-config\nx:\n  {}1\n", "- ".repeat(MAX_NESTING - 2));
        let warnings = one(&fine).warnings;
        assert_eq!(warnings, ["cloud-config key \"x\": not supported, ignored"], "read, its key named");
    }

    #[test]
    fn bad_yaml_is_a_warning() {
        let c = one("#cloud-config\nhostname: [unclosed\n");
        assert!(c.hostname.is_none() && c.warnings[0].contains("not valid YAML"));
        assert!(one("#cloud-config\n- a list\n").warnings[0].contains("not a mapping"));
    }
}
