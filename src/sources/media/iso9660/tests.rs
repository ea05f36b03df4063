//! Real images made here with genisoimage and xorriso (as OpenStack nova and
//! other builders make config drives), and hostile ones made from them.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;

const OS_CONF: &[u8] = b"hostname=VM_1_2_centos\npassword=c2VjcmV0\n";
const META_DATA: &[u8] = b"{\"uuid\": \"d8e02d56-2648-49a3-bf97-6be8f1204f38\", \"hostname\": \"vm-1\"}\n";
const OS_CONF_PATH: &str = "qcloud_action/os.conf";
const META_DATA_PATH: &str = "openstack/latest/meta_data.json";

/// nova's config drive (nova/virt/configdrive.py), without its publisher.
const NOVA: &[&str] =
    &["genisoimage", "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-quiet", "-J", "-r", "-V", "config-2"];
const XORRISO: &[&str] = &["xorriso", "-as", "mkisofs", "-quiet", "-J", "-R", "-V", "config-2"];
const JOLIET_ONLY: &[&str] = &["genisoimage", "-quiet", "-J", "-V", "config-2"];
const ROCK_RIDGE_ONLY: &[&str] = &["genisoimage", "-quiet", "-r", "-V", "config-2"];
/// No extension, but long lowercase primary names (ISO 9660:1999-like).
const PLAIN_LONG: &[&str] =
    &["genisoimage", "-ldots", "-allow-lowercase", "-allow-multidot", "-l", "-quiet", "-V", "config-2"];
/// No extension, ISO level 1: 8.3 upper-case names.
const PLAIN: &[&str] = &["genisoimage", "-quiet", "-V", "config-2"];

/// An image made by `command` (its output and content arguments added)
/// holding os.conf and meta_data.json; its path.
fn make_image(tag: &str, command: &[&str], extra: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("osconf-iso9660-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let content = dir.join("content");
    std::fs::create_dir_all(content.join("qcloud_action")).unwrap();
    std::fs::create_dir_all(content.join("openstack/latest")).unwrap();
    std::fs::write(content.join(OS_CONF_PATH), OS_CONF).unwrap();
    std::fs::write(content.join(META_DATA_PATH), META_DATA).unwrap();
    let image = dir.join("config.iso");
    let output = Command::new(command[0])
        .args(&command[1..])
        .args(extra)
        .arg("-o")
        .arg(&image)
        .arg(&content)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (tests/install-deps.sh installs it)", command[0]));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    image
}

fn image_bytes(tag: &str, command: &[&str]) -> Vec<u8> {
    let path = make_image(tag, command, &["-no-pad"]);
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    bytes
}

fn read(image: &[u8], path: &str, max_bytes: usize) -> Result<Option<Vec<u8>>, Iso9660Error> {
    read_file(&mut Cursor::new(image), path, max_bytes).map(|found| found.map(|content| content.to_vec()))
}

fn names_of(image: &[u8]) -> &'static str {
    match Volume::open(&mut Cursor::new(image)).unwrap().names {
        Names::RockRidge { .. } => "Rock Ridge",
        Names::Joliet => "Joliet",
        Names::Primary => "primary",
    }
}

