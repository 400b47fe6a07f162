#!/usr/bin/env bash
# Reproducible load benchmark of Tollgate's token endpoint and friends; see docs/benchmarks.md.
#
#   bench/run.sh            full run (about 3 minutes of load plus the release build)
#   bench/run.sh --smoke    a few seconds per scenario, 1,000 clients: keeps the script working
#
# Builds in release mode (BENCH_PROFILE=debug to reuse the test build), installs wrk from
# Debian's packages if it is missing, and drives every scenario from bench/run.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile="${BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release -p tollgate --bin tollgate --example bench_hello --example bench_sign
else
  # Built as the test build builds them (examples and the binary, with the dev-dependencies'
  # features), so after the tests this reuses their artifacts.
  cargo test --workspace --no-run --quiet
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
exec python3 bench/run.py --profile "$profile" "$@"
