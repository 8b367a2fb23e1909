"""Recovery: a sked killed with -9 during runs, graceful and forced shutdown with SIGTERM, and
task files that keep `sked serve` from starting."""
import http.client
import json
import re
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

import skedtest
from skedtest import CheckedSked as Sked, parse_time, pids_with_env, sh_task, wait_for

INTERRUPTED = "interrupted: sked stopped while the run was active"

# A task with children, one of which ignores SIGTERM; it runs until stopped.
LONG = sh_task("long", r'''
sleep 1000 &
sh -c 'trap "" TERM; sleep 1000' &
echo working
wait
''')
QUICK = sh_task("quick", 'echo "quick run $SKED_RUN_ID"')
SHORT = sh_task("short", "echo begin; sleep 1; echo end")
STUBBORN = sh_task("stubborn", "trap '' TERM; echo begin; while :; do sleep 0.1; done",
                   stop_grace="1s")
# A task that sends its output elsewhere once started: its pipes to sked let go.
REDIRECTED = sh_task("redirected", "echo begin; exec >/dev/null 2>&1 3>&-; exec sleep 300")
TASKS = {"long.json": LONG, "quick.json": QUICK, "short.json": SHORT, "stubborn.json": STUBBORN,
         "redirected.json": REDIRECTED}


def started(s, run, line):
    return wait_for(lambda: any(l["message"] == line for l in s.logs(run)),
                    what="%r in the log of run %s" % (line, run["id"]))


def settled_pids(needle, least=3):
    """The processes whose environment holds needle once they are all there: at least `least`,
    and the same set at two looks 0.3 s apart (a task's children fork theirs a moment later)."""
    seen = [None]

    def same():
        now = sorted(pids_with_env(needle))
        stable = len(now) >= least and now == seen[0]
        seen[0] = now
        return now if stable else None
    return wait_for(same, interval=0.3, what="the task and its children")


