//! Tables sfdisk made, compared with what `sfdisk --json` reads back from
//! the same file; hand-broken tables; random bytes.

use super::*;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A sparse file in a directory of its own, removed when dropped.
struct SparseFile(PathBuf);

impl std::ops::Deref for SparseFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for SparseFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh sparse file of `mib` MiB.
fn sparse_file(mib: u64) -> SparseFile {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "osconf-partitions-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("disk.img");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(mib << 20).unwrap();
    SparseFile(path)
}

fn run(tool: &str, args: &[&str], stdin: &str) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} is needed by this test (package fdisk / dosfstools): {e}"));
    use std::io::Write;
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Partitions `path` with sfdisk's `script`; returns the file's bytes.
fn sfdisk(path: &Path, script: &str) -> Vec<u8> {
    run("sfdisk", &["-q", path.to_str().unwrap()], script);
    std::fs::read(path).unwrap()
}

/// What `sfdisk --json` reads from `path`, in our terms.
fn sfdisk_view(path: &Path) -> (TableKind, Vec<Partition>) {
    let json: serde_json::Value =
        serde_json::from_slice(&run("sfdisk", &["--json", path.to_str().unwrap()], "")).unwrap();
    let table = &json["partitiontable"];
    let kind = match table["label"].as_str().unwrap() {
        "dos" => TableKind::Mbr,
        "gpt" => TableKind::Gpt,
        other => panic!("label {other}"),
    };
    let prefix = path.to_str().unwrap();
    let parts = table["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let type_id = p["type"].as_str().unwrap();
            Partition {
                number: p["node"].as_str().unwrap().strip_prefix(prefix).unwrap().parse().unwrap(),
                start: p["start"].as_u64().unwrap() * 512,
                size: p["size"].as_u64().unwrap() * 512,
                type_id: match kind {
                    TableKind::Mbr => format!("0x{:02x}", u8::from_str_radix(type_id, 16).unwrap()),
                    _ => type_id.to_string(),
                },
                gpt_name: p["name"].as_str().unwrap_or("").to_string(),
                bootable: p["bootable"].as_bool().unwrap_or(false)
                    || p["attrs"].as_str().unwrap_or("").contains("LegacyBIOSBootable"),
            }
        })
        .collect();
    (kind, parts)
}

fn assert_same_as_sfdisk(path: &Path, table: &Table) {
    let (kind, parts) = sfdisk_view(path);
    assert_eq!(table.kind, kind);
    assert_eq!(table.partitions, parts);
}

const MBR_FOUR: &str = "label: dos\nsize=1M, type=83, bootable\nsize=1M, type=ef\nsize=2M, type=8e\ntype=82\n";
const MBR_LOGICAL: &str =
    "label: dos\nsize=2M, type=83\ntype=05\nsize=1M, type=83\nsize=1M, type=8e, bootable\ntype=0c\n";
const GPT_NAMED: &str = "label: gpt\n\
    size=1M, type=21686148-6449-6E6F-744E-656564454649, name=\"bios grub\"\n\
    size=2M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI System\", attrs=\"LegacyBIOSBootable\"\n\
    size=1M, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name=\"lvm ü\"\n\
    name=\"root\"\n";

#[test]
fn an_mbr_with_four_primaries_reads_as_sfdisk_reads_it() {
    let path = sparse_file(8);
    let disk = sfdisk(&path, MBR_FOUR);
    let table = read_table(&disk).unwrap();
    assert_same_as_sfdisk(&path, &table);
    assert_eq!(table.partitions.len(), 4);
    assert!(table.partitions[0].bootable && table.partitions[1].is_esp() && table.partitions[2].is_lvm());
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
}

#[test]
fn an_extended_partition_s_logical_ones_are_numbered_from_5() {
    let path = sparse_file(16);
    let disk = sfdisk(&path, MBR_LOGICAL);
    let table = read_table(&disk).unwrap();
    assert_same_as_sfdisk(&path, &table);
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 5, 6, 7]);
    assert!(table.partitions[1].is_extended() && table.partitions[3].bootable && table.partitions[3].is_lvm());
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
}

