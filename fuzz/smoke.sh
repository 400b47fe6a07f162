#!/usr/bin/env bash
# A short run of every fuzz target (CI's smoke test): builds them, then runs each for
# FUZZ_SECONDS (default 25) from the committed seeds (fuzz/corpus/<target>) with its
# dictionary. Fails on the first crash, leak, timeout or out-of-memory; libFuzzer saves the
# input that did it under fuzz/artifacts/<target>/ and prints how to reproduce it.
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz
# (`cargo install --locked cargo-fuzz`). Knobs: FUZZ_SECONDS, FUZZ_TARGETS ("oauth_form ...").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

SECONDS_EACH="${FUZZ_SECONDS:-25}"
TARGETS="${FUZZ_TARGETS:-oauth_form basic_auth jws config}"
# No AddressSanitizer: the code under test forbids `unsafe`, and ASan costs a slower build
# and a slower run for little it could find there.
BUILD=(--sanitizer none)
# Unoptimised (the `dev` profile of fuzz/Cargo.toml): builds in a fraction of the release
# build's time, which matters more than executions per second in a short run.
# FUZZ_PROFILE=release for the optimised build.
if [[ "${FUZZ_PROFILE:-dev}" == dev ]]; then
  BUILD+=(--dev)
fi

log() { printf 'fuzz: %s\n' "$*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

start=$(date +%s)
log "cargo +nightly fuzz build ${BUILD[*]}"
cargo +nightly fuzz build "${BUILD[@]}"
log "built in $(($(date +%s) - start)) s"

for target in $TARGETS; do
  # New inputs go to a scratch directory: the committed seeds stay as they are.
  mkdir -p "$WORK/$target"
  dict=()
  [[ -f "dict/$target.dict" ]] && dict=("-dict=dict/$target.dict")
  log "$target: ${SECONDS_EACH} s"
  cargo +nightly fuzz run "${BUILD[@]}" "$target" "$WORK/$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 "${dict[@]}" 2>"$WORK/$target.log" || {
    tail -60 "$WORK/$target.log" >&2
    log "FAIL $target (the input is in fuzz/artifacts/$target/)"
    exit 1
  }
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$WORK/$target.log" |
    sed "s/^/fuzz: $target /" >&2 || true
done
log "every target ran without a failure in $(($(date +%s) - start)) s"
