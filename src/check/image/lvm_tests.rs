//! A PV LVM2 made (tests/fixtures/check/lvm), read back through its LVs;
//! hand-built PVs with metadata LVM would not read; random bytes.

use super::*;
use proptest::prelude::*;
use std::sync::OnceLock;

const MIB: u64 = 1 << 20;

/// tests/fixtures/check/lvm/two-lvs.img.xz, decompressed (README.md there).
fn fixture() -> &'static Vec<u8> {
    static PV: OnceLock<Vec<u8>> = OnceLock::new();
    PV.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check/lvm/two-lvs.img.xz");
        let out = std::process::Command::new("xz")
            .args(["-dc", path])
            .output()
            .unwrap_or_else(|e| panic!("xz (package xz-utils) is needed by this test: {e}"));
        assert!(out.status.success(), "xz -dc {path}");
        assert_eq!(out.stdout.len() as u64, 64 * MIB);
        out.stdout
    })
}

fn device(bytes: Vec<u8>) -> Arc<dyn ReadAt> {
    Arc::new(bytes)
}

/// The sector the fixture's README describes at `offset` of `lv`.
fn pattern(lv: &str, offset: u64) -> Vec<u8> {
    let mut sector = format!("osconf-lvm-fixture.{lv}.offset.{offset}").into_bytes();
    sector.resize(511, b'.');
    sector.push(b'\n');
    sector
}

