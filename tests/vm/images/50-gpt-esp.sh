# GPT, partition 1 the EFI system partition (FAT32) mounted at /boot/efi,
# as UEFI images have it: osconf reads the drop where it is mounted.
image gpt-esp --rootfs systemd --p1 esp --mount-p1 /boot/efi --args "net.ifnames=0" --scenarios "vpc reboot"
