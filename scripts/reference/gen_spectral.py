"""Reference vectors for the spectral and background primitives (src/dsp/{window,fft,stft,background}.rs).

Usage: gen_spectral.py OUT_DIR   (run through scripts/reference/run.sh: numpy 2.1.3, scipy 1.14.1)

Writes, all seeded and deterministic:
  spectral_windows.json  scipy.signal.get_window(name, len) (periodic, fftbins=True)
  stft_scipy.json        scipy.signal.ShortTimeFFT frames of complex noise, a complex chirp and a
                         real two-tone signal, N in {64, 128, 256, 1024}, several hops
  quantile_numpy.json    numpy.quantile (method="linear") over the last `capacity` non-NaN values
  spectral_ewm.json      exponentially weighted mean/variance via scipy.signal.lfilter

Inputs are rounded to float32 *before* the reference is computed, so the Rust side sees the exact
same samples; references are computed in float64. Non-finite numbers are written as the strings
"nan", "inf", "-inf" (JSON has no literal for them).
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy.signal as ss

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)


def enc(v, digits=None):
    """One float for JSON: non-finite as a string, else optionally rounded to `digits` significant digits."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if digits is not None:
        return float(f"{v:.{digits}g}")
    return v


def enc_list(a, digits=None):
    return [enc(v, digits) for v in np.asarray(a).ravel()]


