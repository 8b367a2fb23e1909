#!/usr/bin/env python3
"""Writes docs/benchmarks.md from bench/out/results/*.json (what bench/run.sh measured) and
bench/out/peers.json (what `make bench-peers` measured on this machine), when it exists;
without it the peers' reference figures are shown, marked as not measured alongside.
docs/benchmarks-notes.md (the reading of the figures, written by hand) is appended.

Usage: report.py OUTPUT   (the facts of the run - BENCH_COMMIT, BENCH_DIRTY, BENCH_SECONDS,
       BENCH_LOAD_BEFORE, BENCH_LOAD_AFTER, BENCH_COMMANDS - from bench/run.sh's environment or
       the results/session.json it leaves, so the document can be written again after the
       notes change)"""
import json
import os
import platform
import subprocess
import sys

from benchlib import BIN, OUT, ROOT

R = {}
for name in os.listdir(os.path.join(OUT, "results")):
    if name.endswith(".json") and name != "session.json":
        with open(os.path.join(OUT, "results", name)) as f:
            R[name[:-5]] = json.load(f)

SESSION = {}
if os.path.exists(os.path.join(OUT, "results", "session.json")):
    with open(os.path.join(OUT, "results", "session.json")) as f:
        SESSION = json.load(f)
SESSION.update({k: v for k, v in os.environ.items() if k.startswith("BENCH_")})
PEERS_FILE = os.path.join(OUT, "peers.json")
PEERS = None
if os.path.exists(PEERS_FILE):
    with open(PEERS_FILE) as f:
        PEERS = json.load(f)

# The peers' figures of the issue (2 cores, Debian 12, medians of three passes): shown, marked,
# when bench/out/peers.json is absent or lacks one.
REFERENCE = {
    ("bullmq", "one_by_one"): 1680, ("bullmq", "bulk_c2"): 3540,
    ("bullmq", "pickup_p95_ms"): 4, ("bullmq", "scheduler_lateness_p95_ms"): 98,
    ("celery", "one_by_one_no_backend"): 710, ("celery", "pickup_p95_ms"): 4,
    ("celery", "beat_interval_error_p95_ms"): 0.9,
    ("beanstalkd", "binlog"): 7000, ("beanstalkd", "memory"): 12000,
    ("beanstalkd", "binlog_fsync"): 1870, ("beanstalkd", "pickup_p95_ms"): 0.31,
    ("graphile_worker", "bulk"): 1130, ("graphile_worker", "one_by_one"): 454,
    ("raw", "spawn_2"): 2060, ("raw", "nginx_keepalive"): 46500,
}
PEER_NAMES = {"bullmq": "BullMQ", "celery": "Celery", "beanstalkd": "beanstalkd",
              "graphile_worker": "graphile-worker", "raw": "raw"}
METRIC_NAMES = {
    ("bullmq", "one_by_one"): "BullMQ one by one", ("bullmq", "bulk_c2"): "BullMQ bulk",
    ("bullmq", "pickup_p95_ms"): "BullMQ", ("bullmq", "scheduler_lateness_p95_ms"): "BullMQ",
    ("celery", "one_by_one_no_backend"): "Celery", ("celery", "pickup_p95_ms"): "Celery",
    ("celery", "beat_interval_error_p95_ms"): "celery beat",
    ("beanstalkd", "binlog"): "beanstalkd binlog", ("beanstalkd", "memory"): "beanstalkd in memory",
    ("beanstalkd", "binlog_fsync"): "beanstalkd fsync every write",
    ("beanstalkd", "pickup_p95_ms"): "beanstalkd",
    ("graphile_worker", "bulk"): "graphile-worker bulk",
    ("graphile_worker", "one_by_one"): "graphile-worker",
    ("raw", "spawn_2"): "posix_spawn ceiling, 2 in flight",
    ("raw", "spawn_2_setup"): "posix_spawn with sked's child setup, 2 in flight",
    ("raw", "nginx_keepalive"): "nginx static, keep-alive",
}


def peer(name, metric):
    """(value, measured) of a peer's median; measured is False for a reference figure, and the
    value None with the error when the peer's run failed."""
    if PEERS is not None:
        p = PEERS.get("peers", {}).get(name)
        if isinstance(p, dict) and "error" in p:
            return None, "failed: " + str(p["error"])[:80]
        if isinstance(p, dict):
            m = p.get("metrics", {}).get(metric)
            if isinstance(m, dict) and m.get("median") is not None:
                return float(m["median"]), True
    ref = REFERENCE.get((name, metric))
    return ref, False