#[test]
fn a_gpt_s_names_types_and_bios_bootable_attribute_read_as_sfdisk_reads_them() {
    let path = sparse_file(8);
    let disk = sfdisk(&path, GPT_NAMED);
    let table = read_table(&disk).unwrap();
    assert_same_as_sfdisk(&path, &table);
    let p = &table.partitions;
    assert!(p[0].is_bios_boot() && p[1].is_esp() && p[1].bootable && p[2].is_lvm());
    assert_eq!(p[2].gpt_name, "lvm ü");
    assert!(!table.mbr_boot_code, "sfdisk writes no boot code");
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
}

#[test]
fn a_bad_primary_gpt_header_or_entry_array_falls_back_to_the_backup() {
    let path = sparse_file(8);
    let good = sfdisk(&path, GPT_NAMED);
    // A byte of the header (its disk GUID), then a byte of its entry array (LBA 2).
    for offset in [512 + 60, 1024 + 100] {
        let mut disk = good.clone();
        disk[offset] ^= 0x55;
        let table = read_table(&disk).unwrap();
        assert_same_as_sfdisk(&path, &table);
        assert!(table.warnings.iter().any(|w| w.contains("backup")), "{:?}", table.warnings);
    }
    // Both headers bad: an error, not a guess.
    let mut disk = good.clone();
    disk[512 + 60] ^= 0x55;
    let last = disk.len() - 512;
    disk[last + 60] ^= 0x55;
    assert!(read_table(&disk).is_err());
}

#[test]
fn a_hybrid_mbr_reads_as_its_gpt() {
    let path = sparse_file(8);
    let mut disk = sfdisk(&path, GPT_NAMED);
    // The protective entry moved to slot 2, slot 1 mirrors the ESP (as gdisk's hybrids do).
    disk.copy_within(446..462, 462);
    put_entry(&mut disk, 446, 0x80, 0xEF, 4096, 4096);
    let table = read_table(&disk).unwrap();
    assert_same_as_sfdisk(&path, &table);
}

/// Rewrites the GPT header at byte `at` through `edit`, with a good CRC.
fn edit_gpt_header(disk: &mut [u8], at: usize, edit: impl Fn(&mut [u8])) {
    let header = &mut disk[at..at + 92];
    edit(header);
    header[16..20].fill(0);
    let crc = crc32(header);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn a_huge_gpt_entry_count_or_size_is_refused() {
    let path = sparse_file(8);
    let good = sfdisk(&path, GPT_NAMED);
    let last = good.len() - 512;
    for (field, value) in [(80, u32::MAX), (84, u32::MAX), (84, 100), (72, u32::MAX)] {
        let mut disk = good.clone();
        for at in [512, last] {
            edit_gpt_header(&mut disk, at, |h| h[field..field + 4].copy_from_slice(&value.to_le_bytes()));
        }
        assert!(read_table(&disk).is_err(), "field {field} = {value}");
    }
}

#[test]
fn a_4096_byte_sector_gpt_is_read() {
    // A 512-byte-sector GPT moved to 4096-byte sectors: header at LBA 1
    // (byte 4096), entries at LBA 2, partitions at the same LBAs.
    let path = sparse_file(8);
    let small = sfdisk(&path, GPT_NAMED);
    let mut disk = vec![0u8; 64 << 20];
    disk[..512].copy_from_slice(&small[..512]);
    disk[4096..4096 + 512].copy_from_slice(&small[512..1024]);
    disk[8192..8192 + 16384].copy_from_slice(&small[1024..1024 + 16384]);
    edit_gpt_header(&mut disk, 4096, |_| {});
    let table = read_table(&disk).unwrap();
    let (_, expected) = sfdisk_view(&path);
    assert_eq!(table.partitions.len(), expected.len());
    for (got, want) in table.partitions.iter().zip(&expected) {
        assert_eq!((got.start, got.size, &got.gpt_name), (want.start * 8, want.size * 8, &want.gpt_name));
    }
}

/// An MBR sector with `entries` (status, type, lba, sectors).
fn mbr(entries: &[(u8, u8, u32, u32)], disk_size: usize) -> Vec<u8> {
    let mut disk = vec![0u8; disk_size];
    for (i, &(status, kind, lba, sectors)) in entries.iter().enumerate() {
        put_entry(&mut disk, 446 + 16 * i, status, kind, lba, sectors);
    }
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk
}

fn put_entry(disk: &mut [u8], at: usize, status: u8, kind: u8, lba: u32, sectors: u32) {
    disk[at] = status;
    disk[at + 4] = kind;
    disk[at + 8..at + 12].copy_from_slice(&lba.to_le_bytes());
    disk[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
}

#[test]
fn a_loop_of_ebrs_ends_with_a_warning() {
    let mut disk = mbr(&[(0, 0x05, 100, 1000)], 1 << 20);
    for (ebr, next) in [(100usize, 10u32), (110, 20), (120, 10)] {
        let at = ebr * 512;
        put_entry(&mut disk, at + 446, 0, 0x83, 1, 5);
        put_entry(&mut disk, at + 462, 0, 0x05, next, 10);
        disk[at + 510] = 0x55;
        disk[at + 511] = 0xAA;
    }
    let table = read_table(&disk).unwrap();
    let numbers: Vec<u32> = table.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 5, 6, 7]);
    assert_eq!(table.partitions[3].start, 121 * 512);
    assert!(table.warnings.iter().any(|w| w.contains("loops")), "{:?}", table.warnings);
}

