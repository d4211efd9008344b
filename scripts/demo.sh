#!/usr/bin/env bash
# README command (1): the embedded default. Installs what is missing, builds,
# starts a coordinator on a local data folder (.nmoe/), and drives a job
# through nmoectl: submit, watch, list. Services are stopped at the end.
# Then it fetches the multilingual corpus (LibreOffice help, 11 languages, from
# Debian's archive) and trains a tiny base model on it in this process
# (nmoe-run), printing held-out perplexity per language.
#
# Until the worker and pipeline land, no worker runs coordinator jobs: the first
# part shows the control plane (submission, watching, cancellation, listing).
# Re-running reuses the build, the corpus and the trained model.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that wait passively: with the default spin-waiting, a 2-thread
# training step ran 5x slower when other processes shared the cores (docs/compute.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
scripts/install-deps.sh
scripts/build.sh
bin=${NMOE_BUILD_DIR:-build}
state=.nmoe
mkdir -p "$state"
[ -f "$state/token" ] || (head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/token")
chmod 600 "$state/token"
rm -f "$state/port"

"$bin/coordinator/nmoe-coordinator" --data-dir "$state/db" --listen 127.0.0.1:0 --port-file "$state/port" \
  --metrics-listen 127.0.0.1:0 --token-file "$state/token" >"$state/coordinator.log" 2>&1 &
coordinator=$!
trap 'kill -TERM $coordinator 2>/dev/null; wait $coordinator 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$state/port" ] && break; sleep 0.1; done
[ -s "$state/port" ] || { echo "coordinator did not start; see $state/coordinator.log"; exit 1; }
export NMOE_ADDRESS="127.0.0.1:$(sed -n 1p "$state/port")" NMOE_TOKEN_FILE="$state/token"
metrics_port=$(sed -n 2p "$state/port")
ctl="$bin/cli/nmoectl"
echo "coordinator at $NMOE_ADDRESS (metrics: http://127.0.0.1:$metrics_port/metrics, data: $state/db)"

set -x
"$ctl" health
"$ctl" version
job=$("$ctl" submit -f examples/jobs/profile.yaml --idempotency-key "demo-$(date +%s)")
"$ctl" get "$job"
# No worker is running yet: watch shows the job waiting, then its cancellation.
( sleep 2; "$ctl" cancel "$job" --reason "demo: no workers yet" ) &
"$ctl" watch "$job" || [ $? -eq 3 ]   # 3 = the job ended CANCELLED
"$ctl" events "$job"
"$ctl" list
set +x
echo "metrics sample:"; curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^nmoe_jobs' || true
kill -TERM $coordinator; wait $coordinator 2>/dev/null || true
trap - EXIT
echo "coordinator stopped (its data stays in $state/db)"

echo "== corpus: LibreOffice help in 11 languages, from Debian's archive =="
"$bin/data/nmoe-data" fetch-corpus
ln -sfn "${NMOE_CACHE_DIR:-$HOME/.cache/nmoe}/corpus/libreoffice-help" "$state/corpus"
echo "== a tiny base model on en es zh de fr ru ja (examples/jobs/pretrain-tiny.yaml) =="
"$bin/worker/nmoe-run" examples/jobs/pretrain-tiny.yaml --work-dir "$state"
echo "model (Hugging Face layout): $state/runs/base-tiny; held-out perplexity: $state/runs/base-tiny/eval.json"