def num(v, unit):
    if v is None:
        return "-"
    if unit in ("runs/s", "req/s", "/s"):
        return "{:,.0f}".format(v)
    if unit == "MiB":
        return "%.1f" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fig(s, unit, show_unit=True):
    """median [min-max], n passes."""
    u = (" " + unit) if show_unit else ""
    if len(s["passes"]) == 1:
        return "%s%s (1 pass)" % (num(s["median"], unit), u)
    return "%s%s [%s-%s], %d passes" % (num(s["median"], unit), u, num(s["min"], unit),
                                        num(s["max"], unit), len(s["passes"]))


REF_MARK = "<sup>ref</sup>"
any_reference = False


def peer_cell(name, metric, value, unit, factor=None, lower_better=False):
    """One peer comparison: the ratio and, with factor, whether it is met. Returns
    (text, ok) with ok None when the peer has no figure."""
    global any_reference
    pv, measured = peer(name, metric)
    label = METRIC_NAMES.get((name, metric), name)
    if pv is None:
        return "%s: %s" % (label, measured if isinstance(measured, str) else "no figure"), None
    mark = "" if measured is True else REF_MARK
    any_reference = any_reference or measured is not True
    shown = num(pv, unit) + ("/s" if unit == "runs/s" else " " + unit)
    if value is None:
        return "%s %s%s" % (label, shown, mark), None
    ratio = value / pv if pv else float("inf")
    if factor is None:
        return "%.2f× %s (%s%s)" % (ratio, label, shown, mark), None
    ok = ratio >= factor if not lower_better else ratio <= factor
    return "%.2f× %s (%s%s; target %s%g×)" % (ratio, label, shown, mark,
                                               "≥ " if not lower_better else "≤ ", factor), ok


def met(oks):
    oks = [o for o in oks if o is not None]
    if not oks:
        return "-"
    return "met" if all(oks) else "**not met**"


rows = []


def row(bid, workload, figure, target, peers_text, oks):
    rows.append("| %s | %s | %s | %s | %s | %s |" % (bid, workload, figure, target,
                                                     "<br>".join(peers_text) or "-", met(oks)))


def missing(bid, workload):
    rows.append("| %s | %s | not measured (its script failed; see the log of `make bench`) "
                "| | | |" % (bid, workload))


def throughput(bid, workload, target, peer_targets):
    r = R.get(bid)
    if not r:
        return missing(bid, workload)
    v = r["figure"]["median"]
    cells, oks = [], [v >= target]
    b = r.get("beside")
    for name, metric, factor in peer_targets:
        if b and (b["peer"], b["metric"]) == (name, metric):
            # measured right before and after each pass of this workload: the ratio of the same
            # seconds decides, as for B5; the figure of `make bench-peers` is shown beside it
            pv = b["per_s"]
            ok = v / pv["median"] >= factor
            cells.append("%.2f× %s, measured around each pass (%s/s [%s-%s]; target ≥ %g×)"
                         % (v / pv["median"], METRIC_NAMES[(name, metric)],
                            num(pv["median"], "runs/s"), num(pv["min"], "runs/s"),
                            num(pv["max"], "runs/s"), factor))
            cells.append(peer_cell(name, metric, v, "runs/s")[0] + " (`make bench-peers`)")
        else:
            t, ok = peer_cell(name, metric, v, "runs/s", factor)
            cells.append(t)
        oks.append(ok)
    row(bid, workload, fig(r["figure"], "runs/s"), "≥ {:,} runs/s".format(target), cells, oks)


throughput("B1", "one client submits no-op runs one at a time over the API while the workers "
                 "run them, default durability", 5000,
           [("bullmq", "one_by_one", 3), ("celery", "one_by_one_no_backend", 7),
            ("beanstalkd", "binlog", 0.7)])
throughput("B2", "8 concurrent clients (wrk) submit no-op runs, until the queue drains", 20000,
           [("beanstalkd", "memory", 1.5)])
throughput("B3", "drain a preloaded backlog of {:,} queued no-op runs".format(
    R.get("B3", {}).get("runs", 100000)), 10000,
           [("bullmq", "bulk_c2", 3), ("graphile_worker", "bulk", 9)])
throughput("B4", "B1 with `--durability full`", 2800,
           [("beanstalkd", "binlog_fsync", 1.5), ("graphile_worker", "one_by_one", 6)])

