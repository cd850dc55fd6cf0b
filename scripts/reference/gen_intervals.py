"""Reference vectors for the confidence intervals of the scores (src/eval/interval.rs).

Usage: gen_intervals.py OUT_DIR   (run through scripts/reference/run.sh: numpy 2.1.3, scipy 1.14.1)

Writes intervals_scipy.json:
  wilson   95 % Wilson score intervals of k successes in n trials,
           scipy.stats.binomtest(k, n).proportion_ci(0.95, method="wilson"), over small and large
           n, k at both ends and in between (a detector's PPV sits near 100 %)
  poisson  exact (Garwood) 95 % intervals of a Poisson mean from one count x,
           chi2.ppf(0.025, 2x) / 2 and chi2.ppf(0.975, 2x + 2) / 2 (lower bound 0 at x = 0)
  quantile the 0-based ranks of the order statistics that bound the p-th quantile of a sample of
           n with 95 % confidence: quantile_test(arange(n), q=0, p=p).confidence_interval(0.95)
           on the ranks themselves (null where scipy returns nan: the sample cannot bound it)
"""

import json
import sys
from pathlib import Path

import math

import numpy as np
from scipy.stats import binomtest, chi2, quantile_test

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)

wilson = []
for n in [1, 2, 3, 5, 10, 17, 45, 79, 100, 302, 1000, 3557, 100000]:
    ks = sorted({0, 1, 2, n // 3, n // 2, (9 * n) // 10, n - 2, n - 1, n} & set(range(n + 1)))
    for k in ks:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        wilson.append({"k": k, "n": n, "lo": float(ci.low), "hi": float(ci.high)})

poisson = []
for x in [0, 1, 2, 3, 5, 10, 20, 28, 50, 100, 1000, 5000]:
    lo = 0.0 if x == 0 else float(chi2.ppf(0.025, 2 * x) / 2)
    hi = float(chi2.ppf(0.975, 2 * x + 2) / 2)
    poisson.append({"x": x, "lo": lo, "hi": hi})

quantile = []
for p in [0.5, 0.95]:
    for n in [1, 2, 5, 10, 20, 40, 58, 59, 60, 61, 73, 100, 169, 302, 1000, 2486, 5000]:
        ci = quantile_test(np.arange(n, dtype=float), q=0, p=p).confidence_interval(0.95)
        rank = lambda v: None if math.isnan(v) else int(v)
        quantile.append({"n": n, "p": p, "lo": rank(ci.low), "hi": rank(ci.high)})

with open(OUT / "intervals_scipy.json", "w") as f:
    json.dump({"level": 0.95, "wilson": wilson, "poisson": poisson, "quantile": quantile}, f, indent=1)
print(f"intervals_scipy.json: {len(wilson)} Wilson, {len(poisson)} Poisson, {len(quantile)} quantile")
