//! ext2, ext3 and ext4, read in user space.
//!
//! The superblock sits at byte 1024 (magic 0xEF53). The blocks are split in
//! groups; each group's descriptor (32 bytes, or `s_desc_size` with the
//! `64bit` feature; placed per meta group with `meta_bg`) says where its
//! inode table is. An inode maps its file's logical blocks either by an
//! extent tree (ext4, header magic 0xF30A, depth at most 5), by the classic
//! direct/indirect block map, or holds the data itself (`inline_data`: the
//! 60 bytes of `i_block` plus the in-inode `system.data` attribute).
//! Directories are read linearly, block by block: htree index blocks look
//! like empty entries there, so hashed directories need no special case.
//!
//! Not supported: the journal is not replayed (an image shut down cleanly
//! has nothing in it), external attribute blocks and `ea_inode` values,
//! encrypted names and contents (returned as stored), `compression` and
//! journal devices (an error naming them). Checksums are not verified.

use std::io;
use std::sync::Arc;

use super::{corrupt, DirEntry, FileSystem, Info, Kind, Stat};
use crate::check::image::read_at::{read_vec, Le, ReadAt};

const SUPERBLOCK_AT: u64 = 1024;
const MAGIC: u16 = 0xEF53;
const ROOT_INODE: u64 = 2;

const COMPAT_HAS_JOURNAL: u32 = 0x4;
const INCOMPAT_COMPRESSION: u32 = 0x1;
const INCOMPAT_FILETYPE: u32 = 0x2;
const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const RO_COMPAT_LARGE_FILE: u32 = 0x2;
const RO_COMPAT_BTREE_DIR: u32 = 0x4;

const FLAG_IMMUTABLE: u32 = 0x10;
const FLAG_EXTENTS: u32 = 0x80000;
const FLAG_INLINE_DATA: u32 = 0x1000_0000;

const EXTENT_MAGIC: u16 = 0xF30A;
/// The kernel's own limit is 5 levels (`EXT4_MAX_EXTENT_DEPTH`).
const MAX_EXTENT_DEPTH: u16 = 5;
/// No real directory comes near this (two million entries take ~100 MiB);
/// it bounds the time a directory with a hostile `i_size` can cost.
const MAX_DIR_BYTES: u64 = 256 << 20;
/// The `i_block` area of an inode: extent root, block map or inline data.
const I_BLOCK: usize = 0x28;
const I_BLOCK_LEN: usize = 60;

/// An opened ext2/3/4 file system.
pub struct Ext {
    device: Arc<dyn ReadAt>,
    block_size: u64,
    inode_size: u64,
    inodes_per_group: u64,
    inodes_count: u64,
    blocks_per_group: u64,
    first_data_block: u64,
    group_count: u64,
    desc_size: u64,
    first_meta_bg: u64,
    incompat: u32,
    ro_compat: u32,
    info: Info,
}

/// Logical blocks `logical..logical+len` of a file are at `physical..`;
/// `zeros` for an uninitialized extent (it reads as zeros).
#[derive(Debug, Clone, Copy)]
struct Run {
    logical: u64,
    physical: u64,
    len: u64,
    zeros: bool,
}

/// The state of one walk over an inode's block map or extent tree: the
/// runs found within the first `want` blocks, how many blocks they cover
/// (at most `want`: overlapping extents cannot multiply the work) and how
/// many more tree blocks it may read (a hostile tree whose index entries
/// all point at one node would otherwise cost fanout^depth reads).
struct Walk {
    want: u64,
    runs: Vec<Run>,
    covered: u64,
    nodes_left: u64,
}

impl Walk {
    /// Adds a run, clipped to the first `want` blocks, merging contiguous ones.
    fn push(&mut self, run: Run) -> io::Result<()> {
        if run.logical >= self.want || run.len == 0 {
            return Ok(());
        }
        let len = run.len.min(self.want - run.logical);
        self.covered = self.covered.saturating_add(len);
        if self.covered > self.want {
            return Err(corrupt("ext: a file's extents overlap"));
        }
        if let Some(last) = self.runs.last_mut() {
            let contiguous = last.logical + last.len == run.logical
                && last.physical.checked_add(last.len) == Some(run.physical)
                && last.zeros == run.zeros;
            if contiguous {
                last.len += len;
                return Ok(());
            }
        }
        self.runs.push(Run { len, ..run });
        Ok(())
    }

    /// Counts one more tree block read.
    fn spend(&mut self) -> io::Result<()> {
        self.nodes_left = self
            .nodes_left
            .checked_sub(1)
            .ok_or_else(|| corrupt("ext: a block map or extent tree reads too many blocks"))?;
        Ok(())
    }
}

/// An inode's bytes and the fields every caller needs.
struct Inode {
    raw: Vec<u8>,
    mode: u16,
    size: u64,
    flags: u32,
}

/// Whether `device` starts like an ext2/3/4 file system.
pub fn is_ext(device: &dyn ReadAt) -> bool {
    let mut magic = [0u8; 2];
    device.read_exact_at(&mut magic, SUPERBLOCK_AT + 0x38).is_ok() && u16::from_le_bytes(magic) == MAGIC
}

