//! FAT12/16/32 (vfat): an image's EFI system partition, or Alibaba's first
//! partition.
//!
//! Layout: the boot sector's BPB gives the sector size, the cluster size,
//! the reserved sectors, the FATs and (FAT12/16) the fixed root directory;
//! then the data clusters, numbered from 2. The FAT type follows from the
//! cluster count (< 4085: FAT12, < 65525: FAT16, else FAT32), as the spec
//! says. A directory is an array of 32-byte entries: an 8.3 short entry,
//! preceded by long-name (LFN) entries holding the name in UCS-2, each with
//! the short name's checksum.
//!
//! Inode numbers: the root is 1; any other file is the device offset of its
//! short entry. Supported: long names (checksum verified, else the 8.3 name
//! lower-cased per the NT case bits), read-only attribute. Not supported:
//! FATs larger than 64 MiB (above ~16 M clusters), exFAT. FAT has no links,
//! owners or permissions: directories are 0755, files 0644 (0444 when
//! read-only), owned by root.

use std::io;
use std::sync::Arc;

use super::{corrupt, DirEntry, FileSystem, Info, Kind, Stat};
use crate::check::image::read_at::{read_vec, Le, ReadAt};

const ROOT: u64 = 1;
const ENTRY: u64 = 32;
/// The spec's limit of a directory: 65536 entries.
const MAX_DIR_BYTES: u64 = 65536 * ENTRY;
/// The FAT is read whole into memory: at most this.
const MAX_FAT_BYTES: u64 = 64 << 20;
const ATTR_READ_ONLY: u8 = 0x01;
const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
const ATTR_LFN: u8 = 0x0f;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FatType {
    Fat12,
    Fat16,
    Fat32,
}

pub struct Vfat {
    device: Arc<dyn ReadAt>,
    fat_type: FatType,
    cluster_bytes: u64,
    /// Where cluster 2 starts.
    data_offset: u64,
    clusters: u32,
    /// FAT12/16: the fixed root directory (offset, bytes); FAT32: its first cluster.
    root_region: (u64, u64),
    root_cluster: u32,
    fat: Vec<u8>,
    info: Info,
}

/// The boot sector's fields this reader needs, checked for sanity.
struct Bpb {
    bytes_per_sector: u64,
    sectors_per_cluster: u64,
    reserved: u64,
    fats: u64,
    root_entries: u64,
    total_sectors: u64,
    fat_sectors: u64,
}

fn parse_bpb(sector: &[u8]) -> Option<Bpb> {
    let b = Le(sector);
    let bps = u64::from(b.u16(11));
    let spc = u64::from(b.u8(13));
    let total16 = u64::from(b.u16(19));
    let fat16 = u64::from(b.u16(22));
    let bpb = Bpb {
        bytes_per_sector: bps,
        sectors_per_cluster: spc,
        reserved: u64::from(b.u16(14)),
        fats: u64::from(b.u8(16)),
        root_entries: u64::from(b.u16(17)),
        total_sectors: if total16 != 0 { total16 } else { u64::from(b.u32(32)) },
        fat_sectors: if fat16 != 0 { fat16 } else { u64::from(b.u32(36)) },
    };
    let media = b.u8(21);
    let sane = b.u16(510) == 0xaa55
        && (media == 0xf0 || media >= 0xf8)
        && (512..=4096).contains(&bps)
        && bps.is_power_of_two()
        && spc.is_power_of_two()
        && bpb.reserved >= 1
        && bpb.fats >= 1
        && bpb.total_sectors != 0
        && bpb.fat_sectors != 0;
    sane.then_some(bpb)
}

/// Whether `device` starts with a FAT boot sector.
pub fn is_vfat(device: &dyn ReadAt) -> bool {
    read_vec(device, 0, 512).ok().and_then(|s| parse_bpb(&s)).is_some()
}

