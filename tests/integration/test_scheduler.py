"""The scheduler against the real binary: interval jobs fire repeatedly on their grid, jobs
scheduled while sked runs fire without a restart, deactivation stops them at once, kill -9 and
restart neither lose nor duplicate a fire, and each overlap and catch-up policy behaves as
documented. Missed fires are produced deterministically by moving a job's next_run into the
past in the store while sked is stopped."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest
from datetime import datetime, timezone

import skedtest
from skedtest import Sked, task_file

SLEEP_TASK = {
    "sleeper.json": task_file("sleeper", ["/bin/sh", "-c", "sleep {{seconds}}"],
                              arguments={"type": "object", "properties": {
                                  "seconds": {"type": "number", "default": 0}}}),
    "quick.json": task_file("quick", ["/bin/true"]),
}


def ts(s):
    return datetime.fromisoformat(s).timestamp()


def runs_of(s, job_id, size=1000):
    r = s.get("/api/jobs/%s/runs?size=%d&sort_direction=asc" % (job_id, size))
    assert r.status == 200, r
    return r.json["hits"]["hits"]


def wait_for(pred, timeout=20, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("condition not met within %ss" % timeout)


def every_second(**extra):
    sched = {"type": "interval", "seconds": 1}
    sched.update(extra)
    return sched


class IntervalTest(unittest.TestCase):
    def test_fires_repeatedly_on_its_grid(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule=every_second())
            self.assertIsNotNone(job["next_run"])
            first = ts(job["next_run"])
            runs = wait_for(lambda: len(runs_of(s, job["id"])) >= 4 and runs_of(s, job["id"]))
            fires = [ts(r["scheduled_for"]) for r in runs]
            for r in runs:
                self.assertEqual(r["trigger"], "scheduled")
                self.assertIsNone(r["started_by"])
                self.assertIsNone(r["title"])
                self.assertEqual(r["queue"], job["default_queue"])
                # never early
                self.assertGreaterEqual(ts(r["created"]), ts(r["scheduled_for"]))
            # first fire at once, then exactly every second from the previous fire: no drift
            self.assertAlmostEqual(fires[0], first, places=5)
            for a, b in zip(fires, fires[1:]):
                self.assertAlmostEqual(b - a, 1.0, places=5)
            j = s.get("/api/jobs/" + job["id"]).json
            self.assertGreater(ts(j["next_run"]), fires[-1])

    def test_deactivation_stops_at_once_and_reactivation_fires_at_once(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule=every_second())
            wait_for(lambda: len(runs_of(s, job["id"])) >= 2)
            r = s.patch("/api/jobs/" + job["id"], {"active": False})
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.json["next_run"])
            n = len(runs_of(s, job["id"]))
            time.sleep(2.5)
            self.assertEqual(len(runs_of(s, job["id"])), n)
            # an inactive job can still be run by hand
            run = s.run_job(job["id"])
            s.wait_run(run, ["SUCCESS"])
            r = s.patch("/api/jobs/" + job["id"], {"active": True})
            self.assertIsNotNone(r.json["next_run"])
            wait_for(lambda: len(runs_of(s, job["id"])) >= n + 2)

    def test_schedule_removed_and_changed(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule={"type": "interval", "hours": 1})
            # a new interval fires at once
            wait_for(lambda: len(runs_of(s, job["id"])) == 1)
            nr = s.get("/api/jobs/" + job["id"]).json["next_run"]
            self.assertAlmostEqual(ts(nr) - ts(job["next_run"]), 3600, places=3)
            # editing something else keeps the schedule's next run
            r = s.patch("/api/jobs/" + job["id"], {"title": "renamed"})
            self.assertEqual(r.json["next_run"], nr)
            # a cron expression starts at its next match
            r = s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "cron", "expression": "0 0 1 1 *"}})
            self.assertEqual(r.status, 200)
            self.assertTrue(r.json["next_run"].endswith("-01-01T00:00:00.000000+00:00"), r.json["next_run"])
            r = s.patch("/api/jobs/" + job["id"], {"schedule": None})
            self.assertIsNone(r.json["next_run"])
            self.assertIsNone(r.json["schedule"])

    def test_invalid_schedules_are_refused_at_save(self):
        with Sked(tasks=SLEEP_TASK) as s:
            for sched, field in [({"type": "cron", "expression": "61 * * * *"}, "schedule.expression"),
                                 ({"type": "crontab", "hour": "3-1"}, "schedule.hour"),
                                 ({"type": "interval", "seconds": 0}, "schedule"),
                                 ({"type": "cron", "expression": "0 3 * * *", "timezone": "Nowhere/City"}, "schedule.timezone"),
                                 ({"type": "yearly"}, "schedule.type")]:
                r = s.post("/api/jobs", {"title": "x", "task": "quick", "schedule": sched})
                self.assertEqual(r.status, 400, r)
                self.assertIn(field, [e["field"] for e in r.json["errors"]], r)

    def test_preview(self):
        with Sked(tasks=SLEEP_TASK) as s:
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "30 2 * * *",
                                                              "timezone": "Europe/Zurich"},
                                                  "from": "2026-03-27T00:00:00Z", "count": 3})
            self.assertEqual(r.status, 200, r)
            t = r.json["times"]
            self.assertEqual([x["utc"] for x in t], ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z"])
            self.assertEqual(t[0]["local"], "2026-03-27T02:30:00+01:00")
            self.assertIsNone(t[0]["note"])
            self.assertIn("does not exist", t[2]["note"])
            # dst is the clocks set ahead, also where tzdata marks winter time as the daylight
            # saving one (Europe/Dublin's GMT), and in the southern summer
            for zone, marks in (("Europe/Dublin", [("GMT", False), ("IST", True)]),
                                ("Europe/Zurich", [("CET", False), ("CEST", True)]),
                                ("Australia/Sydney", [("AEDT", True), ("AEST", False)]),
                                ("UTC", [("UTC", False), ("UTC", False)])):
                r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "0 12 1 1,7 *",
                                                                  "timezone": zone},
                                                      "from": "2026-01-01T00:00:00Z", "count": 2})
                self.assertEqual([(x["abbreviation"], x["dst"]) for x in r.json["times"]], marks, zone)
            # clocks set back, which tzdata marks as daylight saving (Casablanca in Ramadan):
            # not the clocks set ahead
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "0 12 1 1,3 *",
                                                              "timezone": "Africa/Casablanca"},
                                                  "from": "2026-01-01T00:00:00Z", "count": 2})
            self.assertEqual([(x["offset"], x["dst"]) for x in r.json["times"]],
                             [("+01:00", False), ("+00:00", False)])
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "bad"}})
            self.assertEqual(r.status, 400)
            r = s.post("/api/schedules/preview", {"schedule": {"type": "interval", "minutes": 1}, "count": 0})
            self.assertEqual(r.status, 400)
            # the times stop before the year 10000, which no instant of the API can be written in
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "0 0 1 1 *"},
                                                  "from": "9998-06-01T00:00:00Z", "count": 5})
            self.assertEqual([x["utc"] for x in r.json["times"]], ["9999-01-01T00:00:00Z"])
            r = s.post("/api/schedules/preview", {"schedule": {"type": "interval", "days": 36600},
                                                  "from": "9000-01-01T00:00:00Z", "count": 50})
            self.assertEqual(len(r.json["times"]), 10)
            self.assertTrue(all(x["utc"].startswith("9") and len(x["utc"]) == 20 for x in r.json["times"]))
            # nor past the year 9999 of the zone's wall time: in UTC+14 its last midnight is
            # 10:00 UTC of its last day
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "0 0 * * *",
                                                              "timezone": "Pacific/Kiritimati"},
                                                  "from": "9999-12-29T00:00:00Z", "count": 5})
            self.assertEqual([x["local"] for x in r.json["times"]],
                             ["9999-12-30T00:00:00+14:00", "9999-12-31T00:00:00+14:00"])
            # a local mean time's offset has seconds: written whole in offset
            r = s.post("/api/schedules/preview", {"schedule": {"type": "cron", "expression": "0 0 * * *",
                                                              "timezone": "America/New_York"},
                                                  "from": "1800-01-01T12:00:00Z", "count": 1})
            t = r.json["times"][0]
            self.assertEqual((t["utc"], t["offset"], t["abbreviation"]),
                             ("1800-01-02T04:56:02Z", "-04:56:02", "LMT"))


class ClockSetTest(unittest.TestCase):
    def test_a_set_of_the_wall_clock_is_noticed_at_once(self):
        """The kernel tells sked when the wall clock is set (an NTP step, a resumed virtual
        machine): the scheduler waits for its fire times again from the new time at once, not
        up to a minute later. The clock is set here 1 ms ahead, as a step would set it, which
        needs root (CAP_SYS_TIME); schedules go on firing on their grid."""
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule=every_second())
            wait_for(lambda: len(runs_of(s, job["id"])) >= 1)
            try:
                time.clock_settime(time.CLOCK_REALTIME, time.time() + 0.001)
            except PermissionError:
                self.skipTest("setting the clock needs root")
            wait_for(lambda: "event=sched.clock_set" in s.server_log(), timeout=5)
            before = len(runs_of(s, job["id"]))
            runs = wait_for(lambda: len(runs_of(s, job["id"])) >= before + 2 and
                            runs_of(s, job["id"]))
            fires = [ts(r["scheduled_for"]) for r in runs]
            self.assertTrue(all(abs(f - round(f) - (fires[0] - round(fires[0]))) < 1e-6
                                for f in fires), fires)  # on the grid of the first


class RestartTest(unittest.TestCase):
    def test_kill9_and_restart_neither_loses_nor_duplicates(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule=every_second(), catchup="all")
            wait_for(lambda: len(runs_of(s, job["id"])) >= 2)
            s.kill9()
            time.sleep(2.2)
            s.start()
            wait_for(lambda: len(runs_of(s, job["id"])) >= 7)
            runs = runs_of(s, job["id"])
            fires = [ts(r["scheduled_for"]) for r in runs]
            self.assertEqual(len(fires), len(set(fires)), "a fire happened twice")
            fires.sort()
            for a, b in zip(fires, fires[1:]):
                self.assertAlmostEqual(b - a, 1.0, places=5, msg="a fire was lost")
            self.assertEqual(s.get("/api/jobs/" + job["id"]).json["skipped_fires"], 0)


def move_next_run(s, job_id, seconds_ago):
    """With sked stopped, moves the job's next fire time into the past."""
    db = sqlite3.connect(s.db)
    us = int((time.time() - seconds_ago) * 1e6)
    db.execute("UPDATE job SET next_run = ? WHERE id = ?", (us, job_id))
    db.commit()
    db.close()
    return us


