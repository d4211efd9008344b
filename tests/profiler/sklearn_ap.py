"""Reference for profiler_core_test: one-vs-rest average_precision_score.

Usage: sklearn_ap.py IN OUT. IN: first line "samples classes", then one line per
sample "label score" (score as written by the test, parsed as float32 then widened);
OUT: one AP per class, one a line, %.17g.
"""
import sys

import numpy as np
from sklearn.metrics import average_precision_score

with open(sys.argv[1]) as f:
    n, k = map(int, f.readline().split())
    rows = [line.split() for line in f]
labels = np.array([int(r[0]) for r in rows])
scores = np.array([np.float32(r[1]) for r in rows], dtype=np.float32).astype(np.float64)
assert len(labels) == n
with open(sys.argv[2], "w") as out:
    for c in range(k):
        out.write("%.17g\n" % average_precision_score((labels == c).astype(int), scores))
