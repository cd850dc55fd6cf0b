"""Turns the result lines of the baselines into work/baselines.json and the table on stdout,
with the clotair ratio from work/rust.json where that file exists.

usage: report.py RESULTS.jsonl BASELINES.json RUST.json
"""

import json
import os
import platform
import sys

import traceio

RATE_HZ = 16000

# Which rust.json figure each baseline row is compared with, and in which unit.
RUST_KEY = {
    "scipy_sosfilt_1ch": "biquad_1ch_samples_per_s",
    "c_biquad_1ch": "biquad_1ch_samples_per_s",
    "c_biquad_1ch_plain": "biquad_1ch_samples_per_s",
    "scipy_sosfilt_8ch": "biquad_8ch_samples_per_s",
    "c_biquad_8ch": "biquad_8ch_samples_per_s",
    "scipy_stft128": "stft128_frames_per_s",
    "scipy_shorttimefft128": "stft128_frames_per_s",
    "c_fftw_stft128": "stft128_frames_per_s",
    "scipy_stft256": "stft256_frames_per_s",
    "scipy_shorttimefft256": "stft256_frames_per_s",
    "c_fftw_stft256": "stft256_frames_per_s",
    "scipy_pipeline": "pipeline_samples_per_s",
    "c_fftw_pipeline": "pipeline_samples_per_s",
    "scipy_pipeline_read": "pipeline_read_samples_per_s",
    "c_fftw_pipeline_real": "pipeline_real_samples_per_s",
    "c_fftw_pipeline_real_r2c": "pipeline_real_samples_per_s",
}
ORDER = [
    "scipy_pipeline_read", "scipy_pipeline", "c_fftw_pipeline", "c_fftw_pipeline_real",
    "c_fftw_pipeline_real_r2c",
    "scipy_sosfilt_1ch", "c_biquad_1ch", "c_biquad_1ch_plain", "scipy_sosfilt_8ch", "c_biquad_8ch",
    "scipy_stft128", "scipy_shorttimefft128", "c_fftw_stft128",
    "scipy_stft256", "scipy_shorttimefft256", "c_fftw_stft256",
]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# clotair's own rows (rust.json keys without a baseline of the same work), as x real time.
RUST_ROWS = [
    ("frontend_iq_samples_per_s", "clotair front end from its primitives, I/Q (same stages as the C)"),
    ("pipeline_samples_per_s", "clotair Detector, ultrasound only, in memory"),
    ("pipeline_read_samples_per_s", "the same, reading the trace file"),
    ("detector_x_real_time", "whole detector, simulated 16 kHz I/Q + 1 kHz x2 optical, in memory"),
    ("detector_read_x_real_time", "the same from 16-bit WAVs, reading included"),
    ("detector_read_1thread_wall_x_real_time", "the same, wall time"),
    ("detector_read_2threads_wall_x_real_time", "two recordings on two threads (batch), wall time"),
]


def print_rust(rust, baselines):
    print("\nclotair (rust.json; CPU time unless it says wall)")
    rows = []
    for key, what in RUST_ROWS:
        v = rust.get(key)
        if v is None:
            continue
        x = v if key.endswith("x_real_time") else v / RATE_HZ
        rows.append((what, f"{x:,.0f}x real time"))
    one = rust.get("detector_read_1thread_wall_x_real_time")
    two = rust.get("detector_read_2threads_wall_x_real_time")
    if one and two:
        rows.append(("two threads over one (batch speed-up)", f"{two / one:.2f}x"))
    scipy = baselines.get("scipy_pipeline_read", {}).get("samples_per_s")
    whole = rust.get("detector_read_x_real_time")
    if scipy and whole:
        rows.append(("whole detector incl. reading over the scipy front end incl. reading",
                     f"{whole * RATE_HZ / scipy:.1f}x"))
    w = max(len(r[0]) for r in rows) if rows else 0
    for what, value in rows:
        print(f"  {what.ljust(w)}  {value:>20}")


def main():
    results_path, out_path, rust_path = sys.argv[1:4]
    rows = {}
    with open(results_path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[row["key"]] = row
    rust = {}
    if os.path.exists(rust_path):
        with open(rust_path) as f:
            rust = json.load(f)

    baselines = {}
    for key in sorted(rows, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        row = rows[key]
        row["x_real_time"] = row["samples_per_s"] / row["channels"] / RATE_HZ
        row["rust_key"] = RUST_KEY.get(key)
        baselines[key] = row
    with open(out_path, "w") as f:
        trace = traceio.trace_path()
        json.dump({"rate_hz": RATE_HZ, "cpu": cpu_name(), "cores": os.cpu_count(),
                   "reps": int(os.environ.get("REPS", "5")),
                   "trace": {"file": os.path.basename(trace),
                             "from_wav": os.environ.get("TRACE_WAV") or None,
                             "complex_samples": os.path.getsize(trace) // 8},
                   "baselines": baselines}, f, indent=2)
        f.write("\n")

    header = ("baseline", "what", "samples/s", "frames/s", "x real time", "clotair ratio")
    lines = []
    for key, row in baselines.items():
        rust_value = rust.get(row["rust_key"]) if row["rust_key"] else None
        unit = "frames_per_s" if row["rust_key"] and row["rust_key"].endswith("frames_per_s") \
            else "samples_per_s"
        ratio = f"{rust_value / row[unit]:.2f}x" if rust_value and row[unit] else "n/a"
        frames = f"{row['frames_per_s']:.3g}" if row.get("frames_per_s") else "-"
        lines.append((row["name"], row["what"], f"{row['samples_per_s']:.3g}", frames,
                      f"{row['x_real_time']:,.0f}", ratio))
    widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def fmt(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in lines:
        print(fmt(r))
    print(f"\nRates per second of process CPU time, fastest run of each (wall-clock rates are in "
          f"{os.path.basename(out_path)}).\n"
          f"x real time: samples/s per channel over {RATE_HZ} Hz; one complex I/Q sample "
          "counts as one sample.\n"
          "clotair ratio: clotair's figure over the baseline's (frames/s for the STFT rows, "
          "samples/s otherwise); above 1 clotair is faster.")
    if not rust:
        print(f"clotair figures: {rust_path} not found, ratios n/a.")
    else:
        print_rust(rust, baselines)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
