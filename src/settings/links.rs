//! Bonds and VLANs (OpenStack's `bond` and `vlan` links): NICs that are no
//! hardware of their own. Each is a [`Nic`] with a [`NicKind`]; it carries
//! the addressing (static, DHCP, IPv6 modes, MTU) as any NIC does. Its
//! members (a bond's) and its parent (a VLAN's, when physical) are physical
//! NICs of the same settings; a member carries no address.
//!
//! Names, as cloud-init gives them: a bond is `bondN`, N counting the bonds
//! in the order the source lists them; a VLAN is `PARENT.ID`, PARENT the
//! parent's name (its kernel name where the stack names NICs so, see
//! `plan::network::NicNames`, `vlanID` where that would not fit the
//! kernel's 15 bytes; osconf's own file names use its label, `ethN` or
//! `bondN`).
//!
//! The model validates what each value is ([`bond_mode`],
//! [`xmit_hash_policy`], [`vlan_id`]) and, over all NICs, what they are to
//! each other ([`check`]): every source and every record goes through both.

use serde::{Deserialize, Serialize};

use super::values::shorten;
use super::{Mac, Nic};

/// What a NIC is when it is not a physical one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NicKind {
    Bond(Bond),
    Vlan(Vlan),
}

/// A Linux bond of physical NICs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bond {
    /// N of its name `bondN`.
    pub number: u32,
    /// Its members: physical NICs of the settings, by MAC, in order.
    pub members: Vec<Mac>,
    /// The kernel's name of the mode ([`bond_mode`]).
    pub mode: String,
    /// Milliseconds between link checks (the MII monitor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miimon: Option<u32>,
    /// The kernel's name of the transmit hash policy ([`xmit_hash_policy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmit_hash_policy: Option<String>,
}

/// An 802.1Q VLAN on a physical NIC or a bond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vlan {
    pub parent: Parent,
    /// The VLAN id, 1 to 4094.
    pub id: u16,
}

/// The device a VLAN is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parent {
    /// A physical NIC of the settings, by its index (`ethN`).
    Nic(u32),
    /// `bondN`, by N.
    Bond(u32),
}

impl Parent {
    /// osconf's label of the parent: `ethN` or `bondN`.
    pub fn label(self) -> String {
        match self {
            Parent::Nic(index) => format!("eth{index}"),
            Parent::Bond(number) => format!("bond{number}"),
        }
    }
}

/// The bonding modes, by the kernel's name; their numbers are the positions.
pub const BOND_MODES: [&str; 7] =
    ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];

/// The transmit hash policies osconf writes (those every stack takes).
pub const XMIT_HASH_POLICIES: [&str; 5] = ["layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4"];

/// A bonding mode by name or number (0 to 6), as the kernel's name.
pub fn bond_mode(text: &str) -> Result<String, String> {
    let text = text.trim();
    let by_number = text.parse::<usize>().ok().and_then(|n| BOND_MODES.get(n));
    match by_number.or_else(|| BOND_MODES.iter().find(|m| **m == text)) {
        Some(mode) => Ok((*mode).to_owned()),
        None => Err(format!("{:?} is not a bonding mode ({} or 0 to 6)", shorten(text), BOND_MODES.join(", "))),
    }
}

pub fn xmit_hash_policy(text: &str) -> Result<String, String> {
    let text = text.trim();
    match XMIT_HASH_POLICIES.iter().find(|p| **p == text) {
        Some(policy) => Ok((*policy).to_owned()),
        None => Err(format!("{:?} is not a transmit hash policy ({})", shorten(text), XMIT_HASH_POLICIES.join(", "))),
    }
}

pub fn vlan_id(id: u64) -> Result<u16, String> {
    match u16::try_from(id) {
        Ok(id) if (1..=4094).contains(&id) => Ok(id),
        _ => Err(format!("{id} is not a VLAN id (1 to 4094)")),
    }
}

impl Nic {
    pub fn bond(&self) -> Option<&Bond> {
        match &self.kind {
            Some(NicKind::Bond(bond)) => Some(bond),
            _ => None,
        }
    }

    pub fn vlan(&self) -> Option<&Vlan> {
        match &self.kind {
            Some(NicKind::Vlan(vlan)) => Some(vlan),
            _ => None,
        }
    }

    pub fn is_physical(&self) -> bool {
        self.kind.is_none()
    }

