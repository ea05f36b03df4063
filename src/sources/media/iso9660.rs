//! A userspace reader of ISO 9660 images (ECMA-119): the volume label and one
//! file out of an image file, without mounting it (no loop device, no root),
//! so a builder can test a config drive (`qcloud_action/os.conf`,
//! `openstack/latest/meta_data.json`) before uploading it.
//!
//! Names are looked up as the kernel would show them, in this order:
//!
//! - Rock Ridge (`-r`/`-R`): the `NM` entries of each directory record's
//!   System Use area (SUSP, `CE` continuation areas followed), compared
//!   exactly; a record without `NM` falls back to its primary name;
//! - else Joliet (`-J`: the supplementary volume descriptor with escape
//!   sequence `%/@`, `%/C` or `%/E`): UCS-2 big-endian names, compared exactly;
//! - else the primary names, without their `;1` version and trailing `.`,
//!   compared ignoring ASCII case. Plain ISO level 1 (`genisoimage` without
//!   `-l`, `-J` or `-r`) shortens names to 8.3: `qcloud_action/os.conf` is
//!   then `QCLOUD_A/OS.CON` and the long path is not found.
//!
//! The image is untrusted, so every read is bounded whatever its bytes:
//! only the descriptors and the directories on the given path are read (a
//! directory pointing at itself or its parent cannot loop: each path
//! component is looked up once), directories are read one 2048-byte block
//! at a time, and one lookup visits at most `MAX_RECORDS` directory records
//! and reads at most `MAX_DIRECTORY_BYTES` of directories and continuation
//! areas. A file is read only when it fits `max_bytes`, into a buffer of its
//! final size that is wiped when dropped (a drop holds the password).
//! Multi-extent and interleaved files are refused (config files are small
//! and no tool writes them so), as are Rock Ridge symbolic links (not
//! followed).

use std::fmt;
use std::io::{ErrorKind, Read, Seek, SeekFrom};

use zeroize::Zeroizing;

/// The logical block size: the only one real images (and Linux) use.
const BLOCK: usize = 2048;
/// Volume descriptors start at block 16.
const FIRST_DESCRIPTOR: u64 = 16;
/// Real images have two to four descriptors before the terminator.
const MAX_DESCRIPTORS: u64 = 32;
/// A config path has few components.
const MAX_COMPONENTS: usize = 16;
/// Directory records one lookup visits at most (a config drive has tens).
pub const MAX_RECORDS: usize = 100_000;
/// Bytes of directories and continuation areas one lookup reads at most.
pub const MAX_DIRECTORY_BYTES: u64 = 16 << 20;
/// Continuation areas of one directory record (Linux follows 32).
const MAX_CONTINUATIONS: usize = 32;
/// A Rock Ridge name longer than this is refused (Linux allows 255 bytes).
const MAX_NAME_BYTES: usize = 1024;

/// Directory record file flags (ECMA-119 9.1.6).
const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_MULTI_EXTENT: u8 = 0x80;
/// Rock Ridge `NM` flags: the entry names `.` or `..`, not the file.
const NM_CURRENT_OR_PARENT: u8 = 0x06;

/// What is wrong with an image or the request, in words naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iso9660Error {
    /// No primary volume descriptor (type 1, "CD001") from block 16 on.
    NotIso9660,
    /// The image ends (or cannot be read) where `what` should be.
    Unreadable {
        what: &'static str,
        offset: u64,
        reason: String,
    },
    /// A logical block size other than 2048.
    BlockSize(u16),
    /// A directory record or System Use entry that does not fit where it is.
    BadRecord {
        directory: String,
        reason: &'static str,
    },
    /// The path asked for cannot name a file on any image.
    BadPath {
        path: String,
        reason: &'static str,
    },
    /// A component before the last is a file.
    NotADirectory(String),
    /// The last component is a directory.
    IsADirectory(String),
    TooLarge {
        path: String,
        size: u64,
        max: usize,
    },
    /// A file stored in a way this reader refuses (multi-extent, interleaved, a symbolic link).
    Unsupported {
        path: String,
        what: &'static str,
    },
    /// The lookup reached one of its bounds (`what`: records or bytes).
    TooMuch {
        directory: String,
        what: &'static str,
    },
}

