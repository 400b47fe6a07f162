#!/usr/bin/env python3
"""A/B comparison of the token endpoint of two builds, on one machine, in alternating runs.

    python3 bench/compare.py --baseline /path/to/old/tollgate [--candidate target/release/tollgate]

Each build serves one client (ES256, request log on, as in bench/run.py; the candidate with rate
limits, metrics and a quota on, see run.operations_env); wrk loads one, then
the other, `--rounds` times (in ABBA order), so drift in what else the machine does falls on both alike.
Prints requests/s per run and the candidate's change against the baseline, and the server's
CPU time per request (user + system, from /proc): wrk shares the machine's cores with the
server, so throughput moves with how the two are scheduled; the CPU a request costs the
server moves less.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the server wrapper and the wrk driver)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--candidate", default=os.path.join(run.ROOT, "target", "release", "tollgate"))
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--baseline-operations", action="store_true",
                    help="the baseline knows the rate-limit, metrics and quota settings too "
                         "(by default it is a build from before them and runs without)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tollgate-compare-")
    form = "grant_type=client_credentials"
    servers = {}
    try:
        for name, binary in (("baseline", args.baseline), ("candidate", args.candidate)):
            operations = name == "candidate" or args.baseline_operations
            server = run.Tollgate(binary, os.path.join(work, name), operations=operations)
            (cid, csec), = server.seed(1, ["reports:export"])
            servers[name] = (server, run.basic(cid, csec))
        rps = {name: [] for name in servers}
        cpu_us = {name: [] for name in servers}
        for i in range(args.rounds):
            # ABBA: whichever runs second in a round is not always the same build.
            order = list(servers.items())
            for name, (server, auth) in (order if i % 2 == 0 else order[::-1]):
                r = run.wrk(f"{server.base}/oauth2/token", args.duration, args.connections,
                            body=form, auth_lines=[auth], workdir=work, pid=server.proc.pid)
                rps[name].append(r["rps"])
                cpu_us[name].append(r["server_cores"] / r["rps"] * 1e6)
                print(f"compare: {name}: {r['rps']:,.0f} req/s, "
                      f"{cpu_us[name][-1]:.1f} µs server CPU per request", file=sys.stderr)
        base, cand = statistics.mean(rps["baseline"]), statistics.mean(rps["candidate"])
        for name, values in rps.items():
            print(f"{name}: mean {statistics.mean(values):,.0f} req/s, median "
                  f"{statistics.median(values):,.0f}, over {len(values)} runs "
                  f"({', '.join(f'{v:,.0f}' for v in values)})")
        med = statistics.median(rps["candidate"]) / statistics.median(rps["baseline"]) - 1
        print(f"candidate vs baseline: {(cand - base) / base:+.1%} (means), {med:+.1%} (medians)")
        for name, values in cpu_us.items():
            print(f"{name}: server CPU per request, mean {statistics.mean(values):.1f} µs "
                  f"({', '.join(f'{v:.1f}' for v in values)})")
        base_cpu, cand_cpu = statistics.mean(cpu_us["baseline"]), statistics.mean(cpu_us["candidate"])
        print(f"candidate vs baseline, server CPU per request: {(cand_cpu - base_cpu) / base_cpu:+.1%}")
    finally:
        for server, _ in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
