//! Partition tables: MBR (DOS) and GPT, read as Linux reads them.
//!
//! - MBR: the 0x55AA signature, four primary entries (numbers 1-4), and the
//!   logical partitions (5 and on) of an extended partition (types 0x05,
//!   0x0f, 0x85), a chain of EBRs walked at most [`MAX_LOGICAL`] steps, each
//!   EBR read once (a loop ends the chain with a warning). The extended
//!   partition itself is listed too, as sfdisk and the kernel list it
//!   ([`Partition::is_extended`]).
//! - GPT: a protective (or hybrid) MBR with an entry of type 0xEE, then the
//!   header at LBA 1 of 512-byte sectors (or 4096-byte ones), its CRC32 and
//!   its entry array's verified; a bad primary header falls back to the
//!   backup one at the disk's last LBA, with a warning.
//! - No table (no signature, or a FAT/NTFS boot sector without entries):
//!   [`TableKind::None`], a bare file system at offset 0.
//!
//! Not supported: BSD/Solaris/Apple tables nested in a partition, MBR
//! sector sizes other than 512, GPT partition attributes other than the
//! legacy BIOS bootable bit.

use std::io;

use super::fs::corrupt;
use super::read_at::{read_vec, Le, ReadAt};

/// Logical partitions followed in an extended partition's chain of EBRs
/// (the kernel's own bound is lower still in practice).
const MAX_LOGICAL: usize = 256;
/// The largest GPT entry array read (the usual one is 128 × 128 = 16 KiB).
const MAX_GPT_ARRAY: u64 = 1 << 20;
/// Warnings kept per table: a hostile table cannot flood the report.
const MAX_WARNINGS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Mbr,
    Gpt,
    /// No partition table: a bare file system at offset 0.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based as Linux names them: MBR primary 1-4, logical 5+; GPT entry
    /// index + 1.
    pub number: u32,
    /// Bytes from the start of the disk.
    pub start: u64,
    /// Bytes (cut at the end of the disk).
    pub size: u64,
    /// MBR: "0x83"; GPT: the type GUID, upper-case, as sfdisk prints it.
    pub type_id: String,
    /// GPT's partition name (empty on MBR).
    pub gpt_name: String,
    /// MBR's active flag; GPT's legacy BIOS bootable attribute.
    pub bootable: bool,
}

const GPT_ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const GPT_BIOS_BOOT: &str = "21686148-6449-6E6F-744E-656564454649";
const GPT_LVM: &str = "E6D6D379-F507-44C2-A23C-238F2A3DF928";

impl Partition {
    /// The EFI system partition.
    pub fn is_esp(&self) -> bool {
        self.type_id == GPT_ESP || self.type_id == "0xef"
    }
    /// GRUB's BIOS boot partition of a GPT disk.
    pub fn is_bios_boot(&self) -> bool {
        self.type_id == GPT_BIOS_BOOT
    }
    /// An LVM physical volume.
    pub fn is_lvm(&self) -> bool {
        self.type_id == GPT_LVM || self.type_id == "0x8e"
    }
    /// An MBR extended partition: a container of logical ones, no file system.
    pub fn is_extended(&self) -> bool {
        matches!(self.type_id.as_str(), "0x05" | "0x0f" | "0x85")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub kind: TableKind,
    pub partitions: Vec<Partition>,
    /// The first 440 bytes are not all zero: BIOS boot code present.
    pub mbr_boot_code: bool,
    pub warnings: Vec<String>,
}

impl Table {
    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }
}

/// Reads the partition table of `disk`. An I/O error, or a GPT whose two
/// headers are both unbelievable, is an error; anything else is a table,
/// with warnings for what was cut or skipped.
pub fn read_table(disk: &dyn ReadAt) -> io::Result<Table> {
    let mut table = Table { kind: TableKind::None, partitions: Vec::new(), mbr_boot_code: false, warnings: Vec::new() };
    if disk.size() < 512 {
        return Ok(table);
    }
    let mbr = read_vec(disk, 0, 512)?;
    table.mbr_boot_code = mbr.iter().take(440).any(|&b| b != 0);
    let entries: Vec<MbrEntry> = (0..4).map(|i| MbrEntry::parse(&mbr, 446 + 16 * i)).collect();
    if Le(&mbr).u16(510) != 0xAA55 || !looks_like_mbr(&mbr, &entries) {
        return Ok(table);
    }
    if entries.iter().any(|e| e.kind == 0xEE) {
        table.kind = TableKind::Gpt;
        read_gpt(disk, &mut table)?;
    } else {
        table.kind = TableKind::Mbr;
        read_mbr(disk, &entries, &mut table)?;
    }
    check_extents(disk.size(), &mut table);
    Ok(table)
}

/// One 16-byte MBR (or EBR) entry; LBAs in 512-byte sectors.
struct MbrEntry {
    status: u8,
    kind: u8,
    lba: u64,
    sectors: u64,
}

