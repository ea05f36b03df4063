//! LVM2 physical volumes and the logical volumes they hold, read as LVM's
//! on-disk format lays them out, without device-mapper.
//!
//! A PV starts with a label ("LABELONE", type "LVM2 001") in one of its
//! first four 512-byte sectors; its PV header gives the PV's UUID and its
//! metadata areas. A metadata area's header (magic " LVM2 x[5A%r0N*>")
//! points at the current metadata: text in LVM2's config format
//! (`name { key = value ... }`, strings, numbers, lists) describing the VG:
//! its extent size, its PVs (id → pe_start) and each LV's segments. Label,
//! metadata header and text checksums are verified (LVM's CRC32 variant).
//!
//! Supported: linear LVs of any number of segments on any of the PVs given
//! (`striped` with one stripe, as LVM writes linear segments). Not supported
//! (the LV is skipped with a warning): multi-stripe, mirror, raid, thin,
//! cache, snapshot segments, and segments on a PV not given. Hidden LVs (no
//! VISIBLE status: the parts of a thin pool or a raid) are not listed.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use super::partitions::crc32_update;
use super::read_at::{check_bounds, read_vec, Le, ReadAt};

/// LVM's CRC32 starts from this and is not inverted at the end.
const LVM_CRC_INIT: u32 = 0xf597_a6cf;
const MDA_MAGIC: &[u8; 16] = b"\x20LVM2\x20x[5A%r0N*>";
/// The largest metadata text read (LVM's default area is 1020 KiB).
const MAX_METADATA: u64 = 4 << 20;
/// Nesting of sections in the text (LVM writes 4).
const MAX_DEPTH: usize = 16;

/// An LV, readable as a device of its own.
pub struct LogicalVolume {
    pub vg: String,
    pub name: String,
    pub device: Arc<dyn ReadAt>,
}

/// The PV's label is in one of its first four sectors.
pub fn is_pv(device: &dyn ReadAt) -> bool {
    read_pv_header(device).is_some()
}

/// What a PV header says: its UUID (32 characters, no dashes) and its
/// metadata areas (byte offset and size in the PV).
struct PvHeader {
    uuid: String,
    metadata_areas: Vec<(u64, u64)>,
}

fn read_pv_header(device: &dyn ReadAt) -> Option<PvHeader> {
    (0u64..4).find_map(|sector| {
        let raw = read_vec(device, sector * 512, 512).ok()?;
        let le = Le(&raw);
        let is_label = le.bytes(0, 8) == b"LABELONE"
            && le.u64(8) == sector
            && le.bytes(24, 8) == b"LVM2 001"
            && crc32_update(LVM_CRC_INIT, le.bytes(20, 492)) == le.u32(16);
        if !is_label {
            return None;
        }
        let header = le.u32(20) as usize;
        let uuid = String::from_utf8_lossy(le.bytes(header, 32)).into_owned();
        // Two lists of (offset, size), each ending with a zero offset: the
        // data areas, then the metadata areas; within the sector.
        let mut lists = [Vec::new(), Vec::new()];
        let mut at = header + 40;
        for list in &mut lists {
            while at + 16 <= raw.len() {
                let (offset, size) = (le.u64(at), le.u64(at + 8));
                at += 16;
                if offset == 0 {
                    break;
                }
                list.push((offset, size));
            }
        }
        let [_, metadata_areas] = lists;
        Some(PvHeader { uuid, metadata_areas })
    })
}

