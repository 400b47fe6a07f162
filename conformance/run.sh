#!/usr/bin/env bash
# Conformance of the admin API to its own OpenAPI document (/admin/v1/openapi.json), with
# schemathesis: starts a fresh Tollgate (SQLite, a free loopback port, an empty data
# directory, a bootstrap administrator client), gets an admin token from /oauth2/token, and
# runs schemathesis against the running server with that token. Fails on any 5xx and on any
# response the document does not describe (status, content type, headers, body schema).
#
# Needs: python3 (3.11+, with venv) and the server binary. Environment knobs (none required):
#   CONFORMANCE_TOLLGATE_BIN=path   binary to start (default target/debug/tollgate, built if missing)
#   CONFORMANCE_MAX_EXAMPLES=25     test cases per operation and phase (bounds the running time)
#   CONFORMANCE_SEED=…              schemathesis seed, to replay a run (default: random)
#   CONFORMANCE_STARTUP_TIMEOUT=30  seconds to wait for /healthz
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/conformance"
VENV="$HERE/.venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${CONFORMANCE_TOLLGATE_BIN:-$TARGET_DIR/debug/tollgate}"
MAX_EXAMPLES="${CONFORMANCE_MAX_EXAMPLES:-25}"
STARTUP_TIMEOUT="${CONFORMANCE_STARTUP_TIMEOUT:-30}"

log() { printf 'conformance: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
if [[ ! -x "$BIN" ]]; then
  [[ -n "${CONFORMANCE_TOLLGATE_BIN:-}" ]] && die "CONFORMANCE_TOLLGATE_BIN=$BIN is not an executable"
  log "building tollgate (cargo build -p tollgate)"
  (cd "$ROOT" && cargo build -p tollgate)
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
log "pip install -r conformance/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-conformance.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# No TOLLGATE_* from the caller: the server refuses unknown ones, and a stray setting would
# change what is tested.
UNSET_TOLLGATE=()
while IFS= read -r name; do
  UNSET_TOLLGATE+=(-u "$name")
done < <(compgen -e | grep '^TOLLGATE_' || true)

ADMIN_ID="conformance-admin"
ADMIN_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ISSUER="http://127.0.0.1:$PORT"
env "${UNSET_TOLLGATE[@]}" \
  TOLLGATE_LISTEN="127.0.0.1:$PORT" \
  TOLLGATE_DATA_DIR="$WORK/data" \
  TOLLGATE_BOOTSTRAP_CLIENT_ID="$ADMIN_ID" \
  TOLLGATE_BOOTSTRAP_CLIENT_SECRET="$ADMIN_SECRET" \
  TOLLGATE_LOG_LEVEL=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The admin token, once /healthz answers (fails if the server exits or does not come up).
TOKEN="$(python3 - "$ISSUER" "$STARTUP_TIMEOUT" "$SERVER_PID" "$ADMIN_ID" "$ADMIN_SECRET" <<'PY'
import base64, json, os, sys, time, urllib.parse, urllib.request
issuer, timeout, pid, client_id, secret = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
deadline = time.monotonic() + timeout
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the server exited")
    try:
        with urllib.request.urlopen(issuer + "/healthz", timeout=1) as r:
            if r.status == 200:
                break
    except Exception:
        pass
    if time.monotonic() > deadline:
        sys.exit("the server did not answer /healthz in time")
    time.sleep(0.1)
basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
body = urllib.parse.urlencode({"grant_type": "client_credentials", "resource": issuer}).encode()
request = urllib.request.Request(issuer + "/oauth2/token", data=body, headers={"Authorization": "Basic " + basic})
with urllib.request.urlopen(request, timeout=10) as r:
    print(json.load(r)["access_token"])
PY
)" || { sed 's/^/  | /' "$WORK/server.log" >&2; die "could not get an admin token"; }
log "tollgate is up at $ISSUER (pid $SERVER_PID); running schemathesis"

# Checks: every response check (5xx, status codes, content types, headers, schemas), and
# that the API refuses what the document says is invalid (negative_data_rejection). Left
# out:
# - positive_data_acceptance: the server checks more than a JSON schema can say (a leaked
#   secret's checksum, the algorithms active on this server, the scope grammar of RFC 6749
#   §3.3, unique identifiers), so "valid by the schema" is not "acceptable"; what a schema
#   can say (page sizes, lifetimes, export formats) the document does say.
# - ignored_auth: the token is valid for every operation, so there is no auth to ignore;
#   the integration tests check 401/403 per scope.
# - use_after_free, ensure_resource_availability: they follow OpenAPI links between
#   operations, which the document does not declare.
# Operations left out, because they end the run's own authentication and every later
# request would be a 401 (the integration tests cover both): POST /keys/rotate, whose
# `compromised` rotation retires the key that signed the run's token, and
# DELETE /clients/{client_id} and PATCH /clients/{client_id}, which delete the run's admin
# client, or take its scopes away, once the run has listed it.
seed=()
[[ -n "${CONFORMANCE_SEED:-}" ]] && seed=(--seed "$CONFORMANCE_SEED")
rc=0
# From the scratch directory: schemathesis keeps a cache in the working directory.
(cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" \
  run "$ISSUER/admin/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --exclude-checks positive_data_acceptance,ignored_auth,use_after_free,ensure_resource_availability \
  --exclude-operation-id keys_rotate --exclude-operation-id clients_delete \
  --exclude-operation-id clients_update \
  --max-examples "$MAX_EXAMPLES" \
  --workers 2 \
  --request-timeout 10 \
  --output-sanitize true \
  --report junit --report-dir "$WORK/report" \
  "${seed[@]}") || rc=$?
if [[ $rc -ne 0 ]]; then
  log "schemathesis found problems (exit $rc). Server log:"
  grep -iE 'error|panic' "$WORK/server.log" | tail -40 | sed 's/^/  | /' >&2 || true
fi
exit "$rc"
