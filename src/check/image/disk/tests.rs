//! Each format read back against the raw bytes `qemu-img` converted from,
//! and hostile variants (hand-made, mutated, random) that must give errors,
//! never panics or hangs.

use super::*;
use proptest::prelude::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own per call, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("osconf-disk-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a tool (qemu-img, qemu-io; CI installs qemu-utils), failing loudly.
fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is needed (apt-get install qemu-utils): {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn qemu_img(args: &[&str]) {
    run("qemu-img", args);
}

/// The virtual size qemu-img reports.
fn qemu_virtual_size(path: &Path) -> u64 {
    let json = run("qemu-img", &["info", "--output=json", path.to_str().unwrap()]);
    let rest = &json[json.find("\"virtual-size\":").unwrap() + 15..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// A small deterministic pseudo-random sequence (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// 7 MiB: VHD's third 2 MiB block (4..6 MiB) holds only zeros, so it stays unallocated.
const RAW_SIZE: usize = 7 << 20;

/// 7 MiB, mostly zeros (sparse), with random bytes (not compressible),
/// text (compressible) and markers across cluster boundaries and at the end.
fn raw_pattern() -> Vec<u8> {
    let mut raw = vec![0u8; RAW_SIZE];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for b in &mut raw[4096..200_000] {
        *b = rng.next() as u8;
    }
    for (i, b) in raw[(1 << 20) - 300..(3 << 20) + 77].iter_mut().enumerate() {
        *b = b"osconf reads images, a line of text. "[i % 37];
    }
    for at in [0, 511, 65535, (2 << 20) + 4095, (4 << 20) - 1, RAW_SIZE - 1] {
        raw[at] = 0xa5;
        raw[at.saturating_sub(1)] = 0x5a;
    }
    raw[RAW_SIZE - 4096..].iter_mut().enumerate().for_each(|(i, b)| *b = (i % 251) as u8 + 1);
    raw
}

/// Every read of `device` equals `expected`: the whole disk, boundaries,
/// reads across blocks, random ones, and reads past the end fail.
fn assert_reads_equal(device: &dyn ReadAt, expected: &[u8], what: &str) {
    let size = expected.len() as u64;
    assert_eq!(device.size(), size, "{what}: size");
    let mut whole = vec![0u8; expected.len()];
    device.read_exact_at(&mut whole, 0).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(whole == expected, "{what}: the whole disk differs");
    let mut rng = Rng(42);
    let mut reads: Vec<(u64, usize)> = vec![(size - 1, 1), (size - 4096, 4096), (0, 1)];
    for boundary in [512u64, 4096, 16384, 65536, 1 << 20, 2 << 20] {
        let mut at = boundary;
        while at < size {
            reads.push((at - 1, 2));
            reads.push((at.saturating_sub(700), 1400.min((size - at + 700) as usize)));
            at += boundary * 7;
        }
    }
    for _ in 0..300 {
        let at = rng.below(size);
        reads.push((at, 1 + rng.below((size - at).min(300_000)) as usize));
    }
    for (at, len) in reads {
        let mut buf = vec![0u8; len];
        device.read_exact_at(&mut buf, at).unwrap_or_else(|e| panic!("{what}: {len} at {at}: {e}"));
        assert!(buf == expected[at as usize..at as usize + len], "{what}: {len} bytes at {at} differ");
    }
    for (at, len) in [(size, 1), (size - 1, 2), (u64::MAX, 1)] {
        let err = device.read_exact_at(&mut vec![0u8; len], at).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{what}: {len} at {at}");
    }
}

/// Converts the pattern with `qemu-img convert ARGS`, opens the result and
/// compares it with the pattern padded to qemu's virtual size; the image
/// file's length.
fn check_converted(args: &[&str], format: Format) -> u64 {
    let dir = TempDir::new();
    let raw = raw_pattern();
    std::fs::write(dir.path("raw"), &raw).unwrap();
    let (raw_path, image) = (dir.path("raw"), dir.path("image"));
    let mut all = vec!["convert", "-f", "raw"];
    all.extend_from_slice(args);
    all.extend([raw_path.to_str().unwrap(), image.to_str().unwrap()]);
    qemu_img(&all);
    check_image(&image, raw, format, &format!("{args:?}"));
    std::fs::metadata(&image).unwrap().len()
}

fn check_image(image: &Path, mut expected: Vec<u8>, format: Format, what: &str) {
    let disk = open(image).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(disk.format.name(), format.name());
    assert_eq!(disk.format, format, "{what}");
    // qemu-img counts a fixed VHD's footer in its size: the guest's disk is
    // the bytes before it.
    let file_size = std::fs::metadata(image).unwrap().len();
    let fixed_vhd = format == Format::Vhd && what.contains("fixed");
    let virtual_size = if fixed_vhd { file_size - 512 } else { qemu_virtual_size(image) };
    assert_eq!(disk.virtual_size, virtual_size, "{what}: virtual size");
    assert!(virtual_size >= expected.len() as u64, "{what}: qemu cut the disk");
    expected.resize(virtual_size as usize, 0);
    // The file system may trim its preallocation while we look.
    let on_disk = std::fs::metadata(image).unwrap().blocks() * 512;
    assert!(disk.allocated.abs_diff(on_disk) <= 1 << 20, "{what}: allocated {} of {on_disk}", disk.allocated);
    assert_reads_equal(&*disk.device, &expected, what);
}

#[test]
fn raw_reads_the_file() {
    check_converted(&["-O", "raw"], Format::Raw);
}

#[test]
fn qcow2_v3_v2_and_cluster_sizes() {
    check_converted(&["-O", "qcow2"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-o", "compat=0.10"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-o", "cluster_size=512"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-o", "cluster_size=2M"], Format::Qcow2);
}

#[test]
fn qcow2_compressed_and_extended_l2() {
    check_converted(&["-O", "qcow2", "-c"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-c", "-o", "compat=0.10,cluster_size=4096"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-o", "extended_l2=on,cluster_size=64k"], Format::Qcow2);
    check_converted(&["-O", "qcow2", "-c", "-o", "extended_l2=on,cluster_size=32k"], Format::Qcow2);
}

/// Zero clusters (v3's flag, and extended L2's zero bits) over data.
#[test]
fn qcow2_zero_clusters_read_zeros() {
    for options in ["compat=1.1", "extended_l2=on"] {
        let dir = TempDir::new();
        let raw = raw_pattern();
        std::fs::write(dir.path("raw"), &raw).unwrap();
        let image = dir.path("image");
        let (raw_path, image_path) = (dir.path("raw"), image.to_str().unwrap().to_string());
        qemu_img(&["convert", "-f", "raw", "-O", "qcow2", "-o", options, raw_path.to_str().unwrap(), &image_path]);
        // Whole clusters and a part of one (a subcluster with extended L2).
        run("qemu-io", &["-f", "qcow2", "-c", "write -z 65536 131072", "-c", "write -z 1048576 4096", &image_path]);
        let mut expected = raw;
        expected[65536..65536 + 131072].fill(0);
        expected[1 << 20..(1 << 20) + 4096].fill(0);
        check_image(&image, expected, Format::Qcow2, options);
    }
}

#[test]
fn vhd_dynamic_and_fixed() {
    // Of its four 2 MiB blocks, one holds only zeros: left unallocated (four
    // would take 8 MiB).
    assert!(check_converted(&["-O", "vpc"], Format::Vhd) < 7 << 20);
    check_converted(&["-O", "vpc", "-o", "subformat=fixed"], Format::Vhd);
    check_converted(&["-O", "vpc", "-o", "force_size=on"], Format::Vhd);
    check_converted(&["-O", "vpc", "-o", "subformat=fixed,force_size=on"], Format::Vhd);
}

#[test]
fn vmdk_sparse_and_stream_optimized() {
    assert!(check_converted(&["-O", "vmdk"], Format::Vmdk) < RAW_SIZE as u64 / 2, "sparse");
    check_converted(&["-O", "vmdk", "-o", "subformat=streamOptimized"], Format::Vmdk);
    check_converted(&["-O", "vmdk", "-o", "zeroed_grain=on"], Format::Vmdk);
}

/// `open`'s error for what `qemu-img ARGS` made in a fresh directory.
fn open_error(setup: &[&[&str]], file: &str) -> String {
    let dir = TempDir::new();
    for args in setup {
        let args: Vec<String> = args.iter().map(|a| a.replace("DIR", dir.0.to_str().unwrap())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        qemu_img(&args);
    }
    let path = dir.path(file);
    let err = open(&path).err().unwrap_or_else(|| panic!("{file}: opened"));
    assert!(err.starts_with(path.to_str().unwrap()), "{err}");
    err
}

#[test]
fn unsupported_kinds_are_refused_by_name() {
    let base: &[&str] = &["create", "-f", "qcow2", "DIR/base", "1M"];
    let err = open_error(&[base, &["create", "-f", "qcow2", "-b", "DIR/base", "-F", "qcow2", "DIR/top"]], "top");
    assert!(err.contains("backing file is not supported"), "{err}");
    let zstd: &[&str] = &["create", "-f", "qcow2", "-o", "compression_type=zstd", "DIR/z", "1M"];
    assert!(open_error(&[zstd], "z").contains("zstd"));
    let external: &[&str] = &["create", "-f", "qcow2", "-o", "data_file=DIR/data", "DIR/x", "1M"];
    assert!(open_error(&[external], "x").contains("external data file"));
    let split: &[&str] = &["create", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "DIR/s.vmdk", "1M"];
    assert!(open_error(&[split], "s.vmdk").contains("descriptor-only"));
    assert!(open_error(&[split], "s-s001.vmdk").contains("split"));
    let flat: &[&str] = &["create", "-f", "vmdk", "-o", "subformat=monolithicFlat", "DIR/f.vmdk", "1M"];
    assert!(open_error(&[flat], "f.vmdk").contains("descriptor-only"));
}

/// A small qcow2 image's bytes (1 MiB of pattern, 4 KiB clusters, some
/// compressed) and VHD and VMDK ones: the seeds of the hostile variants.
fn small_images() -> Vec<(&'static str, Vec<u8>)> {
    let dir = TempDir::new();
    std::fs::write(dir.path("raw"), &raw_pattern()[(1 << 20) - 300_000..(2 << 20) - 300_000]).unwrap();
    let raw = dir.path("raw");
    let raw = raw.to_str().unwrap();
    let mut images = Vec::new();
    for (name, args) in [
        ("qcow2", &["-O", "qcow2", "-o", "cluster_size=4096"][..]),
        ("qcow2 -c", &["-O", "qcow2", "-c", "-o", "cluster_size=4096"]),
        ("qcow2 extended", &["-O", "qcow2", "-o", "extended_l2=on,cluster_size=16k"]),
        ("vhd", &["-O", "vpc"]),
        ("vmdk", &["-O", "vmdk"]),
        ("vmdk stream", &["-O", "vmdk", "-o", "subformat=streamOptimized"]),
    ] {
        let out = dir.path("out");
        let mut all = vec!["convert", "-f", "raw"];
        all.extend_from_slice(args);
        all.extend([raw, out.to_str().unwrap()]);
        qemu_img(&all);
        images.push((name, std::fs::read(&out).unwrap()));
    }
    images
}

/// Opens `bytes` as an image and reads its first MiB and a few more places:
/// any result is fine but a panic (the caller's thread) or a hang.
fn open_and_read(bytes: Vec<u8>) -> Result<(), String> {
    let (_, device) = detect(Arc::new(bytes))?;
    let size = device.size();
    let mut buf = vec![0u8; 70_000];
    for at in [0, 65_000, 1 << 20, size / 2, size.saturating_sub(1000), size.saturating_sub(1)] {
        let _ = device.read_exact_at(&mut buf, at);
        let _ = device.read_exact_at(&mut buf[..1000], at);
    }
    let mut at = 0;
    while at < size.min(1 << 20) {
        device.read_exact_at(&mut buf[..4096], at).map_err(|e| e.to_string())?;
        at += 4096;
    }
    Ok(())
}

fn put_be32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put_be64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn corrupt_headers_give_errors() {
    let images = small_images();
    let qcow2 = &images[0].1;
    assert!(open_and_read(qcow2.clone()).is_ok(), "the seed opens");
    let variant = |change: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = qcow2.clone();
        change(&mut bytes);
        detect(Arc::new(bytes)).err().expect("an error")
    };
    assert!(variant(&|b| put_be32(b, 20, 63)).contains("cluster_bits 63"));
    assert!(variant(&|b| put_be32(b, 20, 8)).contains("cluster_bits 8"));
    assert!(variant(&|b| put_be32(b, 4, 4)).contains("version 4"));
    assert!(variant(&|b| put_be64(b, 40, 1 << 40)).contains("L1 table is past the end"));
    assert!(variant(&|b| put_be64(b, 40, u64::MAX - 3)).contains("L1 table is past the end"));
    assert!(variant(&|b| put_be64(b, 24, u64::MAX)).contains("too small"));
    assert!(variant(&|b| {
        put_be64(b, 24, 1 << 50); // 2^29 L1 entries: 4 GiB
        put_be32(b, 36, u32::MAX);
    })
    .contains("too large"));
    assert!(variant(&|b| put_be64(b, 72, 1 << 9)).contains("unknown incompatible"));
    assert!(variant(&|b| b.truncate(50)).contains("L1 table is past the end"));
    // Too short for any magic: raw.
    assert_eq!(detect(Arc::new(qcow2[..3].to_vec())).map(|(f, d)| (f, d.size())).ok(), Some((Format::Raw, 3)));
    // crypt_method 1 (AES) and 2 (LUKS); qemu-img cannot make LUKS here.
    assert!(variant(&|b| put_be32(b, 32, 2)).contains("encrypted qcow2"));
    // An L2 table or data past the end: the read fails, the open does not.
    let mut truncated = qcow2.clone();
    truncated.truncate(truncated.len() / 2);
    assert!(open_and_read(truncated).is_err());
    // VHD: differencing, and a dynamic header past the end.
    let vhd = &images[3].1;
    let footer = vhd.len() - 512;
    let mut diff = vhd.clone();
    put_be32(&mut diff, footer + 60, 4);
    assert!(detect(Arc::new(diff)).err().unwrap().contains("differencing"));
    // A dynamic VHD whose footer at the end is lost: its copy at 0 serves.
    let whole = |bytes: Vec<u8>| {
        let (_, device) = detect(Arc::new(bytes)).unwrap();
        read_vec(&*device, 0, device.size() as usize).unwrap()
    };
    assert_eq!(whole(vhd[..footer].to_vec()), whole(vhd.clone()));
    let mut far = vhd.clone();
    put_be64(&mut far, footer + 16, u64::MAX - 100);
    assert!(detect(Arc::new(far)).err().unwrap().contains("past the end"));
    // VMDK: a grain size of 0 and a capacity beyond u64.
    let mut vmdk = images[4].1.clone();
    vmdk[20..28].copy_from_slice(&0u64.to_le_bytes());
    assert!(detect(Arc::new(vmdk.clone())).err().unwrap().contains("grain size"));
    vmdk[20..28].copy_from_slice(&128u64.to_le_bytes());
    vmdk[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(detect(Arc::new(vmdk)).err().unwrap().contains("capacity"));
}

/// Runs `f` on a thread that must finish within a minute (hang detection).
fn within_bound(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60)).expect("panicked or hung");
}

/// Deterministic mutations of every small image: bytes of its header,
/// tables and data overwritten with random, extreme and flag values.
#[test]
fn mutated_images_never_panic() {
    within_bound(|| {
        let mut rng = Rng(7);
        for (name, seed) in small_images() {
            // Some variants still open and read (the loop reaches the reads).
            let mut read_through = 0;
            for round in 0..300 {
                let mut bytes = seed.clone();
                for _ in 0..1 + rng.below(4) {
                    // Mostly the first 4 KiB (headers, L1) and the last (footers).
                    let at = match round % 3 {
                        0 => rng.below(4096),
                        1 => bytes.len() as u64 - 1 - rng.below(2048),
                        _ => rng.below(bytes.len() as u64),
                    } as usize;
                    let value = [0u8, 0xff, 0x80, 0x7f, 1, rng.next() as u8][rng.below(6) as usize];
                    for b in bytes.iter_mut().skip(at).take(1 + rng.below(8) as usize) {
                        *b = value;
                    }
                }
                if round % 50 == 49 {
                    bytes.truncate(rng.below(bytes.len() as u64) as usize);
                }
                read_through += usize::from(open_and_read(bytes).is_ok());
            }
            assert!(read_through > 30, "{name}: only {read_through} of 300 variants read");
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any header bytes after each magic, over a real image's remainder.
    #[test]
    fn any_header_bytes_never_panic(header in proptest::collection::vec(any::<u8>(), 4..600), which in 0usize..4) {
        let mut bytes = vec![0u8; 256 << 10];
        let magic: &[u8] = [&b"QFI\xfb"[..], b"KDMV", b"conectix", b"COWD"][which];
        bytes[..header.len()].copy_from_slice(&header);
        bytes[..magic.len()].copy_from_slice(magic);
        if which == 2 {
            let footer = bytes.len() - 512;
            bytes.copy_within(0..512, footer);
        }
        within_bound(move || { let _ = open_and_read(bytes); });
    }
}

/// A streamOptimized image written in one pass keeps its header in a footer
/// (the one at 0 says "grain directory at the end"); qemu-img writes the
/// directory up front, so the footer is made here from its header.
#[test]
fn vmdk_header_in_the_footer() {
    let dir = TempDir::new();
    let raw: Vec<u8> = raw_pattern()[..1 << 20].to_vec();
    std::fs::write(dir.path("raw"), &raw).unwrap();
    let (raw_path, image) = (dir.path("raw"), dir.path("image"));
    let args = ["convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized"];
    let mut all = args.to_vec();
    all.extend([raw_path.to_str().unwrap(), image.to_str().unwrap()]);
    qemu_img(&all);
    let mut bytes = std::fs::read(&image).unwrap();
    let header = bytes[..512].to_vec();
    bytes[56..64].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut footer_marker = [0u8; 512];
    footer_marker[12] = 3;
    bytes.extend_from_slice(&footer_marker);
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0u8; 512]); // end-of-stream marker
    let (format, device) = detect(Arc::new(bytes.clone())).unwrap();
    assert_eq!(format, Format::Vmdk);
    assert_reads_equal(&*device, &raw, "footer");
    // Without the footer: an error.
    bytes.truncate(bytes.len() - 1536);
    assert!(detect(Arc::new(bytes)).err().unwrap().contains("footer"));
}
