//! The file systems an image's partitions hold, read in user space: enough
//! to walk directories and read the files `check` looks at. Every reader is
//! total: a hostile image gives an error, never a panic, a hang or an
//! unbounded allocation.

pub mod ext;
pub mod mounted;
pub mod vfat;
pub mod xfs;

use std::io;

/// What a directory entry or an inode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// Devices, FIFOs, sockets.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name's bytes as stored (never "." or "..").
    pub name: Vec<u8>,
    pub inode: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// Permission bits (0o7777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// `chattr +i` (ext's and XFS's immutable flag).
    pub immutable: bool,
}

/// What the superblock says about the whole file system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// "ext2", "ext3", "ext4", "xfs", "vfat", "btrfs".
    pub kind: &'static str,
    /// As blkid prints it (lower-case 8-4-4-4-12, or XXXX-XXXX for FAT).
    pub uuid: String,
    pub label: String,
    pub blocks_total: u64,
    pub blocks_free: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
    /// ext4's `64bit` feature (Alibaba's image_check refuses it).
    pub ext_64bit: bool,
}

/// A read-only file system.
pub trait FileSystem {
    fn info(&self) -> Info;
    fn root(&self) -> u64;
    fn stat(&self, inode: u64) -> io::Result<Stat>;
    /// The entries of a directory, at most `max` (more is an error).
    fn read_dir(&self, dir: u64, max: usize) -> io::Result<Vec<DirEntry>>;
    /// A regular file's content; larger than `max` bytes is an error.
    fn read_file(&self, inode: u64, max: u64) -> io::Result<Vec<u8>>;
    /// A symbolic link's target.
    fn read_link(&self, inode: u64) -> io::Result<Vec<u8>>;
}

/// A file system's 16-byte UUID as blkid prints it: lower-case 8-4-4-4-12.
pub fn uuid_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The error a reader gives for a structure it cannot believe.
pub fn corrupt(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}
