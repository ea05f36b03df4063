//! XFS, read in user space (RHEL, CentOS, Rocky and Alibaba Cloud Linux put
//! `/` on it). Everything on disk is big-endian.
//!
//! - The superblock at byte 0 ("XFSB") gives the geometry: the device is cut
//!   into allocation groups (AGs) of `agblocks` blocks; a block number in an
//!   extent is `agno << agblklog | agbno`, an inode number is
//!   `(agno << agblklog | agbno) << inopblog | index in the block`.
//! - An inode ("IN") has a fixed core (100 bytes on v4 file systems, 176 on
//!   v5/CRC ones) and then its data fork: `local` (the bytes are in the
//!   inode: short directories, short symlinks), `extents` (packed 128-bit
//!   records) or `btree` (a bmap btree whose root is in the inode and whose
//!   blocks are "BMAP"/"BMA3").
//! - Directories are shortform (in the inode) or sets of directory blocks
//!   ("XD2B"/"XDB3" for a one-block directory, "XD2D"/"XDD3" data blocks of
//!   leaf and node directories). Only the data blocks, below the 32 GiB
//!   logical offset, are read; the hash index (leaf and node blocks) is not.
//! - Symlinks are local or in blocks (v5 blocks start with an "XSLM" header).
//!
//! Not supported: the realtime device, extended attributes, checksums (not
//! verified: a reader of a hostile image cannot trust them anyway).

use std::io;
use std::sync::Arc;

use super::{corrupt, DirEntry, FileSystem, Info, Kind, Stat};
use crate::check::image::read_at::{read_vec, Be, ReadAt};

const SB_MAGIC: &[u8; 4] = b"XFSB";
/// Directory data lives below this logical byte offset; the hash index above.
const DIR_LEAF_OFFSET: u64 = 32 << 30;
/// A bmap btree deeper than this is corrupt (real ones have at most 5 or so).
const MAX_BTREE_DEPTH: u16 = 8;
/// Upper bound on the extents of one inode this reader collects.
const MAX_EXTENTS: usize = 1 << 18;
/// Upper bound on the bmap btree blocks read for one inode.
const MAX_BTREE_BLOCKS: usize = 1 << 14;
/// XFS refuses symlink targets longer than this.
const MAX_LINK: u64 = 1024;
/// di_flags: `chattr +i`.
const DIFLAG_IMMUTABLE: u16 = 0x8;
/// di_flags2: the extent count is the 64-bit field at byte 24.
const DIFLAG2_NREXT64: u64 = 1 << 4;

/// An open XFS file system.
pub struct Xfs {
    device: Arc<dyn ReadAt>,
    info: Info,
    root: u64,
    /// v5: larger inode core and block headers.
    crc: bool,
    /// Directory entries carry a file-type byte.
    ftype: bool,
    block_size: u64,
    inode_size: u64,
    agblocks: u64,
    agcount: u64,
    agblklog: u32,
    inopblog: u32,
    /// Directory block size in file system blocks, as a shift.
    dirblklog: u32,
}

/// One mapping of file blocks to device blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extent {
    /// File offset, in blocks.
    logical: u64,
    /// File system block number (AG-encoded).
    start: u64,
    len: u64,
    unwritten: bool,
}

/// A read inode: its core fields and its data fork's bytes.
struct Inode {
    mode: u16,
    format: u8,
    uid: u32,
    gid: u32,
    size: u64,
    flags: u16,
    nextents: u64,
    fork: Vec<u8>,
}

/// Whether `device` starts with an XFS superblock.
pub fn is_xfs(device: &dyn ReadAt) -> bool {
    let mut magic = [0u8; 4];
    device.read_exact_at(&mut magic, 0).is_ok() && &magic == SB_MAGIC
}

/// Reads and checks the superblock.
pub fn open(device: Arc<dyn ReadAt>) -> io::Result<Xfs> {
    let sb = read_vec(&*device, 0, 512)?;
    if &sb[..4] != SB_MAGIC {
        return Err(corrupt("xfs: no superblock magic"));
    }
    let b = Be(&sb);
    let block_size = u64::from(b.u32(4));
    let agblocks = u64::from(b.u32(84));
    let agcount = u64::from(b.u32(88));
    let inode_size = u64::from(b.u16(104));
    let (blocklog, inodelog, inopblog, agblklog, dirblklog) =
        (u32::from(sb[120]), u32::from(sb[122]), u32::from(sb[123]), u32::from(sb[124]), u32::from(sb[192]));
    let version = b.u16(100) & 0xf;
    let crc = version == 5;
    let geometry_ok = (4..=5).contains(&version)
        && (9..=16).contains(&blocklog)
        && block_size == 1 << blocklog
        && (8..=11).contains(&inodelog)
        && inode_size == 1 << inodelog
        && inodelog <= blocklog
        && inopblog == blocklog - inodelog
        && (1..=31).contains(&agblklog)
        && agblocks > 0
        && agblocks <= 1 << agblklog
        && agblocks > 1 << (agblklog - 1)
        && agcount > 0
        && blocklog + dirblklog <= 16
        && (!crc || inode_size >= 512);
    if !geometry_ok {
        return Err(corrupt("xfs: impossible geometry in the superblock"));
    }
    let ftype = if crc { b.u32(216) & 1 != 0 } else { b.u32(200) & 0x200 != 0 };
    let label = &sb[108..120];
    let label = &label[..label.iter().position(|&c| c == 0).unwrap_or(label.len())];
    let info = Info {
        kind: "xfs",
        uuid: super::uuid_text(&sb[32..48]),
        label: String::from_utf8_lossy(label).into_owned(),
        blocks_total: b.u64(8),
        blocks_free: b.u64(144),
        inodes_total: b.u64(128),
        inodes_free: b.u64(136),
        ext_64bit: false,
    };
    let fs = Xfs {
        device,
        info,
        root: b.u64(56),
        crc,
        ftype,
        block_size,
        inode_size,
        agblocks,
        agcount,
        agblklog,
        inopblog,
        dirblklog,
    };
    fs.inode_offset(fs.root)?;
    Ok(fs)
}

