//! Validation of single values. Each function returns the typed value or a
//! message; the caller adds the key and line.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{Nic, Password, PasswordForm};

/// The kernel's HOST_NAME_MAX: sethostname(2) refuses longer names.
const HOST_NAME_MAX: usize = 64;

/// A host name a source gives this host, as the kernel, /etc/hostname and
/// /etc/hosts will all carry it: [`hostname_syntax`], and neither numeric
/// nor the loopback host's (every source's host name passes here).
pub fn hostname(value: &str) -> Result<String, String> {
    let name = hostname_syntax(value)?;
    let bad = |why: &str| Err(format!("{:?} is not a valid host name: {why}", shorten(value)));
    let (first, last) = (name.split('.').next().unwrap_or_default(), name.rsplit('.').next().unwrap_or_default());
    // RFC 6761 6.3: `localhost` and every name under it are the loopback host.
    if LOOPBACK_NAMES.iter().any(|n| first.eq_ignore_ascii_case(n)) || last.eq_ignore_ascii_case("localhost") {
        return bad("it names the loopback host, not this one (localhost is 127.0.0.1 in /etc/hosts)");
    }
    if is_number(last) {
        return bad("its last label reads as a number: an address, not a name (RFC 1123 2.1)");
    }
    Ok(name)
}

/// RFC 1123 labels, at most the kernel's 64 characters. `_` (Tencent's own
/// `VM_10_20_xxxx`) is accepted and becomes `-`: systemd drops `_` from
/// /etc/hostname at boot, which would leave the kernel and /etc/hosts with
/// different names. Used alone only for the image's own name (it may be
/// `localhost.localdomain`), which osconf puts back as it was.
pub fn hostname_syntax(value: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{:?} is not a valid host name: {why}", shorten(value)));
    if value.is_empty() {
        return bad("it is empty");
    }
    if value.len() > HOST_NAME_MAX {
        return bad(&format!("longer than {HOST_NAME_MAX} characters"));
    }
    let name = value.replace('_', "-");
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each dot-separated label must be 1 to 63 characters");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return bad("only letters, digits, '-', '_' and '.' are allowed (RFC 1123; '_' becomes '-')");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label may not start or end with '-' or '_'");
        }
    }
    Ok(name)
}

/// Names /etc/hosts gives the loopback address (Debian's and RHEL's
/// defaults): as the short name, `hostname -s` and osconf's /etc/hosts
/// alias would make them this host's.
const LOOPBACK_NAMES: [&str; 5] = ["localhost", "localhost4", "localhost6", "ip6-localhost", "ip6-loopback"];

/// RFC 1123 2.1: the highest-level label of a valid name is never numeric,
/// so `10.0.0.1` cannot be taken for a name (nor get an `/etc/hosts` alias
/// `10`). Refused as numeric, whatever reads it: decimal digits (`123`, also
/// octal with a leading 0 to inet_aton), `0x` hex (`0x1f`, which inet_aton
/// and URL parsers read as an IPv4 number), `0o` octal and `0b` binary, and
/// a decimal with an exponent (`1e10`, `2E-3`: YAML, JSON and strtod read a
/// float). Words a float parser also takes (`inf`, `nan`) are names.
fn is_number(label: &str) -> bool {
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let lower = label.to_ascii_lowercase();
    let prefixed = |prefix: &str, radix: u32| lower.strip_prefix(prefix).is_some_and(|rest| digits(rest, radix));
    let exponent = lower
        .split_once('e')
        .is_some_and(|(mantissa, power)| digits(mantissa, 10) && digits(power.strip_prefix('-').unwrap_or(power), 10));
    digits(&lower, 10) || prefixed("0x", 16) || prefixed("0o", 8) || prefixed("0b", 2) || exponent
}

