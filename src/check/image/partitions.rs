use super::read_at::ReadAt;
pub enum TableKind {
    Mbr,
    Gpt,
    None,
}
#[derive(Clone)]
pub struct Partition {
    pub number: u32,
    pub start: u64,
    pub size: u64,
    pub type_id: String,
    pub gpt_name: String,
    pub bootable: bool,
}
impl Partition {
    pub fn is_esp(&self) -> bool {
        todo!()
    }
    pub fn is_bios_boot(&self) -> bool {
        todo!()
    }
    pub fn is_lvm(&self) -> bool {
        todo!()
    }
}
pub struct Table {
    pub kind: TableKind,
    pub partitions: Vec<Partition>,
    pub mbr_boot_code: bool,
    pub warnings: Vec<String>,
}
pub fn read_table(_d: &dyn ReadAt) -> std::io::Result<Table> {
    todo!()
}
