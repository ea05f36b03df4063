//! ifcfg files: RHEL's network-scripts (ifcfg-NAME + route-NAME) and SUSE's
//! wicked/ifcfg (ifcfg-NAME + ifroute-NAME). Named by the kernel's NIC name;
//! RHEL also pins the MAC with HWADDR.

use crate::files::FileWrite;
use crate::settings::Settings;

use super::{default_gateway, dns_for, extra, header, static_routes, NicNames, Rendered};

pub fn render_rhel(settings: &Settings, names: &NicNames) -> Rendered {
    let mut owned = Vec::new();
    for nic in &settings.nics {
        let name = names.of(nic);
        let mut text = header("#", &format!("{} settings", nic.label()));
        text += &format!("DEVICE={name}\nHWADDR={}\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\n", nic.mac);
        text += &format!("IPADDR={}\nPREFIX={}\nNETMASK={}\n", nic.address, nic.prefix, nic.netmask());
        match default_gateway(nic) {
            Some(gateway) => text += &format!("GATEWAY={gateway}\nDEFROUTE=yes\n"),
            None => text += "DEFROUTE=no\n",
        }
        for (n, server) in dns_for(settings, nic).iter().enumerate() {
            text += &format!("DNS{}={server}\n", n + 1);
        }
        text += "PEERDNS=no\n";
        text += &extra::rhel_ifcfg(nic);
        owned.push(FileWrite::new(format!("/etc/sysconfig/network-scripts/ifcfg-{name}"), text, 0o644));
        let routes: String = static_routes(nic).map(|r| format!("{}/{} via {} dev {name}\n", r.dest, r.prefix, r.via)).collect();
        let routes = routes + &extra::rhel_policy_routes(nic, &name);
        if !routes.is_empty() {
            owned.push(FileWrite::new(format!("/etc/sysconfig/network-scripts/route-{name}"), header("#", &format!("{} routes", nic.label())) + &routes, 0o644));
        }
        let rules = extra::rhel_rules(nic);
        if !rules.is_empty() {
            owned.push(FileWrite::new(format!("/etc/sysconfig/network-scripts/rule-{name}"), header("#", &format!("{} routing rules", nic.label())) + &rules, 0o644));
        }
    }
    Rendered { owned, edited: Vec::new() }
}

pub fn render_suse(settings: &Settings, names: &NicNames) -> Rendered {
    let mut owned = Vec::new();
    for nic in &settings.nics {
        let name = names.of(nic);
        let mut text = header("#", &format!("{} settings, MAC {}", nic.label(), nic.mac));
        text += &format!("BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='{}/{}'\n", nic.address, nic.prefix);
        text += &extra::suse_ifcfg(nic);
        owned.push(FileWrite::new(format!("/etc/sysconfig/network/ifcfg-{name}"), text, 0o644));
        let routes: String = nic
            .routes
            .iter()
            .map(|r| match r.is_default() {
                true => format!("default {} - {name}\n", r.via),
                false => format!("{}/{} {} - {name}\n", r.dest, r.prefix, r.via),
            })
            .collect();
        let routes = routes + &extra::suse_routes(nic, &name);
        if !routes.is_empty() {
            owned.push(FileWrite::new(format!("/etc/sysconfig/network/ifroute-{name}"), header("#", &format!("{} routes", nic.label())) + &routes, 0o644));
        }
    }
    Rendered { owned, edited: Vec::new() }
}