/// The current metadata text of the metadata area at `area` (offset, size).
fn read_metadata_text(device: &dyn ReadAt, (area, area_size): (u64, u64)) -> Result<String, String> {
    let header = read_vec(device, area, 512).map_err(|e| format!("its metadata header: {e}"))?;
    let le = Le(&header);
    if le.bytes(4, 16) != MDA_MAGIC {
        return Err("no metadata header magic".into());
    }
    if crc32_update(LVM_CRC_INIT, le.bytes(4, 508)) != le.u32(0) {
        return Err("metadata header checksum mismatch".into());
    }
    let (offset, size, checksum, flags) = (le.u64(40), le.u64(48), le.u32(56), le.u32(60));
    if offset == 0 || flags & 1 != 0 {
        return Err("no current metadata in this area".into());
    }
    if size > MAX_METADATA || size > area_size || offset < 512 || offset >= area_size {
        return Err(format!("metadata of {size} bytes at {offset} in an area of {area_size}"));
    }
    // A circular buffer after the 512-byte header: the text may wrap.
    let first = size.min(area_size - offset);
    let at = area.checked_add(offset).ok_or("metadata offset out of range")?;
    let mut text = read_vec(device, at, first as usize).map_err(|e| e.to_string())?;
    if first < size {
        let wrapped = area.checked_add(512).ok_or("metadata offset out of range")?;
        let rest = read_vec(device, wrapped, (size - first) as usize).map_err(|e| e.to_string())?;
        text.extend_from_slice(&rest);
    }
    if crc32_update(LVM_CRC_INIT, &text) != checksum {
        return Err("metadata text checksum mismatch".into());
    }
    while text.last() == Some(&0) {
        text.pop();
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// A value of LVM's text format.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Num(i64),
    Str(String),
    List(Vec<Value>),
    Section(Vec<(String, Value)>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Section(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn num(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    fn sections(&self) -> impl Iterator<Item = (&String, &Value)> {
        let entries = match self {
            Value::Section(entries) => entries.as_slice(),
            _ => &[],
        };
        entries.iter().filter(|(_, v)| matches!(v, Value::Section(_))).map(|(k, v)| (k, v))
    }
}

/// A recursive-descent parser of LVM's text format, bounded in depth.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn parse(text: &str) -> Result<Value, String> {
        let mut parser = Parser { text: text.as_bytes(), at: 0 };
        let body = parser.section_body(0)?;
        match parser.peek() {
            None => Ok(body),
            Some(c) => Err(format!("unexpected '{}' at byte {}", c as char, parser.at)),
        }
    }

    /// The next byte that is not blank nor in a comment.
    fn peek(&mut self) -> Option<u8> {
        loop {
            match self.text.get(self.at)? {
                b' ' | b'\t' | b'\r' | b'\n' => self.at += 1,
                b'#' => {
                    while self.text.get(self.at).is_some_and(|&c| c != b'\n') {
                        self.at += 1;
                    }
                }
                &c => return Some(c),
            }
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        if self.peek() == Some(want) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", want as char, self.at))
        }
    }

    /// `key = value` and `name { ... }` up to a `}` or the end.
    fn section_body(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("sections nested deeper than {MAX_DEPTH}"));
        }
        let mut entries = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'}' {
                break;
            }
            let key = self.word()?;
            match self.peek() {
                Some(b'{') => {
                    self.at += 1;
                    let section = self.section_body(depth + 1)?;
                    self.expect(b'}')?;
                    entries.push((key, section));
                }
                Some(b'=') => {
                    self.at += 1;
                    let value = self.value()?;
                    entries.push((key, value));
                }
                _ => return Err(format!("expected '=' or '{{' after {key:?} at byte {}", self.at)),
            }
        }
        Ok(Value::Section(entries))
    }

    /// A string, a number, or a flat list of them.
    fn value(&mut self) -> Result<Value, String> {
        if self.peek() != Some(b'[') {
            return self.scalar();
        }
        self.at += 1;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::List(items));
                }
                Some(b',') if !items.is_empty() => self.at += 1,
                _ => items.push(self.scalar()?),
            }
        }
    }

    fn scalar(&mut self) -> Result<Value, String> {
        if self.peek() == Some(b'"') {
            return self.string().map(Value::Str);
        }
        let word = self.word()?;
        Ok(word.parse().map(Value::Num).unwrap_or(Value::Str(word)))
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.at) {
                None => return Err("a string runs to the end of the text".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.at += 1;
                    out.extend(self.text.get(self.at));
                }
                Some(&c) => out.push(c),
            }
            self.at += 1;
        }
        self.at += 1;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// A name or a bare number.
    fn word(&mut self) -> Result<String, String> {
        self.peek();
        let start = self.at;
        while self.text.get(self.at).is_some_and(|&c| c.is_ascii_alphanumeric() || b"_-+.".contains(&c)) {
            self.at += 1;
        }
        match self.text.get(start..self.at) {
            Some(word) if !word.is_empty() => Ok(String::from_utf8_lossy(word).into_owned()),
            _ => Err(format!("expected a name at byte {start}")),
        }
    }
}