/// Every way config drives are made: the label, both files byte for byte,
/// a missing path, a file over the limit, a directory and a file in the way.
#[test]
fn config_drives_as_builders_make_them_are_read() {
    let makers: [(&str, &[&str], &str); 5] = [
        ("nova", NOVA, "Rock Ridge"),
        ("xorriso", XORRISO, "Rock Ridge"),
        ("joliet", JOLIET_ONLY, "Joliet"),
        ("rockridge", ROCK_RIDGE_ONLY, "Rock Ridge"),
        ("plain-long", PLAIN_LONG, "primary"),
    ];
    for (tag, command, names) in makers {
        let path = make_image(tag, command, &[]);
        let image = std::fs::read(&path).unwrap();
        assert_eq!(names_of(&image), names, "{tag}");
        let label = volume_label(&mut std::fs::File::open(&path).unwrap());
        assert_eq!(label.as_deref(), Some("config-2"), "{tag}");
        assert_eq!(read(&image, OS_CONF_PATH, 65536).unwrap().as_deref(), Some(OS_CONF), "{tag}");
        assert_eq!(read(&image, "/qcloud_action/os.conf", 65536).unwrap().as_deref(), Some(OS_CONF), "{tag}");
        assert_eq!(read(&image, META_DATA_PATH, META_DATA.len()).unwrap().as_deref(), Some(META_DATA), "{tag}");
        assert_eq!(read(&image, "qcloud_action/user_data", 65536), Ok(None), "{tag}");
        assert_eq!(read(&image, "nowhere/os.conf", 65536), Ok(None), "{tag}");
        assert_eq!(
            read(&image, META_DATA_PATH, META_DATA.len() - 1),
            Err(Iso9660Error::TooLarge {
                path: "/openstack/latest/meta_data.json".to_owned(),
                size: META_DATA.len() as u64,
                max: META_DATA.len() - 1
            }),
            "{tag}"
        );
        assert_eq!(
            read(&image, "openstack/latest", 65536),
            Err(Iso9660Error::IsADirectory("/openstack/latest".into()))
        );
        assert_eq!(
            read(&image, "qcloud_action/os.conf/x", 65536),
            Err(Iso9660Error::NotADirectory("/qcloud_action/os.conf".into()))
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

/// Plain ISO level 1 shortens and upper-cases names: only the 8.3 path is
/// there, found ignoring case, without its `;1`.
#[test]
fn plain_level_1_names_are_8_3_and_found_ignoring_case() {
    let image = image_bytes("plain", PLAIN);
    assert_eq!(names_of(&image), "primary");
    assert_eq!(volume_label(&mut Cursor::new(&image)).as_deref(), Some("config-2"));
    assert_eq!(read(&image, OS_CONF_PATH, 65536), Ok(None));
    assert_eq!(read(&image, "QCLOUD_A/OS.CON", 65536).unwrap().as_deref(), Some(OS_CONF));
    assert_eq!(read(&image, "qcloud_a/os.con", 65536).unwrap().as_deref(), Some(OS_CONF));
    assert_eq!(read(&image, "OPENSTAC/LATEST/META_DAT.JSO", 65536).unwrap().as_deref(), Some(META_DATA));
}

#[test]
fn what_is_not_iso9660_has_no_label_and_no_files() {
    for bytes in [Vec::new(), vec![0u8; 40 * 2048], b"CD001".repeat(20_000)] {
        assert_eq!(volume_label(&mut Cursor::new(&bytes)), None);
        assert_eq!(read(&bytes, OS_CONF_PATH, 65536), Err(Iso9660Error::NotIso9660));
    }
}

#[test]
fn paths_that_name_nothing_are_refused() {
    let image = image_bytes("paths", NOVA);
    let too_deep = "a/".repeat(MAX_COMPONENTS + 1);
    for path in ["", "/", "qcloud_action/../qcloud_action/os.conf", "./os.conf", too_deep.as_str()] {
        assert!(matches!(read(&image, path, 65536), Err(Iso9660Error::BadPath { .. })), "{path:?}");
    }
}

// ---- hostile images ----

/// Byte offsets of the directory records of every directory (primary and
/// Joliet trees, three levels deep), with the record's name as stored.
fn records(image: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut found = Vec::new();
    let descriptors = Descriptors::read(&mut Cursor::new(image)).unwrap();
    let mut directories: Vec<(Extent, usize)> = vec![(root_of(&descriptors.primary).unwrap(), 0)];
    if let Some(joliet) = &descriptors.joliet {
        directories.push((root_of(joliet).unwrap(), 0));
    }
    while let Some((directory, depth)) = directories.pop() {
        let start = directory.start as usize;
        let mut block = start;
        while block < start + directory.size as usize {
            let mut at = block;
            while at < block + BLOCK && image[at] != 0 {
                let record = Record::parse(&image[at..at + image[at] as usize]).unwrap();
                found.push((at, record.identifier.to_vec()));
                if !record.is_self_or_parent() && record.flags & FLAG_DIRECTORY != 0 && depth < 3 {
                    directories.push((record.extent, depth + 1));
                }
                at += image[at] as usize;
            }
            block += BLOCK;
        }
    }
    found
}

/// The offset of the record whose stored name starts with `name` (primary tree).
fn record_named(image: &[u8], name: &[u8]) -> usize {
    records(image).into_iter().find(|(_, id)| id.starts_with(name)).unwrap().0
}

/// The primary volume descriptor's root directory record, in the image.
const ROOT_RECORD: usize = 16 * BLOCK + 156;

fn put_u32_both(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
    image[at + 4..at + 8].copy_from_slice(&value.to_be_bytes());
}

/// A directory whose extent is its parent's, or its own: the lookup walks
/// down the path only, so it ends (the file is simply not found).
#[test]
fn a_directory_pointing_at_itself_or_its_parent_ends() {
    let clean = image_bytes("loop", PLAIN_LONG);
    let root_location = u32_le(&clean, ROOT_RECORD + 2).unwrap();
    let qcloud = record_named(&clean, b"qcloud_action");
    let openstack = record_named(&clean, b"openstack");
    let latest = record_named(&clean, b"latest");
    let openstack_location = u32_le(&clean, openstack + 2).unwrap();

    let mut parent = clean.clone();
    put_u32_both(&mut parent, qcloud + 2, root_location);
    assert_eq!(read(&parent, OS_CONF_PATH, 65536), Ok(None));
    let deep = format!("{}os.conf", "qcloud_action/".repeat(MAX_COMPONENTS - 1));
    assert_eq!(read(&parent, &deep, 65536), Ok(None));

    let mut itself = clean.clone();
    put_u32_both(&mut itself, latest + 2, openstack_location);
    assert_eq!(read(&itself, META_DATA_PATH, 65536), Ok(None));
    let deep = format!("openstack/{}meta_data.json", "latest/".repeat(MAX_COMPONENTS - 2));
    assert_eq!(read(&itself, &deep, 65536), Ok(None));
}

/// A length field of 0xFFFFFFFF: a file is refused before any buffer is
/// made (over the limit, or longer than the image), a directory read until
/// the image ends.
#[test]
fn lengths_of_0xffffffff_are_refused() {
    let clean = image_bytes("length", NOVA);
    let os_conf = record_named(&clean, b"os.conf");
    let mut image = clean.clone();
    put_u32_both(&mut image, os_conf + 10, u32::MAX);
    let too_large = read(&image, OS_CONF_PATH, 65536).unwrap_err();
    assert!(matches!(too_large, Iso9660Error::TooLarge { size: 0xFFFF_FFFF, .. }), "{too_large}");
    let beyond = read(&image, OS_CONF_PATH, usize::MAX).unwrap_err();
    assert!(beyond.to_string().contains("the image ends before the file does"), "{beyond}");

    // The root's first block still holds its records; after it, whatever
    // follows is read as records until one does not fit or the image ends.
    let mut image = clean.clone();
    put_u32_both(&mut image, ROOT_RECORD + 10, u32::MAX);
    assert_eq!(read(&image, OS_CONF_PATH, 65536).unwrap().as_deref(), Some(OS_CONF));
    let error = read(&image, "no/such/file", 65536).unwrap_err();
    assert!(matches!(error, Iso9660Error::Unreadable { .. } | Iso9660Error::BadRecord { .. }), "{error}");
}

/// A record length of 0 ends its block; one too short to be a record is an error.
#[test]
fn zero_and_short_record_lengths() {
    let clean = image_bytes("zero", PLAIN_LONG);
    let root_start = u32_le(&clean, ROOT_RECORD + 2).unwrap() as usize * BLOCK;
    let mut image = clean.clone();
    image[root_start] = 0;
    assert_eq!(read(&image, OS_CONF_PATH, 65536), Ok(None));
    let mut image = clean.clone();
    image[root_start] = 1;
    let error = read(&image, OS_CONF_PATH, 65536).unwrap_err();
    assert!(error.to_string().contains("a directory record in / has a length that does not fit"), "{error}");
}

fn continuation_entry(block: u32, offset: u32, length: u32) -> Vec<u8> {
    let mut ce = vec![b'C', b'E', 28, 1];
    for value in [block, offset, length] {
        ce.extend(value.to_le_bytes());
        ce.extend(value.to_be_bytes());
    }
    ce
}

/// A Rock Ridge image whose `openstack` record (the first the root's lookup
/// reads after `.` and `..`) starts its System Use area with `ce`.
fn with_continuation(clean: &[u8], ce: &[u8]) -> Vec<u8> {
    let mut image = clean.to_vec();
    let record = record_named(&image, b"openstack");
    let identifier_length = image[record + 32] as usize;
    let system_use = record + 33 + identifier_length + usize::from(identifier_length.is_multiple_of(2));
    assert!(system_use + ce.len() <= record + image[record] as usize, "no room for a CE entry");
    image[system_use..system_use + ce.len()].copy_from_slice(ce);
    image
}

#[test]
fn continuation_areas_out_of_bounds_or_in_a_loop_are_errors() {
    let clean = image_bytes("ce", NOVA);
    let past_the_end = with_continuation(&clean, &continuation_entry(0x00FF_FFFF, 0, 100));
    let error = read(&past_the_end, OS_CONF_PATH, 65536).unwrap_err();
    assert!(matches!(error, Iso9660Error::Unreadable { what: "a continuation area", .. }), "{error}");

    let crossing = with_continuation(&clean, &continuation_entry(20, 2000, 100));
    let error = read(&crossing, OS_CONF_PATH, 65536).unwrap_err();
    assert!(error.to_string().contains("crossing the end of its block"), "{error}");

    // Block 0 (the system area, zeros) holds a CE entry naming itself.
    let itself = continuation_entry(0, 0, 28);
    let mut looping = with_continuation(&clean, &itself);
    looping[..28].copy_from_slice(&itself);
    let error = read(&looping, OS_CONF_PATH, 65536).unwrap_err();
    assert!(error.to_string().contains("chains too many continuation areas"), "{error}");
}

/// An image of `length` bytes that reads as `head` and then `fill`, block
/// after block: a huge device without the memory.
struct Endless {
    head: Vec<u8>,
    fill: Vec<u8>,
    length: u64,
    position: u64,
}

impl Read for Endless {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buffer.len() && self.position < self.length {
            let p = self.position as usize;
            buffer[n] = if p < self.head.len() { self.head[p] } else { self.fill[p % BLOCK] };
            n += 1;
            self.position += 1;
        }
        Ok(n)
    }
}

impl Seek for Endless {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.length.saturating_add_signed(d),
            SeekFrom::Current(d) => self.position.saturating_add_signed(d),
        };
        Ok(self.position)
    }
}