/// Reads and checks the superblock.
pub fn open(device: Arc<dyn ReadAt>) -> io::Result<Ext> {
    let raw = read_vec(&*device, SUPERBLOCK_AT, 1024)?;
    let sb = Le(&raw);
    if sb.u16(0x38) != MAGIC {
        return Err(corrupt("ext: no superblock magic 0xEF53 at byte 1024"));
    }
    let log_block = sb.u32(0x18);
    if log_block > 6 {
        return Err(corrupt(format!("ext: block size 1024 << {log_block} is over 64 KiB")));
    }
    let block_size = 1024u64 << log_block;
    let inode_size = if sb.u32(0x4C) == 0 { 128 } else { u64::from(sb.u16(0x58)) };
    if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
        return Err(corrupt(format!("ext: inode size {inode_size}")));
    }
    let (compat, incompat, ro_compat) = (sb.u32(0x5C), sb.u32(0x60), sb.u32(0x64));
    if incompat & INCOMPAT_COMPRESSION != 0 {
        return Err(corrupt("ext: the compression feature is not supported"));
    }
    if incompat & INCOMPAT_JOURNAL_DEV != 0 {
        return Err(corrupt("ext: an external journal device holds no files"));
    }
    let is_64bit = incompat & INCOMPAT_64BIT != 0;
    let hi = |at: usize| if is_64bit { u64::from(sb.u32(at)) << 32 } else { 0 };
    let blocks_total = u64::from(sb.u32(0x04)) | hi(0x150);
    let blocks_free = u64::from(sb.u32(0x0C)) | hi(0x158);
    let inodes_count = u64::from(sb.u32(0x00));
    let inodes_per_group = u64::from(sb.u32(0x28));
    let blocks_per_group = u64::from(sb.u32(0x20));
    let first_data_block = u64::from(sb.u32(0x14));
    if inodes_per_group == 0 || inodes_per_group > block_size * 8 || blocks_per_group == 0 {
        return Err(corrupt(format!("ext: {inodes_per_group} inodes and {blocks_per_group} blocks per group")));
    }
    if blocks_total <= first_data_block {
        return Err(corrupt(format!("ext: {blocks_total} blocks, the first at {first_data_block}")));
    }
    let group_count = (blocks_total - first_data_block).div_ceil(blocks_per_group);
    let desc_size = if is_64bit { u64::from(sb.u16(0xFE)) } else { 32 };
    if desc_size < 32 || !desc_size.is_power_of_two() || desc_size > block_size {
        return Err(corrupt(format!("ext: group descriptor size {desc_size}")));
    }
    // The way blkid names it: any feature ext3 lacks makes it ext4.
    let ext3_incompat = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;
    let ext3_ro_compat = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
    let kind = if incompat & !ext3_incompat != 0 || ro_compat & !ext3_ro_compat != 0 {
        "ext4"
    } else if compat & COMPAT_HAS_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    };
    let label = sb.bytes(0x78, 16);
    let label = label.split(|&b| b == 0).next().unwrap_or(&[]);
    let info = Info {
        kind,
        uuid: super::uuid_text(sb.bytes(0x68, 16)),
        label: String::from_utf8_lossy(label).into_owned(),
        blocks_total,
        blocks_free,
        inodes_total: inodes_count,
        inodes_free: u64::from(sb.u32(0x10)),
        ext_64bit: is_64bit,
    };
    Ok(Ext {
        device,
        block_size,
        inode_size,
        inodes_per_group,
        inodes_count,
        blocks_per_group,
        first_data_block,
        group_count,
        desc_size,
        first_meta_bg: u64::from(sb.u32(0x104)),
        incompat,
        ro_compat,
        info,
    })
}

/// `len` bytes of `raw` at `at`, or none when they are not all there.
fn bytes(raw: &[u8], at: usize, len: usize) -> &[u8] {
    raw.get(at..at.saturating_add(len)).unwrap_or(&[])
}

impl Ext {
    /// The byte offset of a block, checked against overflow.
    fn block_offset(&self, block: u64) -> io::Result<u64> {
        block.checked_mul(self.block_size).ok_or_else(|| corrupt(format!("ext: block {block} is out of range")))
    }

    fn read_block(&self, block: u64) -> io::Result<Vec<u8>> {
        read_vec(&*self.device, self.block_offset(block)?, self.block_size as usize)
    }

    /// Whether group `group` holds a backup superblock (and so, with
    /// `meta_bg`, its meta group's descriptor block comes after it).
    fn has_superblock(&self, group: u64) -> bool {
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || group <= 1 {
            return true;
        }
        [3u64, 5, 7].iter().any(|&base| {
            let mut power = base;
            while power < group {
                power = power.saturating_mul(base);
            }
            power == group
        })
    }

    /// Where group `group`'s descriptor is on the device.
    fn descriptor_offset(&self, group: u64) -> io::Result<u64> {
        let per_block = self.block_size / self.desc_size;
        let meta_group = group / per_block;
        let block = if self.incompat & INCOMPAT_META_BG == 0 || meta_group < self.first_meta_bg {
            // The table right after the superblock's block.
            self.first_data_block + 1 + meta_group
        } else {
            // meta_bg: each meta group's first group holds its descriptors.
            let first = meta_group * per_block;
            let start = first.checked_mul(self.blocks_per_group).and_then(|b| b.checked_add(self.first_data_block));
            let start = start.ok_or_else(|| corrupt("ext: meta_bg group out of range"))?;
            start + u64::from(self.has_superblock(first))
        };
        self.block_offset(block)?
            .checked_add((group % per_block) * self.desc_size)
            .ok_or_else(|| corrupt(format!("ext: descriptor of group {group} is out of range")))
    }

