#!/usr/bin/env bash
# Installs every Debian package nmoe needs to build, test and run.
#
# Contract: idempotent and quiet when everything is already present; prints what
# it installs and exits non-zero (with apt's error) when anything fails.
# Needs root (or sudo). Debian 12 (bookworm).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # sanitizer + fuzzing stage (scripts/sanitize.sh): clang with ASan/UBSan and libFuzzer
  clang-14 libclang-rt-14-dev
  # RPC, storage, metrics
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev prometheus-cpp-dev libabsl-dev libssl-dev
  # compute: LibTorch (CPU) and an optimised BLAS for it (the default reference
  # BLAS runs fp32 GEMM ~50x slower; see README "Why OpenBLAS")
  libtorch-dev libopenblas0-openmp libgloo-dev
  # utilities
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev
  libpcre2-dev libutf8proc-dev libpugixml-dev libyaml-cpp-dev
  # independent references and API clients for tests (Debian's python3, /usr/bin/python3)
  python3 python3-grpcio python3-grpc-tools python3-sklearn python3-torch python3-yaml
  # test tools (node/npm are checked as commands below: some images ship them outside dpkg)
  curl openssl procps
  # deploy/ checks (tests/deploy): promtool + a real Prometheus server, yamllint
  prometheus yamllint
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# kubectl kustomize renders deploy/k8s (tests/deploy): the machine image ships kubectl 1.32
# (kustomize v5); Debian's kubernetes-client (1.20, kustomize v2) is only a fallback and
# too old for the overlays' labels/replicas/patches fields
command -v kubectl >/dev/null || missing+=(kubernetes-client)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq; then
  echo "install-deps: apt-get update failed" >&2; exit 1
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/nmoe-install-deps.log 2>&1; then
  echo "install-deps: apt-get install failed; last lines of /tmp/nmoe-install-deps.log:" >&2
  tail -n 30 /tmp/nmoe-install-deps.log >&2
  exit 1
fi
echo "install-deps: done"
