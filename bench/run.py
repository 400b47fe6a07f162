#!/usr/bin/env python3
"""Drives bench/run.sh's scenarios: starts servers on loopback, seeds clients through the admin
API, runs wrk at fixed concurrency and duration, and prints a Markdown table.

Only loopback addresses are used; every wrk run is bounded by --duration.
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_ID = "bench-admin"
ADMIN_SECRET = "bench-" + secrets.token_hex(24)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, timeout=30.0, path="/healthz", method="GET"):
    """Polls until the server answers; returns the seconds it took from now."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request(method, path, body=b"" if method == "POST" else None)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status < 500:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.001)
    raise SystemExit("server did not come up")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def operations_env():
    """What runs beside each token request in production, switched on: the rate limits (per
    client id and per address, set far above the load so they count without refusing), the
    failed-authentication backoff (its defaults) and the Prometheus metrics listener."""
    return {
        "TOLLGATE_RATE_LIMIT_TOKEN_CLIENT": "1000000/s burst 1000000",
        "TOLLGATE_RATE_LIMIT_TOKEN_ADDRESS": "1000000/s burst 1000000",
        "TOLLGATE_RATE_LIMIT_INTROSPECTION_CLIENT": "1000000/s burst 1000000",
        "TOLLGATE_RATE_LIMIT_INTROSPECTION_ADDRESS": "1000000/s burst 1000000",
        "TOLLGATE_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
    }


def operations_off_env():
    """Every limit off and no metrics listener: a build with the operations features, run as
    one from before them (bench/callgrind.py --operations off)."""
    return {
        f"TOLLGATE_{k}": "0"
        for k in ("RATE_LIMIT_TOKEN_CLIENT", "RATE_LIMIT_TOKEN_ADDRESS",
                  "RATE_LIMIT_INTROSPECTION_CLIENT", "RATE_LIMIT_INTROSPECTION_ADDRESS",
                  "CLIENT_AUTH_MAX_BACKOFF", "ADDRESS_AUTH_MAX_BACKOFF")
    }


# Every client the benchmark creates has a quota it never reaches, so the quota check runs.
BENCH_QUOTA = {"tokens": 1_000_000_000, "per": "day", "mode": "enforce"}


class Tollgate:
    def __init__(self, binary, data_dir, alg="ES256", log_level="info", operations=True,
                 wrapper=(), start_timeout=30.0, extra_env=None):
        """`wrapper`: a command the binary runs under (bench/callgrind.py's valgrind)."""
        self.operations = operations
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.published = set()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
        env.update(
            TOLLGATE_LISTEN=f"127.0.0.1:{self.port}",
            TOLLGATE_DATA_DIR=data_dir,
            TOLLGATE_SIGNING_ALGORITHM=alg,
            TOLLGATE_LOG_LEVEL=log_level,
            TOLLGATE_BOOTSTRAP_CLIENT_ID=ADMIN_ID,
            TOLLGATE_BOOTSTRAP_CLIENT_SECRET=ADMIN_SECRET,
        )
        if operations:
            env.update(operations_env())
        env.update(extra_env or {})
        # The request log goes to a file, as it would in production.
        self.log = open(os.path.join(data_dir + ".log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([*wrapper, binary, "serve"], env=env, stdout=self.log,
                                     stderr=self.log)
        wait_healthy(self.port, self.proc, timeout=start_timeout)
        self.startup_ms = (time.monotonic() - t0) * 1000

    def stop(self):
        rss = peak_rss_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        return rss

    def _conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def token(self, client_id, secret, conn=None, **extra):
        form = {"grant_type": "client_credentials", **extra}
        c = conn or self._conn()
        c.request(
            "POST",
            "/oauth2/token",
            body=urllib.parse.urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": basic(client_id, secret),
            },
        )
        r = c.getresponse()
        body = json.loads(r.read())
        if r.status != 200:
            raise SystemExit(f"token request failed: {body}")
        return body["access_token"]

    def publish(self, admin, scopes):
        """Registers an API publishing `scopes` (Tollgate's own are published already), as an
        administrator does before creating clients; tokens for them carry its identifier."""
        wanted = [s for s in scopes if not s.startswith("tollgate:")]
        if not wanted or set(wanted) <= self.published:
            return
        conn = self._conn()
        conn.request(
            "POST",
            "/admin/v1/apis",
            body=json.dumps({
                "identifier": f"https://api{len(self.published)}.bench.example",
                "name": f"bench API {secrets.token_hex(4)}",
                "permissions": [{"value": s, "description": "benchmark"} for s in wanted if s not in self.published],
            }),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin}"},
        )
        r = conn.getresponse()
        body = r.read()
        # 404: a build from before the catalogue (measured with --binary), which takes any scope.
        if r.status not in (201, 404):
            raise SystemExit(f"API registration failed: {body}")
        self.published.update(wanted)
        conn.close()

    def seed(self, count, scopes, threads=8):
        """Creates `count` clients through the admin API; returns their (id, secret)."""
        admin = self.token(ADMIN_ID, ADMIN_SECRET, resource=self.base)
        self.publish(admin, scopes)
        prefix = secrets.token_hex(4)

        def work(indices):
            conn = self._conn()
            out = []
            for i in indices:
                new_client = {"name": f"bench-{prefix}-{i}", "scopes": scopes}
                if self.operations:
                    new_client["quota"] = BENCH_QUOTA
                conn.request(
                    "POST",
                    "/admin/v1/clients",
                    body=json.dumps(new_client),
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin}"},
                )
                r = conn.getresponse()
                body = json.loads(r.read())
                if r.status != 201:
                    raise SystemExit(f"create failed: {body}")
                out.append((body["client"]["client_id"], body["client_secret"]))
            conn.close()
            return out

        chunks = [range(i, count, threads) for i in range(threads)]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return [c for part in pool.map(work, chunks) for c in part]