impl Xfs {
    /// The byte offset of a file system block (AG-encoded number).
    fn block_offset(&self, fsb: u64) -> io::Result<u64> {
        let agno = fsb >> self.agblklog;
        let agbno = fsb & ((1 << self.agblklog) - 1);
        if agno >= self.agcount || agbno >= self.agblocks {
            return Err(corrupt(format!("xfs: block {fsb} is outside the file system")));
        }
        // agno < 2^32 and agblocks < 2^32: the product fits; the byte offset may not.
        (agno * self.agblocks + agbno)
            .checked_mul(self.block_size)
            .ok_or_else(|| corrupt("xfs: block offset overflows"))
    }

    fn inode_offset(&self, ino: u64) -> io::Result<u64> {
        let block = self.block_offset(ino >> self.inopblog)?;
        let index = ino & ((1 << self.inopblog) - 1);
        block.checked_add(index * self.inode_size).ok_or_else(|| corrupt("xfs: inode offset overflows"))
    }

    fn read_inode(&self, ino: u64) -> io::Result<Inode> {
        let raw = read_vec(&*self.device, self.inode_offset(ino)?, self.inode_size as usize)?;
        let b = Be(&raw);
        if b.u16(0) != 0x494e {
            return Err(corrupt(format!("xfs: inode {ino} has no magic")));
        }
        let v3 = raw[4] >= 3;
        if v3 != self.crc {
            return Err(corrupt(format!("xfs: inode {ino} has the wrong version")));
        }
        let core = if v3 { 176 } else { 100 };
        let forkoff = usize::from(raw[82]) * 8;
        let fork_end = if forkoff == 0 { raw.len() } else { core + forkoff };
        let fork = raw.get(core..fork_end).ok_or_else(|| corrupt(format!("xfs: inode {ino}: bad fork offset")))?;
        let nextents = if v3 && b.u64(120) & DIFLAG2_NREXT64 != 0 { b.u64(24) } else { u64::from(b.u32(76)) };
        Ok(Inode {
            mode: b.u16(2),
            format: raw[5],
            uid: b.u32(8),
            gid: b.u32(12),
            size: b.u64(56),
            flags: b.u16(90),
            nextents,
            fork: fork.to_vec(),
        })
    }

    /// The data fork's extents, sorted and not overlapping.
    fn extents(&self, inode: &Inode) -> io::Result<Vec<Extent>> {
        let mut out = Vec::new();
        match inode.format {
            2 => {
                let count = usize::try_from(inode.nextents).unwrap_or(usize::MAX);
                if count > inode.fork.len() / 16 {
                    return Err(corrupt("xfs: more extents than the inode holds"));
                }
                inode.fork.chunks_exact(16).take(count).try_for_each(|r| push_extent(&mut out, r))?;
            }
            3 => {
                // The root: level, numrecs, then keys and pointers, each
                // array sized for as many records as the fork holds.
                let b = Be(&inode.fork);
                let (level, numrecs) = (b.u16(0), usize::from(b.u16(2)));
                let maxrecs = inode.fork.len().saturating_sub(4) / 16;
                if level == 0 || level > MAX_BTREE_DEPTH || numrecs > maxrecs {
                    return Err(corrupt("xfs: bad bmap btree root"));
                }
                let mut budget = MAX_BTREE_BLOCKS;
                for i in 0..numrecs {
                    self.walk_bmbt(b.u64(4 + maxrecs * 8 + i * 8), level - 1, &mut budget, &mut out)?;
                }
            }
            _ => return Err(corrupt("xfs: the inode's data is not in extents")),
        }
        Ok(out)
    }

    /// Appends the extents of the bmap btree block `fsb`, which must be at `level`.
    /// Every block costs one of `budget`; none is empty (XFS frees empty blocks).
    fn walk_bmbt(&self, fsb: u64, level: u16, budget: &mut usize, out: &mut Vec<Extent>) -> io::Result<()> {
        *budget = budget.checked_sub(1).ok_or_else(|| corrupt("xfs: bmap btree too large"))?;
        let block = read_vec(&*self.device, self.block_offset(fsb)?, self.block_size as usize)?;
        let b = Be(&block);
        let (magic, header) = if self.crc { (b"BMA3", 72) } else { (b"BMAP", 24) };
        if &block[..4] != magic || b.u16(4) != level {
            return Err(corrupt(format!("xfs: bad bmap btree block {fsb}")));
        }
        let numrecs = usize::from(b.u16(6));
        let maxrecs = (block.len() - header) / 16;
        if numrecs == 0 || numrecs > maxrecs {
            return Err(corrupt(format!("xfs: bmap btree block {fsb} overflows")));
        }
        if level == 0 {
            let records = &block[header..header + numrecs * 16];
            return records.chunks_exact(16).try_for_each(|r| push_extent(out, r));
        }
        let pointers = header + maxrecs * 8;
        (0..numrecs).try_for_each(|i| self.walk_bmbt(b.u64(pointers + i * 8), level - 1, budget, out))
    }