/// Never puts the value in the message: it is a secret. The decoded text
/// is never copied: decoded into one buffer, which is wiped when dropped,
/// also when it is refused.
pub fn password(value: &str, form: PasswordForm) -> Result<Password, String> {
    match form {
        PasswordForm::Base64Plain => {
            // Room for the decoder's estimate ((len + 3) / 4 * 3) from the start: never grown.
            let mut bytes = Zeroizing::new(Vec::with_capacity(value.len() + 3));
            base64::engine::general_purpose::STANDARD
                .decode_vec(value.trim(), &mut bytes)
                .map_err(|_| "is not valid Base64 (value not shown)".to_string())?;
            // The buffer moves into the String: no copy.
            let mut text = match String::from_utf8(std::mem::take(&mut *bytes)) {
                Ok(text) => Zeroizing::new(text),
                Err(e) => {
                    e.into_bytes().zeroize();
                    return Err("decodes to bytes that are not UTF-8 text (value not shown)".into());
                }
            };
            if text.ends_with('\n') {
                text.pop();
            }
            if text.is_empty() {
                return Err("decodes to an empty password".into());
            }
            if text.chars().any(|c| c.is_control()) {
                return Err("decodes to text with a newline or control character (value not shown)".into());
            }
            Ok(Password::Plain(text))
        }
        PasswordForm::CryptHash => {
            if is_crypt_hash(value) {
                Ok(Password::Hash(value.to_owned()))
            } else {
                Err("is not a crypt hash of the form $id$salt$hash (value not shown)".into())
            }
        }
    }
}

/// `$id$[param$]salt$hash` with the crypt alphabet, as /etc/shadow holds it.
fn is_crypt_hash(value: &str) -> bool {
    let known_ids = ["1", "5", "6", "y", "gy", "7", "2a", "2b", "2y"];
    let Some(rest) = value.strip_prefix('$') else { return false };
    let mut fields = rest.split('$');
    let id_ok = fields.next().is_some_and(|id| known_ids.contains(&id));
    let fields: Vec<&str> = fields.collect();
    let alphabet = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "./=,".contains(c));
    id_ok && fields.len() >= 2 && fields.iter().all(|f| alphabet(f)) && value.len() <= 512
}

pub fn nameservers(value: &str) -> Result<Vec<Ipv4Addr>, String> {
    value.split_whitespace().map(host_address).collect()
}

/// One entry of a name server list that may hold either family (the
/// metadata's `dns-conf/nameservers`): an IPv4 host address, or an IPv6
/// address a resolver can use as it is — not unspecified, loopback or
/// multicast, nor link-local (resolv.conf would need its zone, `%eth0`).
pub fn nameserver(value: &str) -> Result<IpAddr, String> {
    match IpAddr::from_str(value) {
        Err(_) => Err(format!("{:?} is not an IP address", shorten(value))),
        Ok(IpAddr::V4(_)) => host_address(value).map(IpAddr::V4),
        Ok(IpAddr::V6(address)) => {
            let link_local = address.segments()[0] & 0xffc0 == 0xfe80;
            if address.is_unspecified() || address.is_loopback() || address.is_multicast() || link_local {
                return Err(format!("{address} cannot be a name server"));
            }
            Ok(IpAddr::V6(address))
        }
    }
}

/// Splits `eth12_ip_addr` into (12, "ip_addr").
pub fn nic_key(key: &str) -> Option<(u32, &str)> {
    let rest = key.strip_prefix("eth")?;
    let (digits, field) = rest.split_once('_')?;
    let valid =
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    if !valid || field.is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, field))
}

pub fn ipv4(value: &str) -> Result<Ipv4Addr, String> {
    Ipv4Addr::from_str(value).map_err(|_| format!("{:?} is not an IPv4 address", shorten(value)))
}

/// An address a host or gateway can have: not 0.0.0.0, broadcast, multicast or loopback.
pub fn host_address(value: &str) -> Result<Ipv4Addr, String> {
    let address = ipv4(value)?;
    if address.is_unspecified() || address.is_broadcast() || address.is_multicast() || address.is_loopback() {
        return Err(format!("{address} cannot be a host's address"));
    }
    Ok(address)
}

/// A dotted netmask, returned as its prefix length; 1s must be contiguous.
pub fn netmask(value: &str) -> Result<u8, String> {
    let bits = u32::from(ipv4(value)?);
    let prefix = bits.leading_ones();
    if bits.checked_shl(prefix).unwrap_or(0) != 0 {
        return Err(format!("{value} is not a contiguous netmask"));
    }
    if prefix == 0 {
        return Err(format!("{value} is not a usable netmask"));
    }
    Ok(prefix as u8)
}

pub fn netmask_of(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0))
}

pub fn network_of(address: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(address) & u32::from(netmask_of(prefix)))
}

/// A link's MTU: from IPv4's minimum (68, RFC 791) to the largest the
/// kernel's virtual NICs take (65535).
pub fn mtu(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(mtu) if (68..=65535).contains(&mtu) => Ok(mtu),
        _ => Err(format!("{:?} is not an MTU (68 to 65535)", shorten(text))),
    }
}

