#!/usr/bin/env python3
"""Instructions per token request, counted by valgrind's callgrind: a figure that does not
move with whatever else the machine is doing, for comparing two builds on a shared machine.

    python3 bench/callgrind.py --binary target/release/tollgate [--baseline /path/to/old]
        [--requests 2000] [--annotate]

Each build serves one client (ES256, request log on; the candidate with rate limits, metrics
and a quota on, as in bench/compare.py). After a warm-up, the counters are zeroed, `--requests`
token requests are sent over four keep-alive connections, and the counters are dumped: the
instructions the whole process executed for them, divided by their number. `--annotate`
prints the functions that cost the most (callgrind_annotate, inclusive).
"""

import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

CONNECTIONS = 4
WARM_UP = 200


def measure(name, binary, operations, requests, work, annotate, extra_env=None):
    out_dir = os.path.join(work, name + "-cg")
    os.makedirs(out_dir)
    wrapper = ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
               f"--callgrind-out-file={out_dir}/callgrind.out.%p"]
    server = run.Tollgate(binary, os.path.join(work, name), operations=operations,
                          wrapper=wrapper, start_timeout=300.0, extra_env=extra_env)
    try:
        (cid, csec), = server.seed(1, ["reports:export"])

        def send(n):
            conn = server._conn()
            for _ in range(n):
                server.token(cid, csec, conn=conn)
            conn.close()

        with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
            list(pool.map(send, [WARM_UP // CONNECTIONS] * CONNECTIONS))
            subprocess.run(["callgrind_control", "-z", str(server.proc.pid)], check=True,
                           capture_output=True)
            list(pool.map(send, [requests // CONNECTIONS] * CONNECTIONS))
        subprocess.run(["callgrind_control", "-d", "measured", str(server.proc.pid)],
                       check=True, capture_output=True)
    finally:
        server.stop()
    dumps = []
    for path in glob.glob(f"{out_dir}/callgrind.out.*"):
        with open(path, errors="replace") as f:
            if "Trigger: dump measured" in f.read(4096):
                dumps.append(path)
    total = 0
    for dump in dumps:
        with open(dump, errors="replace") as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    per_request = total / (requests // CONNECTIONS * CONNECTIONS)
    print(f"{name}: {per_request:,.0f} instructions per token request "
          f"({total:,} for {requests // CONNECTIONS * CONNECTIONS})")
    if annotate:
        for dump in dumps:
            report = subprocess.run(["callgrind_annotate", "--inclusive=yes", dump],
                                    capture_output=True, text=True).stdout
            print("\n".join(report.splitlines()[:80]))
    return per_request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(run.ROOT, "target", "release", "tollgate"))
    ap.add_argument("--baseline", help="a build from before the operations features")
    ap.add_argument("--operations", choices=["on", "off"], default="on",
                    help="rate limits, metrics and a quota for --binary (default on)")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--annotate", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tollgate-callgrind-")
    results = {}
    if args.baseline:
        results["baseline"] = measure("baseline", args.baseline, False, args.requests, work,
                                      args.annotate)
    on = args.operations == "on"
    results["candidate"] = measure("candidate", args.binary, on, args.requests, work,
                                   args.annotate, None if on else run.operations_off_env())
    if args.baseline:
        base, cand = results["baseline"], results["candidate"]
        print(f"candidate vs baseline: {(cand - base) / base:+.1%} instructions per request")
    print(f"(dumps in {work})")


if __name__ == "__main__":
    main()
