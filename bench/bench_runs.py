#!/usr/bin/env python3
"""Run throughput, B1-B5: runs submitted over the API (or preloaded) until every one is SUCCESS.

  B1  one client (bench/loadgen.c, one keep-alive connection) submits no-op runs one at a time
      while the workers run them; default durability
  B2  8 concurrent clients (wrk -t1 -c8, a Lua script that POSTs runs) for a few seconds, then
      until the queue has drained
  B3  a backlog of QUEUED no-op runs preloaded into the store with SQL while sked is stopped;
      sked is started and the time to drain it is measured
  B4  B1 with --durability full
  B5  child-process runs of /bin/true, queue of 2 slots: a preloaded backlog drained as in
      B3, so both slots are always busy, as in the raw posix_spawn ceiling it is compared with
      (2 in flight); output captured and the run recorded, as for any task. The ceiling itself
      (BENCH_SPAWN, bench-spawn-rate) is measured for 2 s right before and right after each
      pass, and once more with sked's child setup

B1, B2 and B4 are also compared with the peer their target names, beanstalkd (in memory for B2,
with its binlog for B1, syncing every write for B4), measured right before and right after each
of their passes when beanstalkd and its client (BENCH_BEANSTALK, bench-beanstalk) are there.

A peer's figure for a pass is the mean of the two measured around it: the machine is shared,
and its speed moves over a minute by more than the margins the targets leave (the ceiling
measured after B5's passes alone went from 4,290 to 5,156 spawns/s within a minute), so a peer
measured on one side only meets a drift the pass did not. The ratios then compare figures of
the same seconds rather than of a `make bench-peers` run made minutes before. B1, B4 and B5,
whose passes last about a second, take RATIO_PASSES passes (at least 5): one pass caught in a
slow second then cannot decide the median.

The figure of each pass is runs / (the last run's finished_at - the instant before the first
submit, or before sked was started for B3): the end of the run is sked's own record, read from
the store after the drain, so polling does not blur it. Reported: median of the passes.

Usage: bench_runs.py [B1 B2 B3 B4 B5]    sizes: BENCH_B1_RUNS, BENCH_B2_SECONDS,
       BENCH_B3_BACKLOG, BENCH_B4_RUNS, BENCH_B5_BACKLOG; passes: BENCH_PASSES"""
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import (NOOP_ARGS, NOOP_TASK, OUT, PASSES, TRUE_TASK, Server, cpu_seconds,
                      loadgen, log, post_runs_script, preload_runs, query, summary, wait_drained,
                      wrk, write_result)

B1_RUNS = int(os.environ.get("BENCH_B1_RUNS", "10000"))
SPAWN = os.environ.get("BENCH_SPAWN")  # bench-spawn-rate: B5's ceiling, measured beside it
BEANSTALK = os.environ.get("BENCH_BEANSTALK")  # bench-beanstalk: beanstalkd beside B1, B2, B4
# beanstalkd's modes (bench/peers/beanstalkd.sh): whether it keeps a binlog, its other
# arguments, and the jobs of a pass (about a second each)
BEANSTALKD_MODES = {"memory": (False, [], 40000), "binlog": (True, [], 25000),
                    "binlog_fsync": (True, ["-f", "0"], 5000)}
B2_SECONDS = int(os.environ.get("BENCH_B2_SECONDS", "5"))
B3_BACKLOG = int(os.environ.get("BENCH_B3_BACKLOG", "100000"))
B4_RUNS = int(os.environ.get("BENCH_B4_RUNS", "3000"))
B5_BACKLOG = int(os.environ.get("BENCH_B5_BACKLOG", "5000"))
RATIO_PASSES = max(PASSES, 5)


def finished(s, t0):
    """(runs SUCCESS, runs not SUCCESS, seconds from t0 to the last finished_at)."""
    ok, bad, last = query(s.db, "SELECT sum(status = 'S'), sum(status != 'S'), max(finished_at) "
                                "FROM run")[0]
    return ok or 0, bad or 0, last / 1e6 - t0


def one_client(tasks, task, args, n):
    """B1, B4: one client, one request at a time."""
    with Server(tasks, args) as s:
        job = s.create_job(task)
        cpu0, com0 = s.cpu_s(), s.commits()
        t0 = time.time()
        out = loadgen(s.port, job["id"], n, 1)
        t_submit = time.time() - t0
        wait_drained(s.db)
        cpu, com = s.cpu_s() - cpu0, s.commits() - com0 - 1
        s.stop()
        ok, bad, secs = finished(s, t0)
        assert ok == n and bad == 0, (ok, bad)
        log("  %s; %d runs in %.2f s = %.0f/s, submit %.0f/s, sked CPU %.0f us/run, "
            "%.2f commits/run" % (out, n, secs, n / secs, n / t_submit, cpu / n * 1e6, com / n))
        return n / secs, n / t_submit, cpu / n * 1e6, com / n


