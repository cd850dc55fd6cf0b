#!/usr/bin/env bash
# Outside baselines for clotair's speed: a scipy.signal pipeline and careful C (+ FFTW), all on
# one trace, printed as one table and written to work/baselines.json. See README.md.
#
#   scripts/compare/run.sh                       # the seeded 10 min test trace
#   scripts/compare/run.sh rec.ultrasound.wav    # a 2-channel I/Q recording instead
#   TRACE_WAV=rec.ultrasound.wav scripts/compare/run.sh          # the same
#   REPS=5 TRACE_MINUTES=10                      # best of REPS timed runs after one warm-up
set -euo pipefail
if [ $# -gt 0 ]; then
    TRACE_WAV="$1"
fi
if [ -n "${TRACE_WAV:-}" ]; then
    [ -f "$TRACE_WAV" ] || { echo "no such file: $TRACE_WAV" >&2; exit 1; }
    TRACE_WAV="$(realpath "$TRACE_WAV")"
    export TRACE_WAV
fi
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
work="$here/work"
build="$here/build"
venv="$here/.venv"
reps="${REPS:-5}"
export REPS="$reps"

step() { printf '\n== %s\n' "$*"; }

need_apt=()
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
[ -f /usr/include/fftw3.h ] || need_apt+=(libfftw3-dev)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    step "installing ${need_apt[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ] || ! cmp -s requirements.txt "$venv/requirements.installed"; then
    step "python venv (numpy, scipy)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt "$venv/requirements.installed"
fi
py="$venv/bin/python"
# numpy/scipy timing only: let OpenBLAS pick its own kernels (these change no result).
py_timed=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py")

step "building the C baselines (gcc -O3 -march=native)"
mkdir -p "$build" "$work"
cflags=(-O3 -march=native -Wall -Wextra -std=gnu11)
gcc "${cflags[@]}" -o "$build/biquad" c/biquad.c
gcc "${cflags[@]}" -o "$build/stft_fftw" c/stft_fftw.c -lfftw3f -lm
gcc "${cflags[@]}" -o "$build/pipeline" c/pipeline.c -lfftw3f -lm

step "trace"
"$py" traceio.py
trace="$("$py" -c 'import traceio; print(traceio.trace_path())')"
threshold_db="$("$py" -c 'import traceio; print(traceio.THRESHOLD_DB)')"

results="$work/results.jsonl"
rm -f "$results"
step "C biquad cascade"
"$build/biquad" "$trace" "$work/sos_lp8.txt" "$results" "$work" "$reps"
step "C + FFTW STFT"
"$build/stft_fftw" "$trace" "$results" "$work" "$reps"
step "C + FFTW pipeline"
"$build/pipeline" "$trace" "$work/sos_hp4.txt" "$results" "$work" "$reps" "$threshold_db"
step "scipy sosfilt and STFT"
"${py_timed[@]}" scipy_parts.py "$results" "$reps"
step "scipy pipeline"
"${py_timed[@]}" scipy_pipeline.py "$results" "$work" "$reps"

step "clotair (Rust): the same work on the same trace, examples/compare_rust.rs"
# Built for AVX2 + FMA (-C target-cpu=x86-64-v3) where the CPU has them, as the C gets
# -march=native, in its own target dir so the usual build is untouched. Not target-cpu=native:
# on this AVX-512 EPYC, LLVM then packs pairs of 8-lane biquad updates into 16-lane registers
# with shuffles on the recurrence, and SosStateMulti<8> ran at 0.81 G samples/s against 1.72 G
# with x86-64-v3 (measured, benches/stages.rs). RUST_NATIVE=0 times the portable build instead.
# NO_RUST=1 skips clotair.
rust_json="$work/rust.json"
if [ "${NO_RUST:-0}" = 1 ]; then
    echo "skipped (NO_RUST=1)"
elif command -v cargo >/dev/null 2>&1; then
    root="$(cd "$here/../.." && pwd)"
    rm -f "$rust_json"
    if [ "${RUST_NATIVE:-1}" = 1 ] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
        rust_target="$root/target/v3"
        rust_flags="${RUSTFLAGS:-} -C target-cpu=x86-64-v3"
    else
        rust_target="${CARGO_TARGET_DIR:-$root/target}"
        rust_flags="${RUSTFLAGS:-}"
    fi
    (cd "$root" && RUSTFLAGS="$rust_flags" CARGO_TARGET_DIR="$rust_target" \
        cargo build --release --quiet --example compare_rust)
    THRESHOLD_DB="$threshold_db" "$rust_target/release/examples/compare_rust" "$work" "$trace" "$reps"
else
    echo "cargo not found: clotair ratios n/a (https://rustup.rs)"
fi

step "checking the C against scipy and numpy"
verify_status=0
"$py" verify.py "$work" || verify_status=$?

step "throughput (best of $reps after a warm-up; $(nproc) cores, $(uptime | sed 's/.*load average/load average/'))"
"$py" report.py "$results" "$work/baselines.json" "$work/rust.json"
if [ "$verify_status" -ne 0 ]; then
    echo "verification FAILED: the C figures above are not to be trusted" >&2
    exit "$verify_status"
fi