    /// `count` bytes of the file at byte `offset` (holes and unwritten
    /// extents read as zeros), by the sorted `extents`.
    fn read_range(&self, extents: &[Extent], offset: u64, count: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; count];
        let end = offset.saturating_add(count as u64);
        for e in extents.iter().filter(|e| !e.unwritten) {
            // All in bytes; logical and len are below 2^54 and 2^21 blocks.
            let e_start = e.logical.saturating_mul(self.block_size);
            let e_end = e_start.saturating_add(e.len * self.block_size);
            let (from, to) = (e_start.max(offset), e_end.min(end));
            if from >= to {
                continue;
            }
            let device_at = self.block_offset(e.start)?.checked_add(from - e_start);
            let device_at = device_at.ok_or_else(|| corrupt("xfs: extent overflows"))?;
            let dst = &mut buf[(from - offset) as usize..(to - offset) as usize];
            self.device.read_exact_at(dst, device_at)?;
        }
        Ok(buf)
    }

    fn dir_entries(&self, inode: &Inode, max: usize) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        if inode.format == 1 {
            self.shortform_entries(&inode.fork, max, &mut out)?;
            return Ok(out);
        }
        let extents = self.extents(inode)?;
        let dir_block = self.block_size << self.dirblklog;
        // Data blocks lie below the leaf offset and, for leaf and node
        // directories, below the size; each holds at least one entry, which
        // bounds how many a directory of at most `max` entries may have.
        let data_end = DIR_LEAF_OFFSET.min(inode.size.max(dir_block));
        let mut blocks_read = 0usize;
        let mut last = None;
        for e in &extents {
            let first = e.logical.saturating_mul(self.block_size) / dir_block;
            let end = e.logical.saturating_add(e.len).saturating_mul(self.block_size);
            let end = end.min(data_end).div_ceil(dir_block);
            for index in first.max(last.map_or(0, |l: u64| l + 1))..end {
                blocks_read += 1;
                if blocks_read > max.saturating_add(2) {
                    return Err(corrupt("xfs: more directory blocks than entries"));
                }
                let block = self.read_range(&extents, index * dir_block, dir_block as usize)?;
                self.data_block_entries(&block, max, &mut out)?;
                last = Some(index);
            }
        }
        Ok(out)
    }

    /// The entries of a shortform directory (in the inode).
    fn shortform_entries(&self, fork: &[u8], max: usize, out: &mut Vec<DirEntry>) -> io::Result<()> {
        let (count, wide) = (usize::from(fork.first().copied().unwrap_or(0)), fork.get(1).is_some_and(|&n| n != 0));
        let ino_len = if wide { 8 } else { 4 };
        let mut at = 2 + ino_len;
        for _ in 0..count {
            let name_len = usize::from(*fork.get(at).ok_or_else(|| corrupt("xfs: short directory overflows"))?);
            let name_at = at + 3;
            let ino_at = name_at + name_len + usize::from(self.ftype);
            let ino = fork.get(ino_at..ino_at + ino_len).ok_or_else(|| corrupt("xfs: short directory overflows"))?;
            let ino = ino.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
            push_entry(out, fork.get(name_at..name_at + name_len).unwrap_or(&[]), ino, max)?;
            at = ino_at + ino_len;
        }
        Ok(())
    }

    /// The entries of one directory data block (block or data format).
    fn data_block_entries(&self, block: &[u8], max: usize, out: &mut Vec<DirEntry>) -> io::Result<()> {
        let b = Be(block);
        let header = if self.crc { 64 } else { 16 };
        let end = match &block[..4] {
            b"XD2B" | b"XDB3" => {
                // A one-block directory: its hash entries and tail follow the data.
                let leaf_count = u64::from(b.u32(block.len() - 8));
                let tail = leaf_count.saturating_mul(8).saturating_add(8);
                block.len().saturating_sub(usize::try_from(tail).unwrap_or(usize::MAX))
            }
            b"XD2D" | b"XDD3" => block.len(),
            _ => return Err(corrupt("xfs: bad directory block magic")),
        };
        if (self.crc != (block[3] == b'3')) || end < header {
            return Err(corrupt("xfs: bad directory block"));
        }
        let mut at = header;
        while at + 8 <= end {
            let len = if b.u16(at) == 0xffff {
                // An unused span: its length says where the next entry is.
                usize::from(b.u16(at + 2))
            } else {
                let name_len = usize::from(block.get(at + 8).copied().unwrap_or(0));
                let name = block.get(at + 9..at + 9 + name_len).filter(|_| name_len > 0);
                let name = name.ok_or_else(|| corrupt("xfs: directory entry overflows"))?;
                push_entry(out, name, b.u64(at), max)?;
                (8 + 1 + name_len + usize::from(self.ftype) + 2).next_multiple_of(8)
            };
            if len < 8 || len % 8 != 0 || at + len > end {
                return Err(corrupt("xfs: bad directory entry length"));
            }
            at += len;
        }
        Ok(())
    }
}

/// Decodes a packed extent record and appends it, keeping the list sorted.
fn push_extent(out: &mut Vec<Extent>, record: &[u8]) -> io::Result<()> {
    let (l0, l1) = (Be(record).u64(0), Be(record).u64(8));
    let extent = Extent {
        logical: (l0 & (u64::MAX >> 1)) >> 9,
        start: (l0 & 0x1ff) << 43 | l1 >> 21,
        len: l1 & 0x1f_ffff,
        unwritten: l0 >> 63 != 0,
    };
    let after_last = out.last().map_or(0, |e: &Extent| e.logical + e.len);
    if extent.len == 0 || extent.logical < after_last {
        return Err(corrupt("xfs: extents overlap or are out of order"));
    }
    if out.len() >= MAX_EXTENTS {
        return Err(corrupt("xfs: too many extents"));
    }
    out.push(extent);
    Ok(())
}

