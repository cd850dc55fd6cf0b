"""Checks the C baselines against scipy and numpy on the same input.

    biquad: the first 65536 outputs of c/biquad.c (1 channel in both forms, 8 channels) against scipy's sosfilt
            in float64; error relative to the largest reference output, must be < 1e-4.
    STFT:   four frames of c/stft_fftw.c (0, 1, 1000, last) against numpy's FFT of the same
            windowed frames in float64; same measure, must be < 1e-4.
    pipeline: the C pipeline's band powers and detections against scipy_pipeline.py's, frame
            by frame. Reported, not failed on: the float32 100 Hz high-pass and borderline
            frames make a few detections differ. Frames before the median window fills
            (the first 255) are left out, because the two pad the start differently.

usage: verify.py VERIFY_DIR   (exit status 1 when a check fails)
"""

import os
import sys

import numpy as np
from scipy import ndimage, signal

import scipy_parts
import traceio as tio

LIMIT = 1e-4


def errors(got, ref):
    """(max absolute error, the same relative to the largest reference magnitude)"""
    err = float(np.max(np.abs(got - ref)))
    return err, err / float(np.max(np.abs(ref)))


def main():
    vdir = sys.argv[1]
    iq = tio.load_iq(tio.trace_path())
    failed = False

    def report(label, errs, limit=LIMIT):
        nonlocal failed
        abs_err, rel = errs
        ok = rel < limit
        failed |= not ok
        print(f"  {label:<34} max abs error {abs_err:.2e}, {rel:.2e} of the peak "
              f"(limit {limit:g})  {'ok' if ok else 'FAILED'}")

    sos = tio.lp_sos()
    c1 = np.fromfile(os.path.join(vdir, "biquad_1ch.f32"), dtype=np.float32)
    nv = c1.size
    ref1 = signal.sosfilt(sos, iq.real[:nv].astype(np.float64))
    report("C biquad 1 ch vs scipy sosfilt", errors(c1, ref1))
    plain = np.fromfile(os.path.join(vdir, "biquad_1ch_plain.f32"), dtype=np.float32)
    report("C biquad 1 ch textbook vs sosfilt", errors(plain, ref1))
    c8 = np.fromfile(os.path.join(vdir, "biquad_8ch.f32"), dtype=np.float32).reshape(nv, -1).T
    x8 = scipy_parts.eight_channels(iq)[:, :nv].astype(np.float64)
    report("C biquad 8 ch vs scipy sosfilt", errors(c8, signal.sosfilt(sos, x8, axis=-1)))

    for frame in (128, 256):
        hop = frame // 4
        got = np.fromfile(os.path.join(vdir, f"stft{frame}_frames.f32"), dtype=np.complex64)
        got = got.reshape(4, frame)
        frames = (iq.size - frame) // hop + 1
        win = signal.get_window("hann", frame)
        worst = (0.0, 0.0)
        for row, j in enumerate((0, 1, min(1000, frames // 2), frames - 1)):
            ref = np.fft.fft(win * iq[j * hop : j * hop + frame].astype(np.complex128))
            worst = max(worst, errors(got[row], ref), key=lambda e: e[1])
        report(f"C+FFTW STFT {frame} vs numpy fft", worst)

    c = np.fromfile(os.path.join(vdir, "pipeline_c.f32"), dtype=np.float32).reshape(-1, 3)
    s = np.fromfile(os.path.join(vdir, "pipeline_scipy.f32"), dtype=np.float32).reshape(-1, 3)
    if c.shape != s.shape:
        print(f"  pipeline: C has {c.shape[0]} frames, scipy {s.shape[0]}  FAILED")
        return 1
    real_failed = verify_real(vdir, iq)
    c, s = c[tio.MEDIAN_FRAMES - 1 :], s[tio.MEDIAN_FRAMES - 1 :]
    power_err = np.abs(c[:, :2] - s[:, :2]) / s[:, :2]
    differ = int(np.sum(c[:, 2] != s[:, 2]))
    print(f"  C vs scipy pipeline: band power relative error median {np.median(power_err):.1e}, "
          f"max {power_err.max():.1e}; detections C {int(c[:, 2].sum())}, "
          f"scipy {int(s[:, 2].sum())}, differing frames {differ} of {c.shape[0]}")
    if differ > 0.001 * c.shape[0]:
        print("  pipeline detections differ in more than 0.1 % of frames  FAILED")
        failed = True
    return 1 if failed or real_failed else 0


def verify_real(vdir, iq):
    """The one-real-channel C pipelines against the same stages in float64 numpy/scipy."""
    y = signal.sosfilt(tio.hp_sos(), iq.real.astype(np.float64))
    win = signal.get_window("hann", tio.FRAME)
    frames = np.lib.stride_tricks.sliding_window_view(y, tio.FRAME)[:: tio.HOP]
    power = np.zeros(frames.shape[0])
    for i in range(0, frames.shape[0], 65536):  # in blocks, to bound the memory
        spec = np.fft.rfft(frames[i : i + 65536] * win, axis=1)
        power[i : i + 65536] = (np.abs(spec[:, 1 : tio.FRAME // 2]) ** 2).sum(axis=1)
    median = ndimage.median_filter(power, size=tio.MEDIAN_FRAMES,
                                   origin=tio.MEDIAN_FRAMES // 2 - 1, mode="nearest")
    detect = power > 10 ** (tio.THRESHOLD_DB / 10) * median
    failed = False
    for name in ("pipeline_c_real", "pipeline_c_real_r2c"):
        c = np.fromfile(os.path.join(vdir, name + ".f32"), dtype=np.float32).reshape(-1, 2)
        if c.shape[0] != power.size:
            print(f"  {name}: {c.shape[0]} frames, numpy {power.size}  FAILED")
            failed = True
            continue
        skip = tio.MEDIAN_FRAMES - 1
        err = np.abs(c[skip:, 0] - power[skip:]) / power[skip:]
        differ = int(np.sum(c[skip:, 1] != detect[skip:]))
        print(f"  {name} vs numpy: power relative error median {np.median(err):.1e}, "
              f"max {err.max():.1e}; detections C {int(c[skip:, 1].sum())}, "
              f"numpy {int(detect[skip:].sum())}, differing frames {differ} of {err.size}")
        if differ > 0.001 * err.size:
            print("  detections differ in more than 0.1 % of frames  FAILED")
            failed = True
    return failed


if __name__ == "__main__":
    sys.exit(main())
