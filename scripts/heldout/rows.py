"""One Markdown row per held-out set from its eval.json, as in the README's "Where it stands"
table (standard library only).

Usage: rows.py EVAL_OUT_DIR[:SEED]...   (each directory's name is the set's; the seed, if
given, is printed beside it)"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tune"))
from sum import load  # noqa: E402  (scripts/tune/sum.py: reads one eval.json)


def pct(a, b):
    return f"{100 * a / b:.1f} %" if b else "n/a"


def main(dirs):
    if not dirs:
        sys.exit("usage: rows.py EVAL_OUT_DIR[:SEED]...")
    print("| set (seed) | air found | air PPV | air ≥ 30 dB | clot found | clot PPV "
          "| discrimination | FA / h | air latency median / p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arg in dirs:
        d, _, seed = arg.partition(":")
        r = load(d)
        strong = [b for b in r.get("by_ebr", []) if b["class"] == "air" and b["bin"].startswith("≥ 30")]
        strong = f"{strong[0]['detected']}/{strong[0]['positives']}" if strong else "n/a"
        name = f"`{Path(d).name}`" + (f" ({seed})" if seed else "")
        a, c, m = r["air"], r["clot"], r["confusion"]
        right, detected = m[0][0] + m[1][1], sum(map(sum, m))
        fa = r["false_alarms_on_artifacts"] + r["false_alarms_background"]
        print(
            f"| {name} | {a['detected']}/{a['positives']} ({pct(a['detected'], a['positives'])}) "
            f"| {pct(a['true_alarms'], a['alarms'])} | {strong} "
            f"| {c['detected']}/{c['positives']} ({pct(c['detected'], c['positives'])}) "
            f"| {pct(c['true_alarms'], c['alarms'])} | {pct(right, detected)} "
            f"| {fa / r['hours']:.1f} "
            f"| {1e3 * a['latency_median_s']:.0f} / {1e3 * a['latency_p95_s']:.0f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