pub fn open(device: Arc<dyn ReadAt>) -> io::Result<Vfat> {
    let sector = read_vec(&*device, 0, 512)?;
    let bpb = parse_bpb(&sector).ok_or_else(|| corrupt("vfat: no valid FAT boot sector"))?;
    let bps = bpb.bytes_per_sector;
    let root_dir_sectors = (bpb.root_entries * ENTRY).div_ceil(bps);
    // All u16/u32 fields times small factors: no overflow in u64.
    let data_sector = bpb.reserved + bpb.fats * bpb.fat_sectors + root_dir_sectors;
    let data_sectors =
        bpb.total_sectors.checked_sub(data_sector).ok_or_else(|| corrupt("vfat: the data area starts past the end"))?;
    let count = data_sectors / bpb.sectors_per_cluster;
    let fat_type = match count {
        0..4085 => FatType::Fat12,
        4085..65525 => FatType::Fat16,
        _ => FatType::Fat32,
    };
    let clusters = u32::try_from(count).map_err(|_| corrupt("vfat: too many clusters"))?;
    // The FAT must hold an entry for every cluster (and the two reserved).
    let fat_needed = match fat_type {
        // 12 bits an entry: the last one may end in the middle of a byte.
        FatType::Fat12 => ((count + 2) * 3).div_ceil(2),
        FatType::Fat16 => (count + 2) * 2,
        FatType::Fat32 => (count + 2) * 4,
    };
    if fat_needed > bpb.fat_sectors * bps {
        return Err(corrupt("vfat: the FAT is smaller than the cluster count"));
    }
    if fat_needed > MAX_FAT_BYTES {
        return Err(corrupt("vfat: FAT too large for this reader"));
    }
    let fat = read_vec(&*device, bpb.reserved * bps, fat_needed as usize)?;
    let b = Le(&sector);
    // The extended boot record (serial, label) sits after the FAT32 fields on FAT32.
    let ebr = if fat_type == FatType::Fat32 { 64 } else { 36 };
    let (uuid, label) = if matches!(b.u8(ebr + 2), 0x28 | 0x29) {
        let serial = b.u32(ebr + 3);
        let uuid = format!("{:04X}-{:04X}", serial >> 16, serial & 0xffff);
        let label = if b.u8(ebr + 2) == 0x29 {
            String::from_utf8_lossy(b.bytes(ebr + 7, 11)).trim_end().to_string()
        } else {
            String::new()
        };
        (uuid, if label == "NO NAME" { String::new() } else { label })
    } else {
        (String::new(), String::new())
    };
    let mut fs = Vfat {
        device,
        fat_type,
        cluster_bytes: bpb.sectors_per_cluster * bps,
        data_offset: data_sector * bps,
        clusters,
        root_region: ((bpb.reserved + bpb.fats * bpb.fat_sectors) * bps, root_dir_sectors * bps),
        root_cluster: b.u32(44),
        fat,
        info: Info::default(),
    };
    let free = (2..clusters.saturating_add(2)).filter(|&c| fs.fat_entry(c) == 0).count();
    fs.info = Info { kind: "vfat", uuid, label, blocks_total: count, blocks_free: free as u64, ..Info::default() };
    Ok(fs)
}

impl Vfat {
    fn fat_entry(&self, cluster: u32) -> u32 {
        let fat = Le(&self.fat);
        let c = cluster as usize;
        match self.fat_type {
            FatType::Fat12 => {
                let pair = u32::from(fat.u16(c + c / 2));
                if c.is_multiple_of(2) {
                    pair & 0xfff
                } else {
                    pair >> 4
                }
            }
            FatType::Fat16 => u32::from(fat.u16(c * 2)),
            FatType::Fat32 => fat.u32(c * 4) & 0x0fff_ffff,
        }
    }

    fn is_end(&self, entry: u32) -> bool {
        entry
            >= match self.fat_type {
                FatType::Fat12 => 0xff8,
                FatType::Fat16 => 0xfff8,
                FatType::Fat32 => 0x0fff_fff8,
            }
    }

