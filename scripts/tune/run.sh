#!/usr/bin/env bash
# The tuning suite: 32 h of the realistic preset in seven sets of their own seeds (none of them
# data/eval's or data/holdout's). Detector and classifier changes are chosen on its summed
# figures, never on the held-out sets. Simulates the sets that are missing (about 5.4 GB in
# all, a minute on two cores), runs `clotair eval` on each, prints the sums.
#
#   scripts/tune/run.sh [EVAL OPTIONS...]      e.g. scripts/tune/run.sh --us-on-db 8
#
# CLOTAIR (default target/release/clotair, built here) picks another binary, OUT (default
# out/tune-suite) where the events and eval.json files go. ULTRASOUND_GAIN_DB=G records the
# same plans through a receiver with G dB more gain (`simulate --ultrasound-gain-db`), under
# data/gainG/ (e.g. 10: the blood 16–24 dB under full scale, haematocrit changes clip; -15:
# only slugs clip).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${CLOTAIR:-}" ]; then
    cargo build --release --locked --quiet
    CLOTAIR=target/release/clotair
fi
OUT=${OUT:-out/tune-suite}
GAIN_DB=${ULTRASOUND_GAIN_DB:-0}

# name:seed:recordings (5 min each)
SETS="tune:3003:12 tune2:3005:12 tune3:3007:48 tune4:3009:24 tune5:3011:96 tune6:3013:96 tune7:3015:96"

dirs=()
for set in $SETS; do
    IFS=: read -r name seed count <<<"$set"
    data="data/$name"
    [ "$GAIN_DB" = 0 ] || data="data/gain$GAIN_DB/$name"
    last=$(printf '%s/sim%04d.labels.csv' "$data" $((count - 1)))
    if [ ! -f "$last" ]; then
        "$CLOTAIR" simulate --out "$data" --seed "$seed" --count "$count" --minutes 5 \
            --preset realistic --ultrasound-gain-db="$GAIN_DB" >&2
    fi
    "$CLOTAIR" eval "$data" --quiet --out "$OUT/$name" "$@" >/dev/null
    dirs+=("$OUT/$name")
done
python3 scripts/tune/sum.py "${dirs[@]}"
