//! The effects, one module per concern. Each module turns settings into
//! file writes (computed before any write) or kernel calls.

pub mod network_files;
pub mod network_live;
