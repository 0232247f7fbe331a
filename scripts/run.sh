#!/usr/bin/env bash
# Builds the module and starts it in the foreground on the default local state directory
# ($IHSM_STATE_DIR, else $XDG_STATE_HOME/ihsm, else ~/.local/state/ihsm). On first start it
# makes a new development device there. Stop it with Ctrl-C (or SIGTERM).
#
#   scripts/run.sh                  # ihsmd on the default state directory
#   scripts/run.sh --state-dir DIR  # anywhere else; any ihsmd option passes through
#
# The `ihsm` CLI it builds is target/release/ihsm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
cargo build --release --quiet -p ihsm-server -p ihsm-cli
# Keys live only in locked memory: ask for the 64 MiB the arena wants (ihsmd raises the soft
# limit to the hard one itself; only root, or a limit set by the system, goes beyond that),
# and for descriptors, one per connection.
ulimit -l 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec target/release/ihsmd "$@"
