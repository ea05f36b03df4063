//! Just enough of YAML to find which NICs an image's own netplan files
//! define, and where: the ids under `network.ethernets`, what each matches
//! (`match.macaddress`, `match.name`, or its id), and the lines of each block
//! definition, so that osconf can cut the definitions of its NICs out (see
//! `netplan.rs`). Block mappings, `- ` lists and one-line flow collections
//! (`{a: b, c: [d]}`) are understood; anything else is at worst not found.

/// One `network.ethernets.<id>` entry of one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Definition {
    pub id: String,
    /// `match.macaddress`, as written.
    pub mac: Option<String>,
    /// `match.name`, as written (may be a glob).
    pub match_name: Option<String>,
    /// Whether the definition has a `match` at all (without one, the id is the name).
    pub has_match: bool,
    /// `match.driver` or a glob name: it may match a NIC osconf configures.
    pub broad_match: bool,
    /// Lines `[first, end)` of a block definition; None inside a flow collection.
    pub lines: Option<(usize, usize)>,
}

/// A parsed flow value.
enum Flow {
    Scalar(String),
    Map(Vec<(String, Flow)>),
    List,
}

/// The ethernets definitions of one netplan file, in file order.
pub fn definitions(text: &str) -> Vec<Definition> {
    let mut defs: Vec<Definition> = Vec::new();
    // (indent, key, first line) of every open block key.
    let mut stack: Vec<(usize, String, usize)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let close = |stack: &mut Vec<(usize, String, usize)>,
                 defs: &mut Vec<Definition>,
                 keep: &dyn Fn(usize) -> bool,
                 line: usize| {
        while let Some((indent, _, _)) = stack.last() {
            if keep(*indent) {
                break;
            }
            let (_, key, first) = stack.pop().unwrap();
            if stack.len() == 2 && stack[0].1 == "network" && stack[1].1 == "ethernets" {
                if let Some(def) = defs.iter_mut().rev().find(|d| d.id == key && d.lines == Some((first, usize::MAX))) {
                    def.lines = Some((first, line));
                }
            }
        }
    };
    for (n, raw) in lines.iter().enumerate() {
        let line = strip_comment(raw);
        let body = line.trim_start();
        if body.is_empty() || body == "---" || body == "..." {
            continue;
        }
        let indent = line.len() - body.len();
        if body == "-" || body.starts_with("- ") {
            // A list item belongs to the deepest key at or left of it.
            close(&mut stack, &mut defs, &|i| i <= indent, n);
            continue;
        }
        close(&mut stack, &mut defs, &|i| i < indent, n);
        let Some((key, value)) = split_key(body) else { continue };
        let path: Vec<&str> = stack.iter().map(|(_, k, _)| k.as_str()).chain(std::iter::once(key.as_str())).collect();
        if path.len() == 3 && path[0] == "network" && path[1] == "ethernets" {
            // A block definition ends where its key is closed; a one-line one here.
            let end = if value.is_empty() { usize::MAX } else { n + 1 };
            defs.push(Definition { id: key.clone(), lines: Some((n, end)), ..Definition::default() });
        }
        if value.is_empty() {
            stack.push((indent, key, n));
            continue;
        }
        let flow = parse_flow(value);
        record(&path, &flow, &mut defs);
    }
    close(&mut stack, &mut defs, &|_| false, lines.len());
    defs
}

/// Records what a value at `path` says about ethernets definitions.
fn record(path: &[&str], value: &Flow, defs: &mut Vec<Definition>) {
    match (path, value) {
        (["network", "ethernets", id], _) if !defs.last().is_some_and(|d| d.id == *id) => {
            defs.push(Definition { id: id.to_string(), ..Definition::default() });
            record(path, value, defs);
        }
        ([.., "match"], _) if path.len() == 4 && path[..2] == ["network", "ethernets"] => {
            if let Some(def) = defs.last_mut() {
                def.has_match = true;
            }
            if let Flow::Map(entries) = value {
                for (key, inner) in entries {
                    let mut deeper = path.to_vec();
                    deeper.push(key);
                    record(&deeper, inner, defs);
                }
            }
        }
        (["network", "ethernets", _, "match", key], Flow::Scalar(text)) => {
            let Some(def) = defs.last_mut() else { return };
            def.has_match = true;
            match *key {
                "macaddress" => def.mac = Some(text.clone()),
                "name" => {
                    def.broad_match |= text.contains(['*', '?', '[']);
                    def.match_name = Some(text.clone());
                }
                "driver" => def.broad_match = true,
                _ => {}
            }
        }
        (_, Flow::Map(entries)) if path.len() < 4 => {
            for (key, inner) in entries {
                let mut deeper = path.to_vec();
                deeper.push(key);
                record(&deeper, inner, defs);
            }
        }
        _ => {}
    }
}

/// The line without a `#` comment (a `#` at the start or after a blank, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return line[..i].trim_end(),
            None => {}
        }
        previous = c;
    }
    line.trim_end()
}

/// `key: value` or `key:` → (key unquoted, value). A key ends at the first
/// `:` followed by a blank or the end of the line, outside quotes.
fn split_key(body: &str) -> Option<(String, &str)> {
    let mut quote = None;
    let bytes = body.as_bytes();
    for (i, c) in body.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == ':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') => {
                return Some((unquote(body[..i].trim()), body[i + 1..].trim()));
            }
            None => {}
        }
    }
    None
}

