#!/usr/bin/env bash
# The twenty-five held-out sets (50 h of the realistic preset, seeds in data/README.md), scored as
# the README's "Where it stands" reports them: one row per set, then `clotair eval` over all
# of them at once (the pooled figures, with their 95 % intervals). Simulates the sets that
# are missing (about 5 GB in all, a few minutes on two cores).
#
#   scripts/heldout/run.sh [EVAL OPTIONS...]
#
# Decisions are made on the tuning suite (scripts/tune/run.sh), never on these sets: this
# script reports, it does not tune. CLOTAIR (default target/release/clotair, built here) picks
# another binary, OUT (default out/heldout) where the events and eval.json files go.
# ULTRASOUND_GAIN_DB=G records the same plans through a receiver with G dB more gain
# (`simulate --ultrasound-gain-db`), under data/gainG/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${CLOTAIR:-}" ]; then
    cargo build --release --locked --quiet
    CLOTAIR=target/release/clotair
fi
OUT=${OUT:-out/heldout}
GAIN_DB=${ULTRASOUND_GAIN_DB:-0}

# name:seed, 24 recordings of 5 min each (data/README.md)
SETS="eval:2002 holdout:4004 holdout2:6006 holdout3:7007 holdout4:8008 holdout5:9009
holdout6:10010 holdout7:11011 holdout8:12012 holdout9:13013 holdout10:14014 holdout11:15015
holdout12:16016 holdout13:17017 holdout14:18018 holdout15:19019
holdout16:20020 holdout17:21021 holdout18:22022 holdout19:23023 holdout20:24024
holdout21:25025 holdout22:26026 holdout23:27027 holdout24:28028"

pool="$OUT/pool-data"
rm -rf "$pool"
mkdir -p "$pool"
dirs=()
for set in $SETS; do
    IFS=: read -r name seed <<<"$set"
    data="data/$name"
    [ "$GAIN_DB" = 0 ] || data="data/gain$GAIN_DB/$name"
    if [ ! -f "$data/sim0023.labels.csv" ]; then
        "$CLOTAIR" simulate --out "$data" --seed "$seed" --count 24 --minutes 5 \
            --preset realistic --ultrasound-gain-db="$GAIN_DB" >&2
    fi
    "$CLOTAIR" eval "$data" --quiet --out "$OUT/$name" "$@" >/dev/null
    dirs+=("$OUT/$name:$seed")
    for f in "$data"/sim*; do
        ln -s "$PWD/$f" "$pool/${name}_$(basename "$f")"
    done
done
python3 scripts/heldout/rows.py "${dirs[@]}"
echo
echo "all twenty-five sets at once:"
"$CLOTAIR" eval "$pool" --quiet --out "$OUT/pool" "$@"