/// A 4 GiB root directory on an image that has it all: the lookup stops
/// at its bounds, of bytes (blocks of padding) and of records (blocks full
/// of records naming other files).
#[test]
fn huge_directories_stop_at_the_bounds() {
    let clean = image_bytes("huge", PLAIN_LONG);
    let mut head = clean.clone();
    put_u32_both(&mut head, ROOT_RECORD + 10, u32::MAX);
    let root_start = u32_le(&clean, ROOT_RECORD + 2).unwrap() as usize * BLOCK;
    head.truncate(root_start);
    let mut record = [0u8; 34];
    record[0] = 34;
    record[32] = 1;
    record[33] = b'X';
    let full_of_records: Vec<u8> = record.repeat(BLOCK / 34).into_iter().chain([0; BLOCK % 34]).collect();
    for (fill, bound) in [(vec![0u8; BLOCK], "16 MiB of directories"), (full_of_records, "100000 directory records")] {
        let mut image = Endless { head: head.clone(), fill, length: 8 << 30, position: 0 };
        let started = Instant::now();
        let error = read_file(&mut image, OS_CONF_PATH, 65536).unwrap_err();
        assert_eq!(error, Iso9660Error::TooMuch { directory: "/".into(), what: bound });
        assert!(started.elapsed() < Duration::from_secs(20), "{bound}: {:?}", started.elapsed());
    }
}

