#!/usr/bin/env python3
"""Where the time goes: B1, B3, B4, B5 and B8 passes under perf, and B1 and B4 passes under
strace -c. Writes bench/out/results/profile.json for bench/report.py.

  CPU      the server's CPU seconds per run (or request), per thread (from
           /proc/PID/task/*/stat): the loop thread (the process's first) against the others
  perf     perf record --call-graph dwarf on the server during the pass; the share of the
           server's samples under each function (inclusive, so nested ones overlap): sked's own
           functions with the largest shares and a few library functions that tell where the
           time goes; and by library (exclusive)
  strace   strace -c -f on the server during a B1 and a B4 pass: system calls per run, and the
           time of the fsyncs under --durability full (strace slows the server; the counts are
           exact, the times are not, except for calls that wait on the disk)

Usage: profile.py    BENCH_PROFILE_RUNS (4000; B3 drains 25 times as many, B4 and B5 run half)"""
import os
import re
import shutil
import signal
import subprocess
import time

from benchlib import (NOOP_ARGS, NOOP_TASK, OUT, TRUE_TASK, Server, auth_script, cpu_seconds,
                      log, loadgen, preload_runs, query, wait_drained, wrk, write_result)

RUNS = int(os.environ.get("BENCH_PROFILE_RUNS", "4000"))

# what the server's functions do, for the table; the functions shown are the ones with the
# largest shares of the pass, whatever their names
LABELS = {
    "event_base_loop": "the event loop: every event handled",
    "process": "an HTTP request: parse, route, answer",
    "api_handle": "authentication, permission, the route's handler",
    "api_runs_create": "`POST /api/jobs/{id}/runs`",
    "api_jobs_get": "`GET /api/jobs/{id}`",
    "api_load_job": "reading the job",
    "api_job_json": "the job as a JSON object",
    "api_run_json": "the run as a JSON object",
    "api_json": "the answer: JSON text and the HTTP response",
    "api_audit": "the audit row of the request",
    "api_audit_text": "the audit row of the request (details as text)",
    "dispatch_after_answers": "the ends of builtins run inline, after the iteration's answers",
    "http_server_flush": "the iteration's answers, written after its commit",
    "dispatch_submit": "creating the run",
    "dispatch_pending": "claims of the iteration's new runs",
    "store_run_insert": "INSERT of the run",
    "store_last_success_start": "`since`: the start of the job's last successful run",
    "store_run_latest": "the job's latest run",
    "store_job_get": "SELECT of a job",
    "claim_runs": "the dispatcher: claims and starts",
    "store_job_notifies": "whether the run's end notifies anyone",
    "json_write": "JSON text (sked's writer)",
    "json_write.localalias": "JSON text (sked's writer)",
    "buf_json_stringn": "JSON strings, escaped",
    "api_reply_run": "the answer: the run as JSON text",
    "api_run_write": "the run as JSON text",
    "run_emit": "the run's fields, written",
    "run_emit.constprop.0": "the run's fields, written",
    "api_job_write": "the job as JSON text",
    "store_audit_append": "INSERT of the audit row",
    "store_run_claim": "the claim",
    "start_run": "starting a claimed run",
    "worker_start_builtin": "starting a builtin",
    "worker_spawn": "a task's process launched, and its pipes",
    "start_cloned": "the clone of a task's process (launch)",
    "on_sigchld": "reaping a child process (and starting the next run in its slot)",
    "worker_exited": "a reaped task's pipes drained and closed",
    "make_pipe": "one of a task's four pipes",
    "on_read": "a task's output read",
    "flush": "the WAL pages gathered by sked's VFS, written",
    "on_ready": "a builtin's end, back on the loop",
    "finish": "the outcome of a run",
    "store_run_update": "guarded UPDATE of a run",
    "store_commit": "commit of a transaction of its own",
    "store_batch_end": "the group commit at the end of a loop iteration",
    "events_publish": "a run event to its subscribers",
    "on_event": "a subscriber (notifications, metrics)",
    "http_reply": "the HTTP response head",
    "sqlite3_step": "all SQLite statements, commits included",
    "sqlite3WalFrames": "pages appended to the WAL",
    "w_sync": "a commit's WAL pages written in one call (and synced with durability full)",
    "read_run": "a run's row, read",
    "sqlite3WalCheckpoint": "WAL checkpoints",
    "json_dumps": "JSON text (jansson)",
    "evbuffer_write_atmost": "writing to sockets",
    "__spawni": "posix_spawn (glibc)",
    "__clone": "clone (glibc): a task's process created",
}

