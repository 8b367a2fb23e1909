#!/usr/bin/env python3
"""B6: pickup latency on an idle pool - from the instant a client submits a run to the instant
its task starts - for a builtin job type (in-process) and for a child process.

One keep-alive connection sends POST /api/jobs/{id}/runs; the client takes the wall-clock
instant just before the request bytes leave. After each submit it waits (GAP_MS) until the pool
is idle again, so every run finds a free slot. Task start:
  in-process  the run's started_at, as stored: the claim that hands the run to the builtin pool
  child       the first thing the process does: bench-stamp prints its start instant, which sked
              stores in the run's log; started_at (the claim, just before posix_spawn) is
              reported beside it
Both come from the store after the pass, so they are what was persisted. Same machine, same
clock (CLOCK_REALTIME) on both sides.

Usage: bench_latency.py    samples per pass: BENCH_B6_SAMPLES; passes: BENCH_PASSES"""
import os
import time

from benchlib import (NOOP_ARGS, NOOP_TASK, PASSES, STAMP, RawClient, Server, log, pct,
                      summary, ts, write_result)

SAMPLES = int(os.environ.get("BENCH_B6_SAMPLES", "200"))
GAP_MS = 10


def one_pass(tasks, task, args, child):
    with Server(tasks, args) as s:
        job = s.create_job(task)
        c = RawClient(s.port)
        req = c.request("POST", "/api/jobs/%s/runs" % job["id"], b"{}")
        sent = {}
        for _ in range(SAMPLES):
            t = time.time()
            c.send(req)
            st, run = c.response()
            assert st == 201, run
            sent[run["id"]] = int(t * 1e6)
            time.sleep(GAP_MS / 1000)
        c.close()
        # every run must have ended before its successor was submitted: the pool was idle
        start, claim = [], []
        st, body = s.call("GET", "/api/jobs/%s/runs?size=1000" % job["id"])
        runs = body["hits"]["hits"]
        assert len(runs) == SAMPLES, len(runs)
        for r in runs:
            assert r["status"] == "SUCCESS", r
            t_sub = sent[r["id"]]
            claim.append((ts(r["started_at"]) - t_sub) / 1000)
            if child:
                st, lg = s.call("GET", "/api/jobs/%s/runs/%s/logs" % (job["id"], r["id"]))
                line = [x for x in lg["hits"]["hits"] if x["stream"] == "stdout"][0]
                start.append((int(line["message"]) - t_sub) / 1000)
        return (start if child else claim), claim


def measure(wid, tasks, task, args, child, what):
    p50, p95, p99, claim95 = [], [], [], []
    for i in range(PASSES):
        lat, claim = one_pass(tasks, task, args, child)
        log("  pass %d: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms (claim p95 %.3f ms)"
            % (i + 1, pct(lat, 50), pct(lat, 95), pct(lat, 99), pct(claim, 95)))
        p50.append(pct(lat, 50))
        p95.append(pct(lat, 95))
        p99.append(pct(lat, 99))
        claim95.append(pct(claim, 95))
    write_result(wid, unit="ms", figure=summary(p95), p50_ms=summary(p50), p99_ms=summary(p99),
                 claim_p95_ms=summary(claim95), samples=SAMPLES, server_args=args, what=what)


def main():
    log("B6, %d passes of %d submits" % (PASSES, SAMPLES))
    measure("B6-inproc", NOOP_TASK, "noop", NOOP_ARGS, False,
            "submit -> started_at of a no-op builtin run, idle pool")
    stamp = {"stamp.json": {"id": "stamp", "title": "stamp", "command": [STAMP]}}
    measure("B6-child", stamp, "stamp", ["--queues", "default=2"], True,
            "submit -> first instruction of the child process (bench-stamp), idle pool")


if __name__ == "__main__":
    main()
