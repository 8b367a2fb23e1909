#!/usr/bin/env python3
"""B-runs: N runs of a trivial child-process task (/bin/true) submitted over the API by one
client, one at a time, until all are SUCCESS. Reports runs/s end to end and the
enqueue-to-start latency (started_at - created, as recorded by sked) percentiles.
Usage: bench_runs.py [N] [PASSES]"""
import os
import subprocess
import sys
import time

from benchlib import BIN, ROOT, TOKEN, Server, log, median, pct, ts

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
PASSES = int(sys.argv[2]) if len(sys.argv) > 2 else 3
LOADGEN = os.path.join(ROOT, "build", "release", "bench", "bench-loadgen")


def one_pass():
    s = Server({"true.json": {"id": "true", "title": "true", "command": ["/bin/true"]}},
               args=["--queues", "default=2"])
    try:
        st, job = s.call("POST", "/api/jobs", {"title": "bench", "task": "true"})
        assert st == 201, job
        t0 = time.monotonic()
        out = subprocess.run([LOADGEN, "127.0.0.1", str(s.port), TOKEN, job["id"], str(N), "1"],
                             check=True, capture_output=True, text=True).stdout
        t_submit = time.monotonic() - t0
        while True:
            st, body = s.call("GET", "/api/runs?status=SUCCESS,FAILED&size=1")
            if body["hits"]["total"] >= N:
                break
            time.sleep(0.02)
        t_all = time.monotonic() - t0
        lat = []
        page = 1
        while True:
            st, body = s.call("GET", "/api/jobs/%s/runs?size=1000&page=%d" % (job["id"], page))
            hits = body["hits"]["hits"]
            for r in hits:
                lat.append((ts(r["started_at"]) - ts(r["created"])) * 1000)
                assert r["status"] == "SUCCESS", r
            if len(hits) < 1000:
                break
            page += 1
        log("  " + out.strip())
        return N / t_all, N / t_submit, pct(lat, 50), pct(lat, 95), pct(lat, 99)
    finally:
        s.stop()


def main():
    results = []
    for i in range(PASSES):
        r = one_pass()
        log("pass %d: %.0f runs/s end to end, submit %.0f/s, enqueue->start p50 %.2f ms p95 %.2f ms p99 %.2f ms" % ((i + 1,) + r))
        results.append(r)
    cols = list(zip(*results))
    print("| child-process runs of /bin/true, one client, queue of 2 slots, %d runs | %.0f runs/s end to end (submit %.0f/s) | enqueue->start p50 %.2f ms, p95 %.2f ms, p99 %.2f ms |"
          % (N, median(cols[0]), median(cols[1]), median(cols[2]), median(cols[3]), median(cols[4])))


if __name__ == "__main__":
    main()
