//! What every layer of an image reads through: a file, a qcow2's clusters,
//! a partition, an LVM volume are all "bytes at an offset", read-only.

use std::io;
use std::sync::Arc;

/// Read-only random access to a device-like thing of a known size.
pub trait ReadAt: Send + Sync {
    /// How many bytes it holds.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; reading past `size()` is `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

/// `len` bytes of `inner` from `start` (a partition of a disk, say).
pub struct Slice {
    inner: Arc<dyn ReadAt>,
    start: u64,
    len: u64,
}

impl Slice {
    /// The part of `inner` from `start`, cut at its end.
    pub fn new(inner: Arc<dyn ReadAt>, start: u64, len: u64) -> Slice {
        let len = len.min(inner.size().saturating_sub(start));
        Slice { inner, start, len }
    }
}

impl ReadAt for Slice {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        check_bounds(self.len, buf.len(), offset)?;
        self.inner.read_exact_at(buf, self.start + offset)
    }
}

/// `UnexpectedEof` unless `len` bytes at `offset` lie within `size`.
pub fn check_bounds(size: u64, len: usize, offset: u64) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read of {len} bytes at {offset} is past the end ({size} bytes)"),
        )),
    }
}

/// Bytes in memory (tests, small fixtures).
impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        check_bounds(self.len() as u64, buf.len(), offset)?;
        let start = offset as usize;
        buf.copy_from_slice(&self[start..start + buf.len()]);
        Ok(())
    }
}

/// A little-endian reader of fixed-layout structures, total: out of range is 0.
/// Superblocks, partition entries and headers are read through it so that a
/// short or hostile structure can never index out of bounds.
pub struct Le<'a>(pub &'a [u8]);

impl Le<'_> {
    pub fn u8(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    pub fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.array(at))
    }
    pub fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.array(at))
    }
    pub fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.array(at))
    }
    pub fn bytes(&self, at: usize, len: usize) -> &[u8] {
        self.0.get(at..at.saturating_add(len)).unwrap_or(&[])
    }
    fn array<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.0.get(at..at.saturating_add(N)) {
            out.copy_from_slice(src);
        }
        out
    }
}

/// The same for big-endian structures (XFS, qcow2, VHD).
pub struct Be<'a>(pub &'a [u8]);

impl Be<'_> {
    pub fn u16(&self, at: usize) -> u16 {
        u16::from_be_bytes(Le(self.0).array(at))
    }
    pub fn u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(Le(self.0).array(at))
    }
    pub fn u64(&self, at: usize) -> u64 {
        u64::from_be_bytes(Le(self.0).array(at))
    }
}

/// Reads `len` bytes at `offset` into a new buffer (bounded by the caller).
pub fn read_vec(device: &dyn ReadAt, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    device.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_reads_within_its_bounds_only() {
        let disk: Arc<dyn ReadAt> = Arc::new((0u8..100).collect::<Vec<u8>>());
        let part = Slice::new(disk, 10, 20);
        let mut buf = [0u8; 4];
        part.read_exact_at(&mut buf, 16).unwrap();
        assert_eq!(buf, [26, 27, 28, 29]);
        assert_eq!(part.read_exact_at(&mut buf, 17).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(part.read_exact_at(&mut buf, u64::MAX).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn le_and_be_are_zero_out_of_range() {
        let bytes = [1u8, 2, 3];
        assert_eq!(Le(&bytes).u16(0), 0x0201);
        assert_eq!(Le(&bytes).u32(1), 0);
        assert_eq!(Be(&bytes).u16(1), 0x0203);
        assert_eq!(Le(&bytes).bytes(2, 5), &[] as &[u8]);
    }
}
