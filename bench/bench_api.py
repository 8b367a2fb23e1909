#!/usr/bin/env python3
"""Reads over the API.

B8  GET /api/jobs/{id} with wrk, keep-alive, 1 thread and 32 connections for SECONDS: the same
    shape as the nginx static-file ceiling of the peer benchmarks (raw.nginx_keepalive).
B9  GET /api/jobs/{id}/runs, page 1 and page 1,000 (size 25, the default: rows 24,976-25,000)
    with 1,000,000 finished runs of that job preloaded with SQL; page 1,000 as a client reaches
    it by following links.next (keyset: ?after= the last run of page 999), and, for
    comparison, by number (?page=1000, OFFSET). One client asks for the three in turn for
    SECONDS a pass, one request at a time, each timed from its send to its last byte, so its
    percentiles are the latency of a lone request and the machine's noise falls on all three
    pages alike. To show
    where the time of a page goes, the statements sked runs for a page (the job's run count,
    then the page itself) are timed on the same store with Python's sqlite3, which uses the
    same SQLite library.

Usage: bench_api.py [B8 B9]    BENCH_API_SECONDS (5), BENCH_B9_RUNS (1000000); BENCH_PASSES"""
import os
import sqlite3
import sys
import time

from benchlib import (NOOP_ARGS, NOOP_TASK, PASSES, RawClient, Server, auth_script, log, median,
                      pct, preload_runs, summary, write_result, wrk)

SECONDS = int(os.environ.get("BENCH_API_SECONDS", "5"))
B9_RUNS = int(os.environ.get("BENCH_B9_RUNS", "1000000"))


def b8():
    log("B8, %d passes of %d s" % (PASSES, SECONDS))
    rps, p99 = [], []
    with Server(NOOP_TASK, NOOP_ARGS) as s:
        job = s.create_job("noop")
        url = s.url("/api/jobs/" + job["id"])
        wrk(url, 32, 1, auth_script())  # warm-up
        for i in range(PASSES):
            w = wrk(url, 32, SECONDS, auth_script())
            assert w["non2xx"] == 0, w["raw"]
            log("  pass %d: %.0f req/s, p50 %.2f ms, p99 %.2f ms" % (i + 1, w["rps"], w["p50"],
                                                                    w["p99"]))
            rps.append(w["rps"])
            p99.append(w["p99"])
    write_result("B8", unit="req/s", figure=summary(rps), p99_ms=summary(p99),
                 server_args=NOOP_ARGS, what="wrk -t1 -c32 -d%ds GET /api/jobs/{id}" % SECONDS)


def sql_times(db, job_id, after_rid, offset, n=50):
    """Median ms of the statements of store_run_list (the count it reads, a keyset page and an
    OFFSET page), run n times each, with the query plan of each."""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    out = {}
    for name, sql, args in (
            ("count", "SELECT coalesce((SELECT n FROM run_count WHERE job_id = ?1), 0) + "
                      "(SELECT count(*) FROM run WHERE job_id = ?1 AND rid > "
                      "(SELECT rid FROM run_count_upto WHERE k = 0))", (job_id,)),
            ("keyset", "SELECT * FROM run WHERE 1 AND job_id = ? AND rid < ? ORDER BY rid DESC "
                       "LIMIT 26 OFFSET 0", (job_id, after_rid)),
            ("offset", "SELECT * FROM run WHERE 1 AND job_id = ? ORDER BY rid DESC "
                       "LIMIT 25 OFFSET ?", (job_id, offset))):
        c.execute(sql, args).fetchall()
        t = []
        for _ in range(n):
            t0 = time.perf_counter()
            c.execute(sql, args).fetchall()
            t.append((time.perf_counter() - t0) * 1000)
        out[name] = median(t)
        out[name + "_plan"] = "; ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql,
                                                                 args))
    c.close()
    return out


def b9():
    log("B9, %d runs preloaded; %d passes of %d s, the pages in turn" % (B9_RUNS, PASSES, SECONDS))
    kinds = ("page1", "page1000", "page1000_offset")
    res = {k: [] for k in kinds}
    with Server(NOOP_TASK, NOOP_ARGS) as s:
        job = s.create_job("noop")
        s.stop()
        t0 = time.monotonic()
        preload_runs(s.db, job["id"], B9_RUNS, "noop", status="S")
        log("  preloaded in %.1f s" % (time.monotonic() - t0))
        s.start()
        base = "/api/jobs/%s/runs" % job["id"]
        st, body = s.call("GET", base + "?page=999")
        assert st == 200 and body["hits"]["total"] == B9_RUNS and len(body["hits"]["hits"]) == 25
        after = body["hits"]["hits"][-1]["id"]
        st, keyset = s.call("GET", base + "?after=" + after)
        st2, offset = s.call("GET", base + "?page=1000")
        assert st == st2 == 200 and keyset["hits"]["hits"] == offset["hits"]["hits"], "pages differ"
        assert keyset["links"]["next"].endswith("after=%s&size=25" % keyset["hits"]["hits"][-1]["id"])
        paths = {"page1": base, "page1000": base + "?after=" + after,
                 "page1000_offset": base + "?page=1000"}
        c = RawClient(s.port)
        raw = {k: c.request("GET", paths[k]) for k in kinds}
        for i in range(PASSES):
            # one client asks for the three pages in turn, each request timed alone from its
            # send to its last byte, so what the machine does meanwhile falls on all three
            # alike (5-s runs of wrk one page after another put p99s of a quarter of a
            # millisecond up to 1.6x apart either way)
            lat = {k: [] for k in kinds}
            end = time.monotonic() + SECONDS
            while time.monotonic() < end:
                for k in kinds:
                    t0 = time.perf_counter()
                    c.send(raw[k])
                    st, _ = c.response_bytes()
                    lat[k].append((time.perf_counter() - t0) * 1000)
                    assert st == 200, (k, st)
            for k in kinds:
                log("  pass %d, %s: p50 %.2f ms, p99 %.2f ms (%d requests)"
                    % (i + 1, k, pct(lat[k], 50), pct(lat[k], 99), len(lat[k])))
                res[k].append(pct(lat[k], 99))
        c.close()
        s.stop()
        rid = sqlite3.connect(s.db).execute("SELECT rid FROM run WHERE id = ?", (after,)).fetchone()[0]
        sql = sql_times(s.db, job["id"], rid, 999 * 25)
        log("  SQL alone: count %.3f ms; page 1,000 keyset %.2f ms, by OFFSET %.2f ms"
            % (sql["count"], sql["keyset"], sql["offset"]))
    write_result("B9", unit="ms", page1=summary(res["page1"]), page1000=summary(res["page1000"]),
                 page1000_offset=summary(res["page1000_offset"]),
                 sql_count_ms=sql["count"], sql_count_plan=sql["count_plan"],
                 sql_keyset_ms=sql["keyset"], sql_keyset_plan=sql["keyset_plan"],
                 sql_offset_ms=sql["offset"], sql_offset_plan=sql["offset_plan"],
                 runs=B9_RUNS, server_args=NOOP_ARGS,
                 what="one client, %d s a pass: GET /api/jobs/{id}/runs, ?after= the last run of "
                      "page 999 (links.next) and ?page=1000 in turn, %d runs in the job"
                      % (SECONDS, B9_RUNS))


def main():
    for w in sys.argv[1:] or ["B8", "B9"]:
        {"B8": b8, "B9": b9}[w]()


if __name__ == "__main__":
    main()
