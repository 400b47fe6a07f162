#!/usr/bin/env bash
# Interoperability tests: Tollgate against third-party OAuth 2.0 / JOSE client libraries
# (Python: Authlib, requests-oauthlib, PyJWT; Node: openid-client, jose).
#
# For each signing algorithm (ES256, EdDSA, RS256) this starts a fresh Tollgate on a free
# loopback port with an empty data directory, runs the Python and the Node suites against
# it, and stops it. Prints `interop: N passed, M failed` (N, M count suites) and exits
# non-zero if anything failed.
#
# Needs: cargo, python3 (3.11+, with venv), node 20+ and npm. Environment knobs (none is
# required):
#   INTEROP_ALGS="ES256 EdDSA RS256"  algorithms to run
#   INTEROP_BUILD=always             run `cargo build -p tollgate` even if the binary exists
#   INTEROP_TOLLGATE_BIN=path        use this binary instead of target/debug/tollgate
#   INTEROP_STARTUP_TIMEOUT=30       seconds to wait for /healthz
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INTEROP="$ROOT/interop"
ALGS="${INTEROP_ALGS:-ES256 EdDSA RS256}"
STARTUP_TIMEOUT="${INTEROP_STARTUP_TIMEOUT:-30}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${INTEROP_TOLLGATE_BIN:-$TARGET_DIR/debug/tollgate}"
VENV="$INTEROP/.venv"

log() { printf 'interop: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in python3 node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-interop.XXXXXX")"
SERVER_PID=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "the server (pid $SERVER_PID) did not stop on SIGTERM; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- (a) the server binary ------------------------------------------------------------
if [[ "${INTEROP_BUILD:-}" == "always" || ! -x "$BIN" ]]; then
  [[ -n "${INTEROP_TOLLGATE_BIN:-}" ]] && die "INTEROP_TOLLGATE_BIN=$BIN is not an executable"
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed and $BIN is missing"
  log "building tollgate (cargo build -p tollgate)"
  (cd "$ROOT" && cargo build -p tollgate)
  [[ -x "$BIN" ]] || die "cargo build finished but $BIN is missing"
fi

# --- (b) Python environment -----------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
log "pip install -r interop/python/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$INTEROP/python/requirements.txt"

# --- (c) Node environment -------------------------------------------------------------
log "npm ci (interop/node)"
(cd "$INTEROP/node" && npm ci --no-audit --no-fund --loglevel=error)

# --- (d) one server per algorithm, both suites against each -------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits for GET /healthz == 200 while the server process is alive, at most $2 seconds.
wait_healthy() {
  python3 - "$1" "$2" "$SERVER_PID" <<'PY'
import os, sys, time, urllib.request
url, timeout, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(2)  # the server exited
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# The server's environment: no TOLLGATE_* from the caller (Tollgate refuses unknown ones,
# and a stray TOLLGATE_ISSUER or TOLLGATE_AUDIENCES would change what is tested), only ours.
UNSET_TOLLGATE=()
while IFS= read -r name; do
  UNSET_TOLLGATE+=(-u "$name")
done < <(compgen -e | grep '^TOLLGATE_' || true)

ADMIN_ID="interop-admin"
ADMIN_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"  # 48 chars

# Starts the server for one algorithm; sets SERVER_PID, ISSUER and SERVER_LOG.
start_server() {
  local alg="$1" attempt port data
  for attempt in 1 2 3; do
    port="$(free_port)"
    data="$WORK/$alg-$attempt/data"
    SERVER_LOG="$WORK/$alg-$attempt/server.log"
    mkdir -p "$(dirname "$data")"
    env "${UNSET_TOLLGATE[@]}" \
      TOLLGATE_LISTEN="127.0.0.1:$port" \
      TOLLGATE_DATA_DIR="$data" \
      TOLLGATE_SIGNING_ALGORITHM="$alg" \
      TOLLGATE_BOOTSTRAP_CLIENT_ID="$ADMIN_ID" \
      TOLLGATE_BOOTSTRAP_CLIENT_SECRET="$ADMIN_SECRET" \
      "$BIN" serve >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    ISSUER="http://127.0.0.1:$port"
    local rc=0
    wait_healthy "$ISSUER/healthz" "$STARTUP_TIMEOUT" || rc=$?
    if [[ $rc -eq 0 ]]; then
      log "[$alg] tollgate is up at $ISSUER (pid $SERVER_PID)"
      return 0
    fi
    stop_server
    # Another process may have taken the port between free_port and bind: try again.
    if [[ $rc -eq 2 ]] && grep -qi 'in use' "$SERVER_LOG"; then
      log "[$alg] port $port was taken; retrying"
      continue
    fi
    break
  done
  if [[ $rc -eq 2 ]]; then
    log "[$alg] tollgate exited before /healthz answered. Server log:"
  else
    log "[$alg] tollgate did not answer /healthz within ${STARTUP_TIMEOUT}s. Server log:"
  fi
  sed 's/^/  | /' "$SERVER_LOG" >&2
  return 1
}

test_env=()
set_test_env() {
  test_env=(
    INTEROP_ISSUER="$ISSUER"
    INTEROP_ADMIN_ID="$ADMIN_ID"
    INTEROP_ADMIN_SECRET="$ADMIN_SECRET"
    INTEROP_ALG="$1"
  )
}

PASSED=0
FAILED=0
FAILED_SUITES=()

record() { # name rc
  if [[ "$2" -eq 0 ]]; then
    PASSED=$((PASSED + 1))
    log "PASS $1"
  else
    FAILED=$((FAILED + 1))
    FAILED_SUITES+=("$1")
    log "FAIL $1 (exit $2)"
  fi
}

for alg in $ALGS; do
  case "$alg" in ES256 | EdDSA | RS256) ;; *) die "unknown algorithm $alg" ;; esac
  if ! start_server "$alg"; then
    record "python[$alg]" 1
    record "node[$alg]" 1
    continue
  fi
  set_test_env "$alg"
  alg_failed=0

  log "[$alg] python: pytest -q"
  rc=0
  (cd "$INTEROP/python" && env "${test_env[@]}" "$VENV/bin/python" -m pytest -q -p no:cacheprovider) || rc=$?
  record "python[$alg]" "$rc"
  [[ $rc -eq 0 ]] || alg_failed=1

  log "[$alg] node: node --test"
  rc=0
  (cd "$INTEROP/node" && env "${test_env[@]}" node --test --test-reporter=spec test/*.test.js) || rc=$?
  record "node[$alg]" "$rc"
  [[ $rc -eq 0 ]] || alg_failed=1

  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "[$alg] the server died during the tests"
    alg_failed=1
    FAILED=$((FAILED + 1))
    FAILED_SUITES+=("server[$alg]")
  fi
  if [[ $alg_failed -ne 0 ]]; then
    log "[$alg] last lines of the server log:"
    tail -n 40 "$SERVER_LOG" | sed 's/^/  | /' >&2
  fi
  stop_server
done

if [[ $FAILED -ne 0 ]]; then
  log "failed: ${FAILED_SUITES[*]}"
fi
echo "interop: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