r = R.get("B5")
if r:
    v = r["figure"]["median"]
    if "ceiling_per_s" in r:
        # measured right before and after each pass of B5 itself: the ratio of the same
        # seconds decides
        plain, setup = r["ceiling_per_s"]["median"], r["setup_ceiling_per_s"]["median"]
        ok = v / plain >= 0.85
        c = r["ceiling_per_s"]
        cells = ["%.2f× posix_spawn ceiling, 2 in flight, measured around each pass (%s/s "
                 "[%s-%s]; target ≥ 0.85×)" % (v / plain, num(plain, "runs/s"),
                                               num(c["min"], "runs/s"), num(c["max"], "runs/s")),
                 "%.2f× the same with sked's child setup (%s/s)" % (v / setup,
                                                                    num(setup, "runs/s")),
                 peer_cell("raw", "spawn_2", v, "runs/s")[0] + " (`make bench-peers`)"]
    else:
        t, ok = peer_cell("raw", "spawn_2", v, "runs/s", 0.85)
        cells = [t, peer_cell("raw", "spawn_2_setup", v, "runs/s")[0]]
    row("B5", "child-process runs of `/bin/true`, pool of 2, output captured, run recorded: "
              "a preloaded backlog of {:,} drained".format(r["runs"]),
        fig(r["figure"], "runs/s"), "≥ 0.85× the raw posix_spawn ceiling", cells, [ok])
else:
    missing("B5", "child-process runs of `/bin/true`")

for key, label, limit in (("B6-inproc", "pickup latency p95, idle pool, submit → task start, "
                                        "persisted: in-process (builtin)", 1),
                          ("B6-child", "… child process", 2)):
    r = R.get(key)
    if not r:
        missing("B6", label)
        continue
    v = r["figure"]["median"]
    cells = [peer_cell(n, "pickup_p95_ms", v, "ms")[0] for n in ("bullmq", "celery", "beanstalkd")]
    row("B6", label, fig(r["figure"], "ms") + "; p50 %s ms, p99 %s ms" % (
        num(r["p50_ms"]["median"], "ms"), num(r["p99_ms"]["median"], "ms")),
        "p95 ≤ %g ms" % limit, cells, [v <= limit])

r = R.get("B7")
if r:
    one, many = r["one"], r["many"]
    t, _ = peer_cell("bullmq", "scheduler_lateness_p95_ms", one["lateness_p95_ms"], "ms")
    passes = one.get("passes", 1)

    def spread(key):
        lo_hi = one.get(key + "_range")
        return " [%s-%s]" % (num(lo_hi[0], "ms"), num(lo_hi[1], "ms")) if lo_hi else ""
    row("B7", "1 s interval schedule for %d s: lateness vs due time (task start), p95"
        % r["seconds"], "%s ms%s (%d fires, %d pass%s%s); p50 %s ms" % (
            num(one["lateness_p95_ms"], "ms"), spread("lateness_p95_ms"), one["fires"], passes,
            "es" if passes > 1 else "", ", median" if passes > 1 else "",
            num(one["lateness_p50_ms"], "ms")),
        "≤ 5 ms", [t], [one["lateness_p95_ms"] <= 5])
    t, _ = peer_cell("celery", "beat_interval_error_p95_ms", one["interval_error_p95_ms"], "ms")
    row("B7", "… interval error (between task starts), p95",
        "%s ms%s" % (num(one["interval_error_p95_ms"], "ms"), spread("interval_error_p95_ms")),
        "≤ 1 ms", [t], [one["interval_error_p95_ms"] <= 1])
    row("B7", "… drift (due times off the 1 s grid)", "%s ms" % num(one["drift_ms"], "ms"),
        "0", [], [one["drift_ms"] == 0])
    row("B7", "… with {:,} active schedules: lateness p99 (the largest of {} fires)".format(
        r["schedules_many"], many["fires"]), "%s ms (1 pass); p50 %s ms" % (
            num(many["lateness_p99_ms"], "ms"), num(many["lateness_p50_ms"], "ms")),
        "≤ 5 ms", [], [many["lateness_p99_ms"] <= 5])
else:
    missing("B7", "scheduler lateness")

r = R.get("B8")
if r:
    v = r["figure"]["median"]
    t, ok = peer_cell("raw", "nginx_keepalive", v, "req/s", 0.5)
    row("B8", "`GET /api/jobs/{id}`, wrk keep-alive (1 thread, 32 connections)",
        fig(r["figure"], "req/s") + "; p99 %s ms" % num(r["p99_ms"]["median"], "ms"),
        "≥ 0.5× nginx static", [t], [ok])
