//! The media drops arrive on, shared by every source that reads one, named
//! for what they are and not for a cloud: a drop file read beneath its
//! medium's root and deleted through its directory ([`drop_file`]), a path
//! opened without following links ([`beneath`]), a file system told from its
//! superblock ([`probe`]), a medium mounted for the time of a run
//! ([`mount`]), and a block device found by its ISO 9660 label ([`label`]):
//! `config-2` is both Tencent's CD-ROM and OpenStack's config drive; and
//! files read out of an ISO 9660 image without mounting it ([`iso9660`]).

pub mod beneath;
pub mod drop_file;
pub mod iso9660;
pub mod label;
pub mod mount;
pub mod probe;
