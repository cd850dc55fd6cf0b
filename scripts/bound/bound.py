"""The ideal-observer bound of a labelled data set.

How many of the data set's detectable emboli could *any* detector find at a given false-alarm
rate, and how many of the air events could it alarm within 50 ms of their first appearance?
The detection-theory answer for a signal of known shape in white Gaussian noise, scanned over
the positions it could take (e.g. Van Trees, Detection, Estimation and Modulation Theory I,
ch. 4; Kay, Fundamentals of Statistical Signal Processing II, ch. 7):

* Ultrasound. The simulator's EBR is the echo's energy over the blood's power spectral density
  at its frequency (`Part::ebr_db`): exactly the output SNR E/N0 of a matched filter. An
  observer that knows the echo's shape, duration and band but not its phase compares |z|^2
  (unit-mean exponential under blood alone) with a threshold g; with the echo,
  2|z|^2 is noncentral chi-square, 2 degrees of freedom, noncentrality 2 E/N0:
  Pd = P(chi2'(2, 2 E/N0) > 2 g). It must scan the time-frequency plane: T x B independent
  cells in T seconds of a blood band B = 2 x the mean Doppler frequency (emboli ride within
  it), so g = ln(3600 B / F) for F false alarms per hour.
* Optical. The label's `optical_snr_db` is the matched-filter SNR of the change, both
  wavelengths, against the white sensor noise. Sign unknown (air rises, clots fall), one
  test per pulse length in time: z = Phi^-1(1 - F / (2 x 3600 fs / K)), Pd = Phi(snr - z).
* An embolus is found if either sensor finds it (independent noise). Slugs always are.
* Latency: the ideal observer alarms when the echo has passed (at most 50 ms counted, which
  favours it). A shower counts as found at its first bubble with its strongest bubble's SNR
  (the labels give no more), which favours it too. An air event labelled on the optical sensor alarms within 50 ms of its first
  appearance only if the optical sensor finds it, or the ultrasound one does within
  50 ms after the transit (spacing / velocity).

Every simplification favours the observer, so that the figures are upper bounds: it knows
each echo's shape, duration and band; the blood is white and steady (no pump modulation of
its spectrum, no speckle peaks); the optical noise is white (no pump ripple, drift, ambient
light or lamps); a clot's tumbling and lumps are ignored; no artifacts compete for the
false-alarm budget, and each sensor gets the whole budget.

Usage: bound.py DATASET_DIR [...] [--fa-per-hour F] [--eval DIR ...]
(--eval: the output directories of `clotair eval` on the same sets, printed beside.)
"""

import argparse
import csv
import glob
import json
import math
import os
import sys
from collections import defaultdict

from scipy.stats import ncx2, norm

EBR_BINS = [(3, 6, "3–6 dB"), (6, 10, "6–10 dB"), (10, 20, "10–20 dB"), (20, 30, "20–30 dB"),
            (30, math.inf, "≥ 30 dB")]
LATENCY_S = 0.050


class BoundError(Exception):
    """A data set the bound cannot be computed on; the message names the file."""


def ebr_bin(ebr):
    if ebr is None:
        return "no EBR"
    for lo, hi, name in EBR_BINS:
        if lo <= ebr < hi:
            return name
    return "< 3 dB"


def number(s):
    return float(s) if s not in (None, "") else None


def recording_events(labels_path):
    """Detectable emboli of one recording: id -> {sensor: row}."""
    events = defaultdict(dict)
    with open(labels_path, newline="") as f:
        for row in csv.DictReader(f):
            if row["class"] not in ("air", "clot") or row.get("detectable") == "0":
                continue
            events[row["id"]][row["sensor"]] = row
    return events


def us_pd(ebr_db, blood_band_hz, fa_per_hour):
    cells_per_hour = 3600.0 * blood_band_hz
    g = math.log(max(1.0, cells_per_hour / fa_per_hour))
    snr = 10.0 ** (ebr_db / 10.0)
    return float(ncx2.sf(2.0 * g, 2, 2.0 * snr))


def opt_pd(snr_db, fs, samples, fa_per_hour):
    tests_per_hour = 2.0 * 3600.0 * fs / max(1.0, samples)
    z = norm.isf(min(0.5, fa_per_hour / tests_per_hour))
    return float(norm.sf(z - 10.0 ** (snr_db / 20.0)))


