"""scipy building blocks alone, on the same trace as the C baselines:

    sosfilt, order-8 Butterworth low-pass at 2 kHz (4 sections), on 1 channel (I) and on
    8 channels (I, Q, each shifted by 0, 1000, 2000, 3000 samples, like c/biquad.c);
    STFT frames/s with frame 128 hop 32 and frame 256 hop 64, complex input, Hann:
    signal.stft (strided, vectorised) on the whole trace and signal.ShortTimeFFT on one minute
    of it (its stft runs a Python-level loop per frame and takes minutes on the whole trace).

usage: scipy_parts.py RESULTS.jsonl REPS
"""

import sys

import numpy as np
from scipy import signal

import bench
import traceio as tio

NCH = 8


def eight_channels(iq):
    """Channel c: I (c even) or Q (c odd), circularly shifted by (c // 2) * 1000 samples."""
    parts = [iq.real, iq.imag]
    return np.stack([np.roll(parts[c % 2], -((c // 2) * 1000)) for c in range(NCH)])


def main():
    results, reps = sys.argv[1], int(sys.argv[2])
    iq = tio.load_iq(tio.trace_path())
    n = iq.size
    sos = tio.lp_sos()

    x1 = np.ascontiguousarray(iq.real)
    best, _ = bench.best_of(lambda: signal.sosfilt(sos, x1), reps)
    bench.put_result(results, "scipy_sosfilt_1ch", "scipy sosfilt, 1 ch",
                     "LP order 8 (4 sections), f32 in, f64 maths", n, 0, 1, best)

    x8 = eight_channels(iq)
    best, _ = bench.best_of(lambda: signal.sosfilt(sos, x8, axis=-1), reps)
    bench.put_result(results, "scipy_sosfilt_8ch", "scipy sosfilt, 8 ch",
                     "LP order 8, 8 channels as rows of one array", NCH * n, 0, NCH, best)
    del x8

    minute = iq[: 60 * tio.RATE_HZ]
    for frame in (128, 256):
        hop = frame // 4

        def run(x=iq, frame=frame, hop=hop):
            return signal.stft(x, window="hann", nperseg=frame, noverlap=frame - hop,
                               return_onesided=False, boundary=None, padded=False,
                               detrend=False)[2]

        best, z = bench.best_of(run, reps)
        frames = z.shape[1]
        bench.put_result(results, f"scipy_stft{frame}", f"scipy stft {frame}",
                         f"signal.stft Hann, frame {frame} hop {hop}, complex, two-sided",
                         frames * hop, frames, 1, best, frame=frame, hop=hop, frames=frames)
        del z

        sft = signal.ShortTimeFFT(signal.get_window("hann", frame), hop=hop, fs=tio.RATE_HZ,
                                  fft_mode="twosided")
        best, z = bench.best_of(lambda sft=sft: sft.stft(minute), reps)
        frames = z.shape[1]
        bench.put_result(results, f"scipy_shorttimefft{frame}", f"scipy ShortTimeFFT {frame}",
                         f"ShortTimeFFT.stft Hann, frame {frame} hop {hop}, 1 min of the trace",
                         frames * hop, frames, 1, best, frame=frame, hop=hop, frames=frames)


if __name__ == "__main__":
    main()
