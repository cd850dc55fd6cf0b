#!/usr/bin/env bash
# Where the firmware's instructions go: builds and checks the firmware with scripts/firmware.sh
# (same settings: FIRMWARE_RECORDING, FIRMWARE_SECONDS, default 3 here), runs it once more
# under QEMU logging every block executed, and prints the instructions by function and by
# source line (scripts/firmware_profile.py). The log is ~200 MB per second of 16 kHz signal
# and is deleted afterwards. Needs llvm-addr2line (Debian: llvm).
set -euo pipefail
cd "$(dirname "$0")/.."
export FIRMWARE_SECONDS=${FIRMWARE_SECONDS:-3}
command -v llvm-addr2line >/dev/null || { echo "llvm-addr2line not found (apt-get install llvm)" >&2; exit 1; }
scripts/firmware.sh >/dev/null
ELF=examples/firmware-m4/target/thumbv7em-none-eabihf/release/clotair-firmware-m4
LOG=$(mktemp /tmp/clotair-fwprof.XXXXXX)
trap 'rm -f "$LOG"' EXIT
timeout 900 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
    -serial none -semihosting-config enable=on,target=native -icount shift=0 \
    -d exec,nochain,in_asm -D "$LOG" -kernel "$ELF" >/dev/null
echo "== by function ($FIRMWARE_SECONDS s of ${FIRMWARE_RECORDING:-the first regression recording})"
python3 scripts/firmware_profile.py "$LOG" "$ELF" --by function --top 25
echo "== by source line"
python3 scripts/firmware_profile.py "$LOG" "$ELF" --by line --top 25