#[test]
fn partitions_past_the_end_are_cut_and_overlaps_warned() {
    let disk = mbr(&[(0x80, 0x83, 1, 100), (0, 0x83, 50, 100), (0, 0x83, 0xFFFF_FFFF, 0xFFFF_FFFF)], 1 << 16);
    let table = read_table(&disk).unwrap();
    assert_eq!(table.kind, TableKind::Mbr);
    assert_eq!((table.partitions[1].start, table.partitions[1].size), (50 * 512, (128 - 50) * 512));
    assert_eq!(table.partitions[2].size, 0);
    assert!(table.warnings.iter().any(|w| w.contains("partitions 1 and 2 overlap")), "{:?}", table.warnings);
    assert_eq!(table.warnings.iter().filter(|w| w.contains("cut")).count(), 2, "{:?}", table.warnings);
}

#[test]
fn a_bare_file_system_or_no_signature_is_no_table() {
    let path = sparse_file(4);
    run("mkfs.vfat", &[path.to_str().unwrap()], "");
    let fat = std::fs::read(&*path).unwrap();
    assert_eq!(Le(&fat).u16(510), 0xAA55, "a FAT boot sector ends in 0x55AA too");
    let table = read_table(&fat).unwrap();
    assert_eq!(table.kind, TableKind::None);
    assert!(table.mbr_boot_code);
    assert_eq!(read_table(&vec![0u8; 4096]).unwrap().kind, TableKind::None);
    assert_eq!(read_table(&vec![0u8; 100]).unwrap().kind, TableKind::None);
}

#[test]
fn crc32_is_ieee() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random bytes in the first sectors of a real GPT or MBR (logical
    /// partitions included), and random first sectors: never a panic.
    #[test]
    fn random_sector_bytes_never_panic(
        base in 0usize..3,
        edits in proptest::collection::vec((0usize..40 * 512, any::<u8>()), 0..64),
        random in proptest::collection::vec(any::<u8>(), 0..3 * 512),
        fix_signature in any::<bool>(),
    ) {
        static BASES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let bases = BASES.get_or_init(|| {
            [MBR_FOUR, MBR_LOGICAL, GPT_NAMED]
                .iter()
                .map(|script| sfdisk(&sparse_file(16), script))
                .collect()
        });
        let mut disk = bases[base].clone();
        for (at, byte) in edits {
            // Spread over the MBR, the GPT header and entries, and the EBRs.
            let at = if at >= 34 * 512 { 6144 * 512 + at - 34 * 512 } else { at };
            disk[at] = byte;
        }
        disk[..random.len()].copy_from_slice(&random);
        if fix_signature {
            disk[510] = 0x55;
            disk[511] = 0xAA;
        }
        let _ = read_table(&disk);
    }
}