class Kill9(unittest.TestCase):
    def test_a_write_ahead_log_without_its_store_is_not_dropped(self):
        """After a crash the store's changes may all be in its -wal. Its file moved away (or
        deleted) apart from the log, serve and the local tools refuse to make a new store, which
        would drop them, and say what to do; put back, the store has everything."""
        with Sked(tasks={"quick.json": sh_task("quick", "true")}) as s:
            job = s.create_job("quick")
            s.kill9()
            wal = s.db + "-wal"
            self.assertGreater(os.path.getsize(wal), 0)
            moved = s.db + ".moved"
            os.rename(s.db, moved)
            with self.assertRaises(RuntimeError) as refused:
                s.start()
            self.assertIn("the store %s does not exist, but its write-ahead log %s does (" % (
                          s.db, wal), str(refused.exception))
            self.assertIn("put the store back beside it, or move %s away" % wal,
                          str(refused.exception))
            self.assertFalse(os.path.exists(s.db))
            self.assertGreater(os.path.getsize(wal), 0)
            os.rename(moved, s.db)
            s.start()
            self.assertEqual(s.get("/api/jobs/" + job["id"]).status, 200)

    def test_a_task_that_forks_while_recovery_looks_leaves_nothing(self):
        """The processes of a run a crash interrupted are killed at the next start, also those
        forked while recovery walks the processes (a task that starts a child every moment):
        nothing of the run is left alive."""
        forker = sh_task("forker", "(while :; do sleep 60 & done) & while :; do sleep 60 & done")
        for _ in range(4):  # a race: a few tries make a single walk fail nearly every time
            with Sked(tasks={"forker.json": forker}, args=["--shutdown-grace", "1s"]) as s:
                run = s.run_job(s.create_job("forker")["id"])
                needle = "SKED_RUN_ID=" + run["id"]
                wait_for(lambda: len(pids_with_env(needle)) >= 20, what="the task forking")
                s.kill9()
                s.start()
                self.assertEqual(s.get_run(run)["status"], "FAILED")
                time.sleep(1)  # a child left by the walk would fork no more, and live on
                self.assertEqual(pids_with_env(needle), [], "processes of the interrupted run")

    def test_a_deleted_jobs_task_still_ending_is_killed_after_a_crash(self):
        """A job's deletion takes its runs at once and stops their tasks (SIGTERM, then SIGKILL
        after the stop grace); a crash in between leaves no record of the run, yet the next
        start kills what is left of its task. A task that ends in time leaves nothing behind."""
        slow = sh_task("slow", "trap '' TERM; echo begin; while :; do sleep 0.1; done",
                       stop_grace="60s")
        tasks = dict(TASKS, **{"slow.json": slow})

        def detached():
            with sqlite3.connect(s.db) as db:
                return db.execute("SELECT count(*) FROM detached").fetchone()[0]
        with Sked(tasks=tasks, args=["--shutdown-grace", "1s"]) as s:
            for task in ("slow", "stubborn"):  # stop grace 60 s, 1 s
                run = s.run_job(s.create_job(task)["id"])
                started(s, run, "begin")
                needle = "SKED_RUN_ID=" + run["id"]
                self.assertEqual(s.delete("/api/jobs/" + run["job_id"]).status, 204)
                self.assertTrue(pids_with_env(needle))  # in its stop grace
                self.assertEqual(detached(), 1)
                if task == "slow":
                    s.kill9()
                    s.start()
                    self.assertIn("event=run.orphans_killed count=", s.server_log())
                    wait_for(lambda: not pids_with_env(needle), what="the task killed")
                    self.assertEqual(detached(), 0)  # the start's kill took the record
                else:
                    wait_for(lambda: not pids_with_env(needle), what="the task's end")
                    wait_for(lambda: detached() == 0, what="its record gone with it")

    def test_processes_that_cleared_their_environment_are_killed_after_a_crash(self):
        """A task that runs its work under env -i (as sudo and su - do) leaves processes without
        the run's id in their environment; the first process itself may be one (exec env -i).
        The next start finds them by the task's process group (its pid is stored soon after
        the start), and by the pipes they share with it (a program that made a group of its
        own, as su - does), so that the job's next run never executes beside them."""
        tmp = tempfile.mkdtemp(prefix="sked-cleared-")
        try:
            script = r"""
env -i /bin/sh -c 'echo $$ > {d}/inner; exec sleep 300' &
setsid env -i /bin/sh -c 'echo $$ > {d}/apart; exec sleep 300' &
echo started
exec env -i /bin/sh -c 'echo $$ > {d}/leader; sleep 300; :'
""".format(d=tmp)
            tasks = {"cleared.json": sh_task("cleared", script)}
            with Sked(tasks=tasks, args=["--shutdown-grace", "1s"]) as s:
                run = s.run_job(s.create_job("cleared")["id"])
                started(s, run, "started")
                names = ("inner", "apart", "leader")
                pids = wait_for(lambda: all(os.path.exists(os.path.join(tmp, n)) for n in names) and
                                [int(open(os.path.join(tmp, n)).read() or 0) for n in names],
                                what="the three processes")
                self.assertTrue(all(pids), pids)
                self.assertFalse(pids_with_env("SKED_RUN_ID=" + run["id"]))  # none has the id

                def stored_pid():
                    with sqlite3.connect(s.db) as db:
                        return db.execute("SELECT pid FROM run WHERE id = ?", (run["id"],)).fetchone()[0]
                self.assertEqual(wait_for(stored_pid, what="the task's pid stored"), pids[2])
                s.kill9()
                for pid in pids:
                    os.kill(pid, 0)  # alive while no sked is there
                s.start()
                self.assertEqual(s.get_run(run)["status"], "FAILED")
                # the three and the leader's sleep
                self.assertIn("event=run.orphans_killed count=4", s.server_log())
                for pid in pids:
                    wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                             open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z",
                             what="process %d killed" % pid)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_runs_started_under_another_node_name_are_recovered(self):
        """The node name defaults to the host's, which changes when a container is made anew:
        the runs a crash left under the old name are this sked's to recover (one sked at a time
        serves a store), not RUNNING for good while their job's skip never fires again."""
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s", "--node", "host-a"]) as s:
            run = s.run_job(s.create_job("long", overlap="skip")["id"])
            started(s, run, "working")
            needle = "SKED_RUN_ID=" + run["id"]
            s.kill9()
            s.args = ["--shutdown-grace", "1s", "--node", "host-b"]
            s.start()
            done = s.get_run(run)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith(INTERRUPTED), done["message"])
            wait_for(lambda: not pids_with_env(needle), timeout=5, what="its task killed")
            again = s.run_job(run["job_id"])
            started(s, again, "working")
            self.assertEqual(s.get_run(again)["node"], "host-b")

    def test_kill9_during_a_run_then_restart(self):
        with Sked(tasks=TASKS, args=["--queues", "default=1", "--shutdown-grace", "1s"]) as s:
            long_run = s.run_job(s.create_job("long")["id"])
            started(s, long_run, "working")
            quick_job = s.create_job("quick")
            queued = [s.run_job(quick_job["id"]) for _ in range(2)]
            needle = "SKED_RUN_ID=" + long_run["id"]
            wait_for(lambda: len(pids_with_env(needle)) >= 3, what="the task and its children")
            for q in queued:
                self.assertEqual(s.get_run(q)["status"], "QUEUED")

            s.kill9()
            # sked is gone but its task lives on: the orphans recovery has to deal with
            self.assertGreaterEqual(len(pids_with_env(needle)), 3)

            s.start()
            done = s.get_run(long_run)
            self.assertEqual(done["status"], "FAILED", done)
            self.assertTrue(done["message"].startswith(INTERRUPTED), done["message"])
            self.assertIsNotNone(done["finished_at"])
            last = s.all_logs(done)[-1]
            self.assertEqual((last["level"], last["stream"], last["message"]),
                             ("ERROR", "sked", INTERRUPTED))
            self.assertEqual(last["seq"], len(s.all_logs(done)))
            wait_for(lambda: not pids_with_env(needle), timeout=5,
                     what="the orphans of the interrupted run to be killed")
            # the runs that were waiting still run, once each
            for q in queued:
                d = s.wait_run(q)
                self.assertEqual(d["status"], "SUCCESS", d)
                self.assertEqual([l["message"] for l in s.all_logs(d)], ["quick run " + q["id"]])
            # the interrupted run is counted like any other failure
            metrics = s.get("/metrics").raw
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="FAILED"} 1'
                          % long_run["job_id"], metrics)
            # by a process that started before it ended the run (counters count from the start)
            start = float(re.search(r"^sked_start_time_seconds (\S+)$", metrics, re.M).group(1))
            self.assertLessEqual(start, parse_time(done["finished_at"]))
            # the queue's slot was not lost with the old process
            queues = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((queues["default"]["busy"], queues["default"]["queued"]), (0, 0))
            self.assertEqual(s.wait_run(s.run_job(quick_job["id"]))["status"], "SUCCESS")
            # an interrupted run is over: it can be deleted, and a new one started
            self.assertEqual(s.delete("/api/jobs/%s/runs/%s" % (long_run["job_id"],
                                                                long_run["id"])).status, 204)

    def test_kill9_keeps_every_acknowledged_write(self):
        # the store gathers a commit's WAL writes in memory until the commit ends: whatever
        # was answered is in the file when the process dies, whatever the answer named
        # (with durability full, the WAL also grows ahead of its frames by zeros, which the
        # recovery after the kill reads past)
        noop = {"id": "noop", "title": "noop", "builtin": "noop"}
        for durability in ("normal", "full"):
            with self.subTest(durability=durability), \
                 Sked(tasks={"noop.json": noop},
                      args=["--shutdown-grace", "1s", "--durability", durability]) as s:
                job = s.create_job("noop")
                runs = [s.run_job(job["id"])["id"] for _ in range(300)]
                s.kill9()
                s.start()
                listed = s.get("/api/jobs/%s/runs?size=500" % job["id"]).json["hits"]
                self.assertEqual(listed["total"], 300)
                self.assertEqual(sorted(r["id"] for r in listed["hits"]), sorted(runs))
                self.assertEqual(s.get("/api/jobs/" + job["id"]).json["title"], "job of noop")
                self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
                db = sqlite3.connect(s.db)
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                db.close()

    def test_restart_twice_does_not_touch_finished_runs(self):
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s"]) as s:
            ok = s.wait_run(s.run_job(s.create_job("quick")["id"]))
            long_run = s.run_job(s.create_job("long")["id"])
            started(s, long_run, "working")
            s.kill9()
            s.start()
            s.kill9()
            s.start()
            self.assertEqual(s.get_run(ok)["status"], "SUCCESS")
            self.assertEqual(s.get_run(ok)["message"], None)
            failed = s.get_run(long_run)
            self.assertEqual(failed["message"], INTERRUPTED)
            lines = [l["message"] for l in s.all_logs(failed)]
            self.assertEqual(lines.count(INTERRUPTED), 1)
            wait_for(lambda: not pids_with_env("SKED_RUN_ID=" + long_run["id"]), timeout=5,
                     what="no orphans")


    def test_jobs_of_a_task_file_that_went_away(self):
        with Sked(tasks=TASKS, args=["--queues", "default=1", "--shutdown-grace", "1s"]) as s:
            job = s.create_job("quick")
            self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
            long_run = s.run_job(s.create_job("long")["id"])
            started(s, long_run, "working")
            queued = s.run_job(job["id"])
            s.kill9()
            os.unlink(os.path.join(s.tasks_dir, "quick.json"))
            s.start()
            self.assertEqual(s.get_run(long_run)["status"], "FAILED")
            d = s.wait_run(queued)
            self.assertEqual(d["status"], "FAILED", d)
            self.assertIn("job type 'quick' is not loaded", d["message"])
            # the job is still there to read, list and delete; it cannot start runs
            r = s.get("/api/jobs/" + job["id"])
            self.assertEqual((r.status, r.json["task"]), (200, "quick"))
            self.assertIn(job["id"], [j["id"] for j in s.get("/api/jobs?size=100").json["hits"]["hits"]])
            r = s.post("/api/jobs/%s/runs" % job["id"], {})
            self.assertEqual(r.status, 400, r)
            self.assertIn("task", [e["field"] for e in r.json["errors"]])
            self.assertNotIn("quick", [t["id"] for t in s.get("/api/tasks").json["hits"]["hits"]])
            self.assertEqual(s.delete("/api/jobs/" + job["id"]).status, 204)

    def test_a_run_being_stopped_when_sked_dies_ends_cancelled_and_is_not_retried(self):
        """A stop is the user's decision: a run CANCELLING when sked is killed ends CANCELLED
        at the restart, as the stop would have ended it, and its job's retries do not run it
        again."""
        slow = sh_task("slowstop", "trap 'echo asked' TERM; echo begin; while :; do sleep 0.1; done",
                       stop_grace="60s")
        with Sked(tasks={"slowstop.json": slow}, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("slowstop", max_retries=2, retry_backoff="1s")
            run = s.run_job(job["id"])
            started(s, run, "begin")
            r = s.post("/api/jobs/%s/runs/%s/actions/stop" % (job["id"], run["id"]), {})
            self.assertEqual(r.json["status"], "CANCELLING", r)
            started(s, run, "asked")
            s.kill9()
            s.start()
            done = s.get_run(run)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertIn("stopped by", done["message"])
            self.assertIn("sked stopped before the task ended", done["message"])
            time.sleep(1.5)  # past the retry's backoff
            runs = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
            self.assertEqual([x["id"] for x in runs], [run["id"]])


class Shortages(unittest.TestCase):
    def test_runs_wait_while_sked_lacks_descriptors_for_their_tasks(self):
        """A task that cannot start for want of descriptors is not the run's fault: the run goes
        back to its queue and starts once running tasks have given theirs back, instead of
        failing for good."""
        import resource
        nap = sh_task("nap", "sleep 0.3; echo rested")
        with Sked(tasks={"nap.json": nap}, args=["--queues", "default=8", "--shutdown-grace", "1s"]) as s:
            job = s.create_job("nap")
            s.wait_run(s.run_job(job["id"]))  # the pipes made ahead of the next tasks exist now
            # eight runs wait in a paused queue; resumed over a connection made beforehand, the
            # queue hands them all slots at once, with descriptors for a few tasks only
            self.assertEqual(s.post("/api/queues/default/actions/pause", {}).status, 200)
            runs = [s.run_job(job["id"]) for _ in range(8)]
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
            conn.connect()
            fds = len(os.listdir("/proc/%d/fd" % s.proc.pid))
            soft, hard = resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (fds + 8, hard))
            try:
                conn.request("POST", "/api/queues/default/actions/resume", body=b"{}",
                             headers={"Authorization": "Bearer " + skedtest.TOKEN,
                                      "Content-Type": "application/json"})
                self.assertEqual(conn.getresponse().status, 200)
                wait_for(lambda: "event=run.start_deferred" in s.server_log() or
                         "event=run.start_failed" in s.server_log(), what="a start short of descriptors")
            finally:
                conn.close()
                resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
            done = [s.wait_run(r, timeout=60) for r in runs]
            self.assertEqual([d["status"] for d in done], ["SUCCESS"] * 8,
                             [(d["status"], d["message"]) for d in done])
            self.assertIn("event=run.start_deferred", s.server_log())
            for d in done:
                self.assertEqual([l["message"] for l in s.all_logs(d)], ["rested"])