/// One PV's view of its VG.
struct VgMetadata {
    name: String,
    id: String,
    seqno: i64,
    vg: Value,
}

/// The VG section of a metadata text: the top-level section with an extent size.
fn vg_metadata(text: &str) -> Result<VgMetadata, String> {
    let top = Parser::parse(text)?;
    let (name, vg) =
        top.sections().find(|(_, v)| v.get("extent_size").is_some()).ok_or("no volume group in the metadata")?;
    Ok(VgMetadata {
        name: name.clone(),
        id: vg.str("id").unwrap_or("").to_string(),
        seqno: vg.num("seqno").unwrap_or(0),
        vg: vg.clone(),
    })
}

/// The LVs of the VGs on `pvs` that can be read; each one that cannot (or
/// a PV whose metadata cannot) is logged as a warning and skipped.
pub fn logical_volumes(pvs: &[Arc<dyn ReadAt>]) -> Result<Vec<LogicalVolume>, String> {
    let (volumes, warnings) = logical_volumes_with_warnings(pvs)?;
    for warning in warnings {
        log::warn!("LVM: {warning}");
    }
    Ok(volumes)
}

/// [`logical_volumes`], with the warnings returned rather than logged. An
/// error when PVs were given and none has metadata that can be read.
pub fn logical_volumes_with_warnings(pvs: &[Arc<dyn ReadAt>]) -> Result<(Vec<LogicalVolume>, Vec<String>), String> {
    let mut warnings = Vec::new();
    let mut devices: HashMap<String, Arc<dyn ReadAt>> = HashMap::new();
    // The newest metadata of each VG (by its id), as any of its PVs holds it.
    let mut vgs: Vec<VgMetadata> = Vec::new();
    let mut errors = Vec::new();
    for (index, pv) in pvs.iter().enumerate() {
        let Some(header) = read_pv_header(pv.as_ref()) else {
            errors.push(format!("device {index} has no LVM2 label"));
            continue;
        };
        devices.insert(header.uuid.clone(), pv.clone());
        // LVM writes at most two metadata areas per PV (pvmetadatacopies).
        for &area in header.metadata_areas.iter().take(2) {
            match read_metadata_text(pv.as_ref(), area).and_then(|text| vg_metadata(&text)) {
                Ok(found) => match vgs.iter_mut().find(|vg| vg.id == found.id && vg.name == found.name) {
                    Some(known) if known.seqno >= found.seqno => {}
                    Some(known) => *known = found,
                    None => vgs.push(found),
                },
                Err(e) => errors.push(format!("PV {}: {e}", header.uuid)),
            }
        }
    }
    if vgs.is_empty() && !pvs.is_empty() {
        return Err(format!("no readable LVM metadata ({})", errors.join("; ")));
    }
    warnings.extend(errors);
    let mut volumes = Vec::new();
    for vg in &vgs {
        let Some(lvs) = vg.vg.get("logical_volumes") else { continue };
        for (name, lv) in lvs.sections() {
            let visible =
                matches!(lv.get("status"), Some(Value::List(flags)) if flags.contains(&Value::Str("VISIBLE".into())));
            if !visible {
                continue;
            }
            match map_lv(&vg.vg, lv, &devices) {
                Ok(device) => {
                    volumes.push(LogicalVolume { vg: vg.name.clone(), name: name.clone(), device: Arc::new(device) })
                }
                Err(e) => warnings.push(format!("{}/{name} skipped: {e}", vg.name)),
            }
        }
    }
    Ok((volumes, warnings))
}

