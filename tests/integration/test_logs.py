"""Run logs: cursor pages, the search shape, the per-run cap, the live SSE stream, the status
channel's bad lines and invalid UTF-8."""
import http.client
import json
import os
import re
import sqlite3
import subprocess
import threading
import time
import unittest
from urllib.parse import urlsplit

import skedtest
from skedtest import CheckedSked as Sked, sh_task, wait_for

FAST = ["--shutdown-grace", "1s", "--stop-grace", "2s"]

# 25 stdout lines "line N" whose level cycles DEBUG, INFO, WARNING, INFO, ERROR.
LEVELS = sh_task("levels", r'''
i=1
while [ $i -le 25 ]; do
    case $((i % 5)) in
        1) echo "<7>line $i" ;;
        3) echo "<4>line $i" ;;
        0) echo "<3>line $i" ;;
        *) echo "line $i" ;;
    esac
    i=$((i + 1))
done
''')

MANY = sh_task("many", 'seq 1 "$1" | sed "s/^/row /"', extra_argv=["{{n}}"],
               arguments={"type": "object", "properties": {"n": {"type": "integer"}}})

# Two lines, then waits for the file "go" in its working directory, then two more lines and a
# progress update.
STEPPED = sh_task("stepped", r'''
echo "line 1"
echo "line 2"
while [ ! -e go ]; do sleep 0.05; done
echo "line 3"
printf '{"progress":{"done":1,"total":1}}\n' >&3
echo "<4>line 4"
''')

QUICK = sh_task("quick", 'echo "quick a"; echo "quick b" >&2; echo "<6>quick c"')


def path_of(url):
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


class Pages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks={"levels.json": LEVELS, "many.json": MANY}, args=FAST).start()
        cls.run_ = cls.s.wait_run(cls.s.run_job(cls.s.create_job("levels")["id"]))
        assert cls.run_["status"] == "SUCCESS", cls.run_

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)  # stops it and checks its exit

    def page(self, query):
        r = self.s.get("/api/jobs/%s/runs/%s/logs?%s" % (self.run_["job_id"], self.run_["id"], query))
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_cursor_pages(self):
        p1 = self.page("limit=10")
        self.assertEqual([h["seq"] for h in p1["hits"]["hits"]], list(range(1, 11)))
        self.assertEqual([h["message"] for h in p1["hits"]["hits"]][:2], ["line 1", "line 2"])
        self.assertEqual(p1["hits"]["total"], 25)
        self.assertEqual(p1["after"], 10)
        self.assertFalse(p1["complete"])
        self.assertEqual(p1["run_status"], "SUCCESS")
        h = p1["hits"]["hits"][0]
        self.assertEqual(set(h), {"seq", "timestamp", "level", "stream", "message"})
        self.assertEqual((h["level"], h["stream"]), ("DEBUG", "stdout"))

        p2 = self.s.get(path_of(p1["links"]["next"])).json
        self.assertEqual([h["seq"] for h in p2["hits"]["hits"]], list(range(11, 21)))
        p3 = self.s.get(path_of(p2["links"]["next"])).json
        self.assertEqual([h["seq"] for h in p3["hits"]["hits"]], list(range(21, 26)))
        self.assertNotIn("next", p3["links"])
        self.assertTrue(p3["complete"])
        self.assertEqual(p3["after"], 25)

        # a full page that reaches the end of a finished run's log says so
        last = self.page("after=20&limit=5")
        self.assertEqual([h["seq"] for h in last["hits"]["hits"]], list(range(21, 26)))
        self.assertTrue(last["complete"])
        self.assertNotIn("next", last["links"])

        past = self.page("after=25")
        self.assertEqual(past["hits"]["hits"], [])
        self.assertEqual(past["after"], 25)
        self.assertTrue(past["complete"])

    def test_level_filter(self):
        warn = self.page("level=WARNING&limit=4")
        self.assertEqual(warn["hits"]["total"], 10)
        seqs, page = [], warn
        while True:
            seqs += [h["seq"] for h in page["hits"]["hits"]]
            for hit in page["hits"]["hits"]:
                self.assertIn(hit["level"], ("WARNING", "ERROR"))
            if "next" not in page["links"]:
                break
            self.assertIn("level=WARNING", page["links"]["next"])
            page = self.s.get(path_of(page["links"]["next"])).json
        self.assertEqual(seqs, [i for i in range(1, 26) if i % 5 in (0, 3)])
        err = self.page("level=error")
        self.assertEqual([h["seq"] for h in err["hits"]["hits"]], [5, 10, 15, 20, 25])
        self.assertEqual(self.page("level=warn")["hits"]["total"], 10)
        self.assertEqual(self.page("level=DEBUG")["hits"]["total"], 25)

    def test_bad_page_parameters(self):
        base = "/api/jobs/%s/runs/%s/logs" % (self.run_["job_id"], self.run_["id"])
        for query, field in (("level=LOUD", "level"), ("after=-1", "after"), ("after=x", "after"),
                             ("limit=5001", "limit"), ("limit=ten", "limit"),
                             ("after=01", "after"), ("limit=%2B5", "limit"), ("after=", "after"),
                             ("level=", "level"), ("after=1&after=2", "after"),
                             ("lvl=INFO", "lvl")):
            r = self.s.get(base + "?" + query)
            self.assertEqual(r.status, 400, (query, r))
            self.assertIn(field, [e["field"] for e in r.json["errors"]], query)

    def test_search_shape(self):
        run = self.run_
        r = self.s.get("/api/logs/jobs?q=" + run["id"])
        self.assertEqual(r.status, 200, r)
        body = r.json
        hits = body["hits"]["hits"]
        self.assertEqual(body["hits"]["total"], 25)
        self.assertEqual(len(hits), 25)
        self.assertEqual(body["warnings"], [])
        first = hits[0]
        self.assertEqual(first["message"], "line 1")
        self.assertEqual(first["level"], "DEBUG")
        self.assertEqual(first["module"], "stdout")
        self.assertEqual(first["context"], {"job_id": run["job_id"], "run_id": run["id"],
                                            "task_id": run["id"]})
        self.assertEqual(first["sort"], [first["timestamp"], 1])
        self.assertEqual(body["hits"]["sort"], hits[-1]["sort"])
        # the next page: the last hit's sort values as search_after
        ts, seq = hits[9]["sort"]
        r = self.s.get("/api/logs/jobs?q=%s&search_after=%s&search_after=%d" % (
            run["id"], ts.replace("+", "%2B"), seq))
        self.assertEqual([h["message"] for h in r.json["hits"]["hits"]],
                         ["line %d" % i for i in range(11, 26)])
        # an unknown run has no lines; q is required
        r = self.s.get("/api/logs/jobs?q=00000000-0000-4000-8000-000000000000")
        self.assertEqual((r.status, r.json["hits"]["total"], r.json["hits"]["hits"]), (200, 0, []))
        r = self.s.get("/api/logs/jobs")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"][0]["field"], "q")
        # empty, it is refused without the advice to leave it out, which is refused too
        r = self.s.get("/api/logs/jobs?q=")
        self.assertEqual(r.status, 400, r)
        self.assertEqual([(e["field"], e["messages"]) for e in r.json["errors"]],
                         [("q", ["must not be empty: give the id of a run"])])

    def test_search_after_must_be_a_cursor(self):
        """A search_after that holds no sequence number is refused: read as none, it would
        send line 1 again, and a client that lost its cursor would ask for that page for ever."""
        run = self.run_
        base = "/api/logs/jobs?q=" + run["id"]
        ts = self.s.get(base).json["hits"]["hits"][4]["sort"][0]
        for query, fragment in (("search_after=abc", "'abc' is neither"),
                                ("search_after=9223372036854775807", "a whole number from 0 to 4611686018427387903"),
                                ("search_after=-5", "'-5' is neither"),
                                ("search_after=%2B5", "'+5' is neither"),
                                ("search_after=", "must not be empty"),
                                ("search_after=%s" % ts.replace("+", "%2B"), "no sequence number"),
                                ("search_after=%s&search_after=x" % ts.replace("+", "%2B"),
                                 "'x' is neither")):
            with self.subTest(query=query):
                r = self.s.get(base + "&" + query)
                self.assertEqual(r.status, 400, r)
                self.assertEqual([e["field"] for e in r.json["errors"]], ["search_after"])
                self.assertIn(fragment, r.json["errors"][0]["messages"][0])
        # the reference's client sends the timestamp unescaped: its "+" arrives as a space
        for stamp in (ts.replace("+", "%2B"), ts):
            r = self.s.get(base + "&search_after=%s&search_after=5" % stamp)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["hits"]["hits"][0]["message"], "line 6")

    def test_search_pages_past_its_maximum(self):
        run = self.s.wait_run(self.s.run_job(self.s.create_job("many")["id"], args={"n": 2100}))
        self.assertEqual(run["status"], "SUCCESS", run)
        body = self.s.get("/api/logs/jobs?q=" + run["id"]).json
        self.assertEqual(len(body["hits"]["hits"]), 2000)
        self.assertEqual(body["hits"]["total"], 2100)
        self.assertEqual(len(body["warnings"]), 1)
        self.assertEqual(body["warnings"][0]["type"], "truncated_results")
        self.assertEqual(body["warnings"][0]["total_available"], 2100)
        last_seq = body["hits"]["sort"][1]
        rest = self.s.get("/api/logs/jobs?q=%s&search_after=%d" % (run["id"], last_seq)).json
        self.assertEqual([h["message"] for h in rest["hits"]["hits"]],
                         ["row %d" % i for i in range(2001, 2101)])
        self.assertEqual(rest["warnings"], [])