def run_with_a_commit_that_fails(test, s, job):
    """Asks for a run of job while the store's WAL may grow no further: the commit fails,
    the request gets no answer and sked stops with status 1."""
    wal = os.path.getsize(s.db + "-wal")
    resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (wal, wal))
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    with test.assertRaises((OSError, http.client.HTTPException)):
        skedtest.send_run_request(conn, job["id"])
        conn.getresponse().read()
    conn.close()
    test.assertEqual(s.proc.wait(10), 1)


class StoreFailure(unittest.TestCase):
    def test_a_damaged_store_says_what_to_do(self):
        """A store whose pages were damaged on disk cannot be served; the log says so and how
        to come back (restore a backup), besides SQLite's words."""
        noop = {"id": "noop", "title": "noop", "builtin": "noop"}
        with skedtest.Sked(tasks={"noop.json": noop}, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("noop")
            for _ in range(50):
                s.run_job(job["id"])
            s.stop()
            with sqlite3.connect(s.db) as db:
                root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'run'").fetchone()[0]
                page = db.execute("PRAGMA page_size").fetchone()[0]
            with open(s.db, "r+b") as f:  # the run table's root page, its header overwritten
                f.seek((root - 1) * page)
                f.write(b"\xff" * 64)
            try:
                s.start()
                s.get("/api/jobs/%s/runs" % job["id"])
            except (RuntimeError, AssertionError):
                pass
            if s.proc:
                self.assertEqual(s.proc.wait(10), 1)
                s.proc = None
            log = s.server_log()
            self.assertIn("event=store.damaged db=\"%s\" action=\"stop sked, then restore the newest "
                          "backup over it: sked restore BACKUP --db DB\"" % s.db, log)
            self.assertNotIn("Sanitizer", log)  # exits 1 as it must, so not CheckedSked
            self.assertNotIn("runtime error", log)

    def test_a_commit_that_fails_answers_nothing_and_stops(self):
        """A commit the store cannot make (here its WAL may grow no further) leaves the answers
        of its loop iteration unsent and stops sked with status 1; a restart finds the store as
        its last commit left it."""
        noop = {"id": "noop", "title": "noop", "builtin": "noop"}
        with Sked(tasks={"noop.json": noop}, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("noop")
            first = s.wait_run(s.run_job(job["id"]))
            run_with_a_commit_that_fails(self, s, job)
            self.assertIn("event=store.commit_failed", s.server_log())
            s.stop()
            s.start()
            listed = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]
            self.assertEqual([r["id"] for r in listed["hits"]], [first["id"]])
            self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
            db = sqlite3.connect(s.db)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            db.close()

    def test_no_task_starts_before_its_run_is_stored(self):
        """A task's process starts only once the store holds its run: when the commit that
        would record the run (a request's, or the claim that hands a freed slot to the next
        run) fails, sked stops and nothing ran; a restart runs each run once."""
        marks = tempfile.mkdtemp(prefix="sked-marks-")
        mark = sh_task("mark", 'echo "$SKED_RUN_ID" >> "$1/$SKED_RUN_ID"; sleep "$2"',
                       [marks, "{{seconds}}"], arguments={
                           "type": "object", "properties": {"seconds": {"type": "number", "default": 0}}})
        ran = lambda: sorted(os.listdir(marks))
        try:
            with Sked(tasks={"mark.json": mark}, args=["--queues", "default=1", "--shutdown-grace", "1s"]) as s:
                job = s.create_job("mark")
                first = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(ran(), [first["id"]])
                # a request's run: its commit fails, so its task must not start
                run_with_a_commit_that_fails(self, s, job)
                time.sleep(1.5)  # a task started anyway has written its mark by now
                self.assertEqual(ran(), [first["id"]])
                s.stop()

                # a claim's: the next run of a full queue is handed the slot its task frees
                s.start()
                busy = s.run_job(job["id"], args={"seconds": 1})
                waiting = s.run_job(job["id"])
                wait_for(lambda: busy["id"] in ran(), what="the first task")
                self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
                wal = os.path.getsize(s.db + "-wal")
                resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (wal, wal))
                self.assertEqual(s.proc.wait(10), 1)  # the claim's commit failed
                time.sleep(1.5)
                self.assertNotIn(waiting["id"], ran())
                s.stop()
                s.start()
                self.assertEqual(s.wait_run(waiting)["status"], "SUCCESS")
                with open(os.path.join(marks, waiting["id"])) as f:
                    self.assertEqual(f.read().split(), [waiting["id"]])  # once
        finally:
            shutil.rmtree(marks, ignore_errors=True)

    def test_a_run_whose_job_is_deleted_before_its_task_starts_never_starts(self):
        """A run a request stores starts its task after the loop's commit: when the next
        request on the connection deletes the job first, the task is never started."""
        marks = tempfile.mkdtemp(prefix="sked-marks-")
        mark = sh_task("mark", 'echo "$SKED_RUN_ID" >> "$1/$SKED_RUN_ID"', [marks])
        try:
            with Sked(tasks={"mark.json": mark}, args=["--shutdown-grace", "1s"]) as s:
                auth = b"Authorization: Bearer " + skedtest.TOKEN.encode() + b"\r\n"
                for _ in range(3):
                    job = s.create_job("mark")
                    reqs = (b"POST /api/jobs/%s/runs HTTP/1.1\r\nHost: x\r\n" % job["id"].encode() + auth +
                            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" +
                            b"DELETE /api/jobs/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % job["id"].encode() +
                            auth + b"\r\n")
                    (st1, _, body), (st2, _, _) = skedtest.parse_responses(s.raw(reqs))
                    self.assertEqual((st1, st2), (201, 204))
                    self.assertEqual(json.loads(body)["status"], "RUNNING")
                time.sleep(1)  # a task started anyway has written its mark by now
                self.assertEqual(os.listdir(marks), [])
                self.assertIn("event=run.detached", s.server_log())
                # and a run left alone starts
                run = s.wait_run(s.run_job(s.create_job("mark")["id"]))
                self.assertEqual((run["status"], os.listdir(marks)), ("SUCCESS", [run["id"]]))
        finally:
            shutil.rmtree(marks, ignore_errors=True)


    def test_a_recovery_the_store_cannot_commit_stops_sked(self):
        """The runs a crash left active are failed in the store before anything is announced of
        them: when the store cannot commit that, sked stops with status 1 rather than serve
        runs it would show RUNNING forever, and a start with room recovers them."""
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("long", max_retries=1, retry_backoff="1h")
            run = s.run_job(job["id"])
            started(s, run, "working")
            s.kill9()
            wal = os.path.getsize(s.db + "-wal")  # the WAL may grow no further
            r = subprocess.run(["prlimit", "--fsize=%d" % wal, "--", skedtest.BIN, "serve",
                                "--db", s.db, "--listen", "127.0.0.1:0", "--tasks", s.tasks_dir],
                               capture_output=True, text=True, timeout=30, env=s.env, cwd=s.tmp)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("cannot mark the runs a crash left active as failed", r.stderr)
            self.assertNotIn("listening", r.stdout + r.stderr)
            db = sqlite3.connect(s.db)
            self.assertEqual(db.execute("SELECT status FROM run WHERE id = ?", (run["id"],)).fetchone(), ("R",))
            db.close()
            s.start()
            done = s.get_run(run)
            self.assertEqual((done["status"], done["message"]), ("FAILED", INTERRUPTED))
            # its retry was made with it, once
            runs = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
            self.assertEqual(sorted((r["trigger"], r["status"]) for r in runs),
                             [("manual", "FAILED"), ("retry", "QUEUED")])