class CatchupTest(unittest.TestCase):
    def run_policy(self, policy, extra=None):
        with Sked(tasks=SLEEP_TASK) as s:
            body = {"catchup": policy}
            body.update(extra or {})
            job = s.create_job("quick", schedule={"type": "interval", "minutes": 5}, **body)
            wait_for(lambda: len(runs_of(s, job["id"])) == 1)
            s.stop()
            # seven fires missed, the last of them two minutes ago: beyond the grace of a minute
            anchor = move_next_run(s, job["id"], 32 * 60)
            s.start()
            time.sleep(1.0)
            runs = runs_of(s, job["id"])[1:]
            j = s.get("/api/jobs/" + job["id"]).json
            return anchor, runs, j

    def test_once(self):
        anchor, runs, j = self.run_policy("once")
        self.assertEqual(len(runs), 1)
        # the one run stands for the latest missed fire
        self.assertAlmostEqual(ts(runs[0]["scheduled_for"]), anchor / 1e6 + 6 * 300, places=3)
        self.assertEqual(j["skipped_fires"], 6)
        self.assertAlmostEqual(ts(j["next_run"]), anchor / 1e6 + 7 * 300, places=3)

    def test_skip(self):
        anchor, runs, j = self.run_policy("skip")
        self.assertEqual(len(runs), 0)
        self.assertEqual(j["skipped_fires"], 7)
        self.assertAlmostEqual(ts(j["next_run"]), anchor / 1e6 + 7 * 300, places=3)

    def test_all(self):
        anchor, runs, j = self.run_policy("all")
        self.assertEqual(len(runs), 7)
        self.assertEqual(sorted(ts(r["scheduled_for"]) for r in runs),
                         [anchor / 1e6 + k * 300 for k in range(7)])
        self.assertEqual(j["skipped_fires"], 0)

    def test_all_with_limit(self):
        anchor, runs, j = self.run_policy("all", {"catchup_limit": 3})
        self.assertEqual(sorted(ts(r["scheduled_for"]) for r in runs),
                         [anchor / 1e6 + k * 300 for k in range(4, 7)])
        self.assertEqual(j["skipped_fires"], 4)

    def test_all_with_cancel_previous_runs_the_newest_fire_only(self):
        """Each catch-up run would stop the one before it before it started: the newest missed
        fire alone makes a run, and the others count as skipped."""
        anchor, runs, j = self.run_policy("all", {"overlap": "cancel_previous"})
        self.assertEqual([ts(r["scheduled_for"]) for r in runs], [anchor / 1e6 + 6 * 300])
        self.assertNotEqual(runs[0]["status"], "CANCELLED")
        self.assertEqual(j["skipped_fires"], 6)


    def test_a_year_of_missed_cron_fires(self):
        """A cron job every minute after a year's downtime: its missed fires are counted and the
        latest catchup_limit of them run, every one of the others counted as skipped. The walk
        over its 525,600 fire times goes a few milliseconds a turn of the loop: a request sent
        at the start is answered before the catch-up ends."""
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("quick", schedule={"type": "cron", "expression": "* * * * *"},
                               catchup="all", catchup_limit=3)
            s.stop()
            move_next_run(s, job["id"], 365 * 86400 - 30)
            s.start(timeout=120)
            early = s.get("/api/jobs/" + job["id"]).json
            self.assertEqual((early["skipped_fires"], runs_of(s, job["id"])), (0, []))
            self.assertNotIn("event=sched.catchup", s.server_log())
            wait_for(lambda: len(runs_of(s, job["id"])) >= 3, timeout=60)
            self.assertIn("event=sched.catchup job=%s policy=all missed=" % job["id"], s.server_log())
            j = s.get("/api/jobs/" + job["id"]).json
            runs = runs_of(s, job["id"])
            fires = sorted(ts(r["scheduled_for"]) for r in runs)
            self.assertEqual(len(runs), 3 + (1 if fires[-1] > time.time() - 90 else 0), runs)
            self.assertEqual([b - a for a, b in zip(fires, fires[1:])], [60.0] * (len(fires) - 1))
            missed = 365 * 1440  # one fire a minute, give or take the minute of the move
            self.assertLess(abs(j["skipped_fires"] + len(runs) - missed), 3, j["skipped_fires"])