impl fmt::Display for Iso9660Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iso9660Error::NotIso9660 => f.write_str("not an ISO 9660 image (no primary volume descriptor)"),
            Iso9660Error::Unreadable { what, offset, reason } => {
                write!(f, "ISO 9660 image: cannot read {what} at byte {offset}: {reason}")
            }
            Iso9660Error::BlockSize(size) => write!(f, "ISO 9660 image: logical block size {size}, not 2048"),
            Iso9660Error::BadRecord { directory, reason } => {
                write!(f, "ISO 9660 image: a directory record in {directory} {reason}")
            }
            Iso9660Error::BadPath { path, reason } => write!(f, "{path:?} {reason}"),
            Iso9660Error::NotADirectory(path) => write!(f, "ISO 9660 image: {path} is a file, not a directory"),
            Iso9660Error::IsADirectory(path) => write!(f, "ISO 9660 image: {path} is a directory, not a file"),
            Iso9660Error::TooLarge { path, size, max } => {
                write!(f, "ISO 9660 image: {path} has {size} bytes, more than {max}")
            }
            Iso9660Error::Unsupported { path, what } => write!(f, "ISO 9660 image: {path} is {what} (not read)"),
            Iso9660Error::TooMuch { directory, what } => {
                write!(f, "ISO 9660 image: looking up {directory} took more than {what}")
            }
        }
    }
}

impl std::error::Error for Iso9660Error {}

/// The volume identifier of the primary volume descriptor (byte 40, 32
/// bytes space-padded; the descriptor at block 16 or after another, as
/// ECMA-119 allows); `None` when the image is not ISO 9660.
pub fn volume_label(image: &mut (impl Read + Seek)) -> Option<String> {
    let descriptors = Descriptors::read(image).ok()?;
    let id = descriptors.primary.get(40..72)?;
    Some(String::from_utf8_lossy(id).trim_end().to_owned())
}

/// The content of the file at `path` (components separated by `/`, a
/// leading `/` optional), at most `max_bytes` long; `Ok(None)` when no such
/// name is on the image.
pub fn read_file(
    image: &mut (impl Read + Seek),
    path: &str,
    max_bytes: usize,
) -> Result<Option<Zeroizing<Vec<u8>>>, Iso9660Error> {
    let components = components(path)?;
    let volume = Volume::open(image)?;
    let mut budget = Budget::default();
    let mut directory = volume.root;
    let mut walked = String::new();
    let mut found = None;
    for (n, component) in components.iter().enumerate() {
        let Some(entry) = find(image, &volume.names, directory, component, &walked, &mut budget)? else {
            return Ok(None);
        };
        walked.push('/');
        walked.push_str(component);
        if n + 1 < components.len() {
            if entry.flags & FLAG_DIRECTORY == 0 || entry.symlink {
                return Err(Iso9660Error::NotADirectory(walked));
            }
            if entry.flags & FLAG_MULTI_EXTENT != 0 {
                return Err(Iso9660Error::Unsupported { path: walked, what: "a multi-extent directory" });
            }
            directory = entry.extent;
        } else {
            found = Some(entry);
        }
    }
    let Some(file) = found else { return Err(bad_path(path, "names no file")) };
    read_content(image, &file, &walked, max_bytes).map(Some)
}

/// The path's components; `.`, `..` and over-long paths name nothing on a
/// medium and are refused.
fn components(path: &str) -> Result<Vec<&str>, Iso9660Error> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if components.is_empty() {
        return Err(bad_path(path, "names no file"));
    }
    if components.len() > MAX_COMPONENTS {
        return Err(bad_path(path, "has too many components"));
    }
    if components.iter().any(|c| *c == "." || *c == ".." || c.len() > MAX_NAME_BYTES) {
        return Err(bad_path(path, "has a component that is `.`, `..` or too long"));
    }
    Ok(components)
}

fn bad_path(path: &str, reason: &'static str) -> Iso9660Error {
    Iso9660Error::BadPath { path: path.to_owned(), reason }
}