class OneServerPerStore(unittest.TestCase):
    def test_a_second_server_on_the_same_store_is_refused(self):
        """A second `sked serve` on a store another one serves would take the first one's runs
        for a crash's leftovers and kill their processes: it is refused before it touches
        them, and the store is served again once the first has stopped."""
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s"]) as s:
            run = s.run_job(s.create_job("long")["id"])
            started(s, run, "working")
            second = [skedtest.BIN, "serve", "--db", s.db, "--listen", "127.0.0.1:0", "--tasks",
                      s.tasks_dir]
            r = subprocess.run(second, capture_output=True, text=True, timeout=30, env=s.env,
                               cwd=s.tmp)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("the store %s is served by another sked already" % s.db, r.stderr)
            self.assertEqual(s.get_run(run)["status"], "RUNNING")
            self.assertTrue(pids_with_env("SKED_RUN_ID=" + run["id"]))
            self.assertEqual(s.stop(), 0)
            s.start()  # the lock went with the first server
            self.assertEqual(s.get_run(run)["status"], "FAILED")  # stopped by the shutdown

    def copy_served_beside(self, task, line, renamed):
        """Serves a backup of a live server running a run of task (started once its log has
        line) beside it, with a binary of another name when renamed: the copy's recovery ends
        the run in the copy only, and leaves its processes, the live server's, alone."""
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s"]) as s:
            run = s.run_job(s.create_job(task)["id"])
            started(s, run, line)
            needle = "SKED_RUN_ID=" + run["id"]
            before = settled_pids(needle, least=1 if task == "redirected" else 3)
            copy = Sked(tasks=TASKS, args=["--shutdown-grace", "1s"])
            if renamed:
                link = os.path.join(copy.tmp, "sked-next")
                os.symlink(os.path.abspath(skedtest.BIN), link)
                copy.wrapper = ["/bin/sh", "-c", 'exec "%s" "$@"' % link]
            try:
                r = subprocess.run([skedtest.BIN, "backup", copy.db, "--db", s.db],
                                   capture_output=True, text=True, timeout=60, env=s.env)
                self.assertEqual(r.returncode, 0, r)
                copy.start()
                self.assertEqual(copy.get_run(run)["status"], "FAILED")  # the copy's record
                self.assertNotIn("event=run.orphans_killed", copy.server_log())
            finally:
                copy.stop()
                skedtest.shutil.rmtree(copy.tmp, ignore_errors=True)
            self.assertEqual(sorted(pids_with_env(needle)), before)
            self.assertEqual(s.get_run(run)["status"], "RUNNING")

    def test_a_copy_of_the_store_served_beside_it_leaves_its_tasks_alone(self):
        """A backup restored and served on the same machine holds the first server's RUNNING
        runs: their processes belong to the live first server, whatever the name of the binary
        each one runs (the copy's another: a new version tried beside the old one), told by
        the pipes the live one holds; and those of a task that sent its output elsewhere (its
        pipes let go), told by the name of the live server's program."""
        self.copy_served_beside("long", "working", renamed=True)
        self.copy_served_beside("redirected", "begin", renamed=False)

