#!/usr/bin/env bash
# How far a refit of the classifier alone moves the tuning suite. For each seed the ten trees
# are fit again on data/train (`clotair train --seed`), compiled into a copy of the working
# tree (its model.rs is left alone), and the 32-h suite is scored (scripts/tune/run.sh). Any
# change to the detector's sightings needs a refit, so it must move the suite by more than
# these do to be told from the refit (the spread measured is in docs/quality-history.md).
#
#   scripts/tune/refits.sh [SEED...]     default 2026 1 2 3; about 2.5 min a seed on two cores
#
# OUT (default out/refits) holds each seed's eval folders; the copy builds in target/refits.
set -euo pipefail
cd "$(dirname "$0")/../.."

seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(2026 1 2 3)
for s in "${seeds[@]}"; do
    [[ "$s" =~ ^[0-9]+$ ]] || { echo "refits.sh: seed '$s' is not a whole number" >&2; exit 2; }
done
if [ ! -f data/train/sim0047.labels.csv ]; then
    echo "refits.sh: data/train is missing or incomplete; make it with" >&2
    echo "  cargo run --release -- simulate --out data/train --seed 1001 --count 48 --minutes 5 --preset dense" >&2
    exit 2
fi
OUT=${OUT:-out/refits}

# The binary that trains is the working tree's: the rows come from its own detector.
cargo build --release --locked --quiet
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
tar --exclude=./target --exclude=./data --exclude=./out --exclude=./.git -cf - . | tar -xf - -C "$copy"
export CARGO_TARGET_DIR="$PWD/target/refits"

for s in "${seeds[@]}"; do
    target/release/clotair train data/train --seed "$s" --out "$copy/src/detect/model.rs" >/dev/null
    cargo build --release --locked --quiet --manifest-path "$copy/Cargo.toml" --bin clotair
    echo "seed $s:"
    CLOTAIR="$CARGO_TARGET_DIR/release/clotair" OUT="$OUT/seed$s" scripts/tune/run.sh | sed 's/^/  /'
done