    /// What a bond or VLAN is, in words (for `plan` and `status`).
    pub fn kind_text(&self) -> Option<String> {
        match &self.kind {
            None => None,
            Some(NicKind::Bond(bond)) => {
                let members: Vec<String> = bond.members.iter().map(Mac::to_string).collect();
                let mut text = format!("bond ({}", bond.mode);
                if let Some(miimon) = bond.miimon {
                    text += &format!(", miimon {miimon}");
                }
                if let Some(policy) = &bond.xmit_hash_policy {
                    text += &format!(", xmit_hash_policy {policy}");
                }
                Some(text + &format!(") of {}, made by the network stack", members.join(", ")))
            }
            Some(NicKind::Vlan(vlan)) => {
                Some(format!("VLAN {} on {}, made by the network stack", vlan.id, vlan.parent.label()))
            }
        }
    }

    /// Whether anything gives it an address or a route (a bond member may not).
    pub fn is_addressed(&self) -> bool {
        self.address.is_some()
            || self.dhcp4
            || !self.ipv6.is_empty()
            || self.ipv6_auto.is_some()
            || !self.routes.is_empty()
            || self.gateway.is_some()
    }

    /// Whether this NIC is the device `parent` names.
    pub fn is_parent(&self, parent: Parent) -> bool {
        match (parent, &self.kind) {
            (Parent::Nic(index), None) => self.index == index,
            (Parent::Bond(number), Some(NicKind::Bond(bond))) => bond.number == number,
            _ => false,
        }
    }
}

/// The bond `nic` is a member of, if any (`nics`: all the settings' NICs).
pub fn bond_of<'a>(nics: &'a [Nic], nic: &Nic) -> Option<&'a Nic> {
    let member = |n: &&Nic| n.bond().is_some_and(|b| b.members.contains(&nic.mac));
    nic.is_physical().then(|| nics.iter().find(member)).flatten()
}

/// A bond's members, in its order.
pub fn members_of<'a>(nics: &'a [Nic], bond: &'a Bond) -> impl Iterator<Item = &'a Nic> {
    bond.members.iter().filter_map(|mac| nics.iter().find(|n| n.is_physical() && n.mac == *mac))
}

/// The VLANs on `nic`, in order.
pub fn vlans_on<'a>(nics: &'a [Nic], nic: &'a Nic) -> impl Iterator<Item = &'a Nic> {
    nics.iter().filter(|n| n.vlan().is_some_and(|v| nic.is_parent(v.parent)))
}

/// The device a VLAN is on.
pub fn parent_of<'a>(nics: &'a [Nic], vlan: &Vlan) -> Option<&'a Nic> {
    nics.iter().find(|n| n.is_parent(vlan.parent))
}

