//! Alibaba Cloud's metadata endpoint: host name, NICs by MAC and name
//! servers, turned into os.conf text so the one validator checks them. It
//! never serves the password. Used only when enabled in osconf.conf.

mod http;

use crate::config::MetadataConfig;
use crate::error::Error;
use crate::settings::PasswordForm;

use self::http::{Client, HttpError};
use super::Found;

const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const BASE: &str = "/latest/meta-data/";

/// `Ok(None)` when the endpoint is not there (nothing listens, or it does
/// not answer in time); an error when it answers wrongly.
pub fn find(config: &MetadataConfig) -> Result<Option<Found>, Error> {
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout).map_err(|e| Error::Failed(format!("[metadata] url: {e}")))?;
    let reader = match Reader::connect(client) {
        Ok(reader) => reader,
        Err(HttpError::Unreachable(e)) => {
            log::info!("metadata endpoint {} not reachable ({e}): no settings from it", config.url);
            return Ok(None);
        }
        Err(e) => return Err(Error::Failed(format!("metadata endpoint {}: {e}", config.url))),
    };
    let content = reader.os_conf().map_err(|e| Error::Failed(format!("metadata endpoint {}: {e}", config.url)))?;
    Ok(Some(Found { description: format!("metadata endpoint {}", config.url), content: content.into_bytes(), form: PasswordForm::Base64Plain, delete_after: None, drop_dir: None, mount: None }))
}

struct Reader {
    client: Client,
    token: Option<String>,
}

impl Reader {
    /// The hardened flow first (a session token); plain reads when the
    /// endpoint does not offer tokens.
    fn connect(client: Client) -> Result<Reader, HttpError> {
        let response = client.request("PUT", TOKEN_PATH, &[(TOKEN_TTL_HEADER, "21600")])?;
        let token = (response.status == 200 && is_token(response.body.trim())).then(|| response.body.trim().to_owned());
        log::debug!("metadata token flow: {}", if token.is_some() { "token" } else { "plain reads" });
        Ok(Reader { client, token })
    }

    /// `Ok(None)` for 404: the item does not exist for this instance.
    fn get(&self, item: &str) -> Result<Option<String>, String> {
        let headers: Vec<(&str, &str)> = self.token.iter().map(|t| (TOKEN_HEADER, t.as_str())).collect();
        let response = self.client.request("GET", &format!("{BASE}{item}"), &headers).map_err(|e| e.to_string())?;
        match response.status {
            200 => {
                let value = response.body.trim().to_owned();
                if value.lines().any(|l| !safe(l.trim())) {
                    return Err(format!("{item}: the value has characters no metadata item holds"));
                }
                Ok(Some(value))
            }
            404 => Ok(None),
            status => Err(format!("{item}: HTTP status {status}")),
        }
    }

    fn require(&self, item: &str) -> Result<String, String> {
        self.get(item)?.ok_or_else(|| format!("{item}: not found (404)"))
    }

    /// The settings in os.conf form: the primary MAC is eth0 (with the
    /// default route and the VPC's CIDR through its gateway), other NICs follow.
    fn os_conf(&self) -> Result<String, String> {
        let mut lines = Vec::new();
        if let Some(name) = self.get("hostname")? {
            lines.push(format!("hostname={name}"));
        }
        let primary = self.get("mac")?.map(|m| m.to_ascii_lowercase());
        let mut macs: Vec<String> = self.get("network/interfaces/macs/")?.unwrap_or_default().lines().map(|l| l.trim().trim_end_matches('/').to_ascii_lowercase()).filter(|l| !l.is_empty()).collect();
        if let Some(primary) = &primary {
            macs.retain(|m| m != primary);
            macs.insert(0, primary.clone());
        }
        for (n, mac) in macs.iter().enumerate() {
            let item = |key: &str| format!("network/interfaces/macs/{mac}/{key}");
            let address = self.require(&item("primary-ip-address"))?;
            let netmask = self.require(&item("netmask"))?;
            lines.push(format!("eth{n}_mac_addr={mac}"));
            lines.push(format!("eth{n}_ip_addr={address}"));
            lines.push(format!("eth{n}_netmask={netmask}"));
            if let Some(gateway) = self.get(&item("gateway"))? {
                lines.push(format!("eth{n}_gateway={gateway}"));
                if n == 0 {
                    let mut routes = vec![format!("0.0.0.0/0 {gateway}")];
                    if let Some(cidr) = self.get(&item("vpc-cidr-block"))? {
                        routes.push(format!("{cidr} {gateway}"));
                    }
                    lines.push(format!("eth0_route=\"{}\"", routes.join(";")));
                }
            }
        }
        if let Some(servers) = self.get("dns-conf/nameservers")? {
            let servers: Vec<&str> = servers.split_whitespace().collect();
            if !servers.is_empty() {
                lines.push(format!("dns_nameserver=\"{}\"", servers.join(" ")));
            }
        }
        Ok(lines.join("\n") + "\n")
    }
}

/// A token goes into a header: printable ASCII, no spaces or line breaks.
fn is_token(value: &str) -> bool {
    !value.is_empty() && value.len() <= 1024 && value.chars().all(|c| c.is_ascii_graphic())
}

/// Values that can go into an os.conf line without changing its meaning:
/// no quotes, `=`, `#`, `$`, newlines; the validator checks the rest.
fn safe(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_alphanumeric() || ".:/-_ ".contains(c)) && value.len() <= 256
}
