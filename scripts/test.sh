#!/usr/bin/env bash
# The whole test suite, as CI runs it: format, lints, every test (FIPS build with test hooks),
# the non-FIPS smoke test, docs, and a short fuzz run of every protocol decoder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (warnings are errors)"
cargo clippy --workspace --all-targets --features ihsm-device/test-hooks -- -D warnings

step "tests (FIPS build, test hooks on; the daemon and CLI run as shipped below)"
cargo test --workspace --exclude ihsm-server --exclude ihsm-cli --exclude ihsm-client \
  --features ihsm-device/test-hooks

step "as shipped, without test hooks: the device's scenarios, then ihsmd, the SDK and the CLI end to end"
cargo clippy -p ihsm-device -p ihsm-server -p ihsm-cli --all-targets -- -D warnings
cargo build -p ihsm-server -p ihsm-cli --bins
cargo test -p ihsm-device --test device
cargo test -p ihsm-server -p ihsm-cli -p ihsm-client

step "release build: no test hooks in the binaries"
scripts/check-release.sh

step "non-FIPS build smoke test (must report itself non-approved)"
cargo test -p ihsm-crypto --no-default-features --features non-fips --test crypto -- lifecycle policy

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "fuzz smoke (${IHSM_FUZZ_SECS:-20} s per target)"
if rustup toolchain list 2>/dev/null | grep -q '^nightly' && command -v cargo-fuzz >/dev/null; then
  (cd fuzz && for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="${IHSM_FUZZ_SECS:-20}" -max_len=1114114 -malloc_limit_mb=64 \
      -rss_limit_mb=1024 2>&1 | tail -n 3
  done)
else
  echo "SKIPPED: no nightly toolchain on this machine; cargo-fuzz needs one" >&2
fi

echo
echo "all checks passed"