def beanstalkd_pass(mode):
    """jobs/s of one pass of beanstalkd in mode (BEANSTALKD_MODES) on 127.0.0.1, its binlog on
    the disk sked's stores are on; None when beanstalkd or its client is missing or fails."""
    if not BEANSTALK or not shutil.which("beanstalkd"):
        return None
    binlog_on, flags, n = BEANSTALKD_MODES[mode]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binlog = tempfile.mkdtemp(prefix="beanstalkd-", dir=os.path.join(OUT, "work"))
    cmd = ["beanstalkd", "-l", "127.0.0.1", "-p", str(port)]
    cmd += (["-b", binlog] if binlog_on else []) + flags
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        out = subprocess.run([BEANSTALK, str(port), "pool", str(n), "2"], capture_output=True,
                             text=True, timeout=60)
        m = re.search(r"jobs_per_s=(\d+)", out.stdout)
        if out.returncode != 0 or not m:
            log("  beanstalkd (%s) failed: %s" % (mode, out.stderr.strip()[:200]))
            return None
        log("  beanstalkd %s, measured beside: %s jobs/s" % (mode, m.group(1)))
        return float(m.group(1))
    except subprocess.TimeoutExpired:
        log("  beanstalkd (%s) took longer than 60 s" % mode)
        return None
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(binlog, ignore_errors=True)


def beside(mode, figures):
    """The result fields of beanstalkd measured around each pass, when every pass has one."""
    if not figures or None in figures:
        return {}
    return {"beside": {"peer": "beanstalkd", "metric": mode, "per_s": summary(figures)}}


def bracketed(peer, sked_pass):
    """sked_pass() with peer() measured right before and right after it: (its result, the mean
    of the two peer figures, or None when either is missing)."""
    before = peer()
    result = sked_pass()
    after = peer()
    return result, None if before is None or after is None else (before + after) / 2


def b_one_client(wid, tasks, task, args, n, what, mode):
    r, peer = [], []
    for _ in range(RATIO_PASSES):
        result, beside_it = bracketed(lambda: beanstalkd_pass(mode),
                                      lambda: one_client(tasks, task, args, n))
        r.append(result)
        peer.append(beside_it)
    e2e, sub, cpu, com = zip(*r)
    write_result(wid, unit="runs/s", figure=summary(list(e2e)),
                 submit_per_s=summary(list(sub)), cpu_us_per_run=summary(list(cpu)),
                 commits_per_run=summary(list(com)), runs=n, server_args=args, what=what,
                 **beside(mode, peer))


