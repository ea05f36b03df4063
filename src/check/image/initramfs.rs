//! The file names in an initramfs, to tell whether the virtio modules are in
//! it (an image whose initramfs lacks virtio_blk does not boot on a cloud).
//!
//! An initramfs is one or more concatenated cpio archives in the "newc"
//! (magic `070701`) or "crc" (`070702`) format: a 110-byte header of ASCII
//! hex fields, the NUL-terminated name, the data, both padded to 4 bytes; an
//! archive ends with the entry `TRAILER!!!`. The first archive is often an
//! uncompressed early-microcode one (Debian's, dracut's), the rest one
//! compressed stream whose output is again cpio archives. Between segments
//! there may be zero padding. This reader follows Linux's own rule
//! (`init/initramfs.c`): after zero padding comes either `0` (another cpio
//! header) or the magic of a compressed stream.
//!
//! Supported compressions: gzip, xz (CRC32 or no check, as the kernel
//! wants: `xz --check=crc32`), zstd. lz4, bzip2, lzma and lzo are
//! recognised and named in the error. Decompression is streamed: only the
//! headers and names are kept, never file data, and the output is bounded
//! (512 MiB), so a hostile image costs bounded time and memory.

use std::io::Read;

/// At most this many decompressed bytes in all (a real one is < 200 MiB).
const MAX_OUTPUT: u64 = 512 << 20;
/// Linux's PATH_MAX: a longer name in a header is not believed.
const MAX_NAME: usize = 4096;
/// xz's largest preset (-9) uses 64 MiB: a larger dictionary is refused.
const MAX_XZ_DICT: usize = 64 << 20;
/// zstd's window for the kernel's own decoder (1 << 27).
const MAX_ZSTD_WINDOW: u64 = 128 << 20;
const HEADER_LEN: usize = 110;
/// Compressed streams in one initramfs (a real one has one or two): each
/// costs a decoder's setup, so a file of tiny streams must not go on.
const MAX_STREAMS: usize = 64;

/// The names of the files in `bytes` (an initramfs), in archive order, at
/// most `max_names` (more is an error). The trailers are not listed.
pub fn file_names(bytes: &[u8], max_names: usize) -> Result<Vec<String>, String> {
    file_names_bounded(bytes, max_names, MAX_OUTPUT)
}

fn file_names_bounded(bytes: &[u8], max_names: usize, max_output: u64) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut budget = max_output;
    let mut rest = bytes;
    // Each round reads one uncompressed run of cpio archives (or padding),
    // then at most one compressed stream; each consumes at least one byte.
    for stream in 0..=MAX_STREAMS {
        let mut cpio = Cpio::new(&mut names, max_names);
        let used = cpio.feed(rest)?;
        cpio.finish()?;
        rest = rest.get(used..).unwrap_or(&[]);
        if rest.is_empty() {
            break;
        }
        if stream == MAX_STREAMS {
            return Err(format!("more than {MAX_STREAMS} compressed streams"));
        }
        let offset = bytes.len() - rest.len();
        let mut cpio = Cpio::new(&mut names, max_names);
        let used = decompress(rest, &mut cpio, &mut budget).map_err(|e| format!("at offset {offset}: {e}"))?;
        cpio.finish()?;
        rest = rest.get(used.max(1)..).unwrap_or(&[]);
    }
    Ok(names)
}