else:
    missing("B8", "GET /api/jobs/{id}")

r = R.get("B9")
if r:
    a, b = r["page1"]["median"], r["page1000"]["median"]
    runs = "{:,}".format(r["runs"])
    row("B9", "`GET /api/jobs/{id}/runs` page 1, %s runs stored; one client, p99" % runs,
        fig(r["page1"], "ms"), "≤ 10 ms", [], [a <= 10])
    row("B9", "… page 1,000 (size 25) as `links.next` reaches it (`after=`, keyset), p99",
        fig(r["page1000"], "ms"), "≤ 10 ms", [], [b <= 10])
    if "page1000_offset" in r:
        c = r["page1000_offset"]["median"]
        row("B9", "… page 1,000 by number (`page=1000`, OFFSET), p99", fig(r["page1000_offset"], "ms"),
            "≤ 10 ms", [], [c <= 10])
    row("B9", "… both pages alike: the larger p99 over the smaller", "%.2f×" % (max(a, b) / min(a, b)),
        "≤ 1.5×", [], [max(a, b) / min(a, b) <= 1.5])
else:
    missing("B9", "GET /api/jobs/{id}/runs")

r = R.get("B10")
if r:
    row("B10", "memory: RSS of the idle server", fig(r["idle"], "MiB"), "≤ 10 MiB", [],
        [r["idle"]["median"] <= 10])
    row("B10", "… with {:,} scheduled jobs".format(r["jobs"]), fig(r["scheduled"], "MiB"),
        "≤ 100 MiB", [], [r["scheduled"]["median"] <= 100])
else:
    missing("B10", "memory")


# ---- what else was measured alongside ----

def alongside():
    out = ["| | sked CPU per run | store writes (commits) per run | other |", "|---|---|---|---|"]
    for bid in ("B1", "B2", "B3", "B4", "B5"):
        r = R.get(bid)
        if not r:
            continue
        other = ""
        if "submit_per_s" in r:
            other = "submit rate %s runs/s" % num(r["submit_per_s"]["median"], "runs/s")
        if "submit_p99_ms" in r:
            other += ", submit p99 %s ms (wrk)" % num(r["submit_p99_ms"]["median"], "ms")
        if "client_cpu_us_per_request" in r:
            client, loop = r["client_cpu_us_per_request"]["median"], r["loop_cpu_us_per_run"]["median"]
            other += ("; CPU per run: wrk %.0f µs, sked's loop thread %.0f µs: at these, one loop "
                      "thread caps B2 at %s runs/s and two cores (sked's threads and wrk) at %s"
                      % (client, loop, num(1e6 / loop, "runs/s"),
                         num(2e6 / (client + r["cpu_us_per_run"]["median"]), "runs/s")))
        if "commits" in r:
            other = ("store commits during the whole drain: %s; the slowest `GET /healthz` sent "
                     "every 50 ms during the drain: %.2f s (%s answered)" % (
                         ", ".join(str(int(c)) for c in r["commits"]),
                         r["healthz_slowest_s"]["median"],
                         ", ".join(str(c) for c in r["healthz_answered"])))
        out.append("| %s | %.0f µs | %.3f | %s |" % (bid, r["cpu_us_per_run"]["median"],
                                                    r["commits_per_run"]["median"], other))
    for key in ("B6-inproc", "B6-child"):
        r = R.get(key)
        if r:
            out.append("| %s | | | submit → started_at (the claim, as stored) p95 %s ms |"
                       % (key, num(r["claim_p95_ms"]["median"], "ms")))
    r = R.get("B7")
    if r:
        for x in r.get("counts") or [r["one"], r["many"]]:
            n = x.get("schedules", 1 if x is r["one"] else r["schedules_many"])
            mem = ""
            if "bytes_per_schedule" in x:
                mem = "; RSS %.1f MiB, %.0f bytes per schedule" % (x["rss_mib"],
                                                                   x["bytes_per_schedule"])
            out.append("| B7, {:,} schedule{} | | | task start lateness p50 {} ms, p99 {} ms, max {} ms; "
                       "fire (run inserted) lateness p95 {} ms; interval error max {} ms{} |".format(
                           n, "" if n == 1 else "s", num(x["lateness_p50_ms"], "ms"),
                           num(x["lateness_p99_ms"], "ms"), num(x["lateness_max_ms"], "ms"),
                           num(x["fire_lateness_p95_ms"], "ms"),
                           num(x["interval_error_max_ms"], "ms"), mem))
    r = R.get("B9")
    if r:
        out.append("| B9 | | | the page's SQL alone, on the same store: the job's run count %.3f ms "
                   "(%s); page 1,000 by keyset %.2f ms (%s), by OFFSET %.2f ms (%s) |" % (
                       r["sql_count_ms"], r["sql_count_plan"], r["sql_keyset_ms"],
                       r["sql_keyset_plan"], r["sql_offset_ms"], r["sql_offset_plan"]))
    r = R.get("B10")
    if r:
        top = ", ".join("%s %.1f" % (k, v) for k, v in r["idle_top_files"][:5])
        out.append("| B10 | | | idle: anonymous memory %.1f MiB, mapped files (shared libraries, "
                   "the binary) %.1f MiB, %d threads; largest files: %s MiB. With {:,} jobs: "
                   "anonymous %.1f MiB; start to listening %.2f s |".format(r["jobs"]) % (
                       r["idle_anon"]["median"], r["idle_file"]["median"], r["idle_threads"],
                       top, r["scheduled_anon"]["median"], r["startup_s"]["median"]))
    return out


