//! The root password's effect: the planned root line (hash and date, from
//! `plan::password`) put into /etc/shadow as it is at the write, read under
//! the password-file lock (see `apply::run`).

use crate::error::Error;
use crate::plan::password::{with_root_hash, SHADOW};

/// The planned shadow's root hash and date put into shadow as it is now,
/// read under the password-file lock: a user another program added between
/// the plan and the write is kept, not overwritten with the plan's copy.
pub fn rebase(current: &str, planned: &[u8]) -> Result<Vec<u8>, Error> {
    let planned = String::from_utf8_lossy(planned);
    let root: Vec<&str> =
        planned.lines().find(|l| l.starts_with("root:")).map(|l| l.split(':').collect()).unwrap_or_default();
    let (Some(hash), Some(day)) = (root.get(1), root.get(2).and_then(|d| d.parse().ok())) else {
        return Err(Error::Failed(format!("{SHADOW}: the planned content has no root line")));
    };
    Ok(crate::files::bytes_of(&with_root_hash(current, hash, day)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_lines_added_since_the_plan() {
        let planned = with_root_hash("root:*:1:0:99999:7:::\n", "$6$s$h", 20000).unwrap();
        let now = "root:*:1:0:99999:7:::\nsvc:!*:19999::::::\n";
        assert_eq!(rebase(now, planned.as_bytes()).unwrap(), b"root:$6$s$h:20000:0:99999:7:::\nsvc:!*:19999::::::\n");
    }
}