# Lines "row N" whose level follows N (ERROR, WARNING, DEBUG, INFO), in rounds: 40 lines, then
# 60 more once the file go1 exists, then 25,000 once go2 does, then 10 once go3 does.
GROWING = sh_task("growing", r'''
emit() {
    seq "$1" "$2" | awk '{ if ($1 % 7 == 0) print "<3>row " $1; else if ($1 % 3 == 0) print "<4>row " $1;
                           else if ($1 % 2 == 0) print "<7>row " $1; else print "row " $1 }'
}
emit 1 40
while [ ! -e go1 ]; do sleep 0.05; done
emit 41 100
while [ ! -e go2 ]; do sleep 0.05; done
emit 101 25100
while [ ! -e go3 ]; do sleep 0.05; done
emit 25101 25110
''')

LEVEL_ORDER = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Counts(unittest.TestCase):
    """A page's total, after and complete, of a log that grows between pages and once it is
    finished, with and without a level filter: counts kept between pages (the count of a long
    log is not read again for each page) never say anything but what a count would."""

    def check(self, s, run, lines, finished):
        for level in (None, "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            mine = [l for l in lines
                    if LEVEL_ORDER.index(l["level"]) >= LEVEL_ORDER.index(level or "DEBUG")]
            seqs = [l["seq"] for l in mine]
            q = "&level=%s" % level if level else ""
            for _ in range(2):  # counted, then kept
                for after, limit in ((0, 7), (0, 5000), (seqs[-1] if seqs else 0, 7),
                                     (seqs[len(seqs) // 2] if seqs else 0, 3)):
                    r = s.get("/api/jobs/%s/runs/%s/logs?after=%d&limit=%d%s" % (
                        run["job_id"], run["id"], after, limit, q))
                    self.assertEqual(r.status, 200, r)
                    page = r.json
                    want = [x for x in seqs if x > after][:limit]
                    self.assertEqual([h["seq"] for h in page["hits"]["hits"]], want)
                    self.assertEqual(page["hits"]["total"], len(seqs), (level, after, limit))
                    self.assertEqual(page["after"], want[-1] if want else after)
                    ended = len(want) < limit or (want and want[-1] >= lines[-1]["seq"])
                    self.assertEqual(page["complete"], bool(finished and ended),
                                     (level, after, limit))
        r = s.get("/api/logs/jobs?q=%s&search_after=%d" % (run["id"], lines[-1]["seq"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["hits"]["total"], len(lines))

    def test_totals_stay_exact_as_a_log_grows_and_once_it_ends(self):
        with Sked(tasks={"growing.json": GROWING}, args=FAST) as s:
            run = s.run_job(s.create_job("growing")["id"])
            for n, go in ((40, "go1"), (100, "go2"), (25100, "go3"), (25110, None)):
                wait_for(lambda: len(s.all_logs(run)) >= n, timeout=60, what="%d lines" % n)
                if go is None:
                    run = s.wait_run(run)
                    self.assertEqual(run["status"], "SUCCESS")
                lines = s.all_logs(run)
                self.assertEqual(len(lines), n)
                self.check(s, run, lines, finished=go is None)
                if go:
                    open(os.path.join(s.tasks_dir, go), "w").close()


class Cap(unittest.TestCase):
    def test_flood_stays_within_the_cap(self):
        # at least 10 MB of 1000-byte lines, then more until told to stop
        flood = sh_task("flood", r'''
line=$(printf '%0999d' 0)
i=0
while [ $i -lt 10 ] || [ ! -e go ]; do
    yes "$line" | head -c 1048576
    i=$((i + 1))
done
echo "<3>after the flood" >&2
''')
        cap = 1024 * 1024
        with Sked(tasks={"flood.json": flood, "quick.json": QUICK},
                  args=FAST + ["--log-cap", "1M"]) as s:
            fl = s.run_job(s.create_job("flood")["id"])
            wait_for(lambda: len(s.logs(fl, limit=1)) > 0, what="the flood's first lines")
            t0 = time.time()
            q = s.wait_run(s.run_job(s.create_job("quick")["id"]), timeout=15)
            self.assertEqual(q["status"], "SUCCESS", q)
            self.assertLess(time.time() - t0, 5, "a flooding task starved another run")
            self.assertEqual(s.get_run(fl)["status"], "RUNNING")  # it really was meanwhile
            t1 = time.time()
            self.assertEqual(s.get("/healthz").status, 200)
            self.assertLess(time.time() - t1, 2)
            # past 10 MB: let it end
            wait_for(lambda: "truncated" in json.dumps(s.logs(fl, level="WARNING")),
                     what="the truncation line")
            time.sleep(0.5)
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            done = s.wait_run(fl, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            lines = s.all_logs(done)
            marks = [l for l in lines if "log truncated" in l["message"]]
            self.assertEqual(len(marks), 1, [l["message"] for l in marks])
            self.assertEqual((marks[0]["level"], marks[0]["stream"]), ("WARNING", "sked"))
            self.assertIs(marks[0], lines[-1])  # nothing is stored after the mark
            stored = sum(len(l["message"].encode()) for l in lines if l["stream"] != "sked")
            self.assertLessEqual(stored, cap)
            self.assertGreater(stored, cap - 2000)  # the cap was used, not a tiny fraction
            self.assertEqual(len(lines), 1 + stored // 999)


    def test_empty_lines_count_toward_the_cap(self):
        # an empty line costs a stored row like any other: it counts its newline
        empty = sh_task("empty", 'yes "" | head -n 200000')
        with Sked(tasks={"empty.json": empty}, args=FAST + ["--log-cap", "64K"]) as s:
            run = s.wait_run(s.run_job(s.create_job("empty")["id"]), timeout=30)
            self.assertEqual(run["status"], "SUCCESS", run)
            r = s.get("/api/jobs/%s/runs/%s/logs?limit=1" % (run["job_id"], run["id"]))
            self.assertEqual(r.json["hits"]["total"], 64 * 1024 + 1)  # and the truncation line
            marks = s.logs(run, level="WARNING")
            self.assertEqual(len(marks), 1, marks)
            self.assertIn("log truncated", marks[0]["message"])

    def test_a_page_of_long_lines_ends_at_a_mebibyte(self):
        """5,000 lines of 16 KiB, each byte a control character written as six in JSON, made
        a page of 480 MB built on the loop: a page (and a search) ends at the line that brings
        its messages to 1 MiB, and links.next, `sked logs` and the search's cursor go on."""
        wide = sh_task("wide", r"""
i=0; while [ $i -lt 160 ]; do head -c 16000 /dev/zero | tr '\0' '\1'; echo; i=$((i+1)); done
echo end
""")
        with Sked(tasks={"wide.json": wide}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("wide")["id"]), timeout=60)
            self.assertEqual(run["status"], "SUCCESS", run)
            base = "/api/jobs/%s/runs/%s/logs" % (run["job_id"], run["id"])
            first = s.get(base + "?limit=5000").json
            # 65 lines make 1,040,000 bytes, the 66th passes 1 MiB
            self.assertEqual(len(first["hits"]["hits"]), 66)
            self.assertEqual((first["after"], first["complete"], first["hits"]["total"]), (66, False, 161))
            second = s.get(path_of(first["links"]["next"])).json
            self.assertEqual([h["seq"] for h in second["hits"]["hits"]], list(range(67, 133)))
            lines = s.all_logs(run)
            self.assertEqual([l["seq"] for l in lines], list(range(1, 162)))
            self.assertEqual(lines[-1]["message"], "end")
            self.assertEqual(set(lines[0]["message"]), {"\x01"})
            found = s.get("/api/logs/jobs?q=" + run["id"]).json
            self.assertEqual(len(found["hits"]["hits"]), 66)
            self.assertEqual([w["type"] for w in found["warnings"]], ["truncated_results"])
            out = subprocess.run([skedtest.BIN, "logs", run["id"], "--json"], capture_output=True,
                                 text=True, timeout=60, env=dict(os.environ, SKED_URL=s.url,
                                                                 SKED_TOKEN=skedtest.TOKEN))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual([json.loads(l)["seq"] for l in out.stdout.splitlines()], list(range(1, 162)))


class Stream(unittest.TestCase):
    def test_a_slow_reader_misses_nothing(self):
        burst = sh_task("burst", r'''
echo ready
while [ ! -e go ]; do sleep 0.05; done
yes "$(printf '%0499d' 0)" | head -c 3000000
''')
        with Sked(tasks={"burst.json": burst}, args=FAST + ["--log-cap", "1M"]) as s:
            run = s.run_job(s.create_job("burst")["id"])
            wait_for(lambda: s.logs(run), what="the ready line")
            with s.sse(run, rcvbuf=16384, timeout=30) as st:
                self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
                self.assertEqual(st.next_event()["data"]["message"], "ready")
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                # not reading while about 1.3 MB of events pile up
                s.wait_run(run)
                time.sleep(0.3)
                rest = st.read_all()
                self.assertTrue(st.closed)
            stored = s.all_logs(run)
            got = [e for e in rest if e["event"] == "log"]
            self.assertEqual([int(e["id"]) for e in got], [l["seq"] for l in stored[1:]])
            self.assertEqual([e["data"]["message"] for e in got], [l["message"] for l in stored[1:]])
            self.assertGreater(len(got), 2000)
            self.assertIn("log truncated", got[-1]["data"]["message"])
            self.assertEqual((rest[-2]["event"], rest[-2]["data"]["status"]), ("status", "SUCCESS"))

    def test_a_level_filter_reads_a_long_log_in_windows(self):
        """A stream at a level catches up on a log mostly below it: the store is read in
        windows a turn of the loop at a time, and every line of the level arrives once, in
        order, before the final status; what a client sends as `after` is honoured inside
        a window too."""
        chatty = skedtest.task_file("chatty", ["python3", "-c", r"""
import sys
for i in range(1, 60001):
    if i % 7001 == 0:
        sys.stderr.write("err %d\n" % i)
    else:
        sys.stdout.write("line %d\n" % i)
"""])
        with Sked(tasks={"chatty.json": chatty}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("chatty")["id"]))
            errors = [l for l in s.all_logs(run, level="ERROR")]
            self.assertEqual([l["message"] for l in errors],
                             ["err %d" % i for i in range(7001, 60001, 7001)])
            for after, want in ((None, errors), (errors[2]["seq"] - 1, errors[2:]),
                                (errors[2]["seq"], errors[3:])):
                with s.sse(run, level="ERROR", after=after, timeout=30) as st:
                    events = st.read_all()
                got = [e for e in events if e["event"] == "log"]
                self.assertEqual([int(e["id"]) for e in got], [l["seq"] for l in want])
                self.assertEqual([e["data"]["message"] for e in got], [l["message"] for l in want])
                self.assertEqual([e["event"] for e in events[-2:]], ["status", "end"])
                self.assertEqual(events[-2]["data"]["status"], "SUCCESS")

    def test_the_stream_of_a_run_whose_job_is_deleted_ends_at_once(self):
        # a builtin that logs a line every 50 ms until it is stopped
        with Sked(args=FAST) as s:
            job = s.create_job("reindex", args={"steps": 1000, "step_seconds": 0.05})
            run = s.run_job(job["id"])
            wait_for(lambda: len(s.logs(run)) >= 2, what="the first two lines")
            # nothing arrives for 15 s but a ping: the socket's timeout catches a stream that
            # waits for one to end
            with s.sse(run, timeout=5) as st:
                self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
                self.assertEqual([st.next_event()["id"] for _ in range(2)], ["1", "2"])
                self.assertEqual(s.delete("/api/jobs/" + job["id"]).status, 204)
                rest = st.read_all()
                self.assertTrue(st.closed)
            self.assertEqual([(e["event"], (e["data"] or {}).get("status")) for e in rest[-2:]],
                             [("status", "CANCELLED"), ("end", None)])

    def test_the_last_lines_of_a_run_whose_job_is_deleted_are_streamed_without_a_gap(self):
        """A task killed as its job is deleted: what sked says of its end reaches the run's
        streams, numbered on from the lines before (the kill's line was dropped, a gap)."""
        task = sh_task("naps", "trap '' TERM; echo started; exec sleep 30")  # killed after the grace
        with Sked(tasks={"naps.json": task}, args=FAST) as s:
            job = s.create_job("naps")
            run = s.run_job(job["id"])
            wait_for(lambda: s.logs(run), what="the first line")
            with s.sse(run, timeout=10) as st:
                self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
                self.assertEqual(st.next_event()["id"], "1")
                self.assertEqual(s.delete("/api/jobs/" + job["id"]).status, 204)
                rest = st.read_all()
            ids = [int(e["id"]) for e in rest if e["event"] == "log"]
            self.assertTrue(ids, rest)
            self.assertEqual(ids, list(range(2, 2 + len(ids))), rest)
            self.assertEqual([e["event"] for e in rest[-2:]], ["status", "end"])

    def test_a_client_leaving_mid_stream(self):
        with Sked(tasks={"stepped.json": STEPPED}, args=FAST) as s:
            run = s.run_job(s.create_job("stepped")["id"])
            wait_for(lambda: len(s.logs(run)) == 2, what="the first two lines")
            gone = s.sse(run)
            self.assertEqual(gone.next_event()["event"], "status")
            self.assertEqual(gone.next_event()["id"], "1")
            with s.sse(run) as stays:
                gone.close()  # leaves with unread events and its subscription open
                time.sleep(0.2)
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                events = stays.read_all()
            self.assertEqual([e["id"] for e in events if e["event"] == "log"], ["1", "2", "3", "4"])
            self.assertEqual(events[-2]["data"]["status"], "SUCCESS")
            self.assertEqual(s.get("/healthz").status, 200)

    def test_existing_then_live_lines_then_final_status(self):
        with Sked(tasks={"stepped.json": STEPPED}, args=FAST) as s:
            run = s.run_job(s.create_job("stepped")["id"])
            wait_for(lambda: len(s.logs(run)) == 2, what="the first two lines")
            with s.sse(run) as st:
                self.assertEqual(st.status, 200)
                self.assertTrue(st.headers["content-type"].startswith("text/event-stream"))
                ev = st.next_event()
                self.assertEqual((ev["event"], ev["data"]["status"]), ("status", "RUNNING"))
                self.assertEqual(ev["data"]["run"]["id"], run["id"])
                for n in (1, 2):
                    ev = st.next_event()
                    self.assertEqual((ev["event"], ev["id"]), ("log", str(n)))
                    self.assertEqual(ev["data"]["message"], "line %d" % n)
                    self.assertEqual(ev["data"]["seq"], n)
                # the task is blocked: what follows can only arrive live
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                rest = st.read_all()
                self.assertTrue(st.closed)
            logs = [e for e in rest if e["event"] == "log"]
            self.assertEqual([(e["id"], e["data"]["message"], e["data"]["level"]) for e in logs],
                             [("3", "line 3", "INFO"), ("4", "line 4", "WARNING")])
            progress = [e for e in rest if e["event"] == "progress"]
            self.assertTrue(progress, rest)
            self.assertEqual(progress[-1]["data"]["progress"], {"done": 1, "total": 1})
            self.assertEqual(rest[-1], {"event": "end", "id": None, "data": {}})  # then it closes
            final = rest[-2]
            self.assertEqual(final["event"], "status")
            self.assertEqual(final["data"]["status"], "SUCCESS")
            self.assertEqual(final["data"]["run"]["status"], "SUCCESS")
            self.assertIsNotNone(final["data"]["run"]["finished_at"])

    def test_resume_with_last_event_id_or_after(self):
        with Sked(tasks={"stepped.json": STEPPED}, args=FAST) as s:
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            run = s.wait_run(s.run_job(s.create_job("stepped")["id"]))
            for kw, expect in (({}, ["1", "2", "3", "4"]), ({"last_event_id": 2}, ["3", "4"]),
                               ({"after": 3}, ["4"]), ({"after": 1, "last_event_id": 3}, ["4"]),
                               ({"level": "WARNING"}, ["4"]), ({"after": 4}, [])):
                with s.sse(run, **kw) as st:
                    events = st.read_all()
                    self.assertTrue(st.closed)
                ids = [e["id"] for e in events if e["event"] == "log"]
                self.assertEqual(ids, expect, kw)
                self.assertEqual(events[-1]["event"], "end", kw)
                self.assertEqual(events[-2]["event"], "status", kw)
                self.assertEqual(events[-2]["data"]["status"], "SUCCESS", kw)

    def test_resume_while_running(self):
        with Sked(tasks={"stepped.json": STEPPED}, args=FAST) as s:
            run = s.run_job(s.create_job("stepped")["id"])
            wait_for(lambda: len(s.logs(run)) == 2, what="the first two lines")
            with s.sse(run, last_event_id=1) as st:
                self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
                self.assertEqual(st.next_event()["id"], "2")
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                rest = st.read_all()
            self.assertEqual([e["id"] for e in rest if e["event"] == "log"], ["3", "4"])
            self.assertEqual(rest[-2]["data"]["status"], "SUCCESS")

    def test_stream_opened_while_queued(self):
        with Sked(tasks={"stepped.json": STEPPED, "quick.json": QUICK},
                  args=FAST + ["--queues", "default=1"]) as s:
            blocker = s.run_job(s.create_job("stepped")["id"])
            s.wait_run(blocker, ["RUNNING"])
            run = s.run_job(s.create_job("quick")["id"])
            with s.sse(run) as st:
                first = st.next_event()
                self.assertEqual((first["event"], first["data"]["status"]), ("status", "QUEUED"))
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                rest = st.read_all()
                self.assertTrue(st.closed)
            statuses = [e["data"]["status"] for e in rest if e["event"] == "status"]
            self.assertEqual(statuses[0], "RUNNING")
            self.assertEqual(statuses[-1], "SUCCESS")
            self.assertEqual(rest[-2]["event"], "status")
            msgs = sorted(e["data"]["message"] for e in rest if e["event"] == "log")
            self.assertEqual(msgs, ["quick a", "quick b", "quick c"])
            self.assertEqual(sorted(int(e["id"]) for e in rest if e["event"] == "log"), [1, 2, 3])
            self.assertEqual(s.wait_run(blocker)["status"], "SUCCESS")

    def test_stream_errors(self):
        with Sked(tasks={"quick.json": QUICK}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("quick")["id"]))
            base = "/api/jobs/%s/runs/%s/logs/stream" % (run["job_id"], run["id"])
            self.assertEqual(s.get(base, token=None).status, 401)
            r = s.get(base + "?level=LOUD")
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"][0]["field"], "level")
            r = s.get("/api/jobs/%s/runs/00000000-0000-4000-8000-000000000000/logs/stream"
                      % run["job_id"])
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.json["status"], 404)

    def test_a_bad_last_event_id_is_refused_before_the_stream(self):
        with Sked(tasks={"quick.json": QUICK}, args=FAST) as s:
            run = s.wait_run(s.run_job(s.create_job("quick")["id"]))
            base = "/api/jobs/%s/runs/%s/logs/stream" % (run["job_id"], run["id"])
            for bad in ("abc", "-5", "01", "1.5"):
                with self.subTest(last_event_id=bad):
                    r = s.get(base, headers={"Last-Event-ID": bad})
                    self.assertEqual(r.status, 400, r)
                    self.assertTrue(r.headers["Content-Type"].startswith("application/json"))
                    self.assertEqual(r.json["errors"][0]["field"], "Last-Event-ID")
                    self.assertIn("'%s'" % bad, r.json["errors"][0]["messages"][0])
            # an empty one is none (a stream may reset its id): the whole log
            with s.sse(run, last_event_id="") as st:
                ids = [e["id"] for e in st.read_all() if e["event"] == "log"]
            self.assertEqual(ids, ["1", "2", "3"])
            for query, field in (("after=", "after"), ("after=01", "after"), ("from=2", "from"),
                                 ("level=INFO&level=ERROR", "level")):
                r = s.get(base + "?" + query)
                self.assertEqual(r.status, 400, (query, r))
                self.assertEqual(r.json["errors"][0]["field"], field, query)


# 100 lines of 16,383 control bytes (0x01): each is sent as a 98 KB event (`\u0001` apiece).
LONG_LINES = skedtest.task_file("longlines", ["python3", "-c", r"""
import sys
sys.stdout.buffer.write((b"\x01" * 16383 + b"\n") * 100)
"""])

# 1500 lines of 8000 bytes, then a progress update and a line saying so; then waits for "go".
PROGRESS_BEHIND = sh_task("behind", r'''
yes "$(printf '%08000d' 0)" | head -n 1500
echo '{"progress":{"done":7,"total":10},"message":"7 of 10 done"}' >&3
echo "progress reported"
while [ ! -e go ]; do sleep 0.05; done
''')

STREAM_HIGH_WATER = 256 * 1024


class SlowStreams(unittest.TestCase):
    """Streams whose clients fall behind: what a stream holds, what it sends when its client
    reads again, and how it ends when its run is deleted meanwhile."""

    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks={"longlines.json": LONG_LINES, "behind.json": PROGRESS_BEHIND,
                            "quick.json": QUICK}, args=FAST + ["--log-level", "debug"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)  # stops it and checks its exit

    def long_run(self):
        run = self.s.wait_run(self.s.run_job(self.s.create_job("longlines")["id"]))
        self.assertEqual(run["status"], "SUCCESS", run)
        return run

    def delete_run(self, run):
        r = self.s.delete("/api/jobs/%s/runs/%s" % (run["job_id"], run["id"]))
        self.assertEqual(r.status, 204, r)

    def queued_max(self, before):
        """The most output held at once by each log stream that ended since offset before of
        the server's log, as it logs them (at debug)."""
        log = self.s.server_log()[before:]
        return [int(m.group(1)) for m in
                re.finditer(r"http\.stream_end .*logs/stream.*queued_max=(\d+)", log)]

    def test_a_stream_of_long_lines_holds_about_the_high_water_mark(self):
        """The high-water mark is checked before each line, not once a batch of 500: a client
        that reads nothing costs at most the mark and one line, here 98 KB."""
        run = self.long_run()
        before = len(self.s.server_log())
        with self.s.sse(run, rcvbuf=4096, timeout=30) as st:
            self.assertEqual(st.next_event()["data"]["status"], "SUCCESS")
            time.sleep(1)  # the stream fills what it may hold
            # what is held now is all that arrives: the rest of the log goes with the run
            self.delete_run(run)
            rest = st.read_all()
            self.assertTrue(st.closed)
        logs = [e for e in rest if e["event"] == "log"]
        sent = sum(len(json.dumps(e["data"])) for e in logs)
        self.assertGreater(len(logs), 0)
        # the mark, one line past it, and the sockets' buffers (about 140 KB)
        self.assertLess(sent, STREAM_HIGH_WATER + 100 * 1024 + 256 * 1024,
                        "%d lines (%d bytes) were held for a client that read nothing"
                        % (len(logs), sent))
        held = wait_for(lambda: self.queued_max(before), what="the stream's end in the log")
        self.assertLessEqual(held[0], STREAM_HIGH_WATER + 100 * 1024)

    def test_a_progress_update_made_while_behind_is_sent_once_caught_up(self):
        run = self.s.run_job(self.s.create_job("behind")["id"])
        go = os.path.join(self.s.tasks_dir, "go")
        try:
            with self.s.sse(run, rcvbuf=16384, timeout=30) as st:
                self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
                wait_for(lambda: self.s.logs(run, after=1500), what="the progress update")
                time.sleep(0.3)  # the client reads nothing meanwhile: 12 MB are behind
                seen = []
                while True:
                    ev = st.next_event()
                    self.assertIsNotNone(ev, seen[-3:])
                    seen.append(ev)
                    if ev["event"] == "log" and ev["data"]["message"] == "progress reported":
                        break
                progress = [e["data"] for e in seen if e["event"] == "progress"]
                self.assertTrue(progress, "no progress event before the line that follows it")
                self.assertEqual(progress[-1]["progress"], {"done": 7, "total": 10})
                self.assertEqual(progress[-1]["message"], "7 of 10 done")
                open(go, "w").close()
                rest = st.read_all()
            self.assertEqual(rest[-2]["data"]["status"], "SUCCESS")
        finally:
            open(go, "w").close()
            self.s.wait_run(run)
            os.unlink(go)

    def test_a_run_deleted_while_its_client_is_behind_does_not_end_as_complete(self):
        run = self.long_run()
        with self.s.sse(run, rcvbuf=4096, timeout=30) as st:
            self.assertEqual(st.next_event()["data"]["status"], "SUCCESS")
            self.assertEqual(st.next_event()["id"], "1")
            self.delete_run(run)
            rest = st.read_all()
            self.assertTrue(st.closed)
        # not its final status: the client was not sent the whole log
        self.assertEqual([e["event"] for e in rest[-2:]], ["deleted", "end"])
        self.assertNotIn("status", [e["event"] for e in rest])
        self.assertIn("deleted", rest[-2]["data"]["message"])
        ids = [int(e["id"]) for e in rest if e["event"] == "log"]
        self.assertLess(len(ids), 99)  # the lines not sent went with the run
        self.assertEqual(rest[-2]["data"]["after"], max(ids + [1]))

    def test_a_run_seen_to_end_then_deleted_while_its_client_is_behind_is_not_complete(self):
        """The stream sees the run end (stopped: CANCELLED, as a job's deletion ends one) while
        its client is 12 MB behind; the run is deleted before the client reads on. The lines
        not sent are gone: the stream ends `deleted`, not with the final status."""
        run = self.s.run_job(self.s.create_job("behind")["id"])
        with self.s.sse(run, rcvbuf=16384, timeout=30) as st:
            self.assertEqual(st.next_event()["data"]["status"], "RUNNING")
            wait_for(lambda: self.s.logs(run, after=1500), what="the last line")
            self.assertEqual(self.s.stop_run(run)["status"], "CANCELLING")
            self.assertEqual(self.s.wait_run(run)["status"], "CANCELLED")
            self.delete_run(run)
            rest = st.read_all()
            self.assertTrue(st.closed)
        self.assertEqual([e["event"] for e in rest[-2:]], ["deleted", "end"])
        self.assertNotIn("CANCELLED", [(e["data"] or {}).get("status") for e in rest
                                       if e["event"] == "status"])
        ids = [int(e["id"]) for e in rest if e["event"] == "log"]
        self.assertLess(len(ids), 1500)  # the lines not sent went with the run
        self.assertEqual(rest[-2]["data"]["after"], max(ids))

    def test_the_stream_of_a_queued_run_ends_when_its_job_is_deleted(self):
        self.assertEqual(self.s.post("/api/queues/default/actions/pause",
                                     {"reason": "held"}).status, 200)
        try:
            job = self.s.create_job("quick")
            run = self.s.run_job(job["id"])
            # a ping comes after 15 s: a stream still open then times the read out
            with self.s.sse(run, timeout=12) as st:
                self.assertEqual(st.next_event()["data"]["status"], "QUEUED")
                self.assertEqual(self.s.delete("/api/jobs/" + job["id"]).status, 204)
                rest = st.read_all()
                self.assertTrue(st.closed)
            self.assertEqual([(e["event"], (e["data"] or {}).get("status")) for e in rest],
                             [("status", "CANCELLED"), ("end", None)])
            self.assertEqual(rest[0]["data"]["run"]["id"], run["id"])
        finally:
            self.s.post("/api/queues/default/actions/resume", {})


class DamagedStore(unittest.TestCase):
    def test_a_stream_that_cannot_read_the_log_does_not_end_as_complete(self):
        """The pages of the last part of a finished run's log are damaged: the stream sends
        what it can read and then closes without its final status and `end`, so that a client
        does not take the part for the whole log (sked stops then, as after a failed commit;
        sked logs -f must not take the stream's first status for its end either: test_cli)."""
        many = sh_task("many", "seq 1 30000 | sed 's/^/line number /'")
        s = skedtest.Sked(tasks={"many.json": many})
        with s:
            run = s.wait_run(s.run_job(s.create_job("many")["id"]))
            self.assertEqual(run["status"], "SUCCESS")
            s.stop()
            db = sqlite3.connect(s.db)
            pages = [r[0] for r in db.execute("SELECT pageno FROM dbstat WHERE name = 'run_log' "
                                              "AND pagetype = 'leaf' ORDER BY pageno")]
            size = db.execute("PRAGMA page_size").fetchone()[0]
            db.close()
            with open(s.db, "r+b") as f:
                for page in pages[len(pages) * 4 // 5:]:
                    f.seek((page - 1) * size)
                    f.write(b"\0" * size)
            s.start()
            with s.sse(run, timeout=30) as st:
                events = st.read_all()
            self.assertEqual(events[0]["event"], "status")
            ids = [int(e["id"]) for e in events if e["event"] == "log"]
            self.assertGreater(len(ids), 1000)
            self.assertLess(max(ids), 30000)
            self.assertEqual([e["event"] for e in events].count("status"), 1, events[-3:])
            self.assertNotIn("end", [e["event"] for e in events])
            self.assertIn("event=store.damaged", s.server_log())


class StalledFollower(unittest.TestCase):
    def test_a_follower_that_reads_nothing_is_dropped_after_the_http_timeout(self):
        """--http-timeout 2s: a client that stops reading a running run's stream is dropped
        once nothing of it has left for 2 s, though pings and new lines keep being added;
        another follower that reads goes on to the end."""
        with Sked(tasks={"behind.json": PROGRESS_BEHIND},
                  args=FAST + ["--http-timeout", "2s", "--log-level", "debug"]) as s:
            run = s.run_job(s.create_job("behind")["id"])
            go = os.path.join(s.tasks_dir, "go")
            with s.sse(run, rcvbuf=16384, timeout=30) as stalled, \
                    s.sse(run, timeout=30) as reader:
                self.assertEqual(stalled.next_event()["data"]["status"], "RUNNING")
                read = []
                reading = threading.Thread(target=lambda: read.extend(reader.read_all()))
                reading.start()
                wait_for(lambda: s.logs(run, after=1500), what="the last line")
                # dropped by the write timeout (its reason logged), not for anything else
                wait_for(lambda: re.search(r"http\.stream_end .*logs/stream.*why=write_timeout",
                                           s.server_log()), timeout=20,
                         what="the stalled stream dropped")
                open(go, "w").close()
                reading.join(30)
                self.assertEqual([e["event"] for e in read[-2:]], ["status", "end"])
                self.assertEqual(read[-2]["data"]["status"], "SUCCESS")
                self.assertEqual(len([e for e in read if e["event"] == "log"]), 1501)
                # the stalled one was closed: what it reads now ends before the run's end
                try:
                    events = stalled.read_all()
                except http.client.IncompleteRead:  # closed within a chunk
                    events = []
                self.assertNotIn("end", [e["event"] for e in events])
            self.assertEqual(len(re.findall(r"why=write_timeout", s.server_log())), 1)


class ManyFollowers(unittest.TestCase):
    def test_a_thousand_followers_delay_nothing(self):
        """1000 clients follow one run's log live; meanwhile other runs start and finish and
        the API answers, and every follower receives every line and the final status."""
        import selectors
        import socket
        n_followers, n_lines = 1000, 200
        talker = sh_task("talker", r"""
while [ ! -e go ]; do sleep 0.02; done
i=0
while [ $i -lt %d ]; do i=$((i+1)); echo "line $i"; done
""" % n_lines)
        quick = sh_task("quick", "echo quick")
        with Sked(tasks={"talker.json": talker, "quick.json": quick}, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("talker")
            run = s.run_job(job["id"])
            s.wait_run(run, ["RUNNING"])
            sel = selectors.DefaultSelector()
            req = ("GET /api/jobs/%s/runs/%s/logs/stream HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (job["id"], run["id"], skedtest.TOKEN)).encode()
            socks = {}
            for i in range(n_followers):
                c = socket.create_connection(("127.0.0.1", s.port))
                c.sendall(req)
                c.setblocking(False)
                socks[c] = bytearray()
                sel.register(c, selectors.EVENT_READ)

            def pump(seconds):
                end = time.time() + seconds
                while time.time() < end and sel.get_map():
                    for key, _ in sel.select(timeout=0.1):
                        try:
                            data = key.fileobj.recv(65536)
                        except BlockingIOError:
                            continue
                        if data:
                            socks[key.fileobj] += data
                        else:
                            sel.unregister(key.fileobj)

            pump(1.0)
            # with all of them attached, other work goes on
            qjob = s.create_job("quick")
            others = [s.run_job(qjob["id"]) for _ in range(5)]
            for r in others:
                pump(0.05)
                self.assertEqual(s.wait_run(r, timeout=30)["status"], "SUCCESS")
            self.assertEqual(s.get("/api/jobs").status, 200)
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            deadline = time.time() + 120
            while sel.get_map() and time.time() < deadline:
                pump(1.0)
            self.assertFalse(sel.get_map(), "some streams did not end")
            for c, data in socks.items():
                text = data.decode()
                self.assertEqual(text.count("event: log"), n_lines)
                self.assertIn('"message":"line %d"' % n_lines, text)
                self.assertIn('"status":"SUCCESS"', text.rsplit("event: status", 1)[1])
                c.close()


class BadOutput(unittest.TestCase):
    def test_status_channel_garbage_becomes_warnings(self):
        garbage = sh_task("garbage", r'''
echo 'not json' >&3
echo '[1, 2]' >&3
echo '{"bogus": 1}' >&3
echo '{"progress": "half"}' >&3
echo '{"entries": {"total": -1}}' >&3
echo '{"message": 5}' >&3
echo '{"progress": {"done": 1, "total": 1}, "message": "still fine"}' >&3
head -c 70000 /dev/zero | tr '\0' 'x' >&3
echo >&3
echo "task went on"
printf '{"output": {"x": 1}}' >&3
''')
        with Sked(tasks={"garbage.json": garbage}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("garbage")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["message"], "still fine")
            self.assertEqual(done["progress"], {"done": 1, "total": 1})
            self.assertEqual(done["output"], {"x": 1})  # the last line needs no newline
            lines = s.all_logs(done)
            warnings = [l["message"] for l in lines if l["stream"] == "sked"]
            self.assertEqual(len(warnings), 7, warnings)
            self.assertTrue(all(l["level"] == "WARNING" for l in lines if l["stream"] == "sked"))
            self.assertEqual(sum(w.startswith("ignored status line: ") for w in warnings), 6)
            self.assertIn("ignored status line longer than 64 KiB", warnings)
            self.assertTrue(any("bogus" in w for w in warnings), warnings)
            self.assertIn("task went on", [l["message"] for l in lines])
            self.assertEqual(s.get("/healthz").status, 200)

    def test_text_on_the_status_channel_does_not_push_the_task_out_of_its_log(self):
        """A task writing plain text to fd 3 (a library's progress bar) gets the first 20
        ignored lines said in its log and the rest counted, not a warning each, which filled
        the log's cap and discarded the task's own output."""
        noisy = sh_task("noisy", "i=0; while [ $i -lt 3000 ]; do echo x; i=$((i+1)); done >&3; "
                                 "echo \"the task's own output\"")
        with Sked(tasks={"noisy.json": noisy}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("noisy")["id"]), timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            lines = [l["message"] for l in s.all_logs(done)]
            self.assertIn("the task's own output", lines)
            self.assertEqual(sum(l.startswith("ignored status line: ") for l in lines), 20)
            self.assertIn("more status lines ignored: they are counted rather than logged, and "
                          "their number is said when the task ends", lines)
            self.assertIn("3000 status lines ignored in all", lines)
            self.assertLess(len(lines), 30)

    def test_long_lines_are_split_and_the_status_channel_is_capped(self):
        long = sh_task("long", r'''
head -c 40000 /dev/zero | tr '\0' 'y'
echo
printf '{"progress":{"done":1,"total":2}}\n' >&3
yes '{"message":"chatty"}' | head -c 1100000 >&3
printf '{"message":"too late"}\n' >&3
echo "end"
''')
        with Sked(tasks={"long.json": long}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("long")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            lines = s.all_logs(done)
            ys = [l["message"] for l in lines if l["message"].startswith("y")]
            self.assertEqual([len(m) for m in ys], [16384, 16384, 40000 - 2 * 16384])
            self.assertEqual(set("".join(ys)), {"y"})
            self.assertEqual(done["progress"], {"done": 1, "total": 2})
            self.assertEqual(done["message"], "chatty")  # nothing past the cap is applied
            caps = [l for l in lines if "status channel passed its cap" in l["message"]]
            self.assertEqual(len(caps), 1)
            self.assertEqual((caps[0]["level"], caps[0]["stream"]), ("WARNING", "sked"))
            stdout = [l["message"] for l in lines if l["stream"] == "stdout"]
            self.assertEqual(stdout[-1], "end")

    def test_the_status_cap_takes_every_line_that_ends_within_it(self):
        # 27-byte lines: 38,836 of them end within 1 MiB, the next one crosses it
        counted = sh_task("counted", r'''
awk 'BEGIN { for (i = 1; i <= 40000; i++) printf "{\"message\":\"line %07d\"}\n", i }' >&3
''')
        with Sked(tasks={"counted.json": counted}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("counted")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["message"], "line 0038836")
            warnings = [l["message"] for l in s.all_logs(done) if l["level"] == "WARNING"]
            self.assertEqual(warnings, ["status channel passed its cap; further status lines are ignored",
                                        "1164 status lines ignored in all"])

    def test_the_count_of_ignored_status_lines_goes_on_past_the_cap(self):
        """Plain text on fd 3 past its 1 MiB cap: the count said at the end is of every line
        ignored, not only of those before the cap."""
        noisy = sh_task("noisy", "yes 'plain text' | head -n 300000 >&3")
        with Sked(tasks={"noisy.json": noisy}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("noisy")["id"]), timeout=60)
            self.assertEqual(done["status"], "SUCCESS", done)
            lines = [l["message"] for l in s.all_logs(done)]
            self.assertEqual([l for l in lines if "in all" in l], ["300000 status lines ignored in all"])

    def test_invalid_utf8_is_stored_as_valid_text(self):
        bad = sh_task("bad", r'''
printf 'bad \377\376 bytes\n'
printf 'cut \303\n'
printf 'surrogate \355\240\200 end\n' >&2
printf 'ok \303\274n\303\257\n'
printf '{"message": "\377"}\n' >&3
printf 'tail \377'
''')
        with Sked(tasks={"bad.json": bad}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("bad")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            for path in ("/api/jobs/%s/runs/%s/logs" % (done["job_id"], done["id"]),
                         "/api/logs/jobs?q=" + done["id"]):
                status, _, raw = s.get_bytes(path)
                self.assertEqual(status, 200)
                body = json.loads(raw.decode("utf-8"))  # strict: raises on invalid UTF-8
                msgs = [h["message"] for h in body["hits"]["hits"]]
                for expect in ("bad \ufffd\ufffd bytes", "cut \ufffd", "ok \u00fcn\u00ef",
                               "tail \ufffd", "surrogate \ufffd\ufffd\ufffd end"):
                    self.assertIn(expect, msgs, path)
                self.assertTrue(any(m.startswith("ignored status line") for m in msgs), msgs)
            with s.sse(done) as st:  # the stream decodes strictly as well
                events = st.read_all()
            self.assertIn("bad \ufffd\ufffd bytes",
                          [e["data"]["message"] for e in events if e["event"] == "log"])


class StatusLinesAndLineEnds(unittest.TestCase):
    def test_contradicting_status_lines_are_ignored_and_quoted(self):
        task = sh_task("contra", r"""
echo '{"progress":{"done":1,"total":2}}' >&3
echo '{"progress":{"done":2,"total":2,"x":1}}' >&3
echo '{"progress":{"done":5,"total":2}}' >&3
echo '{"entries":{"total":3,"errored":1}}' >&3
echo '{"entries":{"total":1,"errored":5}}' >&3
printf '{"message":"\033[31mred\t%s"}\n' "$(head -c 300 /dev/zero | tr '\0' z)" >&3
printf '\033[31m{"esc":1}\n' >&3
""")
        with Sked(tasks={"contra.json": task}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("contra")["id"]))
            # none of the refused lines changed anything
            self.assertEqual(done["progress"], {"done": 1, "total": 2})
            self.assertEqual((done["total_entries"], done["errored_entries"]), (3, 1))
            self.assertEqual((done["status"], done["message"]),
                             ("PARTIAL_SUCCESS", "1 of 3 entries failed"), done)
            lines = [l for l in s.all_logs(done) if l["stream"] == "sked"]
            self.assertTrue(all(l["level"] == "WARNING" for l in lines), lines)
            warnings = [l["message"] for l in lines]
            self.assertEqual(warnings[:3], [
                'ignored status line: progress.x: unknown key (done, total); '
                'the line: {"progress":{"done":2,"total":2,"x":1}}',
                'ignored status line: progress.done: must not exceed progress.total; '
                'the line: {"progress":{"done":5,"total":2}}',
                'ignored status line: entries.errored: must not exceed entries.total; '
                'the line: {"entries":{"total":1,"errored":5}}'])
            # control characters are shown escaped, and a long line's quote is cut to 200 bytes
            self.assertEqual(len(warnings), 5, warnings)
            self.assertTrue(warnings[3].startswith("ignored status line: malformed JSON"),
                            warnings[3])
            quoted = warnings[3].split("; the line: ", 1)[1]
            self.assertEqual(quoted, '{"message":"\\u001b[31mred\\u0009' + "z" * 169 + "\u2026")
            # the parser's own words quote the line's bytes: escaped there too
            self.assertTrue(warnings[4].startswith("ignored status line: malformed JSON"),
                            warnings[4])
            self.assertIn("\\u001b", warnings[4].split("; the line: ", 1)[0])
            self.assertFalse([w for w in warnings if "\x1b" in w], warnings)

    def test_an_output_nested_too_deep_is_ignored(self):
        """An output nests at most 100 levels, as arguments do: run and job lists hold it
        further down, and sked's own client (jansson, 2048 levels) failed on every list that
        showed such a run, Python's json and jq on far less."""
        task = sh_task("deep", r"""
python3 -c 'import os; os.write(3, b"{\"output\":" + b"[" * 2045 + b"]" * 2045 + b"}\n")'
python3 -c 'import os; os.write(3, b"{\"output\":" + b"[" * 99 + b"1" + b"]" * 99 + b"}\n")'
python3 -c 'import os; os.write(3, b"{\"output\":" + b"[" * 101 + b"]" * 101 + b"}\n")'
""")
        with Sked(tasks={"deep.json": task}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("deep")["id"]))
            out, depth = done["output"], 0
            while isinstance(out, list):
                out, depth = out[0], depth + 1
            self.assertEqual((done["status"], out, depth), ("SUCCESS", 1, 99), done["status"])
            warnings = [l["message"] for l in s.all_logs(done) if l["level"] == "WARNING"]
            self.assertEqual(len(warnings), 2, warnings)
            for w in warnings:
                self.assertTrue(w.startswith("ignored status line: output: nested deeper than 100 "
                                             "levels; pass such a value as JSON text in a string"), w)
            self.assertEqual(s.get("/api/jobs").status, 200)

    def test_the_last_words_of_a_task_whose_pipes_are_still_held(self):
        """A task's last unfinished line, on stdout, stderr and fd 3, is kept when it ends while
        a process it started still holds its pipes (killed with its group as the task ends)."""
        task = sh_task("held", r"""
sleep 100 &
printf '{"message":"final"}' >&3
printf 'fatal: disk full' >&2
printf 'last words'
exit 1
""")
        with Sked(tasks={"held.json": task}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("held")["id"]))
            self.assertEqual((done["status"], done["message"]),
                             ("FAILED", "exited with status 1: final\nfatal: disk full"))
            lines = {(l["stream"], l["message"]) for l in s.all_logs(done)}
            self.assertIn(("stdout", "last words"), lines)
            self.assertIn(("stderr", "fatal: disk full"), lines)

    def test_a_crlf_line_of_exactly_16_KiB_is_one_line(self):
        task = skedtest.task_file("crlf", ["python3", "-c", r"""
import sys
sys.stdout.buffer.write(b"b" * 16384 + b"\r\n")
sys.stdout.buffer.flush()
sys.stderr.buffer.write(b"<4>" + b"e" * 16381 + b"\r\n" + b"next\r\n")
sys.stderr.buffer.flush()
sys.stdout.buffer.write(b"end\r\n")
"""])
        with Sked(tasks={"crlf.json": task}, args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("crlf")["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            lines = s.all_logs(done)
            out = [l["message"] for l in lines if l["stream"] == "stdout"]
            self.assertEqual(out, ["b" * 16384, "end"])
            err = [(l["level"], l["message"]) for l in lines if l["stream"] == "stderr"]
            self.assertEqual(err, [("WARNING", "e" * 16381), ("ERROR", "next")])

    def test_a_failed_http_request_says_why_once(self):
        call = {"id": "call", "title": "call", "builtin": "http"}
        with Sked(tasks={"call.json": call}, args=FAST) as s:
            job = s.create_job("call")
            url = "http://127.0.0.1:%d/" % skedtest.free_port()
            done = s.wait_run(s.run_job(job["id"], args={"url": url}))
            self.assertEqual(done["status"], "FAILED", done)
            first, _, tail = done["message"].partition("\n")
            self.assertEqual(first, "the builtin failed: request failed: Couldn't connect to server")
            self.assertRegex(tail, r"^no answer after \d+ ms$")
            lines = [(l["level"], l["stream"], l["message"]) for l in s.all_logs(done)]
            self.assertEqual(lines[0], ("INFO", "stdout", "GET " + url))
            self.assertEqual(lines[1][:2], ("ERROR", "stdout"))
            self.assertRegex(lines[1][2], r"^no answer after \d+ ms$")
            self.assertEqual(lines[2], ("ERROR", "sked", "the builtin failed"))


class CountersOutcome(unittest.TestCase):
    def test_the_message_of_failed_entries_never_says_an_impossible_count(self):
        """Exit 0 with errored entries is PARTIAL_SUCCESS, as the reference has it; the message
        says 'E of T' only when T was reported and holds E."""
        cases = [  # the status lines, then the run's message
            (['{"entries":{"errored":2}}'], "2 entries failed"),
            (['{"entries":{"total":3,"errored":2}}'], "2 of 3 entries failed"),
            (['{"entries":{"total":1}}', '{"entries":{"errored":5}}'], "5 entries failed"),
            (['{"entries":{"total":5,"errored":5}}'], "5 of 5 entries failed"),
            (['{"entries":{"total":5,"errored":5}}', '{"message":"nothing imported"}'],
             "nothing imported"),
        ]
        tasks = {}
        for i, (lines, _) in enumerate(cases):
            tasks["c%d.json" % i] = sh_task("c%d" % i, "".join("echo '%s' >&3\n" % l for l in lines))
        with Sked(tasks=tasks, args=FAST) as s:
            for i, (_, message) in enumerate(cases):
                done = s.wait_run(s.run_job(s.create_job("c%d" % i)["id"]))
                self.assertEqual((done["status"], done["message"], done["exit_code"]),
                                 ("PARTIAL_SUCCESS", message, 0), cases[i])

    def test_a_task_that_exits_0_when_sked_stops_it_is_not_an_error_line(self):
        """A task that ends cleanly when asked to at a shutdown: the run is FAILED
        (interrupted), and its closing line is INFO - the WARNING before it says why."""
        task = sh_task("polite", "trap 'echo bye; exit 0' TERM; echo begin; while :; do sleep 0.1; done")
        with Sked(tasks={"polite.json": task}, args=FAST) as s:
            run = s.run_job(s.create_job("polite")["id"])
            wait_for(lambda: "begin" in [l["message"] for l in s.all_logs(run)])
            skedtest.check_server_exit(s.stop(), s.server_log())
            s.start()
            done = s.get_run(run)
            self.assertEqual((done["status"], done["exit_code"]), ("FAILED", 0), done)
            self.assertEqual(done["message"], "interrupted: sked stopped while the run was active")
            sked = [(l["level"], l["message"]) for l in s.all_logs(done) if l["stream"] == "sked"]
            self.assertEqual(sked, [("WARNING", "sked is shutting down; stopping the task"),
                                    ("INFO", "exited with status 0")])


class RunsStream(unittest.TestCase):
    """GET /api/runs/stream: every run's status changes as they happen, for lists to follow."""

    def test_status_changes_of_every_run_or_of_one_job(self):
        tasks = {"quick.json": sh_task("quick", "echo hi"), "noop.json": {"id": "noop", "title": "noop", "builtin": "noop"}}
        with Sked(tasks=tasks) as s:
            a, b = s.create_job("quick"), s.create_job("quick")
            with skedtest.SSE(s, None, path="/api/runs/stream") as every, \
                    skedtest.SSE(s, None, path="/api/runs/stream?job_id=" + b["id"].upper()) as one:
                self.assertEqual(every.status, 200)
                self.assertEqual(every.headers["content-type"], "text/event-stream; charset=utf-8")
                self.assertEqual(every.next_event()["event"], "resync")  # at each (re)connect
                self.assertEqual(one.next_event()["event"], "resync")
                ra = s.wait_run(s.run_job(a["id"]))
                rb = s.wait_run(s.run_job(b["id"]))
                seen = []
                while not seen or seen[-1] != (rb["id"], "SUCCESS"):
                    ev = every.next_event()
                    self.assertEqual(ev["event"], "status", ev)
                    self.assertEqual(set(ev["data"]), {"id", "job_id", "status", "queue", "updated"})
                    seen.append((ev["data"]["id"], ev["data"]["status"]))
                self.assertIn((ra["id"], "RUNNING"), seen)
                self.assertIn((ra["id"], "SUCCESS"), seen)
                self.assertIn((rb["id"], "RUNNING"), seen)
                ev = one.next_event()
                self.assertEqual((ev["data"]["id"], ev["data"]["job_id"]), (rb["id"], b["id"]), ev)
            # a watcher whose token is revoked is told so, and the stream ends
            viewer = s.post("/api/users", {"username": "vic", "role": "viewer"}).json
            tok = s.post("/api/users/%s/tokens" % viewer["id"], {"name": "w"}).json
            with skedtest.SSE(s, None, path="/api/runs/stream",
                              headers={"Authorization": "Bearer " + tok["token"]}) as watch:
                self.assertEqual(watch.next_event()["event"], "resync")
                self.assertEqual(s.delete("/api/tokens/" + tok["id"]).status, 204)
                self.assertEqual(watch.next_event()["event"], "denied")
                self.assertIsNone(watch.next_event())
            # bad parameters are refused before the stream starts
            r = s.request("GET", "/api/runs/stream?job_id=nope&x=1")
            self.assertEqual(r.status, 400, r)
            self.assertEqual({e["field"] for e in r.json["errors"]}, {"job_id", "x"})
            self.assertEqual(s.request("GET", "/api/runs/stream", token=None).status, 401)

    def test_a_client_that_does_not_read_loses_events_and_is_told_to_read_again(self):
        tasks = {"noop.json": {"id": "noop", "title": "noop", "builtin": "noop"}}
        runs = 3000
        with Sked(tasks=tasks) as s:
            job = s.create_job("noop")
            with skedtest.SSE(s, None, path="/api/runs/stream", rcvbuf=4096, timeout=60) as lazy:
                self.assertEqual(lazy.next_event()["event"], "resync")
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                head = {"Authorization": "Bearer " + skedtest.TOKEN}
                for _ in range(runs):
                    conn.request("POST", "/api/jobs/%s/runs" % job["id"], body="{}", headers=head)
                    r = conn.getresponse()
                    r.read()
                    self.assertEqual(r.status, 201)
                conn.close()
                events = []
                while "resync" not in events and len(events) < 3 * runs:
                    ev = lazy.next_event()
                    self.assertIsNotNone(ev, "the stream ended after %d events" % len(events))
                    events.append(ev["event"])
                # some changes came, then the word that others were lost; the stream goes on
                self.assertIn("resync", events)
                self.assertGreater(events.count("status"), 100)
                s.wait_run(s.run_job(job["id"]))
                self.assertEqual(lazy.next_event()["event"], "status")


if __name__ == "__main__":
    skedtest.main()