class Shutdown(unittest.TestCase):
    def test_sigterm_lets_a_short_run_finish(self):
        with Sked(tasks=TASKS, args=["--queues", "default=1"]) as s:
            run = s.run_job(s.create_job("short")["id"])
            waiting = s.run_job(s.create_job("quick")["id"])
            started(s, run, "begin")
            t0 = time.time()
            rc = s.stop()
            elapsed = time.time() - t0
            skedtest.check_server_exit(rc, s.server_log())  # exit status 0, no reports
            self.assertLess(elapsed, 10)
            self.assertNotIn(INTERRUPTED, s.server_log())
            s.start()
            done = s.get_run(run)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual([l["message"] for l in s.all_logs(done)], ["begin", "end"])
            # the waiting run was not started during the shutdown, and runs now
            d = s.wait_run(waiting)
            self.assertEqual(d["status"], "SUCCESS", d)
            self.assertGreater(d["started_at"], done["finished_at"])

    def test_a_run_claimed_as_sked_stops_waits_for_the_next_start(self):
        """A request's run whose task had not started when SIGTERM came is not started only to
        be killed: it waits QUEUED, and the next start runs it once. (The request and the
        signal reach sked in one turn of its loop only sometimes: when the signal is taken in
        an earlier turn, sked stops before it reads the request, which then makes no run; in a
        later one, the task had started and the run ended as it would have: tried again.)"""
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("quick")
            url = "/api/jobs/%s/runs" % job["id"]
            made = 0
            for _ in range(30):
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                # half the tries with the connection accepted before sked stops, half without
                if _ % 2:
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                else:
                    conn.connect()
                s.proc.send_signal(signal.SIGSTOP)
                try:
                    skedtest.send_run_request(conn, job["id"])
                    time.sleep(0.2)
                    s.proc.send_signal(signal.SIGTERM)
                finally:
                    s.proc.send_signal(signal.SIGCONT)
                try:
                    r = conn.getresponse()
                    run = json.loads(r.read())
                except (ConnectionError, http.client.HTTPException):
                    run = None
                conn.close()
                self.assertEqual(s.proc.wait(30), 0)
                s.stop()
                if run:
                    made += 1
                    db = sqlite3.connect(s.db)
                    status = db.execute("SELECT status FROM run WHERE id = ?", (run["id"],)).fetchone()
                    db.close()
                    if status == ("Q",):
                        break
                    # the signal came in a later turn: the task had started, and ended
                    self.assertEqual(status, ("S",), run)
                    run = None
                s.start()  # a request never read made no run
                self.assertEqual(s.get(url).json["hits"]["total"], made)
            self.assertIsNotNone(run, "the request and the signal never met in one turn")
            self.assertEqual(r.status, 201, run)
            s.start()
            done = s.wait_run(run)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual([l["message"] for l in s.all_logs(done)], ["quick run " + run["id"]])

    def test_sigterm_stops_runs_past_the_shutdown_grace(self):
        with Sked(tasks=TASKS, args=["--shutdown-grace", "1s", "--stop-grace", "20s"]) as s:
            long_run = s.run_job(s.create_job("long")["id"])
            stubborn = s.run_job(s.create_job("stubborn")["id"])
            started(s, long_run, "working")
            started(s, stubborn, "begin")
            t0 = time.time()
            rc = s.stop()
            elapsed = time.time() - t0
            skedtest.check_server_exit(rc, s.server_log())
            self.assertGreaterEqual(elapsed, 0.9, "sked did not wait for its shutdown grace")
            # 1s of grace, then the stubborn task's own 1s stop grace (not the 20s default)
            self.assertLess(elapsed, 8)
            for run in (long_run, stubborn):
                self.assertEqual(pids_with_env("SKED_RUN_ID=" + run["id"]), [],
                                 "sked exited leaving processes of run %s" % run["id"])
            s.start()
            for run in (long_run, stubborn):
                done = s.get_run(run)
                self.assertEqual(done["status"], "FAILED", done)
                self.assertTrue(done["message"].startswith(INTERRUPTED), done["message"])
                msgs = [l["message"] for l in s.all_logs(done)]
                self.assertIn("sked is shutting down; stopping the task", msgs)
            self.assertIn("task did not end within the stop grace; sending SIGKILL",
                          [l["message"] for l in s.all_logs(stubborn)])


