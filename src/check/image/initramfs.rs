pub fn file_names(_b: &[u8], _m: usize) -> Result<Vec<String>, String> {
    todo!()
}