class OverlapTest(unittest.TestCase):
    def test_allow_overlaps(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("sleeper", args={"seconds": 3}, schedule=every_second())
            wait_for(lambda: sum(r["status"] == "RUNNING" for r in runs_of(s, job["id"])) >= 2)
            s.patch("/api/jobs/" + job["id"], {"active": False})

    def test_skip(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("sleeper", args={"seconds": 2.5}, schedule=every_second(), overlap="skip")
            deadline = time.time() + 4.5
            while time.time() < deadline:
                active = [r for r in runs_of(s, job["id"]) if r["status"] in ("QUEUED", "RUNNING")]
                self.assertLessEqual(len(active), 1)
                time.sleep(0.1)
            s.patch("/api/jobs/" + job["id"], {"active": False})
            self.assertGreaterEqual(s.get("/api/jobs/" + job["id"]).json["skipped_fires"], 2)

    def test_queue_one(self):
        with Sked(tasks=SLEEP_TASK, args=["--queues", "default=1"]) as s:
            job = s.create_job("sleeper", args={"seconds": 2.5}, schedule=every_second(), overlap="queue_one")
            saw_waiting = False
            deadline = time.time() + 4.5
            while time.time() < deadline:
                runs = runs_of(s, job["id"])
                queued = sum(r["status"] == "QUEUED" for r in runs)
                self.assertLessEqual(queued, 1)
                saw_waiting = saw_waiting or queued == 1
                time.sleep(0.1)
            s.patch("/api/jobs/" + job["id"], {"active": False})
            self.assertTrue(saw_waiting)
            self.assertGreaterEqual(s.get("/api/jobs/" + job["id"]).json["skipped_fires"], 1)

    def test_queue_one_runs_windows_meet(self):
        """A run held behind a running one gets the since of that run's success: the windows of
        runs one after the other meet, as tasks.md promises, rather than overlap."""
        with Sked(tasks=SLEEP_TASK, args=["--queues", "default=1"]) as s:
            job = s.create_job("sleeper", args={"seconds": 1.5}, schedule=every_second(), overlap="queue_one")
            wait_for(lambda: sum(r["status"] == "SUCCESS" for r in runs_of(s, job["id"])) >= 3,
                     timeout=20)
            s.patch("/api/jobs/" + job["id"], {"active": False})
            done = sorted((r for r in runs_of(s, job["id"]) if r["status"] == "SUCCESS"),
                          key=lambda r: r["created"])
            self.assertIsNone(done[0]["args"]["since"])  # the first run
            for prev, cur in zip(done, done[1:]):
                # the runs ran one after the other, each made while the one before it ran
                self.assertLessEqual(skedtest.parse_time(prev["finished_at"]), skedtest.parse_time(cur["started_at"]))
                self.assertIsNotNone(cur["args"]["since"], cur)
                self.assertEqual(skedtest.parse_time(cur["args"]["since"]), skedtest.parse_time(prev["started_at"]),
                                 (prev, cur))

    def test_queue_one_with_retries_never_runs_side_by_side(self):
        """A failing run's retry would run beside the run its end released: under queue_one
        (and skip) that run does the job's next work, and no retry is made beside it."""
        tasks = {"slowfail.json": task_file("slowfail", ["/bin/sh", "-c", "sleep 1.5; exit 4"])}
        with Sked(tasks=tasks) as s:
            job = s.create_job("slowfail", schedule=every_second(), overlap="queue_one",
                               max_retries=1, retry_backoff="1s")
            wait_for(lambda: len([r for r in runs_of(s, job["id"]) if r["finished_at"]]) >= 4,
                     timeout=30)
            s.patch("/api/jobs/" + job["id"], {"active": False})
            wait_for(lambda: all(r["finished_at"] for r in runs_of(s, job["id"])), timeout=30)
            spans = sorted((ts(r["started_at"]), ts(r["finished_at"])) for r in runs_of(s, job["id"])
                           if r["started_at"])
            for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
                self.assertLessEqual(a1, b0 + 0.001, "two runs of the job overlapped")
            self.assertIn("run.retry_skipped", s.server_log())

    def test_cancel_previous(self):
        with Sked(tasks=SLEEP_TASK) as s:
            job = s.create_job("sleeper", args={"seconds": 30}, schedule=every_second(), overlap="cancel_previous")
            wait_for(lambda: sum(r["status"] == "CANCELLED" for r in runs_of(s, job["id"])) >= 2)
            s.patch("/api/jobs/" + job["id"], {"active": False})
            runs = runs_of(s, job["id"])
            self.assertLessEqual(sum(r["status"] in ("RUNNING", "QUEUED") for r in runs), 1)
            for r in runs:
                if r["status"] == "CANCELLED":
                    self.assertIsNone(r["stopped_by"])


    def test_cancel_previous_waits_for_the_run_it_stopped(self):
        """The replacement of a run slow to stop is held until that run has ended: fires
        coming faster than the task stops do not pile up runs being stopped beside it, which
        filled the queue and kept other jobs' runs waiting."""
        tasks = dict(SLEEP_TASK)
        tasks["stubborn.json"] = task_file("stubborn", ["/bin/sh", "-c", "trap '' TERM; "
                                                        "while :; do sleep 0.05; done"],
                                           stop_grace="3s")
        with Sked(tasks=tasks, args=["--queues", "default=3", "--shutdown-grace", "1s"]) as s:
            job = s.create_job("stubborn", schedule=every_second(), overlap="cancel_previous")
            other = s.create_job("sleeper", args={"seconds": 0})
            deadline = time.time() + 5
            saw_held = False
            while time.time() < deadline:
                runs = runs_of(s, job["id"])
                moving = [r for r in runs if r["status"] in ("RUNNING", "CANCELLING")]
                self.assertLessEqual(len(moving), 1, runs)
                saw_held = saw_held or any(r["status"] == "QUEUED" and r.get("held") for r in runs)
                time.sleep(0.1)
            self.assertTrue(saw_held)
            # a slot stays for other jobs
            self.assertEqual(s.wait_run(s.run_job(other["id"]), timeout=10)["status"], "SUCCESS")
            s.patch("/api/jobs/" + job["id"], {"active": False})


class CliTest(unittest.TestCase):
    def cli(self, *args, env=None):
        return subprocess.run([skedtest.BIN] + list(args), capture_output=True, text=True, env=env, timeout=60)

    def test_cron_next_and_schedule_with_a_jitter(self):
        spec = '{"type":"crontab","minute":"0","hour":"3","jitter":"10m"}'
        job_id = "e9a85b34-b723-4496-98c8-f4585259e9b6"  # 43 s into the window
        r = self.cli("cron", "next", spec, "--from", "2026-01-01T00:00:00Z", "-n", "2", "--job", job_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split()[0] for l in r.stdout.splitlines()],
                         ["2026-01-01T03:00:43Z", "2026-01-02T03:00:43Z"])
        r = self.cli("cron", "next", spec, "--from", "2026-01-01T00:00:00Z", "-n", "1")
        self.assertEqual(r.stdout.split()[0], "2026-01-01T03:00:00Z")
        self.assertIn("give --job ID for that job's", r.stderr)
        r = self.cli("cron", "next", spec, "--job", "42")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--job takes a job id (UUID)", r.stderr)
        with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("quick")
            env = dict(os.environ, SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            r = self.cli("job", "schedule", job["id"], "--crontab", "minute=0 hour=3", "--jitter", "30m", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            saved = s.get("/api/jobs/" + job["id"]).json
            self.assertEqual(saved["schedule"]["jitter"], "30m")
            off = jitter_offset(job["id"], 1800)
            self.assertEqual(ts(saved["next_run"]), next_three_am(time.time() - off) + off)
            r = self.cli("job", "show", job["id"], env=env)
            self.assertIn("crontab minute=0 hour=3, up to 30m later", r.stdout)
            r = self.cli("job", "schedule", job["id"], "--none", "--jitter", "5m", env=env)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--jitter is part of a schedule; --none removes it", r.stderr)

    def test_cron_next(self):
        r = self.cli("cron", "next", "30 2 * * *", "--tz", "Europe/Zurich", "--from", "2026-03-27T00:00:00Z", "--count", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual([l.split()[0] for l in lines], ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z"])
        self.assertIn("does not exist", lines[2])
        r = self.cli("cron", "next", '{"type":"crontab","minute":"0","hour":"9","day_of_week":"mon-fri"}',
                     "--from", "2026-11-27T12:00:00Z", "-n", "2")
        self.assertEqual([l.split()[0] for l in r.stdout.splitlines()], ["2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z"])
        r = self.cli("cron", "next", '{"type":"cron","expression":"0 3 * * *","timezone":"Europe/Zurich"}',
                     "--tz", "UTC")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tz UTC and the timezone of SPEC differ: give the zone once", r.stderr)
        for spec in ('[1]', ' "0 3 * * *"'):  # JSON, but no schedule object
            r = self.cli("cron", "next", spec)
            self.assertEqual(r.returncode, 2, r)
            self.assertIn("SPEC: a JSON schedule must be an object", r.stderr)
        r = self.cli("cron", "next", "0 0 1 1 *", "--from", "9998-06-01T00:00:00Z", "-n", "3")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "9999-01-01T00:00:00Z"))
        self.assertIn("no more fire times within 400 years of the last one, nor before the year 10000",
                      r.stderr)
        # nor past the year 9999 of the zone's wall time, as the preview API (UTC+14)
        r = self.cli("cron", "next", "* * * * *", "--tz", "Pacific/Kiritimati", "--from",
                     "9999-12-31T09:57:30Z", "-n", "5")
        self.assertEqual([l.split()[0] for l in r.stdout.splitlines()],
                         ["9999-12-31T09:58:00Z", "9999-12-31T09:59:00Z"])
        r = self.cli("cron", "next", "0 0 1 1 *", "--tz", "Pacific/Kiritimati", "--from",
                     "9999-06-01T00:00:00Z")
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("no fire time within 400 years, nor before the year 10000", r.stderr)
        r = self.cli("cron", "next", "@hourly", "--from", "2026-01-01T00:00:00Z", "-n", "1")
        self.assertEqual(r.stdout.split()[0], "2026-01-01T01:00:00Z")
        # an interval fires when saved: its first time is --from, as the preview API says
        r = self.cli("cron", "next", '{"type":"interval","hours":4}', "--from", "2026-11-29 12:00", "-n", "2")
        self.assertEqual([l.split()[0] for l in r.stdout.splitlines()],
                         ["2026-11-29T12:00:00Z", "2026-11-29T16:00:00Z"])
        for bad in (["61 * * * *"], ["* * *"], ["0 0 * * *", "--tz", "Nowhere/City"], ["{bad json"],
                    ["@daily", "--count", "0"], ["@daily", "--from", "yesterday"]):
            r = self.cli("cron", "next", *bad)
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
            self.assertTrue(r.stderr.strip(), bad)
        self.assertIn("out of range", self.cli("cron", "next", "61 * * * *").stderr)

    def test_job_schedule(self):
        with Sked(tasks=SLEEP_TASK) as s:
            env = dict(os.environ, SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            job = s.create_job("quick", title="nightly")
            r = self.cli("job", "schedule", "nightly", "--cron", "0 3 * * *", "--tz", "Europe/Zurich", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            j = s.get("/api/jobs/" + job["id"]).json
            self.assertEqual(j["schedule"], {"type": "cron", "expression": "0 3 * * *", "timezone": "Europe/Zurich"})
            # the next run in local time, as tables show times
            nxt = datetime.fromisoformat(j["next_run"]).astimezone()
            today = datetime.now().astimezone()
            shown = nxt.strftime("%H:%M:%S" if nxt.date() == today.date() else
                                 "%b %d %H:%M" if nxt.year == today.year else "%Y-%m-%d %H:%M")
            self.assertIn("next run: %s (in " % shown, r.stdout)
            # sked job show says the schedule in words, as the web admin does
            def schedule_line():
                out = self.cli("job", "show", job["id"], env=env).stdout
                return [l for l in out.splitlines() if l.startswith("Schedule ")][0].split(None, 1)[1]
            self.assertEqual(schedule_line(), "cron 0 3 * * * (Europe/Zurich)")
            r = self.cli("job", "schedule", job["id"], "--crontab", "minute=0 hour=3 day_of_week=mon-fri", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.get("/api/jobs/" + job["id"]).json["schedule"],
                             {"type": "crontab", "minute": "0", "hour": "3", "day_of_week": "mon-fri"})
            self.assertEqual(schedule_line(), "crontab minute=0 hour=3 day_of_week=mon-fri")
            r = self.cli("job", "schedule", job["id"], "--interval", "1h30m", env=env)
            self.assertEqual(s.get("/api/jobs/" + job["id"]).json["schedule"], {"type": "interval", "hours": 1, "minutes": 30})
            self.assertEqual(schedule_line(), "every 1 hour 30 minutes")
            s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "interval", "seconds": 5400,
                                                            "milliseconds": 700}})
            self.assertEqual(schedule_line(), "every 1 hour 30 minutes 1 second")
            r = self.cli("job", "schedule", job["id"], "--none", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIsNone(s.get("/api/jobs/" + job["id"]).json["schedule"])
            r = self.cli("job", "schedule", job["id"], "--cron", "0 25 * * *", env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("--cron: ", r.stderr)  # the option, where the API says schedule.expression
            r = self.cli("job", "schedule", job["id"], "--cron", "0 3 * * *", "--none", env=env)
            self.assertEqual(r.returncode, 2)
            r = self.cli("job", "schedule", job["id"], "--none", "--tz", "UTC", env=env)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--none removes it", r.stderr)
            r = self.cli("job", "schedule", job["id"], "--crontab", "hour", env=env)
            self.assertEqual(r.returncode, 2)


GATED = task_file("gated", ["/bin/sh", "-c", "while [ ! -e go ]; do sleep 0.05; done"])


class QueueOneTest(unittest.TestCase):
    def test_a_run_waits_for_the_running_one_even_with_free_slots(self):
        """overlap queue_one: a fire while the job runs is held (not started beside it in one of
        the three free slots), further fires are skipped, and the held run starts when the
        running one ends - never side by side. A hold outlives a kill -9."""
        tasks = dict(SLEEP_TASK, **{"gated.json": GATED})
        with Sked(tasks=tasks, args=["--shutdown-grace", "1s", "--queues", "default=4"]) as s:
            job = s.create_job("gated", schedule=every_second(), overlap="queue_one")
            wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["status"] == "RUNNING"])
            held = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["status"] == "QUEUED"])[0]
            self.assertEqual((held["held"], held["not_before"]), (True, None))
            time.sleep(2.2)  # more fires: skipped; the held one does not take a free slot
            runs = runs_of(s, job["id"])
            self.assertEqual(sorted(r["status"] for r in runs), ["QUEUED", "RUNNING"])
            self.assertGreaterEqual(s.get("/api/jobs/" + job["id"]).json["skipped_fires"], 1)
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": False}).status, 200)
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            done = sorted((s.wait_run(r) for r in runs), key=lambda d: d["started_at"])
            self.assertEqual([d["status"] for d in done], ["SUCCESS", "SUCCESS"])
            self.assertGreaterEqual(ts(done[1]["started_at"]), ts(done[0]["finished_at"]))
            self.assertFalse(done[1]["held"])
            log = s.server_log()
            self.assertIn("event=sched.held job=%s" % job["id"], log)
            self.assertIn("event=sched.released job=%s runs=1" % job["id"], log)
            # a hold outlives a crash: the recovered run's end releases it
            os.unlink(os.path.join(s.tasks_dir, "go"))
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": True}).status, 200)
            held = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["held"]])[0]
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": False}).status, 200)
            running = [r for r in runs_of(s, job["id"]) if r["status"] == "RUNNING"][0]
            s.kill9()
            s.start()
            self.assertEqual(s.wait_run(running)["status"], "FAILED")
            self.assertEqual(s.wait_run(held, statuses=("RUNNING",))["held"], False)
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            self.assertEqual(s.wait_run(held)["status"], "SUCCESS")


    def test_a_held_run_stopped_waits_no_more(self):
        """A held run stopped before it started is CANCELLED and no longer held."""
        tasks = dict(SLEEP_TASK, **{"gated.json": GATED})
        with Sked(tasks=tasks, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("gated", schedule=every_second(), overlap="queue_one")
            held = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["held"]])[0]
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": False}).status, 200)
            stopped = s.stop_run(held)
            self.assertEqual((stopped["status"], stopped["held"], stopped["not_before"]),
                             ("CANCELLED", False, None))
            listed = [r for r in runs_of(s, job["id"]) if r["id"] == held["id"]][0]
            self.assertEqual((listed["status"], listed["held"]), ("CANCELLED", False))
            open(os.path.join(s.tasks_dir, "go"), "w").close()

    def test_a_released_run_keeps_its_place_before_younger_runs(self):
        """The held run of a queue_one job was queued before a run started by hand meanwhile:
        when the running one ends, the slot it frees goes to the held run, oldest first."""
        tasks = dict(SLEEP_TASK, **{"gated.json": GATED})
        with Sked(tasks=tasks, args=["--shutdown-grace", "1s", "--queues", "default=1"]) as s:
            job = s.create_job("gated", schedule=every_second(), overlap="queue_one")
            running = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["status"] == "RUNNING"])[0]
            held = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["held"]])[0]
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": False}).status, 200)
            other = s.run_job(s.create_job("quick")["id"])
            self.assertEqual(s.get_run(other)["status"], "QUEUED")
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            first, second, third = (s.wait_run(r) for r in (running, held, other))
            self.assertEqual([r["status"] for r in (first, second, third)], ["SUCCESS"] * 3)
            self.assertGreaterEqual(ts(second["started_at"]), ts(first["finished_at"]))
            self.assertGreaterEqual(ts(third["started_at"]), ts(second["finished_at"]))


