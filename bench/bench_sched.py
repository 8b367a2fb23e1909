#!/usr/bin/env python3
"""B-sched: firing lateness of a 1-second interval job (created - scheduled_for, as recorded by
sked) with 1, 1,000 and 10,000 active schedules, and the scheduler's memory per schedule
(RSS growth per scheduled job). The other schedules are daily crontabs spread over the day, so
the heap is full but the machine is not busy running them.
Usage: bench_sched.py [SECONDS]"""
import sys
import time

from benchlib import Server, log, pct, ts

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def measure(total):
    s = Server({"true.json": {"id": "true", "title": "true", "command": ["/bin/true"]}})
    try:
        rss0 = s.rss_kib()
        for i in range(total - 1):
            st, _ = s.call("POST", "/api/jobs", {"title": "idle %d" % i, "task": "true",
                                                 "schedule": {"type": "crontab", "minute": str(i % 60),
                                                              "hour": str((i // 60) % 24),
                                                              "timezone": "Europe/Zurich"}})
            assert st == 201
        rss1 = s.rss_kib()
        st, job = s.call("POST", "/api/jobs", {"title": "tick", "task": "true",
                                               "schedule": {"type": "interval", "seconds": 1}})
        time.sleep(SECONDS + 0.5)
        s.call("PATCH", "/api/jobs/" + job["id"], {"active": False})
        st, body = s.call("GET", "/api/jobs/%s/runs?size=1000" % job["id"])
        late = [(ts(r["created"]) - ts(r["scheduled_for"])) * 1000 for r in body["hits"]["hits"]]
        per = (rss1 - rss0) * 1024 / (total - 1) if total > 1 else 0
        return late, per
    finally:
        s.stop()


def main():
    for total in (1, 1000, 10000):
        late, per = measure(total)
        log("%d schedules: %d fires, lateness p50 %.3f ms p99 %.3f ms max %.3f ms, %.0f bytes/schedule" %
            (total, len(late), pct(late, 50), pct(late, 99), max(late), per))
        print("| 1 s interval job with %s active schedules, %d s | %d fires | lateness p50 %.3f ms, p99 %.3f ms, max %.3f ms | %s |"
              % ("{:,}".format(total), SECONDS, len(late), pct(late, 50), pct(late, 99), max(late),
                 ("%.0f B RSS per schedule" % per) if total > 1 else "-"))


if __name__ == "__main__":
    main()
