//! osconf's own configuration, `/etc/osconf/osconf.conf` (ini). A missing file
//! means defaults; every key is documented in docs/sources.md ("osconf.conf") and in
//! packaging/osconf.conf.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::files::Root;
use crate::sources::{self, Source, SOURCES};

pub const CONFIG_PATH: &str = "/etc/osconf/osconf.conf";
/// Largest `nic_wait_seconds`: a boot waiting longer for a NIC is broken anyway.
pub const MAX_NIC_WAIT_SECONDS: u64 = 3600;
/// Largest `[user-data] timeout_s`.
pub const MAX_USER_DATA_SECONDS: u64 = 86_400;
/// Largest metadata `timeout_ms` and `total_timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 600_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[source] order`: the sources osconf asks when it looks by itself,
    /// in order (default: the registry's, `sources::SOURCES`).
    pub order: Vec<&'static str>,
    /// `[source.NAME]`, for the sources whose section differs from their
    /// defaults.
    sources: Vec<(&'static str, SourceConfig)>,
    /// `[network] stack`: `auto` (None) or a stack name to force.
    pub network_stack: Option<String>,
    /// `[network] nic_wait_seconds`: how long to wait for a NIC to appear.
    pub nic_wait: Duration,
    /// `[user-data] timeout_s`: how long one user-data script or command may run.
    pub user_data_timeout: Duration,
}

/// `[source.NAME]`: one source's settings. Each source takes the keys it
/// names (`Source::keys`); the others keep its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// `enabled`: whether osconf asks it when looking by itself.
    pub enabled: Enabled,
    /// `url`: a network source's endpoint.
    pub url: String,
    /// `timeout_ms`: one request's wait.
    pub request_timeout: Duration,
    /// `total_timeout_ms`: all of a network source's requests and retries.
    pub total_timeout: Duration,
    /// `partition`: which partition holds a drop (alibaba-drop).
    pub partition: PartitionChoice,
    /// `password`: whether a source's root password is applied (openstack-*).
    pub password: bool,
}

impl Default for SourceConfig {
    fn default() -> SourceConfig {
        SourceConfig {
            enabled: Enabled::Yes,
            url: String::new(),
            request_timeout: Duration::from_millis(1000),
            total_timeout: Duration::from_millis(10_000),
            partition: PartitionChoice::Auto,
            password: true,
        }
    }
}

/// `enabled = yes | no | auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enabled {
    Yes,
    No,
    /// A network source: asked when DMI says the instance runs on its cloud.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionChoice {
    /// The first partition of the disk holding `/`, found through sysfs.
    Auto,
    /// A device path (`UUID=`/`LABEL=` become /dev/disk/by-uuid, by-label).
    Device(PathBuf),
}

/// Keys of osconf 0.1 that still work: `[source] partition` and `tencent`,
/// and the `[metadata]` section, are the sections of the sources they meant.
const OLD_KEYS: [(&str, &str, &str, &str); 6] = [
    ("source", "partition", "alibaba-drop", "partition"),
    ("source", "tencent", "tencent-cdrom", "enabled"),
    ("metadata", "enabled", "alibaba-metadata", "enabled"),
    ("metadata", "url", "alibaba-metadata", "url"),
    ("metadata", "timeout_ms", "alibaba-metadata", "timeout_ms"),
    ("metadata", "total_timeout_ms", "alibaba-metadata", "total_timeout_ms"),
];

impl Default for Config {
    fn default() -> Config {
        Config {
            order: SOURCES.iter().map(|s| s.name()).collect(),
            sources: Vec::new(),
            network_stack: None,
            nic_wait: Duration::from_secs(10),
            user_data_timeout: crate::user_data::run::DEFAULT_TIMEOUT,
        }
    }
}

impl Config {
    pub fn load(root: &Root) -> io::Result<Config> {
        let Some(text) = root.read_optional(CONFIG_PATH)? else { return Ok(Config::default()) };
        Config::parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{CONFIG_PATH}: {e}")))
    }

    /// One source's section: what osconf.conf says, or the source's defaults.
    pub fn source(&self, source: &dyn Source) -> SourceConfig {
        let set = self.sources.iter().find(|(name, _)| *name == source.name());
        set.map(|(_, config)| config.clone()).unwrap_or_else(|| source.defaults())
    }