PROFILE_WHAT = {
    "B1": ("B1", "runs", "a pass of one client submitting no-op runs one at a time"),
    "B3": ("B3", "runs", "draining a preloaded backlog (the runs that finished while perf "
                         "recorded)"),
    "B4": ("B4", "runs", "B1 with `--durability full`"),
    "B5": ("B5", "runs", "draining a preloaded backlog of `/bin/true` runs, 2 slots (the runs "
                         "that finished while perf recorded)"),
    "B8": ("B8", "requests", "`GET /api/jobs/{id}`, wrk, 32 connections, 4 s"),
}


def profile():
    p = R.get("profile")
    if not p:
        return ["The profile was not taken (perf or strace missing, or its script failed)."]
    out = ["Each is a pass of its own under `perf record -F 499 --call-graph dwarf` attached to the "
           "server. *CPU per unit* is the server's CPU time over the units done, from "
           "`/proc/PID/task/*/stat`: the loop thread (which runs the API, the scheduler, the "
           "dispatcher and every store call) and the other threads (builtin pool, offload pools). "
           "*Share* is the part of the server's CPU samples spent in a function and its callees "
           "(so nested functions overlap); *µs per unit* is that share of the CPU per unit."]
    for key in ("B1", "B3", "B4", "B5", "B8"):
        q = p.get("perf_" + key)
        if not q:
            continue
        bid, unit, what = PROFILE_WHAT[key]
        total = q["loop_cpu_us"] + q["pool_cpu_us"]
        out += ["", "**%s**, %s: %s %s; %.0f µs of wall time per %s; CPU per %s: loop thread %.0f "
                    "µs (%.0f%% of the wall time), other threads %.0f µs." % (
                        bid, what, "{:,}".format(q["units"]), unit, q["wall_us"], unit[:-1],
                        unit[:-1], q["loop_cpu_us"], 100 * q["loop_cpu_us"] / q["wall_us"],
                        q["pool_cpu_us"]),
                "", "| function | | share | µs per %s |" % unit[:-1], "|---|---|---|---|"]
        for f, label, share in q["funcs"]:
            out.append("| `%s` | %s | %.1f%% | %.0f |" % (f, label.strip(), share,
                                                           share / 100 * total))
        out += ["", "By library (exclusive): " + ", ".join(
            "%s %.1f%%" % (k, v) for k, v in q["libs"]) + "."]
    for k, lab in (("strace_b1", "B1"), ("strace_b4", "B4 (`--durability full`)")):
        if k in p:
            s = p[k]
            out += ["", "%s under `strace -c -f`, %d runs: %.1f system calls per run: %s." % (
                lab, s["runs"], s["total_per_run"],
                ", ".join("`%s` %.2f%s" % (c[0], c[1], " (%.0f µs each)" % c[2]
                                           if c[0] in ("fdatasync", "fsync") else "")
                          for c in s["per_run"][:8]))]
    return out


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return ""