    /// Where inode `ino` is on the device.
    fn inode_offset(&self, ino: u64) -> io::Result<u64> {
        if ino == 0 || ino > self.inodes_count {
            return Err(corrupt(format!("ext: inode {ino} is out of range (1..={})", self.inodes_count)));
        }
        let group = (ino - 1) / self.inodes_per_group;
        if group >= self.group_count {
            return Err(corrupt(format!("ext: inode {ino} lies in group {group} of {}", self.group_count)));
        }
        let desc = read_vec(&*self.device, self.descriptor_offset(group)?, self.desc_size as usize)?;
        let desc = Le(&desc);
        let mut table = u64::from(desc.u32(0x08));
        if self.desc_size >= 64 {
            table |= u64::from(desc.u32(0x28)) << 32;
        }
        let index = (ino - 1) % self.inodes_per_group;
        self.block_offset(table)?
            .checked_add(index * self.inode_size)
            .ok_or_else(|| corrupt(format!("ext: inode table of group {group} is out of range")))
    }

    fn inode(&self, ino: u64) -> io::Result<Inode> {
        let raw = read_vec(&*self.device, self.inode_offset(ino)?, self.inode_size as usize)?;
        let le = Le(&raw);
        let (mode, flags) = (le.u16(0x00), le.u32(0x20));
        let size = u64::from(le.u32(0x04)) | u64::from(le.u32(0x6C)) << 32;
        Ok(Inode { raw, mode, size, flags })
    }

    /// The `system.data` attribute of an inline-data inode (its bytes past
    /// the first 60), from the attributes stored inside the inode.
    fn inline_attribute<'a>(&self, inode: &'a Inode) -> &'a [u8] {
        let le = Le(&inode.raw);
        let start = 128 + usize::from(le.u16(0x80));
        if inode.raw.len() <= 128 || le.u32(start) != 0xEA02_0000 {
            return &[];
        }
        let entries = start + 4;
        let mut at = entries;
        // Each entry is at least 16 bytes and `at` only grows: bounded by the inode.
        while at + 16 <= inode.raw.len() && le.u32(at) != 0 {
            let name_len = usize::from(le.u8(at));
            let (index, value_at) = (le.u8(at + 1), usize::from(le.u16(at + 2)));
            let value_len = le.u32(at + 8) as usize;
            if index == 7 && le.bytes(at + 16, name_len) == b"data" {
                return bytes(&inode.raw, entries + value_at, value_len);
            }
            at += (16 + name_len + 3) & !3;
        }
        &[]
    }

    /// The inline data of an inode: `i_block` then `system.data`.
    fn inline_data(&self, inode: &Inode) -> io::Result<Vec<u8>> {
        let mut data = Le(&inode.raw).bytes(I_BLOCK, I_BLOCK_LEN).to_vec();
        data.extend_from_slice(self.inline_attribute(inode));
        let size = usize::try_from(inode.size).unwrap_or(usize::MAX);
        if size > data.len() {
            return Err(corrupt(format!("ext: inline data of {} bytes for a size of {size}", data.len())));
        }
        data.truncate(size);
        Ok(data)
    }

    /// The block runs of an inode's first `want` logical blocks, in order.
    fn runs(&self, inode: &Inode, want: u64) -> io::Result<Vec<Run>> {
        // A valid tree reads at most a few tree blocks per wanted block.
        let mut walk =
            Walk { want, runs: Vec::new(), covered: 0, nodes_left: want.saturating_mul(8).saturating_add(64) };
        let i_block = bytes(&inode.raw, I_BLOCK, I_BLOCK_LEN);
        if inode.flags & FLAG_EXTENTS != 0 {
            self.extent_node(i_block, None, &mut walk)?;
        } else {
            // 12 direct pointers, then a single, a double and a triple indirect one.
            let per_block = self.block_size / 4;
            let mut logical = 0u64;
            for slot in 0..15usize {
                let level = slot.saturating_sub(11) as u32;
                let pointer = u64::from(Le(i_block).u32(slot * 4));
                self.block_map(pointer, level, logical, &mut walk)?;
                logical = logical.saturating_add(per_block.saturating_pow(level));
            }
        }
        walk.runs.sort_by_key(|run| run.logical);
        Ok(walk.runs)
    }

    /// One node of an extent tree; `depth` is what its parent expects.
    fn extent_node(&self, node: &[u8], depth: Option<u16>, walk: &mut Walk) -> io::Result<()> {
        let le = Le(node);
        if le.u16(0) != EXTENT_MAGIC {
            return Err(corrupt("ext: extent header without magic 0xF30A"));
        }
        let (entries, node_depth) = (usize::from(le.u16(2)), le.u16(6));
        if node_depth > MAX_EXTENT_DEPTH || depth.is_some_and(|d| d != node_depth) {
            return Err(corrupt(format!(
                "ext: extent tree depth {node_depth} (at most {MAX_EXTENT_DEPTH}, one less than its parent)"
            )));
        }
        if 12 + entries * 12 > node.len() {
            return Err(corrupt(format!("ext: {entries} extents do not fit their node")));
        }
        for i in 0..entries {
            let at = 12 + i * 12;
            let logical = u64::from(le.u32(at));
            if logical >= walk.want {
                continue;
            }
            if node_depth == 0 {
                let raw_len = u64::from(le.u16(at + 4));
                // Past 32768 the length marks an uninitialized extent.
                let (len, zeros) = if raw_len > 32768 { (raw_len - 32768, true) } else { (raw_len, false) };
                let physical = u64::from(le.u16(at + 6)) << 32 | u64::from(le.u32(at + 8));
                walk.push(Run { logical, physical, len, zeros })?;
            } else {
                let child = u64::from(le.u32(at + 4)) | u64::from(le.u16(at + 8)) << 32;
                walk.spend()?;
                let block = self.read_block(child)?;
                self.extent_node(&block, Some(node_depth - 1), walk)?;
            }
        }
        Ok(())
    }

    /// A block-map pointer: data (`level` 0) or an indirect block whose
    /// pointers cover `block_size/4 ^ level` blocks from `logical`.
    fn block_map(&self, pointer: u64, level: u32, logical: u64, walk: &mut Walk) -> io::Result<()> {
        if pointer == 0 || logical >= walk.want {
            return Ok(()); // A hole, or past what is wanted.
        }
        if level == 0 {
            return walk.push(Run { logical, physical: pointer, len: 1, zeros: false });
        }
        walk.spend()?;
        let per_block = self.block_size / 4;
        let span = per_block.saturating_pow(level - 1);
        let block = self.read_block(pointer)?;
        for i in 0..per_block {
            let child_logical = logical.saturating_add(i.saturating_mul(span));
            if child_logical >= walk.want {
                break;
            }
            let child = u64::from(Le(&block).u32(i as usize * 4));
            self.block_map(child, level - 1, child_logical, walk)?;
        }
        Ok(())
    }

    /// The first `size` bytes of an inode's data (holes are zeros).
    fn read_data(&self, inode: &Inode, size: u64) -> io::Result<Vec<u8>> {
        if inode.flags & FLAG_INLINE_DATA != 0 {
            return self.inline_data(inode);
        }
        // The caller's `max` bounds `size`; still, an allocation that fails is an error, not an abort.
        let len = usize::try_from(size).map_err(|_| corrupt("ext: file too large"))?;
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| corrupt(format!("ext: no memory for a file of {size} bytes")))?;
        data.resize(len, 0);
        for run in self.runs(inode, size.div_ceil(self.block_size))? {
            if run.zeros {
                continue;
            }
            // Runs are clipped to the wanted blocks: these cannot overflow.
            let start = (run.logical * self.block_size) as usize;
            let end = ((run.logical + run.len) * self.block_size).min(size) as usize;
            if let Some(target) = data.get_mut(start..end) {
                self.device.read_exact_at(target, self.block_offset(run.physical)?)?;
            }
        }
        Ok(data)
    }

    /// The live entries of one directory block (or inline area).
    fn parse_dir_block(&self, block: &[u8], max: usize, out: &mut Vec<DirEntry>) -> io::Result<()> {
        let le = Le(block);
        let mut at = 0usize;
        while at + 8 <= block.len() {
            let inode = le.u32(at);
            let raw = usize::from(le.u16(at + 4));
            // 64 KiB blocks store a record of 65536 bytes in 16 bits.
            let rec_len = if raw == 0 || raw == 0xFFFF { 65536 } else { (raw & 0xFFFC) | (raw & 3) << 16 };
            let name_len = if self.incompat & INCOMPAT_FILETYPE != 0 {
                usize::from(le.u8(at + 6))
            } else {
                usize::from(le.u16(at + 6))
            };
            if rec_len < 8 || at + rec_len > block.len() || 8 + name_len > rec_len {
                return Err(corrupt(format!("ext: directory entry at {at} of length {rec_len}, name {name_len}")));
            }
            let name = le.bytes(at + 8, name_len);
            if inode != 0 && name != b"." && name != b".." {
                if out.len() >= max {
                    return Err(corrupt(format!("ext: directory has more than {max} entries")));
                }
                out.push(DirEntry { name: name.to_vec(), inode: u64::from(inode) });
            }
            at += rec_len;
        }
        Ok(())
    }
}

