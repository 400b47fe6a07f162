#!/usr/bin/env python3
"""Console page speed with 100,000 API clients (issue 14's bar: p99 under 50 ms for the clients
list, a search and a client's page). Starts a release `tollgate serve` on SQLite with an owner
from the environment, seeds the clients through the admin API, signs in as a person would, and
loads each page with wrk (2 threads, 8 connections) carrying the session cookie.

    cargo build --release -p tollgate --bin tollgate
    python3 bench/console.py [--clients 100000] [--duration 10] [--binary PATH]

Prints one line per page and a Markdown table for docs/benchmarks.md.
"""
import argparse
import http.client
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import run as bench  # noqa: E402  (bench/run.py: the server wrapper, seeding and wrk parsing)

OWNER_EMAIL = "owner@bench.example"
OWNER_PASSWORD = "bench owner password 0123456789"

WRK_PAGES = r"""
local paths = {}
local cookie = os.getenv("BENCH_COOKIE")
init = function(args)
  for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)], { ["Cookie"] = cookie })
end
"""


def sign_in(port):
    """Signs the owner in through the console's form; returns the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/console/sign-in",
        body=urllib.parse.urlencode({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{port}",
        },
    )
    r = conn.getresponse()
    r.read()
    cookies = [v.split(";", 1)[0] for k, v in r.getheaders() if k.lower() == "set-cookie"]
    session = [c for c in cookies if "session" in c.split("=", 1)[0]]
    if r.status != 303 or not session:
        raise SystemExit(f"sign-in failed: {r.status} {r.getheaders()}")
    return session[0]


def check(port, cookie, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:300]!r}")
    return body.decode()


def load(port, cookie, paths, duration, workdir):
    script = os.path.join(workdir, "pages.lua")
    with open(script, "w") as f:
        f.write(WRK_PAGES)
    listing = os.path.join(workdir, "paths.txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    env = dict(os.environ, BENCH_COOKIE=cookie, BENCH_PATHS_FILE=listing)
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency", "-s", script, f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: bench.to_ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, **lat, "non2xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--binary")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (bench/run.sh installs it)")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(bench.ROOT, "target"))
    binary = args.binary or os.path.join(target, "release", "tollgate")
    work = tempfile.mkdtemp(prefix="tollgate-console-bench-")
    try:
        server = start_with_owner(binary, os.path.join(work, "data"))
        t0 = time.monotonic()
        clients = server.seed(args.clients, ["reports:export"])
        print(f"console-bench: seeded {args.clients:,} clients in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        cookie = sign_in(server.port)
        # Seeded names are bench-<hex>-<n>: "-4242" matches 11 clients, "-123" 111, "-12"
        # 1,111 (past the trigram index's candidate limit), "bench" every one, the last none.
        names = ["-4242", "-99999", "-123", "-12", "bench", "nothing-matches"]
        sample = random.Random(7).sample([cid for cid, _ in clients], min(1000, len(clients)))
        # The list's later pages: follow a few "Next page" links to have cursors deep inside.
        pages = ["/console/clients"]
        body = check(server.port, cookie, pages[0])
        for _ in range(20):
            m = re.search(r'href="(/console/clients\?cursor=[^"]+)"', body)
            if not m:
                break
            pages.append(m.group(1).replace("&amp;", "&"))
            body = check(server.port, cookie, pages[-1])
        searches = [f"/console/clients?q={urllib.parse.quote(n)}" for n in names] + [
            f"/console/clients?q={urllib.parse.quote(cid[:12])}" for cid in sample[:50]
        ]
        details = [f"/console/clients/{cid}" for cid in sample]
        for paths in (pages, searches, details):
            check(server.port, cookie, paths[-1])
        rows = []
        for name, paths in (
            ("clients list (first 21 pages of 50)", pages),
            (f"search by part of a name or id ({len(searches)} queries)", searches),
            ("a client's page (1,000 clients)", details),
        ):
            r = load(server.port, cookie, paths, args.duration, work)
            rows.append((name, r))
            print(f"console-bench: {name}: {r['rps']:,.0f} pages/s, p50 {r['50']:.2f} ms, "
                  f"p90 {r['90']:.2f} ms, p99 {r['99']:.2f} ms, non-2xx {r['non2xx']}", file=sys.stderr)
        server.stop()
        print(f"\n| page, {args.clients:,} clients | pages/s | p50 | p90 | p99 |")
        print("|---|---:|---:|---:|---:|")
        for name, r in rows:
            print(f"| {name} | {r['rps']:,.0f} | {r['50']:.2f} ms | {r['90']:.2f} ms | {r['99']:.2f} ms |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def start_with_owner(binary, data_dir):
    """bench.Tollgate's constructor, plus the console's owner with an optional second factor."""
    server = bench.Tollgate.__new__(bench.Tollgate)
    server.port = bench.free_port()
    server.base = f"http://127.0.0.1:{server.port}"
    server.published = set()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update(
        TOLLGATE_LISTEN=f"127.0.0.1:{server.port}",
        TOLLGATE_DATA_DIR=data_dir,
        TOLLGATE_LOG_LEVEL="warn",
        TOLLGATE_BOOTSTRAP_CLIENT_ID=bench.ADMIN_ID,
        TOLLGATE_BOOTSTRAP_CLIENT_SECRET=bench.ADMIN_SECRET,
        TOLLGATE_BOOTSTRAP_ADMIN_EMAIL=OWNER_EMAIL,
        TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD=OWNER_PASSWORD,
        TOLLGATE_CONSOLE_MFA="optional",
    )
    server.log = open(data_dir + ".log", "ab")
    server.proc = subprocess.Popen([binary, "serve"], env=env, stdout=server.log, stderr=server.log)
    bench.wait_healthy(server.port, server.proc)
    return server


if __name__ == "__main__":
    main()