# what else is named when present: library functions that tell where the time of a path goes
ANCHORS = ["sqlite3_step", "sqlite3_prepare_v2", "sqlite3_prepare_v3", "sqlite3WalFrames",
           "sqlite3WalCheckpoint", "json_dumps", "evbuffer_write_atmost", "epoll_wait",
           "__spawni", "posix_spawn", "__clone", "__libc_fork", "waitid", "crypto_generichash",
           "malloc", "free"]


def threads_cpu(pid):
    return {int(t): cpu_seconds(pid, int(t)) for t in os.listdir("/proc/%d/task" % pid)}


def perf_report(data):
    """{symbol: (inclusive %, dso)} and [library, exclusive %] of a perf.data file."""
    rep = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "dso,sym", "-g",
                          "none", "--stdio", "--percent-limit", "0.5"],
                         capture_output=True, text=True).stdout
    incl = {}
    for line in rep.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)", line)
        if m and m.group(4) not in incl:
            incl[m.group(4)] = (float(m.group(1)), m.group(3))
    dso = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso", "-g",
                          "none", "--stdio"], capture_output=True, text=True).stdout
    libs = []
    for line in dso.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
        if m:
            libs.append([re.sub(r"\.so[.\d]*$", "", m.group(2)), float(m.group(1))])
    return incl, libs[:8]


def perf_pass(tmp, tasks, args, prepare, drive):
    """Runs drive(s, ctx) -> units (runs or requests) under perf record; returns wall and CPU
    per unit and the functions with the largest inclusive shares."""
    data = os.path.join(tmp, "perf.data")
    with Server(tasks, args) as s:
        ctx = prepare(s)
        pid = s.proc.pid
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph",
                                 "dwarf,16384", "-p", str(pid), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        cpu0 = threads_cpu(pid)
        t0 = time.time()
        units = drive(s, ctx, t0)
        wall = time.time() - t0
        cpu1 = threads_cpu(pid)
        perf.send_signal(signal.SIGINT)
        perf.wait(120)
    if units == 0:
        raise RuntimeError("nothing was done while perf recorded")
    loop = cpu1[pid] - cpu0.get(pid, 0)
    other = sum(v - cpu0.get(t, 0) for t, v in cpu1.items() if t != pid)
    incl, libs = perf_report(data)
    os.unlink(data)
    own = [(f, v[0]) for f, v in incl.items()
           if v[1] == "sked" and 2 <= v[0] < 90 and f not in ("_start", "main", "server_main")]
    own.sort(key=lambda x: -x[1])
    funcs = [[f, LABELS.get(re.sub(r"\.(part|isra|constprop|cold)\.\d+$", "", f), ""), v]
             for f, v in own[:18]]
    funcs += [[f, LABELS.get(f, "(library)"), incl[f][0]] for f in ANCHORS
              if f in incl and incl[f][0] >= 2]
    return {"units": units, "wall_us": wall / units * 1e6, "loop_cpu_us": loop / units * 1e6,
            "pool_cpu_us": other / units * 1e6, "funcs": funcs, "libs": libs}


def noop_job(s):
    job = s.create_job("noop")
    loadgen(s.port, job["id"], 200, 1)  # warm-up
    wait_drained(s.db)
    return job


