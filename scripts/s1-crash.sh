#!/usr/bin/env bash
# RELIABILITY.md S1 at full length: SIGKILL the daemon at random points during a stream of
# key creations, ROUNDS times (default 1000; CI runs 20), and check after every restart
# that the store opens and every acknowledged key is there and usable.
set -euo pipefail
cd "$(dirname "$0")/.."
IHSM_S1_ROUNDS="${1:-1000}" cargo test -p ihsm-server --test daemon s1_ -- --nocapture
