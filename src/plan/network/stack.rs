//! What osconf knows of one network stack, as data: its name, how to
//! recognise it in an image, how to render its files, what `osconf check`
//! says it writes, and how it is made to read them in this boot. Each stack
//! folder under `plan/network/` defines one `pub static STACK: Stack`;
//! [`super::STACKS`] lists them, and everything else (detection, `render`,
//! `check`, `apply`) goes through that list, so no code outside a stack's
//! folder names the stack. The effects themselves (running a program,
//! netlink) stay in `apply`, which carries out [`TakeEffect`] and
//! [`Configure`] without knowing which stack asked.

use std::fmt;

use crate::error::Error;
use crate::files::Root;
use crate::settings::{Nic, Settings};

use super::{NicNames, Rendered};

/// One network stack. Compared and shown by its name.
pub struct Stack {
    /// The value of `[network] stack` in osconf.conf and what the record
    /// stores as `network_stack`: never rename one.
    pub name: &'static str,
    /// Where automatic detection tries this stack, lowest first: the first
    /// whose `detect` answers wins, so a stack that generates another's
    /// configuration (netplan: networkd's or NetworkManager's) goes before
    /// it, and an enabled service before files that may be leftovers.
    pub precedence: u8,
    /// Why the image uses this stack (shown by `osconf plan`), or None.
    pub detect: fn(&Root) -> Option<String>,
    /// The files that make the stack bring the NICs up as the settings say
    /// (`previous`: the NICs osconf configured last time). Pure: the same
    /// input gives byte-identical files.
    pub render: fn(&Settings, &NicNames, &Root, &[Nic]) -> Result<Rendered, Error>,
    /// What `osconf check` says after the detection's reason: what osconf
    /// writes in this image.
    pub check: fn(&Root) -> String,
    /// How the stack is made to read osconf's files in the boot that wrote them.
    pub take_effect: TakeEffect,
    /// Who sets the NICs' addresses and routes in the running kernel.
    pub live: Configure,
    /// Whether osconf's renderer for this stack may write the file at this
    /// path: what a record may list as a file osconf owns (`record.rs`
    /// refuses any other, since it would later remove it).
    pub owns: fn(&str) -> bool,
}

impl Stack {
    /// The stack of this `[network] stack` / record name.
    pub fn from_name(name: &str) -> Option<&'static Stack> {
        super::STACKS.iter().copied().find(|s| s.name == name)
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl PartialEq for Stack {
    fn eq(&self, other: &Stack) -> bool {
        self.name == other.name
    }
}

impl Eq for Stack {}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stack({})", self.name)
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How a stack is made to read osconf's files in this boot, where it would
/// otherwise work from the old ones. `apply::take_effect` carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeEffect {
    /// The stack reads its files when it starts, after osconf: nothing to do.
    AtStart,
    /// A program turns osconf's files into what another daemon reads, and
    /// ran before osconf did (a systemd generator): run it again.
    Generate {
        /// What the program is, for the log (e.g. "netplan's generator").
        what: &'static str,
        /// Where it may be: the first that exists is run, without arguments.
        paths: &'static [&'static str],
        /// The daemon that reads its output, for the log (e.g. "networkd").
        reader: &'static str,
        /// How systemd runs it, when that is enough in this boot.
        as_generator: Option<AsGenerator>,
    },
}

/// A program that is also a systemd generator, run the way systemd runs it
/// (from its link in a generator directory, with three output directories,
/// here osconf's own) when its run at boot already added to this boot the
/// units its output needs: then it only writes its output. Otherwise it is
/// run as a program, which also adds those units to the boot itself (netplan:
/// `systemctl start` of networkd and its wait-online, a process each, most
/// of its time on an apply boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsGenerator {
    /// Its link in systemd's generator directories: the first that exists.
    pub links: &'static [&'static str],
    /// What its run at boot left when it added those units: all must exist.
    pub units_added: &'static [&'static str],
}

/// Who configures the desired NICs in the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Configure {
    /// osconf: links up, addresses, routes, as the stack will at the next boot.
    Now,
    /// The stack, when it starts after osconf (NetworkManager: a NIC that
    /// already has addresses when it starts becomes "connected (externally)"
    /// with an in-memory profile, and osconf's profile is not activated).
    /// osconf only removes what it set before and no longer wants.
    ByStack,
}

#[cfg(test)]
mod tests {
    use super::super::STACKS;
    use super::*;

    /// What each stack says and does beyond its files, as the per-stack
    /// `match`es in check.rs and apply/ said before the stacks described
    /// themselves (an image without busybox: ifupdown's interfaces.d).
    #[test]
    fn each_stack_says_what_osconf_writes_and_how_it_takes_effect() {
        let root = Root::new("/nonexistent-osconf-root");
        for stack in STACKS {
            let (written, live) = match stack.name {
                "ifupdown" => ("/etc/network/interfaces.d/osconf-ethN", Configure::Now),
                "rhel-ifcfg" => ("/etc/sysconfig/network-scripts/ifcfg-NAME and route-NAME", Configure::Now),
                "suse-ifcfg" => ("/etc/sysconfig/network/ifcfg-NAME and ifroute-NAME", Configure::Now),
                "networkd" => ("/etc/systemd/network/10-osconf-ethN.network", Configure::Now),
                "networkmanager" => {
                    ("/etc/NetworkManager/system-connections/osconf-ethN.nmconnection", Configure::ByStack)
                }
                "netplan" => ("/etc/netplan/90-osconf.yaml", Configure::Now),
                other => panic!("{other}: say here what it writes and who configures its NICs live"),
            };
            assert_eq!((stack.check)(&root), format!("osconf writes {written}"), "{stack}");
            assert_eq!(stack.live, live, "{stack}");
            let runs_a_generator = matches!(stack.take_effect, TakeEffect::Generate { .. });
            assert_eq!(runs_a_generator, stack.name == "netplan", "{stack}");
        }
    }
}