fn push_entry(out: &mut Vec<DirEntry>, name: &[u8], inode: u64, max: usize) -> io::Result<()> {
    if name == b"." || name == b".." {
        return Ok(());
    }
    if out.len() >= max {
        return Err(corrupt(format!("xfs: a directory has more than {max} entries")));
    }
    out.push(DirEntry { name: name.to_vec(), inode });
    Ok(())
}

fn kind_of(mode: u16) -> Kind {
    match mode & 0o170000 {
        0o100000 => Kind::File,
        0o040000 => Kind::Dir,
        0o120000 => Kind::Symlink,
        _ => Kind::Other,
    }
}

impl FileSystem for Xfs {
    fn info(&self) -> Info {
        self.info.clone()
    }

    fn root(&self) -> u64 {
        self.root
    }

    fn stat(&self, inode: u64) -> io::Result<Stat> {
        let i = self.read_inode(inode)?;
        Ok(Stat {
            kind: kind_of(i.mode),
            mode: u32::from(i.mode & 0o7777),
            uid: i.uid,
            gid: i.gid,
            size: i.size,
            immutable: i.flags & DIFLAG_IMMUTABLE != 0,
        })
    }

    fn read_dir(&self, dir: u64, max: usize) -> io::Result<Vec<DirEntry>> {
        let inode = self.read_inode(dir)?;
        if kind_of(inode.mode) != Kind::Dir {
            return Err(corrupt(format!("xfs: inode {dir} is not a directory")));
        }
        self.dir_entries(&inode, max)
    }

    fn read_file(&self, inode: u64, max: u64) -> io::Result<Vec<u8>> {
        let i = self.read_inode(inode)?;
        if kind_of(i.mode) != Kind::File {
            return Err(corrupt(format!("xfs: inode {inode} is not a file")));
        }
        if i.size > max {
            return Err(corrupt(format!("xfs: file {inode} is larger than {max} bytes")));
        }
        let size = usize::try_from(i.size).map_err(|_| corrupt("xfs: file too large"))?;
        match i.format {
            // Inline data (not written by Linux for files, but allowed).
            1 => i.fork.get(..size).map(<[u8]>::to_vec).ok_or_else(|| corrupt("xfs: inline file overflows")),
            _ => self.read_range(&self.extents(&i)?, 0, size),
        }
    }

