"""Timing and result lines shared by the Python baselines.

Every run is timed on two clocks, as the C programs do (c/common.h): the machine is shared, and
wall time counts the moments another process held the core while the process's CPU time does
not. The table uses CPU time; on an idle machine the two agree. These baselines run on one
thread (sosfilt, pocketfft via scipy.signal, ndimage), so process CPU time is their run time.
"""

import json
import time

RATE_HZ = 16000


class Best:
    """The fastest run so far on each clock."""

    def __init__(self):
        self.cpu = self.wall = float("inf")

    def start(self):
        return time.perf_counter(), time.process_time()

    def stop(self, started):
        wall, cpu = started
        self.wall = min(self.wall, time.perf_counter() - wall)
        self.cpu = min(self.cpu, time.process_time() - cpu)


def best_of(fn, reps, warmup=1):
    """Runs fn warmup + reps times; returns (Best of the reps, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = Best()
    for _ in range(reps):
        started = best.start()
        result = fn()
        best.stop(started)
    return best, result


def put_result(path, key, name, what, samples, n_frames, channels, best, **extra):
    """Appends one result line; samples and n_frames are the work of one run."""
    row = dict(key=key, name=name, what=what, samples_per_s=samples / best.cpu,
               frames_per_s=n_frames / best.cpu, channels=channels, best_cpu_s=best.cpu,
               samples_per_s_wall=samples / best.wall, best_wall_s=best.wall, **extra)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {key:<26} {samples / best.cpu:12.4g} samples/s  "
          f"{samples / best.cpu / channels / RATE_HZ:8.0f}x real time  "
          f"(best {best.cpu:.4f} s CPU, {best.wall:.4f} s wall)")
