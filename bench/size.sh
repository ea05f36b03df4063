#!/usr/bin/env bash
# What the release binary's size is made of (not a test; any user): an
# unstripped release build (its own target directory, so the stripped
# binary bench/run.sh measures is not rebuilt), its symbols' sizes summed
# by crate (nm -S), the largest first. Symbols only: what no symbol covers
# (the ELF headers, .eh_frame, string and relocation data) is the remainder.
# Usage: bash bench/size.sh [TOP]        (default the 20 largest crates)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=${1:-20}
DIR=${OSCONF_SIZE_TARGET_DIR:-/tmp/osconf-size-target}
CARGO_TARGET_DIR=$DIR CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --locked -q
BIN=$DIR/x86_64-unknown-linux-gnu/release/osconf
printf 'unstripped %s bytes; stripped (bench/run.sh) %s bytes\n' "$(stat -c %s "$BIN")" \
  "$(stat -c %s target/x86_64-unknown-linux-gnu/release/osconf 2>/dev/null || echo '?')"
nm -S --size-sort -C "$BIN" | python3 -c '
import re, sys, collections
by, total = collections.Counter(), 0
for line in sys.stdin:
    parts = line.split(None, 3)
    if len(parts) < 4:
        continue
    size, kind, name = int(parts[1], 16), parts[2], parts[3].strip()
    if kind in "bB":  # .bss: no bytes in the file
        continue
    total += size
    # The crate: the first path segment, inside "<T as Trait>" the type'"'"'s;
    # a symbol with no path (static glibc, the C runtime) is "C/libc".
    m = re.match(r"[<&\s*]*(?:dyn |mut |const )*([A-Za-z_][A-Za-z0-9_]*)::", name)
    crate = m.group(1) if m else "C/libc"
    # osconf check (--image and its readers) apart from the rest of osconf.
    if crate == "osconf":
        crate = "osconf::check" if re.match(r"[<&\s*]*osconf::check::", name) else "osconf (the rest)"
    by[crate] += size
for crate, size in by.most_common(int(sys.argv[1])):
    print(f"{size:>9} {size / 1024:8.1f} KiB  {crate}")
print(f"{total:>9} {total / 1024:8.1f} KiB  all symbols")
' "$TOP"