def basic(client_id, secret):
    enc = lambda s: urllib.parse.quote_plus(s)
    return "Basic " + base64.b64encode(f"{enc(client_id)}:{enc(secret)}".encode()).decode()


WRK_SCRIPT = r"""
local headers_list = {}
local body = os.getenv("BENCH_BODY") or ""
local method = os.getenv("BENCH_METHOD") or "POST"
init = function(args)
  local file = os.getenv("BENCH_AUTH_FILE")
  if file ~= nil and file ~= "" then
    for line in io.lines(file) do headers_list[#headers_list + 1] = line end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
request = function()
  local h = {}
  if method == "POST" then h["Content-Type"] = "application/x-www-form-urlencoded" end
  if #headers_list > 0 then h["Authorization"] = headers_list[math.random(#headers_list)] end
  if method == "POST" then return wrk.format(method, nil, h, body) end
  return wrk.format(method, nil, h)
end
"""


def to_ms(value):
    m = re.match(r"([\d.]+)(us|ms|s)", value)
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url, duration, connections, method="POST", body="", auth_lines=None, workdir=".", pid=None):
    script = os.path.join(workdir, "bench.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    env = dict(os.environ, BENCH_METHOD=method, BENCH_BODY=body, BENCH_AUTH_FILE="")
    if auth_lines:
        path = os.path.join(workdir, "auth.txt")
        with open(path, "w") as f:
            f.write("\n".join(auth_lines) + "\n")
        env["BENCH_AUTH_FILE"] = path
    cpu0, t0 = (cpu_seconds(pid), time.monotonic()) if pid else (0, 0)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    server_cores = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) if pid else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    mx = to_ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "max": mx,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
        "server_cores": server_cores,
    }


