//! Which cloud this instance runs on, from the firmware's DMI strings
//! (`/sys/class/dmi/id/`), as the clouds document them and cloud-init's
//! ds-identify matches them. It decides only which *network* sources are
//! asked on their own (`enabled = auto`) and which are not waited for at
//! all (a known other cloud): a metadata endpoint of another cloud would
//! only cost the boot its total timeout.

use std::io::Read;
use std::path::Path;

/// A cloud, as far as its sources are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Alibaba,
    Tencent,
    /// Any OpenStack: Huawei Cloud, Open Telekom Cloud, China Telecom, or a
    /// generic Nova.
    OpenStack,
}

/// Where the kernel shows the DMI strings.
pub const DMI_DIR: &str = "/sys/class/dmi/id";

/// The cloud the DMI strings under `dmi_dir` name; `None` when they name none
/// (another hypervisor, no DMI, a container).
pub fn detect(dmi_dir: &Path) -> Option<Cloud> {
    let read = |name: &str| dmi_string(&dmi_dir.join(name)).unwrap_or_default();
    cloud_of(&read("sys_vendor"), &read("product_name"), &read("chassis_asset_tag"))
}

/// The rules, on the three strings.
pub fn cloud_of(sys_vendor: &str, product_name: &str, chassis_asset_tag: &str) -> Option<Cloud> {
    const OPENSTACK_PRODUCTS: [&str; 2] = ["OpenStack Nova", "OpenStack Compute"];
    const OPENSTACK_ASSET_TAGS: [&str; 4] = ["HUAWEICLOUD", "OpenTelekomCloud", "OpenStack Nova", "OpenStack Compute"];
    if sys_vendor == "Alibaba Cloud" || product_name == "Alibaba Cloud ECS" {
        Some(Cloud::Alibaba)
    } else if sys_vendor == "Tencent Cloud" || product_name == "Tencent Cloud" {
        Some(Cloud::Tencent)
    } else if OPENSTACK_PRODUCTS.contains(&product_name)
        || OPENSTACK_ASSET_TAGS.contains(&chassis_asset_tag)
        || sys_vendor == "OpenStack Foundation"
    {
        Some(Cloud::OpenStack)
    } else {
        None
    }
}

/// One DMI string: at most a line of 256 bytes, trimmed; what is not UTF-8 names no cloud.
fn dmi_string(path: &Path) -> Option<String> {
    let mut bytes = Vec::with_capacity(257);
    std::fs::File::open(path).ok()?.take(256).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(text.lines().next().unwrap_or("").trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_clouds_documented_strings_are_recognised() {
        assert_eq!(cloud_of("Alibaba Cloud", "Alibaba Cloud ECS", ""), Some(Cloud::Alibaba));
        assert_eq!(cloud_of("Tencent Cloud", "CVM", ""), Some(Cloud::Tencent));
        assert_eq!(cloud_of("QEMU", "Tencent Cloud", ""), Some(Cloud::Tencent), "product_name, as issue 25 says");
        assert_eq!(cloud_of("OpenStack Foundation", "OpenStack Nova", ""), Some(Cloud::OpenStack));
        assert_eq!(cloud_of("QEMU", "Standard PC (i440FX + PIIX, 1996)", "HUAWEICLOUD"), Some(Cloud::OpenStack));
        assert_eq!(cloud_of("QEMU", "Standard PC (Q35 + ICH9, 2009)", ""), None);
        assert_eq!(cloud_of("", "", ""), None);
    }

    #[test]
    fn the_strings_are_read_bounded_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("osconf-dmi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sys_vendor"), "Tencent Cloud\n").unwrap();
        assert_eq!(detect(&dir), Some(Cloud::Tencent));
        std::fs::write(dir.join("sys_vendor"), format!("Tencent Cloud{}\n", " x".repeat(10_000))).unwrap();
        assert_eq!(detect(&dir), None);
        std::fs::write(dir.join("sys_vendor"), b"\xffTencent Cloud\n").unwrap();
        assert_eq!(detect(&dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(detect(&dir), None, "no DMI at all");
    }
}