    /// The clusters of a chain from `first`, at most `max` of them (the
    /// rest is not needed); a loop or a cluster out of range is an error.
    fn chain(&self, first: u32, max: u64) -> io::Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut cluster = first;
        while (out.len() as u64) < max.min(u64::from(self.clusters)) {
            if cluster < 2 || cluster - 2 >= self.clusters {
                return Err(corrupt(format!("vfat: cluster {cluster} out of range")));
            }
            out.push(cluster);
            let next = self.fat_entry(cluster);
            if self.is_end(next) {
                break;
            }
            cluster = next;
        }
        let mut sorted = out.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(corrupt("vfat: loop in a cluster chain"));
        }
        Ok(out)
    }

    fn cluster_offset(&self, cluster: u32) -> u64 {
        // cluster - 2 < clusters (checked by chain) and the product fits u64.
        self.data_offset + u64::from(cluster - 2) * self.cluster_bytes
    }

    /// `size` bytes of the chain from `first`.
    fn read_chain(&self, first: u32, size: u64) -> io::Result<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let needed = size.div_ceil(self.cluster_bytes);
        let chain = self.chain(first, needed)?;
        if (chain.len() as u64) < needed {
            return Err(corrupt("vfat: cluster chain shorter than the file"));
        }
        let mut out = Vec::with_capacity(size as usize);
        for cluster in chain.into_iter().take(needed as usize) {
            let len = (size - out.len() as u64).min(self.cluster_bytes) as usize;
            out.extend_from_slice(&read_vec(&*self.device, self.cluster_offset(cluster), len)?);
        }
        Ok(out)
    }

    /// A directory's raw entries with the device offset of each.
    fn dir_bytes(&self, dir: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
        let regions: Vec<(u64, u64)> = if dir == ROOT && self.fat_type != FatType::Fat32 {
            vec![self.root_region]
        } else {
            let first = if dir == ROOT { self.root_cluster } else { self.entry(dir)?.cluster };
            let max = MAX_DIR_BYTES.div_ceil(self.cluster_bytes);
            self.chain(first, max)?.into_iter().map(|c| (self.cluster_offset(c), self.cluster_bytes)).collect()
        };
        let mut out = Vec::new();
        for (offset, len) in regions {
            let len = len.min(MAX_DIR_BYTES);
            out.push((offset, read_vec(&*self.device, offset, len as usize)?));
        }
        Ok(out)
    }

    /// The short entry at device offset `inode`.
    fn entry(&self, inode: u64) -> io::Result<Short> {
        if !inode.is_multiple_of(ENTRY) || inode < self.root_region.0 {
            return Err(corrupt(format!("vfat: no entry at inode {inode}")));
        }
        let raw = read_vec(&*self.device, inode, ENTRY as usize)?;
        let e = Le(&raw);
        let high = if self.fat_type == FatType::Fat32 { u32::from(e.u16(20)) << 16 } else { 0 };
        Ok(Short { attr: e.u8(11), cluster: high | u32::from(e.u16(26)), size: u64::from(e.u32(28)) })
    }
}

struct Short {
    attr: u8,
    cluster: u32,
    size: u64,
}

/// The checksum of an 8.3 name that its LFN entries carry.
fn lfn_checksum(short: &[u8]) -> u8 {
    short.iter().fold(0u8, |sum, &c| sum.rotate_right(1).wrapping_add(c))
}

/// The 8.3 name, lower-cased per the NT case bits (0x08 base, 0x10 extension).
fn short_name(e: &Le) -> Vec<u8> {
    let case = e.u8(12);
    let mut base: Vec<u8> = e.bytes(0, 8).to_vec();
    // 0x05 stands for a name that starts with 0xE5 (the deleted mark).
    if let Some(first @ 0x05) = base.first_mut() {
        *first = 0xe5;
    }
    let trim = |mut v: Vec<u8>, lower: bool| {
        while v.last() == Some(&b' ') {
            v.pop();
        }
        if lower {
            v.make_ascii_lowercase();
        }
        v
    };
    let mut name = trim(base, case & 0x08 != 0);
    let ext = trim(e.bytes(8, 3).to_vec(), case & 0x10 != 0);
    if !ext.is_empty() {
        name.push(b'.');
        name.extend(ext);
    }
    name
}

/// Long-name entries collected before a short entry.
#[derive(Default)]
struct LongName {
    units: Vec<u16>,
    /// The sequence number the next LFN entry must have (0: complete).
    expect: u8,
    checksum: u8,
    valid: bool,
}

impl LongName {
    fn add(&mut self, e: &Le) {
        let seq = e.u8(0);
        let index = seq & 0x1f;
        if seq & 0x40 != 0 {
            *self = LongName {
                units: vec![0xffff; usize::from(index) * 13],
                expect: index,
                checksum: e.u8(13),
                valid: index != 0,
            };
        }
        if !self.valid || index != self.expect || index == 0 || e.u8(13) != self.checksum {
            self.valid = false;
            return;
        }
        let at = usize::from(index - 1) * 13;
        let slots = (1..11).step_by(2).chain((14..26).step_by(2)).chain((28..32).step_by(2));
        for (i, off) in slots.enumerate() {
            if let Some(unit) = self.units.get_mut(at + i) {
                *unit = e.u16(off);
            }
        }
        self.expect -= 1;
    }

