//! `meta_data.json`: the instance's identity, name, keys and password.
//!
//! | item | becomes |
//! |---|---|
//! | `uuid` | the instance id (required) |
//! | `hostname` | the host name's first label (`ecs-ddd4.novalocal` → `ecs-ddd4`) |
//! | `public_keys {name: key}`, `keys [{type: "ssh", data}]` | root's SSH keys: the complete list |
//! | `admin_pass` (not empty) | root's password, hashed here (`password = no`: ignored) |

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::secret_field::{self, Secret};
use super::{Options, MAX_JSON_BYTES, META_DATA};
use crate::settings::values::{self, shorten};
use crate::settings::SshKey;

/// What `meta_data.json` gave.
pub struct Meta {
    pub instance_id: String,
    pub hostname: Option<String>,
    /// The full name, when `hostname` was dotted and valid as a whole.
    pub fqdn: Option<String>,
    /// `None`: keys were listed but none is valid (root's keys are left as
    /// they are); `Some(empty)`: the instance has no key pair.
    pub ssh_keys: Option<Vec<SshKey>>,
    pub password: Option<Zeroizing<String>>,
    pub warnings: Vec<String>,
}

pub fn read(bytes: &[u8], options: Options) -> Result<Meta, String> {
    // First, before any early return: the one copy of the text is the one wiped.
    let (object, admin_pass) = object_without_admin_pass(bytes)?;
    let instance_id = uuid(&object)?;
    let mut warnings = Vec::new();
    let mut warn = |item: &str, why: String| warnings.push(format!("{META_DATA}: {item}: {why}"));
    let (hostname, fqdn) = match object.get("hostname") {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(name)) => host_names(name, |why| warn("hostname", why)),
        Some(_) => {
            warn("hostname", "not a string: ignored".into());
            (None, None)
        }
    };
    let ssh_keys = ssh_keys(&object, &mut warn);
    let password = match admin_pass {
        Some(Ok(text)) => {
            if text.is_empty() || !options.password {
                None
            } else if text.chars().any(char::is_control) {
                warn("admin_pass", "holds a newline or control character (value not shown): ignored".into());
                None
            } else {
                Some(text)
            }
        }
        None => None,
        Some(Err(())) => {
            warn("admin_pass", "not a string: ignored".into());
            None
        }
    };
    Ok(Meta { instance_id, hostname, fqdn, ssh_keys, password, warnings })
}

/// `admin_pass` taken out of the parsed tree into memory wiped when dropped
/// (the tree's strings are freed as they are); `Err` when it is not a string.
/// The parsed object, `admin_pass` taken out of the bytes before they are
/// parsed (see `secret_field`), or out of the parsed object where the scan
/// could not read them.
fn object_without_admin_pass(bytes: &[u8]) -> Result<(Map<String, Value>, AdminPass), String> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(format!("{META_DATA}: larger than {MAX_JSON_BYTES} bytes"));
    }
    // Copied once, exactly sized (never grown), wiped when dropped.
    let mut document = Zeroizing::new(bytes.to_vec());
    let scanned = secret_field::take(&mut document, "admin_pass");
    let mut object = object(&document).map_err(|why| format!("{META_DATA}: {why}"))?;
    let from_object = take_admin_pass(&mut object);
    let admin_pass = match scanned {
        Secret::Text(text) => Some(Ok(text)),
        Secret::Absent => None,
        Secret::NotText => Some(Err(())),
        Secret::Unreadable => from_object,
    };
    Ok((object, admin_pass))
}

type AdminPass = Option<Result<Zeroizing<String>, ()>>;

fn take_admin_pass(object: &mut Map<String, Value>) -> AdminPass {
    match object.remove("admin_pass") {
        Some(Value::String(text)) => Some(Ok(Zeroizing::new(text))),
        None | Some(Value::Null) => None,
        Some(_) => Some(Err(())),
    }
}

