//! VHD (Virtual PC, Hyper-V, Azure): a 512-byte big-endian footer, cookie
//! "conectix", at the end of the file (a dynamic disk has a copy at 0).
//! Fixed: the guest's bytes then the footer. Dynamic: a "cxsparse" header
//! points at the block allocation table (BAT); each allocated block is a
//! sector bitmap padded to 512 bytes then the block's data, an unallocated
//! block reads as zeros (as QEMU, the bitmap is not consulted).
//! Differencing disks (a parent image) are refused.

use std::io;
use std::sync::Arc;

use super::{read_blocks, read_table, Run};
use crate::check::image::read_at::{read_vec, Be, ReadAt, Slice};

const FIXED: u32 = 2;
const DYNAMIC: u32 = 3;
const DIFFERENCING: u32 = 4;
const UNALLOCATED: u32 = u32::MAX;

struct Dynamic {
    image: Arc<dyn ReadAt>,
    size: u64,
    block_size: u64,
    /// Where a block's data starts after its sector bitmap.
    bitmap_bytes: u64,
    /// The BAT: each block's first sector in the file.
    bat: Vec<u32>,
}

/// `tail` is the file's last 512 bytes.
pub(super) fn open(image: Arc<dyn ReadAt>, tail: Option<&[u8]>) -> Result<Arc<dyn ReadAt>, String> {
    let footer_at_end = tail.is_some_and(|t| t.starts_with(b"conectix"));
    let footer = match tail {
        Some(t) if footer_at_end => t.to_vec(),
        _ => read_vec(&*image, 0, 512).map_err(|e| format!("VHD footer: {e}"))?,
    };
    let f = Be(&footer);
    let size = f.u64(48);
    match f.u32(60) {
        FIXED if footer_at_end => {
            let data = image.size().saturating_sub(512);
            if size > data {
                return Err(format!("VHD fixed disk of {size} bytes is larger than its file"));
            }
            Ok(Arc::new(Slice::new(image, 0, size)))
        }
        FIXED => Err("VHD fixed disk without its footer at the end".into()),
        DYNAMIC => open_dynamic(image, size, f.u64(16)),
        DIFFERENCING => Err("VHD differencing disks are not supported: convert with qemu-img convert".into()),
        other => Err(format!("VHD disk type {other} is not supported")),
    }
}

fn open_dynamic(image: Arc<dyn ReadAt>, size: u64, header_offset: u64) -> Result<Arc<dyn ReadAt>, String> {
    let header = read_table(&*image, header_offset, 1024, "VHD dynamic header")?;
    if !header.starts_with(b"cxsparse") {
        return Err("VHD dynamic header has no cxsparse cookie".into());
    }
    let h = Be(&header);
    let block_size = u64::from(h.u32(32));
    if block_size == 0 || !block_size.is_multiple_of(512) || block_size > 256 << 20 {
        return Err(format!("VHD block size {block_size} is not supported"));
    }
    let blocks = size.div_ceil(block_size);
    if u64::from(h.u32(28)) < blocks {
        return Err("VHD block allocation table is too small for the disk size".into());
    }
    let bat_bytes = read_table(&*image, h.u64(16), blocks * 4, "VHD block allocation table")?;
    let bat = bat_bytes.chunks_exact(4).map(|e| Be(e).u32(0)).collect();
    let bitmap_bytes = (block_size / 512).div_ceil(8).div_ceil(512) * 512;
    Ok(Arc::new(Dynamic { image, size, block_size, bitmap_bytes, bat }))
}

impl Dynamic {
    fn map(&self, offset: u64) -> io::Result<Run> {
        let sector = match self.bat.get((offset / self.block_size) as usize) {
            Some(&UNALLOCATED) | None => return Ok(Run::Zero),
            Some(&sector) => u64::from(sector),
        };
        // At most 2^41 + 2^28 + 2^28: no overflow.
        Ok(Run::Image(sector * 512 + self.bitmap_bytes + offset % self.block_size))
    }
}

impl ReadAt for Dynamic {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_blocks(&*self.image, self.size, self.block_size, buf, offset, |at| self.map(at))
    }
}
