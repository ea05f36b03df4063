//! The layer rule (src/lib.rs), enforced on the source tree: data flows
//! sources → settings → plan → apply → record, and a layer never imports a
//! layer to its right. `plan/` computes everything before the first write,
//! so it never reaches into `apply/`; `settings/` is the source-agnostic
//! model, so it knows no source, plan or effect.
//!
//! A module is reached as `crate::layer`, inside a `crate::{…}` group, or
//! through enough `super::` to climb to the crate root; all three count.

use std::fs;
use std::path::{Path, PathBuf};

/// Folder under src/ → the layers its files must not name.
const RULES: [(&str, &[&str]); 2] = [("plan", &["apply"]), ("settings", &["sources", "plan", "apply"])];

/// Known breaks of the rule still to be removed, as (file under src/, layer
/// it names). Each must still occur, so this list cannot outlive the fix:
/// remove an entry once its file no longer names the layer. Empty since
/// layout step 8 (the os.conf tests, with their check of `sources::Found`,
/// moved to `sources/osconf_format/tests.rs`).
const TODO_EXCEPTIONS: [(&str, &str); 0] = [];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// How many `super::` climb from this file's module to the crate root:
/// `plan/mod.rs` 1, `plan/dns.rs` 2, `plan/network/ifupdown/busybox.rs` 4.
fn depth(relative: &Path) -> usize {
    let parts = relative.components().count();
    if relative.file_name().is_some_and(|n| n == "mod.rs") {
        parts - 1
    } else {
        parts
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether the path that starts at `rest` (just after `crate::` or the
/// climbing `super::`s) names `layer`: `layer` itself, or a `{…}` group with
/// an item starting with `layer`.
fn names_layer(rest: &str, layer: &str) -> bool {
    if let Some(after) = rest.strip_prefix(layer) {
        return !after.starts_with(is_ident);
    }
    let Some(group) = rest.strip_prefix('{') else { return false };
    let mut level = 0;
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => level += 1,
            '}' if level == 0 => return false,
            '}' => level -= 1,
            ',' if level == 0 => item_start = true,
            c if c.is_whitespace() => {}
            _ if item_start && level == 0 => {
                item_start = false;
                if group[i..].strip_prefix(layer).is_some_and(|after| !after.starts_with(is_ident)) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The 1-based lines of `text` (a file `depth` modules below the root) that
/// reach `layer` (a `{…}` group may span lines: the line it starts on).
fn lines_naming(text: &str, depth: usize, layer: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut mark = |at: usize| {
        let line = text[..at].matches('\n').count() + 1;
        if found.last() != Some(&line) {
            found.push(line);
        }
    };
    let mut starts: Vec<(usize, &str)> = text.match_indices("crate::").chain(text.match_indices("super::")).collect();
    starts.sort();
    for (i, prefix) in starts {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == '$' || c == ':') {
            continue; // inside a longer name or path (`$crate::`, `super::super::`)
        }
        let mut rest = &text[i + prefix.len()..];
        if prefix == "crate::" {
            if names_layer(rest, layer) {
                mark(i);
            }
            continue;
        }
        let mut climbed = 1;
        while let Some(next) = rest.strip_prefix("super::") {
            rest = next;
            climbed += 1;
        }
        if climbed >= depth && names_layer(rest, layer) {
            mark(i);
        }
    }
    found
}

#[test]
fn no_layer_imports_a_layer_to_its_right() {
    let mut breaks = Vec::new();
    let mut excepted = Vec::new();
    for (folder, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src().join(folder), &mut files);
        assert!(!files.is_empty(), "no Rust files under src/{folder}");
        for file in files {
            let relative = file.strip_prefix(src()).unwrap();
            let text = fs::read_to_string(&file).unwrap();
            for layer in forbidden {
                let lines = lines_naming(&text, depth(relative), layer);
                if lines.is_empty() {
                    continue;
                }
                let name = relative.to_string_lossy().into_owned();
                if TODO_EXCEPTIONS.contains(&(name.as_str(), *layer)) {
                    excepted.push((name, *layer));
                } else {
                    breaks.push(format!("src/{name} lines {lines:?} name crate::{layer}"));
                }
            }
        }
    }
    assert!(breaks.is_empty(), "the layer rule is broken:\n{}", breaks.join("\n"));
    for (file, layer) in TODO_EXCEPTIONS {
        assert!(
            excepted.iter().any(|(f, l)| f == file && *l == layer),
            "src/{file} no longer names crate::{layer}: remove it from TODO_EXCEPTIONS"
        );
    }
}

#[test]
fn every_way_of_naming_a_layer_is_seen() {
    // Depth 2: a file such as src/plan/dns.rs.
    let seen = |text: &str| !lines_naming(text, 2, "apply").is_empty();
    assert!(seen("use crate::apply::dns::DnsMode;"));
    assert!(seen("    let x = crate::apply::hostname::set_live(n);"));
    assert!(seen("use crate::{apply, files::Root};"));
    assert!(seen("use crate::{files::{FileWrite, Root}, apply::ssh_keys};"));
    assert!(seen("use super::super::apply::password;"));
    assert!(seen("use super::super::super::apply::password;"), "from an inline module further down");
    assert!(seen("use super::super::{apply, files};"));
    // Not a reach into apply.
    assert!(!seen("use crate::applying::x;"));
    assert!(!seen("use crate::{files::apply, plan};"));
    assert!(!seen("use super::apply;"), "a sibling module named apply, inside plan");
    assert!(!seen("use crate::plan::apply_all;"));
    assert!(!seen("//! `apply::network_live` carries it out"));
    assert_eq!(lines_naming("a\nuse crate::apply;\nb\n", 1, "apply"), [2]);
    assert_eq!(
        lines_naming("a\nuse crate::{\n    files::Root,\n    apply::dns,\n};\n", 1, "apply"),
        [2],
        "a group over lines"
    );
}

#[test]
fn depth_counts_modules_to_the_root() {
    assert_eq!(depth(Path::new("plan/mod.rs")), 1);
    assert_eq!(depth(Path::new("plan/dns.rs")), 2);
    assert_eq!(depth(Path::new("plan/network/mod.rs")), 2);
    assert_eq!(depth(Path::new("plan/network/ifupdown/busybox.rs")), 4);
}