fn read_content(
    image: &mut (impl Read + Seek),
    file: &Entry,
    path: &str,
    max_bytes: usize,
) -> Result<Zeroizing<Vec<u8>>, Iso9660Error> {
    let unsupported = |what| Err(Iso9660Error::Unsupported { path: path.to_owned(), what });
    if file.flags & FLAG_DIRECTORY != 0 {
        return Err(Iso9660Error::IsADirectory(path.to_owned()));
    }
    if file.symlink {
        return unsupported("a symbolic link");
    }
    if file.flags & FLAG_MULTI_EXTENT != 0 {
        return unsupported("a multi-extent file");
    }
    if file.interleaved {
        return unsupported("an interleaved file");
    }
    let size = file.extent.size;
    let too_large = || Iso9660Error::TooLarge { path: path.to_owned(), size: size.into(), max: max_bytes };
    let length = usize::try_from(size).map_err(|_| too_large())?;
    if length > max_bytes {
        return Err(too_large());
    }
    // An extent the image cannot hold is refused before its buffer is made.
    let end = file.extent.start.checked_add(size.into());
    let image_length = image.seek(SeekFrom::End(0)).ok();
    if end.zip(image_length).is_none_or(|(end, image_length)| end > image_length) {
        let reason = "the image ends before the file does".to_owned();
        return Err(Iso9660Error::Unreadable { what: "the file's content", offset: file.extent.start, reason });
    }
    let mut content = Zeroizing::new(vec![0u8; length]);
    read_at(image, file.extent.start, &mut content, "the file's content")?;
    Ok(content)
}

/// Where an extent starts (in bytes) and how long it is.
#[derive(Debug, Clone, Copy)]
struct Extent {
    start: u64,
    size: u32,
}

/// How names are read in the tree being walked.
enum Names {
    /// Rock Ridge, with the SUSP skip length (`SP`) of every System Use area.
    RockRidge {
        skip: usize,
    },
    Joliet,
    Primary,
}

struct Volume {
    root: Extent,
    names: Names,
}

impl Volume {
    /// The tree to walk: the primary one with Rock Ridge, else Joliet's, else the primary one.
    fn open(image: &mut (impl Read + Seek)) -> Result<Volume, Iso9660Error> {
        let descriptors = Descriptors::read(image)?;
        let primary_root = root_of(&descriptors.primary)?;
        let mut budget = Budget::default();
        if let Some(skip) = rock_ridge_skip(image, primary_root, &mut budget)? {
            return Ok(Volume { root: primary_root, names: Names::RockRidge { skip } });
        }
        if let Some(joliet) = &descriptors.joliet {
            return Ok(Volume { root: root_of(joliet)?, names: Names::Joliet });
        }
        Ok(Volume { root: primary_root, names: Names::Primary })
    }
}

/// The primary volume descriptor and, when there is one, Joliet's.
struct Descriptors {
    primary: Vec<u8>,
    joliet: Option<Vec<u8>>,
}

impl Descriptors {
    fn read(image: &mut (impl Read + Seek)) -> Result<Descriptors, Iso9660Error> {
        let mut primary = None;
        let mut joliet = None;
        for n in 0..MAX_DESCRIPTORS {
            let mut block = vec![0u8; BLOCK];
            let offset = (FIRST_DESCRIPTOR + n) * BLOCK as u64;
            if read_at(image, offset, &mut block, "a volume descriptor").is_err() {
                break; // a truncated image: what was read so far counts
            }
            if block.get(1..6) != Some(b"CD001") {
                break;
            }
            match block.first() {
                Some(1) if primary.is_none() => primary = Some(block),
                Some(2) if joliet.is_none() && is_joliet(&block) => joliet = Some(block),
                Some(255) => break,
                _ => {}
            }
        }
        let primary = primary.ok_or(Iso9660Error::NotIso9660)?;
        Ok(Descriptors { primary, joliet })
    }
}

/// A supplementary volume descriptor is Joliet's when its escape sequences
/// (byte 88) name UCS-2 level 1, 2 or 3.
fn is_joliet(descriptor: &[u8]) -> bool {
    matches!(descriptor.get(88..91), Some(b"%/@" | b"%/C" | b"%/E"))
}

