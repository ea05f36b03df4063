use super::read_at::ReadAt;
use std::path::Path;
use std::sync::Arc;
pub enum Format {
    Raw,
}
impl Format {
    pub fn name(&self) -> &'static str {
        "raw"
    }
}
pub struct Disk {
    pub format: Format,
    pub virtual_size: u64,
    pub allocated: u64,
    pub device: Arc<dyn ReadAt>,
}
pub fn open(_p: &Path) -> Result<Disk, String> {
    todo!()
}