    fn read_link(&self, inode: u64) -> io::Result<Vec<u8>> {
        let i = self.read_inode(inode)?;
        if kind_of(i.mode) != Kind::Symlink || i.size > MAX_LINK {
            return Err(corrupt(format!("xfs: inode {inode} is not a symlink")));
        }
        let size = i.size as usize;
        if i.format == 1 {
            return i.fork.get(..size).map(<[u8]>::to_vec).ok_or_else(|| corrupt("xfs: inline symlink overflows"));
        }
        // Remote: the target is spread over blocks, each (v5) after a header.
        let header = if self.crc { 56 } else { 0 };
        let per_block = self.block_size as usize - header;
        let extents = self.extents(&i)?;
        let mut target = Vec::with_capacity(size);
        let mut block = 0u64;
        while target.len() < size {
            let data = self.read_range(&extents, block * self.block_size, self.block_size as usize)?;
            if self.crc && &data[..4] != b"XSLM" {
                return Err(corrupt(format!("xfs: symlink {inode}: bad block magic")));
            }
            let take = per_block.min(size - target.len());
            target.extend_from_slice(&data[header..header + take]);
            block += 1;
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::image::read_at::Slice;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    /// What the fixture's tree holds, as the protofile gave it to mkfs.xfs.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Node {
        File(Vec<u8>),
        Dir,
        Link(Vec<u8>),
    }

    /// path (below `/`, "" for the root) → (node, mode, uid, gid).
    type Tree = BTreeMap<String, (Node, u32, u32, u32)>;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8).collect()
    }

    /// The tree of the tests: every kind of file, directory and symlink
    /// storage XFS has. `big` adds the 3 MiB file and the 2000-entry
    /// directory (a node directory); else a 200-entry one (a leaf directory).
    fn source_tree(big: bool) -> Tree {
        let mut t = Tree::new();
        let mut add = |p: &str, n: Node, mode: u32, uid: u32| t.insert(p.to_string(), (n, mode, uid, 100));
        add("", Node::Dir, 0o755, 0);
        add("empty", Node::File(vec![]), 0o600, 1234);
        add("small", Node::File(b"hello, xfs\n".to_vec()), 0o644, 0);
        add("five", Node::File(pattern(5000, 1)), 0o755, 1234);
        add("frag", Node::File(pattern(65536, 2)), 0o644, 0);
        if big {
            add("big", Node::File(pattern(3 << 20, 3)), 0o600, 1234);
        }
        add("short", Node::Link(b"small".to_vec()), 0o777, 0);
        add("long", Node::Link([b"/".as_slice(), &[b'l'; 299]].concat()), 0o777, 1234);
        add("longer", Node::Link([b"/".as_slice(), &[b'x'; 999]].concat()), 0o777, 0);
        add("three", Node::Dir, 0o700, 1234);
        add("three/a", Node::File(b"a".to_vec()), 0o644, 0);
        add("three/sub", Node::Dir, 0o755, 0);
        add("three/up", Node::Link(b"..".to_vec()), 0o777, 0);
        add("twenty", Node::Dir, 0o755, 0);
        for i in 0..20 {
            add(&format!("twenty/a-longer-file-name-{i:02}"), Node::File(vec![i]), 0o644, 0);
        }
        let n = if big { 2000 } else { 200 };
        add("many", Node::Dir, 0o755, 1234);
        for i in 0..n {
            add(&format!("many/entry-number-{i:05}-of-the-directory"), Node::File(vec![]), 0o600, 1234);
        }
        t
    }

    fn run(cmd: &mut Command) -> String {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} did not run (install xfsprogs): {e}"));
        assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The protofile lines of `dir` and below (its contents, then "$").
    fn proto(tree: &Tree, dir: &str, host: &Path, out: &mut String) {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let children =
            tree.iter().filter(|(p, _)| p.strip_prefix(&prefix).is_some_and(|r| !r.is_empty() && !r.contains('/')));
        for (path, (node, mode, uid, gid)) in children {
            let name = &path[prefix.len()..];
            match node {
                Node::File(data) => {
                    let file = host.join(format!("f{}", out.len()));
                    std::fs::write(&file, data).unwrap();
                    out.push_str(&format!("{name} ---{mode:03o} {uid} {gid} {}\n", file.display()));
                }
                Node::Link(target) => {
                    out.push_str(&format!("{name} l--{mode:03o} {uid} {gid} {}\n", String::from_utf8_lossy(target)))
                }
                Node::Dir => {
                    out.push_str(&format!("{name} d--{mode:03o} {uid} {gid}\n"));
                    proto(tree, path, host, out);
                }
            }
        }
        out.push_str("$\n");
    }

    struct Fixture {
        image: Arc<Vec<u8>>,
        tree: Tree,
        /// `xfs_db`'s print of the superblock fields `Info` holds.
        sb: BTreeMap<String, String>,
        /// The inode made immutable with xfs_db.
        immutable: u64,
    }

    /// Builds the tree with mkfs.xfs's protofile (no mount), on a 32 MiB
    /// sparse file (the TEST_* variables let mkfs.xfs make one below 300 MiB).
    fn build(crc: bool, big: bool) -> Fixture {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("osconf-xfs-{}-{seq}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tree = source_tree(big);
        let (_, mode, uid, gid) = &tree[""];
        let mut text = format!("boot\n0 0\nd--{mode:03o} {uid} {gid}\n");
        proto(&tree, "", &dir, &mut text);
        std::fs::write(dir.join("proto"), &text).unwrap();
        let img: PathBuf = dir.join("img");
        std::fs::File::create(&img).unwrap().set_len(32 << 20).unwrap();
        // v4 without the file-type byte in directory entries (v5 always has it).
        let (crc_opt, ftype_opt) = if crc { ("crc=1", "ftype=1") } else { ("crc=0", "ftype=0") };
        run(Command::new("mkfs.xfs")
            .args(["-q", "-f", "-m", crc_opt, "-n", ftype_opt, "-L", "osconf-t", "-p"])
            .arg(dir.join("proto"))
            .arg(&img)
            .envs([("TEST_DIR", "1"), ("TEST_DEV", "1"), ("QA_CHECK_FS", "1")]));
        let fs = open(Arc::new(std::fs::read(&img).unwrap())).unwrap();
        let immutable = lookup(&fs, "small");
        run(Command::new("xfs_db")
            .args(["-x", "-c", &format!("inode {immutable}"), "-c", "write core.immutable 1"])
            .arg(&img));
        let printed = run(Command::new("xfs_db")
            .args(["-r", "-c", "sb 0", "-c", "print uuid fname icount ifree fdblocks dblocks"])
            .arg(&img));
        let sb =
            printed.lines().filter_map(|l| l.split_once(" = ")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut image = std::fs::read(&img).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        if crc {
            add_symlink_header(&mut image);
        }
        let image = Arc::new(image);
        Fixture { image, tree, sb, immutable }
    }

    /// mkfs.xfs 6.1's protofile writes a v5 remote symlink's target without
    /// the "XSLM" block header the kernel writes and requires (xfs_repair -n
    /// complains of the block's CRC): put it in, as the kernel lays it out.
    fn add_symlink_header(image: &mut [u8]) {
        let fs = open(Arc::new(image.to_vec())).unwrap();
        let inode = fs.read_inode(lookup(&fs, "longer")).unwrap();
        let at = fs.block_offset(fs.extents(&inode).unwrap()[0].start).unwrap() as usize;
        let target = image[at..at + 1000].to_vec();
        image[at..at + 4].copy_from_slice(b"XSLM");
        image[at + 8..at + 12].copy_from_slice(&1000u32.to_be_bytes());
        image[at + 56..at + 1056].copy_from_slice(&target);
    }

    fn fixture(crc: bool) -> &'static Fixture {
        static V5: OnceLock<Fixture> = OnceLock::new();
        static V4: OnceLock<Fixture> = OnceLock::new();
        if crc {
            V5.get_or_init(|| build(true, true))
        } else {
            V4.get_or_init(|| build(false, true))
        }
    }

    fn small_fixture() -> &'static Fixture {
        static SMALL: OnceLock<Fixture> = OnceLock::new();
        SMALL.get_or_init(|| build(true, false))
    }

    fn lookup(fs: &Xfs, path: &str) -> u64 {
        path.split('/').fold(fs.root(), |dir, name| {
            let entries = fs.read_dir(dir, 10_000).unwrap();
            entries.iter().find(|e| e.name == name.as_bytes()).unwrap_or_else(|| panic!("{path}: no {name}")).inode
        })
    }

    /// Reads the whole tree into the `Tree` shape (bounded: a corrupt image
    /// may have loops).
    fn walk(fs: &Xfs, ino: u64, path: &str, depth: usize, out: &mut Tree) -> io::Result<()> {
        let st = fs.stat(ino)?;
        if depth > 8 || out.len() > 10_000 {
            return Err(corrupt("too deep"));
        }
        let node = match st.kind {
            Kind::File => Node::File(fs.read_file(ino, 4 << 20)?),
            Kind::Symlink => Node::Link(fs.read_link(ino)?),
            Kind::Dir => Node::Dir,
            Kind::Other => return Err(corrupt("unexpected kind")),
        };
        assert_eq!(st.size, if let Node::File(d) | Node::Link(d) = &node { d.len() as u64 } else { st.size });
        out.insert(path.to_string(), (node, st.mode, st.uid, st.gid));
        if st.kind == Kind::Dir {
            for e in fs.read_dir(ino, 5000)? {
                let name = String::from_utf8_lossy(&e.name);
                let child = if path.is_empty() { name.into_owned() } else { format!("{path}/{name}") };
                walk(fs, e.inode, &child, depth + 1, out)?;
            }
        }
        Ok(())
    }

    fn check_fixture(f: &Fixture) {
        let fs = open(f.image.clone()).unwrap();
        let mut read = Tree::new();
        walk(&fs, fs.root(), "", 0, &mut read).unwrap();
        assert_eq!(read.len(), f.tree.len());
        for (path, expected) in &f.tree {
            assert_eq!(read.get(path), Some(expected), "{path}");
        }
        let info = fs.info();
        assert_eq!(info.kind, "xfs");
        assert_eq!(info.uuid, f.sb["uuid"]);
        assert_eq!(format!("\"{}\\000\\000\\000\\000\"", info.label), f.sb["fname"]);
        assert_eq!(info.inodes_total.to_string(), f.sb["icount"]);
        assert_eq!(info.inodes_free.to_string(), f.sb["ifree"]);
        assert_eq!(info.blocks_free.to_string(), f.sb["fdblocks"]);
        assert_eq!(info.blocks_total.to_string(), f.sb["dblocks"]);
        for path in ["", "five", "many", "long"] {
            let ino = if path.is_empty() { fs.root() } else { lookup(&fs, path) };
            assert!(!fs.stat(ino).unwrap().immutable, "{path}");
        }
        assert!(fs.stat(f.immutable).unwrap().immutable);
    }

    #[test]
    fn a_v5_file_system_reads_as_mkfs_wrote_it() {
        let f = fixture(true);
        check_fixture(f);
        // The storage forms the tree was built to have.
        let fs = open(f.image.clone()).unwrap();
        let format = |p: &str| fs.read_inode(lookup(&fs, p)).unwrap().format;
        assert_eq!((format("three"), format("twenty"), format("many")), (1, 2, 2));
        assert_eq!((format("long"), format("longer")), (1, 2), "300 bytes fit a 512-byte inode, 1000 do not");
        let many = fs.read_inode(lookup(&fs, "many")).unwrap();
        assert!(fs.extents(&many).unwrap().last().unwrap().logical * 4096 >= DIR_LEAF_OFFSET, "a leaf/node directory");
    }

    #[test]
    fn a_v4_file_system_reads_as_mkfs_wrote_it() {
        let f = fixture(false);
        check_fixture(f);
        let fs = open(f.image.clone()).unwrap();
        assert!(!fs.crc && !fs.ftype);
        assert_eq!(fs.read_inode(lookup(&fs, "long")).unwrap().format, 2, "300 bytes do not fit a 256-byte inode");
    }

    #[test]
    fn shortform_directories_with_8_byte_inode_numbers_read() {
        let fs = open(fixture(true).image.clone()).unwrap();
        // count 2, i8count 2, parent; then (namelen, offset, name, ftype, inode).
        let mut fork = vec![2, 2, 0, 0, 0, 1, 0, 0, 0, 0x80];
        fork.extend([1, 0, 0x60, b'a', 1, 0, 0, 0, 7, 0, 0, 0, 0x85]);
        fork.extend([3, 0, 0x70, b'b', b'c', b'd', 2, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
        let mut out = Vec::new();
        fs.shortform_entries(&fork, 10, &mut out).unwrap();
        let want = [(b"a".to_vec(), 0x7_0000_0085), (b"bcd".to_vec(), 0x1234_5678_9abc_def0)];
        assert_eq!(out, want.map(|(name, inode)| DirEntry { name, inode }));
        // Cut anywhere: an error, never a panic.
        for len in 0..fork.len() - 1 {
            assert!(fs.shortform_entries(&fork[..len], 10, &mut Vec::new()).is_err() || len < 2, "{len}");
        }
    }

    #[test]
    fn file_and_directory_bounds_are_errors() {
        let fs = open(fixture(true).image.clone()).unwrap();
        assert!(fs.read_file(lookup(&fs, "five"), 4999).is_err());
        assert_eq!(fs.read_file(lookup(&fs, "five"), 5000).unwrap().len(), 5000);
        assert!(fs.read_dir(lookup(&fs, "many"), 1999).is_err());
        assert!(fs.read_dir(lookup(&fs, "twenty"), 19).is_err());
        assert!(fs.read_dir(lookup(&fs, "three"), 2).is_err());
        assert!(fs.read_file(lookup(&fs, "three"), 100).is_err());
        assert!(fs.read_link(lookup(&fs, "small"),).is_err());
        assert!(fs.read_dir(lookup(&fs, "small"), 10).is_err());
        assert!(is_xfs(&*fixture(true).image));
        assert!(!is_xfs(&vec![0u8; 4096]));
        assert!(open(Arc::new(vec![0u8; 100])).is_err());
    }

    /// `base` with `patch` over its bytes from `at`.
    struct Overlay {
        base: Arc<Vec<u8>>,
        at: u64,
        patch: Vec<u8>,
    }

    impl ReadAt for Overlay {
        fn size(&self) -> u64 {
            self.base.size()
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.base.read_exact_at(buf, offset)?;
            for (i, b) in buf.iter_mut().enumerate() {
                let pos = offset + i as u64;
                if let Some(p) = pos.checked_sub(self.at).and_then(|d| self.patch.get(d as usize)) {
                    *b = *p;
                }
            }
            Ok(())
        }
    }

    fn put(image: &mut [u8], at: u64, bytes: &[u8]) {
        image[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
    }

    /// A packed extent record.
    fn record(logical: u64, start: u64, len: u64, unwritten: bool) -> [u8; 16] {
        let l0 = u64::from(unwritten) << 63 | logical << 9 | start >> 43;
        let l1 = (start & ((1 << 43) - 1)) << 21 | len;
        let mut r = [0u8; 16];
        r[..8].copy_from_slice(&l0.to_be_bytes());
        r[8..].copy_from_slice(&l1.to_be_bytes());
        r
    }

    /// The last block of the file system (free in these fixtures), AG-encoded.
    fn last_block(fs: &Xfs) -> u64 {
        let last_ag = fs.agcount - 1;
        last_ag << fs.agblklog | (fs.info.blocks_total - last_ag * fs.agblocks - 1)
    }

    /// The fixture with "frag" (16 blocks in one extent) re-described by
    /// hand as 9 extents: 2 blocks, 2 unwritten ones, a hole of 2, 4 blocks,
    /// then six of one block; in the inode, or (`btree`) in a one-leaf bmap
    /// btree. Returns the image, the inode and the content it must read as.
    fn fragmented(f: &Fixture, btree: bool) -> (Vec<u8>, u64, Vec<u8>) {
        let fs = open(f.image.clone()).unwrap();
        let ino = lookup(&fs, "frag");
        let inode = fs.read_inode(ino).unwrap();
        let one = fs.extents(&inode).unwrap();
        assert_eq!((one.len(), one[0].len), (1, 16), "mkfs wrote frag in one extent");
        let base = one[0].start;
        let mut records = vec![record(0, base, 2, false), record(2, base + 2, 2, true), record(6, base + 6, 4, false)];
        records.extend((10..16).map(|b| record(b, base + b, 1, false)));
        let mut image = f.image.to_vec();
        let inode_at = fs.inode_offset(ino).unwrap();
        let fork_at = inode_at + if fs.crc { 176 } else { 100 };
        put(&mut image, inode_at + 76, &(records.len() as u32).to_be_bytes());
        if btree {
            let leaf = last_block(&fs);
            let maxrecs = (inode.fork.len() as u64 - 4) / 16;
            put(&mut image, inode_at + 5, &[3]);
            put(&mut image, fork_at, &[0, 1, 0, 1]);
            put(&mut image, fork_at + 4, &0u64.to_be_bytes());
            put(&mut image, fork_at + 4 + maxrecs * 8, &leaf.to_be_bytes());
            let leaf_at = fs.block_offset(leaf).unwrap();
            put(&mut image, leaf_at, if fs.crc { b"BMA3" } else { b"BMAP" });
            put(&mut image, leaf_at + 4, &[0, 0, 0, records.len() as u8]);
            put(&mut image, leaf_at + if fs.crc { 72 } else { 24 }, &records.concat());
        } else {
            put(&mut image, fork_at, &records.concat());
        }
        let mut expected = pattern(65536, 2);
        expected[2 * 4096..6 * 4096].fill(0);
        (image, ino, expected)
    }

    #[test]
    fn many_extents_holes_and_unwritten_extents_read_right() {
        for crc in [true, false] {
            for btree in [false, true] {
                let (image, ino, expected) = fragmented(fixture(crc), btree);
                let fs = open(Arc::new(image)).unwrap();
                assert_eq!(fs.read_inode(ino).unwrap().format, if btree { 3 } else { 2 });
                assert_eq!(fs.extents(&fs.read_inode(ino).unwrap()).unwrap().len(), 9);
                assert!(fs.read_file(ino, 1 << 20).unwrap() == expected, "crc {crc} btree {btree}");
            }
        }
    }

    #[test]
    fn bad_bmap_btrees_are_errors() {
        let f = fixture(true);
        let (image, ino, _) = fragmented(f, true);
        let fs = open(Arc::new(image.clone())).unwrap();
        let fork_at = fs.inode_offset(ino).unwrap() + 176;
        let leaf_at = fs.block_offset(last_block(&fs)).unwrap();
        let cases: [(u64, &[u8]); 6] = [
            (fork_at, &[0, 9, 0, 1]),           // deeper than the bound
            (fork_at, &[0, 2, 0, 1]),           // the child is not one level down
            (fork_at, &[0, 0, 0, 1]),           // a root of level 0
            (fork_at, &[0, 1, 0xff, 0xff]),     // more records than the root holds
            (leaf_at + 4, &[0, 0, 0xff, 0xff]), // more records than the leaf holds
            (leaf_at + 4, &[0, 0, 0, 0]),       // an empty leaf
        ];
        for (at, bytes) in cases {
            let fs = open(Arc::new(Overlay { base: Arc::new(image.clone()), at, patch: bytes.to_vec() })).unwrap();
            assert!(fs.read_file(ino, 1 << 20).is_err(), "{bytes:?} at {at}");
        }
        // A btree of the bound's depth whose blocks point at themselves:
        // a level mismatch, not a loop.
        let mut looped = image.clone();
        let leaf = last_block(&fs);
        put(&mut looped, fork_at, &[0, 8, 0, 1]);
        put(&mut looped, leaf_at + 4, &[0, 7, 0, 1]);
        put(&mut looped, leaf_at + 72 + (4096 - 72) / 16 * 8, &leaf.to_be_bytes());
        let fs = open(Arc::new(looped)).unwrap();
        assert!(fs.read_file(ino, 1 << 20).is_err());
    }

    #[test]
    fn extents_past_the_device_and_huge_counts_are_errors() {
        let f = fixture(true);
        let fs = open(f.image.clone()).unwrap();
        let twenty = lookup(&fs, "twenty");
        let fork_at = fs.inode_offset(twenty).unwrap() + 176;
        let e = fs.extents(&fs.read_inode(twenty).unwrap()).unwrap()[0];
        // In the last AG of a device cut in half; then in an AG that does not exist.
        let mut image = f.image.to_vec();
        put(&mut image, fork_at, &record(0, last_block(&fs), e.len, false));
        let half = image.len() as u64 / 2;
        let cut = open(Arc::new(Slice::new(Arc::new(image.clone()), 0, half))).unwrap();
        assert_eq!(cut.read_dir(twenty, 100).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        put(&mut image, fork_at, &record(0, (fs.agcount + 1) << fs.agblklog, e.len, false));
        assert!(open(Arc::new(image)).unwrap().read_dir(twenty, 100).is_err());
        // Huge extent counts, in the inode and in the btree root.
        let frag = lookup(&fs, "frag");
        let inode_at = fs.inode_offset(frag).unwrap();
        for (at, bytes) in [(inode_at + 76, vec![0xff; 4]), (inode_at + 5, vec![3])] {
            let fs = open(Arc::new(Overlay { base: f.image.clone(), at, patch: bytes })).unwrap();
            assert!(fs.read_file(frag, 1 << 20).is_err());
        }
        // A 64-bit extent count (nrext64) that is huge.
        let mut image = f.image.to_vec();
        put(&mut image, inode_at + 120, &DIFLAG2_NREXT64.to_be_bytes());
        put(&mut image, inode_at + 24, &u64::MAX.to_be_bytes());
        assert!(open(Arc::new(image)).unwrap().read_file(frag, 1 << 20).is_err());
    }

    /// A byte of the image xor-ed.
    struct Flip {
        base: Arc<Vec<u8>>,
        at: u64,
        xor: u8,
    }

    impl ReadAt for Flip {
        fn size(&self) -> u64 {
            self.base.size()
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.base.read_exact_at(buf, offset)?;
            if let Some(b) = self.at.checked_sub(offset).and_then(|d| buf.get_mut(d as usize)) {
                *b ^= self.xor;
            }
            Ok(())
        }
    }

    /// Flips bytes of the metadata (superblock, every inode, every
    /// directory and symlink block) of the small fixture one at a time and
    /// reads the whole tree each time: errors are fine, panics and hangs not.
    #[test]
    fn flipped_metadata_bytes_never_panic() {
        let f = small_fixture();
        let fs = open(f.image.clone()).unwrap();
        let mut regions = vec![(0u64, 512u64)];
        let mut stack = vec![fs.root()];
        while let Some(ino) = stack.pop() {
            regions.push((fs.inode_offset(ino).unwrap(), fs.inode_size));
            let inode = fs.read_inode(ino).unwrap();
            let kind = kind_of(inode.mode);
            if kind != Kind::File && inode.format != 1 {
                for e in fs.extents(&inode).unwrap() {
                    regions.push((fs.block_offset(e.start).unwrap(), e.len * fs.block_size));
                }
            }
            if kind == Kind::Dir {
                stack.extend(fs.read_dir(ino, 1000).unwrap().iter().map(|e| e.inode));
            }
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut opened = 0;
        for _ in 0..3000 {
            let (start, len) = regions[next() as usize % regions.len()];
            let at = start + next() % len;
            let xor = (next() % 255 + 1) as u8;
            let device = Arc::new(Flip { base: f.image.clone(), at, xor });
            if let Ok(fs) = open(device) {
                opened += 1;
                let _ = walk(&fs, fs.root(), "", 0, &mut Tree::new());
            }
        }
        assert!(opened > 1000, "most flips leave the superblock readable");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
        /// Any geometry in the superblock: open refuses it or the tree reads
        /// (with errors, maybe) without a panic.
        #[test]
        fn any_superblock_geometry_is_safe(
            block_size in prop_oneof![Just(4096u32), any::<u32>()],
            agblocks in prop_oneof![Just(2048u32), 1u32..100_000, any::<u32>()],
            agcount in prop_oneof![Just(4u32), 1u32..100, any::<u32>()],
            inode_size in prop_oneof![Just(512u16), any::<u16>()],
            logs in prop::array::uniform6(0u8..40),
            rootino in prop_oneof![Just(128u64), 0u64..100_000, any::<u64>()],
            version in any::<u16>(),
            dblocks in any::<u64>(),
        ) {
            let f = small_fixture();
            let mut sb = f.image[..512].to_vec();
            put(&mut sb, 4, &block_size.to_be_bytes());
            put(&mut sb, 8, &dblocks.to_be_bytes());
            put(&mut sb, 56, &rootino.to_be_bytes());
            put(&mut sb, 84, &agblocks.to_be_bytes());
            put(&mut sb, 88, &agcount.to_be_bytes());
            if version % 3 == 0 {
                put(&mut sb, 100, &version.to_be_bytes());
            }
            put(&mut sb, 104, &inode_size.to_be_bytes());
            // blocklog, inodelog, inopblog, agblklog, dirblklog: often the real ones.
            for (i, at) in [120usize, 122, 123, 124, 192, 121].into_iter().enumerate() {
                if logs[i] < 20 {
                    sb[at] = logs[i];
                }
            }
            if let Ok(fs) = open(Arc::new(Overlay { base: f.image.clone(), at: 0, patch: sb })) {
                let _ = walk(&fs, fs.root(), "", 0, &mut Tree::new());
            }
        }
    }
}
