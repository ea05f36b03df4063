//! osconf's own configuration, `/etc/osconf/osconf.conf` (ini). A missing file
//! means defaults; every key is documented in the README.

use std::io;
use std::time::Duration;

use crate::files::Root;

pub const CONFIG_PATH: &str = "/etc/osconf/osconf.conf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[network] stack`: `auto` (None) or a stack name to force.
    pub network_stack: Option<String>,
    /// `[network] nic_wait_seconds`: how long to wait for a NIC to appear.
    pub nic_wait: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config { network_stack: None, nic_wait: Duration::from_secs(10) }
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
            for (key, value) in props.iter() {
                let value = value.trim();
                match (section.unwrap_or(""), key) {
                    ("network", "stack") => config.network_stack = (value != "auto").then(|| value.to_owned()),
                    ("network", "nic_wait_seconds") => {
                        let secs: u64 = value.parse().map_err(|_| format!("[network] nic_wait_seconds: {value:?} is not a whole number"))?;
                        config.nic_wait = Duration::from_secs(secs);
                    }
                    (section, key) => log::warn!("{CONFIG_PATH}: unknown key [{section}] {key} ignored"),
                }
            }
        }
        Ok(config)
    }
}