/// The instance id of a `meta_data.json`: an error when it is not
/// OpenStack's (not a JSON object, no valid `uuid`).
pub fn instance_of(bytes: &[u8]) -> Result<String, String> {
    let (object, admin_pass) = object_without_admin_pass(bytes)?;
    drop(admin_pass);
    uuid(&object)
}

fn uuid(object: &Map<String, Value>) -> Result<String, String> {
    match object.get("uuid") {
        Some(Value::String(text)) => instance_id(text).map_err(|why| format!("{META_DATA}: uuid: {why}")),
        Some(_) => Err(format!("{META_DATA}: uuid: not a string")),
        None => Err(format!("{META_DATA}: no uuid: not an OpenStack instance's meta data")),
    }
}

/// The JSON object in `bytes`, at most [`MAX_JSON_BYTES`].
pub fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(format!("larger than {MAX_JSON_BYTES} bytes"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

/// The host name (the first label of `name`) and the full name (`name`,
/// when it has more than one label): Nova's names carry the DHCP domain
/// (`.novalocal`), and the host's own name is the first label. Each invalid
/// one is a warning (`warn` gets why).
pub fn host_names(name: &str, mut warn: impl FnMut(String)) -> (Option<String>, Option<String>) {
    let first = name.split('.').next().unwrap_or_default();
    let hostname = values::hostname(first).map_err(|why| warn(format!("{why}: ignored"))).ok();
    let fqdn = match (&hostname, name.contains('.')) {
        (Some(_), true) => {
            values::hostname(name).map_err(|why| warn(format!("{why}: /etc/hosts gets the first label only"))).ok()
        }
        _ => None,
    };
    (hostname, fqdn)
}

/// Nova's instance ids are UUIDs; other clouds' are kept if they are short
/// and plain (letters, digits, `-`, `_`, `.`), as they go into the record
/// and `status`.
pub fn instance_id(text: &str) -> Result<String, String> {
    let plain = (1..=128).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain {
        Ok(text.to_owned())
    } else {
        Err(format!("{:?} is not an instance id (1 to 128 letters, digits, '-', '_' or '.')", shorten(text)))
    }
}

/// `public_keys {name: key}` and `keys [{type: "ssh", data}]`, each key
/// once. Neither served: no key pair (`Some(empty)`).
fn ssh_keys(object: &Map<String, Value>, warn: &mut impl FnMut(&str, String)) -> Option<Vec<SshKey>> {
    let mut listed = 0;
    let mut keys: Vec<SshKey> = Vec::new();
    let mut add = |item: String, text: &str, warn: &mut dyn FnMut(&str, String)| {
        listed += 1;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match SshKey::parse(line) {
                Ok(key) if keys.iter().any(|k| k.same_key(&key)) => {}
                Ok(key) => keys.push(key),
                Err(why) => warn(&item, format!("{why}: skipped")),
            }
        }
    };
    let mut warn = |item: &str, why: String| warn(item, why);
    match object.get("public_keys") {
        None | Some(Value::Null) => {}
        Some(Value::Object(named)) => {
            for (name, key) in named {
                let item = format!("public_keys.{}", shorten(name));
                match key {
                    Value::String(text) => add(item, text, &mut warn),
                    _ => warn(&item, "not a string: skipped".into()),
                }
            }
        }
        Some(_) => warn("public_keys", "not an object: ignored".into()),
    }
    match object.get("keys") {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries)) => {
            for (n, entry) in entries.iter().enumerate() {
                let item = format!("keys[{n}]");
                match (entry.get("type").and_then(Value::as_str), entry.get("data").and_then(Value::as_str)) {
                    (Some("ssh"), Some(data)) => add(item, data, &mut warn),
                    (Some("ssh"), None) => warn(&item, "no data: skipped".into()),
                    (Some(_), _) => {}
                    (None, _) => warn(&item, "no type: skipped".into()),
                }
            }
        }
        Some(_) => warn("keys", "not a list: ignored".into()),
    }
    if listed > 0 && keys.is_empty() {
        warn("public_keys", "no valid key among those listed: root's SSH keys left as they are".into());
        return None;
    }
    Some(keys)
}