class VanishedZoneTest(unittest.TestCase):
    @staticmethod
    def zones():
        """A time zone folder (TZDIR) with a zone Foo/Bar, which a test may remove."""
        zones = tempfile.mkdtemp(prefix="sked-tz-")
        os.makedirs(os.path.join(zones, "Foo"))
        shutil.copy("/usr/share/zoneinfo/Europe/Zurich", os.path.join(zones, "Foo", "Bar"))
        return zones

    def test_a_job_whose_zone_is_gone_cannot_be_turned_on_with_it(self):
        zones = self.zones()
        try:
            with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"], env={"TZDIR": zones}) as s:
                job = s.create_job("quick", active=False,
                                   schedule={"type": "cron", "expression": "0 3 * * *", "timezone": "Foo/Bar"})
                s.stop()
                os.unlink(os.path.join(zones, "Foo", "Bar"))
                s.start()
                r = s.patch("/api/jobs/" + job["id"], {"active": True})
                self.assertEqual(r.status, 400, r.json)
                self.assertEqual(r.json["errors"][0]["field"], "schedule.timezone")
                self.assertIn("unknown time zone 'Foo/Bar'", r.json["errors"][0]["messages"][0])
                self.assertFalse(s.get("/api/jobs/" + job["id"]).json["active"])
                # other changes stay possible, and a new zone turns it on
                self.assertEqual(s.patch("/api/jobs/" + job["id"], {"title": "renamed"}).status, 200)
                r = s.patch("/api/jobs/" + job["id"], {"active": True, "schedule": {
                    "type": "cron", "expression": "0 3 * * *", "timezone": "UTC"}})
                self.assertEqual(r.status, 200, r.json)
                self.assertTrue(r.json["next_run"])
        finally:
            shutil.rmtree(zones, ignore_errors=True)

    def test_the_fire_of_a_job_whose_zone_is_gone_is_a_failed_run_saying_why(self):
        """A due fire whose stored schedule no longer reads is not lost in the server's log: it
        is a FAILED run naming the reason, counted as skipped, and the job leaves the
        scheduler until its schedule is saved again."""
        zones = self.zones()
        try:
            with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"], env={"TZDIR": zones}) as s:
                job = s.create_job("quick", schedule={"type": "cron", "expression": "0 3 * * *",
                                                      "timezone": "Foo/Bar"})
                s.stop()
                os.unlink(os.path.join(zones, "Foo", "Bar"))
                move_next_run(s, job["id"], 0.001)
                s.start()
                run = wait_for(lambda: runs_of(s, job["id"]))[0]
                self.assertEqual((run["status"], run["trigger"]), ("FAILED", "scheduled"))
                self.assertIn("unknown time zone 'Foo/Bar'", run["message"])
                self.assertIn("fires no more until its schedule is saved again", run["message"])
                j = s.get("/api/jobs/" + job["id"]).json
                self.assertEqual((j["next_run"], j["skipped_fires"]), (None, 1))
        finally:
            shutil.rmtree(zones, ignore_errors=True)


    def test_an_interval_whose_zone_is_gone_fires_on(self):
        """An interval's zone changes none of its times: one dropped from tzdata stops nothing."""
        zones = self.zones()
        try:
            with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"], env={"TZDIR": zones}) as s:
                job = s.create_job("quick", schedule={"type": "interval", "hours": 1, "timezone": "Foo/Bar"})
                wait_for(lambda: runs_of(s, job["id"]))
                s.stop()
                os.unlink(os.path.join(zones, "Foo", "Bar"))
                move_next_run(s, job["id"], 0.001)
                s.start()
                runs = wait_for(lambda: [r for r in runs_of(s, job["id"]) if r["status"] in ("SUCCESS", "FAILED")][1:])
                self.assertEqual([(r["status"], r["trigger"]) for r in runs], [("SUCCESS", "scheduled")])
                j = s.get("/api/jobs/" + job["id"]).json
                self.assertTrue(j["next_run"])
                self.assertEqual(j["skipped_fires"], 0)
                # turned off and on again with it
                self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": False}).status, 200)
                self.assertEqual(s.patch("/api/jobs/" + job["id"], {"active": True}).status, 200)
                # the job as read, written back whole (the form's save, an import), is taken;
                # the zone dropped is the same interval: neither fires at once nor moves it
                wait_for(lambda: len(runs_of(s, job["id"])) == 3)  # on again: it fires at once
                j = s.get("/api/jobs/" + job["id"]).json
                r = s.request("PUT", "/api/jobs/" + job["id"], j)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["next_run"], j["next_run"])
                r = s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "interval", "hours": 1}})
                self.assertEqual((r.status, r.json["next_run"]), (200, j["next_run"]), r)
                time.sleep(0.5)
                self.assertEqual(len(runs_of(s, job["id"])), 3)
                # a zone still unknown is refused where it is written anew
                r = s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "interval", "hours": 2,
                                                                    "timezone": "Foo/Bar"}})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "schedule.timezone"), r)
        finally:
            shutil.rmtree(zones, ignore_errors=True)