impl FileSystem for Ext {
    fn info(&self) -> Info {
        self.info.clone()
    }

    fn root(&self) -> u64 {
        ROOT_INODE
    }

    fn stat(&self, ino: u64) -> io::Result<Stat> {
        let inode = self.inode(ino)?;
        let le = Le(&inode.raw);
        let kind = match inode.mode & 0o170000 {
            0o100000 => Kind::File,
            0o040000 => Kind::Dir,
            0o120000 => Kind::Symlink,
            _ => Kind::Other,
        };
        Ok(Stat {
            kind,
            mode: u32::from(inode.mode & 0o7777),
            uid: u32::from(le.u16(0x02)) | u32::from(le.u16(0x78)) << 16,
            gid: u32::from(le.u16(0x18)) | u32::from(le.u16(0x7A)) << 16,
            size: inode.size,
            immutable: inode.flags & FLAG_IMMUTABLE != 0,
        })
    }

    fn read_dir(&self, dir: u64, max: usize) -> io::Result<Vec<DirEntry>> {
        let inode = self.inode(dir)?;
        if inode.mode & 0o170000 != 0o040000 {
            return Err(corrupt(format!("ext: inode {dir} is not a directory")));
        }
        let mut out = Vec::new();
        if inode.flags & FLAG_INLINE_DATA != 0 {
            // i_block: the parent's inode number, then entries; then system.data.
            let i_block = bytes(&inode.raw, I_BLOCK + 4, I_BLOCK_LEN - 4);
            self.parse_dir_block(i_block, max, &mut out)?;
            let more = self.inline_attribute(&inode);
            if !more.is_empty() {
                self.parse_dir_block(more, max, &mut out)?;
            }
            return Ok(out);
        }
        if inode.size > MAX_DIR_BYTES {
            return Err(corrupt(format!("ext: directory {dir} of {} bytes", inode.size)));
        }
        for run in self.runs(&inode, inode.size.div_ceil(self.block_size))? {
            if run.zeros {
                continue;
            }
            for block in run.physical..run.physical.saturating_add(run.len) {
                self.parse_dir_block(&self.read_block(block)?, max, &mut out)?;
            }
        }
        Ok(out)
    }

    fn read_file(&self, ino: u64, max: u64) -> io::Result<Vec<u8>> {
        let inode = self.inode(ino)?;
        if inode.mode & 0o170000 != 0o100000 {
            return Err(corrupt(format!("ext: inode {ino} is not a regular file")));
        }
        if inode.size > max {
            return Err(corrupt(format!("ext: file of {} bytes is larger than {max}", inode.size)));
        }
        self.read_data(&inode, inode.size)
    }