    /// Replaces one source's section (the command line's `--metadata URL`).
    pub fn set_source(&mut self, source: &dyn Source, config: SourceConfig) {
        self.sources.retain(|(name, _)| *name != source.name());
        self.sources.push((source.name(), config));
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let ini = ini::Ini::load_from_str(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        for (section, props) in ini.iter() {
            let section = section.unwrap_or("");
            for (key, value) in props.iter() {
                let value = value.trim();
                let bad = |what: &str| format!("[{section}] {key}: {value:?} is not {what}");
                // Capped: the values become deadlines (Instant + Duration), which must not overflow.
                let number = |max: u64, unit: &str| match value.parse::<u64>() {
                    Ok(n) if n <= max => Ok(n),
                    Ok(_) => Err(bad(&format!("at most {max} ({unit})"))),
                    Err(_) => Err(bad("a whole number")),
                };
                let old = OLD_KEYS.iter().find(|(s, k, _, _)| *s == section && *k == key);
                let (source_name, source_key) = match (section, key, old) {
                    ("network", "stack", _) => {
                        config.network_stack = (value != "auto").then(|| value.to_owned());
                        continue;
                    }
                    ("network", "nic_wait_seconds", _) => {
                        config.nic_wait = Duration::from_secs(number(MAX_NIC_WAIT_SECONDS, "one hour")?);
                        continue;
                    }
                    ("user-data", "timeout_s", _) => {
                        config.user_data_timeout = Duration::from_secs(number(MAX_USER_DATA_SECONDS, "a day")?);
                        continue;
                    }
                    ("source", "order", _) => {
                        config.order = order(value).map_err(|e| bad(&e))?;
                        continue;
                    }
                    (_, _, Some(&(_, _, source, source_key))) => (source, source_key),
                    _ => match section.strip_prefix("source.") {
                        Some(name) => (name, key),
                        None => {
                            log::warn!("{CONFIG_PATH}: unknown key [{section}] {key} ignored");
                            continue;
                        }
                    },
                };
                let Some(source) = sources::by_name(source_name) else {
                    log::warn!("{CONFIG_PATH}: [{section}]: no source is called {source_name:?}; ignored");
                    continue;
                };
                let mut settings = config.source(source);
                match source_key {
                    "enabled" => {
                        settings.enabled = match value {
                            "true" | "yes" | "1" => Enabled::Yes,
                            "false" | "no" | "0" => Enabled::No,
                            "auto" if source.network_of().is_some() => Enabled::Auto,
                            _ if source.network_of().is_some() => return Err(bad("yes, no or auto")),
                            _ => return Err(bad("true or false")),
                        }
                    }
                    key if !source.keys().contains(&key) => {
                        log::warn!(
                            "{CONFIG_PATH}: unknown key [{section}] {key} ignored ({source_name} takes enabled, {})",
                            source.keys().join(", ")
                        );
                        continue;
                    }
                    "url" => settings.url = value.to_owned(),
                    "timeout_ms" => {
                        settings.request_timeout = Duration::from_millis(number(MAX_TIMEOUT_MS, "ten minutes")?)
                    }
                    "total_timeout_ms" => {
                        settings.total_timeout = Duration::from_millis(number(MAX_TIMEOUT_MS, "ten minutes")?)
                    }
                    "password" => {
                        settings.password = match value {
                            "true" | "yes" | "1" => true,
                            "false" | "no" | "0" => false,
                            _ => return Err(bad("yes or no")),
                        }
                    }
                    "partition" => {
                        settings.partition =
                            partition_choice(value).ok_or_else(|| bad("auto, UUID=…, LABEL=… or /dev/…"))?
                    }
                    _ => continue,
                }
                config.set_source(source, settings);
            }
        }
        Ok(config)
    }
}

/// `[source] order`: registered source names, separated by spaces or commas, each once.
fn order(value: &str) -> Result<Vec<&'static str>, String> {
    let mut order: Vec<&'static str> = Vec::new();
    for word in value.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
        let source = sources::by_name(word).ok_or_else(|| {
            let names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
            format!("a list of sources ({word:?} is none of {})", names.join(", "))
        })?;
        if order.contains(&source.name()) {
            return Err(format!("a list of sources each named once ({word} twice)"));
        }
        order.push(source.name());
    }
    Ok(order)
}