impl MbrEntry {
    fn parse(sector: &[u8], at: usize) -> MbrEntry {
        let le = Le(sector);
        MbrEntry { status: le.u8(at), kind: le.u8(at + 4), lba: le.u32(at + 8).into(), sectors: le.u32(at + 12).into() }
    }
    fn is_extended(&self) -> bool {
        matches!(self.kind, 0x05 | 0x0f | 0x85)
    }
}

/// A FAT or NTFS boot sector also ends in 0x55AA; as the kernel and blkid
/// do, an entry's status byte other than 0x00/0x80 means "not an MBR", and a
/// boot sector of a file system with no entry at all is that file system.
fn looks_like_mbr(mbr: &[u8], entries: &[MbrEntry]) -> bool {
    if entries.iter().any(|e| e.status != 0 && e.status != 0x80) {
        return false;
    }
    let le = Le(mbr);
    let fs_boot_sector = matches!(le.u8(0), 0xEB | 0xE9)
        && (le.bytes(0x36, 3) == b"FAT" || le.bytes(0x52, 3) == b"FAT" || le.bytes(3, 4) == b"NTFS");
    !(fs_boot_sector && entries.iter().all(|e| e.kind == 0))
}

fn mbr_partition(number: u32, entry: &MbrEntry, base_lba: u64) -> Partition {
    Partition {
        number,
        start: base_lba.saturating_add(entry.lba).saturating_mul(512),
        size: entry.sectors.saturating_mul(512),
        type_id: format!("0x{:02x}", entry.kind),
        gpt_name: String::new(),
        bootable: entry.status == 0x80,
    }
}

fn read_mbr(disk: &dyn ReadAt, entries: &[MbrEntry], table: &mut Table) -> io::Result<()> {
    let mut next_logical = 5u32;
    for (number, entry) in (1u32..).zip(entries) {
        if entry.kind == 0 || entry.sectors == 0 {
            continue;
        }
        table.partitions.push(mbr_partition(number, entry, 0));
        if entry.is_extended() {
            read_logicals(disk, entry.lba, &mut next_logical, table)?;
        }
    }
    Ok(())
}

/// Walks the chain of EBRs of the extended partition at `extended_lba`: each
/// EBR's first entry is a logical partition (relative to that EBR), its
/// second the next EBR (relative to the extended partition).
fn read_logicals(disk: &dyn ReadAt, extended_lba: u64, next_number: &mut u32, table: &mut Table) -> io::Result<()> {
    let mut seen = Vec::new();
    let mut ebr_lba = extended_lba;
    for _ in 0..MAX_LOGICAL {
        if seen.contains(&ebr_lba) {
            table.warn(format!("the chain of logical partitions loops back to sector {ebr_lba}: stopped there"));
            return Ok(());
        }
        seen.push(ebr_lba);
        let Some(offset) = ebr_lba.checked_mul(512).filter(|o| o.saturating_add(512) <= disk.size()) else {
            table.warn(format!("an extended boot record at sector {ebr_lba} is past the end of the disk"));
            return Ok(());
        };
        let ebr = read_vec(disk, offset, 512)?;
        if Le(&ebr).u16(510) != 0xAA55 {
            table.warn(format!("the extended boot record at sector {ebr_lba} has no 0x55AA signature"));
            return Ok(());
        }
        let logical = MbrEntry::parse(&ebr, 446);
        if logical.kind != 0 && logical.sectors != 0 {
            table.partitions.push(mbr_partition(*next_number, &logical, ebr_lba));
            *next_number += 1;
        }
        let link = MbrEntry::parse(&ebr, 462);
        if !link.is_extended() || link.lba == 0 {
            return Ok(());
        }
        ebr_lba = extended_lba.saturating_add(link.lba);
    }
    table.warn(format!("more than {MAX_LOGICAL} logical partitions: the rest were not read"));
    Ok(())
}

/// A GPT header, as far as it is read.
struct GptHeader {
    my_lba: u64,
    entries_lba: u64,
    entry_count: u64,
    entry_size: u64,
    entries_crc: u32,
}

fn read_gpt(disk: &dyn ReadAt, table: &mut Table) -> io::Result<()> {
    // The header's signature at LBA 1 tells the sector size.
    let sector = [512u64, 4096]
        .into_iter()
        .find(|&size| {
            let mut magic = [0u8; 8];
            disk.read_exact_at(&mut magic, size).is_ok() && &magic == b"EFI PART"
        })
        .unwrap_or(512);
    let last_lba = (disk.size() / sector).saturating_sub(1);
    let (header, entries) = match gpt_header(disk, sector, 1) {
        Ok(found) => found,
        Err(primary) => match gpt_header(disk, sector, last_lba) {
            Ok(found) => {
                table.warn(format!("the primary GPT header is bad ({primary}): the backup header was read"));
                found
            }
            Err(backup) => {
                return Err(corrupt(format!("GPT: the primary header is bad ({primary}), the backup too ({backup})")))
            }
        },
    };
    for (index, raw) in entries.chunks_exact(header.entry_size as usize).enumerate() {
        let le = Le(raw);
        let type_guid = le.bytes(0, 16);
        if type_guid.iter().all(|&b| b == 0) {
            continue;
        }
        let (first, last) = (le.u64(32), le.u64(40));
        let number = index as u32 + 1;
        if last < first {
            table.warn(format!("GPT partition {number} ends (LBA {last}) before it starts (LBA {first}): skipped"));
            continue;
        }
        let units: Vec<u16> = le.bytes(56, 72).chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let name_len = units.iter().position(|&u| u == 0).unwrap_or(units.len());
        table.partitions.push(Partition {
            number,
            start: first.saturating_mul(sector),
            size: (last - first).saturating_add(1).saturating_mul(sector),
            type_id: guid(type_guid),
            gpt_name: String::from_utf16_lossy(units.get(..name_len).unwrap_or(&[])),
            bootable: le.u64(48) & 4 != 0,
        });
    }
    Ok(())
}

