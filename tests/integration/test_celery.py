"""The celery executor against real Celery workers: a loopback redis-server (no persistence) and
Debian's python3-celery running celery_app/skedtest_app.py (celerytest.py starts both). Every
check goes through sked's API and, where it matters, the Redis lists and result keys themselves:
outcomes and their messages, arguments (kwargs, positional args, since, custom args, nesting a
worker cannot decode), progress, the fixed queue, stop of a queued message and of a running
task (also while Redis is away or refuses sked), timeouts (the time limits the message
carries), a queue nobody consumes, a killed or a stalled worker, restarts of sked and of Redis,
scheduled runs, GET /api/queues and sked queues, brokers a reload lets go or that refuse AUTH,
workers started without -E or without heartbeats, and exceptions longer than a log line or a
run's message holds.

One redis-server and one worker (w1@skedtest, -E, queue "celery") serve the whole module; the
tests that kill or restart a worker or Redis start their own."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import unittest
from datetime import datetime, timezone

import skedtest
from skedtest import CheckedSked as Sked, wait_for
from celerytest import Redis, Worker, celery_task, pid_alive, read_pidfile

FAST = ["--shutdown-grace", "1s", "--stop-grace", "2s"]
BY = "bootstrap token"  # the name of the admin token the harness signs in with
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")

REDIS = None
WORKER = None


def setUpModule():
    global REDIS, WORKER
    REDIS = Redis().start()
    WORKER = Worker(REDIS, name="w1@skedtest", queues=("celery",)).start()


def tearDownModule():
    if WORKER:
        WORKER.close()
    if REDIS:
        REDIS.close()


def ts(s):
    return datetime.fromisoformat(s).timestamp()


def task_files(redis, queue="celery"):
    """The job types of these tests, on redis; those without a fixed Celery queue use queue."""
    num = {"type": "number"}
    return {
        "add.json": celery_task(
            "add", "skedtest_app.add", redis, positional=["x", "y"], default_queue=queue,
            arguments={"type": "object", "required": ["x", "y"], "properties": {
                "x": {"type": "integer"}, "y": {"type": "integer"}}}),
        "fail.json": celery_task(
            "fail", "skedtest_app.fail", redis, default_queue=queue,
            arguments={"type": "object", "properties": {
                "reason": {"type": "string", "default": "boom"}}}),
        "sleepy.json": celery_task(
            "sleepy", "skedtest_app.sleepy", redis, default_queue=queue, stop_grace="3s",
            arguments={"type": "object", "required": ["seconds"], "properties": {
                "seconds": num, "pidfile": {"type": "string"}}}),
        "stubborn.json": celery_task(
            "stubborn", "skedtest_app.stubborn", redis, default_queue=queue, stop_grace="3s",
            arguments={"type": "object", "required": ["seconds"], "properties": {
                "seconds": num, "on_soft": {"type": "string"}, "pidfile": {"type": "string"}}}),
        "progress.json": celery_task(
            "progress", "skedtest_app.progress", redis, default_queue=queue,
            arguments={"type": "object", "properties": {
                "steps": {"type": "integer", "default": 4},
                "step_seconds": {"type": "number", "default": 1}}}),
        "echo.json": celery_task("echo", "skedtest_app.echo", redis, default_queue=queue),
        "flaky.json": celery_task(
            "flaky", "skedtest_app.flaky", redis, default_queue=queue,
            arguments={"type": "object", "properties": {"fails": {"type": "integer"}}}),
        "odd.json": celery_task(
            "odd", "skedtest_app.odd", redis, default_queue=queue,
            arguments={"type": "object", "properties": {"kind": {"type": "string"}}}),
        "echo_args.json": celery_task(
            "echo_args", "skedtest_app.echo_args", redis, positional=["x", "y"],
            default_queue=queue,
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 2}, "y": {"type": "integer", "default": 3},
                "label": {"type": "string", "default": "none"}}}),
        # positional names without defaults: a run may lack some of them
        "echo_pos.json": celery_task(
            "echo_pos", "skedtest_app.echo_args", redis, positional=["x", "y"],
            default_queue=queue,
            arguments={"type": "object", "properties": {
                "x": {"type": "integer"}, "y": {"type": "integer"}}}),
        "fail_long.json": celery_task(
            "fail_long", "skedtest_app.fail_long", redis, default_queue=queue,
            arguments={"type": "object", "properties": {"chars": {"type": "integer"}}}),
        "fail_echo.json": celery_task(
            "fail_echo", "skedtest_app.fail_echo", redis, positional=["x"], default_queue=queue,
            arguments={"type": "object", "properties": {"x": {"type": "integer"}}}),
        # a queue no worker consumes, fixed by the task file
        "parked.json": celery_task(
            "parked", "skedtest_app.add", redis, queue="parked", positional=["x", "y"],
            accept_timeout="60s",
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 2}, "y": {"type": "integer", "default": 3}}}),
        "orphan.json": celery_task(
            "orphan", "skedtest_app.add", redis, queue="nobody", positional=["x", "y"],
            accept_timeout="2s",
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 1}, "y": {"type": "integer", "default": 1}}}),
    }


def sked_lines(s, run):
    return [l["message"] for l in s.all_logs(run) if l["stream"] == "sked"]


def line_index(lines, start):
    """The index of the first line that starts with start (a line may go on with details), or
    None."""
    for i, l in enumerate(lines):
        if l.startswith(start):
            return i
    return None


def celery_queue(s, name):
    """The entry of Celery queue name in GET /api/queues, or None."""
    r = s.get("/api/queues")
    assert r.status == 200, r
    for q in r.json["hits"]["hits"]:
        if q["name"] == name and q.get("executor") == "celery":
            return q
    return None


def worker_entry(s, queue, hostname):
    q = celery_queue(s, queue)
    for w in (q or {}).get("workers") or []:
        if w["hostname"] == hostname:
            return w
    return None


def wait_heartbeats(s, queue, hostname, n=2, after=0.0, timeout=20):
    """Waits until sked has shown n different last_heartbeat values of hostname later than
    after (seconds since the epoch): it has seen the worker alive for a while."""
    seen = set()

    def beat():
        w = worker_entry(s, queue, hostname)
        if w and w.get("online") and w.get("last_heartbeat") and ts(w["last_heartbeat"]) > after:
            seen.add(w["last_heartbeat"])
        return len(seen) >= n
    wait_for(beat, timeout=timeout, interval=0.2,
             what="%d heartbeats of %s in GET /api/queues" % (n, hostname))


def one_slot_worker(case, name):
    """A Redis of the test's own and a worker named name with one slot on it (closed when the
    test ends); returns both."""
    redis = Redis().start()
    case.addCleanup(redis.close)
    worker = Worker(redis, name=name, queues=("celery",), concurrency=1).start()
    case.addCleanup(worker.close)
    return redis, worker


def run_behind(s, hostname, seconds, task, args):
    """A sleepy run of seconds on the one slot of worker hostname, then a run of task that the
    worker receives and cannot start yet; returns both runs."""
    busy = s.run_job(s.create_job("sleepy", args={"seconds": seconds})["id"])
    s.wait_run(busy, ["RUNNING"], timeout=15)
    waiting = s.run_job(s.create_job(task, args=args)["id"])
    wait_for(lambda: line_index(sked_lines(s, waiting), "received by " + hostname) is not None,
             what="the second message received, behind the first task")
    return busy, waiting


def runs_of(s, job_id):
    r = s.get("/api/jobs/%s/runs?size=1000&sort_direction=asc" % job_id)
    assert r.status == 200, r
    return r.json["hits"]["hits"]


class Outcomes(unittest.TestCase):
    """Success with the task's return value, failure with its traceback, progress states, and
    how the run's arguments reach the task."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.secrets = tempfile.mkdtemp(prefix="sked-secrets-")
        with open(os.path.join(cls.secrets, "label"), "w") as f:
            f.write("the-secret-label\n")
        cls.s = Sked(tasks=task_files(REDIS), args=FAST + ["--secrets-dir", cls.secrets]).start()

    @classmethod
    def tearDownClass(cls):
        import shutil
        cls.s.__exit__(None, None, None)  # stops it and checks its exit
        shutil.rmtree(cls.secrets)

    def test_a_secret_goes_to_the_task_and_its_reference_to_the_message_display(self):
        s = self.s
        ref = {"$secret": "label"}
        done = s.wait_run(s.run_job(s.create_job("echo_args")["id"], args={"label": ref}))
        self.assertEqual(done["status"], "SUCCESS", done)
        # the worker got the value (it returned it, and sked masks its value in the outcome)
        self.assertEqual(done["output"]["kwargs"]["label"], "***")
        self.assertEqual(done["args"]["label"], ref)
        # what Flower and the worker's log show of a message: the reference
        run = s.run_job(s.create_job("parked")["id"], custom_args={"x": 1, "token": ref})
        wait_for(lambda: [m for m in REDIS.messages("parked") if m["headers"]["id"] == run["id"]],
                 what="the message")
        msg = [m for m in REDIS.messages("parked") if m["headers"]["id"] == run["id"]][0]
        self.assertEqual(msg["kwargs"]["token"], "the-secret-label")
        self.assertIn("$secret", msg["headers"]["kwargsrepr"])
        self.assertNotIn("the-secret-label", msg["headers"]["kwargsrepr"])
        s.stop_run(run)
        self.assertEqual(s.wait_run(run, timeout=10)["status"], "CANCELLED")
        # a task that fails quoting its argument: its traceback and message show ***, and the
        # message as sent, kept while the run was out, is gone from the store once it ended
        done = s.wait_run(s.run_job(s.create_job("fail", args={"reason": ref})["id"]))
        self.assertEqual(done["status"], "FAILED", done)
        lines = [l["message"] for l in s.all_logs(done)]
        self.assertTrue(any("skedtest failure: ***" in l for l in lines), lines)
        self.assertNotIn("the-secret-label", json.dumps(lines) + done["message"])
        with sqlite3.connect("file:%s?mode=ro" % s.db, uri=True) as db:
            remote = db.execute("SELECT remote FROM run WHERE id = ?", (done["id"],)).fetchone()[0]
        self.assertNotIn("envelope", json.loads(remote))

    def test_add_succeeds_with_its_result_as_output(self):
        s = self.s
        job = s.create_job("add", args={"x": 2, "y": 3})
        self.assertEqual(job["default_queue"], "celery")
        run = s.run_job(job["id"])
        self.assertEqual(run["status"], "QUEUED")
        self.assertEqual(run["queue"], "celery")
        done = s.wait_run(run)
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], 5)
        self.assertIsNotNone(done["started_at"])
        self.assertIsNotNone(done["finished_at"])
        self.assertRegex(done["started_at"], ISO_UTC)
        # the Celery task id is the run id: the worker stored its result under it
        meta = REDIS.result(run["id"])
        self.assertEqual((meta["status"], meta["result"]), ("SUCCESS", 5), meta)
        # the lifecycle as the run's log tells it, in order
        lines = sked_lines(s, done)
        at = [line_index(lines, l) for l in ("sent to celery queue celery",
                                             "received by w1@skedtest", "started on w1@skedtest")]
        self.assertNotIn(None, at, lines)
        self.assertEqual(at, sorted(at), lines)
        # the pid task-started carries is the worker's main process, not the pool child's
        self.assertIn("started on w1@skedtest (pid %d)" % WORKER.pid, lines)

    def test_what_python_writes_and_strict_json_has_not_still_ends_the_run(self):
        """A result holding NaN or Infinity, an exception's message with a NUL or undecodable
        bytes (Python's json writes them; jansson refuses them): the run still ends as the
        task did, instead of staying RUNNING while its result key is read in vain."""
        s = self.s
        run = s.wait_run(s.run_job(s.create_job("odd", args={"kind": "floats"})["id"]), timeout=30)
        self.assertEqual(run["status"], "SUCCESS", run)
        self.assertEqual(run["output"], {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"})
        run = s.wait_run(s.run_job(s.create_job("odd", args={"kind": "bytes"})["id"]), timeout=30)
        self.assertEqual(run["status"], "FAILED", run)
        self.assertTrue(run["message"].startswith("ValueError: bad\ufffdbyte \ufffd"), run)
        self.assertNotIn("celery.bad_result", s.server_log())
        # nested past what a run's output may hold (run lists hold it further down)
        run = s.wait_run(s.run_job(s.create_job("odd", args={"kind": "deep"})["id"]), timeout=30)
        self.assertEqual((run["status"], run["output"]),
                         ("SUCCESS", {"truncated": True, "nested_deeper_than": 100}), run["status"])

    def test_a_log_line_longer_than_its_cap_is_cut_between_characters(self):
        """An exception message of 5,000 "é" (two bytes each) after an "x": its lines in the
        run's log are cut to 4,000 bytes between two characters, never inside one (a line cut
        inside one was stored as invalid UTF-8, and served as an empty message)."""
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("fail_long", args={"chars": 5000})["id"]))
        self.assertEqual(done["status"], "FAILED", done)
        lines = sked_lines(s, done)
        self.assertEqual([l for l in lines if not l], [], lines)
        for l in lines:
            self.assertLessEqual(len(l.encode()), 4000, l[:100])
        # "failed: ValueError: x" is 21 bytes: 1,989 whole characters fit after it
        self.assertIn("failed: ValueError: x" + "\u00e9" * 1989, lines)
        # the traceback's own last line, "ValueError: x" and the characters, likewise
        self.assertIn("ValueError: x" + "\u00e9" * 1993, lines)

    def test_a_huge_exception_message_is_cut_in_the_runs_message_not_in_its_log(self):
        """An exception message of 100,001 bytes: the run's message (which every run list and
        status update carries) is cut at 64 KiB between characters and says so; the run's log
        keeps the traceback line by line."""
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("fail_long", args={"chars": 50000})["id"]))
        self.assertEqual(done["status"], "FAILED", done)
        msg = done["message"]
        self.assertLessEqual(len(msg.encode()), 64 * 1024)
        self.assertGreater(len(msg.encode()), 60 * 1024)
        self.assertTrue(msg.startswith("ValueError: x\u00e9\u00e9"), msg[:100])
        self.assertTrue(msg.endswith("\u00e9\n(cut at 64 KiB: the run's log holds the traceback "
                                     "line by line)"), msg[-200:])
        lines = sked_lines(s, done)
        self.assertIn("Traceback (most recent call last):", lines)
        self.assertTrue(any("raise ValueError(lead + char * int(chars))" in l for l in lines),
                        lines)

    def test_failure_carries_the_exception_and_its_traceback(self):
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("fail", args={"reason": "boom"})["id"]))
        self.assertEqual(done["status"], "FAILED", done)
        msg = done["message"]
        first, _, rest = msg.partition("\n")
        self.assertEqual(first, "ValueError: skedtest failure: boom", msg)
        self.assertIn("Traceback (most recent call last)", rest)
        self.assertIn('raise ValueError("skedtest failure: %s" % reason)', rest)
        self.assertEqual(REDIS.result(done["id"])["status"], "FAILURE")

    def test_progress_while_running(self):
        s = self.s
        run = s.run_job(s.create_job("progress", args={"steps": 4, "step_seconds": 1})["id"])

        def two_of_four_or_over():
            r = s.get_run(run)
            if r["status"] in skedtest.TERMINAL or (
                    r["status"] == "RUNNING" and r["progress"] == {"done": 2, "total": 4}):
                return r
            return None
        seen = wait_for(two_of_four_or_over, timeout=20, what="progress 2 of 4 while running")
        self.assertEqual((seen["status"], seen["progress"]), ("RUNNING", {"done": 2, "total": 4}), seen)
        done = s.wait_run(run)
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], {"steps": 4})

    def test_since_is_a_kwarg_holding_the_last_successful_start(self):
        s = self.s
        job = s.create_job("echo")
        first = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(first["status"], "SUCCESS", first)
        self.assertEqual(first["output"], {"since": None})
        self.assertRegex(first["started_at"], ISO_UTC)
        second = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(second["status"], "SUCCESS", second)
        self.assertEqual(second["args"]["since"], first["started_at"])
        self.assertEqual(second["output"], {"since": first["started_at"]})
        third = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(third["output"], {"since": second["started_at"]})

    def test_a_window_is_refused_to_celery_job_types(self):
        """A Celery task gets since alone (its run starts when a worker takes it): a run's
        until and a backfill are refused, and nothing is sent."""
        job = self.s.create_job("add", args={"x": 1, "y": 2})
        r = self.s.post("/api/jobs/%s/runs" % job["id"], {"until": "2026-01-01T00:00:00Z"})
        self.assertEqual(r.status, 400, r)
        self.assertIn("a Celery job type gets since alone", r.json["errors"][0]["messages"][0])
        r = self.s.post("/api/jobs/%s/actions/backfill" % job["id"],
                        {"from": "2026-01-01", "to": "2026-01-03", "step": "1d"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"][0]["field"], "task")
        self.assertIn("cannot be backfilled in windows", r.json["errors"][0]["messages"][0])
        self.assertEqual(self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 0)

    def test_arguments_become_kwargs_and_positional_names_args(self):
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("echo_args")["id"], args={"y": 5, "label": "l"}))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], {"args": [2, 5], "kwargs": {"since": None, "label": "l"}})
        # schema defaults fill what the run does not give
        done = s.wait_run(s.run_job(s.create_job("echo_args")["id"]))
        self.assertEqual(done["output"], {"args": [2, 3], "kwargs": {"since": None, "label": "none"}})
        # custom arguments are the kwargs, unchanged: no since
        job = s.create_job("echo")
        s.wait_run(s.run_job(job["id"]))
        custom = {"only": "this", "n": [1, {"x": None}], "s": "ünï \"q\""}
        done = s.wait_run(s.run_job(job["id"], custom_args=custom))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], custom)


    def test_api_tasks_shows_the_celery_queue_jobs_take(self):
        s = self.s
        # parked fixes celery.queue and has no default_queue; add names "celery"
        for task, queue in (("parked", "parked"), ("add", "celery")):
            t = s.get("/api/tasks/" + task).json
            self.assertEqual((t["default_queue"], t["command"]), (queue, []), t)
            self.assertEqual(s.create_job(task)["default_queue"], queue)

    def test_custom_args_are_sent_as_given_whatever_positional_says(self):
        s = self.s
        # echo_args moves x and y to the positional arguments; custom arguments (the run's, or
        # the job's saved ones) are the kwargs as given, with no positional arguments at all
        job = s.create_job("echo_args")
        done = s.wait_run(s.run_job(job["id"], custom_args={"a": 1}))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], {"args": [], "kwargs": {"a": 1}})
        job = s.create_job("echo_args", custom_args={"a": 1, "x": 7})
        done = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["args"], {"a": 1, "x": 7})
        self.assertEqual(done["output"], {"args": [], "kwargs": {"a": 1, "x": 7}})

    def test_a_task_retried_by_celery_ends_as_its_last_attempt(self):
        """A task that retries itself (self.retry) stays RUNNING, its log saying so at each
        retry, and ends as its last attempt does. With an expires header on sked's message
        Celery 5.2 could not retry it (TypeError in the worker, celery/celery#7091), and the
        run stayed RUNNING until its timeout."""
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("flaky", args={"fails": 2})["id"]), timeout=30)
        self.assertEqual((done["status"], done["output"]), ("SUCCESS", {"attempts": 3}), done)
        retried = [l for l in sked_lines(s, done) if l.startswith("retrying")]
        self.assertTrue(retried and "attempt 1 failed" in retried[0], sked_lines(s, done))

    def test_a_retry_of_custom_args_sends_them_as_given_too(self):
        s = self.s
        # fail_echo fails with how it was called; its x is positional unless custom
        job = s.create_job("fail_echo", custom_args={"x": 1}, max_retries=1, retry_backoff="1s")
        called = 'ValueError: {"args": [], "kwargs": {"x": 1}}\n'
        first = s.wait_run(s.run_job(job["id"]))
        self.assertEqual(first["status"], "FAILED", first)
        self.assertTrue(first["message"].startswith(called), first["message"])
        retry = wait_for(lambda: ([r for r in runs_of(s, job["id"]) if r["trigger"] == "retry"]
                                  or [None])[0], timeout=15, what="the retry")
        retry = s.wait_run(retry)
        self.assertEqual((retry["status"], retry["attempt"]), ("FAILED", 2), retry)
        self.assertTrue(retry["message"].startswith(called), retry["message"])

    def test_arguments_nested_deeper_than_a_worker_decodes_are_refused(self):
        """A worker drops a message its Python json cannot decode (RecursionError), and the run
        ended "lost" long after: arguments nested deeper than 100 levels are refused, whether
        the run's own, custom ones, or the job's saved ones a run or a fire takes."""
        s = self.s

        def nested(levels):  # {"k": ...} of levels levels, the arguments object counting
            v = []
            for _ in range(levels - 2):
                v = [v]
            return {"k": v}
        job = s.create_job("echo")
        done = s.wait_run(s.run_job(job["id"], args=nested(100)))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"]["k"], nested(100)["k"])
        why = ("nested deeper than 100 levels (the arguments counting as one): a Celery worker's "
               "Python json cannot decode the message; pass such a value as JSON text in a string")
        for body, field in (({"args": nested(101)}, "args.k"),
                            ({"custom_args": nested(101)}, "custom_args.k"),
                            ({"args": {"custom_args": json.dumps(nested(101))}},
                             "args.custom_args.k")):
            r = s.post("/api/jobs/%s/runs" % job["id"], body)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"], [{"field": field, "messages": [why]}], r)
        self.assertEqual(runs_of(s, job["id"]), [s.get_run(done)])
        # nor saved with a job
        for body, field in (({"args": nested(101)}, "args.k"),
                            ({"custom_args": nested(101)}, "custom_args.k")):
            r = s.post("/api/jobs", dict({"title": "deep", "task": "echo"}, **body))
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"], [{"field": field, "messages": [why]}], r)
            r = s.patch("/api/jobs/" + job["id"], body)
            self.assertEqual(r.status, 400, r)
        # a job saved so by an older sked: a run that takes its arguments, and a fire
        deep = s.create_job("echo")
        with sqlite3.connect(s.db) as db:
            db.execute("UPDATE job SET run_args = ? WHERE id = ?", (json.dumps(nested(101)), deep["id"]))
        r = s.post("/api/jobs/%s/runs" % deep["id"], {})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"], [{"field": "args.k", "messages": [why]}], r)
        r = s.patch("/api/jobs/" + deep["id"], {"schedule": {"type": "interval", "seconds": 1}})
        self.assertEqual(r.status, 200, r)
        fired = wait_for(lambda: runs_of(s, deep["id"]), what="the fire recorded")[0]
        s.patch("/api/jobs/" + deep["id"], {"active": False})
        self.assertEqual((fired["status"], fired["trigger"]), ("FAILED", "scheduled"), fired)
        self.assertIn("args.k", fired["message"])
        self.assertIn("nested deeper than 100 levels", fired["message"])

    def test_positional_names_the_arguments_lack_stay_out(self):
        s = self.s
        job = s.create_job("echo_pos")
        # y without x: x cannot be left out before y, so y stays a keyword argument
        done = s.wait_run(s.run_job(job["id"], args={"y": 5}))
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], {"args": [], "kwargs": {"y": 5, "since": None}})
        for args, positional in (({"x": 1}, [1]), ({"y": 2, "x": 1}, [1, 2])):
            done = s.wait_run(s.run_job(job["id"], args=args))
            self.assertEqual(done["output"],
                             {"args": positional, "kwargs": {"since": done["args"]["since"]}})


