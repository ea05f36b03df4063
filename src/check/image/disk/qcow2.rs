//! qcow2 (QEMU's copy-on-write format), versions 2 and 3: a big-endian
//! header, an L1 table of L2 tables, each L2 entry mapping one guest
//! cluster to a host cluster, to zeros, or to a deflate-compressed cluster.
//! Extended L2 entries (32 subclusters with allocated/zero bitmaps) are read
//! too. Refused: backing files, encryption, external data files, zstd.

use std::io;
use std::sync::Arc;

use super::{inflate, read_blocks, read_table, BlockCache, Run};
use crate::check::image::fs::corrupt;
use crate::check::image::read_at::{read_vec, Be, ReadAt};

const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00; // bits 9..=55 of L1/L2 entries
const COMPRESSED: u64 = 1 << 62;
const ZERO_FLAG: u64 = 1; // v3: the cluster reads as zeros

// Incompatible feature bits (v3).
const DIRTY: u64 = 1;
const CORRUPT: u64 = 1 << 1;
const EXTERNAL_DATA: u64 = 1 << 2;
const COMPRESSION_TYPE: u64 = 1 << 3;
const EXTENDED_L2: u64 = 1 << 4;

struct Qcow2 {
    image: Arc<dyn ReadAt>,
    size: u64,
    cluster_bits: u32,
    extended_l2: bool,
    /// L1 entries (host offsets of L2 tables, flags masked later).
    l1: Vec<u64>,
    l2_cache: BlockCache,
    /// Recently inflated compressed clusters.
    inflated: BlockCache,
}

pub(super) fn open(image: Arc<dyn ReadAt>) -> Result<Arc<dyn ReadAt>, String> {
    let head = read_vec(&*image, 0, 112.min(image.size() as usize)).map_err(|e| e.to_string())?;
    let h = Be(&head);
    let version = h.u32(4);
    if version != 2 && version != 3 {
        return Err(format!("qcow2 version {version} is not supported"));
    }
    if h.u64(8) != 0 {
        return Err("qcow2 backing file is not supported: convert with qemu-img convert".into());
    }
    let cluster_bits = h.u32(20);
    if !(9..=21).contains(&cluster_bits) {
        return Err(format!("qcow2 cluster_bits {cluster_bits} is out of range"));
    }
    if h.u32(32) != 0 {
        return Err("encrypted qcow2 is not supported".into());
    }
    let (incompatible, compression_type) = if version == 3 {
        let header_length = h.u32(100);
        (h.u64(72), if header_length > 104 { head.get(104).copied().unwrap_or(0) } else { 0 })
    } else {
        (0, 0)
    };
    if incompatible & EXTERNAL_DATA != 0 {
        return Err("qcow2 external data file is not supported".into());
    }
    if incompatible & COMPRESSION_TYPE != 0 && compression_type != 0 {
        return Err("qcow2 compression type zstd is not supported: convert with qemu-img convert".into());
    }
    let unknown = incompatible & !(DIRTY | CORRUPT | COMPRESSION_TYPE | EXTENDED_L2);
    if unknown != 0 {
        return Err(format!("qcow2 unknown incompatible features {unknown:#x}"));
    }
    let extended_l2 = incompatible & EXTENDED_L2 != 0;
    if extended_l2 && cluster_bits < 14 {
        return Err("qcow2 extended L2 entries need clusters of 16 KiB or more".into());
    }
    let size = h.u64(24);
    // Guest bytes one L1 entry covers: an L2 table of cluster_size / entry
    // size entries, each a cluster.
    let l2_entries_bits = cluster_bits - if extended_l2 { 4 } else { 3 };
    let l1_span = 1u64 << (cluster_bits + l2_entries_bits);
    let l1_needed = size.div_ceil(l1_span);
    let l1_size = u64::from(h.u32(36));
    if l1_size < l1_needed {
        return Err(format!("qcow2 L1 table of {l1_size} entries is too small for {size} bytes"));
    }
    let l1_bytes = read_table(&*image, h.u64(40), l1_needed * 8, "qcow2 L1 table")?;
    let l1 = l1_bytes.chunks_exact(8).map(|e| Be(e).u64(0)).collect();
    Ok(Arc::new(Qcow2 {
        image,
        size,
        cluster_bits,
        extended_l2,
        l1,
        l2_cache: BlockCache::new(),
        inflated: BlockCache::new(),
    }))
}

impl Qcow2 {
    fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// Where the (sub)cluster holding guest `offset` is.
    fn map(&self, offset: u64) -> io::Result<Run> {
        let cluster = offset >> self.cluster_bits;
        let entry_bytes: u64 = if self.extended_l2 { 16 } else { 8 };
        let l2_entries_bits = self.cluster_bits - entry_bytes.trailing_zeros();
        let l1_entry = self.l1.get((cluster >> l2_entries_bits) as usize).copied().unwrap_or(0);
        let l2_offset = l1_entry & OFFSET_MASK;
        if l2_offset == 0 {
            return Ok(Run::Zero);
        }
        if !l2_offset.is_multiple_of(self.cluster_size()) {
            return Err(corrupt("qcow2 L2 table offset is not cluster-aligned"));
        }
        let l2 = self.l2_cache.get(l2_offset, || read_vec(&*self.image, l2_offset, self.cluster_size() as usize))?;
        let at = ((cluster & ((1 << l2_entries_bits) - 1)) * entry_bytes) as usize;
        let entry = Be(&l2).u64(at);
        let within = offset & (self.cluster_size() - 1);
        if entry & COMPRESSED != 0 {
            return self.compressed(entry, within);
        }
        let host = entry & OFFSET_MASK;
        if self.extended_l2 {
            let bitmap = Be(&l2).u64(at + 8);
            let sub = within >> (self.cluster_bits - 5);
            if (bitmap >> 32) & (1 << sub) != 0 || bitmap & (1 << sub) == 0 || host == 0 {
                return Ok(Run::Zero);
            }
        } else if entry & ZERO_FLAG != 0 || host == 0 {
            return Ok(Run::Zero);
        }
        if !host.is_multiple_of(self.cluster_size()) {
            return Err(corrupt("qcow2 data cluster offset is not cluster-aligned"));
        }
        Ok(Run::Image(host + within))
    }

    /// A compressed cluster: its host offset and length are packed in the
    /// entry's low 62 bits (the split depends on the cluster size).
    fn compressed(&self, entry: u64, within: u64) -> io::Result<Run> {
        let sectors_shift = 62 - (self.cluster_bits - 8);
        let host = entry & ((1 << sectors_shift) - 1);
        let sectors = ((entry & !COMPRESSED & (u64::MAX >> 2)) >> sectors_shift) + 1;
        let len = (sectors * 512 - (host & 511)).min(self.image.size().saturating_sub(host));
        let cluster_size = self.cluster_size() as usize;
        let block = self.inflated.get(host, || {
            let data = read_vec(&*self.image, host, len as usize)?;
            inflate(&data, cluster_size, false, false)
        })?;
        Ok(Run::Buffer(block, within as usize))
    }
}

impl ReadAt for Qcow2 {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        // Extended L2 entries map subclusters: read one at a time.
        let block = if self.extended_l2 { self.cluster_size() / 32 } else { self.cluster_size() };
        read_blocks(&*self.image, self.size, block, buf, offset, |at| self.map(at))
    }
}
