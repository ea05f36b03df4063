//! Where a service serves no `/openstack/latest/meta_data.json`: the
//! EC2-style tree Nova serves beside it, which China Telecom's multi-AZ
//! pools serve alone, at `/meta-data/<item>` without `/latest`
//! (PLATFORM.md §5). Read as the other metadata sources read theirs
//! (`metadata_items`): `instance-id` (required: a UUID, or Nova's EC2 form
//! `i-` and 8 hex digits), `hostname` (its first label, and the full name
//! for /etc/hosts, as `meta_data.json`'s) and root's keys from
//! `public-keys/`. No network and no password come from it: such
//! instances take their NICs by DHCP, as the image configures them.

use crate::config::SourceConfig;
use crate::error::Error;
use crate::settings::build::SettingsBuilder;
use crate::sources::http::{Client, HttpError};
use crate::sources::metadata_items::{self, finish, get_item_under, Fetch, Items, Mapped, Reading};
use crate::sources::openstack_format::{host_names, instance_id};
use crate::sources::Found;

/// The trees tried, in order: China Telecom's, then Nova's.
pub const BASES: [&str; 2] = ["/meta-data/", "/latest/meta-data/"];

struct Tree {
    client: Client,
    base: &'static str,
}

impl Items for Tree {
    fn get(&self, item: &str) -> Result<Fetch, HttpError> {
        get_item_under(&self.client, self.base, item, &[])
    }
}

/// The settings of the first tree that serves an instance id; `Ok(None)`
/// when none does (nothing OpenStack's there), or nothing answers.
pub fn find(source: &'static str, config: &SourceConfig) -> Result<Option<Found>, Error> {
    metadata_items::find_with(source, "OpenStack", config, first_tree, read)
}

/// The first tree that serves an instance id, if any.
fn first_tree(client: Client) -> Result<Option<Tree>, HttpError> {
    for base in BASES {
        if let Fetch::Value(_) = get_item_under(&client, base, "instance-id", &[])? {
            return Ok(Some(Tree { client, base }));
        }
    }
    Ok(None)
}

fn read(tree: &Option<Tree>) -> Result<Mapped, HttpError> {
    let [first, second] = BASES;
    let Some(tree) = tree else {
        return Err(HttpError::Foreign(format!("neither {first}instance-id nor {second}instance-id is served")));
    };
    let mut reading = Reading::new(tree);
    let id = reading.identity("instance-id", ec2_instance_id, false)?;
    let mut builder = SettingsBuilder::new();
    let mut fqdn = None;
    if let Some(name) = reading.optional("hostname")? {
        let mut warnings = Vec::new();
        let (hostname, full) = host_names(&name, |why| warnings.push(format!("{}hostname: {why}", tree.base)));
        warnings.into_iter().for_each(|w| reading.warn(w));
        hostname.into_iter().for_each(|h| builder.hostname(h));
        fqdn = full;
    }
    let keys = reading.ssh_keys()?;
    let mut mapped = finish(reading, builder, keys, id)?;
    mapped.settings.fqdn = fqdn;
    Ok(mapped)
}

/// A UUID (as `meta_data.json`'s), or Nova's EC2 form `i-` and 8 hex
/// digits: an HTML page or an error text is neither.
fn ec2_instance_id(text: &str) -> Result<String, String> {
    let uuid = text.len() == 36
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() });
    let ec2 = text
        .strip_prefix("i-")
        .is_some_and(|hex| hex.len() >= 8 && hex.len() <= 17 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if uuid || ec2 {
        instance_id(text)
    } else {
        Err(format!(
            "{:?} is neither a UUID nor an EC2 instance id (i-xxxxxxxx)",
            crate::settings::values::shorten(text)
        ))
    }
}