/// Gateways must be reachable on the NIC's own subnet, or the kernel refuses the route.
pub fn check_on_link(nic: &Nic, gateway: Ipv4Addr) -> Result<(), String> {
    let Some((address, prefix)) = nic.ipv4() else {
        return Err(format!("eth{} has no static IPv4 address to reach {gateway} by", nic.index));
    };
    let network = network_of(address, prefix);
    if network_of(gateway, prefix) != network {
        return Err(format!("{gateway} is not on eth{}'s subnet {network}/{prefix}", nic.index));
    }
    if gateway == address {
        return Err(format!("{gateway} is eth{}'s own address", nic.index));
    }
    Ok(())
}

/// `DEST/PREFIX GW` entries separated by `;` (empty entries are skipped).
pub fn routes(value: &str, nic: &Nic) -> Result<Vec<Route>, String> {
    let mut routes: Vec<Route> = Vec::new();
    for (n, item) in value.split(';').map(str::trim).filter(|s| !s.is_empty()).enumerate() {
        let which = format!("route {} ({:?})", n + 1, shorten(item));
        let parts: Vec<&str> = item.split_whitespace().collect();
        let [dest, via] = parts[..] else {
            return Err(format!("{which} is not of the form DEST/PREFIX GATEWAY"));
        };
        let (dest, prefix) = cidr(dest).map_err(|e| format!("{which}: {e}"))?;
        let via = host_address(via).map_err(|e| format!("{which}: {e}"))?;
        let route = Route { dest, prefix, via };
        check_route(nic, route, &routes).map_err(|e| format!("{which}: {e}"))?;
        routes.push(route);
    }
    Ok(routes)
}

/// `DEST/PREFIX` with no host bits set (`10.0.0.0/8`, not `10.1.2.3/8`).
pub fn cidr(value: &str) -> Result<(Ipv4Addr, u8), String> {
    let (dest, prefix) = value.split_once('/').ok_or_else(|| "destination has no /PREFIX".to_string())?;
    let dest = ipv4(dest)?;
    let prefix: u8 = match prefix.parse() {
        Ok(p) if p <= 32 && !prefix.starts_with('+') => p,
        _ => return Err(format!("prefix {:?} is not 0 to 32", shorten(prefix))),
    };
    if network_of(dest, prefix) != dest {
        return Err(format!("{dest}/{prefix} has host bits set (did you mean {}/{prefix}?)", network_of(dest, prefix)));
    }
    Ok((dest, prefix))
}

/// A route fits a NIC: its gateway is on the NIC's subnet, and its
/// destination is not among the NIC's other routes already.
pub fn check_route(nic: &Nic, route: Route, others: &[Route]) -> Result<(), String> {
    check_on_link(nic, route.via)?;
    if others.iter().any(|r| r.dest == route.dest && r.prefix == route.prefix) {
        return Err(format!("{}/{} is given twice", route.dest, route.prefix));
    }
    Ok(())
}

pub fn mac(value: &str) -> Result<Mac, String> {
    let bad = || format!("{:?} is not a MAC address (xx:xx:xx:xx:xx:xx)", shorten(value));
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let mut bytes = [0u8; 6];
    for (byte, part) in bytes.iter_mut().zip(&parts) {
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if bytes == [0; 6] || bytes[0] & 1 == 1 {
        return Err(format!("{value} is not a unicast MAC address"));
    }
    Ok(Mac(bytes))
}

/// A MAC address; shown and stored as lower-case `xx:xx:xx:xx:xx:xx`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        mac(s)
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let text = String::deserialize(d)?;
        mac(&text).map_err(serde::de::Error::custom)
    }
}

/// A static route `dest/prefix via gateway`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route {
    pub dest: Ipv4Addr,
    pub prefix: u8,
    pub via: Ipv4Addr,
}

impl Route {
    pub fn default_via(via: Ipv4Addr) -> Route {
        Route { dest: Ipv4Addr::UNSPECIFIED, prefix: 0, via }
    }

    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} via {}", self.dest, self.prefix, self.via)
    }
}

/// Keeps error messages short when a hostile drop carries a huge value.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_long_text() {
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), 65);
        assert_eq!(shorten("abc"), "abc");
    }
}
