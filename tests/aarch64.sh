#!/usr/bin/env bash
# The aarch64 build under test on an x86_64 machine: the tests that need no
# kernel feature (parsing, plan, apply on temp trees, golden files, hostile
# drops, crash consistency, locks, labels, the metadata client on loopback) cross-built for
# aarch64 with Debian's toolchain and run by qemu-aarch64-static, then the
# golden files and the CLI tests again through the release binary the arm64
# packages ship. Network namespaces, loop devices and mounts stay with the
# x86_64 run (cargo test) and the QEMU images (tests/vm).
# Needs tests/install-deps.sh's cross toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu
# Debian's rustc/cargo carry the aarch64 std (rustup here has only x86_64's).
cross_cargo() { RUSTC=/usr/bin/rustc /usr/bin/cargo "$1" --locked --target "$TARGET" "${@:2}"; }
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
# The tests start the osconf binary themselves: through the same emulator.
export OSCONF_TEST_RUNNER=qemu-aarch64-static
# Every test target but those built on namespaces, loop devices and mounts
# (a new test file runs here unless it is named below).
KERNEL_TESTS=" netns_live sources_media init_script "
TESTS=(--lib --bins)
for f in tests/*.rs; do
  n=$(basename "$f" .rs)
  [[ $KERNEL_TESTS == *" $n "* ]] || TESTS+=(--test "$n")
done
# Single tests of the others that need a kernel feature (tmpfs and mount
# namespaces, network and UTS namespaces), trace syscalls (strace would
# trace qemu), start their own test binary again (no binfmt_misc handler is
# assumed) or read /proc/self/mem (qemu's memory, not the guest's): the
# x86_64 run proves them, and the readers' 8 MiB and 300 000-bracket inputs
# too (minutes under emulation, where their outcome cannot differ).
SKIP=(--skip a_full_disk_keeps_the_old_files --skip an_apply_syncs_the_same_number_of_times
  --skip the_unit_runs_after_sysusers_and_firstboot --skip a_huge_nic_wait_is_a_clear_error
  --skip ifquery_sees_lo_still_auto --skip every_command_forbids_core_dumps_before_it_reads_the_drop
  --skip after_the_call_the_process_is_not_dumpable --skip no_copy_of_the_password_is_left_in_memory
  --skip is_never_freed_unwiped --skip huge_and_deeply_nested_inputs_end
  --skip btrfs_root_is_read_through_a_private_mount_as_root_only)
# One test at a time: qemu-user (7.2) can leave a child forked from a
# process with several busy threads stuck before its exec (seen with two
# tests each starting osconf while the other's stand-in server ran).
SERIAL=(--test-threads=1)

# 500 random cases per parser property (2000 in the x86_64 run), 25 per
# image reader and property (100) and 10 s of fuzzing (20): emulated, each
# costs ~10x.
PROPTEST_CASES=500 OSCONF_READER_CASES=25 OSCONF_FUZZ_SECONDS=10 cross_cargo test -q "${TESTS[@]}" -- "${SKIP[@]}" "${SERIAL[@]}"
cross_cargo build --release -q
BIN=target/$TARGET/release/osconf
file -b "$BIN" | grep -q 'ARM aarch64' || { echo "$BIN is not an aarch64 binary" >&2; exit 1; }
OSCONF_TEST_BIN=$PWD/$BIN cross_cargo test -q --test golden_apply --test cli_apply -- "${SERIAL[@]}"
echo "aarch64: all passed under qemu-aarch64-static"