class ResaveTest(unittest.TestCase):
    def test_a_schedule_saved_again_alike_keeps_its_next_fire(self):
        """Writing an interval anew in another form (a time zone, which intervals ignore; 0
        minutes; 240 minutes for 4 hours) changes nothing: no run at once, the same next_run.
        A real change starts the interval afresh."""
        with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"]) as s:
            job = s.create_job("quick", schedule={"type": "interval", "hours": 4})
            wait_for(lambda: len(runs_of(s, job["id"])) == 1)
            first = s.get("/api/jobs/" + job["id"]).json["next_run"]
            for sched in ({"type": "interval", "hours": 4, "timezone": "UTC"},
                          {"type": "interval", "hours": 4, "minutes": 0},
                          {"type": "interval", "minutes": 240, "timezone": "Europe/Zurich"}):
                r = s.patch("/api/jobs/" + job["id"], {"schedule": sched})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["next_run"], first, sched)
            cron = s.create_job("quick", schedule={"type": "cron", "expression": "0 3 * * *"})
            r = s.patch("/api/jobs/" + cron["id"], {"schedule": {"type": "crontab", "minute": "0", "hour": "3"}})
            self.assertEqual(r.json["next_run"], cron["next_run"])  # the same fire times
            time.sleep(0.5)
            self.assertEqual(len(runs_of(s, job["id"])), 1)
            r = s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "interval", "hours": 5}})
            self.assertNotEqual(r.json["next_run"], first)
            wait_for(lambda: len(runs_of(s, job["id"])) == 2)  # a new interval fires at once