/// Runs `read_file` on a thread of its own: a panic or a read still
/// running after the bound fails the case.
fn ends_without_panic(image: Vec<u8>) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut cursor = Cursor::new(image);
        let _ = volume_label(&mut cursor);
        for path in [OS_CONF_PATH, META_DATA_PATH] {
            let verdict = match read_file(&mut cursor, path, 65536) {
                Ok(Some(content)) if content.len() > 65536 => Err(format!("{path}: {} bytes", content.len())),
                Err(e) if e.to_string().is_empty() => Err(format!("{path}: an error without words")),
                _ => Ok(()),
            };
            if verdict.is_err() {
                let _ = tx.send(verdict);
                return;
            }
        }
        let _ = tx.send(Ok(()));
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(verdict) => verdict.map_err(TestCaseError::fail),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail("still reading after 30 s")),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(TestCaseError::fail("panicked (message above)")),
    }
}

/// One change to a real image.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte of the descriptors and directories (block 16 on).
    Flip { at: usize, with: u8 },
    /// Set a field of a directory record (its offset in the record) to a value, both-endian where 8 bytes.
    Field { record: usize, offset: usize, value: u32 },
    /// Cut the image after its first descriptor's start.
    Truncate { to: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![Just(0u32), Just(1), Just(u32::MAX), Just(0x7FFF_FFFF), Just(16), any::<u32>()];
    // Fields: length, extended attributes, location, size, flags, name length, System Use bytes.
    let offset = prop_oneof![Just(0usize), Just(1), Just(2), Just(10), Just(25), Just(32), 33usize..120];
    prop_oneof![
        3 => (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(at, with)| Mutation::Flip { at: at.index(1 << 20), with }),
        3 => (any::<prop::sample::Index>(), offset, value).prop_map(|(record, offset, value)| Mutation::Field {
            record: record.index(1 << 20),
            offset,
            value
        }),
        1 => any::<prop::sample::Index>().prop_map(|to| Mutation::Truncate { to: to.index(1 << 20) }),
    ]
}