/// A part of an LV: `len` bytes from `lv_start` are `pv`'s from `pv_start`.
struct Segment {
    lv_start: u64,
    len: u64,
    pv: Arc<dyn ReadAt>,
    pv_start: u64,
}

/// An LV as a device: its segments in order, end to end.
struct LinearVolume {
    size: u64,
    segments: Vec<Segment>,
}

fn map_lv(vg: &Value, lv: &Value, devices: &HashMap<String, Arc<dyn ReadAt>>) -> Result<LinearVolume, String> {
    let extent_bytes = vg
        .num("extent_size")
        .and_then(|sectors| u64::try_from(sectors).ok())
        .and_then(|sectors| sectors.checked_mul(512))
        .filter(|&bytes| bytes > 0)
        .ok_or("the VG has no valid extent_size")?;
    let number =
        |v: &Value, key: &str| v.num(key).and_then(|n| u64::try_from(n).ok()).ok_or_else(|| format!("no valid {key}"));
    let mut segments = Vec::new();
    for (_, seg) in lv.sections().filter(|(key, _)| key.starts_with("segment")) {
        let kind = seg.str("type").unwrap_or("");
        let stripe_count = seg.num("stripe_count").unwrap_or(1);
        if !matches!(kind, "striped" | "linear") || stripe_count != 1 {
            return Err(format!("a segment of type {kind:?} with {stripe_count} stripes is not supported"));
        }
        let (pv_name, pv_extent) = match seg.get("stripes") {
            Some(Value::List(items)) => match items.as_slice() {
                [Value::Str(pv), Value::Num(extent)] => (pv, u64::try_from(*extent).map_err(|_| "a negative extent")?),
                _ => return Err("its stripes list is not [\"pvN\", extent]".into()),
            },
            _ => return Err("a segment has no stripes".into()),
        };
        let pv = vg
            .get("physical_volumes")
            .and_then(|pvs| pvs.get(pv_name))
            .ok_or_else(|| format!("no PV {pv_name:?} in the VG"))?;
        let uuid: String = pv.str("id").unwrap_or("").chars().filter(|&c| c != '-').collect();
        let device = devices.get(&uuid).ok_or_else(|| format!("its PV {uuid} is not among the devices found"))?;
        let start_extent = number(seg, "start_extent")?;
        let extent_count = number(seg, "extent_count")?;
        let pe_start = number(pv, "pe_start")?;
        let bytes = |extents: u64| extents.checked_mul(extent_bytes).ok_or("extents out of range");
        let pv_start = pe_start
            .checked_mul(512)
            .and_then(|pe| pe.checked_add(bytes(pv_extent).ok()?))
            .ok_or("pe_start out of range")?;
        let len = bytes(extent_count)?;
        if pv_start.checked_add(len).is_none_or(|end| end > device.size()) {
            return Err(format!("a segment ends past the end of PV {uuid}"));
        }
        segments.push(Segment { lv_start: bytes(start_extent)?, len, pv: device.clone(), pv_start });
    }
    segments.sort_by_key(|s| s.lv_start);
    let mut size = 0u64;
    for seg in &segments {
        if seg.lv_start != size {
            return Err(format!("its segments leave a gap or overlap at byte {}", seg.lv_start));
        }
        size = size.checked_add(seg.len).ok_or("too large")?;
    }
    if segments.is_empty() {
        return Err("no segments".into());
    }
    Ok(LinearVolume { size, segments })
}

impl ReadAt for LinearVolume {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        check_bounds(self.size, buf.len(), offset)?;
        while !buf.is_empty() {
            // The last segment starting at or before `offset` holds it.
            let index = self.segments.partition_point(|s| s.lv_start <= offset).saturating_sub(1);
            let seg = self.segments.get(index).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            let within = offset.saturating_sub(seg.lv_start);
            let n = seg.len.saturating_sub(within).min(buf.len() as u64) as usize;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            let (now, rest) = std::mem::take(&mut buf).split_at_mut(n);
            seg.pv.read_exact_at(now, seg.pv_start.saturating_add(within))?;
            buf = rest;
            offset += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "lvm_tests.rs"]
mod tests;
