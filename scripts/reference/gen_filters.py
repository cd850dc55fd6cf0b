"""Reference vectors for the filter primitives (src/dsp/{biquad,butterworth,smoother,decimate}.rs).

Usage: gen_filters.py OUT_DIR   (run through run.sh: numpy 2.1.3, scipy 1.14.1)

Writes, all small JSON:
  filters_butter.json    scipy.signal.butter(..., output='sos') over a grid of orders, band types,
                         cut-offs and rates, with |H| at a few frequencies (sosfreqz).
  filters_sosfilt.json   sosfilt outputs on seeded white noise and a chirp, for a subset of the
                         grid: on the f32-rounded coefficients (what the Rust kernel runs) and on
                         scipy's f64 coefficients (design + kernel end to end); one complex I/Q case.
  filters_smoother.json  one-pole smoother and DC blocker vs lfilter.
  filters_decimate.json  sosfilt(butter(8, 0.8 * fs / (2 q)), x)[::q].
  filters_trend.json     numpy.polyfit(t, y, 1) over a sliding window of past samples, ending
                         a guard gap before the newest, evaluated at the newest (level) and its
                         slope: the optical path's local line predictor (src/dsp/trend.rs).

Every input signal and every coefficient the Rust side feeds in is rounded to float32 here
first, so both sides start from identical numbers; references are computed in float64.
"""

import json
import os
import sys

import numpy as np
from scipy import signal

RATES_HZ = [250.0, 1000.0, 8000.0, 44100.0, 96000.0]
# cut-offs as fractions of fs: from near DC (hard for f32) to near Nyquist
LH_FRACS = [0.002, 0.01, 0.05, 0.2, 0.45]
BAND_FRACS = [(0.004, 0.02), (0.02, 0.1), (0.1, 0.3), (0.2, 0.24), (0.05, 0.45)]
BTYPES = ["lowpass", "highpass", "bandpass", "bandstop"]
N_SIGNAL = 256
SEED = 20261125


def f32(v):
    """Round to the nearest float32, returned as a Python float (exact in JSON round-trip)."""
    return float(np.float32(v))


def f32list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32)]


def g10(a):
    """Reference outputs: 10 significant digits is far below any f32 tolerance."""
    return [float("%.10g" % v) for v in np.asarray(a, dtype=np.float64)]


def edges_hz(btype, fs, i):
    if btype in ("lowpass", "highpass"):
        return [f32(LH_FRACS[i % len(LH_FRACS)] * fs)]
    lo, hi = BAND_FRACS[i % len(BAND_FRACS)]
    return [f32(lo * fs), f32(hi * fs)]


def probe_freqs(edges, fs):
    """A few frequencies around the band edges, inside (0, fs/2)."""
    fr = {0.0, f32(0.49 * fs)}
    for e in edges:
        for m in (0.5, 0.9, 1.0, 1.1, 2.0):
            f = e * m
            if 0.0 < f < fs / 2:
                fr.add(f32(f))
    if len(edges) == 2:
        fr.add(f32(np.sqrt(edges[0] * edges[1])))
    return sorted(fr)


