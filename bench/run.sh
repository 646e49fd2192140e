#!/usr/bin/env bash
# One command for the load harness: builds the release binary and the harness, then runs it.
# Arguments go to the harness, e.g. `bash bench/run.sh --quick` or `--backend postgres --latency 20`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bonusbridge -p bonusbridge-bench
exec target/release/bonusbridge-bench "$@"