class StopAndTimeouts(unittest.TestCase):
    """Stop of a message still in the Redis list and of a running task; sked's own timeout;
    a queue that no worker consumes."""

    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks=task_files(REDIS), args=FAST).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def pidfile(self):
        return os.path.join(self.s.tmp, "pid-%s-%f" % (self._testMethodName, time.time()))

    def test_stop_of_a_queued_message_withdraws_it(self):
        s = self.s
        before = REDIS.llen("parked")
        run = s.run_job(s.create_job("parked")["id"])
        self.assertEqual(run["queue"], "parked")
        wait_for(lambda: REDIS.llen("parked") == before + 1, what="the message in the list")
        self.assertEqual(s.get_run(run)["status"], "QUEUED")
        self.assertIsNotNone(line_index(sked_lines(s, run), "sent to celery queue parked"))
        # what waits in the list is a protocol-2 message whose task id is the run id
        msg = [m for m in REDIS.messages("parked") if m["headers"]["id"] == run["id"]]
        self.assertEqual(len(msg), 1, REDIS.messages("parked"))
        msg = msg[0]
        self.assertEqual(msg["headers"]["task"], "skedtest_app.add")
        self.assertEqual(msg["content_type"], "application/json")
        self.assertEqual(msg["properties"]["delivery_info"]["routing_key"], "parked")
        self.assertEqual((msg["args"], msg["kwargs"]), ([2, 3], {"since": None}))

        stopped = s.stop_run(run)
        self.assertIn(stopped["status"], ("CANCELLING", "CANCELLED"))
        done = s.wait_run(run, timeout=10)
        self.assertEqual(done["status"], "CANCELLED", done)
        self.assertEqual(done["message"], "stopped by %s before a worker took it" % BY)
        self.assertEqual(done["stopped_by"]["name"], BY)
        self.assertIsNone(done["started_at"])
        self.assertEqual(REDIS.llen("parked"), before)
        self.assertEqual([m for m in REDIS.messages("parked") if m["headers"]["id"] == run["id"]], [])

    def test_a_run_naming_another_queue_than_the_fixed_one_is_refused(self):
        s = self.s
        # parked's task file fixes the Celery queue "parked": a job or a run naming another
        # queue is refused; one naming "parked", or none, goes there
        r = s.post("/api/jobs", {"title": "parked elsewhere", "task": "parked",
                                 "default_queue": "other"})
        self.assertEqual(r.status, 400, r)
        job = s.create_job("parked")
        self.assertEqual(job["default_queue"], "parked")
        before = REDIS.llen("other")
        r = s.post("/api/jobs/%s/runs" % job["id"], {"queue": "other"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["errors"], [{"field": "queue", "messages": [
            "this job type always goes to the Celery queue 'parked'"]}], r)
        self.assertEqual(runs_of(s, job["id"]), [])
        self.assertEqual(REDIS.llen("other"), before)
        for body in ({"queue": "parked"}, {}):
            run = s.run_job(job["id"], **body)
            self.assertEqual(run["queue"], "parked", run)
            s.stop_run(run)
            self.assertEqual(s.wait_run(run, timeout=10)["status"], "CANCELLED")

    def test_stop_of_a_running_task_terminates_its_process(self):
        s = self.s
        pidfile = self.pidfile()
        run = s.run_job(s.create_job("sleepy", args={"seconds": 60, "pidfile": pidfile})["id"])
        pid = read_pidfile(pidfile)
        self.assertIn(pid, WORKER.pids())
        s.wait_run(run, ["RUNNING"], timeout=15)
        stopping = s.stop_run(run)
        self.assertIn(stopping["status"], ("CANCELLING", "CANCELLED"))
        done = s.wait_run(run, timeout=20)
        self.assertEqual(done["status"], "CANCELLED", done)
        self.assertTrue(done["message"].startswith("stopped by %s" % BY), done["message"])
        self.assertNotIn("before a worker took it", done["message"])
        self.assertEqual(done["stopped_by"]["name"], BY)
        wait_for(lambda: not pid_alive(pid), timeout=3 + 5,
                 what="the task's process %d to end after the stop" % pid)

    def test_the_message_carries_the_timeout_as_soft_limit_and_grace_after_it(self):
        s = self.s
        # timelimit is [hard, soft]: parked's stop_grace is sked's --stop-grace, 2s
        for timeout, limits in (("12s", [14, 12]), (None, [None, None])):
            run = s.run_job(s.create_job("parked", timeout=timeout)["id"])
            wait_for(lambda: [m for m in REDIS.messages("parked")
                              if m["headers"]["id"] == run["id"]], what="the message")
            msg = [m for m in REDIS.messages("parked") if m["headers"]["id"] == run["id"]][0]
            self.assertEqual(msg["headers"]["timelimit"], limits, timeout)
            s.stop_run(run)
            self.assertEqual(s.wait_run(run, timeout=10)["status"], "CANCELLED")

    def test_timeout_stops_the_task_at_the_timeout(self):
        s = self.s
        job = s.create_job("sleepy", args={"seconds": 60}, timeout="4s")  # stop_grace 3s
        run = s.run_job(job["id"])
        self.assertEqual(run["timeout"], "4s")
        done = s.wait_run(run, timeout=30)
        self.assertEqual(done["status"], "FAILED", done)
        # the soft limit, at the timeout, raised in the task: not timeout - stop_grace
        took = ts(done["finished_at"]) - ts(done["started_at"])
        self.assertGreaterEqual(took, 4, done)
        self.assertLess(took, 4 + 3, done)
        self.assertTrue(done["message"].startswith("timed out after 4s\nSoftTimeLimitExceeded\n"),
                        done["message"])
        lines = sked_lines(s, done)
        self.assertIn("failed: SoftTimeLimitExceeded", lines)
        self.assertIsNotNone(line_index(lines, "timed out after 4s: the worker's soft time "
                                               "limit stops the task"), lines)
        self.assertEqual([l for l in lines if l.startswith("failed: SoftTimeLimitExceeded:")],
                         [], lines)

    def test_a_task_going_on_after_the_soft_limit_is_killed_stop_grace_later(self):
        s = self.s
        pidfile = self.pidfile()
        job = s.create_job("stubborn", args={"seconds": 60, "pidfile": pidfile}, timeout="3s")
        run = s.run_job(job["id"])  # stubborn's stop_grace: 3s
        pid = read_pidfile(pidfile)
        done = s.wait_run(run, timeout=30)
        self.assertEqual(done["status"], "FAILED", done)
        took = ts(done["finished_at"]) - ts(done["started_at"])
        self.assertGreaterEqual(took, 3 + 3, done)
        self.assertLess(took, 3 + 3 + 3, done)
        self.assertTrue(done["message"].startswith("timed out after 3s\nTimeLimitExceeded"),
                        done["message"])
        wait_for(lambda: not pid_alive(pid), timeout=5,
                 what="the task's process %d to end at the hard time limit" % pid)

    def test_a_task_returning_at_the_soft_limit_still_timed_out(self):
        s = self.s
        job = s.create_job("stubborn", args={"seconds": 60, "on_soft": "return"}, timeout="3s")
        done = s.wait_run(s.run_job(job["id"]), timeout=30)
        self.assertEqual((done["status"], done["message"]), ("FAILED", "timed out after 3s"),
                         done)
        self.assertEqual(done["output"], {"stopped": "at the soft time limit"})

    def test_a_queue_without_worker_fails_after_accept_timeout(self):
        s = self.s
        before = REDIS.llen("nobody")
        run = s.run_job(s.create_job("orphan")["id"])
        wait_for(lambda: REDIS.llen("nobody") == before + 1, what="the message in the list")
        done = s.wait_run(run, timeout=30)
        self.assertEqual(done["status"], "FAILED", done)
        self.assertTrue(done["message"].startswith("no worker accepted the task within"),
                        done["message"])
        self.assertIsNone(done["started_at"])
        self.assertEqual(REDIS.llen("nobody"), before)


class SlowDns(unittest.TestCase):
    @unittest.skipUnless(os.environ.get("SKED_TEST_SLOWDNS"), "needs the slowdns shim")
    def test_a_broker_named_by_a_slow_dns_delays_only_the_broker(self):
        """hiredis resolves a host name with a blocking getaddrinfo; sked resolves it on a
        thread, so a DNS answer that takes 2 s holds back the broker's connection, never the
        loop: sked starts listening and answers at once, and the run goes through once the
        name is resolved. A name that does not resolve is logged with the reason."""
        url = "redis://slow-dns.sked.test:%d/%%d" % REDIS.port
        add = {"id": "add", "title": "add", "default_queue": "celery",
               "celery": {"broker": url % 0, "result_backend": url % 1,
                          "task": "skedtest_app.add", "positional": ["x", "y"]},
               "arguments": {"type": "object", "properties": {
                   "x": {"type": "integer"}, "y": {"type": "integer"}}}}
        nowhere = celery_task("nowhere", "skedtest_app.add", REDIS)
        nowhere["celery"]["broker"] = "redis://fail-dns.sked.test:%d/0" % REDIS.port
        # a name resolved for real; where "localhost" also has ::1 (Debian's usual /etc/hosts),
        # on which this Redis does not listen, IPv4 must be tried first, as hiredis does
        local = dict(add, id="local")
        local["celery"] = dict(add["celery"], broker="redis://localhost:%d/0" % REDIS.port)
        env = {"LD_PRELOAD": os.environ["SKED_TEST_SLOWDNS"],
               # the sanitizers' runtime need not come first: the shim is not instrumented
               "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                      "verify_asan_link_order=0"]))}
        t0 = time.monotonic()
        with Sked(tasks={"add.json": add, "nowhere.json": nowhere, "local.json": local},
                  args=FAST, env=env) as s:
            self.assertLess(time.monotonic() - t0, 1.5, "sked waited for the DNS to start")
            job = s.create_job("add")
            run = s.run_job(job["id"], args={"x": 2, "y": 3})
            slowest = 0.0
            for _ in range(10):  # the name is being resolved meanwhile
                t = time.monotonic()
                self.assertEqual(s.get("/healthz").status, 200)
                slowest = max(slowest, time.monotonic() - t)
                time.sleep(0.1)
            self.assertLess(slowest, 0.5)
            done = s.wait_run(run, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], 5)
            done = s.wait_run(s.run_job(s.create_job("local")["id"], args={"x": 1, "y": 1}),
                              timeout=30)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", 2), done)
            waiting = s.run_job(s.create_job("nowhere")["id"])
            wait_for(lambda: 'reason="cannot resolve fail-dns.sked.test: ' in s.server_log(),
                     what="the failed resolution in the log")
            # the run's own log says why it is not sent
            line = wait_for(lambda: next((l["message"] for l in s.all_logs(waiting)
                                          if l["message"].startswith("waits for the broker")), None),
                            what="the wait in the run's log")
            self.assertTrue(line.startswith("waits for the broker redis://fail-dns.sked.test:%d/0, "
                                            "which cannot be reached: cannot resolve "
                                            "fail-dns.sked.test: " % REDIS.port), line)
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")


class Scheduled(unittest.TestCase):
    def test_an_interval_job_fires_celery_tasks(self):
        with Sked(tasks=task_files(REDIS), args=FAST) as s:
            job = s.create_job("add", args={"x": 1, "y": 2}, schedule={"type": "interval", "seconds": 2})
            wait_for(lambda: sum(r["status"] == "SUCCESS" for r in runs_of(s, job["id"])) >= 2,
                     timeout=30, interval=0.2, what="two successful scheduled runs")
            r = s.patch("/api/jobs/" + job["id"], {"active": False})
            self.assertEqual(r.status, 200, r)
            runs = [s.wait_run(r) for r in runs_of(s, job["id"])]
            self.assertGreaterEqual(len(runs), 2)
            for r in runs:
                self.assertEqual(r["status"], "SUCCESS", r)
                self.assertEqual(r["output"], 3)
                self.assertEqual(r["trigger"], "scheduled")
                self.assertEqual(r["queue"], "celery")
                self.assertIsNotNone(r["scheduled_for"])
                # on time: sent when due, never before, and started within seconds
                self.assertGreaterEqual(ts(r["created"]), ts(r["scheduled_for"]))
                self.assertLess(ts(r["started_at"]) - ts(r["scheduled_for"]), 10)
                self.assertEqual(REDIS.result(r["id"])["result"], 3)
            fires = [ts(r["scheduled_for"]) for r in runs]
            for a, b in zip(fires, fires[1:]):
                self.assertAlmostEqual(b - a, 2.0, places=3)


class Queues(unittest.TestCase):
    def test_celery_queues_with_length_and_workers(self):
        tasks = task_files(REDIS)
        tasks = {k: tasks[k] for k in ("sleepy.json", "parked.json")}
        with Sked(tasks=tasks, args=FAST) as s:
            # listed from the start, before their lengths are known (a probe right after a
            # restart does not see them go)
            at_once = {q["name"] for q in s.get("/api/queues").json["hits"]["hits"]
                       if q.get("executor") == "celery"}
            self.assertEqual(at_once, {"celery", "parked"})
            wait_heartbeats(s, "celery", "w1@skedtest", n=1)
            hits = s.get("/api/queues").json["hits"]["hits"]
            own = [q for q in hits if q.get("executor") == "local"]
            self.assertEqual([q["name"] for q in own], ["default", "low"])
            self.assertEqual(hits[:len(own)], own, "sked's own queues come first")
            celery = {q["name"]: q for q in hits[len(own):]}
            self.assertEqual(set(celery), {"celery", "parked"}, hits)
            for name, q in celery.items():
                self.assertEqual(q["executor"], "celery")
                self.assertEqual(q["broker"], REDIS.url(0))
                self.assertIsNone(q["concurrency"])
                self.assertEqual(q["queued"], REDIS.llen(name))
                self.assertEqual(q["busy"], 0)
            w = worker_entry(s, "celery", "w1@skedtest")
            self.assertIs(w["online"], True)
            self.assertIsInstance(w["active"], int)
            self.assertLess(abs(ts(w["last_heartbeat"]) - time.time()), 30, w)

            # a running task: busy, and the worker's heartbeat counts it as active
            run = s.run_job(s.create_job("sleepy", args={"seconds": 30})["id"])
            s.wait_run(run, ["RUNNING"], timeout=15)
            wait_for(lambda: celery_queue(s, "celery")["busy"] == 1 and
                     worker_entry(s, "celery", "w1@skedtest")["active"] >= 1,
                     timeout=15, interval=0.2, what="busy 1 and an active task on w1")
            # a message nobody takes: the queue's length
            parked = s.run_job(s.create_job("parked")["id"])
            wait_for(lambda: celery_queue(s, "parked")["queued"] == 1, timeout=10,
                     what="queued 1 on parked")
            self.assertEqual(REDIS.llen("parked"), 1)
            for r in (parked, run):
                s.stop_run(r)
                self.assertEqual(s.wait_run(r, timeout=20)["status"], "CANCELLED")
            wait_for(lambda: celery_queue(s, "parked")["queued"] == 0 and
                     celery_queue(s, "celery")["busy"] == 0, timeout=10, what="queues empty again")


class Restart(unittest.TestCase):
    """sked going away while a Celery task runs does not fail it: the next sked records the
    task's real outcome."""

    def test_sigterm_then_start_after_the_task_finished(self):
        tasks = task_files(REDIS)
        tasks["after.json"] = skedtest.sh_task("after", "echo after")
        with Sked(tasks=tasks, args=FAST) as s:
            after = s.create_job("after")
            run = s.run_job(s.create_job("sleepy", args={"seconds": 3}, on_success=[after["id"]])["id"])
            s.wait_run(run, ["RUNNING"], timeout=15)
            s.stop()
            # the task ends while no sked is listening: only the result key tells
            wait_for(lambda: (REDIS.result(run["id"]) or {}).get("status") == "SUCCESS",
                     timeout=20, what="the task's result in the backend")
            date_done = REDIS.result(run["id"])["date_done"]
            time.sleep(1)
            s.start()
            done = s.wait_run(run, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], {"slept": 3})
            # it ended when the worker says, not when the next sked learnt of it
            ended = datetime.fromisoformat(date_done).replace(tzinfo=timezone.utc).timestamp()
            self.assertAlmostEqual(skedtest.parse_time(done["finished_at"]), ended, delta=0.002)
            # a success learnt at the start starts its chain as any other does
            chained = wait_for(lambda: s.get("/api/jobs/%s/runs" % after["id"]).json["hits"]["hits"],
                               what="the chained run")
            self.assertEqual([(r["trigger"], r["parent_run_id"]) for r in chained], [("chained", run["id"])])

    def test_kill9_then_start_while_the_task_runs(self):
        with Sked(tasks=task_files(REDIS), args=FAST) as s:
            run = s.run_job(s.create_job("sleepy", args={"seconds": 4})["id"])
            s.wait_run(run, ["RUNNING"], timeout=15)
            s.kill9()
            s.start()
            self.assertIn(s.get_run(run)["status"], ("QUEUED", "RUNNING", "SUCCESS"))
            done = s.wait_run(run, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], {"slept": 4})


    def test_a_start_missed_while_sked_was_down_counts_from_the_send(self):
        """A task a worker starts while no sked listens (it waited behind another on the
        worker's one slot) is found running by the next sked's question to the workers, no
        event telling when it started: it counts as started when its message was sent, the
        earliest it can have been, so that the next run's since skips nothing (it counted
        from when sked asked, after the real start)."""
        redis, _ = one_slot_worker(self, "ws@skedtest")
        with Sked(tasks=task_files(redis), args=FAST) as s:
            wait_heartbeats(s, "celery", "ws@skedtest", n=1)
            busy, waiting = run_behind(s, "ws@skedtest", 3, "sleepy", {"seconds": 6})
            s.kill9()
            # the first task ends and the second starts while no sked listens
            wait_for(lambda: (redis.result(busy["id"]) or {}).get("status") == "SUCCESS",
                     timeout=20, what="the first task's result")
            started = time.time()
            time.sleep(1.5)
            s.start()
            done = s.wait_run(waiting, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertIn("running on ws@skedtest (sked missed its start)", sked_lines(s, done))
            self.assertLess(skedtest.parse_time(done["started_at"]), started)
            self.assertLessEqual(skedtest.parse_time(done["started_at"]),
                                 skedtest.parse_time(done["created"]) + 1)


class WorkerLost(unittest.TestCase):
    def test_a_killed_worker_fails_its_run(self):
        worker = Worker(REDIS, name="doomed@skedtest", queues=("doomed",)).start()
        self.addCleanup(worker.close)
        tasks = task_files(REDIS, queue="doomed")
        # missed heartbeats, then accept_timeout + 10 s without a result or a worker having it
        tasks["sleepy.json"]["celery"]["accept_timeout"] = "3s"
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "doomed", "doomed@skedtest", n=1)  # sked knows it is alive
            pidfile = os.path.join(s.tmp, "pid")
            run = s.run_job(s.create_job("sleepy", args={"seconds": 120, "pidfile": pidfile})["id"])
            pid = read_pidfile(pidfile)
            running = s.wait_run(run, ["RUNNING"], timeout=15)
            self.assertEqual(running["status"], "RUNNING")
            self.assertIsNotNone(line_index(sked_lines(s, run), "started on doomed@skedtest"))
            worker.kill()
            self.assertFalse(pid_alive(pid))
            done = s.wait_run(run, timeout=40)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith("worker doomed@skedtest lost: no heartbeat "
                                                       "for "), done["message"])
            self.assertTrue(done["message"].endswith("; no worker has the task, and the result "
                                                     "backend holds no result of it"),
                            done["message"])
            self.assertIsNotNone(line_index(sked_lines(s, done), "worker doomed@skedtest lost (no "
                                            "heartbeat for "), sked_lines(s, done))
            self.assertIsNone(REDIS.result(run["id"]))  # nothing on the Celery side tells
            # a message of it delivered again (kombu gives back what a killed worker held once
            # its visibility timeout passes) is not run: the workers have its revoke
            self.assertIsNotNone(line_index(sked_lines(s, done), "the workers are told not to "
                                            "run the task, should its message reach one again"))
            self.assertIn(run["id"], WORKER.revoked())

    def test_a_stalled_worker_whose_tasks_run_on_is_not_taken_for_lost(self):
        """The worker's main process stops (SIGSTOP) while its pool children run two tasks: no
        heartbeat comes, and each child stores its result all the same. The result backend is
        the authority: the run whose result comes within accept_timeout + 10 s of the missed
        heartbeats ends SUCCESS with the task's output (it was failed "worker lost" 6 s in, and
        stayed so); the other fails then, and its log tells the result that came later."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="stall@skedtest", queues=("celery",), concurrency=2).start()
        self.addCleanup(worker.close)
        tasks = task_files(redis)
        tasks["sleepy.json"]["celery"]["accept_timeout"] = "1s"  # failed 6 s + 11 s in
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "stall@skedtest", n=1)
            # the worker is lost 6 s (and up to a tick) after the last thing sked heard of it,
            # which may come a second or two after the short task started (the other task's
            # start, a heartbeat): the short task ends after that, and long before its run
            # would fail (11 s after the loss)
            short, long = [s.run_job(s.create_job("sleepy", args={"seconds": n})["id"])
                           for n in (12, 24)]
            for run in (short, long):
                s.wait_run(run, ["RUNNING"], timeout=15)
            os.kill(worker.pid, signal.SIGSTOP)
            self.addCleanup(os.kill, worker.pid, signal.SIGCONT)
            done = s.wait_run(short, timeout=30)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", {"slept": 12}), done)
            self.assertIsNotNone(line_index(sked_lines(s, done), "worker stall@skedtest lost (no "
                                            "heartbeat for "), sked_lines(s, done))
            failed = s.wait_run(long, timeout=30)
            self.assertEqual(failed["status"], "FAILED", failed)
            self.assertTrue(failed["message"].startswith("worker stall@skedtest lost: no "
                                                         "heartbeat for "), failed)
            late = "the task completed after the run ended (the result backend says SUCCESS): " \
                   "the run stays FAILED"
            wait_for(lambda: late in sked_lines(s, failed), timeout=30,
                     what="the late result in the run's log")
            self.assertEqual(s.get_run(failed)["status"], "FAILED")
            os.kill(worker.pid, signal.SIGCONT)

    def test_a_worker_killed_and_started_again_at_once_fails_its_run(self):
        """Its heartbeats never stop for long: the new process's worker-online tells, and
        no worker has the task when asked."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="phoenix@skedtest", queues=("celery",)).start()
        self.addCleanup(worker.close)
        tasks = task_files(redis)
        tasks["sleepy.json"]["celery"]["accept_timeout"] = "3s"
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "phoenix@skedtest", n=1)
            pidfile = os.path.join(s.tmp, "pid")
            run = s.run_job(s.create_job("sleepy", args={"seconds": 120, "pidfile": pidfile})["id"])
            read_pidfile(pidfile)
            s.wait_run(run, ["RUNNING"], timeout=15)
            worker.kill()
            worker.start()
            done = s.wait_run(run, timeout=40)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith("lost: no worker has the task"), done)
            self.assertIsNotNone(line_index(sked_lines(s, done), "phoenix@skedtest came online "
                                            "again (restarted"), sked_lines(s, done))


    def test_a_message_taken_in_time_runs_however_long_it_waits_in_the_worker(self):
        """accept_timeout bounds the wait for a worker to take a message, not for it to start:
        a message the worker took at once and can start only when the task before it ends
        (its one slot busy past accept_timeout) runs then. It was discarded by the worker as
        expired and failed "expired before a worker took it", the message's expires header
        being sent + accept_timeout."""
        redis, _ = one_slot_worker(self, "wq@skedtest")
        tasks = task_files(redis)
        tasks["add.json"]["celery"]["accept_timeout"] = "2s"
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "wq@skedtest", n=1)
            busy, waiting = run_behind(s, "wq@skedtest", 5, "add", {"x": 1, "y": 2})
            self.assertEqual(s.wait_run(busy, timeout=20)["status"], "SUCCESS")
            done = s.wait_run(waiting, timeout=20)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", 3), done)
            self.assertGreater(skedtest.parse_time(done["started_at"]),
                               skedtest.parse_time(busy["created"]) + 4)

    def test_a_warm_shutdown_gives_back_what_its_worker_had_not_started(self):
        """A worker stopped with SIGTERM finishes what it runs and gives the messages it had
        received but not started back to the queue: their runs wait for a worker again
        instead of failing with the worker, and run when it comes back."""
        redis, worker = one_slot_worker(self, "warm@skedtest")
        tasks = task_files(redis)
        tasks["add.json"]["celery"]["accept_timeout"] = "40s"
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "warm@skedtest", n=1)
            busy, waiting = run_behind(s, "warm@skedtest", 3, "add", {"x": 1, "y": 2})
            worker.stop()
            self.assertEqual(s.wait_run(busy, timeout=20)["status"], "SUCCESS")
            wait_for(lambda: line_index(sked_lines(s, waiting), "worker warm@skedtest lost") is not None,
                     timeout=30, what="the worker's heartbeats missed")
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            worker.start()
            done = s.wait_run(waiting, timeout=40)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", 3), done)


    def test_a_worker_without_heartbeats_is_not_taken_for_lost(self):
        """A worker started with --without-heartbeat (and -E) sends task events and no
        heartbeat: its silence while a task runs says nothing. Asked once, it answers that it
        runs the task; sked says it cannot tell if it dies, and the run ends as the task does
        (it was failed "lost" 6 s in, while the task ran on)."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="nobeat@skedtest", queues=("celery",),
                        extra_args=["--without-heartbeat"]).start()
        self.addCleanup(worker.close)
        with Sked(tasks=task_files(redis), args=FAST) as s:
            run = s.run_job(s.create_job("sleepy", args={"seconds": 12})["id"])
            done = s.wait_run(run, timeout=40)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", {"slept": 12}), done)
            lines = sked_lines(s, done)
            self.assertIn("worker nobeat@skedtest sends no heartbeats: sked cannot tell if it "
                          "dies; start it without --without-heartbeat", lines)
            self.assertEqual([l for l in lines if "lost" in l and "asking" not in l], [], lines)
            # said once in sked's log, whatever the runs
            done = s.wait_run(s.run_job(s.create_job("sleepy", args={"seconds": 8})["id"]),
                              timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(s.server_log().count("event=celery.no_heartbeats"), 1,
                             s.server_log()[-3000:])

    def test_a_worker_known_only_from_its_answer_is_lost_when_it_dies(self):
        """A worker sked has heard nothing of (no heartbeats, no task events: started after
        sked asked the workers what they consume) takes a message; at accept_timeout sked finds
        it gone from the list and asks, and the worker answers that it runs the task. Killed
        then, before sked heard anything else of it, its run ends FAILED lost instead of
        staying RUNNING forever."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        tasks = task_files(redis)
        tasks["sleepy.json"]["celery"]["accept_timeout"] = "3s"
        with Sked(tasks=tasks, args=FAST) as s:
            time.sleep(2.5)  # sked asked the workers (none yet) what they consume
            worker = Worker(redis, name="mute@skedtest", queues=("celery",), events=False,
                            extra_args=["--without-heartbeat"]).start()
            self.addCleanup(worker.close)
            pidfile = os.path.join(s.tmp, "pid")
            run = s.run_job(s.create_job("sleepy", args={"seconds": 120, "pidfile": pidfile})["id"])
            read_pidfile(pidfile)
            s.wait_run(run, ["RUNNING"], timeout=20)
            self.assertIsNotNone(line_index(sked_lines(s, run), "running on mute@skedtest (sked "
                                            "missed its start)"), sked_lines(s, run))
            worker.kill()
            t0 = time.time()
            done = s.wait_run(run, timeout=45)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith("lost: no worker has the task"), done)
            lines = sked_lines(s, done)
            self.assertIsNotNone(line_index(lines, "no heartbeat of worker mute@skedtest was ever "
                                            "heard"), lines)
            # 3 heartbeats (6 s) of silence, then accept_timeout + 10 s of asking
            self.assertLess(time.time() - t0, 6 + 13 + 5, done)