def design_grid():
    designs = []
    for order in range(1, 9):
        for bi, btype in enumerate(BTYPES):
            for i in range(5):
                fs = RATES_HZ[(order + bi + i) % len(RATES_HZ)]
                edges = edges_hz(btype, fs, i + order)
                wn = edges[0] if len(edges) == 1 else edges
                sos = signal.butter(order, wn, btype, fs=fs, output="sos")
                freqs = probe_freqs(edges, fs)
                _, h = signal.sosfreqz(sos, worN=np.array(freqs), fs=fs)
                designs.append(
                    {
                        "order": order,
                        "btype": btype,
                        "edges_hz": edges,
                        "fs_hz": fs,
                        "sos": [list(map(float, s)) for s in sos],
                        "freqs_hz": freqs,
                        "mag": [float(v) for v in np.abs(h)],
                    }
                )
    return designs


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    noise = rng.standard_normal(N_SIGNAL).astype(np.float32)
    t = np.arange(N_SIGNAL) / N_SIGNAL
    # unit-amplitude linear chirp from near DC to near Nyquist (in cycles per sample)
    chirp = signal.chirp(t, f0=0.001 * N_SIGNAL, t1=1.0, f1=0.45 * N_SIGNAL).astype(np.float32)

    designs = design_grid()
    write(out_dir, "filters_butter.json", {"designs": designs})

    # sosfilt subset: every order and band type once, across rates and cut-offs
    cases = []
    for d in designs[::5][:32:3] + [designs[-1], designs[-8]]:
        sos64 = np.array(d["sos"])
        sos32 = sos64.astype(np.float32).astype(np.float64)
        cases.append(
            {
                "order": d["order"],
                "btype": d["btype"],
                "edges_hz": d["edges_hz"],
                "fs_hz": d["fs_hz"],
                "sos_f32": [list(map(float, s)) for s in sos32],
                "y_noise": g10(signal.sosfilt(sos32, noise.astype(np.float64))),
                "y_chirp": g10(signal.sosfilt(sos32, chirp.astype(np.float64))),
                "y_noise_designed": g10(signal.sosfilt(sos64, noise.astype(np.float64))),
            }
        )
    iq = (noise + 1j * rng.standard_normal(N_SIGNAL).astype(np.float32)).astype(np.complex64)
    iq_sos = np.array(cases[1]["sos_f32"])
    y_iq = signal.sosfilt(iq_sos, iq.astype(np.complex128))
    write(
        out_dir,
        "filters_sosfilt.json",
        {
            "x_noise": f32list(noise),
            "x_chirp": f32list(chirp),
            "cases": cases,
            "iq": {
                "sos_f32": [list(map(float, s)) for s in iq_sos],
                "x_re": f32list(iq.real),
                "x_im": f32list(iq.imag),
                "y_re": g10(y_iq.real),
                "y_im": g10(y_iq.imag),
            },
        },
    )

    # one-pole smoother y = a x + (1 - a) y1, a = 1 - exp(-1 / (tau fs))
    one_pole = []
    for tau_s, fs in [(0.001, 1000.0), (0.01, 250.0), (0.05, 8000.0), (1.0, 96000.0), (2e-5, 44100.0)]:
        a = -np.expm1(-1.0 / (tau_s * fs))
        a32 = f32(a)
        y = signal.lfilter([a32], [1.0, a32 - 1.0], noise.astype(np.float64))
        one_pole.append({"tau_s": f32(tau_s), "fs_hz": fs, "a": float(a), "y_noise": g10(y)})
    # DC blocker y = x - x1 + r y1 with |H(fc)| = 1/sqrt(2): r = c - sqrt((1 - c)(3 - c))
    dc = []
    for fc, fs in [(0.5, 250.0), (5.0, 1000.0), (20.0, 8000.0), (10.0, 96000.0), (100.0, 1000.0)]:
        fc = f32(fc)
        c = np.cos(2 * np.pi * fc / fs)
        r = c - np.sqrt((1 - c) * (3 - c))
        _, h = signal.freqz([1.0, -1.0], [1.0, -r], worN=[fc], fs=fs)
        assert abs(abs(h[0]) - np.sqrt(0.5)) < 1e-9
        r32 = f32(r)
        offset = noise.astype(np.float64) + 3.0  # a DC offset to remove
        y = signal.lfilter([1.0, -1.0], [1.0, -r32], offset)
        dc.append({"cutoff_hz": fc, "fs_hz": fs, "r": float(r), "x_offset": 3.0, "y_noise": g10(y)})
    write(out_dir, "filters_smoother.json", {"x_noise": f32list(noise), "one_pole": one_pole, "dc_blocker": dc})

    # decimator: Butterworth order 8 at 0.8 x the new Nyquist, computed in f32 as the Rust side
    long_noise = rng.standard_normal(4 * N_SIGNAL).astype(np.float32)
    dec = []
    for q, fs in [(2, 1000.0), (3, 250.0), (4, 8000.0), (8, 96000.0), (10, 44100.0), (16, 96000.0), (64, 96000.0)]:
        cutoff = np.float32(0.8) * np.float32(fs) / np.float32(2.0 * q)
        sos = signal.butter(8, float(cutoff), "lowpass", fs=fs, output="sos")
        y = signal.sosfilt(sos, long_noise.astype(np.float64))[::q]
        dec.append(
            {
                "factor": q,
                "fs_hz": fs,
                "cutoff_hz": float(cutoff),
                "sos": [list(map(float, s)) for s in sos],
                "y": g10(y),
            }
        )
    write(out_dir, "filters_decimate.json", {"x": f32list(long_noise), "cases": dec})

    # local line predictor: a pump-like ripple (slow, large) plus noise, as the optical path sees
    trend_rng = np.random.default_rng(SEED + 1)
    n = 400
    k = np.arange(n)
    y = (0.02 * np.sin(2 * np.pi * k / 350.0) + 0.005 * np.sin(2 * np.pi * 3 * k / 350.0 + 1.0)
         + 1e-3 * trend_rng.standard_normal(n) + 0.1).astype(np.float32)
    trend = []
    for window, guard in [(2, 1), (15, 2), (30, 3), (60, 6), (120, 12)]:
        levels, slopes = [], []
        for i in range(window + guard - 1, n):
            ages = np.arange(guard, guard + window)
            t = -ages.astype(np.float64)
            b, a = np.polyfit(t, y[i - ages].astype(np.float64), 1)
            levels.append(a)
            slopes.append(b)
        trend.append({"window": window, "guard": guard, "level": g10(levels), "slope": g10(slopes)})
    write(out_dir, "filters_trend.json", {"y": f32list(y), "cases": trend})


def write(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"  {name}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
