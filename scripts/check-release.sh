#!/usr/bin/env bash
# Builds the release binaries and checks they carry no test hooks: ihsm-crypto refuses to
# compile `test-hooks` without debug assertions, the running daemon's status says
# "test_hooks": false, and neither binary holds the marker every hooks build carries.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p ihsm-server -p ihsm-cli
for binary in target/release/ihsmd target/release/ihsm; do
  if grep -a -q 'IHSM-TEST-HOOKS-COMPILED-IN' "$binary"; then
    echo "check-release: $binary carries test-hook code" >&2
    exit 1
  fi
done
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
target/release/ihsmd --state-dir "$dir/state" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 600); do grep -q ready "$dir/out" 2>/dev/null && break; sleep 0.1; done
status=$(target/release/ihsm --state-dir "$dir/state" status --json)
echo "check-release: $status"
echo "$status" | grep -q '"test_hooks":false' || { echo "check-release: test hooks reported" >&2; exit 1; }
echo "$status" | grep -q '"fips_mode":true' || { echo "check-release: not in FIPS mode" >&2; exit 1; }
echo "check-release: release binaries carry no test hooks"
