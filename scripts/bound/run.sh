#!/usr/bin/env bash
# The ideal-observer bound of a labelled data set: how many of its detectable emboli any
# detector could find at a given false-alarm rate (see bound.py). Usage:
#   scripts/bound/run.sh DATASET_DIR [DATASET_DIR ...] [--fa-per-hour 1] [--eval-json DIR/eval.json ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
exec "$venv/bin/python" "$here/bound.py" "$@"