#[test]
fn the_lvs_of_a_real_pv_read_their_patterns_at_their_offsets() {
    let pv = device(fixture().clone());
    assert!(is_pv(pv.as_ref()));
    let (lvs, warnings) = logical_volumes_with_warnings(&[pv]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: Vec<(&str, &str, u64)> =
        lvs.iter().map(|lv| (lv.vg.as_str(), lv.name.as_str(), lv.device.size())).collect();
    assert_eq!(names, [("osconftestvg", "lv1", 20 * MIB), ("osconftestvg", "lv2", 12 * MIB)]);
    for (lv, offsets) in
        [(&lvs[0], vec![0, 8 * MIB - 512, 8 * MIB, 20 * MIB - 512]), (&lvs[1], vec![0, 12 * MIB - 512])]
    {
        for offset in offsets {
            let got = read_vec(lv.device.as_ref(), offset, 512).unwrap();
            assert_eq!(got, pattern(&lv.name, offset), "{} at {offset}", lv.name);
        }
    }
    // One read across lv1's two segments (PV extents 1 and 5).
    let across = read_vec(lvs[0].device.as_ref(), 8 * MIB - 512, 1024).unwrap();
    assert_eq!(across[..512], pattern("lv1", 8 * MIB - 512)[..]);
    assert_eq!(across[512..], pattern("lv1", 8 * MIB)[..]);
    assert!(lvs[0].device.read_exact_at(&mut [0u8; 2], 20 * MIB - 1).is_err());
}

#[test]
fn not_a_pv() {
    assert!(!is_pv(&vec![0u8; 4096]));
    assert!(!is_pv(&vec![0u8; 100]));
    let mut bad_crc = fixture()[..4096].to_vec();
    bad_crc[512 + 100] ^= 1;
    assert!(!is_pv(&bad_crc));
    assert!(logical_volumes(&[device(bad_crc)]).is_err());
    assert!(logical_volumes(&[]).unwrap().is_empty());
}

#[test]
fn a_bad_metadata_checksum_is_an_error() {
    let mut pv = fixture().clone();
    // The current text, as the metadata area's header (at 4 KiB) locates it.
    let text = 4096 + Le(&pv).u64(4096 + 40) as usize;
    assert_eq!(&pv[text..text + 14], b"osconftestvg {");
    pv[text + 1] ^= 1;
    let err = logical_volumes(&[device(pv)]).err().unwrap();
    assert!(err.contains("checksum"), "{err}");
}

const PV_UUID: &str = "rZ3M7XctsKgEB3nV4WYZPLYRdveIuet6";

/// A PV of `size` bytes whose only metadata is `text`, with good checksums:
/// label in sector 1, metadata area at 4 KiB, data from 1 MiB.
fn pv_with_metadata(text: &str, size: usize) -> Vec<u8> {
    pv_with_metadata_at(text, size, MIB - 4096, 512, PV_UUID)
}

/// The same with a metadata area of `area_size` bytes whose text starts at
/// `text_at` in it (and wraps around to 512 if it does not fit).
fn pv_with_metadata_at(text: &str, size: usize, area_size: u64, text_at: u64, uuid: &str) -> Vec<u8> {
    let mut pv = vec![0u8; size];
    let put = |pv: &mut Vec<u8>, at: usize, bytes: &[u8]| pv[at..at + bytes.len()].copy_from_slice(bytes);
    let label = 512;
    put(&mut pv, label, b"LABELONE");
    put(&mut pv, label + 8, &1u64.to_le_bytes());
    put(&mut pv, label + 20, &32u32.to_le_bytes());
    put(&mut pv, label + 24, b"LVM2 001");
    put(&mut pv, label + 32, uuid.as_bytes());
    put(&mut pv, label + 64, &(size as u64).to_le_bytes());
    put(&mut pv, label + 72, &MIB.to_le_bytes()); // data area, then a zero entry
    put(&mut pv, label + 104, &4096u64.to_le_bytes()); // metadata area
    put(&mut pv, label + 112, &area_size.to_le_bytes());
    let crc = crc32_update(LVM_CRC_INIT, &pv[label + 20..label + 512]);
    put(&mut pv, label + 16, &crc.to_le_bytes());
    let mda = 4096;
    put(&mut pv, mda + 4, MDA_MAGIC);
    put(&mut pv, mda + 20, &1u32.to_le_bytes());
    put(&mut pv, mda + 24, &4096u64.to_le_bytes());
    put(&mut pv, mda + 32, &area_size.to_le_bytes());
    put(&mut pv, mda + 40, &text_at.to_le_bytes());
    put(&mut pv, mda + 48, &(text.len() as u64).to_le_bytes());
    put(&mut pv, mda + 56, &crc32_update(LVM_CRC_INIT, text.as_bytes()).to_le_bytes());
    let crc = crc32_update(LVM_CRC_INIT, &pv[mda + 4..mda + 512]);
    put(&mut pv, mda, &crc.to_le_bytes());
    let (at, fits) = (mda + text_at as usize, (area_size - text_at) as usize);
    let (first, rest) = text.as_bytes().split_at(fits.min(text.len()));
    put(&mut pv, at, first);
    put(&mut pv, mda + 512, rest);
    pv
}

/// A VG of 4 KiB extents whose pv0 is [`PV_UUID`], pv1 is elsewhere.
fn vg_text(lvs: &str) -> String {
    format!(
        "vg0 {{\nid = \"x\"\nseqno = 1\nextent_size = 8 # sectors\n\
         physical_volumes {{\n\
         pv0 {{\nid = \"rZ3M7X-ctsK-gEB3-nV4W-YZPL-YRdv-eIuet6\"\npe_start = 2048\n}}\n\
         pv1 {{\nid = \"aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg\"\npe_start = 2048\n}}\n}}\n\
         logical_volumes {{\n{lvs}\n}}\n}}\ncontents = \"Text Format Volume Group\"\nversion = 1\n"
    )
}

fn lv(name: &str, segments: &str) -> String {
    format!("{name} {{\nstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n{segments}\n}}\n")
}

fn linear(n: u32, start: u64, count: u64, pv: &str, extent: u64) -> String {
    format!(
        "segment{n} {{\nstart_extent = {start}\nextent_count = {count}\ntype = \"striped\"\nstripe_count = 1\nstripes = [\n\"{pv}\", {extent}\n]\n}}\n"
    )
}

#[test]
fn lvs_that_cannot_be_read_are_skipped_with_a_reason_and_the_others_kept() {
    let lvs = [
        lv("good", &format!("{}{}", linear(1, 0, 2, "pv0", 3), linear(2, 2, 1, "pv0", 0))),
        lv("elsewhere", &linear(1, 0, 1, "pv1", 0)),
        lv("mirror", "segment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"raid1\"\n}\n"),
        lv("two_stripes", "segment1 {\nstart_extent = 0\nextent_count = 2\ntype = \"striped\"\nstripe_count = 2\nstripes = [\"pv0\", 0, \"pv0\", 1]\n}\n"),
        lv("huge", &linear(1, 0, i64::MAX as u64, "pv0", 0)),
        lv("past_the_end", &linear(1, 0, 1, "pv0", 100)),
        lv("gap", &linear(1, 1, 1, "pv0", 0)),
        "hidden {\nstatus = [\"READ\"]\nsegment1 {\ntype = \"thin-pool\"\n}\n}\n".to_string(),
    ]
    .concat();
    let mut pv = pv_with_metadata(&vg_text(&lvs), MIB as usize + 16 * 4096);
    for extent in 0..5u64 {
        pv[(MIB + extent * 4096) as usize] = 0xE0 + extent as u8;
    }
    let (found, warnings) = logical_volumes_with_warnings(&[device(pv)]).unwrap();
    assert_eq!(found.len(), 1, "{warnings:?}");
    let good = &found[0];
    assert_eq!((good.vg.as_str(), good.name.as_str(), good.device.size()), ("vg0", "good", 3 * 4096));
    let firsts: Vec<u8> = (0..3).map(|e| read_vec(good.device.as_ref(), e * 4096, 1).unwrap()[0]).collect();
    assert_eq!(firsts, [0xE3, 0xE4, 0xE0]);
    for name in ["elsewhere", "mirror", "two_stripes", "huge", "past_the_end", "gap"] {
        assert!(warnings.iter().any(|w| w.starts_with(&format!("vg0/{name} skipped"))), "{name}: {warnings:?}");
    }
    assert_eq!(warnings.len(), 6, "{warnings:?}");
}

#[test]
fn metadata_that_wraps_around_its_area_is_read() {
    let text = vg_text(&lv("wrapped", &linear(1, 0, 2, "pv0", 1)));
    let area_size = 512 + text.len() as u64 + 100;
    let mut pv = pv_with_metadata_at(&text, MIB as usize + 4 * 4096, area_size, 512 + 200, PV_UUID);
    assert_ne!(pv[4096 + 512..4096 + 612], [0u8; 100], "the text's last 100 bytes are at the area's start");
    pv[(MIB + 4096) as usize] = 0xAB;
    let (found, warnings) = logical_volumes_with_warnings(&[device(pv)]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!((found[0].name.as_str(), found[0].device.size()), ("wrapped", 2 * 4096));
    assert_eq!(read_vec(found[0].device.as_ref(), 0, 1).unwrap(), [0xAB]);
}

#[test]
fn an_lv_spans_two_pvs_and_the_newest_metadata_wins() {
    let spanning = lv("spanning", &format!("{}{}", linear(1, 0, 1, "pv0", 0), linear(2, 1, 1, "pv1", 2)));
    let newest = vg_text(&spanning).replace("seqno = 1", "seqno = 2");
    let older = vg_text(&lv("old", &linear(1, 0, 1, "pv0", 0)));
    let second = "aaaaaabbbbccccddddeeeeffffgggggg";
    let size = MIB as usize + 4 * 4096;
    let mut pv0 = pv_with_metadata_at(&older, size, MIB - 4096, 512, PV_UUID);
    let mut pv1 = pv_with_metadata_at(&newest, size, MIB - 4096, 512, second);
    pv0[MIB as usize] = 0xA0;
    pv1[(MIB + 2 * 4096) as usize] = 0xB2;
    for pvs in [[device(pv0.clone()), device(pv1.clone())], [device(pv1), device(pv0)]] {
        let (found, warnings) = logical_volumes_with_warnings(&pvs).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "spanning");
        let lv = found[0].device.as_ref();
        assert_eq!((read_vec(lv, 0, 1).unwrap(), read_vec(lv, 4096, 1).unwrap()), (vec![0xA0], vec![0xB2]));
    }
}

#[test]
fn metadata_nested_10000_deep_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "a {\n".repeat(10_000), "}\n".repeat(10_000));
    let err = logical_volumes(&[device(pv_with_metadata(&deep, 2 * MIB as usize))]).err().unwrap();
    assert!(err.contains("nested"), "{err}");
    assert!(Parser::parse(&"x = [".repeat(10_000)).is_err());
    assert!(Parser::parse("a = \"unterminated").is_err());
}