def combine(results):
    """Repeated runs of one scenario: mean throughput and p50, worst p99 and max."""
    n = len(results)
    return {
        "rps": sum(r["rps"] for r in results) / n,
        "p50": sum(r["p50"] for r in results) / n,
        "p99": max(r["p99"] for r in results),
        "max": max(r["max"] for r in results),
        "non2xx": sum(r["non2xx"] for r in results),
        "socket_errors": "; ".join(r["socket_errors"] for r in results if r["socket_errors"]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="release")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--binary", help="the tollgate binary to measure (default: this build)")
    ap.add_argument("--duration", type=int)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    duration = args.duration or (1 if args.smoke else 10)
    many = 1_000 if args.smoke else 100_000
    spread = 1_000 if args.smoke else 10_000
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # --binary: another build of the server (say, the previous release) under the same load.
    binary = args.binary or os.path.join(target, args.profile, "tollgate")
    hello_bin = os.path.join(target, args.profile, "examples", "bench_hello")
    sign_bin = os.path.join(target, args.profile, "examples", "bench_sign")
    work = tempfile.mkdtemp(prefix="tollgate-bench-")
    rows, notes = [], []
    form = "grant_type=client_credentials"

    def record(name, result, ceiling=None):
        result["name"] = name
        result["ratio"] = result["rps"] / ceiling if ceiling else None
        rows.append(result)
        bad = f"  (non-2xx: {result['non2xx']})" if result["non2xx"] else ""
        print(f"bench: {name}: {result['rps']:,.0f} req/s, p50 {result['p50']} ms, p99 {result['p99']} ms{bad}", file=sys.stderr)

    try:
        hello_port = free_port()
        hello = subprocess.Popen([hello_bin, f"127.0.0.1:{hello_port}"], stderr=subprocess.DEVNULL)
        wait_healthy(hello_port, hello, path="/hello", method="POST")
        ceiling = wrk(f"http://127.0.0.1:{hello_port}/hello", duration, args.connections, body=form, workdir=work)
        record("hello ceiling (same stack, POST form)", ceiling)
        hello.terminate()
        hello.wait()
        ceil = ceiling["rps"]

        # What signing alone allows: one signing thread per core, nothing else running.
        signing = {}
        for alg in ["ES256", "EdDSA", "RS256"]:
            out = subprocess.run([sign_bin, alg, str(min(duration, 3))], capture_output=True,
                                 text=True, check=True).stdout.split()
            signing[alg] = float(out[1])
            print(f"bench: {alg} signing alone: {signing[alg]:,.0f}/s on {out[2]} threads", file=sys.stderr)

        for alg in ["ES256", "EdDSA", "RS256"]:
            server = Tollgate(binary, os.path.join(work, f"data-{alg}"), alg=alg)
            (cid, csec), = server.seed(1, ["reports:export"])
            r = wrk(f"{server.base}/oauth2/token", duration, args.connections, body=form,
                    auth_lines=[basic(cid, csec)], workdir=work, pid=server.proc.pid)
            record(f"token, one client, {alg}", r, ceil)
            notes.append(f"{alg}: signing alone on every core {signing[alg]:,.0f}/s; the token "
                         f"endpoint reached {r['rps'] / signing[alg]:.0%} of it, using "
                         f"{r['server_cores']:.2f} of the {os.cpu_count()} cores (the load "
                         f"generator had the rest): per core it had, "
                         f"{r['rps'] / (signing[alg] * r['server_cores'] / os.cpu_count()):.0%}")
            if alg == "ES256":
                api_id, api_secret = server.seed(1, ["tollgate:introspect"])[0]
                token = server.token(cid, csec)
                r = wrk(f"{server.base}/oauth2/introspect", duration, args.connections,
                        body=f"token={token}", auth_lines=[basic(api_id, api_secret)], workdir=work)
                record("introspection (ES256 token)", r, ceil)
                r = wrk(f"{server.base}/oauth2/jwks", duration, args.connections, method="GET", workdir=work)
                record("JWKS", r, ceil)
                t0 = time.monotonic()
                clients = server.seed(many - 3, ["reports:export"]) + [(cid, csec)]
                seeded = time.monotonic() - t0
                notes.append(f"seeded {many:,} clients through the admin API in {seeded:.1f} s "
                             f"({many / seeded:,.0f} creates/s)")
                rss = server.stop()
                notes.append(f"peak RSS, ES256 server after its scenarios and the seeding: {rss:.1f} MB")
                # One client and many, compared on the same freshly started server, so neither
                # pays for the seeding's aftermath (a large SQLite WAL) and the other not.
                restarted = Tollgate(binary, os.path.join(work, f"data-{alg}"), alg=alg)
                notes.append(f"startup to first /healthz answer with {many:,} clients: {restarted.startup_ms:.0f} ms")
                # The load generator picks a random header from a list of `spread` lines in
                # both (here all the same), so it spends the same on each request and only the
                # server's side differs. The two alternate, twice, so neither always runs first.
                one = [basic(cid, csec)] * spread
                auth = [basic(i, s) for i, s in clients[-spread:]]
                runs = {"one": [], "many": []}
                for _ in range(2):
                    for key, lines in (("one", one), ("many", auth)):
                        runs[key].append(wrk(f"{restarted.base}/oauth2/token", duration,
                                             args.connections, body=form, auth_lines=lines,
                                             workdir=work))
                record(f"token, one client of {many:,}, ES256 (mean of 2)", combine(runs["one"]), ceil)
                record(f"token, {many:,} clients, {spread:,} in use, ES256 (mean of 2)",
                       combine(runs["many"]), ceil)
                gap = 1 - rows[-1]["rps"] / rows[-2]["rps"]
                notes.append(f"{spread:,} clients in use vs one, same server, alternating runs: "
                             f"{gap:.1%} fewer requests/s")
                rss = restarted.stop()
                notes.append(f"peak RSS of a server started on {many:,} clients, after load: {rss:.1f} MB")
            else:
                rss = server.stop()
                notes.append(f"peak RSS, {alg} server under load: {rss:.1f} MB")
            if alg == "ES256":
                quiet = Tollgate(binary, os.path.join(work, "data-quiet"), alg=alg, log_level="warn")
                notes.append(f"startup to first /healthz answer, empty database: {quiet.startup_ms:.0f} ms")
                (qid, qsec), = quiet.seed(1, ["reports:export"])
                r = wrk(f"{quiet.base}/oauth2/token", duration, args.connections, body=form,
                        auth_lines=[basic(qid, qsec)], workdir=work)
                record("token, one client, ES256, request log off (warn)", r, ceil)
                quiet.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.profile} build, wrk -t2 -c{args.connections} -d{duration}s, "
          f"{os.cpu_count()} cores shared by server and load generator\n")
    print("| scenario | requests/s | ratio to hello | p50 ms | p99 ms | max ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "1.00"
        print(f"| {r['name']} | {r['rps']:,.0f} | {ratio} | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.2f} | {r['non2xx']} |")
    print()
    for n in notes:
        print(f"- {n}")
    if any(r["non2xx"] for r in rows):
        print("\nbench: some requests failed (non-2xx); the figures above are not valid", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
