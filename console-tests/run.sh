#!/usr/bin/env bash
# Browser tests of the admin console: Debian's Chromium (/usr/bin/chromium) driven by
# playwright-core against a real `tollgate serve` on SQLite. Full-page screenshots of every
# page visited go to console-tests/screenshots/ (cleared at each run).
#
# Needs: node 20+ and npm, Debian's chromium package, and the server binary
# (cargo build -p tollgate --bin tollgate). Environment knobs (none is required):
#   TOLLGATE_BIN=path    the server binary (default: $CARGO_TARGET_DIR or target/, debug/tollgate)
#   CHROMIUM_BIN=path    the browser (default /usr/bin/chromium)
#   CONSOLE_TESTS_KEEP_DATA=1   keep each server's data directory and output in $TMPDIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"

log() { printf 'console-tests: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

CHROMIUM="${CHROMIUM_BIN:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || die "no Chromium at $CHROMIUM: install Debian's chromium package (apt-get install chromium)"
export CHROMIUM_BIN="$CHROMIUM"

BIN="${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tollgate}"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
[[ -x "$BIN" ]] || die "no Tollgate binary at $BIN: build it first (cargo build -p tollgate --bin tollgate) or set TOLLGATE_BIN"
export TOLLGATE_BIN="$BIN"

# `npm ci` when node_modules is missing or older than the lock file (npm records what it
# installed in node_modules/.package-lock.json).
npm_ci_if_stale() {
  local dir="$1"
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}
npm_ci_if_stale "$HERE"
# The OpenID Connect test provider the single sign-on test starts, when this checkout has it.
if [[ -f "$ROOT/interop/oidc-provider/package-lock.json" ]]; then
  npm_ci_if_stale "$ROOT/interop/oidc-provider"
fi

rm -rf "$HERE/screenshots"
mkdir -p "$HERE/screenshots"
log "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo unknown); Tollgate: $BIN"
cd "$HERE"
node --test --test-reporter=spec test/*.test.mjs