def main():
    out_path = sys.argv[1]
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.0f\", $2/1048576}' /proc/meminfo")
    osname = sh(". /etc/os-release; echo \"$PRETTY_NAME\"")
    ver = sh("%s version" % BIN).split()[-1] if sh("%s version" % BIN) else "?"
    sqlite_v = sh("dpkg-query -W -f='${Version}' libsqlite3-0")
    levent_v = sh("dpkg-query -W -f='${Version}' libevent-2.1-7")
    wrk_v = sh("dpkg-query -W -f='${Version}' wrk")
    commit = SESSION.get("BENCH_COMMIT", "?")
    dirty = SESSION.get("BENCH_DIRTY", "")
    secs = int(SESSION.get("BENCH_SECONDS", "0"))
    L = ["# Benchmarks", "",
         "Measured by `make bench` (bench/run.sh) on %s, commit `%s`%s." % (
             sh("date -u +%Y-%m-%d"), commit,
             " with uncommitted changes in: " + dirty if dirty else ""),
         "",
         "- machine: %s cores (%s), %s GiB, %s, kernel %s; stores on the machine's disk (ext4), "
         "not a tmpfs" % (os.cpu_count(), cpu, mem, osname, platform.release()),
         "- sked %s, release build; SQLite %s, libevent %s, wrk %s, Python %s" % (
             ver, sqlite_v, levent_v, wrk_v, platform.python_version()),
         "- `make bench` took %d min %02d s; load average before it started %s, after %s" % (
             secs // 60, secs % 60, SESSION.get("BENCH_LOAD_BEFORE", "?"),
             SESSION.get("BENCH_LOAD_AFTER", "?"))]
    if PEERS is not None:
        m = PEERS.get("machine", {})
        L.append("- peers: `bench/out/peers.json` from `make bench-peers` on this machine, %s%s; "
                 "each peer figure is the median of its passes" % (
                     PEERS.get("date", "?"),
                     (" (" + ", ".join("%s %s" % (k, v) for k, v in m.items()) + ")")
                     if isinstance(m, dict) and m else ""))
        vers = ["%s: %s" % (PEER_NAMES.get(k, k), v.get("version", "?"))
                for k, v in PEERS.get("peers", {}).items() if isinstance(v, dict)]
        if vers:
            L.append("- peer versions: " + "; ".join(vers))
    else:
        L.append("- peers: not measured alongside (no `bench/out/peers.json`; `make bench-peers` "
                 "writes it): the peers' figures below are the reference figures of the issue "
                 "(2 cores, Debian 12, medians of three passes), marked %s" % REF_MARK)
    L += ["",
          "Figures are medians over the passes noted, [min-max] over the passes. The machine is "
          "shared and has 2 cores for sked, its clients and anything else running, so compare "
          "ratios measured side by side in one run rather than absolute numbers across runs.",
          "", "## Results", "",
          "| | workload | sked | target | vs peers | |", "|---|---|---|---|---|---|"]
    L += rows
    if any_reference:
        L += ["", "%s reference, not measured alongside." % REF_MARK]
    L += ["",
          "Ratios are sked's figure over the peer's (for latencies: lower is better). B1's Celery "
          "figure is Celery without a result backend (`celery.one_by_one_no_backend`, the 710/s of "
          "the target); B9's \"alike\" is read as: page 1,000's p99 (keyset) within 1.5× of page 1's, "
          "the pages asked for in turn by one client. "
          "Memory is in MiB (VmRSS).", "",
          "## Measured alongside", ""]
    L += alongside()
    L += ["", "## Where the time goes", ""]
    L += profile()
    L += ["", "## Commands", "",
          "Every pass starts `sked serve --db DIR/sked.db --listen 127.0.0.1:0 --tasks DIR/tasks.d "
          "--log-level warn` with `SKED_ADMIN_TOKEN` set, on a new store in a new directory under "
          "`bench/out/work/`, plus these flags:", ""]
    flags = {}
    for bid in sorted(R):
        a = R[bid].get("server_args")
        if a is not None:
            flags.setdefault(" ".join(a) or "(none)", []).append(bid)
    for a, ids in flags.items():
        L.append("- `%s`: %s" % (a, ", ".join(ids)))
    L += ["", "What each workload does:", ""]
    for bid in sorted(R, key=lambda k: (len(k.split("-")[0]), k)):
        if "what" in R[bid]:
            L.append("- %s: %s" % (bid, R[bid]["what"]))
    L += ["", "The scripts, as bench/run.sh runs them:", "", "```"]
    L += SESSION.get("BENCH_COMMANDS", "").strip().splitlines()
    L += ["```", ""]
    notes = os.path.join(ROOT, "docs", "benchmarks-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read().rstrip())
        L.append("")
    with open(out_path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