/// What the NICs must be to each other: a bond's members are distinct
/// physical NICs of the settings, of no other bond and with no address; a
/// VLAN's parent is one of the NICs, not a member; names are distinct. The
/// error names the NIC (its index) and why.
pub fn check(nics: &[Nic]) -> Result<(), (u32, String)> {
    let mut names: Vec<String> = Vec::new();
    for nic in nics {
        let label = nic.label();
        if names.contains(&label) {
            return Err((nic.index, format!("{label} is named twice")));
        }
        names.push(label);
        match &nic.kind {
            None => {}
            Some(NicKind::Bond(bond)) => check_bond(nics, nic, bond).map_err(|why| (nic.index, why))?,
            Some(NicKind::Vlan(vlan)) => {
                vlan_id(u64::from(vlan.id)).map_err(|why| (nic.index, why))?;
                match parent_of(nics, vlan) {
                    None => return Err((nic.index, format!("its parent {} is none of the NICs", vlan.parent.label()))),
                    Some(parent) if bond_of(nics, parent).is_some() => {
                        return Err((nic.index, format!("its parent {} is a bond's member", parent.label())))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    Ok(())
}

fn check_bond(nics: &[Nic], nic: &Nic, bond: &Bond) -> Result<(), String> {
    if bond_mode(&bond.mode)? != bond.mode {
        return Err(format!("mode {:?} is not the kernel's name of a mode", shorten(&bond.mode)));
    }
    if let Some(policy) = &bond.xmit_hash_policy {
        xmit_hash_policy(policy)?;
    }
    if bond.members.is_empty() {
        return Err("a bond without members".into());
    }
    for (n, mac) in bond.members.iter().enumerate() {
        if bond.members[..n].contains(mac) {
            return Err(format!("member {mac} is listed twice"));
        }
        let Some(member) = nics.iter().find(|m| m.is_physical() && m.mac == *mac) else {
            return Err(format!("member {mac} is none of the physical NICs"));
        };
        if member.is_addressed() {
            return Err(format!("member {} has an address: a bond's member carries none", member.label()));
        }
        let other = nics.iter().filter_map(Nic::bond).filter(|b| b.members.contains(mac)).count();
        if other > 1 {
            return Err(format!("member {mac} is in two bonds"));
        }
        if vlans_on(nics, member).next().is_some() {
            return Err(format!("member {} carries a VLAN: put it on {} instead", member.label(), nic.label()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> Mac {
        Mac([0x52, 0x54, 0, 0, 0, last])
    }

    fn bond(index: u32, members: &[u8]) -> Nic {
        let kind = NicKind::Bond(Bond {
            number: 0,
            members: members.iter().map(|m| mac(*m)).collect(),
            mode: "active-backup".into(),
            miimon: Some(100),
            xmit_hash_policy: None,
        });
        Nic { kind: Some(kind), dhcp4: true, ..Nic::automatic(index, mac(members[0])) }
    }

    #[test]
    fn modes_by_name_or_number_and_policies_are_the_kernels() {
        assert_eq!(bond_mode("4").unwrap(), "802.3ad");
        assert_eq!(bond_mode(" active-backup ").unwrap(), "active-backup");
        assert_eq!(bond_mode("0").unwrap(), "balance-rr");
        assert!(bond_mode("7").unwrap_err().contains("not a bonding mode"));
        assert!(bond_mode("lacp").is_err());
        assert_eq!(xmit_hash_policy("layer3+4").unwrap(), "layer3+4");
        assert!(xmit_hash_policy("layer5").is_err());
        assert_eq!(vlan_id(4094), Ok(4094));
        assert!(vlan_id(0).is_err() && vlan_id(4095).is_err() && vlan_id(70000).is_err());
    }

    #[test]
    fn a_bond_needs_unaddressed_physical_members_and_a_vlan_an_existing_parent() {
        let members = [Nic::automatic(1, mac(1)), Nic::automatic(2, mac(2))];
        let vlan = |parent| Nic {
            kind: Some(NicKind::Vlan(Vlan { parent, id: 100 })),
            dhcp4: true,
            ..Nic::automatic(3, mac(1))
        };
        let good = [bond(0, &[1, 2]), members[0].clone(), members[1].clone(), vlan(Parent::Bond(0))];
        assert_eq!(check(&good), Ok(()));
        assert_eq!(good[3].label(), "bond0.100");
        assert_eq!(good[3].extras()[0], "VLAN 100 on bond0, made by the network stack");
        let said =
            "bond (active-backup, miimon 100) of 52:54:00:00:00:01, 52:54:00:00:00:02, made by the network stack";
        assert_eq!(good[0].extras()[0], said);

        let mut addressed = good.clone();
        addressed[1].dhcp4 = true;
        assert!(check(&addressed).unwrap_err().1.contains("has an address"));
        let missing = [bond(0, &[1, 9]), members[0].clone()];
        assert!(check(&missing).unwrap_err().1.contains("none of the physical NICs"));
        let on_member = [bond(0, &[1, 2]), members[0].clone(), members[1].clone(), vlan(Parent::Nic(1))];
        assert!(check(&on_member).is_err());
        let orphan = [members[0].clone(), vlan(Parent::Nic(7))];
        assert!(check(&orphan).unwrap_err().1.contains("none of the NICs"));
        let twice = [bond(0, &[1]), bond(4, &[2]), members[0].clone(), members[1].clone()];
        assert!(check(&twice).unwrap_err().1.contains("named twice"));
        let mut shared = [bond(0, &[1]), bond(4, &[1]), members[0].clone()];
        if let Some(NicKind::Bond(b)) = &mut shared[1].kind {
            b.number = 1;
        }
        assert!(check(&shared).unwrap_err().1.contains("in two bonds"));
        let mut bad_mode = good.clone();
        if let Some(NicKind::Bond(b)) = &mut bad_mode[0].kind {
            b.mode = "4".into();
        }
        assert!(check(&bad_mode).is_err());
    }
}
