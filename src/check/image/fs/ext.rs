use super::*;
use crate::check::image::read_at::ReadAt;
use std::sync::Arc;
pub struct Ext;
pub fn is_ext(_d: &dyn ReadAt) -> bool {
    todo!()
}
pub fn open(_d: Arc<dyn ReadAt>) -> std::io::Result<Ext> {
    todo!()
}
impl FileSystem for Ext {
    fn info(&self) -> Info {
        todo!()
    }
    fn root(&self) -> u64 {
        todo!()
    }
    fn stat(&self, _i: u64) -> std::io::Result<Stat> {
        todo!()
    }
    fn read_dir(&self, _d: u64, _m: usize) -> std::io::Result<Vec<DirEntry>> {
        todo!()
    }
    fn read_file(&self, _i: u64, _m: u64) -> std::io::Result<Vec<u8>> {
        todo!()
    }
    fn read_link(&self, _i: u64) -> std::io::Result<Vec<u8>> {
        todo!()
    }
}