def one_client(n):
    def drive(s, job, t0):
        loadgen(s.port, job["id"], n, 1)
        wait_drained(s.db, step=0.02)
        return n
    return drive


def backlog_prepare(n, task="noop"):
    """A backlog of n runs of a new job, held in its paused queue: a drain of 100,000 runs can
    be over within the second perf takes to attach."""
    def prepare(s):
        job = s.create_job(task)
        st, _ = s.call("POST", "/api/queues/default/actions/pause", {"reason": "profile"})
        assert st == 200, st
        s.stop()
        preload_runs(s.db, job["id"], n, task)
        s.start()
        return job
    return prepare


def backlog_drive(s, job, t0):
    """Runs of the backlog that finished while perf was recording: it starts with the resume."""
    st, _ = s.call("POST", "/api/queues/default/actions/resume")
    assert st == 200, st
    wait_drained(s.db, step=0.02)
    return query(s.db, "SELECT count(*) FROM run WHERE finished_at >= ?", (int(t0 * 1e6),))[0][0]


def get_job(s):
    return s.create_job("noop")


def get_drive(s, job, t0):
    w = wrk(s.url("/api/jobs/" + job["id"]), 32, 4, auth_script())
    return w["requests"]


def strace_pass(tmp, args, runs):
    out = os.path.join(tmp, "strace.txt")
    with Server(NOOP_TASK, args) as s:
        job = s.create_job("noop")
        st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(s.proc.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        loadgen(s.port, job["id"], runs, 1)
        wait_drained(s.db)
        st.send_signal(signal.SIGINT)
        st.wait(60)
    calls = []
    with open(out) as f:
        for line in f:
            p = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(p) >= 5 and re.match(r"[\d.]+$", p[0]) and p[-1] != "total":
                calls.append([p[-1], int(p[3]) / runs, int(p[2])])
    calls.sort(key=lambda c: -c[1])
    return {"runs": runs, "per_run": calls[:12],
            "total_per_run": sum(c[1] for c in calls)}


def main():
    tmp = os.path.join(OUT, "work", "profile")
    os.makedirs(tmp, exist_ok=True)
    res = {}
    if shutil.which("perf"):
        plan = [
            ("B1", NOOP_TASK, NOOP_ARGS, noop_job, one_client(RUNS)),
            ("B3", NOOP_TASK, NOOP_ARGS, backlog_prepare(RUNS * 25), backlog_drive),
            ("B4", NOOP_TASK, NOOP_ARGS + ["--durability", "full"], noop_job,
             one_client(RUNS // 2)),
            ("B5", TRUE_TASK, ["--queues", "default=2"], backlog_prepare(RUNS * 2, "true"),
             backlog_drive),
            ("B8", NOOP_TASK, NOOP_ARGS, get_job, get_drive),
        ]
        for wid, tasks, args, prep, drive in plan:
            log("profile: %s under perf" % wid)
            p = perf_pass(tmp, tasks, args, prep, drive)
            res["perf_" + wid] = p
            log("  %d units; %.0f us wall each; loop thread %.0f us CPU, other threads %.0f us; "
                "top: %s" % (p["units"], p["wall_us"], p["loop_cpu_us"], p["pool_cpu_us"],
                             ", ".join("%s %.0f%%" % (f[0], f[2]) for f in p["funcs"][:6])))
    if shutil.which("strace"):
        log("profile: B1 and B4 under strace -c")
        res["strace_b1"] = strace_pass(tmp, NOOP_ARGS, min(RUNS, 2000))
        res["strace_b4"] = strace_pass(tmp, NOOP_ARGS + ["--durability", "full"], 500)
        for k in ("strace_b1", "strace_b4"):
            log("  %s: %.1f system calls per run: %s" % (
                k, res[k]["total_per_run"],
                ", ".join("%s %.2f" % (c[0], c[1]) for c in res[k]["per_run"][:6])))
    shutil.rmtree(tmp, ignore_errors=True)
    write_result("profile", **res)


if __name__ == "__main__":
    main()