def bound(dirs, fa_per_hour):
    """Expected counts of the ideal observer, keyed like `clotair eval`'s breakdowns."""
    tally = defaultdict(lambda: [0, 0.0])  # key -> [positives, expected found]
    air_fast = [0.0, 0.0]  # expected found, expected found within 50 ms
    for d in dirs:
        if not os.path.isdir(d):
            raise BoundError(f"{d}: not a directory")
        found = sorted(glob.glob(os.path.join(d, "*.labels.csv")))
        if not found:
            raise BoundError(f"{d}: no NAME.labels.csv in it")
        for labels in found:
            name = os.path.basename(labels)[: -len(".labels.csv")]
            sidecar = os.path.join(d, name + ".json")
            try:
                with open(sidecar) as f:
                    truth = json.load(f)
            except (OSError, ValueError) as e:
                raise BoundError(f"{sidecar}: {e}") from e
            sim = truth.get("simulator")
            if not isinstance(sim, dict):
                raise BoundError(
                    f"{sidecar}: no \"simulator\" truth (the bound needs simulated recordings)")
            us_hz = sim.get("ultrasound_hz")
            opt_hz = sim.get("optical_hz")
            band = 2.0 * sim["mean_doppler_hz"]
            for rows in recording_events(labels).values():
                first = next(iter(rows.values()))
                cls, kind = first["class"], first["kind"]
                ebr = number(first.get("ebr_db"))
                osnr = number(first.get("optical_snr_db"))
                if kind == "slug":
                    p_us = p_opt = 1.0
                else:
                    p_us = us_pd(ebr, band, fa_per_hour) if us_hz and ebr is not None else 0.0
                    p_opt = 0.0
                    if opt_hz and osnr is not None:
                        # Samples in the change: the optical row's span; without one (a
                        # change under 3 sigma per sample, yet perhaps long enough for the
                        # matched filter) one sample, which counts the most tests.
                        o = rows.get("optical")
                        k = (float(o["end_s"]) - float(o["start_s"])) * opt_hz if o else 1.0
                        p_opt = opt_pd(osnr, opt_hz, k, fa_per_hour)
                found = 1.0 - (1.0 - p_us) * (1.0 - p_opt)
                for key in [(cls, "all"), (cls, "ebr " + ebr_bin(ebr)), (cls, "kind " + kind)]:
                    tally[key][0] += 1
                    tally[key][1] += found
                if cls == "air":
                    air_fast[0] += found
                    if "optical" in rows:
                        transit = truth["spacing_mm"] * 1e-3 / float(first["velocity_m_s"])
                        late_us = p_us if transit <= LATENCY_S else 0.0
                        air_fast[1] += 1.0 - (1.0 - p_opt) * (1.0 - late_us)
                    else:
                        air_fast[1] += p_us
    return tally, air_fast


def eval_counts(out_dirs):
    """Our detector's counts from `clotair eval` output directories, keyed like `bound`."""
    counts = defaultdict(lambda: [0, 0])
    for d in out_dirs:
        with open(os.path.join(d, "eval.json")) as f:
            r = json.load(f)["report"]
        for cls in ("air", "clot"):
            counts[(cls, "all")][0] += r[cls]["detected"]
            counts[(cls, "all")][1] += r[cls]["positives"]
        for group, prefix in (("by_ebr", "ebr "), ("by_kind", "kind ")):
            for b in r[group]:
                key = (b["class"], prefix + b["bin"])
                counts[key][0] += b["detected"]
                counts[key][1] += b["positives"]
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--fa-per-hour", type=float, default=1.0)
    ap.add_argument("--eval", nargs="*", default=[])
    args = ap.parse_args()
    if not args.fa_per_hour > 0:
        sys.exit(f"error: --fa-per-hour must be positive, not {args.fa_per_hour}")
    try:
        tally, air_fast = bound(args.dirs, args.fa_per_hour)
        ours = eval_counts(args.eval) if args.eval else None
    except BoundError as e:
        sys.exit(f"error: {e}")
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"error: an --eval directory: {e}")
    print(f"ideal observer at {args.fa_per_hour:g} false alarm(s) per hour per sensor")
    head = f"{'class':5} {'group':16} {'events':>6} {'ideal':>7} {'ideal %':>8}"
    print(head + (f" {'ours':>6} {'ours %':>7}" if ours else ""))
    order = sorted(tally, key=lambda k: (k[0], k[1] != "all", k[1]))
    for key in order:
        n, found = tally[key]
        line = f"{key[0]:5} {key[1]:16} {n:6d} {found:7.1f} {100 * found / n:7.1f}%"
        if ours and key in ours:
            det, pos = ours[key]
            line += f" {det:6d} {100 * det / max(pos, 1):6.1f}%"
        print(line)
    found, fast = air_fast
    if found == 0:
        return
    print(f"air alarms within {LATENCY_S * 1e3:.0f} ms of first appearance: "
          f"{100 * fast / found:.1f} % of the ideal observer's air finds "
          f"(a p95 latency of ≤ {LATENCY_S * 1e3:.0f} ms needs ≥ 95 %)")


if __name__ == "__main__":
    main()