/// Decompresses the stream at the start of `input` into `cpio`; the number
/// of input bytes it took.
fn decompress(input: &[u8], cpio: &mut Cpio, budget: &mut u64) -> Result<usize, String> {
    let mut out = vec![0u8; 64 << 10];
    match input {
        [0x1f, 0x8b, ..] => {
            let mut reader = input;
            let mut gz = flate2::bufread::GzDecoder::new(&mut reader);
            pump(&mut gz, &mut out, cpio, budget)?;
            drop(gz);
            Ok(input.len() - reader.len())
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => unzstd(input, cpio, budget),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => unxz(input, &mut out, cpio, budget),
        [0x02, 0x21, 0x4c, 0x18, ..] => Err("lz4-compressed initramfs: not supported".into()),
        [b'B', b'Z', b'h', ..] => Err("bzip2-compressed initramfs: not supported".into()),
        [0x5d, 0, 0, ..] => Err("lzma-compressed initramfs: not supported".into()),
        [0x89, b'L', b'Z', b'O', ..] => Err("lzo-compressed initramfs: not supported".into()),
        _ => Err("neither a cpio archive nor a known compressed stream".into()),
    }
}

/// Reads a decoder to its end into `cpio`, within the budget.
fn pump(decoder: &mut dyn Read, out: &mut [u8], cpio: &mut Cpio, budget: &mut u64) -> Result<(), String> {
    loop {
        let n = decoder.read(out).map_err(|e| format!("gzip: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        take_output(budget, n)?;
        cpio.feed_all(out.get(..n).unwrap_or(&[]))?;
    }
}

fn take_output(budget: &mut u64, n: usize) -> Result<(), String> {
    *budget =
        budget.checked_sub(n as u64).ok_or_else(|| format!("decompresses to more than {} MiB", MAX_OUTPUT >> 20))?;
    Ok(())
}

/// One zstd frame, a block at a time (a block is at most 128 KiB). Its
/// errors are not formatted: ruzstd's Display code alone is ~50 KiB.
fn unzstd(input: &[u8], cpio: &mut Cpio, budget: &mut u64) -> Result<usize, String> {
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
    let mut reader = input;
    let mut zstd = FrameDecoder::new();
    zstd.set_max_window_size(MAX_ZSTD_WINDOW);
    zstd.init(&mut reader).map_err(|_| "zstd: bad or unsupported frame header")?;
    loop {
        let done = zstd
            .decode_blocks(&mut reader, BlockDecodingStrategy::UptoBlocks(1))
            .map_err(|_| "zstd: corrupt or truncated block")?;
        if let Some(out) = zstd.collect() {
            take_output(budget, out.len())?;
            cpio.feed_all(&out)?;
        }
        if done {
            return Ok(input.len() - reader.len());
        }
    }
}

/// xz through xz-embedded's state machine: every call consumes input or
/// produces output (bounded by the budget), else the stream is truncated.
fn unxz(input: &[u8], out: &mut [u8], cpio: &mut Cpio, budget: &mut u64) -> Result<usize, String> {
    let mut xz = xz4rust::XzDecoder::in_heap_with_alloc_dict_size(xz4rust::DICT_SIZE_MIN, MAX_XZ_DICT);
    let mut pos = 0usize;
    loop {
        let result = xz.decode(input.get(pos..).unwrap_or(&[]), out).map_err(|e| format!("xz: {e}"))?;
        let (consumed, produced) = (result.input_consumed(), result.output_produced());
        pos = pos.saturating_add(consumed);
        take_output(budget, produced)?;
        cpio.feed_all(out.get(..produced).unwrap_or(&[]))?;
        match result {
            xz4rust::XzNextBlockResult::EndOfStream(..) => return Ok(pos),
            _ if consumed == 0 && produced == 0 => return Err("xz: truncated stream".into()),
            _ => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between archives: zero padding, or `0` starting a header.
    Reset,
    Header,
    /// The name of this many bytes (NUL included).
    Name(usize),
    /// Skipping data and padding, then the next header (or Reset after a trailer).
    Skip {
        left: u64,
        then_reset: bool,
    },
}

/// A cpio "newc" parser fed in pieces: keeps the names, skips the data.
struct Cpio<'a> {
    names: &'a mut Vec<String>,
    max_names: usize,
    state: State,
    /// Bytes taken so far (for the 4-byte alignment).
    pos: u64,
    /// The header or name being collected.
    buf: Vec<u8>,
    /// The current entry's data length, from its header.
    file_size: u64,
    /// A byte seen in Reset that is neither padding nor a header.
    stopped: bool,
}

impl<'a> Cpio<'a> {
    fn new(names: &'a mut Vec<String>, max_names: usize) -> Cpio<'a> {
        Cpio { names, max_names, state: State::Reset, pos: 0, buf: Vec::new(), file_size: 0, stopped: false }
    }

    /// Takes what it can of `data`; stops (returning the count) at a byte
    /// that in Reset is neither padding nor a header.
    fn feed(&mut self, data: &[u8]) -> Result<usize, String> {
        let mut at = 0usize;
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            let took = match self.state {
                State::Reset => match rest.first() {
                    Some(0) => 1,
                    Some(b'0') => {
                        self.state = State::Header;
                        0
                    }
                    _ => {
                        self.stopped = true;
                        return Ok(at);
                    }
                },
                State::Header | State::Name(_) => {
                    let want = match self.state {
                        State::Name(n) => n,
                        _ => HEADER_LEN,
                    };
                    let n = want.saturating_sub(self.buf.len()).min(rest.len());
                    self.buf.extend_from_slice(rest.get(..n).unwrap_or(&[]));
                    if self.buf.len() == want {
                        self.pos = self.pos.saturating_add(n as u64);
                        self.complete()?;
                        at = at.saturating_add(n);
                        continue;
                    }
                    n
                }
                State::Skip { left, then_reset } => {
                    let n = left.min(rest.len() as u64);
                    self.state = match left - n {
                        0 if then_reset => State::Reset,
                        0 => State::Header,
                        left => State::Skip { left, then_reset },
                    };
                    n as usize
                }
            };
            at = at.saturating_add(took);
            self.pos = self.pos.saturating_add(took as u64);
        }
        Ok(at)
    }

    /// Feeds decompressed output: all of it must be cpio.
    fn feed_all(&mut self, data: &[u8]) -> Result<(), String> {
        let used = self.feed(data)?;
        if used < data.len() || self.stopped {
            return Err("junk within the compressed archive".into());
        }
        Ok(())
    }

    /// At the end of the input: a half-read entry is a truncated archive.
    fn finish(&self) -> Result<(), String> {
        match self.state {
            State::Reset => Ok(()),
            _ => Err("truncated cpio archive".into()),
        }
    }

    /// A whole header or name is in `buf`.
    fn complete(&mut self) -> Result<(), String> {
        let buf = std::mem::take(&mut self.buf);
        match self.state {
            State::Header => {
                if !matches!(buf.get(..6), Some(b"070701" | b"070702")) {
                    return Err("no cpio magic (070701 or 070702)".into());
                }
                // Fields: ino mode uid gid nlink mtime filesize ... namesize check.
                let name_size = hex_field(&buf, 11)? as usize;
                if name_size == 0 || name_size > MAX_NAME {
                    return Err(format!("cpio name size {name_size} out of range"));
                }
                self.file_size = hex_field(&buf, 6)?;
                self.state = State::Name(name_size);
            }
            State::Name(_) => {
                let name = buf.split(|&b| b == 0).next().unwrap_or(&[]);
                let trailer = name == b"TRAILER!!!";
                if !trailer {
                    if self.names.len() >= self.max_names {
                        return Err(format!("more than {} files", self.max_names));
                    }
                    self.names.push(String::from_utf8_lossy(name).into_owned());
                }
                // Name and data are each padded to 4 bytes from the archive's start.
                let data_start = align4(self.pos);
                let next = align4(data_start.saturating_add(self.file_size));
                let left = next - self.pos;
                self.state = match left {
                    0 if trailer => State::Reset,
                    0 => State::Header,
                    _ => State::Skip { left, then_reset: trailer },
                };
            }
            _ => {}
        }
        Ok(())
    }
}

fn align4(n: u64) -> u64 {
    n.saturating_add(3) & !3
}

/// The `index`th 8-digit hex field after the 6-byte magic.
fn hex_field(header: &[u8], index: usize) -> Result<u64, String> {
    let start = 6 + 8 * index;
    let digits = header.get(start..start + 8).ok_or("short cpio header")?;
    let text = std::str::from_utf8(digits).map_err(|_| "cpio header field is not hex")?;
    u64::from_str_radix(text, 16).map_err(|_| format!("cpio header field {text:?} is not hex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::{Command, Stdio};

    const MODULES: &str = "usr/lib/modules/6.1.0-x/kernel/drivers";

    fn run(cmd: &str, dir: &Path) -> Vec<u8> {
        let out = Command::new("sh").arg("-c").arg(cmd).current_dir(dir).stderr(Stdio::inherit()).output();
        let out = out.unwrap_or_else(|e| panic!("sh: {e}"));
        assert!(out.status.success(), "{cmd} failed (are cpio, gzip, xz and zstd installed?)");
        out.stdout
    }

    /// A temp tree with the virtio modules, and the names `cpio -t` lists of its newc archive.
    fn tree(tag: &str) -> (std::path::PathBuf, Vec<String>) {
        let dir = std::env::temp_dir().join(format!("osconf-initramfs-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in [
            "main/usr/lib/modules/6.1.0-x/kernel/drivers/block",
            "main/usr/lib/modules/6.1.0-x/kernel/drivers/net",
            "main/usr/lib/modules/6.1.0-x/kernel/drivers/scsi",
            "ucode/kernel/x86/microcode",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let m = format!("main/{MODULES}");
        std::fs::write(dir.join(format!("{m}/block/virtio_blk.ko.xz")), vec![7u8; 5000]).unwrap();
        std::fs::write(dir.join(format!("{m}/net/virtio_net.ko")), b"elf").unwrap();
        std::fs::write(dir.join(format!("{m}/scsi/virtio_scsi.ko.zst")), b"").unwrap();
        std::fs::write(dir.join("main/init"), b"#!/bin/sh\n").unwrap();
        std::fs::write(dir.join("ucode/kernel/x86/microcode/GenuineIntel.bin"), vec![1u8; 333]).unwrap();
        run("cd main && find . | sort | cpio -o -H newc --quiet > ../main.cpio", &dir);
        run("cd ucode && find . | sort | cpio -o -H newc --quiet > ../ucode.cpio", &dir);
        let listed = run("cpio -t --quiet < main.cpio", &dir);
        let names = String::from_utf8(listed).unwrap().lines().map(String::from).collect();
        (dir, names)
    }

    #[test]
    fn lists_the_names_cpio_lists_for_each_compression() {
        let (dir, names) = tree("each");
        assert!(names.iter().any(|n| n.ends_with("virtio_blk.ko.xz")), "{names:?}");
        for (compress, file) in
            [("cat", "plain"), ("gzip -9", "gz"), ("xz --check=crc32", "xz"), ("zstd -q -19", "zst")]
        {
            run(&format!("{compress} < main.cpio > main.{file}"), &dir);
            let bytes = std::fs::read(dir.join(format!("main.{file}"))).unwrap();
            assert_eq!(file_names(&bytes, 1000).unwrap(), names, "{file}");
            // Zero padding after the stream is allowed, as Linux allows it.
            let mut padded = bytes.clone();
            padded.extend_from_slice(&[0; 13]);
            assert_eq!(file_names(&padded, 1000).unwrap(), names, "{file} padded");
            assert!(file_names(&bytes, names.len() - 1).is_err(), "{file}: max_names");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_early_microcode_archive_before_a_compressed_one() {
        let (dir, names) = tree("ucode");
        let ucode_names = String::from_utf8(run("cpio -t --quiet < ucode.cpio", &dir)).unwrap();
        let mut expected: Vec<String> = ucode_names.lines().map(String::from).collect();
        assert!(expected.contains(&"kernel/x86/microcode/GenuineIntel.bin".to_string()), "{expected:?}");
        expected.extend(names);
        for compress in ["gzip", "xz --check=crc32", "zstd -q"] {
            run(&format!("cat ucode.cpio > all; {compress} < main.cpio >> all"), &dir);
            let bytes = std::fs::read(dir.join("all")).unwrap();
            assert_eq!(file_names(&bytes, 1000).unwrap(), expected, "{compress}");
        }
        // Two compressed streams back to back, as the kernel also accepts.
        run("gzip < ucode.cpio > all; zstd -q < main.cpio >> all", &dir);
        assert_eq!(file_names(&std::fs::read(dir.join("all")).unwrap(), 1000).unwrap(), expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_and_unsupported_inputs_are_errors() {
        let (dir, _) = tree("corrupt");
        run("gzip < main.cpio > main.gz; xz --check=crc32 < main.cpio > main.xz; zstd -q < main.cpio > main.zst", &dir);
        for file in ["main.cpio", "main.gz", "main.xz", "main.zst"] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            // (cpio's own archive ends in zero padding: cut it before that.)
            let last = if file == "main.cpio" { bytes.len() / 2 } else { bytes.len() - 1 };
            for cut in [1, 7, bytes.len() / 3, last] {
                let err = file_names(&bytes[..cut], 1000);
                assert!(err.is_err(), "{file} cut at {cut}: {err:?}");
            }
            let mut junk = bytes.clone();
            junk.extend_from_slice(b"garbage after the trailer");
            assert!(file_names(&junk, 1000).is_err(), "{file} with junk");
        }
        // The kernel's xz decoder needs CRC32; this one refuses CRC64 by name.
        run("xz --check=crc64 < main.cpio > crc64.xz", &dir);
        let err = file_names(&std::fs::read(dir.join("crc64.xz")).unwrap(), 1000).unwrap_err();
        assert!(err.contains("Crc64"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        let mut huge_name = b"070701".to_vec();
        huge_name.extend_from_slice(&b"00000000".repeat(11));
        huge_name.extend_from_slice(b"FFFFFFFF00000000");
        assert!(file_names(&huge_name, 10).unwrap_err().contains("name size"));
        // A huge file size: the data is past the end.
        let mut huge_file = b"070701".to_vec();
        huge_file.extend_from_slice(&b"00000000".repeat(6));
        huge_file.extend_from_slice(b"FFFFFFFF");
        huge_file.extend_from_slice(&b"00000000".repeat(4));
        huge_file.extend_from_slice(b"0000000200000000a\0");
        assert!(file_names(&huge_file, 10).unwrap_err().contains("truncated"));
        for (magic, name) in [(&[2u8, 0x21, 0x4c, 0x18][..], "lz4"), (b"BZh9", "bzip2"), (&[0x5d, 0, 0, 0x80], "lzma")]
        {
            assert!(file_names(magic, 10).unwrap_err().contains(name), "{name}");
        }
        assert_eq!(file_names(&[], 10).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_zip_bomb_stops_at_the_output_limit() {
        // 64 MiB of zeros (valid padding once decompressed) against a 1 MiB limit.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            std::io::Write::write_all(&mut gz, &zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        let err = file_names_bounded(&bomb, 10, 1 << 20).unwrap_err();
        assert!(err.contains("more than"), "{err}");
    }

    #[test]
    fn at_most_64_compressed_streams() {
        // An archive of its trailer alone: header, "TRAILER!!!\0", padding.
        let mut trailer = b"070701".to_vec();
        trailer.extend_from_slice(&b"00000000".repeat(11));
        trailer.extend_from_slice(b"0000000B00000000TRAILER!!!\0\0\0\0\0\0\0");
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut one, &trailer).unwrap();
        let one = one.finish().unwrap();
        assert_eq!(file_names(&trailer, 1).unwrap(), Vec::<String>::new());
        assert_eq!(file_names(&one.repeat(MAX_STREAMS), 1).unwrap(), Vec::<String>::new());
        assert!(file_names(&one.repeat(MAX_STREAMS + 1), 1).unwrap_err().contains("streams"));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), seed in 0usize..4) {
            // Random bytes behind each magic, so each decoder sees hostile input.
            let magics: [&[u8]; 4] = [b"070701", &[0x1f, 0x8b, 8, 0], &[0xfd, b'7', b'z', b'X', b'Z', 0], &[0x28, 0xb5, 0x2f, 0xfd]];
            let mut input = magics[seed].to_vec();
            input.extend_from_slice(&bytes);
            let _ = file_names_bounded(&input, 100, 1 << 20);
            let _ = file_names_bounded(&bytes, 100, 1 << 20);
        }
    }
}