    fn read_link(&self, ino: u64) -> io::Result<Vec<u8>> {
        let inode = self.inode(ino)?;
        if inode.mode & 0o170000 != 0o120000 {
            return Err(corrupt(format!("ext: inode {ino} is not a symbolic link")));
        }
        // PATH_MAX: no longer target is valid.
        if inode.size > 4096 {
            return Err(corrupt(format!("ext: symbolic link of {} bytes", inode.size)));
        }
        let le = Le(&inode.raw);
        // A fast link keeps its target in i_block and uses no block (bar an
        // attribute block, counted in 512-byte sectors).
        let attribute_sectors = if le.u32(0x68) != 0 { self.block_size / 512 } else { 0 };
        let fast = inode.flags & (FLAG_EXTENTS | FLAG_INLINE_DATA) == 0
            && inode.size < I_BLOCK_LEN as u64
            && u64::from(le.u32(0x1C)) == attribute_sectors;
        if fast {
            return Ok(le.bytes(I_BLOCK, inode.size as usize).to_vec());
        }
        self.read_data(&inode, inode.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::fs;
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A directory of its own per call, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!("osconf-ext-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Runs an e2fsprogs tool; its exit codes in `ok` are success.
    fn run(tool: &str, args: &[&OsStr], ok: &[i32]) -> String {
        let out = Command::new(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{tool} is needed (apt-get install e2fsprogs): {e}"));
        let code = out.status.code().unwrap_or(-1);
        assert!(ok.contains(&code), "{tool} {args:?} exited {code}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// 3 MiB that differ block by block (a misplaced block shows).
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ (i / 4096) as u8).collect()
    }

    /// The tree every fixture is made from; `big` adds the 3 MiB file and
    /// the 2000-entry directory.
    fn source_tree(root: &Path, big: bool) {
        let write = |name: &str, data: &[u8]| fs::write(root.join(name), data).unwrap();
        write("empty", b"");
        write("one", b"1");
        write("sixty", &[b's'; 60]);
        write("hundred", &pattern(100));
        write("five_k", &pattern(5000));
        let mut sparse = fs::File::create(root.join("sparse")).unwrap();
        sparse.write_all(b"head").unwrap();
        sparse.seek(SeekFrom::Start(1 << 20)).unwrap();
        sparse.write_all(b"tail after a hole").unwrap();
        // Ten data blocks between holes: more extents than i_block holds (4).
        let mut islands = fs::File::create(root.join("islands")).unwrap();
        for i in 0..10u64 {
            islands.seek(SeekFrom::Start(i * 16384)).unwrap();
            islands.write_all(&pattern(4096 + i as usize)[i as usize..]).unwrap();
        }
        fs::create_dir_all(root.join("a/b/c")).unwrap();
        fs::write(root.join("a/b/c/deep.txt"), b"deep\n").unwrap();
        fs::create_dir(root.join("etc")).unwrap();
        fs::write(root.join("etc/shadow"), b"root:*:19000:0:99999:7:::\n").unwrap();
        fs::set_permissions(root.join("etc/shadow"), fs::Permissions::from_mode(0o600)).unwrap();
        write("script", b"#!/bin/sh\n");
        fs::set_permissions(root.join("script"), fs::Permissions::from_mode(0o755)).unwrap();
        write("owned", b"mine");
        std::os::unix::fs::chown(root.join("owned"), Some(1234), Some(5678)).unwrap();
        symlink("sixty", root.join("fast_link")).unwrap();
        symlink("x".repeat(200), root.join("slow_link")).unwrap();
        let entries = if big { 2000 } else { 150 };
        fs::create_dir(root.join("many")).unwrap();
        for i in 0..entries {
            // Empty: 2000 data blocks would not fit the 16 MiB fixtures.
            fs::write(root.join(format!("many/entry-{i:05}")), b"").unwrap();
        }
        if big {
            write("big", &pattern(3 << 20));
        }
    }

    /// An image of `source_tree` made by `mke2fs options`, with hashed
    /// directories when the file system has dir_index.
    fn fixture(dir: &TempDir, options: &[&str], size: &str, big: bool) -> PathBuf {
        let tree = dir.0.join("tree");
        fs::create_dir_all(&tree).unwrap();
        source_tree(&tree, big);
        let image = dir.0.join("image");
        let mut args: Vec<&OsStr> = ["-q", "-F", "-L", "osconf-test"].iter().map(OsStr::new).collect();
        args.extend(options.iter().map(OsStr::new));
        args.extend([OsStr::new("-d"), tree.as_os_str(), image.as_os_str(), OsStr::new(size)]);
        run("mke2fs", &args, &[0]);
        // mke2fs -d does not index directories; e2fsck -D does (exit 1: it changed something).
        run("e2fsck", &[OsStr::new("-fyD"), image.as_os_str()], &[0, 1]);
        image
    }

    fn load(image: &Path) -> Ext {
        open(Arc::new(fs::read(image).unwrap())).unwrap()
    }

    fn lookup(ext: &Ext, path: &str) -> u64 {
        path.split('/').fold(ext.root(), |dir, name| {
            let entries = ext.read_dir(dir, 10_000).unwrap();
            entries.iter().find(|e| e.name == name.as_bytes()).unwrap_or_else(|| panic!("{path}: no {name}")).inode
        })
    }

    /// Compares the directory `ino` with `dir` of the source tree, recursively:
    /// names, kinds, modes, owners, sizes, contents and link targets.
    fn compare(ext: &Ext, ino: u64, dir: &Path) -> usize {
        let entries = ext.read_dir(ino, 10_000).unwrap();
        let mut names: Vec<Vec<u8>> = entries.iter().map(|e| e.name.clone()).filter(|n| n != b"lost+found").collect();
        let mut expected: Vec<Vec<u8>> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_vec()).collect();
        names.sort();
        expected.sort();
        assert_eq!(names, expected, "the entries of {dir:?}");
        let mut compared = 0;
        for entry in entries.iter().filter(|e| e.name != b"lost+found") {
            let path = dir.join(OsStr::from_bytes(&entry.name));
            let meta = fs::symlink_metadata(&path).unwrap();
            let stat = ext.stat(entry.inode).unwrap();
            assert_eq!((stat.mode, stat.uid, stat.gid), (meta.mode() & 0o7777, meta.uid(), meta.gid()), "{path:?}");
            assert!(!stat.immutable, "{path:?}");
            compared += 1;
            if meta.is_dir() {
                assert_eq!(stat.kind, Kind::Dir, "{path:?}");
                compared += compare(ext, entry.inode, &path);
            } else if meta.is_symlink() {
                assert_eq!(stat.kind, Kind::Symlink, "{path:?}");
                assert_eq!(
                    ext.read_link(entry.inode).unwrap(),
                    fs::read_link(&path).unwrap().into_os_string().into_vec(),
                    "{path:?}"
                );
            } else {
                assert_eq!((stat.kind, stat.size), (Kind::File, meta.len()), "{path:?}");
                assert_eq!(ext.read_file(entry.inode, 8 << 20).unwrap(), fs::read(&path).unwrap(), "{path:?}");
            }
        }
        compared
    }

    /// `Info` against what dumpe2fs reads from the superblock.
    fn compare_info(ext: &Ext, image: &Path, kind: &str) {
        let header = run("dumpe2fs", &[OsStr::new("-h"), image.as_os_str()], &[0]);
        let field = |key: &str| {
            let line = header
                .lines()
                .find(|l| l.starts_with(&format!("{key}:")))
                .unwrap_or_else(|| panic!("dumpe2fs has no {key}"));
            line[key.len() + 1..].trim().to_string()
        };
        let number = |key: &str| field(key).parse::<u64>().unwrap();
        let info = ext.info();
        assert_eq!(info.kind, kind);
        assert_eq!(info.uuid, field("Filesystem UUID"));
        assert_eq!(info.label, field("Filesystem volume name"));
        assert_eq!((info.blocks_total, info.blocks_free), (number("Block count"), number("Free blocks")));
        assert_eq!((info.inodes_total, info.inodes_free), (number("Inode count"), number("Free inodes")));
        assert_eq!(info.ext_64bit, field("Filesystem features").split(' ').any(|f| f == "64bit"));
    }

    /// A fixture made with `options` reads back as its source tree.
    fn reads_back(options: &[&str], kind: &str) -> (TempDir, PathBuf) {
        let dir = TempDir::new();
        let image = fixture(&dir, options, "16M", true);
        let ext = load(&image);
        compare_info(&ext, &image, kind);
        assert!(compare(&ext, ext.root(), &dir.0.join("tree")) > 2000);
        // The 2000 entries made a hashed directory (EXT4_INDEX_FL), unless one block holds them.
        let many = ext.inode(lookup(&ext, "many")).unwrap();
        assert!(many.flags & 0x1000 != 0 || many.size == ext.block_size, "many/ is not an htree directory");
        (dir, image)
    }

    #[test]
    fn ext4_64bit_4k_reads_back() {
        let (_dir, image) = reads_back(&["-t", "ext4", "-b", "4096", "-O", "64bit"], "ext4");
        let ext = load(&image);
        assert!(ext.info().ext_64bit);
        // The 3 MiB file has extents; the islands took a tree of depth 1.
        assert_ne!(ext.inode(lookup(&ext, "big")).unwrap().flags & FLAG_EXTENTS, 0);
        let islands = ext.inode(lookup(&ext, "islands")).unwrap();
        assert_eq!(Le(&islands.raw).u16(I_BLOCK + 6), 1, "the islands' extent tree depth");
    }

    #[test]
    fn ext4_without_64bit_1k_blocks_128_byte_inodes_reads_back() {
        let (_dir, image) = reads_back(&["-t", "ext4", "-b", "1024", "-I", "128", "-O", "^64bit"], "ext4");
        assert!(!load(&image).info().ext_64bit);
    }

    #[test]
    fn ext3_reads_back_through_indirect_blocks() {
        let (_dir, image) = reads_back(&["-t", "ext3", "-b", "1024"], "ext3");
        let ext = load(&image);
        // 3 MiB in 1 KiB blocks needs the double indirect block.
        assert_eq!(ext.inode(lookup(&ext, "big")).unwrap().flags & FLAG_EXTENTS, 0);
    }

    #[test]
    fn ext4_64k_blocks_read_back() {
        // A record of 65536 bytes is stored in 16 bits there.
        reads_back(&["-t", "ext4", "-b", "65536", "-N", "4096", "-O", "^has_journal"], "ext4");
    }

    #[test]
    fn ext2_reads_back() {
        reads_back(&["-t", "ext2", "-b", "2048"], "ext2");
    }

    #[test]
    fn ext4_meta_bg_reads_back() {
        // 256 blocks a group: 64 groups, 16 descriptors a block, so 4 meta groups.
        let (_dir, image) =
            reads_back(&["-t", "ext4", "-b", "1024", "-g", "256", "-O", "meta_bg,^resize_inode"], "ext4");
        let ext = load(&image);
        let last = ext.read_dir(lookup(&ext, "many"), 10_000).unwrap().iter().map(|e| e.inode).max().unwrap();
        assert!((last - 1) / ext.inodes_per_group >= 16, "no inode past the first meta group");
    }

    #[test]
    fn ext4_inline_data_reads_back() {
        let (_dir, image) = reads_back(&["-t", "ext4", "-b", "4096", "-O", "inline_data"], "ext4");
        let ext = load(&image);
        // Small files and directories are inline: i_block, and past 60 bytes system.data.
        for name in ["one", "sixty", "hundred", "a"] {
            assert_ne!(ext.inode(lookup(&ext, name)).unwrap().flags & FLAG_INLINE_DATA, 0, "{name}");
        }
    }

    #[test]
    fn the_immutable_flag_is_read() {
        for (options, flags) in
            [(&["-t", "ext4", "-b", "4096"][..], "0x80010"), (&["-t", "ext2", "-b", "1024"][..], "0x10")]
        {
            let dir = TempDir::new();
            let image = fixture(&dir, options, "8M", false);
            let command = format!("set_inode_field /etc/shadow flags {flags}");
            run("debugfs", &[OsStr::new("-w"), OsStr::new("-R"), OsStr::new(&command), image.as_os_str()], &[0]);
            let ext = load(&image);
            let shadow = lookup(&ext, "etc/shadow");
            let stat = ext.stat(shadow).unwrap();
            assert!(stat.immutable && stat.mode == 0o600);
            assert_eq!(ext.read_file(shadow, 100).unwrap(), fs::read(dir.0.join("tree/etc/shadow")).unwrap());
            assert!(!ext.stat(lookup(&ext, "etc")).unwrap().immutable);
        }
    }

    #[test]
    fn limits_are_errors() {
        let dir = TempDir::new();
        let image = fixture(&dir, &["-t", "ext4", "-b", "4096"], "8M", false);
        let ext = load(&image);
        assert!(ext.read_file(lookup(&ext, "five_k"), 4999).is_err());
        assert_eq!(ext.read_file(lookup(&ext, "five_k"), 5000).unwrap().len(), 5000);
        assert!(ext.read_dir(lookup(&ext, "many"), 149).is_err());
        assert_eq!(ext.read_dir(lookup(&ext, "many"), 150).unwrap().len(), 150);
        assert!(ext.stat(0).is_err() && ext.stat(ext.info().inodes_total + 1).is_err());
        assert!(ext.read_file(lookup(&ext, "a"), 1 << 20).is_err());
        assert!(ext.read_dir(lookup(&ext, "one"), 10).is_err());
        assert!(ext.read_link(lookup(&ext, "one")).is_err());
        assert!(is_ext(&fs::read(&image).unwrap()));
        // Directory records that would loop or overrun their block.
        let mut entries = Vec::new();
        for (rec_len, name_len) in [(0u16, 1u8), (4, 0), (1028, 1), (12, 5), (13, 1)] {
            let mut block = vec![0u8; 1024];
            block[0] = 11;
            block[4..6].copy_from_slice(&rec_len.to_le_bytes());
            block[6] = name_len;
            assert!(ext.parse_dir_block(&block, 10, &mut entries).is_err(), "rec_len {rec_len}, name_len {name_len}");
        }
        assert!(entries.is_empty());
        assert!(!is_ext(&vec![0u8; 4096]) && open(Arc::new(vec![0u8; 4096])).is_err());
    }

    /// Rewrites inode `ino` of `image` with `edit` and opens the result.
    fn edit_inode(image: &[u8], ino: u64, edit: impl FnOnce(&mut [u8])) -> Ext {
        let at = open(Arc::new(image.to_vec())).unwrap().inode_offset(ino).unwrap() as usize;
        let mut copy = image.to_vec();
        edit(&mut copy[at..at + 256]);
        open(Arc::new(copy)).unwrap()
    }

    fn put_u16(raw: &mut [u8], at: usize, value: u16) {
        raw[at..at + 2].copy_from_slice(&value.to_le_bytes());
    }

    fn put_u32(raw: &mut [u8], at: usize, value: u32) {
        raw[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    #[test]
    fn hostile_extent_trees_and_sizes_are_errors() {
        let dir = TempDir::new();
        let path = fixture(&dir, &["-t", "ext4", "-b", "4096"], "8M", false);
        let image = fs::read(&path).unwrap();
        let ext = load(&path);
        let (sub, file) = (lookup(&ext, "a"), lookup(&ext, "five_k"));
        // A free block near the end to hold a hostile tree node.
        let node_block = ext.info().blocks_total - 2;
        let node_at = (node_block * 4096) as usize;
        let index_to = |raw: &mut [u8], at: usize, depth: u16, child: u64| {
            put_u16(raw, at, EXTENT_MAGIC);
            put_u16(raw, at + 2, 1);
            put_u16(raw, at + 4, 4);
            put_u16(raw, at + 6, depth);
            put_u32(raw, at + 12, 0);
            put_u32(raw, at + 16, child as u32);
            put_u16(raw, at + 20, 0);
        };
        // The directory's index points at a node that points at itself.
        let mut looped = image.clone();
        index_to(&mut looped, node_at, 1, node_block);
        let at = ext.inode_offset(sub).unwrap() as usize + I_BLOCK;
        index_to(&mut looped, at, 2, node_block);
        let err = open(Arc::new(looped)).unwrap().read_dir(sub, 100).unwrap_err();
        assert!(err.to_string().contains("depth"), "{err}");
        // A leaf whose extent is the node itself: parsed as a directory block, refused.
        let mut self_leaf = image.clone();
        put_u16(&mut self_leaf, node_at, EXTENT_MAGIC);
        put_u16(&mut self_leaf, node_at + 2, 1);
        put_u16(&mut self_leaf, node_at + 4, 340);
        put_u32(&mut self_leaf, node_at + 12, 0);
        put_u16(&mut self_leaf, node_at + 16, 1);
        put_u32(&mut self_leaf, node_at + 20, node_block as u32);
        index_to(&mut self_leaf, at, 1, node_block);
        assert!(open(Arc::new(self_leaf)).unwrap().read_dir(sub, 100).is_err());
        // A tree deeper than the bound.
        let deep = edit_inode(&image, sub, |raw| put_u16(raw, I_BLOCK + 6, 6));
        assert!(deep.read_dir(sub, 100).unwrap_err().to_string().contains("depth"));
        // A bad header magic.
        let bad = edit_inode(&image, file, |raw| put_u16(raw, I_BLOCK, 0xF30B));
        assert!(bad.read_file(file, 1 << 20).unwrap_err().to_string().contains("magic"));
        // A huge i_size: a directory refuses it, a file is larger than any max.
        let huge = |raw: &mut [u8]| put_u32(raw, 0x6C, 1 << 30);
        assert!(edit_inode(&image, sub, huge).read_dir(sub, 100).is_err());
        assert!(edit_inode(&image, file, huge).read_file(file, 1 << 30).is_err());
        // Two extents over the same blocks.
        let overlap = edit_inode(&image, file, |raw| {
            let first: [u8; 12] = raw[I_BLOCK + 12..I_BLOCK + 24].try_into().unwrap();
            raw[I_BLOCK + 24..I_BLOCK + 36].copy_from_slice(&first);
            put_u16(raw, I_BLOCK + 2, 2);
        });
        assert!(overlap.read_file(file, 1 << 20).unwrap_err().to_string().contains("overlap"));
    }

    /// Reads everything reachable, bounded (a corrupt tree may loop):
    /// how many reads succeeded and how many were errors.
    fn read_everything(device: Vec<u8>) -> (usize, usize) {
        let Ok(ext) = open(Arc::new(device)) else { return (0, 1) };
        let _ = ext.info();
        let (mut good, mut bad) = (0, 0);
        let mut count = |ok: bool| if ok { good += 1 } else { bad += 1 };
        let mut stack = vec![(ext.root(), 0)];
        let mut visits = 0;
        while let Some((ino, depth)) = stack.pop() {
            visits += 1;
            if visits > 2000 {
                break;
            }
            let Ok(stat) = ext.stat(ino) else {
                count(false);
                continue;
            };
            match stat.kind {
                Kind::Dir if depth < 6 => match ext.read_dir(ino, 5000) {
                    Ok(entries) => {
                        count(true);
                        stack.extend(entries.into_iter().map(|e| (e.inode, depth + 1)));
                    }
                    Err(_) => count(false),
                },
                Kind::File => count(ext.read_file(ino, 4 << 20).is_ok()),
                Kind::Symlink => count(ext.read_link(ino).is_ok()),
                _ => {}
            }
        }
        (good, bad)
    }

    /// Remembers what was read, to aim the mutations at metadata.
    struct Recorder(Vec<u8>, Mutex<Vec<(u64, usize)>>);

    impl ReadAt for Recorder {
        fn size(&self) -> u64 {
            self.0.size()
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.1.lock().unwrap().push((offset, buf.len()));
            self.0.read_exact_at(buf, offset)
        }
    }

    /// A small fixture and the byte ranges a full walk reads.
    fn small_fixture(dir: &TempDir) -> (Vec<u8>, Vec<(u64, usize)>) {
        let image = fs::read(fixture(dir, &["-t", "ext4", "-b", "1024", "-O", "^has_journal"], "2M", false)).unwrap();
        let recorder = Arc::new(Recorder(image.clone(), Mutex::new(Vec::new())));
        let ext = open(recorder.clone()).unwrap();
        assert!(compare(&ext, ext.root(), &dir.0.join("tree")) > 150);
        let ranges = recorder.1.lock().unwrap().clone();
        (image, ranges)
    }

    #[test]
    fn mutated_metadata_never_panics_or_hangs() {
        let dir = TempDir::new();
        let (image, ranges) = small_fixture(&dir);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut good, mut bad) = (0, 0);
        for _ in 0..1000 {
            let mut copy = image.clone();
            for _ in 0..1 + next() % 4 {
                let (offset, len) = ranges[(next() % ranges.len() as u64) as usize];
                let at = (offset + next() % len as u64) as usize;
                copy[at] = match next() % 3 {
                    0 => next() as u8,
                    1 => copy[at] ^ (1 << (next() % 8)),
                    _ => 0xFF,
                };
            }
            let (g, b) = read_everything(copy);
            (good, bad) = (good + g, bad + b);
        }
        // The mutations hit what is read: some reads fail, most still succeed.
        assert!(bad > 20 && good > bad, "{good} reads succeeded, {bad} failed");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 64, failure_persistence: None, ..Default::default() })]
        #[test]
        fn random_superblock_fields_never_panic(fields in proptest::collection::vec((0usize..24, proptest::prelude::any::<u32>()), 1..5)) {
            static IMAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let image = IMAGE.get_or_init(|| small_fixture(&TempDir::new()).0);
            // The counts, sizes, geometry and feature words of the superblock.
            const FIELDS: [usize; 24] = [0x00, 0x04, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x4C, 0x54, 0x58, 0x5C, 0x60, 0x64, 0xFC, 0xFE, 0x104, 0x150, 0x158, 0x15C, 0x160, 0x174];
            let mut copy = image.clone();
            for (field, value) in fields {
                let at = 1024 + FIELDS[field];
                copy[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            read_everything(copy);
        }
    }
}
