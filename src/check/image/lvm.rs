use super::read_at::ReadAt;
use std::sync::Arc;
pub struct LogicalVolume {
    pub vg: String,
    pub name: String,
    pub device: Arc<dyn ReadAt>,
}
pub fn is_pv(_d: &dyn ReadAt) -> bool {
    todo!()
}
pub fn logical_volumes(_p: &[Arc<dyn ReadAt>]) -> Result<Vec<LogicalVolume>, String> {
    todo!()
}
