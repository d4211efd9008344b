#!/usr/bin/env bash
# README command (1): the embedded default, the whole method on one machine.
# Installs what is missing, builds, fetches the multilingual corpus (LibreOffice
# help from Debian's archive), starts a coordinator on a local data folder
# (.nmoe/db) and two CPU workers, and runs the pipeline of
# examples/jobs/pipeline-tiny.yaml: pretrain a tiny base model -> profile ->
# allocate (neuron-guided, layer-similarity, uniform) -> train stage 1 and 2 per
# plan -> evaluate -> re-profile -> report. Prints the comparison table and where
# the report is; stops the services at the end (also on Ctrl-C).
#
# Re-running reuses the build, the corpus and every finished stage: the pipeline
# is submitted with an idempotency key derived from its file, so a finished run
# only prints its report again, and an interrupted one continues.
#   NMOE_PIPELINE=examples/jobs/other.yaml scripts/demo.sh   runs another pipeline
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that wait passively: with the default spin-waiting, a 2-thread
# training step ran 5x slower when other processes shared the cores (docs/compute.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
scripts/install-deps.sh
scripts/build.sh
bin=${NMOE_BUILD_DIR:-build}
pipeline_file=${NMOE_PIPELINE:-examples/jobs/pipeline-tiny.yaml}
state=.nmoe
workers=2
mkdir -p "$state"
[ -f "$state/token" ] || (head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$state/token")
chmod 600 "$state/token"

echo "== corpus: LibreOffice help in 11 languages, from Debian's archive =="
"$bin/data/nmoe-data" fetch-corpus
ln -sfn "${NMOE_CACHE_DIR:-$HOME/.cache/nmoe}/corpus/libreoffice-help" "$state/corpus"

ctl="$bin/cli/nmoectl"
# A coordinator on $state/db and one worker per core (nmoectl local up; docs/cli.md);
# relative paths of the jobs resolve in $state. Stopped at the end, also on Ctrl-C.
"$ctl" local up --dir "$state" --workers "$workers"
trap '"$ctl" local down --dir "$state" >/dev/null 2>&1 || true' EXIT
eval "$("$ctl" local status --dir "$state" | grep '^export NMOE_ADDRESS=')"
"$ctl" workers

# Same file, same key: a re-run finds the job it submitted before. A run that
# failed or was cancelled is submitted again under a new key; its finished
# stages' outputs on disk are reused by the new stage jobs.
key="demo-$(sha256sum "$pipeline_file" | cut -c1-16)"
job=$("$ctl" submit -f "$pipeline_file" --idempotency-key "$key")
state_now=$("$ctl" get "$job" -o json | sed -n 's/.*"state": *"\([A-Z_]*\)".*/\1/p' | head -1)
if [ "$state_now" = "JOB_STATE_FAILED" ] || [ "$state_now" = "JOB_STATE_CANCELLED" ]; then
  echo "the previous run $job ended $state_now; submitting again"
  job=$("$ctl" submit -f "$pipeline_file" --idempotency-key "$key-$(date +%s)")
fi
echo "pipeline job: $job (follow it from another shell in this folder: $ctl watch $job)"
status=0
"$ctl" watch "$job" || status=$?
if [ "$status" -ne 0 ]; then
  echo "the pipeline did not succeed (exit $status):"
  "$ctl" get "$job" || true
  echo "logs: $state/coordinator.log $state/worker-*.log"
  exit "$status"
fi

report_dir="$state/report"
"$ctl" report "$job" --dir "$report_dir" >/dev/null
echo
sed -n '/^## Held-out perplexity/,/^!\[perplexity\]/p' "$report_dir/report.md" | grep -v '^!\['
echo "full report: $report_dir/report.md (figures: $report_dir/*.svg); again with: nmoectl report $job"
"$ctl" local down --dir "$state"
trap - EXIT
echo "coordinator and workers stopped (data stays in $state/db; models in $state/runs)"