/// The root directory's extent, from the record at byte 156 of a volume descriptor.
fn root_of(descriptor: &[u8]) -> Result<Extent, Iso9660Error> {
    let block_size = u16_le(descriptor, 128).unwrap_or(0);
    if usize::from(block_size) != BLOCK {
        return Err(Iso9660Error::BlockSize(block_size));
    }
    let bad = |reason| Iso9660Error::BadRecord { directory: "the volume descriptor".to_owned(), reason };
    let record = descriptor.get(156..190).ok_or_else(|| bad("is cut short"))?;
    let record = Record::parse(record).map_err(bad)?;
    if record.flags & FLAG_DIRECTORY == 0 {
        return Err(bad("names a root that is not a directory"));
    }
    Ok(record.extent)
}

/// SUSP's `SP` entry at the start of the root's `.` record (with `ER` or
/// `RR` among its entries) says Rock Ridge is used; its skip length.
fn rock_ridge_skip(
    image: &mut (impl Read + Seek),
    root: Extent,
    budget: &mut Budget,
) -> Result<Option<usize>, Iso9660Error> {
    let mut block = [0u8; BLOCK];
    let length = BLOCK.min(usize::try_from(root.size).unwrap_or(BLOCK));
    let Some(first) = block.get_mut(..length) else { return Ok(None) };
    if read_at(image, root.start, first, "the root directory").is_err() {
        return Ok(None);
    }
    let Some(length) = first.first().map(|l| usize::from(*l)) else { return Ok(None) };
    let Some(Ok(dot)) = first.get(..length).map(Record::parse) else { return Ok(None) };
    let sp = dot.system_use;
    if sp.get(..4) != Some(b"SP\x07\x01") || sp.get(4..6) != Some(b"\xbe\xef") {
        return Ok(None);
    }
    let skip = sp.get(6).map_or(0, |s| usize::from(*s));
    let susp = Susp::read(image, sp, 0, "/", budget)?;
    Ok(susp.rock_ridge.then_some(skip))
}

/// One directory record's fields this reader uses.
struct Record<'a> {
    extent: Extent,
    flags: u8,
    interleaved: bool,
    identifier: &'a [u8],
    system_use: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses `bytes`, exactly one record (its length byte first).
    fn parse(bytes: &'a [u8]) -> Result<Record<'a>, &'static str> {
        let short = "is cut short";
        if bytes.len() < 34 || bytes.first().map(|l| usize::from(*l)) != Some(bytes.len()) {
            return Err("has a length that does not fit");
        }
        let attributes = bytes.get(1).copied().ok_or(short)?;
        let location = u32_le(bytes, 2).ok_or(short)?;
        let size = u32_le(bytes, 10).ok_or(short)?;
        let flags = bytes.get(25).copied().ok_or(short)?;
        let interleaved = bytes.get(26..28).ok_or(short)? != [0, 0];
        let identifier_length = usize::from(bytes.get(32).copied().ok_or(short)?);
        let identifier_end = 33usize.checked_add(identifier_length).ok_or(short)?;
        let identifier = bytes.get(33..identifier_end).ok_or("has a name longer than the record")?;
        // An even identifier length is followed by one padding byte.
        let system_use_start = identifier_end + usize::from(identifier_length.is_multiple_of(2));
        let system_use = bytes.get(system_use_start..).unwrap_or(&[]);
        // The extent starts after its extended attribute record (whole blocks).
        let start = u64::from(location)
            .checked_add(u64::from(attributes))
            .and_then(|block| block.checked_mul(BLOCK as u64))
            .ok_or("has an extent beyond any image")?;
        Ok(Record { extent: Extent { start, size }, flags, interleaved, identifier, system_use })
    }

    /// `.` and `..` (identifiers 0 and 1).
    fn is_self_or_parent(&self) -> bool {
        matches!(self.identifier, [0] | [1])
    }
}

/// A directory entry found by name.
struct Entry {
    extent: Extent,
    flags: u8,
    interleaved: bool,
    symlink: bool,
}

