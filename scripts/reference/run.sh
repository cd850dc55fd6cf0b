#!/usr/bin/env bash
# Regenerates the scipy.signal reference vectors under tests/data/ from a pinned venv.
# The vectors are committed; run this only to change or extend them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
for gen in "$here"/gen_*.py; do
    echo "running $(basename "$gen")"
    "$venv/bin/python" "$gen" "$here/../../tests/data"
done
