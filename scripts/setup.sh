#!/usr/bin/env bash
# Installs what building and testing ihsm needs on a Debian machine that has only the Rust
# toolchain: Debian packages through apt-get (one `apt-get update`, only when something is
# missing) and cargo tools through `cargo install`. Reruns skip what is already there.
set -euo pipefail

# cmake, golang-go and perl build the FIPS 140-3 validated AWS-LC module; softhsm2 is what
# the benchmarks compare ihsm with; openssl is the end-to-end tests' independent verifier.
packages=(cmake golang-go perl pkg-config softhsm2 openssl strace)
# `--build-only` (scripts/run.sh): only what building needs.
build_only=false
[ "${1:-}" = "--build-only" ] && build_only=true && packages=(cmake golang-go perl pkg-config)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cargo-fuzz drives the fuzz smoke run (it needs the nightly toolchain, if the machine has one).
if ! $build_only && rustup toolchain list 2>/dev/null | grep -q '^nightly' && ! command -v cargo-fuzz >/dev/null; then
  echo "setup: installing cargo-fuzz"
  cargo install --locked --quiet cargo-fuzz
fi