/// The entry named `name` in `directory`, reading it one block at a time.
fn find(
    image: &mut (impl Read + Seek),
    names: &Names,
    directory: Extent,
    name: &str,
    walked: &str,
    budget: &mut Budget,
) -> Result<Option<Entry>, Iso9660Error> {
    let shown = if walked.is_empty() { "/" } else { walked };
    let bad = |reason| Iso9660Error::BadRecord { directory: shown.to_owned(), reason };
    let size = u64::from(directory.size);
    let mut block = [0u8; BLOCK];
    let mut position = 0u64;
    while position < size {
        let length = usize::try_from((size - position).min(BLOCK as u64)).unwrap_or(BLOCK);
        budget.bytes(length as u64, shown)?;
        let chunk = block.get_mut(..length).ok_or_else(|| bad("is cut short"))?;
        let offset = directory.start.checked_add(position).ok_or_else(|| bad("has an extent beyond any image"))?;
        read_at(image, offset, chunk, "a directory")?;
        let mut at = 0usize;
        // Records never cross a block; a length byte of 0 pads the rest of it.
        while let Some(&record_length) = chunk.get(at) {
            if record_length == 0 {
                break;
            }
            budget.record(shown)?;
            let end = at.checked_add(usize::from(record_length)).ok_or_else(|| bad("is cut short"))?;
            let bytes = chunk.get(at..end).ok_or_else(|| bad("crosses the end of its block"))?;
            let record = Record::parse(bytes).map_err(bad)?;
            at = end;
            if record.is_self_or_parent() || record.flags & FLAG_ASSOCIATED != 0 {
                continue;
            }
            let (matches, symlink) = match names {
                Names::RockRidge { skip } => {
                    let susp = Susp::read(image, record.system_use, *skip, shown, budget)?;
                    let matches = match &susp.name {
                        Some(nm) => nm.as_slice() == name.as_bytes(),
                        None => primary_name_matches(record.identifier, name),
                    };
                    (matches, susp.symlink)
                }
                Names::Joliet => (joliet_name_matches(record.identifier, name), false),
                Names::Primary => (primary_name_matches(record.identifier, name), false),
            };
            if matches {
                let Record { extent, flags, interleaved, .. } = record;
                return Ok(Some(Entry { extent, flags, interleaved, symlink }));
            }
        }
        position = position.saturating_add(BLOCK as u64);
    }
    Ok(None)
}

/// A name without its version (`;1`) and the `.` ISO 9660 puts after names
/// without an extension, as Linux shows them.
fn without_version(name: &str) -> &str {
    let name = match name.rsplit_once(';') {
        Some((base, version)) if version.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    };
    name.strip_suffix('.').unwrap_or(name)
}

fn primary_name_matches(identifier: &[u8], name: &str) -> bool {
    let Ok(identifier) = std::str::from_utf8(identifier) else { return false };
    without_version(identifier).eq_ignore_ascii_case(name)
}

fn joliet_name_matches(identifier: &[u8], name: &str) -> bool {
    if !identifier.len().is_multiple_of(2) {
        return false;
    }
    let units = identifier.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    let decoded: String = char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    without_version(&decoded) == name
}

/// What a record's System Use Sharing Protocol entries say.
#[derive(Default)]
struct Susp {
    /// The Rock Ridge name (`NM` entries joined), if any.
    name: Option<Vec<u8>>,
    /// `SL`: a symbolic link.
    symlink: bool,
    /// `ER` or `RR`: Rock Ridge extensions are recorded.
    rock_ridge: bool,
}

