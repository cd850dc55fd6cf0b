"""The test trace: where it lives, how it is made, how it is read.

All baselines read the same trace. By default it is a raw file of interleaved float32 I,Q at
16 kHz made by `make_trace`. With TRACE_WAV set, the trace is channel 0 (I) and channel 1 (Q)
of that WAV file (the recording format of shared/spec/recordings.md); `read_wav` reads it and
the C programs get a raw copy of it.
"""

import os
import struct
import sys

import numpy as np
from scipy import signal

RATE_HZ = 16000
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
SEED = 20261125

# The parameters every baseline shares (README.md lists them).
HP_ORDER, HP_CUTOFF_HZ = 4, 100.0  # wall/clutter high-pass of the detector front end
LP_ORDER, LP_CUTOFF_HZ = 8, 2000.0  # the sosfilt/biquad benchmark filter: 4 sections
FRAME, HOP = 128, 32
MEDIAN_FRAMES = 256
THRESHOLD_DB = 6.0  # band power over its running median that counts as a detection


def hp_sos():
    return signal.butter(HP_ORDER, HP_CUTOFF_HZ, btype="highpass", fs=RATE_HZ, output="sos")


def lp_sos():
    return signal.butter(LP_ORDER, LP_CUTOFF_HZ, btype="lowpass", fs=RATE_HZ, output="sos")


def write_sos(path, sos):
    np.savetxt(path, sos, fmt="%.17g")


def make_trace(path, minutes=10.0, seed=SEED):
    """A deterministic Doppler-like I/Q trace: forward blood noise, pump pulsation, mirror,
    clutter, noise floor and short embolus-like tones."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    # Blood: complex noise band-limited to +-1.2 kHz, shifted up to 0.1..2.5 kHz (forward only).
    noise = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    blood = signal.sosfilt(signal.butter(6, 1200, fs=RATE_HZ, output="sos"), noise)
    blood *= np.exp(2j * np.pi * 1300 * t)
    blood *= 1.0 + 0.25 * np.sin(2 * np.pi * 1.3 * t)  # roller pump at 1.3 Hz
    blood /= np.sqrt(np.mean(np.abs(blood[: RATE_HZ * 10]) ** 2))
    x = blood + 10 ** (-30 / 20) * np.conj(blood)  # quadrature mirror at -30 dB
    x += 10 ** (-25 / 20) * (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)
    x += 3.0 * np.exp(2j * np.pi * (20 * t + 0.3 * np.sin(2 * np.pi * 1.3 * t)))  # wall clutter
    # Embolus-like tones: 20 ms Gaussian bursts, 12 dB over the blood, about every 1.7 s.
    for start in np.arange(2.0, minutes * 60 - 1.0, 1.7):
        f_hz = 600 + 1800 * rng.random()
        i0, m = int(start * RATE_HZ), int(0.06 * RATE_HZ)
        tt = np.arange(m) / RATE_HZ
        env = np.exp(-0.5 * ((tt - 0.03) / 0.01) ** 2)
        x[i0 : i0 + m] += 10 ** (12 / 20) * env * np.exp(2j * np.pi * f_hz * tt)
    x *= 0.05
    out = np.empty(2 * n, dtype=np.float32)
    out[0::2], out[1::2] = x.real, x.imag
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out.tofile(path)


def read_wav(path):
    """Reads a 16/24/32-bit PCM or 32-bit float WAV; returns (rate, float32 array [n, channels])
    with integers scaled to [-1, 1)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos, fmt, body = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            fmt = data[pos + 8 : pos + 8 + size]
        elif cid == b"data":
            body = memoryview(data)[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    if fmt is None or body is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if tag == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID
        tag = struct.unpack("<H", fmt[24:26])[0]
    frame_bytes = channels * bits // 8
    body = body[: len(body) // frame_bytes * frame_bytes]
    if tag == 3 and bits == 32:
        x = np.frombuffer(body, dtype="<f4")
    elif tag == 1 and bits == 16:
        x = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
    elif tag == 1 and bits == 24:
        b = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v)).astype(np.float32) / float(1 << 23)
    elif tag == 1 and bits == 32:
        x = np.frombuffer(body, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise ValueError(f"{path}: unsupported WAV format tag {tag}, {bits} bits")
    return rate, x.reshape(-1, channels)


def trace_minutes():
    return float(os.environ.get("TRACE_MINUTES", "10"))


def trace_path():
    """The raw interleaved I,Q float32 file the C programs read (made from TRACE_WAV if set)."""
    wav = os.environ.get("TRACE_WAV")
    if not wav:
        return os.path.join(WORK, f"trace_iq16k_seed{SEED}_{trace_minutes():g}min.f32")
    return os.path.join(WORK, os.path.basename(wav) + ".iq.f32")


def load_iq(path=None):
    """The trace as complex64, read the way each baseline counts as 'reading the trace'."""
    wav = os.environ.get("TRACE_WAV")
    if wav and path is None:
        rate, x = read_wav(wav)
        if x.shape[1] < 2:
            raise ValueError(f"{wav}: need 2 channels (I, Q), got {x.shape[1]}")
        if rate != RATE_HZ:
            print(f"note: {wav} is at {rate} Hz; parameters stay those of {RATE_HZ} Hz",
                  file=sys.stderr)
        iq = np.empty(x.shape[0], dtype=np.complex64)
        iq.real, iq.imag = x[:, 0], x[:, 1]
        return iq
    return np.fromfile(path or trace_path(), dtype=np.float32).view(np.complex64)


def main():
    """`python traceio.py prepare`: makes the trace (or the raw copy of TRACE_WAV) if absent and
    writes the filter sections for the C programs."""
    os.makedirs(WORK, exist_ok=True)
    write_sos(os.path.join(WORK, "sos_hp4.txt"), hp_sos())
    write_sos(os.path.join(WORK, "sos_lp8.txt"), lp_sos())
    raw = trace_path()
    wav = os.environ.get("TRACE_WAV")
    if wav:
        if not os.path.exists(raw) or os.path.getmtime(raw) < os.path.getmtime(wav):
            iq = load_iq()
            out = np.empty(2 * iq.size, dtype=np.float32)
            out[0::2], out[1::2] = iq.real, iq.imag
            out.tofile(raw)
    elif not os.path.exists(raw):
        print(f"making a {trace_minutes():g} min test trace at {raw}")
        make_trace(raw, trace_minutes())
    n = os.path.getsize(raw) // 8
    print(f"trace: {raw}, {n} complex samples, {n / RATE_HZ:.1f} s at {RATE_HZ} Hz")


if __name__ == "__main__":
    main()
