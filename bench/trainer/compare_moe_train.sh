#!/bin/bash
# MoE training tokens/s: bench_moe_train (C++ trainer) against peer_moe.py (Python,
# python3-torch 1.13), interleaved, on the same model, batch and thread count.
#
#   OMP_WAIT_POLICY=passive REPS=2 bench/trainer/compare_moe_train.sh [BUILD_DIR]
#
# The first C++ run writes the upcycled model and the batch for the peer
# (--write-model); then REPS pairs run, the order alternating (C++ first, then Python
# first), so both sides see the same machine load on average. Every Python run's
# per-step losses must equal the C++ run's (relative 1e-4): both train the same
# parameters on the same tokens with the same optimizer, or the script fails.
# Environment: REPS (2), THREADS (2), BATCH (16), SEQ (256), ITERS (3), WARMUP (1),
# EXPERTS (1,2,3,4,4,3,2,1), OUT (a temporary folder for the model and the logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../../build}"
bench="$build/bench/trainer/bench_moe_train"
[ -x "$bench" ] || { echo "no $bench: build the bench_moe_train target" >&2; exit 1; }
REPS="${REPS:-2}" THREADS="${THREADS:-2}" BATCH="${BATCH:-16}" SEQ="${SEQ:-256}"
ITERS="${ITERS:-3}" WARMUP="${WARMUP:-1}" EXPERTS="${EXPERTS:-1,2,3,4,4,3,2,1}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
common=(--threads "$THREADS" --iters "$ITERS" --warmup "$WARMUP")
echo "model and logs in $OUT; OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"

run() {  # run IMPL INDEX
  local log="$OUT/$1-$2.log" load
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if [ "$1" = cpp ]; then
    local extra=()
    [ -f "$OUT/model/batch.json" ] || extra=(--write-model "$OUT/model")
    "$bench" --experts "$EXPERTS" --batch "$BATCH" --seq "$SEQ" "${common[@]}" "${extra[@]}" >"$log" 2>&1
  else
    /usr/bin/python3 "$here/peer_moe.py" --model "$OUT/model" "${common[@]}" >"$log" 2>&1
  fi
  echo "$(date -u +%H:%M:%S) $load $(cut -d' ' -f1 /proc/loadavg) $1 $log" >>"$OUT/runs.txt"
}

: >"$OUT/runs.txt"
for ((r = 1; r <= REPS; r++)); do
  if ((r % 2 == 1)); then run cpp "$r"; run python "$r"; else run python "$r"; run cpp "$r"; fi
done

/usr/bin/python3 - "$OUT/runs.txt" <<'EOF'
import json, re, statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
losses, results = {}, []
for end, load0, load1, impl, log in rows:
    text = open(log).read()
    steps = [float(x) for x in re.findall(r"^step \d+: loss ([0-9.]+)", text, re.M)]
    j = json.loads(re.search(r"^JSON (.*)$", text, re.M).group(1))
    losses.setdefault(impl, []).append(steps)
    results.append((end, load0, load1, impl, j))
ref = losses["cpp"][0]
for impl, runs in losses.items():
    for steps in runs:
        bad = [(a, b) for a, b in zip(steps, ref) if abs(a - b) > 1e-4 * abs(b)]
        if len(steps) != len(ref) or bad:
            sys.exit("losses differ (%s): %s against C++ %s" % (impl, steps, ref))
counts = {(r[4]["total_params"], r[4]["trainable_params"], r[4]["active_weights"]) for r in results}
if len(counts) != 1:
    sys.exit("parameter counts differ: %s" % counts)
print("same work: parameters (total, trainable, active matmul weights per token) %s on both sides;" % (counts.pop(),))
print("per-step losses equal to 1e-4 relative: %s" % " ".join("%.5f" % x for x in ref))
print("| finished (UTC) | load before / after | impl | s / step (median) | best | tokens/s | CPU s / step |")
print("|---|---|---|---|---|---|---|")
for end, l0, l1, impl, j in results:
    print("| %s | %s / %s | %s | %.3f | %.3f | %.1f | %.3f |" % (end, l0, l1, "C++" if impl == "cpp" else "Python",
          j["seconds_per_iter"], j["best"], j["tokens_per_s"], j["cpu_seconds_per_iter"]))
ratios = []
for i in range(0, len(results) - 1, 2):
    a, b = results[i][4], results[i + 1][4]
    cpp, py = (a, b) if a["impl"] == "cpp" else (b, a)
    ratios.append(cpp["tokens_per_s"] / py["tokens_per_s"])
tps = {impl: statistics.median(r[4]["tokens_per_s"] for r in results if r[3] == impl) for impl in ("cpp", "python")}
cpu = {impl: statistics.median(r[4]["cpu_seconds_per_iter"] for r in results if r[3] == impl)
       for impl in ("cpp", "python")}
print("C++ / Python tokens/s per adjacent pair: %s; medians %.1f / %.1f = %.2f" % (
    " ".join("%.2f" % x for x in ratios), tps["cpp"], tps["python"], tps["cpp"] / tps["python"]))
print("CPU s / step, medians: C++ %.3f, Python %.3f: Python / C++ = %.2f" % (
    cpu["cpp"], cpu["python"], cpu["python"] / cpu["cpp"]))
EOF
