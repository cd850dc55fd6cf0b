"""The detector front end done the scipy way, end to end on the trace:

    high-pass (Butterworth order 4, 100 Hz, sosfilt on the complex I + jQ),
    STFT (Hann, frame 128, hop 32, two-sided, frames fully inside the signal),
    forward and reverse band powers (sum of |X|^2 over bins 1..63 and 65..127),
    running median of each band over the last 256 frames (ndimage.median_filter, causal),
    detection: a band over its median by THRESHOLD_DB.

Written as a scipy user would write it: float64 filter design, default dtypes, whole arrays.
Times it with and without reading the trace file, and saves the band powers and detections of
one run for verify.py.

usage: scipy_pipeline.py RESULTS.jsonl VERIFY_DIR REPS
"""

import os
import sys

import numpy as np
from scipy import ndimage, signal

import bench
import traceio as tio


def front_end(iq, sos, threshold):
    y = signal.sosfilt(sos, iq)
    _, _, z = signal.stft(y, window="hann", nperseg=tio.FRAME, noverlap=tio.FRAME - tio.HOP,
                          return_onesided=False, boundary=None, padded=False, detrend=False)
    power = np.abs(z) ** 2  # (bins, frames)
    half = tio.FRAME // 2
    bands = np.stack([power[1:half].sum(axis=0), power[half + 1 :].sum(axis=0)])
    # Causal window: origin (size // 2 - 1) puts frames i-255..i under output i.
    median = ndimage.median_filter(bands, size=(1, tio.MEDIAN_FRAMES),
                                   origin=(0, tio.MEDIAN_FRAMES // 2 - 1), mode="nearest")
    detect = (bands > threshold * median).any(axis=0)
    return bands, detect


def main():
    results, vdir, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sos = tio.hp_sos()
    threshold = 10 ** (tio.THRESHOLD_DB / 10)

    front_end(tio.load_iq()[: 16 * tio.RATE_HZ], sos, threshold)  # warm-up
    best_all, best_compute = bench.Best(), bench.Best()
    for _ in range(reps):
        read_started = best_all.start()
        iq = tio.load_iq()
        compute_started = best_compute.start()
        bands, detect = front_end(iq, sos, threshold)
        best_compute.stop(compute_started)
        best_all.stop(read_started)
        del iq

    n, frames = tio.load_iq().size, bands.shape[1]
    # stft scales by 1 / sum(window); the C pipeline does not. Undo it for the comparison.
    window_sum = signal.get_window("hann", tio.FRAME).sum()
    out = np.empty((frames, 3), dtype=np.float32)
    out[:, 0], out[:, 1] = bands * window_sum**2
    out[:, 2] = detect
    out.tofile(os.path.join(vdir, "pipeline_scipy.f32"))

    what = "sosfilt HP4 complex; stft 128/32; fwd/rev power; median_filter 256; detect"
    extra = dict(frames=int(frames), detections=int(detect.sum()))
    bench.put_result(results, "scipy_pipeline", "scipy pipeline", what, n, frames, 1,
                     best_compute, **extra)
    bench.put_result(results, "scipy_pipeline_read", "scipy pipeline + read",
                     "the same, reading the trace file included", n, frames, 1, best_all, **extra)
    print(f"  {frames} frames, {int(detect.sum())} detections")


if __name__ == "__main__":
    main()