fn apply(image: &mut Vec<u8>, records: &[usize], mutation: &Mutation) {
    let metadata = 16 * BLOCK..image.len();
    match *mutation {
        Mutation::Flip { at, with } => {
            let at = metadata.start + at % metadata.len().max(1);
            if let Some(byte) = image.get_mut(at) {
                *byte ^= with;
            }
        }
        Mutation::Field { record, offset, value } => {
            let at = records[record % records.len()] + offset;
            let bytes = match offset {
                2 | 10 => [value.to_le_bytes(), value.to_be_bytes()].concat(),
                _ => vec![value as u8],
            };
            for (n, byte) in bytes.into_iter().enumerate() {
                if let Some(slot) = image.get_mut(at + n) {
                    *slot = byte;
                }
            }
        }
        Mutation::Truncate { to } => image.truncate(metadata.start + to % (metadata.len() + 1)),
    }
}

/// Real images (nova's, xorriso's, Joliet-only, plain) with up to 8
/// mutations each: every lookup ends, without panic, well within the bound.
#[test]
fn mutated_images_never_panic_or_hang() {
    let cases = std::env::var("OSCONF_READER_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    for (tag, command) in [("nova", NOVA), ("xorriso", XORRISO), ("joliet", JOLIET_ONLY), ("plain", PLAIN)] {
        let clean = image_bytes(&format!("prop-{tag}"), command);
        let records: Vec<usize> = records(&clean).into_iter().map(|(at, _)| at).collect();
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        runner
            .run(&prop::collection::vec(mutation(), 1..8), |mutations| {
                let mut image = clean.clone();
                for m in &mutations {
                    apply(&mut image, &records, m);
                }
                ends_without_panic(image)
            })
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
    }
}
