"""Sums the eval.json reports of several data sets into one line of figures (standard library
only): air and clot found and alarms, false alarms, discrimination; then the false alarms by
cause and the per-set latency."""

import json
import sys
from pathlib import Path


def load(d):
    """The report in directory `d`'s eval.json; exits naming the file when it is not one."""
    path = Path(d) / "eval.json"
    try:
        return json.loads(path.read_text())["report"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{path}: not a clotair eval report ({e})")


def main(dirs):
    if not dirs:
        sys.exit("usage: sum.py EVAL_OUT_DIR...")
    tot = {}
    lat = []
    causes = {}
    for d in dirs:
        r = load(d)
        for c in ("air", "clot"):
            for k in ("positives", "detected", "alarms", "true_alarms"):
                tot[c, k] = tot.get((c, k), 0) + r[c][k]
        for k in ("false_alarms_on_artifacts", "false_alarms_background", "hours"):
            tot[k] = tot.get(k, 0) + r[k]
        # Reports written before clotair counted false alarms by cause have no such key.
        for c in r.get("false_alarms_by_cause", []):
            key = f"{c['cause']} ({c['sensor']})" if c["sensor"] else c["cause"]
            causes[key] = causes.get(key, 0) + c["count"]
        conf = r["confusion"]
        for i, row in enumerate(conf):
            for j, v in enumerate(row):
                tot["conf", i, j] = tot.get(("conf", i, j), 0) + v
        p95 = r["air"]["latency_p95_s"]
        lat.append(f"{Path(d).name} {1e3 * p95:.0f}" if p95 is not None else Path(d).name)
    hours = tot["hours"]
    if not hours:
        sys.exit("no signal in the reports: " + ", ".join(dirs))
    fa = tot["false_alarms_on_artifacts"] + tot["false_alarms_background"]
    right = tot["conf", 0, 0] + tot["conf", 1, 1]
    said = right + tot["conf", 0, 1] + tot["conf", 1, 0]
    line = []
    for c in ("air", "clot"):
        pos, det = tot[c, "positives"], tot[c, "detected"]
        alarms, true = tot[c, "alarms"], tot[c, "true_alarms"]
        ppv = 100 * true / alarms if alarms else float("nan")
        sens = 100 * det / pos if pos else float("nan")
        line.append(f"{c} {det}/{pos} ({sens:.1f} %), PPV {ppv:.1f} %")
    line.append(
        f"false alarms {fa} in {hours:.1f} h ({fa / hours:.2f} / h: "
        f"{tot['false_alarms_on_artifacts']} on artifacts)"
    )
    if said:
        line.append(f"discrimination {100 * right / said:.1f} %")
    print(" | ".join(line))
    if causes:
        ranked = sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
        print("false alarms by cause: " + ", ".join(f"{k} {n}" for k, n in ranked))
    print("air latency p95 ms by set: " + ", ".join(lat))


if __name__ == "__main__":
    main(sys.argv[1:])
