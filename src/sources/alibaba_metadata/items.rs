//! The metadata item tree, read one of two ways: the `meta-data/all` JSON
//! document (one request) where the endpoint serves it, or one request per
//! item. Both answer the same question, "what does item `a/b/c` hold", so the
//! mapping to settings does not care which was used.

use serde_json::Value;

use crate::sources::http::{Client, HttpError};
use crate::sources::metadata_items::{get_item, Fetch, Items};

const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const ALL: &str = "all";

/// The endpoint, read item by item (with a session token where offered).
pub struct Endpoint {
    client: Client,
    token: Option<String>,
}

impl Endpoint {
    /// The hardened flow first (a session token); plain reads when the
    /// endpoint does not offer tokens.
    pub fn connect(client: Client) -> Result<Endpoint, HttpError> {
        let token = session_token(&client)?;
        Ok(Endpoint { client, token })
    }

    /// `meta-data/all` where it is served as a JSON object; `None` where it
    /// is not (the item walk is the fallback).
    pub fn document(&self) -> Result<Option<Document>, HttpError> {
        match self.get(ALL)? {
            Fetch::Value(text) => match serde_json::from_str::<Value>(&text) {
                Ok(value @ Value::Object(_)) => Ok(Some(Document(value))),
                _ => {
                    log::info!("metadata: {ALL} is not a JSON object: reading item by item");
                    Ok(None)
                }
            },
            Fetch::Missing | Fetch::Refused(_) => {
                log::debug!("metadata: no {ALL} document: reading item by item");
                Ok(None)
            }
        }
    }
}

impl Items for Endpoint {
    fn get(&self, item: &str) -> Result<Fetch, HttpError> {
        let headers: Vec<(&str, &str)> = self.token.iter().map(|t| (TOKEN_HEADER, t.as_str())).collect();
        get_item(&self.client, item, &headers)
    }
}

/// A session token where the endpoint offers one.
fn session_token(client: &Client) -> Result<Option<String>, HttpError> {
    let response = client.request("PUT", TOKEN_PATH, &[(TOKEN_TTL_HEADER, "21600")])?;
    let token = (response.status == 200 && is_token(response.body.trim())).then(|| response.body.trim().to_owned());
    log::debug!("metadata token flow: {}", if token.is_some() { "token" } else { "plain reads" });
    Ok(token)
}

/// The headers a read outside the item tree carries (`/latest/user-data`):
/// the session token where offered.
pub fn token_headers(client: &Client) -> Result<Vec<(String, String)>, HttpError> {
    Ok(session_token(client)?.map(|token| (TOKEN_HEADER.to_owned(), token)).into_iter().collect())
}

/// A token goes into a header: printable ASCII, no spaces or line breaks.
fn is_token(value: &str) -> bool {
    !value.is_empty() && value.len() <= 1024 && value.chars().all(|c| c.is_ascii_graphic())
}

/// The whole tree as one JSON document: directories are objects (their
/// keys with or without the trailing `/`), items strings, numbers or lists.
#[derive(Debug, Clone)]
pub struct Document(pub Value);

impl Items for Document {
    fn get(&self, item: &str) -> Result<Fetch, HttpError> {
        let mut node = &self.0;
        for part in item.trim_end_matches('/').split('/').filter(|p| !p.is_empty()) {
            let Some(object) = node.as_object() else { return Ok(Fetch::Missing) };
            match object.get(part).or_else(|| object.get(&format!("{part}/"))) {
                Some(child) => node = child,
                None => return Ok(Fetch::Missing),
            }
        }
        Ok(match node {
            Value::Null => Fetch::Missing,
            Value::String(s) => Fetch::Value(s.clone()),
            Value::Number(n) => Fetch::Value(n.to_string()),
            Value::Bool(b) => Fetch::Value(b.to_string()),
            Value::Array(list) => Fetch::Value(list.iter().map(scalar).collect::<Vec<_>>().join("\n")),
            // A directory reads as its listing, sub-directories with `/`.
            Value::Object(object) => Fetch::Value(
                object
                    .iter()
                    .map(|(k, v)| if v.is_object() && !k.ends_with('/') { format!("{k}/") } else { k.clone() })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        })
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_answers_like_the_item_walk() {
        let doc = Document(serde_json::json!({
            "hostname": "h1",
            "network": {"interfaces": {"macs": {"00:16:3E:00:00:01": {"netmask": "255.255.255.0", "private-ipv4s": ["10.0.0.5", "10.0.0.6"]}}}},
            "dns-conf/": {"nameservers": "1.1.1.1\n8.8.8.8"},
            "n": 5,
        }));
        assert_eq!(doc.get("hostname").unwrap(), Fetch::Value("h1".into()));
        assert_eq!(doc.get("network/interfaces/macs/").unwrap(), Fetch::Value("00:16:3E:00:00:01/".into()));
        assert_eq!(
            doc.get("network/interfaces/macs/00:16:3E:00:00:01/private-ipv4s").unwrap(),
            Fetch::Value("10.0.0.5\n10.0.0.6".into())
        );
        assert_eq!(doc.get("dns-conf/nameservers").unwrap(), Fetch::Value("1.1.1.1\n8.8.8.8".into()));
        assert_eq!(doc.get("n").unwrap(), Fetch::Value("5".into()));
        assert_eq!(doc.get("hostname/x").unwrap(), Fetch::Missing);
        assert_eq!(
            doc.get("network/interfaces/macs/00:16:3e:00:00:01/netmask").unwrap(),
            Fetch::Missing,
            "keys are exact"
        );
    }
}
