//! root's SSH keys' effect: `~/.ssh` made a 0700 directory before the
//! planned `authorized_keys` (see `plan::ssh_keys`) is written.

use std::path::Path;

use crate::error::Error;
use crate::files::Root;
use crate::plan::ssh_keys::KeysPlan;

/// Makes `~/.ssh` a 0700 directory before the file goes in: created for
/// root's ids when missing (the home too), an existing one keeps its owner.
pub fn prepare_dir(root: &Root, plan: &KeysPlan) -> Result<(), Error> {
    let dir = Path::new(&plan.dir);
    let context = |e: std::io::Error| Error::Failed(format!("preparing {}: {e}", plan.dir));
    let home = dir.parent().unwrap_or(Path::new("/"));
    for path in [home, dir] {
        if !root.exists(path) {
            root.create_dir(path, 0o700, plan.owner).map_err(context)?;
        } else if !root.is_dir(path) || root.is_symlink(path) {
            return Err(Error::Failed(format!("{} is not a directory", root.path(path).display())));
        }
    }
    root.set_mode(dir, 0o700).map_err(context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ssh_keys::render;
    use crate::plan::ssh_keys::tests::{keys, tree, ALICE};
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn prepare_dir_creates_0700_and_tightens_an_open_one() {
        let root = tree("dir");
        let plan = render(&root, &keys(&[ALICE]));
        prepare_dir(&root, &plan).unwrap();
        let mode = |p: &str| fs::metadata(root.path(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!((mode("/root"), mode("/root/.ssh")), (0o700, 0o700));
        fs::set_permissions(root.path("/root/.ssh"), fs::Permissions::from_mode(0o775)).unwrap();
        prepare_dir(&root, &plan).unwrap();
        assert_eq!(mode("/root/.ssh"), 0o700);
        fs::remove_dir_all(root.base()).unwrap();
    }
}
