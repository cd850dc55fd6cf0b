"""Timing and result lines shared by the Python baselines."""

import json
import time

RATE_HZ = 16000


def best_of(fn, reps, warmup=1):
    """Runs fn warmup + reps times; returns (fastest wall time of the reps, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def put_result(path, key, name, what, samples_per_s, frames_per_s=0.0, channels=1, best_s=0.0,
               **extra):
    row = dict(key=key, name=name, what=what, samples_per_s=samples_per_s,
               frames_per_s=frames_per_s, channels=channels, best_s=best_s, **extra)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {key:<22} {samples_per_s:12.4g} samples/s  "
          f"{samples_per_s / channels / RATE_HZ:8.0f}x real time  (best {best_s:.4f} s)")
