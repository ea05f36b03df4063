//! VMDK hosted sparse extents ("KDMV"): monolithicSparse and
//! streamOptimized. A little-endian header, an embedded text descriptor, a
//! grain directory of grain tables, each entry the sector of one grain (0:
//! unallocated, reads zeros; 1: a zeroed grain when the header says so).
//! streamOptimized grains are zlib-compressed behind a 12-byte marker, and
//! its header may sit in a footer at the end of the file. Refused: split
//! (descriptor-only or extent-only) images and other create types.

use std::io;
use std::sync::Arc;

use super::{inflate, read_blocks, read_table, BlockCache, Run};
use crate::check::image::fs::corrupt;
use crate::check::image::read_at::{read_vec, Le, ReadAt};

const FLAG_ZEROED_GRAIN: u32 = 1 << 2;
const FLAG_COMPRESSED: u32 = 1 << 16;
const FLAG_MARKERS: u32 = 1 << 17;
const GD_AT_END: u64 = u64::MAX;
const COMPRESS_DEFLATE: u16 = 1;

struct Sparse {
    image: Arc<dyn ReadAt>,
    size: u64,
    grain_bytes: u64,
    gtes_per_gt: u64,
    zeroed_grains: bool,
    compressed: bool,
    /// The grain directory: the sector of each grain table.
    gd: Vec<u32>,
    gt_cache: BlockCache,
    inflated: BlockCache,
}

pub(super) fn open(image: Arc<dyn ReadAt>) -> Result<Arc<dyn ReadAt>, String> {
    let mut header = read_vec(&*image, 0, 512).map_err(|e| format!("VMDK header: {e}"))?;
    check_descriptor(&*image, &header)?;
    if Le(&header).u64(56) == GD_AT_END {
        // streamOptimized written in one pass: the real header is in the
        // footer, between a footer marker and the end-of-stream marker.
        let at = image.size().checked_sub(1536).ok_or("VMDK footer is missing")?;
        let tail = read_vec(&*image, at, 1536).map_err(|e| format!("VMDK footer: {e}"))?;
        let t = Le(&tail);
        if t.u32(12) != 3 || t.bytes(512, 4) != b"KDMV" || t.u32(1024 + 12) != 0 {
            return Err("VMDK footer is missing or damaged".into());
        }
        header = t.bytes(512, 512).to_vec();
    }
    let h = Le(&header);
    let version = h.u32(4);
    if !(1..=3).contains(&version) {
        return Err(format!("VMDK version {version} is not supported"));
    }
    let flags = h.u32(8);
    let compressed = flags & FLAG_COMPRESSED != 0;
    if compressed && (h.u16(77) != COMPRESS_DEFLATE || flags & FLAG_MARKERS == 0) {
        return Err("VMDK compression other than deflate with markers is not supported".into());
    }
    let grain_sectors = h.u64(20);
    if !(1..=2048).contains(&grain_sectors) {
        return Err(format!("VMDK grain size of {grain_sectors} sectors is not supported"));
    }
    let gtes_per_gt = u64::from(h.u32(44));
    if !(1..=65536).contains(&gtes_per_gt) {
        return Err(format!("VMDK grain table of {gtes_per_gt} entries is not supported"));
    }
    let size = h.u64(12).checked_mul(512).ok_or("VMDK capacity is too large")?;
    let grain_bytes = grain_sectors * 512;
    let gt_span = grain_bytes * gtes_per_gt;
    // qemu reads the redundant directory when the header has one.
    let gd_sector = if flags & 2 != 0 { h.u64(48) } else { h.u64(56) };
    let gd_offset = gd_sector.checked_mul(512).ok_or("VMDK grain directory offset is too large")?;
    let gd_bytes = read_table(&*image, gd_offset, size.div_ceil(gt_span) * 4, "VMDK grain directory")?;
    let gd = gd_bytes.chunks_exact(4).map(|e| Le(e).u32(0)).collect();
    Ok(Arc::new(Sparse {
        image,
        size,
        grain_bytes,
        gtes_per_gt,
        zeroed_grains: flags & FLAG_ZEROED_GRAIN != 0,
        compressed,
        gd,
        gt_cache: BlockCache::new(),
        inflated: BlockCache::new(),
    }))
}

/// The embedded descriptor must say the extent is the whole disk.
fn check_descriptor(image: &dyn ReadAt, header: &[u8]) -> Result<(), String> {
    const SPLIT: &str = "VMDK extent without its descriptor (split image) is not supported";
    let h = Le(header);
    let (sector, sectors) = (h.u64(28), h.u64(36));
    if sector == 0 || sectors == 0 {
        return Err(SPLIT.into());
    }
    let offset = sector.checked_mul(512).ok_or("VMDK descriptor offset is too large")?;
    let len = sectors.min(2048) * 512; // a descriptor is a few hundred bytes
    let len = len.min(image.size().saturating_sub(offset));
    let text = read_table(image, offset, len, "VMDK descriptor")?;
    let text = String::from_utf8_lossy(&text);
    let create_type = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("createType"))
        .map(|rest| rest.trim_start_matches([' ', '=', '"']).trim_end_matches([' ', '"', '\0']))
        .unwrap_or("");
    match create_type {
        "monolithicSparse" | "streamOptimized" => Ok(()),
        "" => Err(SPLIT.into()),
        other => {
            Err(format!("VMDK create type {other:?} is not supported (only monolithicSparse and streamOptimized)"))
        }
    }
}

impl Sparse {
    fn map(&self, offset: u64) -> io::Result<Run> {
        let grain = offset / self.grain_bytes;
        let gt_sector = match self.gd.get((grain / self.gtes_per_gt) as usize) {
            Some(0) | None => return Ok(Run::Zero),
            Some(&sector) => u64::from(sector) * 512,
        };
        let gt = self.gt_cache.get(gt_sector, || read_vec(&*self.image, gt_sector, self.gtes_per_gt as usize * 4))?;
        let gte = Le(&gt).u32(((grain % self.gtes_per_gt) * 4) as usize);
        if gte == 0 || (gte == 1 && self.zeroed_grains) {
            return Ok(Run::Zero);
        }
        let host = u64::from(gte) * 512;
        let within = offset % self.grain_bytes;
        if !self.compressed {
            return Ok(Run::Image(host + within));
        }
        // A grain marker: the grain's sector (u64), the compressed length (u32).
        let grain_bytes = self.grain_bytes as usize;
        let block = self.inflated.get(host, || {
            let marker = read_vec(&*self.image, host, 12)?;
            let len = u64::from(Le(&marker).u32(8));
            if len > 2 * self.grain_bytes + 4096 {
                return Err(corrupt("VMDK compressed grain is larger than a grain"));
            }
            let data = read_vec(&*self.image, host + 12, len as usize)?;
            inflate(&data, grain_bytes, true, true)
        })?;
        Ok(Run::Buffer(block, within as usize))
    }
}

impl ReadAt for Sparse {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_blocks(&*self.image, self.size, self.grain_bytes, buf, offset, |at| self.map(at))
    }
}
