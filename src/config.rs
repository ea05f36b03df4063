//! osconf's own configuration, `/etc/osconf/osconf.conf` (ini). A missing file
//! means defaults; every key is documented in docs/sources.md ("osconf.conf") and in
//! packaging/osconf.conf.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::files::Root;

pub const CONFIG_PATH: &str = "/etc/osconf/osconf.conf";
/// Largest `nic_wait_seconds`: a boot waiting longer for a NIC is broken anyway.
pub const MAX_NIC_WAIT_SECONDS: u64 = 3600;
/// Largest metadata `timeout_ms` and `total_timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 600_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[source] partition`: which partition holds aliyun_custom_image/.
    pub partition: PartitionChoice,
    /// `[source] tencent`: look for Tencent's config-2 CD-ROM.
    pub tencent: bool,
    /// `[network] stack`: `auto` (None) or a stack name to force.
    pub network_stack: Option<String>,
    /// `[network] nic_wait_seconds`: how long to wait for a NIC to appear.
    pub nic_wait: Duration,
    pub metadata: MetadataConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionChoice {
    /// The first partition of the disk holding `/`, found through sysfs.
    Auto,
    /// A device path (`UUID=`/`LABEL=` become /dev/disk/by-uuid, by-label).
    Device(PathBuf),
}

/// `[metadata]`: the Alibaba metadata endpoint, used when no drop is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataConfig {
    pub enabled: bool,
    pub url: String,
    pub request_timeout: Duration,
    pub total_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            partition: PartitionChoice::Auto,
            tencent: true,
            network_stack: None,
            nic_wait: Duration::from_secs(10),
            metadata: MetadataConfig {
                enabled: false,
                url: "http://100.100.100.200".into(),
                request_timeout: Duration::from_millis(1000),
                total_timeout: Duration::from_millis(10_000),
            },
        }
    }
}

impl Config {
    pub fn load(root: &Root) -> io::Result<Config> {
        let Some(text) = root.read_optional(CONFIG_PATH)? else { return Ok(Config::default()) };
        Config::parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{CONFIG_PATH}: {e}")))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let ini = ini::Ini::load_from_str(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        for (section, props) in ini.iter() {
            let section = section.unwrap_or("");
            for (key, value) in props.iter() {
                let value = value.trim();
                let bad = |what: &str| format!("[{section}] {key}: {value:?} is not {what}");
                let boolean = || match value {
                    "true" | "yes" | "1" => Ok(true),
                    "false" | "no" | "0" => Ok(false),
                    _ => Err(bad("true or false")),
                };
                // Capped: the values become deadlines (Instant + Duration), which must not overflow.
                let number = |max: u64, unit: &str| match value.parse::<u64>() {
                    Ok(n) if n <= max => Ok(n),
                    Ok(_) => Err(bad(&format!("at most {max} ({unit})"))),
                    Err(_) => Err(bad("a whole number")),
                };
                match (section, key) {
                    ("source", "partition") => {
                        config.partition =
                            partition_choice(value).ok_or_else(|| bad("auto, UUID=…, LABEL=… or /dev/…"))?
                    }
                    ("source", "tencent") => config.tencent = boolean()?,
                    ("network", "stack") => config.network_stack = (value != "auto").then(|| value.to_owned()),
                    ("network", "nic_wait_seconds") => {
                        config.nic_wait = Duration::from_secs(number(MAX_NIC_WAIT_SECONDS, "one hour")?)
                    }
                    ("metadata", "enabled") => config.metadata.enabled = boolean()?,
                    ("metadata", "url") => config.metadata.url = value.to_owned(),
                    ("metadata", "timeout_ms") => {
                        config.metadata.request_timeout = Duration::from_millis(number(MAX_TIMEOUT_MS, "ten minutes")?)
                    }
                    ("metadata", "total_timeout_ms") => {
                        config.metadata.total_timeout = Duration::from_millis(number(MAX_TIMEOUT_MS, "ten minutes")?)
                    }
                    _ => log::warn!("{CONFIG_PATH}: unknown key [{section}] {key} ignored"),
                }
            }
        }
        Ok(config)
    }
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

    #[test]
    fn every_key_is_read() {
        let config = Config::parse(
            "[source]\npartition = LABEL=boot\ntencent = no\n[network]\nstack = networkd\nnic_wait_seconds = 3\n\
             [metadata]\nenabled = true\nurl = http://127.0.0.1:8080\ntimeout_ms = 200\ntotal_timeout_ms = 900\n",
        )
        .unwrap();
        assert_eq!(config.partition, PartitionChoice::Device("/dev/disk/by-label/boot".into()));
        assert!(!config.tencent);
        assert_eq!(config.network_stack.as_deref(), Some("networkd"));
        assert_eq!(config.nic_wait, Duration::from_secs(3));
        assert_eq!(
            config.metadata,
            MetadataConfig {
                enabled: true,
                url: "http://127.0.0.1:8080".into(),
                request_timeout: Duration::from_millis(200),
                total_timeout: Duration::from_millis(900)
            }
        );
    }

    #[test]
    fn defaults_and_bad_values() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert!(Config::parse("[source]\npartition = vda1\n").unwrap_err().contains("[source] partition"));
        assert!(Config::parse("[metadata]\nenabled = maybe\n").unwrap_err().contains("true or false"));
        assert!(Config::parse("[network]\nnic_wait_seconds = -1\n").unwrap_err().contains("whole number"));
        let e = Config::parse("[network]\nnic_wait_seconds = 18446744073709551615\n").unwrap_err();
        assert!(e.contains("[network] nic_wait_seconds") && e.contains("at most 3600"), "{e}");
        assert!(Config::parse("[metadata]\ntotal_timeout_ms = 600001\n")
            .unwrap_err()
            .contains("[metadata] total_timeout_ms"));
        assert_eq!(Config::parse("[network]\nnic_wait_seconds = 3600\n").unwrap().nic_wait, Duration::from_secs(3600));
    }
}