/// Reads and verifies the GPT header at `lba` and its entry array.
fn gpt_header(disk: &dyn ReadAt, sector: u64, lba: u64) -> Result<(GptHeader, Vec<u8>), String> {
    let offset = lba.checked_mul(sector).ok_or("its LBA is out of range")?;
    let raw = read_vec(disk, offset, sector as usize).map_err(|e| e.to_string())?;
    let le = Le(&raw);
    if le.bytes(0, 8) != b"EFI PART" {
        return Err(format!("no EFI PART signature at LBA {lba}"));
    }
    let header_size = le.u32(12) as usize;
    if !(92..=raw.len()).contains(&header_size) {
        return Err(format!("header size {header_size}"));
    }
    let mut zeroed = raw.get(..header_size).unwrap_or(&[]).to_vec();
    zeroed.get_mut(16..20).unwrap_or(&mut []).fill(0);
    if crc32(&zeroed) != le.u32(16) {
        return Err("header CRC32 mismatch".into());
    }
    let header = GptHeader {
        my_lba: le.u64(24),
        entries_lba: le.u64(72),
        entry_count: le.u32(80).into(),
        entry_size: le.u32(84).into(),
        entries_crc: le.u32(88),
    };
    if header.my_lba != lba {
        return Err(format!("the header at LBA {lba} says it is at LBA {}", header.my_lba));
    }
    if header.entry_size < 128 || !header.entry_size.is_multiple_of(8) || header.entry_size > 4096 {
        return Err(format!("entry size {}", header.entry_size));
    }
    let array_size = header.entry_count.saturating_mul(header.entry_size);
    if array_size > MAX_GPT_ARRAY {
        return Err(format!("{} entries of {} bytes", header.entry_count, header.entry_size));
    }
    let array_offset = header.entries_lba.checked_mul(sector).ok_or("the entries' LBA is out of range")?;
    let entries = read_vec(disk, array_offset, array_size as usize).map_err(|e| format!("its entries: {e}"))?;
    if crc32(&entries) != header.entries_crc {
        return Err("entries CRC32 mismatch".into());
    }
    Ok((header, entries))
}

/// A GUID as sfdisk prints it: its first three fields are little-endian.
fn guid(b: &[u8]) -> String {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut out = String::with_capacity(36);
    for (n, &i) in order.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{:02X}", at(i)));
    }
    out
}

/// Cuts partitions at the end of the disk and warns of overlaps (an
/// extended partition holds its logical ones: that is no overlap).
fn check_extents(disk_size: u64, table: &mut Table) {
    let mut warnings = Vec::new();
    for part in &mut table.partitions {
        let end = part.start.saturating_add(part.size);
        if end > disk_size {
            warnings.push(format!(
                "partition {} ends at byte {end}, past the end of the disk ({disk_size} bytes): cut there",
                part.number
            ));
            part.size = disk_size.saturating_sub(part.start);
        }
    }
    let mut spans: Vec<(u64, u64, u32)> = table
        .partitions
        .iter()
        .filter(|p| !p.is_extended() && p.size > 0)
        .map(|p| (p.start, p.start.saturating_add(p.size), p.number))
        .collect();
    spans.sort_unstable();
    let mut furthest: Option<(u64, u32)> = None;
    for (start, end, number) in spans {
        if let Some((prev_end, prev)) = furthest {
            if start < prev_end {
                warnings.push(format!("partitions {prev} and {number} overlap"));
            }
        }
        if furthest.is_none_or(|(prev_end, _)| end > prev_end) {
            furthest = Some((end, number));
        }
    }
    for warning in warnings {
        table.warn(warning);
    }
}

/// CRC32 (IEEE 802.3, reflected 0xEDB88320) without a table: GPT's.
pub fn crc32(data: &[u8]) -> u32 {
    !crc32_update(!0, data)
}

/// The CRC32 register after `data`, from `crc`, without the final inversion
/// (LVM uses it so, from its own initial value).
pub fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

#[cfg(test)]
#[path = "partitions_tests.rs"]
mod tests;
