#!/usr/bin/env python3
"""Turn the records of a bench/peers/run.sh session into bench/out/peers.json.

usage: collect.py RECORDS OUT.json PEER...

RECORDS has one line per fact, written by run.sh:
    <pass> RESULT <peer> <metric> <value> <unit>
    <pass> VERSION <peer> <text...>
    <pass> FAILED <peer> <text...>      a peer script failed or timed out in that pass
    - ERROR <peer> <text...>            the peer could not be set up at all (not installed)

The JSON (read by the sked-side benchmark table):
    {"date": ISO, "machine": {"cpus": n, "model": str, "os": str},
     "peers": {"<peer>": {"version": str,
                          "metrics": {"<metric>": {"unit": str, "median": x, "min": x, "max": x,
                                                   "passes": [x, ...]}}}}}
A peer with no figure at all is {"error": "..."}. A peer that has figures but failed in some
pass also has "failures": ["pass N: ..."]. Prints a summary; exits 1 when a metric of EXPECTED
is missing for one of the PEERs given, else 0.
"""
import json
import os
import statistics
import sys
from datetime import datetime, timezone

# The metrics each peer is expected to report: the names the sked-side table reads.
EXPECTED = {
    "celery": ["one_by_one", "one_by_one_no_backend", "pickup_p50_ms", "pickup_p95_ms",
               "beat_interval_error_p95_ms"],
    "bullmq": ["one_by_one", "bulk_c2", "bulk_c16", "pickup_p50_ms", "pickup_p95_ms",
               "scheduler_lateness_p50_ms", "scheduler_lateness_p95_ms"],
    "beanstalkd": ["memory", "binlog", "binlog_fsync", "pickup_p50_ms", "pickup_p95_ms"],
    "graphile_worker": ["one_by_one", "bulk", "pickup_p50_ms", "pickup_p95_ms"],
    "raw": ["spawn_1", "spawn_2", "spawn_2_setup", "sqlite_wal_normal", "sqlite_wal_full",
            "sqlite_wal_full_batch64", "nginx_keepalive", "nginx_keepalive_p99_ms"],
}


def number(s):
    v = float(s)
    return int(v) if v.is_integer() and "." not in s else v


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    system = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    system = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"cpus": len(os.sched_getaffinity(0)), "model": model, "os": system}


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    records, out, peers = sys.argv[1], sys.argv[2], sys.argv[3:]
    results = {p: {} for p in peers}   # peer -> metric -> (unit, [values in pass order])
    versions = {p: [] for p in peers}
    failures = {p: [] for p in peers}
    errors = {}
    with open(records) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if len(parts) < 3 or parts[2] not in results:
                continue
            npass, kind, peer, rest = parts[0], parts[1], parts[2], parts[3:]
            if kind == "RESULT" and len(rest) == 3:
                metric, value, unit = rest
                results[peer].setdefault(metric, (unit, []))[1].append(number(value))
            elif kind == "VERSION":
                text = " ".join(rest)
                if text not in versions[peer]:
                    versions[peer].append(text)
            elif kind == "FAILED":
                failures[peer].append(f"pass {npass}: " + " ".join(rest))
            elif kind == "ERROR":
                errors[peer] = " ".join(rest)

    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": machine(), "peers": {}}
    incomplete = False
    for peer in peers:
        if peer in errors or not results[peer]:
            msg = errors.get(peer) or "; ".join(failures[peer]) or "no figures"
            doc["peers"][peer] = {"error": msg}
            incomplete = True
            continue
        metrics = {}
        order = EXPECTED.get(peer, []) + sorted(set(results[peer]) - set(EXPECTED.get(peer, [])))
        for metric in order:
            if metric not in results[peer]:
                continue
            unit, vals = results[peer][metric]
            metrics[metric] = {"unit": unit, "median": statistics.median(vals),
                               "min": min(vals), "max": max(vals), "passes": vals}
        entry = {"version": "; ".join(versions[peer]) or "?", "metrics": metrics}
        missing = [m for m in EXPECTED.get(peer, []) if m not in metrics]
        if missing:
            incomplete = True
            failures[peer].append("not measured: " + ", ".join(missing))
        if failures[peer]:
            entry["failures"] = failures[peer]
        doc["peers"][peer] = entry

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out + ".new", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(out + ".new", out)

    for peer, entry in doc["peers"].items():
        if "error" in entry:
            print(f"{peer:16} ERROR {entry['error']}")
            continue
        for metric, m in entry["metrics"].items():
            print(f"{peer:16} {metric:28} {m['median']:>10g} {m['unit']:8} "
                  f"[{m['min']:g} - {m['max']:g}] over {len(m['passes'])} passes")
        for fail in entry.get("failures", []):
            print(f"{peer:16} failed {fail}")
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