fn partition_choice(value: &str) -> Option<PartitionChoice> {
    let by = |dir: &str, id: &str| {
        (!id.is_empty() && !id.contains('/')).then(|| PartitionChoice::Device(PathBuf::from(dir).join(id)))
    };
    if value == "auto" {
        Some(PartitionChoice::Auto)
    } else if let Some(uuid) = value.strip_prefix("UUID=") {
        by("/dev/disk/by-uuid", uuid)
    } else if let Some(label) = value.strip_prefix("LABEL=") {
        by("/dev/disk/by-label", label)
    } else if value.starts_with("/dev/") {
        Some(PartitionChoice::Device(PathBuf::from(value)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source's section.
    fn section(config: &Config, name: &str) -> SourceConfig {
        config.source(sources::by_name(name).unwrap())
    }

    #[test]
    fn every_key_is_read() {
        let config = Config::parse(
            "[source]\norder = alibaba-metadata, alibaba-drop\n[source.alibaba-drop]\npartition = LABEL=boot\n\
             [source.tencent-cdrom]\nenabled = no\n[network]\nstack = networkd\nnic_wait_seconds = 3\n\
             [source.alibaba-metadata]\nenabled = auto\nurl = http://127.0.0.1:8080\ntimeout_ms = 200\ntotal_timeout_ms = 900\n",
        )
        .unwrap();
        assert_eq!(config.order, ["alibaba-metadata", "alibaba-drop"]);
        assert_eq!(
            section(&config, "alibaba-drop").partition,
            PartitionChoice::Device("/dev/disk/by-label/boot".into())
        );
        assert_eq!(section(&config, "tencent-cdrom").enabled, Enabled::No);
        assert_eq!(config.network_stack.as_deref(), Some("networkd"));
        assert_eq!(config.nic_wait, Duration::from_secs(3));
        assert_eq!(
            section(&config, "alibaba-metadata"),
            SourceConfig {
                enabled: Enabled::Auto,
                url: "http://127.0.0.1:8080".into(),
                request_timeout: Duration::from_millis(200),
                total_timeout: Duration::from_millis(900),
                partition: PartitionChoice::Auto,
                password: true,
            }
        );
    }

    /// The file the packages install says the defaults, every source in it.
    #[test]
    fn the_shipped_osconf_conf_is_the_defaults() {
        let shipped = Config::parse(include_str!("../packaging/osconf.conf")).unwrap();
        let defaults = Config::default();
        assert_eq!(shipped.order, defaults.order, "[source] order must list every registered source");
        for source in SOURCES {
            assert_eq!(shipped.source(*source), source.defaults(), "[source.{}]", source.name());
        }
        assert_eq!((shipped.network_stack, shipped.nic_wait), (defaults.network_stack, defaults.nic_wait));
    }

    #[test]
    fn the_keys_of_osconf_0_1_set_the_sections_they_meant() {
        let old = Config::parse(
            "[source]\npartition = LABEL=boot\ntencent = no\n\
             [metadata]\nenabled = true\nurl = http://127.0.0.1:8080\ntimeout_ms = 200\ntotal_timeout_ms = 900\n",
        )
        .unwrap();
        let new = Config::parse(
            "[source.alibaba-drop]\npartition = LABEL=boot\n[source.tencent-cdrom]\nenabled = no\n\
             [source.alibaba-metadata]\nenabled = yes\nurl = http://127.0.0.1:8080\ntimeout_ms = 200\ntotal_timeout_ms = 900\n",
        )
        .unwrap();
        for source in SOURCES {
            assert_eq!(old.source(*source), new.source(*source), "{}", source.name());
        }
        assert_eq!(old.order, Config::default().order);
    }

    #[test]
    fn a_bad_order_or_section_value_names_the_key() {
        let e = Config::parse("[source]\norder = alibaba-drop nowhere\n").unwrap_err();
        assert!(e.contains("[source] order") && e.contains("\"nowhere\" is none of alibaba-drop"), "{e}");
        let e = Config::parse("[source]\norder = alibaba-drop alibaba-drop\n").unwrap_err();
        assert!(e.contains("alibaba-drop twice"), "{e}");
        let e = Config::parse("[source.alibaba-drop]\nenabled = auto\n").unwrap_err();
        assert!(e.contains("[source.alibaba-drop] enabled") && e.contains("true or false"), "{e}");
        let e = Config::parse("[source.alibaba-metadata]\nenabled = maybe\n").unwrap_err();
        assert!(e.contains("yes, no or auto"), "{e}");
        // A key a source does not take, or a source osconf does not know: warnings, ignored.
        let config =
            Config::parse("[source.tencent-cdrom]\nurl = http://x\n[source.nowhere]\nenabled = yes\n").unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn defaults_and_bad_values() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert!(Config::parse("[source]\npartition = vda1\n").unwrap_err().contains("[source] partition"));
        assert!(Config::parse("[metadata]\nenabled = maybe\n").unwrap_err().contains("yes, no or auto"));
        assert!(Config::parse("[network]\nnic_wait_seconds = -1\n").unwrap_err().contains("whole number"));
        let e = Config::parse("[network]\nnic_wait_seconds = 18446744073709551615\n").unwrap_err();
        assert!(e.contains("[network] nic_wait_seconds") && e.contains("at most 3600"), "{e}");
        assert!(Config::parse("[metadata]\ntotal_timeout_ms = 600001\n")
            .unwrap_err()
            .contains("[metadata] total_timeout_ms"));
        assert_eq!(Config::parse("[network]\nnic_wait_seconds = 3600\n").unwrap().nic_wait, Duration::from_secs(3600));
    }
}
