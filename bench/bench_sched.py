#!/usr/bin/env python3
"""B7: the scheduler's precision; B10: memory.

B7  A no-op job on a 1-second interval schedule for SECONDS, alone; then again while 1,000 and
    10,000 schedules are active (the others are daily crontabs in Europe/Zurich spread over the
    minutes of the day, preloaded with SQL, so the heap is full while the machine stays idle).
    The server's RSS at the end of each pass, over the alone pass's, per extra schedule, is
    the memory a schedule costs (its heap entry, its job in the registry and the store's cache).
    From each fire's run as stored:
      lateness        started_at - scheduled_for (the task starts vs its due time)
      fire lateness   created - scheduled_for (the run is inserted)
      interval error  | (started_at - previous started_at) - 1 s |
      drift           the largest | scheduled_for - (first scheduled_for + k s) |: due times
                      that are not exact multiples of the interval from the first
    The one schedule alone: BENCH_PASSES passes (each SECONDS long), its figures the medians
    of theirs with their range; with 1,000 and 10,000 schedules one pass each. The p99 of ~20
    fires is their largest.
B10 RSS (VmRSS) of the idle server with an empty store, and with 100,000 scheduled jobs
    preloaded with SQL (daily crontabs as above, each with its next fire time) which the
    scheduler loads at start; read 2 s after sked listens. Median of BENCH_PASSES starts.

Usage: bench_sched.py [B7 B10]    BENCH_B7_SECONDS (20), BENCH_B10_JOBS (100000)"""
import os
import statistics
import sys
import time

from benchlib import (NOOP_ARGS, NOOP_TASK, PASSES, Server, log, pct, preload_scheduled_jobs,
                      summary, ts, write_result)

SECONDS = int(os.environ.get("BENCH_B7_SECONDS", "20"))
B10_JOBS = int(os.environ.get("BENCH_B10_JOBS", "100000"))


def tick(total):
    with Server(NOOP_TASK, NOOP_ARGS) as s:
        if total > 1:
            s.stop()
            preload_scheduled_jobs(s.db, total - 1, "noop")
            s.start()
            st, body = s.call("GET", "/api/jobs?size=1")
            assert body["hits"]["total"] == total - 1, body["hits"]["total"]
        job = s.create_job("noop", schedule={"type": "interval", "seconds": 1})
        time.sleep(SECONDS + 0.5)
        rss = memory(s.proc.pid)["rss"]
        s.call("PATCH", "/api/jobs/" + job["id"], {"active": False})
        time.sleep(0.2)
        st, body = s.call("GET", "/api/jobs/%s/runs?size=1000" % job["id"])
        runs = sorted(body["hits"]["hits"], key=lambda r: r["scheduled_for"])
        assert all(r["status"] == "SUCCESS" for r in runs), runs
        due = [ts(r["scheduled_for"]) for r in runs]
        start = [ts(r["started_at"]) for r in runs]
        late = [(b - a) / 1000 for a, b in zip(due, start)]
        fire = [(ts(r["created"]) - d) / 1000 for r, d in zip(runs, due)]
        interval = [abs((b - a) - 1000000) / 1000 for a, b in zip(start, start[1:])]
        drift = max(abs(d - (due[0] + k * 1000000)) for k, d in enumerate(due)) / 1000
        log("  %d schedules: %d fires; lateness p50 %.3f p95 %.3f p99 %.3f ms, fire p95 %.3f ms, "
            "interval error p95 %.3f ms, drift %.3f ms" % (total, len(runs), pct(late, 50),
                                                            pct(late, 95), pct(late, 99),
                                                            pct(fire, 95), pct(interval, 95), drift))
        return {"fires": len(runs), "lateness_p50_ms": pct(late, 50),
                "lateness_p95_ms": pct(late, 95), "lateness_p99_ms": pct(late, 99),
                "lateness_max_ms": max(late), "fire_lateness_p95_ms": pct(fire, 95),
                "interval_error_p95_ms": pct(interval, 95),
                "interval_error_max_ms": max(interval), "drift_ms": drift, "schedules": total,
                "rss_mib": rss}