def jitter_offset(job_id, jitter_s):
    """The seconds after each of its schedule's times a job fires (FNV-1a of its id)."""
    h = 14695981039346656037
    for b in job_id.encode():
        h = ((h ^ b) * 1099511628211) % 2 ** 64
    return h % jitter_s


def next_three_am(after):
    """The first 03:00:00 UTC strictly after `after` (seconds)."""
    day = int(after // 86400) * 86400
    t = day + 3 * 3600
    return t if t > after else t + 86400


class JitterTest(unittest.TestCase):
    def test_each_job_fires_at_its_own_place_in_the_jitter(self):
        """A crontab or cron schedule with a jitter fires each job the same whole number of
        seconds (below the jitter, from its id) after each of the schedule's times: its
        next_run, the preview given its id, and the fire times after a catch-up say so."""
        with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"]) as s:
            sched = {"type": "crontab", "minute": "0", "hour": "3", "jitter": "30m"}
            before = time.time()
            jobs = [s.create_job("quick", schedule=sched) for _ in range(3)]
            offsets = [jitter_offset(j["id"], 1800) for j in jobs]
            for j, off in zip(jobs, offsets):
                self.assertEqual(ts(j["next_run"]), next_three_am(before - off) + off, j)
            self.assertGreater(len(set(offsets)), 1, offsets)  # three ids, spread
            # the preview of that job's times, and of the schedule's own
            r = s.post("/api/schedules/preview", {"schedule": sched, "count": 2,
                                                  "job_id": jobs[0]["id"].upper()})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(ts(r.json["times"][0]["utc"]), ts(jobs[0]["next_run"]))
            self.assertEqual(ts(r.json["times"][1]["utc"]) - ts(r.json["times"][0]["utc"]), 86400)
            m, sec = divmod(offsets[0], 60)
            self.assertEqual(r.json["jitter_offset"], ("%dm" % m if m else "") + ("%ds" % sec if sec else "") or "0s")
            r = s.post("/api/schedules/preview", {"schedule": sched, "count": 1})
            self.assertIsNone(r.json["jitter_offset"])
            self.assertEqual(ts(r.json["times"][0]["utc"]) % 86400, 3 * 3600)
            # another jitter is another place, for the same pending 03:00
            r = s.patch("/api/jobs/" + jobs[0]["id"], {"schedule": dict(sched, jitter="1d")})
            off = jitter_offset(jobs[0]["id"], 86400)
            self.assertEqual(ts(r.json["next_run"]), ts(jobs[0]["next_run"]) - offsets[0] + off)
            # refused: on an interval, and out of bounds
            for bad, word in (({"type": "interval", "hours": 1, "jitter": "5m"}, "jitter is for crontab and cron"),
                              (dict(sched, jitter="1s"), "from 2s to 1d"),
                              (dict(sched, jitter="2d"), "from 2s to 1d"),
                              (dict(sched, jitter="99999999d"), "from 2s to 1d"),
                              (dict(sched, jitter="soon"), "must be a duration such as 10m")):
                r = s.post("/api/jobs", {"title": "x", "task": "quick", "schedule": bad})
                self.assertEqual(r.status, 400, r)
                self.assertIn(word, r.json["errors"][0]["messages"][0])
            # a missed fire, caught up at a start, keeps the job's place
            j = jobs[1]
            upcoming = s.get("/api/jobs/" + j["id"]).json["next_run"]
            s.stop()
            db = sqlite3.connect(s.db)
            db.execute("UPDATE job SET next_run = next_run - 86400000000 WHERE id = ?", (j["id"],))
            db.commit()
            db.close()
            s.start()
            run = wait_for(lambda: runs_of(s, j["id"]))[0]
            self.assertEqual(ts(run["scheduled_for"]), ts(upcoming) - 86400)
            self.assertEqual(s.get("/api/jobs/" + j["id"]).json["next_run"], upcoming)


    def test_a_jitter_made_smaller_fires_the_pending_time_it_put_in_the_past(self):
        """The time pending when the jitter changes is the next, at its new place, at once if
        that has passed: not a missed fire, so catchup skip does not drop it (it did: the time
        fired under neither jitter)."""
        with Sked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"]) as s:
            # hourly, at the minute that began two minutes ago: its last time 120-180 s ago
            base = int(time.time()) // 60 * 60 - 120
            sched = {"type": "cron", "expression": "%d * * * *" % (base // 60 % 60), "jitter": "1d"}
            # a place of more than those 3 minutes, so the pending time is still ahead
            j = next(j for j in (s.create_job("quick", schedule=sched, catchup="skip") for _ in range(20))
                     if jitter_offset(j["id"], 86400) > 300)
            off = jitter_offset(j["id"], 86400)
            s.stop()
            db = sqlite3.connect(s.db)
            db.execute("UPDATE job SET next_run = ? WHERE id = ?", ((base + off) * 1000000, j["id"]))
            db.commit()
            db.close()
            s.start()
            self.assertEqual(ts(s.get("/api/jobs/" + j["id"]).json["next_run"]), base + off)
            r = s.patch("/api/jobs/" + j["id"], {"schedule": dict(sched, jitter="2s")})
            self.assertEqual(r.status, 200, r)
            place = jitter_offset(j["id"], 2)
            self.assertEqual(ts(r.json["next_run"]), base + place)
            run = wait_for(lambda: runs_of(s, j["id"]))[0]
            self.assertEqual((run["trigger"], ts(run["scheduled_for"])), ("scheduled", base + place), run)
            job = wait_for(lambda: (lambda x: x if ts(x["next_run"]) > time.time() else None)(
                s.get("/api/jobs/" + j["id"]).json))
            self.assertEqual((job["skipped_fires"], ts(job["next_run"])), (0, base + 3600 + place), job)
            self.assertEqual(len(runs_of(s, j["id"])), 1)


class ChainTest(unittest.TestCase):
    def test_a_chained_run_that_cannot_start_names_its_parent(self):
        """A chained fire whose job's saved arguments no longer fit its job type is a FAILED
        run, as a scheduled one is, and it names the run whose success started it."""
        with skedtest.CheckedSked(tasks=SLEEP_TASK, args=["--shutdown-grace", "1s"]) as s:
            down = s.create_job("sleeper", title="downstream", args={"seconds": 0})
            up = s.create_job("quick", title="upstream", on_success=[down["id"]])
            db = sqlite3.connect(s.db, timeout=10)  # the arguments as an older job type took them
            db.execute("UPDATE job SET run_args = '{\"seconds\": \"soon\"}' WHERE id = ?", (down["id"],))
            db.commit()
            db.close()
            parent = s.wait_run(s.run_job(up["id"]))
            self.assertEqual(parent["status"], "SUCCESS")
            run = wait_for(lambda: runs_of(s, down["id"]))[0]
            self.assertEqual((run["status"], run["trigger"]), ("FAILED", "chained"), run)
            self.assertIn("could not start the chained run", run["message"])
            self.assertEqual(run["parent_run_id"], parent["id"])

    def test_a_success_starts_the_jobs_it_lists(self):
        """A run that succeeds starts a run of each active job its job lists in on_success
        (trigger chained, itself as parent), on down a chain; a failure starts none; cycles,
        itself, unknown jobs are refused; a deleted job leaves every list."""
        tasks = dict(SLEEP_TASK)
        tasks["fails.json"] = task_file("fails", ["/bin/false"])
        with skedtest.CheckedSked(tasks=tasks, args=["--shutdown-grace", "1s"]) as s:
            d = s.create_job("quick", title="D: publish")
            b = s.create_job("quick", title="B: reindex", on_success=[d["id"].upper()])
            self.assertEqual(b["on_success"], [d["id"]])  # ids are kept lower-case
            c = s.create_job("quick", title="C: off", active=False)
            a = s.create_job("quick", title="A: harvest", on_success=[b["id"], c["id"]])
            failing = s.create_job("fails", title="F", on_success=[b["id"]])
            self.assertEqual(s.get("/api/jobs/" + c["id"]).json["on_success"], [])
            first = s.wait_run(s.run_job(a["id"]))
            self.assertEqual(first["status"], "SUCCESS")
            b_run = wait_for(lambda: runs_of(s, b["id"]))[0]
            self.assertEqual((b_run["trigger"], b_run["parent_run_id"]), ("chained", first["id"]))
            self.assertIsNone(b_run["started_by"])
            b_run = s.wait_run(b_run)
            d_run = wait_for(lambda: runs_of(s, d["id"]))[0]
            self.assertEqual((d_run["trigger"], d_run["parent_run_id"]), ("chained", b_run["id"]))
            self.assertEqual(runs_of(s, c["id"]), [])  # inactive: not started
            # the other way round: which jobs start a job
            ups = s.get("/api/jobs?starts=" + b["id"]).json["hits"]
            self.assertEqual(([j["title"] for j in ups["hits"]], ups["total"]), (["A: harvest", "F"], 2))
            self.assertEqual(s.get("/api/jobs?starts=" + a["id"]).json["hits"]["total"], 0)
            r = s.get("/api/jobs?starts=nope")
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "starts"))
            self.assertIn("event=sched.chain_skipped job=%s" % c["id"], s.server_log())
            self.assertEqual(s.wait_run(s.run_job(failing["id"]))["status"], "FAILED")
            time.sleep(0.3)
            self.assertEqual(len(runs_of(s, b["id"])), 1)  # a failure starts nothing
            # refused: each names the field and why
            for job, body, needle in (
                    (d, {"on_success": [a["id"]]}, "would make a cycle: D: publish → A: harvest → B: reindex → D: publish"),
                    (a, {"on_success": [a["id"]]}, "a job cannot start itself"),
                    (a, {"on_success": ["0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b"]}, "no job with ID 0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b"),
                    (a, {"on_success": ["nope"]}, "'nope' is not a job id"),
                    (a, {"on_success": [b["id"], b["id"]]}, "is listed twice"),
                    (a, {"on_success": "x"}, "must be a list of at most 20 job ids")):
                r = s.patch("/api/jobs/" + job["id"], body)
                self.assertEqual(r.status, 400, (body, r))
                self.assertEqual(r.json["errors"][0]["field"], "on_success")
                self.assertIn(needle, r.json["errors"][0]["messages"][0])
            # a deleted job leaves every list it was in
            self.assertEqual(s.delete("/api/jobs/" + b["id"]).status, 204)
            self.assertEqual(s.get("/api/jobs/" + a["id"]).json["on_success"], [c["id"]])
            self.assertEqual(s.get("/api/jobs/" + failing["id"]).json["on_success"], [])
            # the edit is audited
            self.assertEqual(s.patch("/api/jobs/" + a["id"], {"on_success": [d["id"]]}).status, 200)
            upd = s.get("/api/audit?job_id=%s&action=job.updated" % a["id"]).json["hits"]["hits"][0]
            self.assertEqual(upd["details"]["changes"]["on_success"]["after"], [d["id"]])

    def test_a_chain_owed_when_sked_stopped_is_started_at_the_next_start(self):
        """A success writes the chain it owes with its outcome and the chained runs pay it: a
        stop or a crash between the two (here: the store left as such a crash leaves it) starts
        the chained runs at the next start, once."""
        with Sked(tasks=SLEEP_TASK) as s:
            b = s.create_job("quick", title="B")
            a = s.create_job("quick", title="A", on_success=[b["id"]])
            first = s.wait_run(s.run_job(a["id"]))
            wait_for(lambda: runs_of(s, b["id"]))
            s.stop()
            db = sqlite3.connect(s.db)
            self.assertEqual(db.execute("SELECT count(*) FROM chain_pending").fetchone()[0], 0)
            db.execute("INSERT INTO chain_pending (run_id, job_id) VALUES (?, ?)", (first["id"], a["id"]))
            db.commit()
            db.close()
            s.start()
            runs = wait_for(lambda: len(runs_of(s, b["id"])) == 2 and runs_of(s, b["id"]))
            self.assertEqual([(r["trigger"], r["parent_run_id"]) for r in runs],
                             [("chained", first["id"])] * 2)
            self.assertIn("event=sched.chained job=%s parent=%s" % (b["id"], first["id"]), s.server_log())
            s.stop()
            db = sqlite3.connect(s.db)
            self.assertEqual(db.execute("SELECT count(*) FROM chain_pending").fetchone()[0], 0)
            db.close()
            s.start()
            time.sleep(0.3)
            self.assertEqual(len(runs_of(s, b["id"])), 2)  # paid: not started again


if __name__ == "__main__":
    skedtest.main()