    /// The name, if complete and made for this short name.
    fn take(&mut self, short: &[u8]) -> Option<Vec<u8>> {
        let done = std::mem::take(self);
        if !done.valid || done.expect != 0 || done.checksum != lfn_checksum(short) {
            return None;
        }
        let units = done.units.iter().copied().take_while(|&u| u != 0 && u != 0xffff);
        let name: String = char::decode_utf16(units).map(|c| c.unwrap_or('\u{fffd}')).collect();
        (!name.is_empty()).then(|| name.into_bytes())
    }
}

impl FileSystem for Vfat {
    fn info(&self) -> Info {
        self.info.clone()
    }

    fn root(&self) -> u64 {
        ROOT
    }

    fn stat(&self, inode: u64) -> io::Result<Stat> {
        let (kind, mode, size) = if inode == ROOT {
            (Kind::Dir, 0o755, 0)
        } else {
            let e = self.entry(inode)?;
            match (e.attr & ATTR_DIR != 0, e.attr & ATTR_READ_ONLY != 0) {
                (true, _) => (Kind::Dir, 0o755, 0),
                (false, true) => (Kind::File, 0o444, e.size),
                (false, false) => (Kind::File, 0o644, e.size),
            }
        };
        Ok(Stat { kind, mode, uid: 0, gid: 0, size, immutable: false })
    }

    fn read_dir(&self, dir: u64, max: usize) -> io::Result<Vec<DirEntry>> {
        if self.stat(dir)?.kind != Kind::Dir {
            return Err(corrupt(format!("vfat: inode {dir} is not a directory")));
        }
        let mut out = Vec::new();
        let mut long = LongName::default();
        for (base, bytes) in self.dir_bytes(dir)? {
            for (i, raw) in bytes.chunks_exact(ENTRY as usize).enumerate() {
                let e = Le(raw);
                let attr = e.u8(11);
                match e.u8(0) {
                    0 => return Ok(out),
                    0xe5 => {
                        long = LongName::default();
                        continue;
                    }
                    _ => {}
                }
                if attr & 0x3f == ATTR_LFN {
                    long.add(&e);
                    continue;
                }
                let short = e.bytes(0, 11);
                let lfn = long.take(short);
                if attr & ATTR_VOLUME != 0 || short.first() == Some(&b'.') {
                    continue;
                }
                if out.len() >= max {
                    return Err(corrupt(format!("vfat: more than {max} entries in a directory")));
                }
                let name = lfn.unwrap_or_else(|| short_name(&e));
                out.push(DirEntry { name, inode: base + i as u64 * ENTRY });
            }
        }
        Ok(out)
    }

    fn read_file(&self, inode: u64, max: u64) -> io::Result<Vec<u8>> {
        if self.stat(inode)?.kind != Kind::File {
            return Err(corrupt(format!("vfat: inode {inode} is not a file")));
        }
        let e = self.entry(inode)?;
        if e.size > max {
            return Err(corrupt(format!("vfat: file of {} bytes is larger than {max}", e.size)));
        }
        self.read_chain(e.cluster, e.size)
    }