def b7():
    log("B7: one schedule, %d passes of %d s; then 1 pass each with 1,000 and 10,000"
        % (PASSES, SECONDS))
    # the one schedule's figures are medians over the passes: a task start a second of the
    # machine's delays in a single pass of 21 fires is a p95 of its own
    ones = [tick(1) for _ in range(PASSES)]
    one = {k: (statistics.median(p[k] for p in ones) if isinstance(v, float) else v)
           for k, v in ones[0].items()}
    one["passes"] = len(ones)
    for k in ("lateness_p95_ms", "interval_error_p95_ms"):
        one[k + "_range"] = [min(p[k] for p in ones), max(p[k] for p in ones)]
    counts = [one] + [tick(n) for n in (1000, 10000)]
    for c in counts[1:]:
        c["bytes_per_schedule"] = (c["rss_mib"] - counts[0]["rss_mib"]) * 1048576 / (c["schedules"] - 1)
        log("  %d schedules: RSS %.1f MiB, %.0f B per schedule"
            % (c["schedules"], c["rss_mib"], c["bytes_per_schedule"]))
    write_result("B7", unit="ms", seconds=SECONDS, one=counts[0], many=counts[-1],
                 schedules_many=10000, counts=counts, server_args=NOOP_ARGS,
                 what="1 s interval no-op job for %d s, alone and with 1,000 and 10,000 active "
                      "schedules" % SECONDS)


def memory(pid):
    """VmRSS, its anonymous and file-backed parts (MiB), and the file mappings with the most
    resident pages."""
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                st[k] = int(v.split()[0])
    files, cur = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            p = line.split()
            if not p[0].endswith(":"):
                cur = p[5] if len(p) > 5 and p[5].startswith("/") else None
            elif p[0] == "Rss:" and cur:
                name = os.path.basename(cur)
                files[name] = files.get(name, 0) + int(p[1])
    top = sorted(files.items(), key=lambda kv: -kv[1])[:6]
    return {"rss": st["VmRSS"] / 1024, "anon": st["RssAnon"] / 1024, "file": st["RssFile"] / 1024,
            "threads": st["Threads"], "top_files": [[k, round(v / 1024, 2)] for k, v in top]}


def rss_after_start(s):
    s.start()
    time.sleep(2)
    m = memory(s.proc.pid)
    startup = s.listening - s.started
    s.stop()
    return m, startup


def b10():
    log("B10, %d starts each" % PASSES)
    with Server(NOOP_TASK, NOOP_ARGS, start=False) as s:
        idle_m = [rss_after_start(s)[0] for _ in range(PASSES)]
    idle = [m["rss"] for m in idle_m]
    log("  idle: %s MiB (anonymous %s, files %s)" % (["%.1f" % m["rss"] for m in idle_m],
                                                  ["%.1f" % m["anon"] for m in idle_m],
                                                  ["%.1f" % m["file"] for m in idle_m]))
    with Server(NOOP_TASK, NOOP_ARGS) as s:
        s.stop()
        preload_scheduled_jobs(s.db, B10_JOBS, "noop")
        r = [rss_after_start(s) for _ in range(PASSES)]
        s.start()
        st, body = s.call("GET", "/api/jobs?size=1")
        assert body["hits"]["total"] == B10_JOBS, body["hits"]["total"]
        s.stop()
    many_m, startup = zip(*r)
    many = [m["rss"] for m in many_m]
    log("  %d scheduled jobs: %s MiB (anonymous %s), start to listening %s s"
        % (B10_JOBS, ["%.1f" % v for v in many], ["%.1f" % m["anon"] for m in many_m],
           ["%.2f" % v for v in startup]))
    write_result("B10", unit="MiB", idle=summary(idle), scheduled=summary(many),
                 idle_anon=summary([m["anon"] for m in idle_m]),
                 idle_file=summary([m["file"] for m in idle_m]),
                 scheduled_anon=summary([m["anon"] for m in many_m]),
                 idle_top_files=idle_m[-1]["top_files"], idle_threads=idle_m[-1]["threads"],
                 startup_s=summary(list(startup)), jobs=B10_JOBS, server_args=NOOP_ARGS,
                 what="VmRSS 2 s after start: empty store; %d scheduled jobs" % B10_JOBS)


def main():
    for w in sys.argv[1:] or ["B7", "B10"]:
        {"B7": b7, "B10": b10}[w]()


if __name__ == "__main__":
    main()
