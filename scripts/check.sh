#!/usr/bin/env bash
# The one test command: everything CI checks, runnable on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }

step "toolchain"
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

step "format"
cargo fmt --all -- --check

step "clippy (std, all targets)"
cargo clippy --all-targets --locked -- -D warnings

step "clippy (no_std core for Cortex-M4F)"
cargo clippy --lib --locked --no-default-features --target thumbv7em-none-eabihf -- -D warnings

step "no_std build for thumbv7em-none-eabihf"
cargo build --lib --locked --no-default-features --target thumbv7em-none-eabihf

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
else
    cargo test --locked --no-fail-fast --all-targets
fi
cargo test --locked --doc

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps

step "HTML report in headless Chromium"
scripts/report_check.sh

if [ -x scripts/firmware.sh ]; then
    step "firmware under QEMU"
    # 22 s of sim0000: both sensors, and a slug followed through the optical beam; of sim0005:
    # the ultrasound alone, and a slug followed through its beam.
    # The `clotair detect` reference is the dev build the tests step made (same events as the
    # release build, which would cost two more minutes to compile).
    export FIRMWARE_CLI_PROFILE=dev
    FIRMWARE_SECONDS=22 scripts/firmware.sh
    FIRMWARE_RECORDING=data/regression/sim0005 FIRMWARE_SECONDS=22 scripts/firmware.sh
fi

step "all checks passed"