    fn read_link(&self, inode: u64) -> io::Result<Vec<u8>> {
        Err(corrupt(format!("vfat: inode {inode} is no link (FAT has none)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::FileExt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    struct File(std::fs::File);
    impl ReadAt for File {
        fn size(&self) -> u64 {
            self.0.metadata().map(|m| m.len()).unwrap_or(0)
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            crate::check::image::read_at::check_bounds(self.size(), buf.len(), offset)?;
            self.0.read_exact_at(buf, offset)
        }
    }

    fn run(cmd: &str) -> String {
        let out = Command::new("sh").arg("-c").arg(cmd).env("MTOOLS_SKIP_CHECK", "1").output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {} (are dosfstools and mtools installed?)",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("osconf-vfat-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The tree the images are made of: long names, mixed case, 8.3 names,
    /// nested dirs, sizes 0, 1, 5000, 1 MiB, a directory of 300 entries.
    fn make_tree(root: &Path) {
        let boot = root.join("EFI/BOOT");
        std::fs::create_dir_all(&boot).unwrap();
        std::fs::write(boot.join("BOOTX64.EFI"), vec![0x4d; 5000]).unwrap();
        std::fs::write(root.join("EFI/BOOT/grub.cfg"), b"x").unwrap();
        std::fs::write(root.join("empty"), b"").unwrap();
        std::fs::write(
            root.join("A Long File Name With Spaces.txt"),
            (0..1u32 << 20).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
        )
        .unwrap();
        std::fs::write(root.join("MixedCase.Cfg"), b"mixed").unwrap();
        std::fs::write(root.join("grubenv"), b"# GRUB Environment Block").unwrap();
        let many = root.join("many/deeper level");
        std::fs::create_dir_all(&many).unwrap();
        for i in 0..300 {
            std::fs::write(many.join(format!("file number {i:03}.conf")), format!("{i}")).unwrap();
        }
    }

    /// path -> content (None for a directory).
    fn walk_disk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = format!("{prefix}/{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                out.insert(path.clone(), None);
                walk_disk(&entry.path(), &path, out);
            } else {
                out.insert(path, Some(std::fs::read(entry.path()).unwrap()));
            }
        }
    }

    fn walk_fat(
        fs: &Vfat,
        dir: u64,
        prefix: &str,
        depth: u32,
        out: &mut BTreeMap<String, Option<Vec<u8>>>,
    ) -> io::Result<()> {
        if depth > 16 {
            return Ok(());
        }
        for entry in fs.read_dir(dir, 1000)? {
            let path = format!("{prefix}/{}", String::from_utf8_lossy(&entry.name));
            let stat = fs.stat(entry.inode)?;
            if stat.kind == Kind::Dir {
                assert_eq!(stat.mode, 0o755);
                out.insert(path.clone(), None);
                walk_fat(fs, entry.inode, &path, depth + 1, out)?;
            } else {
                let data = fs.read_file(entry.inode, 2 << 20)?;
                assert_eq!(data.len() as u64, stat.size, "{path}");
                assert!(fs.read_link(entry.inode).is_err());
                out.insert(path, Some(data));
            }
        }
        Ok(())
    }

    fn make_image(dir: &Path, fat: u32, mib: u32) -> PathBuf {
        let img = dir.join(format!("fat{fat}.img"));
        let extra = if fat == 32 { "-s 1" } else { "" };
        run(&format!(
            "mkfs.vfat -C -F {fat} {extra} -n EFI-{fat} -i 1234ABCD {} {} >/dev/null",
            img.display(),
            mib * 1024
        ));
        run(&format!("mcopy -s -i {} {}/* ::/", img.display(), dir.join("tree").display()));
        img
    }

    fn open_image(img: &Path) -> Vfat {
        let file: Arc<dyn ReadAt> = Arc::new(File(std::fs::File::open(img).unwrap()));
        assert!(is_vfat(&*file));
        open(file).unwrap()
    }

    #[test]
    fn reads_what_mtools_wrote_on_fat12_16_32() {
        let dir = temp("tree");
        make_tree(&dir.join("tree"));
        let mut expected = BTreeMap::new();
        walk_disk(&dir.join("tree"), "", &mut expected);
        for (fat, mib, fat_type) in [(12, 4, FatType::Fat12), (16, 16, FatType::Fat16), (32, 40, FatType::Fat32)] {
            let img = make_image(&dir, fat, mib);
            let fs = open_image(&img);
            assert_eq!(fs.fat_type, fat_type);
            let mut got = BTreeMap::new();
            walk_fat(&fs, fs.root(), "", 0, &mut got).unwrap();
            assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "FAT{fat}");
            assert!(got == expected, "FAT{fat}: contents differ");
            // Info as blkid prints it.
            let blkid = run(&format!("blkid -p -o export {}", img.display()));
            let info = fs.info();
            assert_eq!(info.kind, "vfat");
            assert!(blkid.contains(&format!("UUID={}\n", info.uuid)), "{blkid} vs {}", info.uuid);
            assert_eq!(info.uuid, "1234-ABCD");
            assert!(blkid.contains(&format!("LABEL={}\n", info.label)), "{blkid} vs {}", info.label);
            // minfo's free clusters and cluster count.
            let minfo = run(&format!("minfo -i {} ::", img.display()));
            assert!(info.blocks_free > 0 && info.blocks_free < info.blocks_total, "{info:?}");
            // mdir's last line: "   2 457 600 bytes free".
            let free_bytes = run(&format!("mdir -i {} :: | grep 'bytes free'", img.display()));
            let free_bytes: u64 = free_bytes.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap();
            assert_eq!(info.blocks_free * fs.cluster_bytes, free_bytes, "FAT{fat}: {minfo}");
            assert_eq!(fs.stat(fs.root()).unwrap().kind, Kind::Dir);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_read_only_file_is_0444_and_a_chain_loop_is_an_error() {
        let dir = temp("loop");
        std::fs::create_dir_all(dir.join("tree")).unwrap();
        std::fs::write(dir.join("tree/big"), vec![9u8; 5000]).unwrap();
        let img = make_image(&dir, 16, 16);
        run(&format!("mattrib -i {} +r ::/big", img.display()));
        let fs = open_image(&img);
        let big = fs.read_dir(ROOT, 10).unwrap().into_iter().find(|e| e.name == b"big").unwrap();
        assert_eq!(fs.stat(big.inode).unwrap().mode, 0o444);
        assert_eq!(fs.read_file(big.inode, 5000).unwrap(), vec![9u8; 5000]);
        assert!(fs.read_file(big.inode, 4999).is_err());
        // Point the file's first cluster at itself in the FAT.
        let first = fs.entry(big.inode).unwrap().cluster;
        let mut bytes = std::fs::read(&img).unwrap();
        let fat_at = usize::from(u16::from_le_bytes([bytes[14], bytes[15]])) * 512 + 2 * first as usize;
        bytes[fat_at..fat_at + 2].copy_from_slice(&(first as u16).to_le_bytes());
        let fs = open(Arc::new(bytes)).unwrap();
        let err = fs.read_file(big.inode, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn lfn_entry(seq: u8, checksum: u8, name: &str) -> Vec<u8> {
        let mut units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        units.resize(13, 0xffff);
        let mut e = vec![0u8; 32];
        e[0] = seq;
        e[11] = ATTR_LFN;
        e[13] = checksum;
        let slots = (1..11).step_by(2).chain((14..26).step_by(2)).chain((28..32).step_by(2));
        for (unit, off) in units.iter().zip(slots) {
            e[off..off + 2].copy_from_slice(&unit.to_le_bytes());
        }
        e
    }

    #[test]
    fn long_names_need_their_checksum_and_short_names_follow_the_case_bits() {
        let short = *b"GRUB    CFG";
        let mut entry = short.to_vec();
        entry.resize(32, 0);
        for (case, name) in [(0x18u8, "grub.cfg"), (0x08, "grub.CFG"), (0x10, "GRUB.cfg"), (0, "GRUB.CFG")] {
            entry[12] = case;
            assert_eq!(short_name(&Le(&entry)), name.as_bytes());
        }
        for (checksum, expected) in
            [(lfn_checksum(&short), Some(b"Grub \xc3\xa9.cfg".to_vec())), (lfn_checksum(&short) ^ 1, None)]
        {
            let mut long = LongName::default();
            long.add(&Le(&lfn_entry(0x41, checksum, "Grub é.cfg")));
            assert_eq!(long.take(&short), expected);
        }
        // Two parts in order (last first), then out of order: no long name.
        for (second, expected) in [(0x01, Some(b"abcdefghijklmn".to_vec())), (0x02, None)] {
            let mut long = LongName::default();
            long.add(&Le(&lfn_entry(0x42, lfn_checksum(&short), "n")));
            long.add(&Le(&lfn_entry(second, lfn_checksum(&short), "abcdefghijklm")));
            assert_eq!(long.take(&short), expected);
        }
    }

    #[test]
    fn corrupted_images_give_errors_never_panics() {
        let dir = temp("mutate");
        make_tree(&dir.join("tree"));
        std::fs::remove_dir_all(dir.join("tree/many")).unwrap();
        std::fs::remove_file(dir.join("tree/A Long File Name With Spaces.txt")).unwrap();
        let img = make_image(&dir, 12, 1);
        let clean = std::fs::read(&img).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // The metadata (boot sector, FATs, root directory, first clusters) is in the first 64 KiB.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (mut opened, mut walked) = (0, 0);
        for round in 0..400 {
            let mut bytes = clean.clone();
            for _ in 0..1 + round % 8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % 65536) as usize % bytes.len();
                bytes[at] = (seed >> 32) as u8;
            }
            if let Ok(fs) = open(Arc::new(bytes)) {
                let _ = fs.info();
                opened += 1;
                walked += usize::from(walk_fat(&fs, fs.root(), "", 0, &mut BTreeMap::new()).is_ok());
            }
        }
        // Most mutations leave it readable: the walk really ran on them.
        assert!(opened > 200 && walked > 100, "{opened} opened, {walked} walked");
        assert!(!is_vfat(&vec![0u8; 512]));
        assert!(open(Arc::new(clean[..600].to_vec())).is_err());
    }
}
