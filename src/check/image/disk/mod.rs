//! The disk image file itself: raw, qcow2, VHD or VMDK, read-only. `open`
//! recognises the format by its magic and gives a `ReadAt` of the bytes the
//! guest sees (its virtual disk), so the layers above (partitions, LVM, file
//! systems) never know how the image stores them.
//!
//! Supported: raw; qcow2 v2/v3 (standard and extended L2 entries, zero and
//! deflate-compressed clusters); VHD fixed and dynamic; VMDK monolithicSparse
//! and streamOptimized. Refused with a one-line error: backing files,
//! differencing disks, encryption, external data files, zstd, split VMDKs.
//! Every structure is bounded: tables held in memory are at most
//! `MAX_TABLE_BYTES`, and only a few second-level tables are cached.

mod qcow2;
mod vhd;
mod vmdk;

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::read_at::{check_bounds, read_vec, ReadAt};

/// An opened disk image.
pub struct Disk {
    pub format: Format,
    /// The size of the guest's disk, in bytes.
    pub virtual_size: u64,
    /// The bytes the image file uses on its file system (st_blocks * 512).
    pub allocated: u64,
    /// The guest's disk: bytes at guest offsets.
    pub device: Arc<dyn ReadAt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Raw,
    Qcow2,
    Vhd,
    Vmdk,
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vhd => "vhd",
            Format::Vmdk => "vmdk",
        }
    }
}

/// Opens the image at `path` read-only and detects its format.
pub fn open(path: &Path) -> Result<Disk, String> {
    let fail = |what: String| format!("{}: {what}", path.display());
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let image: Arc<dyn ReadAt> = Arc::new(ImageFile { file, size: meta.len() });
    let (format, device) = detect(image).map_err(fail)?;
    Ok(Disk { format, virtual_size: device.size(), allocated: meta.blocks().saturating_mul(512), device })
}

/// The format of the image file's bytes and its guest view.
pub(crate) fn detect(image: Arc<dyn ReadAt>) -> Result<(Format, Arc<dyn ReadAt>), String> {
    let mut head = [0u8; 512];
    let n = head.len().min(image.size() as usize);
    image.read_exact_at(&mut head[..n], 0).map_err(|e| e.to_string())?;
    let tail = image.size().checked_sub(512).and_then(|at| read_vec(&*image, at, 512).ok());
    if head.starts_with(b"QFI\xfb") {
        Ok((Format::Qcow2, qcow2::open(image)?))
    } else if head.starts_with(b"conectix") || tail.as_deref().is_some_and(|t| t.starts_with(b"conectix")) {
        Ok((Format::Vhd, vhd::open(image, tail.as_deref())?))
    } else if head.starts_with(b"KDMV") {
        Ok((Format::Vmdk, vmdk::open(image)?))
    } else if head.starts_with(b"COWD") {
        Err("VMDK ESX sparse (COWD) images are not supported".into())
    } else if head.starts_with(b"# Disk DescriptorFile") {
        Err("VMDK descriptor-only (split) images are not supported".into())
    } else {
        Ok((Format::Raw, image))
    }
}

/// The image file, read with `pread`.
struct ImageFile {
    file: File,
    size: u64,
}

impl ReadAt for ImageFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        check_bounds(self.size, buf.len(), offset)?;
        self.file.read_exact_at(buf, offset)
    }
}

/// The most bytes of one table (qcow2's L1, VHD's BAT, VMDK's grain
/// directory) held in memory.
const MAX_TABLE_BYTES: u64 = 32 << 20;

/// Reads a table of `len` bytes at `offset` of the image, refusing one
/// larger than `MAX_TABLE_BYTES` or past the end before allocating it.
fn read_table(image: &dyn ReadAt, offset: u64, len: u64, what: &str) -> Result<Vec<u8>, String> {
    if len > MAX_TABLE_BYTES {
        return Err(format!("{what} of {len} bytes is too large"));
    }
    check_bounds(image.size(), len as usize, offset).map_err(|_| format!("{what} is past the end of the file"))?;
    read_vec(image, offset, len as usize).map_err(|e| format!("{what}: {e}"))
}

/// A few recently used blocks (second-level tables, inflated clusters) by
/// their offset in the image: a hostile image cannot make it grow.
struct BlockCache {
    slots: Mutex<Vec<(u64, Arc<Vec<u8>>)>>,
}

const CACHE_SLOTS: usize = 8;

impl BlockCache {
    fn new() -> BlockCache {
        BlockCache { slots: Mutex::new(Vec::new()) }
    }

    /// The block at `key`, loaded by `load` when not cached.
    fn get(&self, key: u64, load: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Arc<Vec<u8>>> {
        if let Some(hit) = self.lock().iter().find(|(k, _)| *k == key) {
            return Ok(hit.1.clone());
        }
        let block = Arc::new(load()?);
        let mut slots = self.lock();
        if slots.len() >= CACHE_SLOTS {
            slots.remove(0);
        }
        slots.push((key, block.clone()));
        Ok(block)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Arc<Vec<u8>>)>> {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where a run of guest bytes is: what a format's map says of one offset.
enum Run {
    /// Reads as zeros.
    Zero,
    /// At this offset of the image file.
    Image(u64),
    /// In this buffer (an inflated cluster), from this index.
    Buffer(Arc<Vec<u8>>, usize),
}

/// Fills `buf` from guest `offset` of a device of `size` bytes stored in
/// blocks of `block_size` (a power of two): `map` says where the block
/// holding an offset is, the loop reads each block's part of `buf`.
fn read_blocks(
    image: &dyn ReadAt,
    size: u64,
    block_size: u64,
    buf: &mut [u8],
    offset: u64,
    map: impl Fn(u64) -> io::Result<Run>,
) -> io::Result<()> {
    check_bounds(size, buf.len(), offset)?;
    let mut done = 0usize;
    while done < buf.len() {
        let at = offset + done as u64;
        let within = at % block_size;
        let n = (buf.len() - done).min((block_size - within) as usize);
        let part = &mut buf[done..done + n];
        match map(at)? {
            Run::Zero => part.fill(0),
            Run::Image(host) => image.read_exact_at(part, host)?,
            Run::Buffer(block, start) => {
                let src = start.checked_add(n).and_then(|end| block.get(start..end));
                part.copy_from_slice(src.ok_or_else(|| super::fs::corrupt("short inflated block"))?);
            }
        }
        done += n;
    }
    Ok(())
}

/// Inflates `data` (raw deflate, or zlib when `zlib`) into exactly
/// `out_len` bytes; `short_ok` pads a complete but shorter stream with zeros.
fn inflate(data: &[u8], out_len: usize, zlib: bool, short_ok: bool) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; out_len];
    let mut inflater = flate2::Decompress::new(zlib);
    let status = inflater.decompress(data, &mut out, flate2::FlushDecompress::Finish);
    let produced = inflater.total_out() as usize;
    match status {
        Ok(flate2::Status::StreamEnd) if short_ok => Ok(out),
        // A full buffer is enough (as QEMU): the stream's end may not fit.
        Ok(_) if produced == out_len => Ok(out),
        _ => Err(super::fs::corrupt("a compressed block does not inflate to its size")),
    }
}

#[cfg(test)]
mod tests;