def f32(a):
    """Round to float32 (what the Rust side stores), back as float64 for the reference maths."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def write(name, obj):
    path = OUT / name
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")
    print(f"  {name}: {path.stat().st_size / 1024:.1f} KiB")


# --- windows ------------------------------------------------------------------------------------

WINDOWS = ["hann", "hamming", "blackman"]
windows = []
for name in WINDOWS:
    for n in [1, 2, 7, 16, 64, 1024]:
        windows.append({"window": name, "len": n, "values": enc_list(ss.get_window(name, n), 12)})
write(
    "spectral_windows.json",
    {"source": f"scipy {__import__('scipy').__version__} signal.get_window(name, len), fftbins=True",
     "cases": windows},
)

# --- STFT ---------------------------------------------------------------------------------------


def signal(kind, length, rng):
    t = np.arange(length)
    if kind == "complex_noise":
        return f32(rng.standard_normal(length)) + 1j * f32(rng.standard_normal(length))
    if kind == "complex_chirp":
        # Instantaneous frequency sweeps -0.45 → +0.45 cycles/sample: through negative bins,
        # DC and positive bins, like Doppler I/Q of flow reversing direction.
        f0, f1 = -0.45, 0.45
        phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / length * t**2)
        z = 0.8 * np.exp(1j * phase)
        return f32(z.real) + 1j * f32(z.imag)
    if kind == "real":
        # Two tones (one off-bin) plus noise and an offset: a real sensor trace.
        x = (1.5 * np.cos(2 * np.pi * 0.0625 * t + 0.3) + 0.4 * np.sin(2 * np.pi * 0.2131 * t)
             + 0.1 * rng.standard_normal(length) + 0.25)
        return f32(x)
    raise ValueError(kind)


# (N, hop, window, kind, frames)
STFT_CASES = [
    (64, 1, "hann", "complex_noise", 6),
    (64, 16, "hann", "complex_chirp", 8),
    (64, 37, "blackman", "real", 5),
    (64, 64, "hamming", "complex_noise", 4),
    (128, 32, "hamming", "complex_noise", 6),
    (128, 100, "hann", "real", 4),
    (128, 128, "blackman", "complex_chirp", 3),
    (256, 77, "hann", "complex_noise", 4),
    (256, 256, "blackman", "complex_chirp", 3),
    (256, 200, "hamming", "real", 3),
    (1024, 256, "hann", "complex_chirp", 2),
    (1024, 1000, "blackman", "real", 2),
]

rng = np.random.default_rng(20261125)
stft_cases = []
for n, hop, wname, kind, frames in STFT_CASES:
    # Up to three extra samples past the last frame: they must not produce a frame.
    length = n + (frames - 1) * hop + min(3, hop - 1)
    x = signal(kind, length, rng)
    win = ss.get_window(wname, n)
    # scipy's STFT, unscaled, numpy bin order, no phase shift; k_offset = N/2 re-indexes its
    # centred slices so that slice p covers x[p*hop : p*hop + N].
    sft = ss.ShortTimeFFT(win, hop, fs=1.0, fft_mode="twosided", scale_to=None, phase_shift=None)
    z = sft.stft(x, p0=0, p1=frames, k_offset=n // 2)  # shape (N, frames)
    # Cross-check the definition the Rust side documents: frame k = fft(x[k*hop : k*hop+N] * w).
    direct = np.stack([np.fft.fft(x[k * hop:k * hop + n] * win) for k in range(frames)], axis=1)
    assert np.abs(z - direct).max() <= 1e-9 * np.abs(direct).max(), (n, hop, kind)
    assert (length - n) // hop + 1 == frames
    case = {"n": n, "hop": hop, "window": wname, "kind": kind}
    if kind == "real":
        case["x"] = enc_list(x.real, 9)
    else:
        case["x_re"] = enc_list(x.real, 9)
        case["x_im"] = enc_list(x.imag, 9)
    case["frames_re"] = [enc_list(z[:, k].real, 8) for k in range(frames)]
    case["frames_im"] = [enc_list(z[:, k].imag, 8) for k in range(frames)]
    stft_cases.append(case)
write(
    "stft_scipy.json",
    {"source": f"scipy {__import__('scipy').__version__} signal.ShortTimeFFT(win, hop, fs=1, "
               "fft_mode='twosided', scale_to=None, phase_shift=None).stft(x, p0=0, p1=frames, "
               "k_offset=N//2); frame k = np.fft.fft(x[k*hop:k*hop+N] * win)",
     "cases": stft_cases},
)

# --- sliding quantiles --------------------------------------------------------------------------

# The Rust API takes q as f32: give numpy the same f32-rounded q.
QS = [float(np.float32(q)) for q in [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0]]
# (capacity, stream length, report every, kind)
Q_CASES = [
    (1, 12, 1, "normal"),
    (5, 60, 1, "ties"),
    (16, 120, 1, "normal_nan"),
    (100, 400, 7, "normal"),
    (1024, 1600, 97, "lognormal_nan"),
]
rng = np.random.default_rng(7)
q_cases = []
for cap, length, every, kind in Q_CASES:
    if kind.startswith("normal"):
        x = rng.standard_normal(length) * 3.0 + 1.0
    elif kind == "ties":
        x = np.round(rng.standard_normal(length) * 2.0)  # many equal values, incl. -0.0
    else:
        x = rng.lognormal(0.0, 1.0, length)  # skewed, like a spectral power background
    x = f32(x)
    if kind.endswith("nan"):
        x[rng.random(length) < 0.05] = np.nan
    finite = []
    reports = []
    for i, v in enumerate(x):
        if not np.isnan(v):
            finite.append(v)
        if (i + 1) % every == 0 or i == length - 1:
            win = np.array(finite[-cap:])
            qv = np.quantile(win, QS, method="linear") if len(win) else np.full(len(QS), np.nan)
            reports.append({"after": i + 1, "len": len(win), "q": enc_list(qv, 12)})
    q_cases.append({"capacity": cap, "x": enc_list(x, 9), "reports": reports})
write(
    "quantile_numpy.json",
    {"source": f"numpy {np.__version__} quantile(last `capacity` non-NaN values, qs, method='linear')",
     "qs": QS, "cases": q_cases},
)

# --- exponentially weighted mean and variance --------------------------------------------------


def ewm_lfilter(x, alpha):
    """Mean and variance after each sample, NaN/inf skipped (state held), via lfilter."""
    ok = np.isfinite(x)
    xf = x[ok]
    b, a = [alpha], [1.0, -(1.0 - alpha)]
    # Initial state so that the first output equals the first sample (y[-1] = x[0]).
    m, _ = ss.lfilter(b, a, xf, zi=[(1.0 - alpha) * xf[0]])
    s2, _ = ss.lfilter(b, a, xf * xf, zi=[(1.0 - alpha) * xf[0] ** 2])
    var = s2 - m * m
    # Same thing as the recurrence the Rust side runs, in float64: check they agree.
    mm, vv = xf[0], 0.0
    for i, v in enumerate(xf):
        if i:
            d = v - mm
            mm += alpha * d
            vv = (1 - alpha) * (vv + alpha * d * d)
        assert abs(mm - m[i]) <= 1e-9 * (1 + abs(mm)), (i, mm, m[i])
        assert abs(vv - var[i]) <= 1e-12 * (1 + abs(mm)) ** 2, (i, vv, var[i])
    # Spread back over the full stream: skipped samples keep the previous state.
    idx = np.cumsum(ok) - 1
    count = idx + 1
    return m[idx], np.maximum(var, 0.0)[idx], count


# (name, alpha or (tau_s, rate_hz), length, report every, kind)
E_CASES = [
    ("alpha_1", {"alpha": 1.0}, 50, 1, "normal"),
    ("alpha_0.3", {"alpha": 0.3}, 200, 1, "normal_nonfinite"),
    ("tau_50ms_at_1kHz", {"tau_s": 0.05, "rate_hz": 1000.0}, 2000, 5, "step"),
    ("tau_250ms_at_2kHz", {"tau_s": 0.25, "rate_hz": 2000.0}, 4000, 50, "offset"),
]
rng = np.random.default_rng(11)
e_cases = []
for name, cfg, length, every, kind in E_CASES:
    if "alpha" in cfg:
        alpha32 = np.float32(cfg["alpha"])
        alpha = float(alpha32)
    else:
        tau, rate = float(np.float32(cfg["tau_s"])), float(np.float32(cfg["rate_hz"]))
        alpha_exact = -math.expm1(-1.0 / (tau * rate))
        alpha32 = np.float32(alpha_exact)
        alpha = float(alpha32)  # the Rust side runs with the f32 alpha; so does the reference
        cfg = dict(cfg, alpha_expected=alpha_exact)
    x = rng.standard_normal(length)
    if kind == "step":
        x = x * 0.5 + np.where(np.arange(length) < length // 2, 1.0, 4.0)
    elif kind == "offset":
        x = x * 0.2 + 100.0  # large mean relative to spread: tests the f32 state
    x = f32(x)
    if kind.endswith("nonfinite"):
        x[5] = np.nan
        x[17] = np.inf
        x[18] = -np.inf
        x[rng.random(length) < 0.03] = np.nan
    m, v, c = ewm_lfilter(x, alpha)
    at = [i for i in range(length) if (i + 1) % every == 0 or i < 3 or i == length - 1]
    e_cases.append({
        "name": name, "config": cfg, "alpha": alpha, "x": enc_list(x, 9),
        "at": at, "mean": enc_list(m[at], 12), "var": enc_list(v[at], 12),
        "count": [int(c[i]) for i in at],
    })
write(
    "spectral_ewm.json",
    {"source": f"scipy {__import__('scipy').__version__} signal.lfilter([a], [1, a-1]) of x and x^2 "
               "with y[-1] = x[0]; var = E[x^2] - E[x]^2; non-finite samples skipped",
     "cases": e_cases},
)