fn unquote(text: &str) -> String {
    let t = text.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_string();
        }
    }
    t.to_string()
}

/// A value: a one-line flow collection or a scalar.
fn parse_flow(text: &str) -> Flow {
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    match chars.first() {
        Some('{') | Some('[') => flow_value(&chars, &mut at),
        _ => Flow::Scalar(unquote(text)),
    }
}

fn flow_value(chars: &[char], at: &mut usize) -> Flow {
    skip_blanks(chars, at);
    match chars.get(*at) {
        Some('{') => {
            *at += 1;
            let mut entries = Vec::new();
            loop {
                skip_blanks(chars, at);
                match chars.get(*at) {
                    None => return Flow::Map(entries),
                    Some('}') => {
                        *at += 1;
                        return Flow::Map(entries);
                    }
                    Some(',') => *at += 1,
                    Some(_) => {
                        let key = flow_scalar(chars, at, true);
                        skip_blanks(chars, at);
                        let value = if chars.get(*at) == Some(&':') {
                            *at += 1;
                            flow_value(chars, at)
                        } else {
                            Flow::Scalar(String::new())
                        };
                        entries.push((key, value));
                    }
                }
            }
        }
        Some('[') => {
            *at += 1;
            loop {
                skip_blanks(chars, at);
                match chars.get(*at) {
                    None => return Flow::List,
                    Some(']') => {
                        *at += 1;
                        return Flow::List;
                    }
                    Some(',') => *at += 1,
                    Some(_) => {
                        flow_value(chars, at);
                    }
                }
            }
        }
        _ => Flow::Scalar(flow_scalar(chars, at, false)),
    }
}

/// A scalar inside a flow collection; a key also ends at `:` followed by a blank.
fn flow_scalar(chars: &[char], at: &mut usize, key: bool) -> String {
    skip_blanks(chars, at);
    if let Some(&q) = chars.get(*at).filter(|c| **c == '"' || **c == '\'') {
        let start = *at + 1;
        *at = start;
        while chars.get(*at).is_some_and(|c| *c != q) {
            *at += 1;
        }
        let text: String = chars[start..(*at).min(chars.len())].iter().collect();
        *at += 1;
        return text;
    }
    let start = *at;
    while let Some(&c) = chars.get(*at) {
        let ends_key = key
            && c == ':'
            && chars.get(*at + 1).map_or(true, |n| n.is_whitespace() || matches!(n, '{' | '[' | '"' | '\''));
        if matches!(c, ',' | '}' | ']') || ends_key {
            break;
        }
        *at += 1;
    }
    chars[start..*at].iter().collect::<String>().trim().to_string()
}

fn skip_blanks(chars: &[char], at: &mut usize) {
    while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
        *at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_init_file() {
        let text = "# This file is generated from information provided by the datasource.\nnetwork:\n    ethernets:\n        ens3:\n            dhcp4: true\n            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n    version: 2\n";
        let defs = definitions(text);
        assert_eq!(
            defs,
            [Definition {
                id: "ens3".into(),
                mac: Some("52:54:00:12:34:56".into()),
                has_match: true,
                lines: Some((3, 8)),
                ..Definition::default()
            }]
        );
    }

    #[test]
    fn installer_file_lists_and_several_definitions() {
        let text = "network:\n  ethernets:\n    enp0s3:\n      addresses:\n      - 192.168.1.5/24\n      routes:\n        - to: default\n          via: 192.168.1.1\n      nameservers: {addresses: [1.1.1.1]}\n    \"eth1\": {dhcp4: true, match: {name: \"en*\"}}\n    eth2:\n      match: {driver: virtio_net}\n  version: 2\n";
        let defs = definitions(text);
        assert_eq!(defs.len(), 3, "{defs:?}");
        assert_eq!((defs[0].id.as_str(), defs[0].has_match, defs[0].lines), ("enp0s3", false, Some((2, 9))));
        assert_eq!(
            (defs[1].id.as_str(), defs[1].match_name.as_deref(), defs[1].broad_match, defs[1].lines),
            ("eth1", Some("en*"), true, Some((9, 10)))
        );
        assert_eq!((defs[2].id.as_str(), defs[2].broad_match, defs[2].lines), ("eth2", true, Some((10, 12))));
    }

    #[test]
    fn flow_style_definitions_have_no_lines() {
        let defs = definitions(
            "network: {version: 2, ethernets: {ens3: {match: {macaddress: \"52:54:00:AA:BB:CC\"}, dhcp4: true}}}\n",
        );
        assert_eq!(
            defs,
            [Definition {
                id: "ens3".into(),
                mac: Some("52:54:00:AA:BB:CC".into()),
                has_match: true,
                ..Definition::default()
            }]
        );
    }

    #[test]
    fn comments_and_other_sections_are_not_definitions() {
        let text = "network:\n  version: 2\n  bridges:\n    br0:\n      interfaces: [ens3]\n  ethernets:   # ours\n    ens3: {} # x\n";
        let defs = definitions(text);
        assert_eq!(defs.iter().map(|d| (d.id.as_str(), d.lines)).collect::<Vec<_>>(), [("ens3", Some((6, 7)))]);
    }
}