class StoredLines(unittest.TestCase):
    def test_a_line_stored_cut_inside_a_character_is_served_repaired(self):
        """A run log line an earlier version stored cut inside a character (invalid UTF-8) is
        served with U+FFFD where the bytes do not read, not as an empty message."""
        with Sked(tasks=task_files(REDIS), args=FAST) as s:
            done = s.wait_run(s.run_job(s.create_job("add", args={"x": 1, "y": 1})["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            first = s.all_logs(done)[0]
            s.stop()
            with sqlite3.connect(s.db) as db:
                db.execute("UPDATE run_log SET message = CAST(? AS TEXT) WHERE seq = ? AND rid = "
                           "(SELECT rid FROM run WHERE id = ?)",
                           (first["message"].encode() + b" \xc3", first["seq"], done["id"]))
            s.start()
            want = first["message"] + " \ufffd"
            self.assertEqual(s.all_logs(done)[0]["message"], want)
            with s.sse(done) as stream:
                lines = [e["data"] for e in stream.read_all() if e["event"] == "log"]
            self.assertEqual(lines[0]["message"], want, lines)


class WithoutEvents(unittest.TestCase):
    """A worker started without -E sends heartbeats but no task events until it is told to
    (enable_events); sked tells it, whether it was there before sked or starts later."""

    def start_worker(self, redis=None):
        worker = Worker(redis or REDIS, name="noev@skedtest", queues=("plain",), events=False)
        self.assertNotIn("-E", worker.command())
        self.addCleanup(worker.close)
        return worker.start()

    def test_a_worker_running_before_sked_started(self):
        self.start_worker()
        with Sked(tasks=task_files(REDIS, queue="plain"), args=FAST) as s:
            wait_heartbeats(s, "plain", "noev@skedtest", n=3)
            self.check_running(s)

    def test_a_worker_starting_while_sked_runs(self):
        with Sked(tasks=task_files(REDIS, queue="plain"), args=FAST) as s:
            t0 = time.time()
            self.start_worker()
            wait_heartbeats(s, "plain", "noev@skedtest", n=2, after=t0)
            self.check_running(s)

    def test_a_worker_killed_and_started_again_under_its_name(self):
        """The new process has its task events off: sked enables them when it comes (its
        worker-online, or its first heartbeat after the old one's stopped), not at the 30 s
        poll. A Redis of its own: another worker's first heartbeats would make sked
        broadcast enable_events to all."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = self.start_worker(redis)
        with Sked(tasks=task_files(redis, queue="plain"), args=FAST) as s:
            wait_heartbeats(s, "plain", "noev@skedtest", n=2)
            self.check_running(s)
            worker.kill()
            t0 = time.time()
            worker.start()
            wait_heartbeats(s, "plain", "noev@skedtest", n=3, after=t0)
            self.check_running(s)

    def check_running(self, s):
        run = s.run_job(s.create_job("sleepy", args={"seconds": 2})["id"])
        seen = s.wait_run(run, ("RUNNING",) + skedtest.TERMINAL, timeout=15)
        self.assertEqual(seen["status"], "RUNNING", seen)
        done = s.wait_run(run, timeout=20)
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertIsNotNone(line_index(sked_lines(s, done), "started on noev@skedtest"))


def clients(redis):
    """The connections a redis-server has, less the one asking."""
    return len(redis.command("CLIENT", "LIST").decode().splitlines()) - 1


def connections_received(redis):
    info = redis.command("INFO", "stats").decode()
    return int(re.search(r"^total_connections_received:(\d+)", info, re.M).group(1))


class Brokers(unittest.TestCase):
    """Two brokers side by side; a reload that takes one's job type away lets that broker go
    once its last run has ended; a broker that refuses sked's AUTH is tried with the backoff."""

    def cli(self, s, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update({"SKED_URL": s.url, "SKED_TOKEN": skedtest.TOKEN})
        p = subprocess.run([skedtest.BIN] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p)
        return p.stdout

    def test_a_broker_no_job_type_uses_after_a_reload_is_closed_once_its_runs_end(self):
        other = Redis().start()
        self.addCleanup(other.close)
        num = {"type": "integer", "default": 1}
        far = celery_task("far", "skedtest_app.add", other, positional=["x", "y"],
                          default_queue="celery", arguments={"type": "object", "properties": {
                              "x": num, "y": num}})
        tasks = {"add.json": task_files(REDIS)["add.json"], "far.json": far}
        with Sked(tasks=tasks, args=FAST) as s:
            def brokers():
                return sorted(q["broker"] for q in s.get("/api/queues").json["hits"]["hits"]
                              if q["executor"] == "celery" and q["name"] == "celery")
            both = sorted([REDIS.url(0), other.url(0)])
            wait_for(lambda: brokers() == both, what="the celery queue of both brokers")
            # sked queues tells the two "celery" queues apart by their broker
            rows = [l.split() for l in self.cli(s, "queues").splitlines()]
            self.assertEqual(rows[0][:3], ["QUEUE", "EXECUTOR", "BROKER"])
            self.assertEqual(sorted(r[2] for r in rows[1:] if r[:2] == ["celery", "celery"]),
                             both, rows)
            wait_for(lambda: clients(other) == 4, what="sked's 4 connections to the other Redis")

            # a run in flight on the other broker keeps it through the reload
            run = s.run_job(s.create_job("far")["id"])
            wait_for(lambda: other.llen("celery") == 1, what="the message on the other broker")
            os.unlink(os.path.join(s.tasks_dir, "far.json"))
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload.done" in s.server_log(), what="the reload")
            time.sleep(2.5)  # ticks go by
            self.assertEqual(brokers(), both)
            self.assertEqual(clients(other), 4)
            self.assertNotIn("celery.closed", s.server_log())
            s.stop_run(run)
            done = s.wait_run(run, timeout=10)
            self.assertEqual(done["message"], "stopped by %s before a worker took it" % BY, done)
            self.assertEqual(other.llen("celery"), 0)
            # its last run ended: the broker and the result backend are let go
            wait_for(lambda: brokers() == [REDIS.url(0)], timeout=5,
                     what="the other broker's queue gone from GET /api/queues")
            wait_for(lambda: clients(other) == 0, timeout=5,
                     what="sked's connections to the other Redis closed")
            self.assertIn("event=celery.closed broker=%s" % other.url(0), s.server_log())
            time.sleep(1.5)
            self.assertEqual(clients(other), 0)  # and not opened again
            # the broker that stays works on
            done = s.wait_run(s.run_job(s.create_job("add", args={"x": 1, "y": 2})["id"]))
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", 3), done)

    def test_a_node_name_of_many_bytes_reaches_the_worker_whole(self):
        """A node's name is up to 200 characters of UTF-8: the message's origin holds it whole
        (a fixed buffer cut it inside a character, and every run failed)."""
        node = "a" + "\u00e9" * 199
        with Sked(tasks=task_files(REDIS), args=FAST + ["--node", node]) as s:
            done = s.wait_run(s.run_job(s.create_job("add", args={"x": 2, "y": 2})["id"]), timeout=30)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", 4), done)

    def test_two_spellings_of_one_broker_are_one_broker(self):
        tasks = task_files(REDIS)
        add = tasks["add.json"]
        # the same Redis and database, written without the database
        tasks["add2.json"] = dict(add, id="add2", title="add2",
                                  celery=dict(add["celery"], broker="redis://127.0.0.1:%d" % REDIS.port))
        with Sked(tasks=tasks, args=FAST) as s:
            runs = [s.run_job(s.create_job(t, args={"x": 1, "y": 2})["id"]) for t in ("add", "add2")]
            for run in runs:
                done = s.wait_run(run)
                self.assertEqual((done["status"], done["output"]), ("SUCCESS", 3), done)
                # each event heard once: one connection to the broker, not one per spelling
                lines = sked_lines(s, done)
                for start in ("sent to celery queue", "received by", "started on"):
                    self.assertEqual(sum(l.startswith(start) for l in lines), 1, lines)
            # each queue of the job types once, all of one broker
            rows = [q for q in s.get("/api/queues").json["hits"]["hits"] if q["executor"] == "celery"]
            self.assertEqual(sorted((q["name"], q["broker"]) for q in rows),
                             [(n, REDIS.url(0)) for n in ("celery", "nobody", "parked")])

    def test_two_brokers_that_differ_only_by_password_are_told_apart(self):
        """What is shown of a broker leaves its password out; two of one host that differ only
        by it (one of them refused) were shown alike, in /api/queues and in the logs."""
        tasks = task_files(REDIS)
        add = tasks["add.json"]
        wrong = "redis://:wrong-password@127.0.0.1:%d/0" % REDIS.port
        tasks["add2.json"] = dict(add, id="add2", title="add2", celery=dict(add["celery"], broker=wrong))
        with Sked(tasks=tasks, args=FAST) as s:
            wait_for(lambda: "celery.refused" in s.server_log(), what="the wrong password refused")

            def brokers():
                return {(q["broker"], q["connected"]) for q in s.get("/api/queues").json["hits"]["hits"]
                        if q["executor"] == "celery" and q["name"] == "celery"}
            other = REDIS.url(0) + "#credentials-2"
            wait_for(lambda: brokers() == {(REDIS.url(0), True), (other, False)},
                     what="two brokers told apart: %s" % (brokers(),))
            refused = [l for l in s.server_log().splitlines() if "celery.refused" in l]
            self.assertTrue(refused and all("broker=%s " % other in l for l in refused), refused)
            self.assertNotIn("wrong-password", s.server_log())

    def test_a_refusal_after_an_outage_is_logged_each_time(self):
        """celery.refused is logged when the broker refuses sked, also when the connection had
        failed before for another reason (a password set while sked was connected, then the
        connections cut): once a refusal, again after sked got in meanwhile."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        tasks = {"add.json": task_files(redis)["add.json"]}

        def refuse():
            redis.command("CONFIG", "SET", "requirepass", "s3cret")
            redis.command("CLIENT", "KILL", "TYPE", "normal", password="s3cret")
            redis.command("CLIENT", "KILL", "TYPE", "pubsub", password="s3cret")

        def lines(event):  # the broker's, of its command connection where it says
            return [l for l in s.server_log().splitlines()
                    if "event=" + event in l and "broker=" in l and "conn=sub" not in l]
        with Sked(tasks=tasks, args=FAST) as s:
            wait_for(lambda: clients(redis) == 4, what="sked's connections")
            refuse()
            wait_for(lambda: len(lines("celery.refused")) == 1, what="the refusal logged")
            self.assertEqual(len(lines("celery.disconnected")), 1, s.server_log()[-3000:])
            # a run made meanwhile says why it waits
            run = s.run_job(s.create_job("add", args={"x": 1, "y": 2})["id"])
            wait_for(lambda: line_index(sked_lines(s, run), "waits for the broker %s, which refuses "
                                        "sked: " % redis.url(0)) is not None,
                     what="the run's reason")
            time.sleep(3)  # tries go on: the refusal is logged once
            self.assertEqual(len(lines("celery.refused")), 1, s.server_log()[-3000:])
            redis.command("CONFIG", "SET", "requirepass", "", password="s3cret")
            wait_for(lambda: len(lines("celery.connected")) == 1, timeout=15, what="sked back in")
            refuse()
            wait_for(lambda: len(lines("celery.refused")) == 2, what="the second refusal logged")

    def test_a_refused_auth_is_a_failed_connect_that_backs_off(self):
        redis = Redis().start()  # it needs no password: AUTH fails, SELECT would succeed
        self.addCleanup(redis.close)
        task = celery_task("locked", "skedtest_app.add", redis)
        task["celery"]["broker"] = "redis://:not-needed@127.0.0.1:%d/0" % redis.port
        with Sked(tasks={"locked.json": task}, args=FAST) as s:
            wait_for(lambda: "celery.refused" in s.server_log(), what="the refusal")
            time.sleep(2)
            before = connections_received(redis)
            time.sleep(8)
            # 200 ms doubling to 5 s: 2 or 3 tries of its 2 connections in these 8 s, not 80
            tries = connections_received(redis) - before - 1  # less the one asking
            self.assertLessEqual(tries, 8, s.server_log()[-3000:])
            log = s.server_log()
            self.assertNotIn("not-needed", log)
            self.assertEqual([l for l in log.splitlines()
                              if "celery.connected" in l and "broker=" in l], [])


class RedisRestart(unittest.TestCase):
    """Redis restarts, or goes away for a while, under sked and the workers."""

    def test_an_outage_of_the_broker_shows_in_metrics_and_queues(self):
        """/metrics tells whether sked reaches each broker, and each Celery queue's depth and
        workers online, labelled with the broker; GET /api/queues says `connected` too. An
        outage showed nowhere but in a log line."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="wm@skedtest", queues=("celery",)).start()
        self.addCleanup(worker.close)
        with Sked(tasks=task_files(redis), args=FAST) as s:
            broker = 'broker="%s"' % redis.url(0)

            def sample(name, labels):
                m = re.search(r"^%s\{%s\} (\S+)$" % (name, re.escape(labels)),
                              s.get("/metrics").raw, re.M)
                return float(m.group(1)) if m else None
            wait_heartbeats(s, "celery", "wm@skedtest", n=1)
            self.assertEqual(sample("sked_celery_broker_connected", broker), 1)
            self.assertEqual(sample("sked_celery_workers_online", broker + ',queue="celery"'), 1)
            self.assertEqual(sample("sked_celery_queue_depth", broker + ',queue="parked"'), 0)
            self.assertIs(celery_queue(s, "celery")["connected"], True)
            redis.stop()
            wait_for(lambda: sample("sked_celery_broker_connected", broker) == 0, timeout=15,
                     what="the outage in /metrics")
            self.assertIs(celery_queue(s, "celery")["connected"], False)
            redis.start()
            wait_for(lambda: sample("sked_celery_broker_connected", broker) == 1, timeout=30,
                     what="the broker back in /metrics")

    def test_a_redis_restart_mid_task_is_survived(self):
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="wr@skedtest", queues=("celery",)).start()
        self.addCleanup(worker.close)
        tasks = task_files(redis)
        # the worker reconnects with a worker-online: sked asks whether it still has the task,
        # and would give it up accept_timeout + 10 s later, long before the task ends
        tasks["sleepy.json"]["celery"]["accept_timeout"] = "2s"
        with Sked(tasks=tasks, args=FAST) as s:
            pidfile = os.path.join(s.tmp, "pid")
            run = s.run_job(s.create_job("sleepy", args={"seconds": 18, "pidfile": pidfile})["id"])
            read_pidfile(pidfile)
            s.wait_run(run, ["RUNNING"], timeout=15)
            redis.restart(down_for=1)  # same port, and empty: no persistence
            done = s.wait_run(run, timeout=60)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], {"slept": 18})
            # both sides reconnected for new work too
            after = s.wait_run(s.run_job(s.create_job("add", args={"x": 40, "y": 2})["id"]), timeout=30)
            self.assertEqual(after["status"], "SUCCESS", after)
            self.assertEqual(after["output"], 42)

    def test_a_message_the_restart_lost_fails_its_run(self):
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="wq@skedtest", queues=("celery",)).start()
        self.addCleanup(worker.close)
        with Sked(tasks=task_files(redis), args=FAST) as s:
            # queue "nobody" has no worker: the message waits in the list the restart empties
            run = s.run_job(s.create_job("orphan")["id"])
            wait_for(lambda: redis.llen("nobody") == 1, what="the message in its list")
            redis.restart(down_for=1)
            self.assertEqual(redis.llen("nobody"), 0)
            # no worker claims it when asked (query_task), and no result comes: lost
            done = s.wait_run(run, timeout=60)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith("lost: no worker has the task"), done)
            # noticed at the accept_timeout deadline (2s), lost accept_timeout + 10 s later
            lines = sked_lines(s, done)
            self.assertIsNotNone(line_index(
                lines, "the message is gone from queue nobody and no worker said it took it: "
                       "asking the workers; lost in 12s"), lines)
            took = ts(done["finished_at"]) - ts(done["created"])
            self.assertGreaterEqual(took, 2 + 12, done)


    def test_a_message_received_and_not_started_when_redis_restarts_ends(self):
        """A worker drops what it had received and not started when its broker goes, and a
        Redis without persistence its record of it; no event tells. sked asks the workers
        when it is connected again, and the run ends instead of waiting forever."""
        redis, _ = one_slot_worker(self, "wp@skedtest")
        tasks = task_files(redis)
        tasks["add.json"]["celery"]["accept_timeout"] = "2s"
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "wp@skedtest", n=1)
            _, waiting = run_behind(s, "wp@skedtest", 4, "add", {"x": 1, "y": 2})
            redis.restart(down_for=1)
            done = s.wait_run(waiting, timeout=60)
            lines = sked_lines(s, done)
            self.assertIsNotNone(line_index(lines, "connected to the broker again: asking the "
                                                   "workers whether one still has the task"), lines)
            # run again by a worker, or lost when none has it: either way it ended
            self.assertTrue(done["status"] == "SUCCESS" or
                            done["message"].startswith("lost: no worker has the task"), done)

    def test_a_stop_while_the_broker_is_down_reaches_the_task_once_it_is_back(self):
        """Two tasks run; their broker's Redis goes away for 14 s; both runs are stopped
        meanwhile. No revoke can reach the worker. The run whose stop_grace is 3 s ends
        CANCELLED two stop_grace after the stop all the same, saying so (it stayed CANCELLING
        for as long as Redis was away); the other, of 15 s, is still CANCELLING when Redis is
        back. sked sends the revokes once it reconnects, but the worker, in its own reconnect
        backoff, comes back seconds later and listens only from its first heartbeat: the
        revokes go again then (they were sent at its worker-online alone, which it does not
        hear, most of the time). Both tasks are terminated instead of running to completion; the second run ends
        CANCELLED as its worker confirms, the first one's log tells it."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        worker = Worker(redis, name="wd@skedtest", queues=("celery",), concurrency=2).start()
        self.addCleanup(worker.close)
        tasks = task_files(redis)  # sleepy: stop_grace 3s
        tasks["sleepy_slow.json"] = dict(tasks["sleepy.json"], id="sleepy_slow",
                                         title="sleepy_slow")
        tasks["sleepy_slow.json"]["celery"] = dict(tasks["sleepy.json"]["celery"],
                                                   stop_grace="15s")
        with Sked(tasks=tasks, args=FAST) as s:
            wait_heartbeats(s, "celery", "wd@skedtest", n=1)
            runs, pids = [], []
            for task in ("sleepy", "sleepy_slow"):
                pidfile = os.path.join(s.tmp, "pid-" + task)
                runs.append(s.run_job(s.create_job(task, args={"seconds": 45,
                                                               "pidfile": pidfile})["id"]))
                pids.append(read_pidfile(pidfile))
            for run in runs:
                s.wait_run(run, ["RUNNING"], timeout=15)
            redis.stop()
            for run in runs:
                self.assertEqual(s.stop_run(run)["status"], "CANCELLING")
            time.sleep(14)  # the outage
            self.assertTrue(all(pid_alive(p) for p in pids))  # nothing reached them
            short, slow = runs
            self.assertEqual(s.get_run(slow)["status"], "CANCELLING")
            redis.start()
            # terminated, or run to completion (45 s after their start)
            for run in (slow, short):
                wait_for(lambda: (redis.result(run["id"]) or {}).get("status"), timeout=50,
                         what="the task's result once Redis is back")
                self.assertEqual(redis.result(run["id"])["status"], "REVOKED")  # not SUCCESS
            wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5,
                     what="the tasks' processes gone")
            done = s.wait_run(slow, timeout=5)
            self.assertEqual((done["status"], done["message"]), ("CANCELLED", "stopped by %s" % BY),
                             done)
            # sked revokes the task once it is connected again; the revokes go again at the
            # worker's first heartbeat. The task may have ended before that heartbeat: on those
            # of its worker-online, when it already listened then (it may, by a few
            # milliseconds), or on those of sked's reconnect, when the worker was back on the
            # broker first (each backs off on its own, sked's tries up to 5 s apart, the
            # worker's 2, 4, 6, 8 s and more: either may be back first)
            lines = sked_lines(s, done)
            sent = line_index(lines, "revoking the task on the workers (SIGTERM)")
            again = line_index(lines, "wd@skedtest is back online and hears broadcasts: "
                                      "revoking the task again (SIGTERM)")
            online = line_index(lines, "wd@skedtest came online again")
            self.assertIsNotNone(sent, lines)
            self.assertTrue(again is not None or len(lines) - 1 in (online, sent), lines)
            done = s.wait_run(short, timeout=5)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["message"], "stopped by %s; the broker could not be reached to "
                             "revoke the task, which may still run when it is back" % BY, done)
            lines = sked_lines(s, done)
            self.assertIsNotNone(line_index(lines, "the broker %s could not be reached to revoke "
                                            "the task" % redis.url(0)), lines)
            wait_for(lambda: "the stop reached the task after the run ended: the result backend "
                             "says REVOKED" in sked_lines(s, done), what="the late result")

    def test_a_queued_message_stopped_while_the_broker_refuses_sked(self):
        """A stop of a waiting message while the broker cannot be reached (here: it asks for a
        password sked lacks) ends the run CANCELLED two stop_grace later, saying the message
        may still run; once sked is let in again the message is taken out of its queue."""
        redis = Redis().start()
        self.addCleanup(redis.close)
        with Sked(tasks=task_files(redis), args=FAST) as s:  # parked: stop_grace 2s
            run = s.run_job(s.create_job("parked")["id"])
            wait_for(lambda: redis.llen("parked") == 1, what="the message in its list")
            redis.command("CONFIG", "SET", "requirepass", "s3cret")
            redis.command("CLIENT", "KILL", "TYPE", "normal", password="s3cret")
            redis.command("CLIENT", "KILL", "TYPE", "pubsub", password="s3cret")
            wait_for(lambda: "event=celery.disconnected broker=" in s.server_log(),
                     what="the broker's connections gone")
            s.stop_run(run)
            done = s.wait_run(run, timeout=15)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["message"], "stopped by %s; the broker could not be reached to "
                             "take the message back, and a worker may still run the task when "
                             "it is back" % BY, done)
            self.assertEqual(redis.command("LLEN", "parked", password="s3cret"), 1)
            redis.command("CONFIG", "SET", "requirepass", "", password="s3cret")
            wait_for(lambda: redis.llen("parked") == 0, what="the message taken out")
            wait_for(lambda: line_index(sked_lines(s, done), "the broker is back: the message was "
                                        "taken out of queue parked") is not None,
                     what="the run's log saying so")

    def test_a_start_learnt_from_the_result_backend_is_the_earliest_it_can_be(self):
        """A task that started while sked was down, read as running from the result backend:
        its start is taken as the send, never as the moment sked read it, so the next run's
        since does not skip what the task saw."""
        redis, _ = one_slot_worker(self, "wt@skedtest")
        with Sked(tasks=task_files(redis), args=FAST) as s:
            _, later = run_behind(s, "wt@skedtest", 2, "progress", {"steps": 8, "step_seconds": 1})
            s.kill9()
            wait_for(lambda: (redis.result(later["id"]) or {}).get("status") == "PROGRESS",
                     timeout=20, what="the second task running while sked is down")
            seen_running = time.time()
            time.sleep(0.5)
            s.start()
            running = s.wait_run(later, ["RUNNING"], timeout=15)
            self.assertLess(ts(running["started_at"]), seen_running, running)
            self.assertGreaterEqual(ts(running["started_at"]), ts(later["created"]), running)
            self.assertEqual(s.wait_run(later, timeout=30)["status"], "SUCCESS")


class ReferenceJob(unittest.TestCase):
    """docs/celery.md's "Update expired embargoes" example against a task shaped like
    InvenioRDM's: no parameters, ignore_result=True (its outcome is known from task events
    only). Needs celery.send_since (false: no since keyword), which the written specification
    of the executor does not have; a task without parameters cannot run without it."""

    def test_update_expired_embargoes(self):
        task = {"id": "update_expired_embargos", "title": "Update expired embargoes",
                "celery": {"broker": REDIS.url(0), "result_backend": REDIS.url(1),
                           "task": "skedtest_app.update_expired_embargos", "queue": "celery",
                           "send_since": False},
                "timeout": "1h"}
        with Sked(tasks={"embargos.json": task}, args=FAST) as s:
            job = s.create_job("update_expired_embargos",
                               schedule={"type": "cron", "expression": "2 0 * * *"})
            done = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertIsNotNone(line_index(sked_lines(s, done), "started on w1@skedtest"))
            # what the task was sent: no since, in the run's args either
            self.assertEqual(done["args"], {}, done)


if __name__ == "__main__":
    skedtest.main()
