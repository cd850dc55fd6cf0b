#!/usr/bin/env bash
# Checks the HTML report of `clotair detect --report` in a real browser: installs Chromium
# (Debian's package) when it is missing, then runs tests/report.rs, whose browser half is
# skipped without it. scripts/check.sh runs it (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "chromium is not installed; run as root to install it, or: sudo apt-get install -y chromium" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

cargo test --locked --test report -- --nocapture
