//! `osconf check --image FILE`: reads a disk image (raw, qcow2, VHD, VMDK)
//! read-only, without booting it: its partition table, LVM, the file
//! systems, `/` and `/boot`; then the same items as a tree, and each cloud's
//! import rules.

pub mod fs;
pub mod lvm;
pub mod partitions;
pub mod read_at;
