//! Shared handling of the media settings come on: finding a medium by its
//! label, probing what it holds, mounting it, and reading image files of it
//! without mounting (`iso9660`). The sources (aliyun_disk, tencent_cdrom)
//! use these; none of them knows another source.

pub mod iso9660;