class BadTaskFiles(unittest.TestCase):
    def serve(self, files, more=None):
        """Runs `sked serve` on a folder holding files (and what more(folder) adds); returns
        (exit status, stderr, folder)."""
        tmp = tempfile.mkdtemp(prefix="sked-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        tasks = os.path.join(tmp, "tasks.d")
        os.makedirs(tasks)
        for name, doc in files.items():
            with open(os.path.join(tasks, name), "w") as f:
                f.write(doc if isinstance(doc, str) else json.dumps(doc))
        if more:
            more(tasks)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env["SKED_ADMIN_TOKEN"] = skedtest.TOKEN
        p = subprocess.run([skedtest.BIN, "serve", "--db", os.path.join(tmp, "sked.db"),
                            "--listen", "127.0.0.1:0", "--tasks", tasks],
                           env=env, cwd=tmp, capture_output=True, timeout=30)
        return p.returncode, p.stderr.decode(errors="replace"), tasks

    def assertRefused(self, files, bad_file, field, reason):
        rc, err, tasks = self.serve(files)
        self.assertNotEqual(rc, 0, err)
        self.assertNotIn("listening on", err)
        prefix = "%s/%s: %s: " % (tasks, bad_file, field)
        lines = [l for l in err.splitlines() if prefix in l]
        self.assertEqual(len(lines), 1, "no %r in %r" % (prefix, err))
        self.assertIn(reason, lines[0].split(prefix, 1)[1])
        for marker in skedtest.SANITIZER_MARKERS:
            self.assertNotIn(marker, err)

    def test_unknown_key(self):
        self.assertRefused({"a.json": {"id": "a", "title": "A", "command": ["true"], "colour": 1}},
                           "a.json", "colour", "unknown key")

    def test_duplicate_id(self):
        good = {"id": "same", "title": "A", "command": ["true"]}
        rc, err, tasks = self.serve({"a.json": good, "b.json": dict(good, title="B")})
        self.assertNotEqual(rc, 0, err)
        self.assertIn("%s/b.json: id: 'same' is already declared by %s/a.json" % (tasks, tasks), err)

    def test_every_file_that_does_not_load_is_named_at_once(self):
        """Not only the first: serve and config check name each broken file, so that one look
        shows all there is to mend; the good files between them do not change that."""
        good = {"id": "same", "title": "A", "command": ["true"]}
        files = {"a.json": good, "b.json": dict(good, title="B"), "c.json": '{"id": "c"',
                 "d.json": {"id": "d", "title": "D"}, "e.json": dict(good, id="e")}
        rc, err, tasks = self.serve(files)
        self.assertNotEqual(rc, 0, err)
        want = ["%s/b.json: id: 'same' is already declared by %s/a.json" % (tasks, tasks),
                "%s/c.json: (file): malformed JSON" % tasks, "%s/d.json: command: " % tasks]
        lines = [l for l in err.splitlines() if l.startswith("sked serve: ")]
        self.assertEqual(len(lines), 3, err)
        for line, start in zip(lines, want):
            self.assertTrue(line.startswith("sked serve: " + start), (line, start))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        p = subprocess.run([skedtest.BIN, "config", "check", "--tasks", tasks], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 3, p.stderr)
        for line, start in zip(lines, want):
            self.assertTrue(line.startswith("sked config check: " + start), (line, start))

    def test_missing_command(self):
        self.assertRefused({"c.json": {"id": "c", "title": "C"}}, "c.json", "command", "required")
        self.assertRefused({"c.json": {"id": "c", "title": "C", "command": []}}, "c.json",
                           "command", "must be a non-empty array")
        self.assertRefused({"c.json": {"id": "c", "title": "C", "command": ["true", 5]}},
                           "c.json", "command[1]", "must be a string")

    def test_bad_schema_keyword(self):
        self.assertRefused({"d.json": {"id": "d", "title": "D", "command": ["true"], "arguments": {
            "type": "object", "properties": {"n": {"type": "integer", "pattern": "^[0-9]+$"}}}}},
            "d.json", "arguments.properties.n.pattern", "unsupported schema keyword")
        self.assertRefused({"d.json": {"id": "d", "title": "D", "command": ["true"], "arguments": {
            "type": "object", "properties": {"n": {"type": "integer", "default": "x"}}}}},
            "d.json", "arguments.properties.n.default", "does not fit the schema")

    def test_other_mistakes(self):
        base = {"id": "e", "title": "E", "command": ["true"]}
        cases = [
            ('{"id": "e", ', "(file)", "malformed JSON"),
            ('{"id": "e", "title": "E", "command": ["true"], "x": "%s"}' % ("y" * (1 << 20)), "(file)",
             "larger than 1 MiB (1048576 bytes)"),
            (dict(base, id="bad id!"), "id", "must be"),
            (dict(base, title=""), "title", "required"),
            (dict(base, default_queue="nope"), "default_queue", "unknown queue 'nope'"),
            (dict(base, timeout="soon"), "timeout", ""),
            (dict(base, stop_grace=0), "stop_grace", ""),
            (dict(base, env={"SKED_RUN_ID": "x"}), "env.SKED_RUN_ID", "set by sked"),
            (dict(base, command=["true", "{{nope}}"],
                  arguments={"type": "object", "properties": {}}),
             "command[1]", "placeholder {{nope}} names no property"),
            (dict(base, command=["{{prog}}"]), "command[0]", ""),
        ]
        for doc, field, reason in cases:
            with self.subTest(field=field):
                self.assertRefused({"e.json": doc, "ok.json": {"id": "ok", "title": "OK",
                                                               "command": ["true"]}},
                                   "e.json", field, reason)

    def test_a_fifo_or_a_folder_named_like_a_task_file_is_refused(self):
        """Opening a FIFO for reading waits for a writer: sked would hang at its start (and its
        loop at a reload); it names the file instead, and a folder likewise."""
        def special(tasks):
            os.mkfifo(os.path.join(tasks, "pipe.json"))
            os.mkdir(os.path.join(tasks, "dir.json"))
        rc, err, tasks = self.serve({"ok.json": {"id": "ok", "title": "OK", "command": ["true"]}},
                                    special)
        self.assertNotEqual(rc, 0, err)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        p = subprocess.run([skedtest.BIN, "config", "check", "--tasks", tasks], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p)
        for name in ("dir.json", "pipe.json"):
            self.assertIn("%s/%s: (file): not a regular file" % (tasks, name), err)
            self.assertIn("%s/%s: (file): not a regular file" % (tasks, name), p.stderr)

    def test_good_files_start(self):
        files = {"ok.json": {"id": "ok", "title": "OK", "command": ["true"]},
                 "notes.txt": "not a task file, ignored"}
        s = Sked(tasks=files).start()
        try:
            self.assertEqual(s.get("/api/tasks").json["hits"]["total"], 1)
        finally:
            s.__exit__(None, None, None)


if __name__ == "__main__":
    skedtest.main()