impl Susp {
    /// Walks the entries of `area` (after `skip` bytes) and of the
    /// continuation areas (`CE`) it chains to, at most `MAX_CONTINUATIONS`.
    fn read(
        image: &mut (impl Read + Seek),
        area: &[u8],
        skip: usize,
        directory: &str,
        budget: &mut Budget,
    ) -> Result<Susp, Iso9660Error> {
        let bad = |reason| Iso9660Error::BadRecord { directory: directory.to_owned(), reason };
        let mut susp = Susp::default();
        let mut continued: Vec<u8>;
        let mut entries = area.get(skip..).unwrap_or(&[]);
        let mut continuations = 0;
        loop {
            let next = susp.take_entries(entries).map_err(bad)?;
            let Some((block, offset, length)) = next else { break };
            continuations += 1;
            if continuations > MAX_CONTINUATIONS {
                return Err(bad("chains too many continuation areas"));
            }
            // A continuation area lies within one block (as Linux requires).
            let end = offset.checked_add(length).filter(|end| *end <= BLOCK as u64);
            if end.is_none() {
                return Err(bad("has a continuation area crossing the end of its block"));
            }
            let start = u64::from(block)
                .checked_mul(BLOCK as u64)
                .and_then(|start| start.checked_add(offset))
                .ok_or_else(|| bad("has a continuation area beyond any image"))?;
            budget.bytes(length, directory)?;
            continued = vec![0u8; usize::try_from(length).unwrap_or(0)];
            read_at(image, start, &mut continued, "a continuation area")?;
            entries = &continued;
        }
        Ok(susp)
    }

    /// Takes in the entries of one area; the continuation area it names.
    #[allow(clippy::type_complexity)]
    fn take_entries(&mut self, area: &[u8]) -> Result<Option<(u32, u64, u64)>, &'static str> {
        let mut continuation = None;
        let mut at = 0usize;
        // Each entry: signature (2), length (1), version (1), data. Fewer than
        // 4 bytes left, or a length below 4, is padding: the area ends.
        while let Some(header) = area.get(at..at.saturating_add(4)) {
            let length = usize::from(header.get(2).copied().unwrap_or(0));
            if length < 4 {
                break;
            }
            let Some(entry) = at.checked_add(length).and_then(|end| area.get(at..end)) else { break };
            match entry.get(..2) {
                Some(b"ST") => break,
                Some(b"CE") => {
                    let field = |n| u32_le(entry, n).ok_or("has a continuation entry cut short");
                    continuation = Some((field(4)?, u64::from(field(12)?), u64::from(field(20)?)));
                }
                Some(b"NM") => {
                    let flags = entry.get(4).copied().unwrap_or(0);
                    if flags & NM_CURRENT_OR_PARENT == 0 {
                        let name = self.name.get_or_insert_with(Vec::new);
                        name.extend_from_slice(entry.get(5..).unwrap_or(&[]));
                        if name.len() > MAX_NAME_BYTES {
                            return Err("has a Rock Ridge name longer than 1024 bytes");
                        }
                    }
                }
                Some(b"SL") => self.symlink = true,
                Some(b"ER" | b"RR") => self.rock_ridge = true,
                _ => {}
            }
            at += length;
        }
        Ok(continuation)
    }
}

/// What one lookup has spent of its bounds.
#[derive(Default)]
struct Budget {
    records: usize,
    bytes: u64,
}

impl Budget {
    fn record(&mut self, directory: &str) -> Result<(), Iso9660Error> {
        self.records += 1;
        if self.records > MAX_RECORDS {
            return Err(Iso9660Error::TooMuch { directory: directory.to_owned(), what: "100000 directory records" });
        }
        Ok(())
    }

    fn bytes(&mut self, bytes: u64, directory: &str) -> Result<(), Iso9660Error> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_DIRECTORY_BYTES {
            return Err(Iso9660Error::TooMuch { directory: directory.to_owned(), what: "16 MiB of directories" });
        }
        Ok(())
    }
}

/// Fills `buffer` from byte `offset` of the image.
fn read_at(
    image: &mut (impl Read + Seek),
    offset: u64,
    buffer: &mut [u8],
    what: &'static str,
) -> Result<(), Iso9660Error> {
    let unreadable = |e: std::io::Error| {
        let reason = if e.kind() == ErrorKind::UnexpectedEof { "the image ends".to_owned() } else { e.to_string() };
        Iso9660Error::Unreadable { what, offset, reason }
    };
    image.seek(SeekFrom::Start(offset)).map_err(unreadable)?;
    image.read_exact(buffer).map_err(unreadable)
}

fn u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