def children_cpu_s():
    """CPU seconds (user + system) of this process's children that have been waited for."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def b2():
    script = post_runs_script()

    def one_pass():
        with Server(NOOP_TASK, NOOP_ARGS) as s:
            job = s.create_job("noop")
            pid = s.proc.pid
            cpu0, loop0, com0 = s.cpu_s(), cpu_seconds(pid, pid), s.commits()
            client0 = children_cpu_s()  # wrk's, once it has been waited for
            t0 = time.time()
            w = wrk(s.url("/api/jobs/%s/runs" % job["id"]), 8, B2_SECONDS, script)
            t_submit = time.time() - t0
            client = children_cpu_s() - client0
            wait_drained(s.db)
            cpu, loop = s.cpu_s() - cpu0, cpu_seconds(pid, pid) - loop0
            com = s.commits() - com0 - 1
            s.stop()
            ok, bad, secs = finished(s, t0)
            assert bad == 0 and w["non2xx"] == 0, (bad, w["non2xx"])
            log("  wrk: %.0f req/s, p99 %.2f ms, wrk CPU %.0f us/req; %d runs done in %.2f s = "
                "%.0f/s, sked CPU %.0f us/run (loop thread %.0f), %.2f commits/run"
                % (w["rps"], w["p99"], client / w["requests"] * 1e6, ok, secs, ok / secs,
                   cpu / ok * 1e6, loop / ok * 1e6, com / ok))
            return (ok / secs, ok / t_submit, w["p99"], cpu / ok * 1e6, ok, com / ok,
                    loop / ok * 1e6, client / w["requests"] * 1e6)

    r, peer = [], []
    for _ in range(PASSES):
        result, beside_it = bracketed(lambda: beanstalkd_pass("memory"), one_pass)
        r.append(result)
        peer.append(beside_it)
    e2e, sub, p99, cpu, n, com, loop, client = zip(*r)
    write_result("B2", unit="runs/s", figure=summary(list(e2e)), submit_per_s=summary(list(sub)),
                 submit_p99_ms=summary(list(p99)), cpu_us_per_run=summary(list(cpu)),
                 loop_cpu_us_per_run=summary(list(loop)),
                 client_cpu_us_per_request=summary(list(client)),
                 commits_per_run=summary(list(com)),
                 runs=list(n), seconds=B2_SECONDS, server_args=NOOP_ARGS,
                 what="wrk -t1 -c8 -d%ds POST /api/jobs/{id}/runs, then until drained" % B2_SECONDS,
                 **beside("memory", peer))


class Probe:
    """GET /healthz every 50 ms on a connection of its own while a backlog drains: whether the
    API still answers, and how late."""

    def __init__(self, port):
        self.port, self.count, self.slowest, self.done = port, 0, 0.0, False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while not self.done:
            t = time.monotonic()
            c.request("GET", "/healthz")
            c.getresponse().read()
            self.slowest = max(self.slowest, time.monotonic() - t)
            self.count += 1
            time.sleep(0.05)
        c.close()

    def stop(self):
        self.done = True
        self.thread.join(130)


def spawn_ceiling(setup=False):
    """posix_spawn + waitpid of /bin/true with 2 in flight for 2 s (bench/peers/c/spawn_rate.c),
    with its children set up as plainly as possible, or as sked sets up a task: spawns/s."""
    log_path = os.path.join(OUT, "work", "children.log")
    cmd = [SPAWN, "2", "2", "/bin/true", log_path] + (["sked"] if setup else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    return float(re.search(r"per_s=(\d+)", out).group(1))


def backlog(wid, tasks, task, args, n, ceiling=False):
    """B3, B5: a backlog of n QUEUED runs preloaded while sked is stopped, then drained. With
    ceiling, the posix_spawn ceiling is measured before and after each pass, and then with
    sked's child setup."""
    def one_pass():
        with Server(tasks, args) as s:
            job = s.create_job(task)
            s.stop()
            preload_runs(s.db, job["id"], n, task)
            t0 = time.time()
            s.start()
            startup = s.listening - s.started
            cpu0 = 0.0  # the process is new: all its CPU time is this drain's
            probe = Probe(s.port)
            wait_drained(s.db)
            probe.stop()
            cpu, com = s.cpu_s() - cpu0, s.commits()
            s.stop()
            ok, bad, secs = finished(s, t0)
            assert ok == n and bad == 0, (ok, bad)
            log("  %d runs drained in %.2f s = %.0f/s (start to listening %.3f s), "
                "sked CPU %.0f us/run, %d commits in all; GET /healthz during the drain: "
                "%d answered, slowest %.3f s" % (ok, secs, ok / secs, startup, cpu / ok * 1e6,
                                                 com, probe.count, probe.slowest))
            return ok / secs, cpu / ok * 1e6, com / ok, com, probe.slowest, probe.count

    r, ceilings = [], []
    for _ in range(RATIO_PASSES if ceiling else PASSES):
        if not (ceiling and SPAWN):
            r.append(one_pass())
            continue
        result, plain = bracketed(spawn_ceiling, one_pass)
        setup = spawn_ceiling(setup=True)
        log("  posix_spawn ceiling, 2 in flight, before and after: %.0f/s; with sked's child "
            "setup: %.0f/s" % (plain, setup))
        r.append(result)
        ceilings.append((plain, setup))
    e2e, cpu, com, commits, slowest, probes = zip(*r)
    extra = {}
    if ceilings:
        plain, setup = zip(*ceilings)
        extra = {"ceiling_per_s": summary(list(plain)), "setup_ceiling_per_s": summary(list(setup))}
    write_result(wid, unit="runs/s", figure=summary(list(e2e)),
                 cpu_us_per_run=summary(list(cpu)), commits_per_run=summary(list(com)),
                 commits=list(commits), healthz_slowest_s=summary(list(slowest)),
                 healthz_answered=list(probes),
                 runs=n, server_args=args,
                 what="%d QUEUED runs of `%s` preloaded with SQL, from sked's start until the "
                      "last finished" % (n, task), **extra)


def main():
    which = sys.argv[1:] or ["B1", "B2", "B3", "B4", "B5"]
    for w in which:
        log("%s, %d passes" % (w, RATIO_PASSES if w in ("B1", "B4", "B5") else PASSES))
        if w == "B1":
            b_one_client("B1", NOOP_TASK, "noop", NOOP_ARGS, B1_RUNS,
                         "bench-loadgen, 1 connection, %d no-op runs" % B1_RUNS, "binlog")
        elif w == "B2":
            b2()
        elif w == "B3":
            backlog("B3", NOOP_TASK, "noop", NOOP_ARGS, B3_BACKLOG)
        elif w == "B4":
            b_one_client("B4", NOOP_TASK, "noop", NOOP_ARGS + ["--durability", "full"], B4_RUNS,
                         "bench-loadgen, 1 connection, %d no-op runs, --durability full" % B4_RUNS,
                         "binlog_fsync")
        elif w == "B5":
            backlog("B5", TRUE_TASK, "true", ["--queues", "default=2"], B5_BACKLOG, ceiling=True)
        else:
            sys.exit("unknown workload " + w)


if __name__ == "__main__":
    main()