#[test]
fn the_text_format_parses_as_lvm_writes_it() {
    let value = Parser::parse("vg { n = -3 # c\n s = \"a\\\"b\" l = [\"x\", 1] e = [] sub { } }\n").unwrap();
    let vg = value.get("vg").unwrap();
    assert_eq!(vg.num("n"), Some(-3));
    assert_eq!(vg.str("s"), Some("a\"b"));
    assert_eq!(vg.get("l"), Some(&Value::List(vec![Value::Str("x".into()), Value::Num(1)])));
    assert_eq!(vg.get("e"), Some(&Value::List(vec![])));
    assert_eq!(vg.get("sub"), Some(&Value::Section(vec![])));
}

/// The fixture with its first bytes replaced (not copying 64 MiB per case).
struct Patched {
    head: Vec<u8>,
    base: &'static Vec<u8>,
}

impl ReadAt for Patched {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.base.read_exact_at(buf, offset)?;
        for (i, byte) in buf.iter_mut().enumerate() {
            if let Some(&patched) = self.head.get(offset as usize + i) {
                *byte = patched;
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random bytes in the label, the metadata header and the text of the
    /// real PV: never a panic, and every LV found reads within its size.
    #[test]
    fn random_bytes_in_a_real_pv_never_panic(
        edits in proptest::collection::vec((0usize..16 * 1024, any::<u8>()), 1..16),
    ) {
        let mut head = fixture()[..16 * 1024].to_vec();
        for (at, byte) in edits {
            head[at] = byte;
        }
        let pv: Arc<dyn ReadAt> = Arc::new(Patched { head, base: fixture() });
        if let Ok((lvs, _)) = logical_volumes_with_warnings(&[pv]) {
            for lv in lvs {
                let _ = lv.device.read_exact_at(&mut [0u8; 512], lv.device.size().saturating_sub(512));
            }
        }
    }

    #[test]
    fn random_text_never_panics(text in "[a-z0-9{}\\[\\]=,\"# \n\\\\-]{0,400}") {
        let _ = Parser::parse(&text);
        let _ = logical_volumes_with_warnings(&[device(pv_with_metadata(&text, MIB as usize))]);
    }
}
