"""The REST API: every bad input gets its 4xx JSON answer, job writes (POST, PUT, PATCH),
deletes, list envelopes and filters, the catalogue, and HTTP connection handling."""
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time
import unittest
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import skedtest
from skedtest import CheckedSked as Sked, TOKEN, parse_responses, pids_with_env, sh_task, wait_for

FAST = ["--shutdown-grace", "1s", "--stop-grace", "2s"]
NO_SUCH = "00000000-0000-4000-8000-000000000000"

T = sh_task("t", 'echo "n=$1"; exit "$2"', extra_argv=["{{n}}", "{{exit}}"],
            arguments={"type": "object", "properties": {
                "since": {"type": "string", "format": "date-time"},
                "n": {"type": "integer", "minimum": 0, "default": 1},
                "exit": {"type": "integer", "default": 0}}})
LOWQ = sh_task("lowq", "echo low", default_queue="low", timeout="5m")
GATED = sh_task("gated", r'''
sleep 1000 &
echo waiting
while [ ! -e go ]; do sleep 0.05; done
kill $!
''')
TASKS = {"t.json": T, "lowq.json": LOWQ, "gated.json": GATED}


def insert_runs(db, jobs, task, codes):
    """Runs of task with these status codes, one after another, over jobs (two of every three
    to the first), written with SQL; the moving ones are of another node, in a queue nobody
    serves, so left alone."""
    t = int(time.time() * 1e6)
    rows = [(str(uuid.uuid4()), jobs[i % 3 % 2], task, code, "nowhere", "{}", "manual", t + i,
             t + i, "elsewhere") for i, code in enumerate(codes)]
    db.executemany("INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, "
                   "updated, node) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.commit()


class ApiCase(unittest.TestCase):
    """One server for the class, started with the test tasks."""
    args = FAST + ["--queues", "default=3,low=1"]

    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks=TASKS, args=cls.args).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)  # stops it and checks its exit

    def assertError(self, r, status, field=None, fragment=None):
        """r is a JSON error answer with this status (and a validation error for field)."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r.headers)
        self.assertIsInstance(r.json, dict, r)
        self.assertEqual(r.json["status"], status, r)
        self.assertIsInstance(r.json["message"], str)
        self.assertTrue(r.json["message"])
        if field:
            fields = {e["field"]: " ".join(e["messages"]) for e in r.json.get("errors", [])}
            self.assertIn(field, fields, r.json)
            if fragment:
                self.assertIn(fragment, fields[field], r.json)
        elif fragment:
            self.assertIn(fragment, r.json["message"])
        return r.json

    def job(self, **fields):
        fields.setdefault("title", "job %s" % uuid.uuid4().hex[:8])
        fields.setdefault("task", "t")
        r = self.s.post("/api/jobs", fields)
        self.assertEqual(r.status, 201, r)
        return r.json


class Auth(ApiCase):
    def test_token_required(self):
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                        {"Authorization": "Bearer "}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                        {"Authorization": TOKEN}, {"Authorization": "Bearer " + TOKEN + "x"}):
            for method, path in (("GET", "/api/jobs"), ("GET", "/api/tasks"),
                                 ("GET", "/api/runs"), ("DELETE", "/api/jobs/" + NO_SUCH)):
                r = self.s.request(method, path, token=None, headers=headers)
                self.assertError(r, 401)
                self.assertIn("Bearer", r.headers.get("WWW-Authenticate", ""))
        # a body is not even parsed without a token
        r = self.s.request("POST", "/api/jobs", token=None, raw=b"{not json")
        self.assertError(r, 401)
        r = self.s.request("GET", "/api/tasks", token=None, headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(r.status, 200, r)

    def test_health_needs_no_token(self):
        r = self.s.get("/healthz", token=None)
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        r = self.s.get("/readyz", token=None)
        self.assertEqual((r.status, r.json["status"]), (200, "ready"))


class BadInput(ApiCase):
    def post_job(self, raw):
        return self.s.request("POST", "/api/jobs", raw=raw)

    def test_malformed_json_names_the_position(self):
        r = self.post_job(b'{"title": "x", "task": }')
        body = self.assertError(r, 400)
        m = re.search(r"position (\d+)", body["message"])
        self.assertTrue(m, body)
        self.assertIn(int(m.group(1)), (23, 24))  # where the '}' is
        self.assertIn("column", body["message"])
        r = self.post_job(b'{"title": "x"')
        self.assertIn("position", self.assertError(r, 400)["message"])
        r = self.post_job(b'{"title": "x", "title": "y", "task": "t"}')
        self.assertError(r, 400)  # duplicate keys are refused

    def test_a_long_body_is_read_only_from_a_signed_in_client(self):
        """A client that is not signed in cannot make sked hold a long body (up to --max-body)
        on each connection it opens: past 64 KiB the head's credentials decide, and the answer
        comes before the body; a signed-in client's long body is read as before."""
        head = ("POST /api/jobs HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000000\r\n%s\r\n")
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        try:
            sock.sendall((head % "").encode() + b"x" * 1000)
            answer = sock.recv(4096)
        finally:
            sock.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 401"), answer[:200])
        self.assertIn(b"a body of more than 65536 bytes is read only from a signed-in client", answer)
        self.assertIn(b"\r\nWWW-Authenticate: Bearer realm=\"sked\"\r\n", answer)
        # a wrong token is no better
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        try:
            sock.sendall((head % "Authorization: Bearer sked_nope\r\n").encode() + b"x" * 1000)
            self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 401"))
        finally:
            sock.close()
        # signed in: read whole, then judged (here: a description past its limit)
        body = json.dumps({"title": "long", "task": "sync_records", "description": "d" * 100001})
        r = self.s.post("/api/jobs", raw=body.encode())
        self.assertEqual(r.status, 400, r)
        self.assertIn("description", [e["field"] for e in r.json["errors"]])

    def test_a_whole_number_written_as_a_real_is_whole(self):
        """5.0 (JavaScript's and Python's floats send whole numbers so) is 5 in every whole
        number field, as in arguments and schedules; 5.5 is refused."""
        job = self.job(max_retries=5.0, catchup_limit=1e1)
        self.assertEqual((job["max_retries"], job["catchup_limit"]), (5, 10))
        r = self.s.post("/api/schedules/preview", {"schedule": {"type": "interval", "hours": 1}, "count": 2.0})
        self.assertEqual((r.status, len(r.json["times"])), (200, 2), r)
        self.assertError(self.s.post("/api/jobs", {"title": "x", "task": "t", "max_retries": 5.5}), 400,
                         "max_retries", "must be a whole number from 0 to 100")

    def test_a_whole_number_past_64_bits_is_said_of_its_field(self):
        """A number sked cannot hold is said of its field: too large or too small as it is,
        and of whole numbers only when it is written as one."""
        large = "a number too large (whole numbers go up to 9223372036854775807)"
        small = "a number too small (whole numbers go down to -9223372036854775808)"
        for raw, field, why in (
                (b'{"title": "v", "task": "t", "max_retries": 99999999999999999999}', "max_retries", large),
                (b'{"title": "v", "task": "t", "max_retries": -9223372036854775809}', "max_retries", small),
                (b'{"title": "v", "task": "t", "args": {"n": [1, -99999999999999999999]}}', "args.n[1]", small),
                # a number a double holds is no such number, beside one that is
                (b'{"title": "v", "task": "t", "args": {"r": 1e19}, "max_retries": 99999999999999999999}',
                 "max_retries", large),
                # beyond a double's range, also after another such number
                (b'{"title": "v", "task": "t", "args": {"a": 1e400, "b": -2E+999}}', "args.a",
                 "a number too large (numbers go up to about 1.8e308)"),
                (b'{"title": "v", "task": "t", "args": {"n": [0.5, -1.5e400]}}', "args.n[1]",
                 "a number too small (numbers go down to about -1.8e308)"),
                (b'{"title": "v", "task": "t", "args": {"n": 9e308}}', "args.n",
                 "a number too large (numbers go up to about 1.8e308)")):
            with self.subTest(raw=raw):
                body = self.assertError(self.post_job(raw), 400)
                self.assertEqual(body["errors"], [{"field": field, "messages": [why]}], body)

    def test_a_field_without_a_name_is_named_by_its_empty_path(self):
        """{"": 1} is an unknown field whose path is "", as the spec's FieldError allows."""
        job = self.job()
        for path, method in (("/api/jobs", "POST"), ("/api/jobs/" + job["id"], "PATCH"),
                             ("/api/jobs/%s/runs" % job["id"], "POST"), ("/api/users", "POST"),
                             ("/api/schedules/preview", "POST")):
            with self.subTest(path=path):
                r = self.s.request(method, path, raw=b'{"": 1}')
                self.assertError(r, 400)
                errs = {e["field"]: " ".join(e["messages"]) for e in r.json["errors"]}
                self.assertIn("unknown field: a field without a name", errs.get("", ""), r.json)
        with open(os.path.join(skedtest.SRC, "docs", "openapi.json")) as f:
            field = json.load(f)["components"]["schemas"]["FieldError"]["properties"]["field"]
        self.assertEqual(field.get("minLength", 0), 0)

    def test_thousands_of_unknown_fields_get_a_short_answer(self):
        """An error list is capped (100 fields, the rest counted), so that a body of thousands of
        bad fields, sent even before signing in, is answered at once and small."""
        body = json.dumps({"k%05d" % i: 1 for i in range(20000)}).encode()
        for path in ("/api/session", "/api/schedules/preview", "/api/jobs"):
            with self.subTest(path=path):
                r = self.s.request("POST", path, raw=body)
                self.assertError(r, 400)
                errs = r.json["errors"]
                self.assertEqual(len(errs), 101)
                self.assertEqual(errs[0]["field"], "k00000")
                self.assertEqual(errs[-1]["field"], "…")
                # the unknown ones past the first 100, and the required fields missing
                left = re.fullmatch(r"and (\d+) more fields with errors, not listed", errs[-1]["messages"][0])
                self.assertTrue(left and 19900 <= int(left.group(1)) <= 19902, errs[-2:])
                self.assertLess(len(r.raw), 20000)
        r = self.s.request("POST", "/api/schedules/preview", raw=json.dumps({"y" * 5000: 1}).encode())
        self.assertEqual(r.json["errors"][0]["field"], "y" * 200 + "…")

    def test_body_must_be_an_object(self):
        for raw, kind in ((b"[1, 2]", "array"), (b'"text"', "string"), (b"42", "integer"),
                          (b"null", "null")):
            body = self.assertError(self.post_job(raw), 400, fragment="must be a JSON object")
            self.assertIn(kind, body["message"])
        self.assertError(self.post_job(b""), 400, fragment="body is required")
        job = self.job()
        for method in ("PUT", "PATCH"):
            r = self.s.request(method, "/api/jobs/" + job["id"], raw=b"[]")
            self.assertError(r, 400, fragment="must be a JSON object")
        r = self.s.request("POST", "/api/jobs/%s/runs" % job["id"], raw=b"[]")
        self.assertError(r, 400, fragment="must be a JSON object")

    def test_job_fields(self):
        cases = [
            ({"title": "x", "task": "t", "colour": "red"}, "colour", "unknown field"),
            ({"task": "t"}, "title", "required"),
            ({"title": "", "task": "t"}, "title", None),
            ({"title": "x" * 251, "task": "t"}, "title", "1 to 250"),
            ({"title": "\u00a0\u3000\u200b\ufeff", "task": "t"}, "title", "must not be blank"),
            ({"title": "a\u2028b", "task": "t"}, "title", "one line"),
            ({"title": 5, "task": "t"}, "title", None),
            ({"title": "x"}, "task", "required"),
            ({"title": "x", "task": "nope"}, "task", "unknown job type 'nope'"),
            ({"title": "x", "task": "t", "default_queue": "nope"}, "default_queue", "unknown queue"),
            ({"title": "x", "task": "t", "default_queue": 1}, "default_queue", None),
            ({"title": "x", "task": "t", "schedule": {"type": "weekly"}}, "schedule.type",
             "unknown schedule type"),
            ({"title": "x", "task": "t", "schedule": {"minutes": 5}}, "schedule.type", None),
            ({"title": "x", "task": "t", "schedule": "hourly"}, "schedule", None),
            ({"title": "x", "task": "t", "schedule": {"type": "interval", "minutes": -5}},
             "schedule.minutes", None),
            ({"title": "x", "task": "t", "timeout": "forever"}, "timeout", "duration such as"),
            ({"title": "x", "task": "t", "timeout": -5}, "timeout", "longer than zero"),
            ({"title": "x", "task": "t", "timeout": 0}, "timeout", "longer than zero"),
            ({"title": "x", "task": "t", "timeout": -9223372036854776}, "timeout", "longer than zero"),
            ({"title": "x", "task": "t", "timeout": -2 ** 63}, "timeout", "longer than zero"),
            ({"title": "x", "task": "t", "timeout": "0s"}, "timeout", "longer than zero"),
            ({"title": "x", "task": "t", "timeout": 36601 * 86400}, "timeout", "at most 100 years"),
            ({"title": "x", "task": "t", "timeout": "36601d"}, "timeout", "at most 100 years"),
            ({"title": "x", "task": "t", "timeout": 1.5}, "timeout", "duration such as"),
            ({"title": " \t ", "task": "t"}, "title", "must not be blank"),
            ({"title": "a\nb", "task": "t"}, "title", "one line without control characters"),
            ({"title": "\u001b[31mred", "task": "t"}, "title", "one line without control characters"),
            ({"title": "\u009b31mred", "task": "t"}, "title", "one line without control characters"),  # C1 CSI
            ({"title": "x", "task": "t", "description": "é" * 50001}, "description", "at most 100000 bytes"),
            ({"title": "x", "task": 5}, "task", "must be a string"),
            ({"title": "x", "task": "t", "schedule": {"type": "interval", "weeks": 5300}},
             "schedule.weeks", "at most 100 years"),
            ({"title": "x", "task": "t", "schedule": {"type": "interval", "fortnights": 1}},
             "schedule.fortnights", "milliseconds, microseconds"),
            ({"title": "x", "task": "t", "notification_emails": ["not-an-address"]},
             "notification_emails", "not an e-mail address"),
            ({"title": "x", "task": "t", "notification_emails": "a@example.com"},
             "notification_emails", None),
            ({"title": "x", "task": "t", "notification_statuses": ["DONE"]},
             "notification_statuses", "'DONE'"),
            ({"title": "x", "task": "t", "active": "yes"}, "active", None),
            ({"title": "x", "task": "t", "description": 5}, "description", None),
            ({"title": "x", "task": "t", "args": [1]}, "args", None),
            ({"title": "x", "task": "t", "args": {"n": -1}}, "args.n", "at least 0"),
            ({"title": "x", "task": "t", "custom_args": "{oops"}, "custom_args", "malformed JSON"),
            # custom args given inside args are named there, as a run's are
            ({"title": "x", "task": "t", "args": {"custom_args": [1]}}, "args.custom_args",
             "must be a JSON object or a string holding one"),
            ({"title": "x", "task": "t", "args": {"custom_args": "{oops"}}, "args.custom_args",
             "malformed JSON"),
        ]
        before = self.s.get("/api/jobs?size=1").json["hits"]["total"]
        for body, field, fragment in cases:
            with self.subTest(body=body):
                self.assertError(self.s.post("/api/jobs", body), 400, field, fragment)
        self.assertEqual(self.s.get("/api/jobs?size=1").json["hits"]["total"], before)
        # the limits themselves are accepted
        job = self.job(title="x" * 250, timeout=90, notification_emails=["ops@example.com"],
                       notification_statuses=["FAILED", "PARTIAL_SUCCESS"])
        self.assertEqual(job["timeout"], "1m30s")

    def test_run_fields(self):
        job = self.job()
        base = "/api/jobs/%s/runs" % job["id"]
        self.assertError(self.s.post(base, {"queue": "nope"}), 400, "queue", "unknown queue 'nope'")
        self.assertError(self.s.post(base, {"priority": 1}), 400, "priority", "unknown field")
        self.assertError(self.s.post(base, {"title": ""}), 400, "title")
        self.assertError(self.s.post(base, {"title": "  "}), 400, "title", "must not be blank")
        self.assertError(self.s.post(base, {"title": "a\tb"}), 400, "title", "one line")
        self.assertError(self.s.post(base, {"args": "n=1"}), 400, "args")
        self.assertError(self.s.post(base, {"args": {"n": "one"}}), 400, "args.n")
        self.assertError(self.s.post(base, {"args": {"custom_args": [1]}}), 400, "args.custom_args",
                         "must be a JSON object or a string holding one")
        self.assertEqual(self.s.get(base).json["hits"]["total"], 0)
        r = self.s.post(base, {"queue": "low", "title": "by hand"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["queue"], r.json["title"]), ("low", "by hand"))
        # a run's id is a version-7 UUID: ids sort in the order the runs were made
        ids = [r.json["id"]] + [self.s.post(base, {"queue": "low"}).json["id"] for _ in range(5)]
        self.assertEqual([i[14] for i in ids], ["7"] * 6)
        self.assertEqual(sorted(ids), ids)

    def test_list_items_of_the_wrong_type_are_named(self):
        """An item that is no string is named by its place, and the message says what it must
        be (not its type quoted as if it were the value); a status listed twice is refused."""
        cases = [
            ({"notification_emails": [1]}, "notification_emails[0]",
             "must be a string (an e-mail address)"),
            ({"notification_emails": ["ops@example.com", {"a": 1}]}, "notification_emails[1]",
             "must be a string (an e-mail address)"),
            ({"on_success": [5]}, "on_success[0]", "must be a string (a job id)"),
            ({"notification_statuses": [None]}, "notification_statuses[0]",
             "must be a string (one of SUCCESS"),
            ({"notification_webhooks": [True]}, "notification_webhooks[0]",
             "must be a string (an http:// or https:// URL)"),
            ({"notification_statuses": ["FAILED", "SUCCESS", "FAILED"]}, "notification_statuses",
             "'FAILED' is listed twice"),
            # an address (of any case) or a URL twice would be notified twice
            ({"notification_emails": ["ops@example.com", "OPS@example.com"]}, "notification_emails",
             "'OPS@example.com' is listed twice"),
            ({"notification_webhooks": ["https://h.example/x", "https://h.example/x"]},
             "notification_webhooks", "'https://h.example/x' is listed twice"),
            # bounded lists: each item is compared with those before it
            ({"notification_emails": ["u%d@example.com" % i for i in range(51)]},
             "notification_emails", "must be a list of at most 50 e-mail addresses"),
            ({"notification_statuses": ["FAILED"] * 6}, "notification_statuses",
             "must be a list of run statuses, each at most once"),
        ]
        for fields, field, fragment in cases:
            with self.subTest(fields=fields):
                body = dict({"title": "x", "task": "t"}, **fields)
                errs = self.assertError(self.s.post("/api/jobs", body), 400, field, fragment)
                self.assertNotIn("integer", json.dumps(errs))
        job = self.job()
        r = self.s.patch("/api/jobs/" + job["id"], {"notification_statuses": ["FAILED", "FAILED"]})
        self.assertError(r, 400, "notification_statuses", "listed twice")
        self.assertEqual(self.s.get("/api/jobs/" + job["id"]).json["notification_statuses"], [])

    def test_chains_are_checked_with_the_other_fields(self):
        """The on_success checks that read the store (existence, itself, cycles) report with
        the other field errors, not only once those are fixed."""
        r = self.s.post("/api/jobs", {"title": "", "task": "t", "on_success": [NO_SUCH]})
        errs = self.assertError(r, 400, "title")
        self.assertError(r, 400, "on_success", "no job with ID " + NO_SUCH)
        self.assertEqual(len(errs["errors"]), 2, errs)
        a = self.job()
        b = self.job(on_success=[a["id"]])
        url = "/api/jobs/" + a["id"]
        for method in ("PATCH", "PUT"):
            with self.subTest(method=method):
                body = {"title": "x", "task": "t", "timeout": "soon"}
                r = self.s.request(method, url, body=dict(body, on_success=[a["id"]]))
                self.assertError(r, 400, "timeout")
                self.assertError(r, 400, "on_success", "a job cannot start itself")
                r = self.s.request(method, url, body=dict(body, on_success=[b["id"]]))
                self.assertError(r, 400, "timeout")
                self.assertError(r, 400, "on_success", "would make a cycle")
        self.assertEqual(self.s.get(url).json["on_success"], [])

    def test_a_stop_takes_no_fields(self):
        job = self.job(task="gated")
        runs = [self.s.run_job(job["id"]) for _ in range(3)]
        stop = "/api/jobs/%s/runs/%%s/actions/stop" % job["id"]
        r = self.s.post(stop % runs[0]["id"], {"x": 1})
        self.assertError(r, 400, "x", "unknown field")
        self.assertError(self.s.request("POST", stop % runs[0]["id"], raw=b"[]"), 400,
                         fragment="must be a JSON object")
        self.assertError(self.s.request("POST", stop % runs[0]["id"], raw=b'{"x":'), 400,
                         fragment="malformed JSON")
        self.assertNotIn(self.s.get_run(runs[0])["status"], ("CANCELLING", "CANCELLED"))
        # no body, or {}
        self.assertEqual(self.s.request("POST", stop % runs[0]["id"]).status, 202)
        self.assertEqual(self.s.post(stop % runs[1]["id"], {}).status, 202)
        self.assertEqual(self.s.request("POST", stop % runs[2]["id"], raw=b"").status, 202)
        for run in runs:
            self.assertEqual(self.s.wait_run(run)["status"], "CANCELLED")

    def test_unknown_things_are_404_json(self):
        job = self.job()
        other = self.job()
        run = self.s.wait_run(self.s.run_job(job["id"]))
        paths = [
            ("GET", "/api/jobs/" + NO_SUCH),
            ("GET", "/api/jobs/not-a-uuid"),
            ("PUT", "/api/jobs/" + NO_SUCH),
            ("PATCH", "/api/jobs/" + NO_SUCH),
            ("DELETE", "/api/jobs/" + NO_SUCH),
            ("GET", "/api/jobs/%s/runs" % NO_SUCH),
            ("POST", "/api/jobs/%s/runs" % NO_SUCH),
            ("GET", "/api/jobs/%s/runs/%s" % (job["id"], NO_SUCH)),
            ("GET", "/api/jobs/%s/runs/not-a-uuid" % job["id"]),
            # a run asked for under another job
            ("GET", "/api/jobs/%s/runs/%s" % (other["id"], run["id"])),
            ("DELETE", "/api/jobs/%s/runs/%s" % (other["id"], run["id"])),
            ("POST", "/api/jobs/%s/runs/%s/actions/stop" % (other["id"], run["id"])),
            ("GET", "/api/jobs/%s/runs/%s/logs" % (other["id"], run["id"])),
            ("GET", "/api/tasks/nope"),
            ("GET", "/api/tasks/nope/args"),
            ("GET", "/api/nothing-here"),
            ("GET", "/nothing.png"),
        ]
        for method, path in paths:
            with self.subTest(method=method, path=path):
                body = {"title": "x"} if method in ("PUT", "PATCH") else None
                self.assertError(self.s.request(method, path, body=body), 404)
        self.assertEqual(self.s.get("/api/jobs/%s/runs/%s" % (job["id"], run["id"])).status, 200)

    def test_a_path_that_is_not_utf8_is_quoted_with_replacement_characters(self):
        auth = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
        for method, path, message in (
                (b"GET", b"/api/\xff", "no such route: /api/\ufffd"),
                (b"GET", b"/api/tasks/%FF%FE", "\ufffd\ufffd"),
                (b"GET", b"/api/users/\xff", "Account \ufffd does not exist."),
                (b"DELETE", b"/api/tokens/a\xc3", "a\ufffd"),
                (b"GET", ("/api/jobs/%s/runs/%%C0%%80" % NO_SUCH).encode(), "\ufffd\ufffd"),
                (b"POST", b"/api/queues/%C0%80/actions/pause", "\ufffd\ufffd")):
            with self.subTest(path=path):
                (status, _, body), = parse_responses(self.s.raw(
                    method + b" " + path + b" HTTP/1.1\r\nHost: t\r\n" + auth +
                    b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"))
                self.assertEqual(status, 404, body)
                self.assertIn(message, json.loads(body)["message"])

    def test_head_on_a_stream_answers_its_head_alone(self):
        """HEAD on an event stream's route answers the head GET would, with no event and no
        stream held open: a request after it on the connection is answered."""
        run = self.s.wait_run(self.s.run_job(self.job()["id"]))
        auth = ("Authorization: Bearer %s\r\n" % skedtest.TOKEN).encode()
        for path in ("/api/runs/stream",
                     "/api/jobs/%s/runs/%s/logs/stream" % (run["job_id"], run["id"])):
            with self.subTest(path=path):
                data = self.s.raw(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + auth +
                                  b"\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n"
                                  b"Connection: close\r\n\r\n")
                head, _, rest = data.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
                self.assertIn(b"Content-Type: text/event-stream", head)
                self.assertIn(b"Cache-Control: no-cache", head)
                (status, _, body), = parse_responses(rest)  # the next answer, nothing between
                self.assertEqual(status, 200, rest[:200])
                self.assertIn(b"ok", body)
        # a stream's route still checks what it is asked for under HEAD
        r = self.s.request("HEAD", "/api/jobs/%s/runs/%s/logs/stream" % (NO_SUCH, NO_SUCH))
        self.assertEqual(r.status, 404)

    def test_405_with_allow(self):
        # HEAD is answered wherever GET is
        for method, path, allow in (("DELETE", "/api/jobs", {"GET", "HEAD", "POST"}),
                                    ("PUT", "/api/jobs/%s/runs" % NO_SUCH, {"GET", "HEAD", "POST"}),
                                    ("POST", "/api/tasks", {"GET", "HEAD"}),
                                    ("PATCH", "/api/queues", {"GET", "HEAD"}),
                                    ("GET", "/api/jobs/%s/runs/%s/actions/stop" % (NO_SUCH, NO_SUCH),
                                     {"POST"}),
                                    ("POST", "/healthz", {"GET", "HEAD"})):
            with self.subTest(method=method, path=path):
                r = self.s.request(method, path)
                self.assertError(r, 405)
                self.assertEqual({m.strip() for m in r.headers["Allow"].split(",")}, allow)

    def test_bad_list_parameters_name_the_field(self):
        job = self.job()
        cases = [
            ("/api/jobs?page=0", "page"), ("/api/jobs?page=x", "page"),
            ("/api/jobs?page=-1", "page"), ("/api/jobs?size=0", "size"),
            ("/api/jobs?size=1001", "size"), ("/api/jobs?size=1.5", "size"),
            ("/api/jobs?sort=colour", "sort"), ("/api/jobs?sort_direction=up", "sort_direction"),
            ("/api/jobs?active=maybe", "active"),
            ("/api/jobs/%s/runs?status=DONE" % job["id"], "status"),
            ("/api/jobs/%s/runs?status=SUCCESS,nope" % job["id"], "status"),
            ("/api/jobs/%s/runs?since=yesterday" % job["id"], "since"),
            ("/api/jobs/%s/runs?sort=title" % job["id"], "sort"),
            ("/api/jobs/%s/runs?size=0" % job["id"], "size"),
            ("/api/runs?job_id=nope", "job_id"), ("/api/runs?status=z", "status"),
            ("/api/runs?include_subtasks=maybe", "include_subtasks"),
            ("/api/runs?page=2000000000", "page"),
        ]
        for path, field in cases:
            with self.subTest(path=path):
                self.assertError(self.s.get(path), 400, field)
        r = self.s.get("/api/jobs?page=0&size=0&sort=x")
        self.assertEqual({e["field"] for e in r.json["errors"]}, {"page", "size", "sort"})
        self.assertError(self.s.get("/api/jobs?q=%zz"), 400,
                         fragment="query parameter 'q': a bad percent-escape (% and two hex digits")
        self.assertError(self.s.get("/api/jobs?size=1&page=%zz"), 400, fragment="query parameter 'page'")
        self.assertError(self.s.get("/api/jobs?task=a%00b"), 400,
                         fragment="query parameter 'task': a NUL byte (%00) is refused")
        # an encoded '/' would make one path segment two (the runs of a job by its id)
        job = self.job()
        self.assertError(self.s.get("/api/jobs/%s%%2Fruns" % job["id"]), 400,
                         fragment="an encoded '/' (%2F) in the path is refused")
        self.assertError(self.s.get("/api/jobs/%s%%00" % job["id"]), 400,
                         fragment="a NUL byte (%00) in the path")


class QueryParameters(ApiCase):
    """Every list endpoint reads each of its parameters once, by one rule: a parameter it does
    not take, one given twice or empty, and a number that is not plain digits are refused with
    a 400 that names it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.j = cls.s.create_job("t", title="query parameters")
        cls.run_ = cls.s.wait_run(cls.s.run_job(cls.j["id"], args={"exit": 2}))

    def lists(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        return ["/api/jobs", runs, "/api/runs", runs + "/" + self.run_["id"] + "/logs",
                runs + "/" + self.run_["id"] + "/logs/stream", "/api/logs/jobs"]

    def test_a_repeated_parameter_is_refused(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        for path in ("/api/runs?status=FAILED&status=SUCCESS", runs + "?status=FAILED&status=SUCCESS"):
            with self.subTest(path=path):
                self.assertError(self.s.get(path), 400, "status",
                                 "given twice; give one value (lists are comma-separated: "
                                 "status=FAILED,SUCCESS)")
        self.assertEqual(self.s.get("/api/runs?status=FAILED,SUCCESS").status, 200)
        cases = [("/api/jobs?active=1&active=0", "active"), ("/api/jobs?size=2&size=3", "size"),
                 ("/api/jobs?q=a&q=b", "q"), ("/api/jobs?sort=title&sort=title", "sort"),
                 (runs + "?after=%s&after=%s" % (self.run_["id"], self.run_["id"]), "after"),
                 ("/api/runs?job_id=%s&job_id=%s" % (self.j["id"], NO_SUCH), "job_id"),
                 ("/api/logs/jobs?q=%s&q=%s" % (self.run_["id"], self.run_["id"]), "q")]
        logs = runs + "/" + self.run_["id"] + "/logs"
        cases += [(logs + "?level=INFO&level=ERROR", "level"), (logs + "?after=1&after=2", "after"),
                  (logs + "/stream?after=0&after=2", "after")]
        for path, field in cases:
            with self.subTest(path=path):
                self.assertError(self.s.get(path), 400, field, "given twice; give one value")
        r = self.s.get("/api/jobs?size=1&size=2&size=3")
        self.assertError(r, 400, "size", "given 3 times")
        # the audit trail pages by the same rule
        self.assertError(self.s.get("/api/audit?size=2&size=3"), 400, "size", "given twice")

    def test_writes_take_no_parameter_but_a_dry_run_where_there_is_one(self):
        """A ?dry_run=true on a write without a dry run (a DELETE) is refused, not ignored
        while the write is made."""
        victim = self.s.create_job("t", title="not deleted by a dry run")
        for method, path in (("DELETE", "/api/jobs/%s?dry_run=true" % victim["id"]),
                             ("POST", "/api/jobs/%s/runs?dry_run=true" % victim["id"]),
                             ("POST", "/api/queues/default/actions/pause?x=1")):
            with self.subTest(method=method, path=path):
                r = self.s.request(method, path, {} if method == "POST" else None)
                field = path.rsplit("?", 1)[1].split("=")[0]
                self.assertError(r, 400, field, "unknown parameter (this request takes none)")
        self.assertEqual(self.s.get("/api/jobs/" + victim["id"]).status, 200)
        self.assertEqual(self.s.get("/api/jobs/%s/runs" % victim["id"]).json["hits"]["total"], 0)
        self.assertFalse([q for q in self.s.get("/api/queues").json["hits"]["hits"]
                          if q["name"] == "default"][0]["paused"])
        # the writes with a dry run take it
        self.assertEqual(self.s.request("PATCH", "/api/jobs/%s?dry_run=true" % victim["id"],
                                        {"title": "x"}).status, 200)
        # a run request's problems are reported together, its queue's too
        r = self.s.post("/api/jobs/%s/runs" % victim["id"], {"queue": "fast", "x": 1, "title": ""})
        errs = self.assertError(r, 400, "queue", "unknown queue 'fast'")
        self.assertEqual(sorted(e["field"] for e in errs["errors"]), ["queue", "title", "x"])
        self.assertEqual(self.s.delete("/api/jobs/" + victim["id"]).status, 204)

    def test_unknown_parameters_are_refused(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        r = self.s.get(runs + "?stauts=FAILED")
        self.assertError(r, 400, "stauts", "unknown parameter (status, since, q, include_subtasks, "
                                           "after, page, size, sort, sort_direction)")
        r = self.s.get("/api/jobs?foo=bar&foo=baz&active=true")
        errs = self.assertError(r, 400, "foo", "unknown parameter (q, active, task, starts, id_prefix, page")
        self.assertEqual([e["field"] for e in errs["errors"]], ["foo"])  # named once
        for path in self.lists():
            with self.subTest(path=path):
                self.assertError(self.s.get(path + "?_=1"), 400, "_", "unknown parameter")
                errs = self.assertError(self.s.get(path + "?=1"), 400)["errors"]
                self.assertIn("a parameter without a name",
                              " ".join(" ".join(e["messages"]) for e in errs if e["field"] == ""))
        self.assertError(self.s.get("/api/logs/jobs?q=%s&size=5" % self.run_["id"]), 400, "size",
                         "unknown parameter (q, search_after)")
        # the lists without paging or filters take none
        for path in ("/api/tasks", "/api/queues", "/api/users"):
            with self.subTest(path=path):
                self.assertEqual(self.s.get(path).status, 200)
                self.assertError(self.s.get(path + "?page=2"), 400, "page",
                                 "unknown parameter (this list takes none)")
        # what the web UI and the command line send
        for path in ("/api/jobs?q=query&active=true&task=t&sort=title&sort_direction=asc&page=1&size=25",
                     "/api/jobs?starts=%s&size=100&sort=title" % self.j["id"],
                     "/api/jobs?q=query%20parameters&size=1000&page=1",
                     runs + "?page=1&size=25&status=FAILED",
                     "/api/runs?status=FAILED&job_id=%s&since=2020-01-01&page=1&size=25" % self.j["id"],
                     "/api/runs?q=%s&size=1000" % self.run_["id"][:8],
                     runs + "?include_subtasks=false&q=&after=%s&size=2" % self.run_["id"],
                     runs + "/%s/logs?after=0&limit=5000&level=DEBUG" % self.run_["id"],
                     "/api/logs/jobs?q=%s&search_after=1" % self.run_["id"]):
            with self.subTest(path=path):
                self.assertEqual(self.s.get(path).status, 200, path)
        with skedtest.SSE(self.s, self.run_, after=0, level="INFO") as sse:
            self.assertEqual(sse.status, 200)

    def test_booleans_and_names_in_any_case(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]

        def total(path):
            r = self.s.get(path)
            self.assertEqual(r.status, 200, (path, r))
            return r.json["hits"]["total"]

        active = total("/api/jobs?active=true")
        for v in ("TRUE", "True", "1"):
            self.assertEqual(total("/api/jobs?active=" + v), active, v)
        inactive = total("/api/jobs?active=false")
        for v in ("FALSE", "False", "0"):
            self.assertEqual(total("/api/jobs?active=" + v), inactive, v)
        for v in ("TRUE", "0", "False"):
            self.assertEqual(total(runs + "?include_subtasks=" + v), 1, v)
        for v in ("yes", "2", "t"):
            self.assertError(self.s.get("/api/jobs?active=" + v), 400, "active",
                             "must be true or false (or 1 or 0)")
            self.assertError(self.s.get(runs + "?include_subtasks=" + v), 400, "include_subtasks")
        # a status by its name or letter, in any case
        for v in ("FAILED", "failed", "F", "f", "f,s", "Failed,x"):
            self.assertEqual(total(runs + "?status=" + v), 1, v)
        self.assertEqual(total(runs + "?status=s"), 0)
        r = self.s.get(runs + "?status=z")
        self.assertError(r, 400, "status", "unknown status 'z' (QUEUED, RUNNING")
        # sort keys and directions too
        a = self.s.get("/api/jobs?sort=created&sort_direction=desc").json
        b = self.s.get("/api/jobs?sort=CREATED&sort_direction=DESC").json
        self.assertEqual(a["hits"], b["hits"])
        self.assertEqual(b["sortBy"], "created")
        self.assertEqual(total(runs + "?sort=Created&sort_direction=Asc"), 1)

    def test_jobs_by_the_start_of_their_id(self):
        """id_prefix finds the jobs whose id starts so (in any case), what the CLI looks for
        when given the start of an id, without reading every job."""
        other = self.s.create_job(self.j["task"], title="another")
        for prefix in (self.j["id"][:4], self.j["id"][:13].upper(), self.j["id"]):
            with self.subTest(prefix=prefix):
                page = self.s.get("/api/jobs?id_prefix=" + prefix).json
                ids = [h["id"] for h in page["hits"]["hits"]]
                self.assertIn(self.j["id"], ids)
                self.assertTrue(all(i.startswith(prefix.lower()) for i in ids), ids)
                self.assertEqual(page["hits"]["total"], len(ids))
                self.assertIn("id_prefix=" + prefix, page["links"]["self"])
        if not other["id"].startswith(self.j["id"][:8]):
            got = self.s.get("/api/jobs?id_prefix=" + self.j["id"][:8]).json["hits"]["hits"]
            self.assertNotIn(other["id"], [h["id"] for h in got])
        miss = "0000" if not self.j["id"].startswith("0000") else "ffff"
        self.assertEqual(self.s.get("/api/jobs?id_prefix=" + miss + "&active=true").json["hits"]["total"],
                         sum(1 for j in (self.j, other) if j["id"].startswith(miss)))
        for bad in ("g1", "01a2%20", self.j["id"] + "0", "%27"):
            with self.subTest(bad=bad):
                self.assertError(self.s.get("/api/jobs?id_prefix=" + bad), 400, "id_prefix",
                                 "must be the start of a job id")
        self.assertError(self.s.get("/api/jobs?id_prefix="), 400, "id_prefix", "must not be empty")

    def test_empty_values_are_refused(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        logs = "%s/%s/logs" % (runs, self.run_["id"])
        cases = [("/api/jobs?page=&size=", "page"), ("/api/jobs?page=&size=", "size"),
                 ("/api/jobs?sort=", "sort"), ("/api/jobs?sort_direction=", "sort_direction"),
                 ("/api/jobs?active=", "active"), ("/api/jobs?active", "active"),
                 ("/api/jobs?starts=", "starts"), ("/api/jobs?task=", "task"),
                 (runs + "?status=", "status"), (runs + "?since=", "since"),
                 (runs + "?after=", "after"), (runs + "?include_subtasks=", "include_subtasks"),
                 ("/api/runs?job_id=", "job_id"), (logs + "?level=", "level"),
                 (logs + "?after=", "after"), (logs + "?limit=", "limit"),
                 (logs + "/stream?level=", "level"), ("/api/logs/jobs?q=", "q")]
        for path, field in cases:
            with self.subTest(path=path, field=field):
                self.assertError(self.s.get(path), 400, field, "must not be empty")
        # an empty item of a list of statuses would otherwise ask for every status
        for v in ("FAILED,", ",", "FAILED,,SUCCESS"):
            self.assertError(self.s.get(runs + "?status=" + v), 400, "status", "an empty status")
        # an empty search finds everything, and the links keep it
        page = self.s.get("/api/jobs?q=&size=1").json
        self.assertEqual(parse_qs(urlsplit(page["links"]["self"]).query, keep_blank_values=True)["q"], [""])
        self.assertEqual(self.s.get(runs + "?q=").json["hits"]["total"], 1)

    def test_numbers_are_plain_digits(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        logs = "%s/%s/logs" % (runs, self.run_["id"])
        for path, field in (("/api/jobs?page=%2B1", "page"), ("/api/jobs?size=01", "size"),
                            ("/api/jobs?page=%201", "page"), ("/api/jobs?size=1%20", "size"),
                            ("/api/jobs?page=-0", "page"), ("/api/jobs?size=0x10", "size"),
                            (runs + "?page=99999999999999999999", "page"),
                            (logs + "?after=01", "after"), (logs + "?limit=%2B5", "limit"),
                            (logs + "/stream?after=-1", "after")):
            with self.subTest(path=path):
                self.assertError(self.s.get(path), 400, field, "must be a whole number from")
        self.assertError(self.s.get("/api/jobs?size=01"), 400, "size", "without a sign or leading zeros")
        for path in ("/api/jobs?page=1&size=10", logs + "?after=0&limit=0", logs + "?after=10"):
            self.assertEqual(self.s.get(path).status, 200, path)

    def test_a_job_type_filter_that_names_none_is_refused(self):
        """task= names a loaded job type (case-sensitive) or the type of a stored job: anything
        else would find nothing, as if there were no such jobs."""
        self.assertEqual(self.s.get("/api/jobs?task=lowq").status, 200)  # a type without jobs
        self.assertEqual(self.s.get("/api/jobs?task=t&q=no-title-holds-this").json["hits"]["total"], 0)
        for value in ("nope", "T", "LOWQ"):
            r = self.s.get("/api/jobs?task=" + value)
            self.assertEqual(r.status, 400, (value, r))
            self.assertEqual(r.json["errors"], [{"field": "task", "messages": [
                "unknown job type '%s': no job type of this id is loaded and no job is of it "
                "(ids are case-sensitive; see GET /api/tasks)" % value]}])

    def test_values_that_are_not_utf8_are_refused(self):
        """A value that decodes to bytes that are not UTF-8 (a cut sequence, an encoded
        surrogate, a lone byte) is refused naming its parameter, as in a body."""
        job = self.s.post("/api/jobs", {"title": "utf8 check", "task": "t"}).json
        for path, param in (("/api/runs?q=%C3", "q"), ("/api/runs?q=%ED%A0%80", "q"),
                            ("/api/jobs?q=%FF", "q"), ("/api/jobs?task=%C0%80", "task"),
                            ("/api/jobs/%s/runs?q=a%%FFb" % job["id"], "q"),
                            ("/api/audit?user=%FF", "user"), ("/api/logs/jobs?q=%FF", "q"),
                            ("/api/runs?status=%FF", "status")):
            with self.subTest(path=path):
                r = self.s.get(path)
                self.assertError(r, 400, param, "is not UTF-8 text: percent-encode each character "
                                 "as its UTF-8 bytes (é as %C3%A9)")
        self.assertEqual(self.s.get("/api/jobs?q=%C3%A9").status, 200)

    def test_after_cannot_be_combined_with_page(self):
        runs = "/api/jobs/%s/runs" % self.j["id"]
        for path in (runs, "/api/runs"):
            for page in ("1", "2"):
                r = self.s.get("%s?after=%s&page=%s" % (path, self.run_["id"], page))
                self.assertError(r, 400, "after", "cannot be combined with page")


class PatchRoles(ApiCase):
    def test_a_patch_is_refused_by_role_before_its_fields_are_checked(self):
        """An operator's PATCH of a job that is no JSON object is told so (400); one whose
        fields the operator may not send is refused (403) before any of them is checked, and
        the fields an operator may send are checked as an admin's are. A viewer may send none:
        refused before the job or the body is looked at, as PUT and DELETE are."""
        job = self.job()
        tok = {}
        for role in ("operator", "viewer"):
            acc = self.s.post("/api/users", {"username": role + uuid.uuid4().hex[:6], "role": role})
            self.assertEqual(acc.status, 201, acc)
            t = self.s.post("/api/users/%s/tokens" % acc.json["id"], {"name": "t"})
            self.assertEqual(t.status, 201, t)
            tok[role] = t.json["token"]
        url = "/api/jobs/" + job["id"]

        def patch(role, raw):
            return self.s.request("PATCH", url, raw=raw, token=tok[role])

        self.assertError(patch("operator", b'{"active":'), 400, fragment="malformed JSON")
        self.assertError(patch("operator", b"[]"), 400, fragment="must be a JSON object")
        self.assertError(patch("operator", b""), 400, fragment="body is required")
        for raw in (b'{"title":"x"}', b'{"active":true,"title":"x"}', b"{}",
                    b'{"title":"","active":true}', b'{"args":{"n":"many"}}'):
            self.assertError(patch("operator", raw), 403, fragment="PATCH /api/jobs/{} needs "
                             "the admin role (you are operator).")
        self.assertError(patch("operator", b'{"active":"yes"}'), 400, "active")
        for raw in (b'{"active":false}', b'{"active":"yes"}', b'{"schedule":{"type":"x"}}',
                    b'{"active":', b"[]", b"", b'{"title":"x"}'):
            self.assertError(patch("viewer", raw), 403,
                             fragment="needs the operator or admin role (you are viewer).")
        self.assertError(self.s.request("PATCH", url, raw=b'{"active":true}', token=tok["viewer"],
                                        headers={"If-Match": '"x"'}), 403)
        self.assertEqual(patch("operator", b'{"active":false}').status, 200)
        now = self.s.get(url).json
        self.assertEqual((now["active"], now["title"]), (False, job["title"]))
        self.assertError(self.s.request("PATCH", "/api/jobs/" + NO_SUCH, raw=b'{"active":true}',
                                        token=tok["operator"]), 404)
        self.assertError(self.s.request("PATCH", "/api/jobs/" + NO_SUCH, raw=b'{"active":true}',
                                        token=tok["viewer"]), 403)


class Limits(ApiCase):
    args = FAST + ["--max-body", "4K"]

    def post_raw(self, body, extra=b""):
        return parse_responses(self.s.raw(
            b"POST /api/jobs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + TOKEN.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(body) + extra +
            b"\r\n" + body))

    def test_body_over_the_cap_is_413(self):
        big = json.dumps({"title": "x", "task": "t", "description": "d" * 5000}).encode()
        (status, headers, body), = self.post_raw(big)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["status"], 413)
        self.assertEqual(headers["content-type"], "application/json")
        # the usual client sees the same
        r = self.s.post("/api/jobs", {"title": "x", "task": "t", "description": "d" * 100000})
        self.assertError(r, 413, fragment="larger than 4096 bytes")
        # at the cap is fine
        body = {"title": "x", "task": "t", "description": ""}
        body["description"] = "d" * (4096 - len(json.dumps(body)))
        self.assertEqual(len(json.dumps(body)), 4096)
        self.assertEqual(self.s.post("/api/jobs", body).status, 201)

    def test_head_over_the_limit_is_431(self):
        for size in (20000, 200000):
            data = self.s.raw(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * size +
                              b"\r\n\r\n")
            (status, headers, body), = parse_responses(data)
            self.assertEqual(status, 431, size)
            self.assertEqual(json.loads(body)["status"], 431)
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        (status, _, body), = parse_responses(self.s.raw(b"GET /healthz HTTP/1.1\r\n" + many + b"\r\n"))
        self.assertEqual((status, json.loads(body)["status"]), (431, 431))

    def test_malformed_requests_get_json_answers(self):
        cases = [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET /healthz\r\n\r\n", 400),
            (b"GET  /healthz HTTP/1.1\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1 extra\r\n\r\n", 400),
            (b"G(T /healthz HTTP/1.1\r\n\r\n", 400),
            (b"GET healthz HTTP/1.1\r\n\r\n", 400),
            (b"GET /health\x01z HTTP/1.1\r\n\r\n", 400),
            (b"GET /healthz HTTP/2.0\r\n\r\n", 505),
            (b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\n folded: header\r\n\r\n", 400),
            (b"GET /%zz HTTP/1.1\r\n\r\n", 400),
            (b"POST /api/jobs HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
            (b"POST /api/jobs HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"POST /api/jobs HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
            (b"POST /api/jobs HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            # RFC 9112 §3.2: an HTTP/1.1 request without Host is 400
            (b"GET /healthz HTTP/1.1\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nX-Host: t\r\nConnection: keep-alive\r\n\r\n", 400),
        ]
        for raw, status in cases:
            with self.subTest(raw=raw):
                responses = parse_responses(self.s.raw(raw))
                self.assertEqual(len(responses), 1)
                got, headers, body = responses[0]
                self.assertEqual(got, status)
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(headers["connection"], "close")
                doc = json.loads(body)
                self.assertEqual(doc["status"], status)
                self.assertTrue(doc["message"])
        (status, _, body), = parse_responses(self.s.raw(b"GET /healthz HTTP/1.1\r\n\r\n"))
        self.assertEqual(json.loads(body)["message"],
                         "an HTTP/1.1 request needs a Host header (RFC 9112, section 3.2)")
        for raw in (b"GET /healthz HTTP/1.0\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nhost: t\r\nConnection: close\r\n\r\n"):
            (status, _, body), = parse_responses(self.s.raw(raw))
            self.assertEqual(status, 200, raw)
        # a client that sends half a request and goes quiet is not answered with a hang
        # of the server: others are still served meanwhile
        slow = socket.create_connection(("127.0.0.1", self.s.port))
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            self.assertEqual(self.s.get("/healthz").status, 200)
        finally:
            slow.close()


class JobWrites(ApiCase):
    def full_job(self):
        return self.job(title="original", description="about it", active=False,
                        default_queue="low", args={"n": 5}, custom_args={"c": 1}, timeout="10m",
                        notification_emails=["ops@example.com"],
                        notification_statuses=["FAILED"],
                        schedule={"type": "interval", "hours": 1})

    @staticmethod
    def saved_args(job):
        return {k: v for k, v in job["args"].items() if k != "custom_args"}

    def test_arguments_of_a_job_whose_type_is_gone_are_kept(self):
        """With its job type no longer loaded, a job's arguments cannot be checked: a PATCH
        that changes them is 400; one that sends them unchanged, or other fields, is applied."""
        t = sh_task("gone", "true", arguments={"type": "object", "properties": {
            "n": {"type": "integer", "minimum": 0}}})
        with Sked(tasks={"gone.json": t}) as s:
            job = s.create_job("gone", args={"n": 2})
            os.unlink(os.path.join(s.tasks_dir, "gone.json"))
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: not s.get("/api/tasks").json["hits"]["hits"], what="the reload")
            url = "/api/jobs/" + job["id"]
            r = s.patch(url, {"args": {"n": -5}})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args"), r)
            self.assertIn("job type 'gone' is not loaded, so new arguments cannot be checked",
                          r.json["errors"][0]["messages"][0])
            self.assertEqual(s.get(url).json["run_args"], {"n": 2})
            self.assertEqual(s.patch(url, {"args": {"n": 2}, "title": "kept"}).status, 200)
            self.assertEqual(s.get(url).json["title"], "kept")
            # its jobs are still found by their job type; a type of no job at all is refused
            self.assertEqual(s.get("/api/jobs?task=gone").json["hits"]["total"], 1)
            self.assertEqual(s.get("/api/jobs?task=gone&active=false").json["hits"]["total"], 0)
            r = s.get("/api/jobs?task=never")
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "task"), r)

    def test_if_match_keeps_a_change_made_meanwhile(self):
        """A job's ETag is its updated time quoted; a PUT, PATCH or DELETE with an If-Match
        that is not the job's current tag is 412 and changes nothing."""
        created = self.s.post("/api/jobs", {"title": "etag", "task": "t"})
        j = created.json
        url = "/api/jobs/" + j["id"]
        tag = '"%s"' % j["updated"]
        self.assertEqual(created.headers.get("ETag"), tag)
        got = self.s.get(url)
        self.assertEqual(got.headers.get("ETag"), tag)
        self.assertEqual(self.s.get(url).headers.get("ETag"), tag)  # the kept document too
        # another client's change meanwhile
        other = self.s.patch(url, {"description": "theirs"}, headers={"If-Match": tag})
        self.assertEqual(other.status, 200, other)
        new_tag = other.headers.get("ETag")
        self.assertEqual(new_tag, '"%s"' % other.json["updated"])
        self.assertNotEqual(new_tag, tag)
        for method, body in (("PATCH", {"description": "mine"}), ("PUT", dict(j, description="mine")),
                             ("DELETE", None)):
            r = self.s.request(method, url, body, headers={"If-Match": tag})
            self.assertEqual(r.status, 412, (method, r))
            self.assertEqual(r.headers.get("ETag"), new_tag)
            self.assertIn("the job changed since it was read", r.json["message"])
        self.assertEqual(self.s.get(url).json["description"], "theirs")
        out = self.s.raw(("PATCH %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                          "If-Match: %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                          % (url, skedtest.TOKEN, tag)).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 412 Precondition Failed\r\n"), out[:100])
        # an Idempotency-Key is one key: two are refused, not the first one used
        out = self.s.raw(("POST %s/runs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                          "Idempotency-Key: k-a\r\nIdempotency-Key: k-b\r\nContent-Length: 2\r\n"
                          "Connection: close\r\n\r\n{}" % (url, skedtest.TOKEN)).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:100])
        self.assertIn(b"the Idempotency-Key header is given twice; send it once", out)
        # a tag that is no text still gets a message that says what to do
        r = self.s.patch(url, {"description": "mine"}, headers={"If-Match": '"caf\u00e9"'})
        self.assertEqual(r.status, 412)
        self.assertIn("the job changed since it was read (If-Match …", r.json["message"])
        for value in ('W/' + new_tag, '"nope", ' + new_tag, "*"):
            r = self.s.patch(url, {"description": "mine"}, headers={"If-Match": value})
            if value.startswith("W/"):
                self.assertEqual(r.status, 412, value)  # a weak tag never matches
            else:
                self.assertEqual(r.status, 200, (value, r))
        # If-Match is a list: its tags on two lines are the same list as on one
        now_tag = self.s.get(url).headers.get("ETag")
        out = self.s.raw(("PATCH %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                          "If-Match: \"nope\"\r\nIf-Match: %s\r\nContent-Length: 2\r\n"
                          "Connection: close\r\n\r\n{}" % (url, skedtest.TOKEN, now_tag)).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:200])
        r = self.s.request("DELETE", url, headers={"If-Match": self.s.get(url).headers.get("ETag")})
        self.assertEqual(r.status, 204, r)

    def test_a_malformed_if_match_is_refused(self):
        """If-Match is * or a list of quoted tags: anything else (a tag without its quotes, as
        a client that dropped them sends) is 400 naming the header, not a 412 that would send
        the client to read the job again and again; nothing is changed."""
        j = self.job()
        url = "/api/jobs/" + j["id"]
        tag = '"%s"' % j["updated"]
        for value in (j["updated"], "", "W/", '"a', '"a" "b"', '*, ' + tag, "W/x", ",", "'a'"):
            for method, body in (("PATCH", {"description": "mine"}), ("PUT", dict(j, description="mine")),
                                 ("DELETE", None)):
                with self.subTest(value=value, method=method):
                    r = self.s.request(method, url, body, headers={"If-Match": value})
                    self.assertError(r, 400, "If-Match", "must be * or a comma-separated list of "
                                     "quoted entity tags")
        self.assertEqual(self.s.get(url).json["updated"], j["updated"])
        for form in (" %s , ", ', "x",%s'):  # white space and empty items are fine
            value = form % tag
            self.assertEqual(self.s.patch(url, {}, headers={"If-Match": value}).status, 200, value)
            tag = '"%s"' % self.s.get(url).json["updated"]

    def test_a_read_of_a_job_answers_whole_whatever_if_none_match_holds(self):
        """A job's ETag names its own fields; its last runs move without it, so a read never
        answers 304 on it (the client's copy of last_run would stay stale). The admin UI's
        files, whose tags name all of them, do."""
        j = self.job()
        url = "/api/jobs/" + j["id"]
        first = self.s.get(url)
        tag = first.headers["ETag"]
        for value in (tag, "W/" + tag, "*", "not a tag"):
            for method in ("GET", "GET"):  # the second read is the kept document's
                with self.subTest(value=value):
                    r = self.s.request(method, url, headers={"If-None-Match": value})
                    self.assertEqual((r.status, r.raw), (200, first.raw), r)
                    self.assertEqual(r.headers["ETag"], tag)
        page = self.s.get("/", token=None)
        self.assertEqual(page.status, 200)
        for value in (page.headers["ETag"], "W/" + page.headers["ETag"], '"x", ' + page.headers["ETag"]):
            self.assertEqual(self.s.get("/", token=None, headers={"If-None-Match": value}).status, 304, value)

    def test_a_whole_number_written_as_a_real_is_an_integer(self):
        """5.0 is an integer to JSON Schema (and what JavaScript and Python's floats send): an
        integer argument takes it, saved and passed on as 5; 5.5 is still refused."""
        job = self.job(args={"n": 5.0})
        self.assertIn('"run_args":{"n":5}', self.s.get("/api/jobs/" + job["id"]).raw)
        run = self.s.wait_run(self.s.run_job(job["id"], args={"n": 2.0, "exit": 0.0}))
        self.assertEqual(run["status"], "SUCCESS", run)
        self.assertIn('"n":2,', self.s.get("/api/jobs/%s/runs/%s" % (job["id"], run["id"])).raw)
        self.assertIn("n=2", [l["message"] for l in self.s.all_logs(run)])  # not 2.0
        self.assertError(self.s.post("/api/jobs", {"title": "x", "task": "t", "args": {"n": 5.5}}),
                         400, "args.n", "must be of type integer, not number")
        self.assertError(self.s.post("/api/jobs/%s/runs" % job["id"], {"args": {"n": 1e19}}),
                         400, "args.n", "must be of type integer, not number")

    def test_a_job_whose_chain_loses_a_deleted_job_is_updated(self):
        """Deleting a job takes it out of other jobs' on_success: those jobs changed, so their
        updated and ETag move, and an If-Match of before is refused."""
        b = self.job()
        a = self.job(on_success=[b["id"]])
        other = self.job()
        read = self.s.get("/api/jobs/" + a["id"])
        etag = read.headers["ETag"]
        self.assertEqual(etag, '"%s"' % a["updated"])
        self.assertEqual(self.s.delete("/api/jobs/" + b["id"]).status, 204)
        now = self.s.get("/api/jobs/" + a["id"])
        self.assertEqual(now.json["on_success"], [])
        self.assertGreater(skedtest.parse_time(now.json["updated"]), skedtest.parse_time(a["updated"]))
        self.assertEqual(now.headers["ETag"], '"%s"' % now.json["updated"])
        listed = [j for j in self.s.get("/api/jobs?size=1000").json["hits"]["hits"] if j["id"] == a["id"]]
        self.assertEqual(listed[0]["updated"], now.json["updated"])
        r = self.s.request("PATCH", "/api/jobs/" + a["id"], {"description": "x"},
                           headers={"If-Match": etag})
        self.assertError(r, 412)
        # a job that named nothing deleted is left as it was
        self.assertEqual(self.s.get("/api/jobs/" + other["id"]).json["updated"], other["updated"])

    def test_every_201_says_where_the_created_thing_is(self):
        """Location names the created resource: a job's and a run's links.self (also on an
        idempotent replay), an account, a token, a session."""
        job = self.s.post("/api/jobs", {"title": "located", "task": "t"})
        self.assertEqual(job.status, 201)
        self.assertEqual(job.headers["Location"], job.json["links"]["self"])
        self.assertEqual(job.headers["Location"], "%s/api/jobs/%s" % (self.s.url, job.json["id"]))
        for headers in ({}, {"Idempotency-Key": "loc-1"}, {"Idempotency-Key": "loc-1"}):
            run = self.s.request("POST", "/api/jobs/%s/runs" % job.json["id"], {}, headers=headers)
            self.assertEqual(run.status, 201, run)
            self.assertEqual(run.headers["Location"], run.json["links"]["self"])
        self.assertEqual(run.headers.get("Idempotent-Replayed"), "true")
        name = "loc" + uuid.uuid4().hex[:6]
        acc = self.s.post("/api/users", {"username": name, "role": "viewer", "password": "loc-password"})
        self.assertEqual(acc.status, 201, acc)
        self.assertEqual(acc.headers["Location"], "%s/api/users/%s" % (self.s.url, acc.json["id"]))
        self.assertEqual(self.s.get(urlsplit(acc.headers["Location"]).path).json["username"], name)
        tok = self.s.post("/api/users/%s/tokens" % acc.json["id"], {"name": "t"})
        self.assertEqual(tok.status, 201, tok)
        self.assertEqual(tok.headers["Location"], "%s/api/tokens/%s" % (self.s.url, tok.json["id"]))
        own = self.s.post("/api/tokens", {"name": "own"}, token=tok.json["token"])
        self.assertEqual(own.headers["Location"], "%s/api/tokens/%s" % (self.s.url, own.json["id"]))
        self.assertEqual(self.s.delete(urlsplit(own.headers["Location"]).path, token=tok.json["token"]).status, 204)
        sess = self.s.post("/api/session", {"username": name, "password": "loc-password"}, token=None)
        self.assertEqual(sess.status, 201, sess)
        self.assertEqual(sess.headers["Location"], self.s.url + "/api/session")
        # other answers carry none
        self.assertNotIn("Location", self.s.get("/api/jobs/" + job.json["id"]).headers)
        # a request in absolute form names the authority to use, over its Host (RFC 9112 3.2.2)
        body = b'{"title": "absolute", "task": "t"}'
        for target, base in ((b"http://sked.example:8080/api/jobs", "http://sked.example:8080"),
                             (b"HTTPS://[::1]:9/api/jobs?dry_run=false", "https://[::1]:9"),
                             (b"http://user@evil/api/jobs", self.s.url)):  # not a plain authority
            got = self.s.raw(b"POST " + target + b" HTTP/1.1\r\nHost: other.example\r\n"
                             b"Authorization: Bearer " + skedtest.TOKEN.encode() +
                             b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body).decode()
            head, _, doc = got.partition("\r\n\r\n")
            self.assertTrue(head.startswith("HTTP/1.1 201 "), got)
            made = json.loads(doc)
            self.assertIn("\r\nLocation: %s/api/jobs/%s\r\n" % (base, made["id"]), head + "\r\n")
            self.assertEqual(made["links"]["self"], "%s/api/jobs/%s" % (base, made["id"]))

    def test_a_dry_run_checks_a_write_and_makes_none(self):
        """?dry_run=true on a job's creation or edit answers 200 with the job as it would be,
        or the refusal the write would get, and writes nothing (no job, no audit entry, no new
        version); another parameter on those writes is refused."""
        jobs = self.s.get("/api/jobs").json["hits"]["total"]
        audited = self.s.get("/api/audit").json["hits"]["total"]
        made = self.s.post("/api/jobs?dry_run=true", {"title": "dry", "task": "t", "args": {"n": 2},
                                                      "schedule": {"type": "interval", "hours": 1}})
        self.assertEqual(made.status, 200, made)
        self.assertNotIn("Location", made.headers)
        self.assertNotIn("ETag", made.headers)
        self.assertEqual((made.json["title"], made.json["args"]["n"]), ("dry", 2))
        self.assertIsNotNone(made.json["next_run"])
        self.assertEqual(self.s.get("/api/jobs/" + made.json["id"]).status, 404)
        self.assertError(self.s.post("/api/jobs?dry_run=1", {"title": "dry", "task": "t",
                                                             "max_retries": 1000}),
                         400, "max_retries", "must be a whole number from 0 to 100")
        self.assertError(self.s.post("/api/jobs?dry_run=true", {"title": "dry", "task": "nope"}),
                         400, "task", "unknown job type")
        job = self.job()
        url = "/api/jobs/" + job["id"]
        before = self.s.get(url)
        for method in ("PATCH", "PUT"):
            r = self.s.request(method, url + "?dry_run=TRUE", {"title": "renamed", "task": "t"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["title"], "renamed")
            self.assertNotIn("ETag", r.headers)
        self.assertError(self.s.request("PATCH", url + "?dry_run=true", {"max_retries": -1}), 400,
                         "max_retries")
        self.assertError(self.s.request("PATCH", url + "?dry_run=true",
                                        {"on_success": [job["id"]]}), 400, "on_success",
                         "a job cannot start itself")
        after = self.s.get(url)
        self.assertEqual((after.json["title"], after.headers["ETag"]),
                         (job["title"], before.headers["ETag"]))
        self.assertEqual(self.s.get("/api/jobs").json["hits"]["total"], jobs + 1)
        self.assertEqual(self.s.get("/api/audit").json["hits"]["total"], audited + 1)  # job.created
        self.assertError(self.s.request("PATCH", url + "?dry_run=maybe", {"title": "x"}), 400,
                         "dry_run", "must be true or false")
        self.assertError(self.s.request("PATCH", url + "?dryrun=true", {"title": "x"}), 400,
                         "dryrun", "unknown parameter (dry_run)")
        self.assertError(self.s.post("/api/jobs?dry=1", {"title": "x", "task": "t"}), 400, "dry")
        self.assertEqual(self.s.get(url).json["title"], job["title"])
        # false writes
        r = self.s.request("PATCH", url + "?dry_run=false", {"title": "renamed"})
        self.assertEqual((r.status, self.s.get(url).json["title"]), (200, "renamed"))

    def test_create_returns_what_was_given(self):
        j = self.full_job()
        self.assertTrue(uuid.UUID(j["id"]))
        self.assertEqual((j["title"], j["description"], j["active"], j["task"], j["default_queue"]),
                         ("original", "about it", False, "t", "low"))
        self.assertEqual(self.saved_args(j), {"n": 5})
        self.assertEqual(j["custom_args"], {"c": 1})
        self.assertEqual(j["timeout"], "10m")
        self.assertEqual(j["notification_emails"], ["ops@example.com"])
        self.assertEqual(j["notification_statuses"], ["FAILED"])
        self.assertEqual(self.s.get("/api/jobs/" + j["id"]).json["title"], "original")
        # defaults when omitted: the task's queue, active, no timeout
        d = self.job(task="lowq")
        self.assertEqual((d["default_queue"], d["active"], d["timeout"], d["custom_args"]),
                         ("low", True, None, None))
        self.assertEqual((d["notification_emails"], d["notification_statuses"]), ([], []))

    def test_patch_updates_partially(self):
        j = self.full_job()
        url = "/api/jobs/" + j["id"]
        r = self.s.patch(url, {"title": "patched"})
        self.assertEqual(r.status, 200, r)
        p = r.json
        self.assertEqual(p["title"], "patched")
        for k in ("description", "active", "default_queue", "custom_args", "timeout",
                  "notification_emails", "notification_statuses", "schedule"):
            self.assertEqual(p[k], j[k], k)
        self.assertEqual(self.saved_args(p), {"n": 5})

        p = self.s.patch(url, {"args": {"n": 6}}).json
        self.assertEqual(self.saved_args(p), {"n": 6})
        self.assertEqual(p["custom_args"], {"c": 1})  # kept unless given

        p = self.s.patch(url, {"custom_args": '{"c": 2}'}).json
        self.assertEqual(p["custom_args"], {"c": 2})
        self.assertEqual(self.saved_args(p), {"n": 6})

        p = self.s.patch(url, {"custom_args": None}).json
        self.assertIsNone(p["custom_args"])
        self.assertEqual(self.saved_args(p), {"n": 6})
        self.assertEqual(self.s.get(url).json["custom_args"], None)  # and it is stored

        p = self.s.patch(url, {"active": True, "timeout": None}).json
        self.assertEqual((p["active"], p["timeout"], p["title"]), (True, None, "patched"))

        self.assertError(self.s.patch(url, {"task": "lowq"}), 400, "task")
        self.assertError(self.s.patch(url, {"colour": 1}), 400, "colour")
        self.assertError(self.s.patch(url, {"title": None}), 400, "title")
        self.assertEqual(self.s.get(url).json["title"], "patched")  # failed writes change nothing

    def test_put_replaces(self):
        j = self.full_job()
        url = "/api/jobs/" + j["id"]
        r = self.s.put(url, {"title": "replaced", "task": "t"})
        self.assertEqual(r.status, 200, r)
        p = r.json
        self.assertEqual((p["title"], p["description"], p["active"], p["default_queue"]),
                         ("replaced", None, True, "default"))
        self.assertIsNone(p["custom_args"])
        self.assertEqual(self.saved_args(p), {})
        self.assertEqual((p["timeout"], p["schedule"]), (None, None))
        self.assertEqual((p["notification_emails"], p["notification_statuses"]), ([], []))
        self.assertEqual(self.s.get(url).json["custom_args"], None)
        # a run now resolves arguments again instead of using the cleared custom args
        run = self.s.wait_run(self.s.run_job(j["id"]))
        self.assertEqual(run["args"], {"since": None, "n": 1, "exit": 0})
        self.assertEqual(run["queue"], "default")

        self.assertError(self.s.put(url, {"task": "t"}), 400, "title", "required")
        self.assertError(self.s.put(url, {"title": "x", "task": "lowq"}), 400, "task")
        # what GET returns can be PUT back as it is
        cur = self.s.get(url).json
        r = self.s.put(url, cur)
        self.assertEqual(r.status, 200, r)
        for k in ("title", "description", "active", "default_queue", "custom_args", "timeout"):
            self.assertEqual(r.json[k], cur[k], k)

    def test_a_run_takes_its_job_as_it_is_now(self):
        """The store keeps the jobs it read between requests: a run must still get its job's
        arguments and queue as they are, after an edit through the API, after a delete and
        after a change written by another connection."""
        job = self.s.create_job("t", args={"n": 1})
        job_url = "/api/jobs/" + job["id"]
        self.assertEqual(self.s.wait_run(self.s.run_job(job["id"]))["args"]["n"], 1)
        self.assertEqual(self.s.patch(job_url, {"args": {"n": 2}, "default_queue": "low"}).status, 200)
        run = self.s.wait_run(self.s.run_job(job["id"]))
        self.assertEqual((run["args"]["n"], run["queue"]), (2, "low"))
        db = sqlite3.connect(self.s.db, timeout=10)
        db.execute("UPDATE job SET run_args = '{\"n\": 3}', default_queue = 'default' WHERE id = ?",
                   (job["id"],))
        db.commit()
        db.close()
        run = self.s.wait_run(self.s.run_job(job["id"]))
        self.assertEqual((run["args"]["n"], run["queue"]), (3, "default"))
        self.assertEqual(self.s.get(job_url).json["run_args"]["n"], 3)
        self.assertEqual(self.s.delete(job_url).status, 204)
        r = self.s.post(job_url + "/runs", {})
        self.assertEqual(r.status, 404, r)


class ClaimedRuns(unittest.TestCase):
    def test_a_queued_run_claimed_after_its_job_is_renamed_carries_the_new_title(self):
        """A claim takes the job's title from the store's cache of jobs: the status events of
        a run that waited in its queue must carry the title the job has when it starts."""
        with Sked(tasks={"gated.json": GATED}, args=FAST + ["--queues", "default=1"]) as s:
            job = s.create_job("gated", title="before")
            blocker = s.run_job(job["id"])
            s.wait_run(blocker, ["RUNNING"])
            waiting = s.run_job(job["id"])
            self.assertEqual(waiting["status"], "QUEUED")
            self.assertEqual(s.patch("/api/jobs/" + job["id"], {"title": "after"}).status, 200)
            with skedtest.SSE(s, waiting) as sse:
                open(os.path.join(s.tasks_dir, "go"), "w").close()
                seen = []
                while not seen or seen[-1]["status"] not in ("SUCCESS", "FAILED"):
                    ev = sse.next_event()
                    self.assertIsNotNone(ev, "the stream ended before the run did")
                    if ev["event"] == "status":
                        seen.append(ev["data"]["run"])
            self.assertIn("RUNNING", [r["status"] for r in seen])
            self.assertEqual({r["job_title"] for r in seen}, {"after"})
            self.assertEqual(s.wait_run(waiting)["job_title"], "after")


class JobReads(unittest.TestCase):
    """sked sends a job document again without reading the store while nothing was written
    since it was made: every change, whoever makes it, still shows in the next read."""

    def test_a_read_shows_every_change(self):
        with Sked(tasks=TASKS, args=FAST) as s:
            job = s.create_job("gated")
            url = "/api/jobs/" + job["id"]
            first, again = s.get(url), s.get(url)
            self.assertEqual((first.status, again.raw), (200, first.raw))
            self.assertNotIn("last_run", first.json)

            # a running run's duration moves with the clock: never sent from what was kept
            run = s.run_job(job["id"])
            s.wait_run(run, ["RUNNING"])
            before = s.get(url).json["last_run"]["duration"]
            time.sleep(0.2)
            self.assertGreaterEqual(s.get(url).json["last_run"]["duration"], before + 0.15)

            # the run's end is written by the worker, not by a request
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            s.wait_run(run)
            done = s.get(url)
            self.assertEqual(done.json["last_run"]["status"], "SUCCESS")
            self.assertEqual(done.json["last_runs"]["success"]["id"], run["id"])
            self.assertEqual(s.get(url).raw, done.raw)

            self.assertEqual(s.patch(url, {"title": "renamed"}).status, 200)
            self.assertEqual(s.get(url).json["title"], "renamed")

            # links follow the Host of each request
            other = s.get(url, headers={"Host": "sked.example:8443"}).json
            self.assertEqual(other["links"]["self"], "http://sked.example:8443" + url)
            self.assertNotIn("sked.example", s.get(url).json["links"]["self"])
            self.assertEqual(s.get(url, headers={"Host": "[::1]:8080"}).json["links"]["self"],
                             "http://[::1]:8080" + url)
            # a Host that is no host and port: the address sked listens on instead
            for bad in ("[::1", "x:99999", "x:0", "x:", "a]b", "[::1]x", "[]", "x:8a", ":80"):
                self.assertEqual(s.get(url, headers={"Host": bad}).json["links"]["self"],
                                 s.url + url, bad)
            # unless public_url says how sked is reached: then no request's Host changes them
            with Sked(tasks={"quick.json": sh_task("quick", "true")},
                      args=["--public-url", "https://sked.example.org/ops/"]) as pub:
                j = pub.create_job("quick")
                for headers in ({}, {"Host": "evil.example", "X-Forwarded-Proto": "http"}):
                    self.assertEqual(pub.get("/api/jobs/" + j["id"], headers=headers).json["links"]["self"],
                                     "https://sked.example.org/ops/api/jobs/" + j["id"])

            # default_args come from the job type: a reload that changes it shows at once
            t_job = s.create_job("t")
            t_url = "/api/jobs/" + t_job["id"]
            self.assertEqual(json.loads(s.get(t_url).json["default_args"])["n"], 1)
            changed = json.loads(json.dumps(T))
            changed["arguments"]["properties"]["n"]["default"] = 7
            with open(os.path.join(s.tasks_dir, "t.json"), "w") as f:
                json.dump(changed, f)
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload.done" in s.server_log(), what="the reload")
            self.assertEqual(json.loads(s.get(t_url).json["default_args"])["n"], 7)
            # and one that takes its job type away says no run would start: "null"
            os.unlink(os.path.join(s.tasks_dir, "t.json"))
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: s.server_log().count("reload.done") == 2, what="the second reload")
            self.assertEqual(s.get(t_url).json["default_args"], "null")

            r = s.delete(url)
            self.assertEqual(r.status, 204, r)
            self.assertEqual(s.get(url).status, 404)


    def test_last_runs_by_status_match_sql(self):
        """A job's document names its newest run of each status: each is read through an index
        that holds that status, and must be what SQL finds, with runs of every status, of
        another job and newer ones of other statuses around them."""
        with Sked(tasks=TASKS, args=FAST) as s:
            jobs = [s.create_job("gated")["id"] for _ in range(2)]
            db = sqlite3.connect(s.db, timeout=10)
            insert_runs(db, jobs, "gated", ["SSSFSWSXPSSQRC"[i * 3 % 14] for i in range(400)])
            names = {"Q": "queued", "R": "running", "C": "cancelling", "S": "success",
                     "F": "failed", "W": "warning", "X": "cancelled", "P": "partial_success"}
            for job in jobs:
                want = {names[c]: i for c, i in db.execute(
                    "SELECT status, id FROM run WHERE job_id = ? AND rid IN (SELECT max(rid) "
                    "FROM run WHERE job_id = ? GROUP BY status)", (job, job))}
                self.assertEqual(len(want), 8)
                got = s.get("/api/jobs/" + job).json["last_runs"]
                self.assertEqual({k: v["id"] for k, v in got.items()}, want)
            db.close()


class StatusFilters(unittest.TestCase):
    """A status filter is counted and paged through indexes (the runs that ended without
    success, the moving ones; SUCCESS as all runs less the others): every filter must give
    the runs, and the total, that a plain SQL query over the store gives."""

    CODES = {"QUEUED": "Q", "RUNNING": "R", "SUCCESS": "S", "FAILED": "F", "WARNING": "W",
             "CANCELLING": "C", "CANCELLED": "X", "PARTIAL_SUCCESS": "P"}

    def test_every_filter_matches_sql(self):
        with Sked(tasks=TASKS, args=FAST) as s:
            jobs = [s.create_job("t")["id"] for _ in range(2)]
            db = sqlite3.connect(s.db, timeout=10)
            insert_runs(db, jobs, "t", ["QRSSSSFWCXPSFS"[i % 14] for i in range(240)])
            filters = [["SUCCESS"], ["FAILED"], ["CANCELLED"], ["PARTIAL_SUCCESS"], ["WARNING"],
                       ["QUEUED"], ["RUNNING", "CANCELLING"], ["QUEUED", "RUNNING", "CANCELLING"],
                       ["FAILED", "CANCELLED"], ["SUCCESS", "FAILED"], ["SUCCESS", "QUEUED"],
                       ["FAILED", "QUEUED"], list(self.CODES)]
            for names in filters:
                codes = [self.CODES[n] for n in names]
                marks = ",".join("?" * len(codes))
                for job in jobs + [None]:
                    where = "status IN (%s)" % marks + (" AND job_id = ?" if job else "")
                    want = [r[0] for r in db.execute(
                        "SELECT id FROM run WHERE %s ORDER BY rid DESC" % where,
                        codes + ([job] if job else []))]
                    path = ("/api/jobs/%s/runs" % job if job else "/api/runs") + \
                        "?size=1000&status=" + ",".join(names)
                    got = s.get(path).json["hits"]
                    self.assertEqual(got["total"], len(want), path)
                    self.assertEqual([r["id"] for r in got["hits"]], want, path)
                    first = s.get(path.replace("size=1000", "size=5")).json["hits"]["hits"]
                    self.assertEqual([r["id"] for r in first], want[:5], path)
                    third = s.get(path.replace("size=1000", "size=5&page=3")).json["hits"]["hits"]
                    self.assertEqual([r["id"] for r in third], want[10:15], path)
            db.close()


    def test_a_search_with_many_matches_pages_like_sql(self):
        """Past a thousand matches a search's page is read in order, stopping once full, from
        the runs that match by title and those that match by id: every page, order, filter and
        keyset page must still be what SQL finds."""
        with Sked(tasks=TASKS, args=FAST) as s:
            jobs = [s.create_job("t")["id"] for _ in range(2)]
            db = sqlite3.connect(s.db, timeout=10)
            t = int(time.time() * 1e6)
            rows = []
            for i in range(3000):
                # ids of one start for every fifth run; "alpha" in most titles, none in some
                rid = ("abcd%04x" % i if i % 5 == 0 else "%08x" % (i * 7919)) + \
                    "-0000-4000-8000-%012x" % i
                title = None if i % 11 == 0 else ("alpha %d" % i if i % 9 else "beta %d" % i)
                rows.append((rid, jobs[i % 3 % 2], "t", "SFSSX"[i % 5], "nowhere", "{}",
                             "manual", t + i, t + i, title))
            db.executemany("INSERT INTO run (id, job_id, task, status, queue, args, trigger, "
                           "created, updated, title) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            db.commit()
            cases = [("alpha", None, None), ("alpha", jobs[0], None), ("alpha", None, "FAILED"),
                     ("ALPHA 1", jobs[1], "SUCCESS"), ("abcd", None, None),
                     ("abcd", jobs[0], "SUCCESS"), ("a", None, None), ("A", jobs[1], "SUCCESS"),
                     ("alpha", None, "SUCCESS"),
                     # every id but the "abcd" ones starts with 0: the titles' matches are
                     # fewer than a page gathers, and with the ids' more
                     ("0", None, None), ("0", jobs[0], "SUCCESS")]
            for q, job, status in cases:
                where = "(title LIKE ? OR id LIKE ?)" + (" AND job_id = ?" if job else "") + \
                        (" AND status = ?" if status else "")
                args = ["%" + q + "%", q.lower() + "%"] + ([job] if job else []) + \
                       ([self.CODES[status]] if status else [])
                want = [r[0] for r in db.execute(
                    "SELECT id FROM run WHERE %s ORDER BY rid DESC" % where, args)]
                self.assertGreater(len(want), 50, q)
                base = ("/api/jobs/%s/runs" % job if job else "/api/runs") + "?q=" + quote(q) + \
                    ("&status=" + status if status else "")
                for size, page in ((25, 1), (25, 3), (7, 5)):
                    got = s.get(base + "&size=%d&page=%d" % (size, page)).json["hits"]
                    self.assertEqual(got["total"], len(want), base)
                    self.assertEqual([r["id"] for r in got["hits"]],
                                     want[(page - 1) * size:page * size], (base, size, page))
                oldest = s.get(base + "&size=10&sort_direction=asc").json["hits"]["hits"]
                self.assertEqual([r["id"] for r in oldest], list(reversed(want))[:10], base)
                # keyset: links.next three times
                seen, doc = [], s.get(base + "&size=20").json
                for _ in range(3):
                    seen += [r["id"] for r in doc["hits"]["hits"]]
                    doc = s.get(doc["links"]["next"]).json
                self.assertEqual(seen, want[:60], base)
            db.close()


class SearchOffTheLoop(unittest.TestCase):
    def answered_first(self, s, path, other):
        """path's answer, asserting that a request for other sent while it was being made was
        answered first."""
        done = []
        t = threading.Thread(target=lambda: done.append(("long", s.get(path))))
        t.start()
        time.sleep(0.1)
        done.append(("other", s.get(other)))
        t.join(120)
        self.assertEqual([d[0] for d in done], ["other", "long"], path)
        self.assertEqual(done[0][1].status, 200)
        self.assertEqual(done[1][1].status, 200, done[1][1])
        return done[1][1].json

    def test_long_reads_do_not_hold_up_other_requests(self):
        """A text search reads every titled run of a job for its count, a list since an instant
        every run; over 600,000 these take long enough that a request sent meanwhile would wait for them on
        the loop. They run on a thread of their own: the other request is answered first, and
        their answers are right."""
        with Sked(tasks=TASKS, args=FAST) as s:
            job = s.create_job("t")["id"]
            s.stop()
            db = sqlite3.connect(s.db)
            db.execute("""WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 600000)
                          INSERT INTO run (id, job_id, task, status, queue, title, created, updated)
                          SELECT printf('%08x-0000-4000-8000-%012x', x, x), ?, 't', 'S', 'default',
                                 'nightly import ' || x, x, x FROM n""", (job,))
            db.commit()
            db.close()
            s.start()
            runs, other = "/api/jobs/%s/runs" % job, "/api/jobs/" + job
            # a word in one title: its count and its page each read every titled run
            found = self.answered_first(s, runs + "?q=import%20300000&size=3", other)
            self.assertEqual(found["hits"]["total"], 1)
            self.assertEqual([h["title"] for h in found["hits"]["hits"]], ["nightly import 300000"])
            # a word in every title: counted as read, and its page read in order
            every = s.get(runs + "?q=nightly&size=3&page=2").json
            self.assertEqual(every["hits"]["total"], 600000)
            self.assertEqual([h["title"] for h in every["hits"]["hits"]],
                             ["nightly import 599997", "nightly import 599996", "nightly import 599995"])
            # a client that leaves while its search runs: the server goes on (and, under the
            # sanitizers, frees what the search found)
            gone = socket.create_connection(("127.0.0.1", s.port))
            gone.sendall(("GET /api/jobs/%s/runs?q=import HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer %s\r\n\r\n" % (job, TOKEN)).encode())
            time.sleep(0.1)
            gone.close()
            again = s.get(runs + "?q=import%20599999").json
            self.assertEqual(again["hits"]["total"], 1)
            since = self.answered_first(s, runs + "?since=1970-01-01T00:00:00Z", other)
            self.assertEqual(since["hits"]["total"], 600000)
            # two long reads at once: a scrape sent while a search runs is answered first
            self.answered_first(s, runs + "?q=import%20300001&size=3", "/metrics")
            # a scrape (every job's families, with the queues' depths) is read on those
            # threads: with both busy with searches, /metrics waits for one of them and leaves
            # with its answer (on the loop it would leave at once, 150 ms before); the queues'
            # depths alone (a backlog of 200,000 takes 20-30 ms to count) have a thread of their
            # own, and /api/queues leaves before both searches
            for path in ("/metrics", "/api/queues"):
                got = {}
                searches = [threading.Thread(target=lambda k=k: got.update({k: (
                    s.get(runs + "?q=import%%20%d&size=3" % (300001 + k)).status,
                    time.monotonic())})) for k in range(2)]
                for t in searches:
                    t.start()
                time.sleep(0.1)
                got[path] = (s.get(path).status, time.monotonic())
                for t in searches:
                    t.join(120)
                self.assertEqual([got[k][0] for k in (0, 1, path)], [200, 200, 200])
                if path == "/metrics":
                    self.assertGreater(got[path][1], min(got[0][1], got[1][1]) - 0.05, path)
                else:
                    self.assertLess(got[path][1], min(got[0][1], got[1][1]), path)
            self.assertIn('sked_queue_depth{queue="default"} 0\n', s.get("/metrics").raw)


class BigDeletes(unittest.TestCase):
    def _job_with_runs(self, s, n):
        """A job with n runs (every tenth with a log line), written with SQL, and another job."""
        job, other = s.create_job("t")["id"], s.create_job("t")["id"]
        s.stop()
        db = sqlite3.connect(s.db)
        db.execute("""WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
                      INSERT INTO run (id, job_id, task, status, queue, created, updated)
                      SELECT printf('%08x-0000-4000-8000-%012x', x, x), ?, 't', 'S', 'default',
                             x, x FROM n""", (n, job))
        db.execute("INSERT INTO run_log (rid, seq, ts, level, stream, message) "
                   "SELECT rid, 1, 1, 1, 1, 'line' FROM run WHERE rid % 10 = 0")
        db.commit()
        db.close()
        s.start()
        s.wait_run(s.run_job(other))
        return job, other

    def test_a_job_of_many_runs_is_deleted_while_other_requests_are_answered(self):
        """Its runs go a batch per turn of the loop: a request sent meanwhile is answered
        before the deletion ends, which ends with the job, its runs, their logs and its count
        gone, the other job's kept, and the deletion in the audit trail."""
        with Sked(tasks=TASKS, args=FAST) as s:
            job, other = self._job_with_runs(s, 60000)
            done = []

            def delete():
                done.append(("delete", s.delete("/api/jobs/" + job)))

            t = threading.Thread(target=delete)
            t.start()
            time.sleep(0.05)
            done.append(("other", s.get("/api/jobs/%s/runs?size=1" % other)))
            t.join(120)
            self.assertEqual([d[0] for d in done], ["other", "delete"])
            self.assertEqual(done[0][1].json["hits"]["total"], 1)
            self.assertEqual(done[1][1].status, 204)
            self.assertEqual(s.get("/api/jobs/" + job).status, 404)
            self.assertEqual(s.get("/api/runs").json["hits"]["total"], 1)
            db = sqlite3.connect(s.db, timeout=10)
            self.assertEqual(db.execute("SELECT count(*) FROM run WHERE job_id = ?", (job,)).fetchone()[0], 0)
            self.assertEqual(db.execute("SELECT count(*) FROM run_log WHERE rid NOT IN "
                                        "(SELECT rid FROM run)").fetchone()[0], 0)
            self.assertEqual(db.execute("SELECT count(*) FROM run_log").fetchone()[0],
                             db.execute("SELECT count(*) FROM run_log WHERE rid IN (SELECT rid "
                                        "FROM run WHERE job_id = ?)", (other,)).fetchone()[0])
            db.close()
            entries = s.get("/api/audit?action=job.deleted").json["hits"]["hits"]
            self.assertEqual([e["job_id"] for e in entries], [job])

    def test_a_job_being_deleted_takes_no_change_run_or_second_delete(self):
        """From the moment a deletion passed its checks the job counts as gone: a PATCH
        conditional on the ETag the deletion passed, a run, a backfill and a second DELETE
        sent while its runs are deleted are 404. They were answered 200 and 201 (and the
        second DELETE 412, the PATCH having changed the job), and then deleted with it."""
        with Sked(tasks=TASKS, args=FAST) as s:
            job, _ = self._job_with_runs(s, 60000)
            etag = s.request("GET", "/api/jobs/" + job).headers["ETag"]
            done = {}

            def delete():
                done["delete"] = s.request("DELETE", "/api/jobs/" + job, headers={"If-Match": etag})

            t = threading.Thread(target=delete)
            t.start()
            time.sleep(0.05)
            during = {
                "patch": s.request("PATCH", "/api/jobs/" + job, {"description": "edited"},
                                   headers={"If-Match": etag}),
                "run": s.request("POST", "/api/jobs/%s/runs" % job, {}),
                "backfill": s.request("POST", "/api/jobs/%s/actions/backfill" % job,
                                      {"from": "2021-01-01T00:00:00Z", "to": "2021-01-01T00:05:00Z",
                                       "step": "1m"}),
                "delete again": s.request("DELETE", "/api/jobs/" + job, headers={"If-Match": etag}),
            }
            t.join(120)
            self.assertEqual(done["delete"].status, 204, done["delete"])
            for what, r in during.items():
                self.assertEqual(r.status, 404, (what, r))
                self.assertIn("it is being deleted", r.json["message"], (what, r))
            actions = [e["action"] for e in s.get("/api/audit?job_id=" + job).json["hits"]["hits"]]
            self.assertNotIn("job.updated", actions)
            self.assertNotIn("run.started", actions)

    def test_a_deletion_goes_on_when_its_client_leaves(self):
        with Sked(tasks=TASKS, args=FAST) as s:
            job, _ = self._job_with_runs(s, 60000)
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(("DELETE /api/jobs/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                          % (job, TOKEN)).encode())
            time.sleep(0.05)
            sock.close()
            # gone from its start (404), and done when the trail says so
            entries = wait_for(lambda: s.get("/api/audit?action=job.deleted").json["hits"]["hits"],
                               timeout=60, what="the deletion to end")
            self.assertEqual(s.get("/api/jobs/" + job).json["message"],
                             "Job with ID %s does not exist." % job)
            self.assertEqual([(e["job_id"], e["address"]) for e in entries], [(job, "127.0.0.1")])

    def test_a_stop_during_a_deletion_leaves_the_rest_for_another(self):
        """sked stopped while it deletes a job of many runs ends cleanly (no leak under the
        sanitizers); the job is still there with the runs not yet deleted, and a second
        deletion finishes it."""
        with Sked(tasks=TASKS, args=FAST) as s:
            job, _ = self._job_with_runs(s, 150000)
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(("DELETE /api/jobs/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                          % (job, TOKEN)).encode())
            count = "/api/runs?job_id=%s&size=1" % job  # the job itself is 404 while deleted
            wait_for(lambda: s.get(count).json["hits"]["total"] < 150000, timeout=30,
                     what="the deletion to begin")
            self.assertEqual(s.stop(), 0)
            sock.close()
            s.start()
            left = s.get(count).json["hits"]["total"]
            self.assertTrue(0 < left < 150000, left)
            self.assertEqual(s.delete("/api/jobs/" + job).status, 204)
            self.assertEqual(s.get("/api/jobs/" + job).status, 404)


class Deletes(ApiCase):
    def test_run_delete_only_when_finished(self):
        job = self.job(task="gated")
        running = self.s.run_job(job["id"])
        self.s.wait_run(running, ["RUNNING"])
        url = "/api/jobs/%s/runs/%s" % (job["id"], running["id"])
        self.assertError(self.s.delete(url), 409, fragment="RUNNING")
        self.assertEqual(self.s.get(url).status, 200)
        self.s.stop_run(running)
        self.assertEqual(self.s.wait_run(running)["status"], "CANCELLED")
        r = self.s.delete(url)
        self.assertEqual((r.status, r.raw), (204, ""))
        self.assertError(self.s.get(url), 404)
        self.assertError(self.s.delete(url), 404)
        self.assertError(self.s.get(url + "/logs"), 404)
        self.assertEqual(self.s.get("/api/logs/jobs?q=" + running["id"]).json["hits"]["total"], 0)

    def test_queued_run_cannot_be_deleted(self):
        with Sked(tasks=TASKS, args=FAST + ["--queues", "default=1,low=1"]) as s:
            blocker = s.run_job(s.create_job("gated")["id"])
            s.wait_run(blocker, ["RUNNING"])
            job = s.create_job("t")
            queued = s.run_job(job["id"])
            url = "/api/jobs/%s/runs/%s" % (job["id"], queued["id"])
            r = s.delete(url)
            self.assertEqual(r.status, 409, r)
            self.assertIn("QUEUED", r.json["message"])
            open(os.path.join(s.tasks_dir, "go"), "w").close()
            self.assertEqual(s.wait_run(queued)["status"], "SUCCESS")
            self.assertEqual(s.delete(url).status, 204)

    def test_deleting_a_job_deletes_its_runs_and_logs(self):
        job = self.job(task="gated")
        keep = self.job()
        kept_run = self.s.wait_run(self.s.run_job(keep["id"]))
        open(os.path.join(self.s.tasks_dir, "go"), "w").close()
        try:
            finished = self.s.wait_run(self.s.run_job(job["id"]))
        finally:
            os.unlink(os.path.join(self.s.tasks_dir, "go"))
        self.assertEqual(finished["status"], "SUCCESS")
        self.assertTrue(self.s.logs(finished))
        running = self.s.run_job(job["id"])
        self.s.wait_run(running, ["RUNNING"])
        needle = "SKED_RUN_ID=" + running["id"]
        wait_for(lambda: len(pids_with_env(needle)) >= 2, what="the running task")

        r = self.s.delete("/api/jobs/" + job["id"])
        self.assertEqual((r.status, r.raw), (204, ""))
        self.assertError(self.s.get("/api/jobs/" + job["id"]), 404)
        self.assertEqual(self.s.get("/api/runs?job_id=" + job["id"]).json["hits"]["total"], 0)
        for run in (finished, running):
            self.assertError(self.s.get("/api/jobs/%s/runs/%s" % (job["id"], run["id"])), 404)
            self.assertEqual(self.s.get("/api/logs/jobs?q=" + run["id"]).json["hits"]["total"], 0)
        # what was running is stopped, and nothing of the job comes back when it ends
        wait_for(lambda: not pids_with_env(needle), timeout=10, what="the task to be stopped")
        time.sleep(0.3)
        self.assertEqual(self.s.get("/api/runs?job_id=" + job["id"]).json["hits"]["total"], 0)
        self.assertError(self.s.delete("/api/jobs/" + job["id"]), 404)
        # the running run was let go once, and said so once
        self.assertEqual(self.s.server_log().count("event=run.detached run=%s " % running["id"]), 1)
        # other jobs keep theirs
        self.assertEqual(self.s.get("/api/jobs/%s/runs/%s" % (keep["id"], kept_run["id"])).status, 200)
        self.assertEqual(self.s.wait_run(self.s.run_job(keep["id"]))["status"], "SUCCESS")


class Lists(ApiCase):
    def test_envelope_and_pagination(self):
        tag = uuid.uuid4().hex[:10]
        for i in range(1, 7):
            self.job(title="list-%s-%d" % (tag, i), description="described %s" % i,
                     active=i != 6)
        r = self.s.get("/api/jobs?q=%s&size=2" % tag)
        self.assertEqual(r.status, 200, r)
        page = r.json
        self.assertEqual(page["hits"]["total"], 6)
        self.assertEqual([j["title"] for j in page["hits"]["hits"]],
                         ["list-%s-1" % tag, "list-%s-2" % tag])
        self.assertNotIn("prev", page["links"])
        q = parse_qs(urlsplit(page["links"]["self"]).query)
        self.assertEqual((q["q"], q["page"], q["size"]), ([tag], ["1"], ["2"]))
        self.assertTrue(page["links"]["self"].startswith("http://"))
        seen = []
        pages = 0
        while True:
            pages += 1
            seen += [j["title"] for j in page["hits"]["hits"]]
            if "next" not in page["links"]:
                break
            u = urlsplit(page["links"]["next"])
            page = self.s.get(u.path + "?" + u.query).json
            self.assertIn("prev", page["links"])
            self.assertEqual(parse_qs(urlsplit(page["links"]["prev"]).query)["page"], [str(pages)])
        self.assertEqual(pages, 3)
        self.assertEqual(seen, ["list-%s-%d" % (tag, i) for i in range(1, 7)])
        # past the end: empty, with a way back to the last page that has items
        past = self.s.get("/api/jobs?q=%s&size=2&page=9" % tag).json
        self.assertEqual((past["hits"]["hits"], past["hits"]["total"]), ([], 6))
        self.assertEqual(parse_qs(urlsplit(past["links"]["prev"]).query)["page"], ["3"])
        self.assertNotIn("next", past["links"])
        self.assertEqual(parse_qs(urlsplit(self.s.get("/api/jobs?q=%s&size=2&page=4" % tag)
                                           .json["links"]["prev"]).query)["page"], ["3"])
        none = self.s.get("/api/jobs?q=nothing-%s&page=5" % tag).json
        self.assertEqual(parse_qs(urlsplit(none["links"]["prev"]).query)["page"], ["1"])

        desc = self.s.get("/api/jobs?q=%s&sort=title&sort_direction=desc" % tag).json
        self.assertEqual(desc["hits"]["hits"][0]["title"], "list-%s-6" % tag)
        self.assertEqual(self.s.get("/api/jobs?q=%s&active=false" % tag).json["hits"]["total"], 1)
        self.assertEqual(self.s.get("/api/jobs?q=%s&active=true" % tag).json["hits"]["total"], 5)
        # q searches descriptions too, and its wildcards are literal
        self.job(title="other", description="mentions %s here" % tag.upper())
        self.assertEqual(self.s.get("/api/jobs?q=%s" % tag).json["hits"]["total"], 7)
        self.assertEqual(self.s.get("/api/jobs?q=%s" % quote("%" + tag[:3] + "_")).json["hits"]["total"], 0)
        self.assertEqual(self.s.get("/api/jobs?task=lowq&q=%s" % tag).json["hits"]["total"], 0)

    def test_runs_lists_and_filters(self):
        a = self.job()
        b = self.job()
        a_runs = [self.s.wait_run(self.s.run_job(a["id"])) for _ in range(3)]
        b_failed = self.s.wait_run(self.s.run_job(b["id"], args={"exit": 2}))
        self.assertEqual(b_failed["status"], "FAILED")
        self.assertEqual({r["status"] for r in a_runs}, {"SUCCESS"})

        page = self.s.get("/api/jobs/%s/runs" % a["id"]).json
        self.assertEqual(page["hits"]["total"], 3)
        self.assertEqual([r["id"] for r in page["hits"]["hits"]], [r["id"] for r in reversed(a_runs)])
        asc = self.s.get("/api/jobs/%s/runs?sort_direction=asc&size=2" % a["id"]).json
        self.assertEqual([r["id"] for r in asc["hits"]["hits"]], [r["id"] for r in a_runs[:2]])
        self.assertIn("next", asc["links"])

        def total(path):
            r = self.s.get(path)
            self.assertEqual(r.status, 200, r)
            return r.json["hits"]["total"]

        self.assertEqual(total("/api/jobs/%s/runs?status=FAILED" % b["id"]), 1)
        self.assertEqual(total("/api/jobs/%s/runs?status=SUCCESS" % b["id"]), 0)
        self.assertEqual(total("/api/jobs/%s/runs?status=SUCCESS,FAILED" % a["id"]), 3)
        # across jobs
        self.assertEqual(total("/api/runs?job_id=" + a["id"]), 3)
        self.assertEqual(total("/api/runs?job_id=%s&status=FAILED" % a["id"]), 0)
        failed = self.s.get("/api/runs?status=FAILED&size=1000").json["hits"]["hits"]
        self.assertIn(b_failed["id"], [r["id"] for r in failed])
        self.assertTrue(all(r["status"] == "FAILED" for r in failed))
        everything = self.s.get("/api/runs?size=1000").json
        ids = {r["id"] for r in everything["hits"]["hits"]}
        self.assertTrue({r["id"] for r in a_runs + [b_failed]} <= ids)
        since = quote(a_runs[1]["created"])
        self.assertEqual(total("/api/runs?job_id=%s&since=%s" % (a["id"], since)), 2)
        self.assertEqual(total("/api/runs?since=%s&job_id=%s" % (since, b["id"])), 1)

    def test_text_search_of_runs(self):
        """q finds runs by the start of their id (any case) or a part of their title, alone
        or with the other filters and pages, for a job's runs and across jobs."""
        a, b = self.job(), self.job()
        tag = uuid.uuid4().hex[:10]
        titled = [self.s.wait_run(self.s.run_job(a["id"], title="nightly %s 100%% #%d" % (tag, i)))
                  for i in range(3)]
        plain = self.s.wait_run(self.s.run_job(a["id"]))
        failed = self.s.wait_run(self.s.run_job(b["id"], title="weekly %s" % tag, args={"exit": 2}))

        def ids(path):
            r = self.s.get(path)
            self.assertEqual(r.status, 200, r)
            hits = [h["id"] for h in r.json["hits"]["hits"]]
            self.assertEqual(r.json["hits"]["total"], len(hits))
            return hits

        runs = "/api/jobs/%s/runs?q=" % a["id"]
        self.assertEqual(ids(runs + tag), [r["id"] for r in reversed(titled)])
        self.assertEqual(ids(runs + quote("%s 100%% #1" % tag)), [titled[1]["id"]])
        self.assertEqual(ids(runs + "NIGHTLY%20" + tag.upper()), [r["id"] for r in reversed(titled)])
        self.assertEqual(ids(runs + quote("100_")), [])  # % and _ are plain characters
        for prefix in (plain["id"][:13], plain["id"][:13].upper(), plain["id"]):
            self.assertEqual(ids(runs + prefix), [plain["id"]])
        self.assertEqual(ids(runs + plain["id"][9:13]), [])  # ids match by their start
        self.assertEqual(ids("/api/jobs/%s/runs?q=%s" % (b["id"], plain["id"][:13])), [])
        # with a status filter, pages and across jobs
        self.assertEqual(ids("/api/runs?q=%s" % tag), [failed["id"]] + [r["id"] for r in reversed(titled)])
        self.assertEqual(ids("/api/runs?status=FAILED&q=%s" % tag), [failed["id"]])
        self.assertEqual(ids("/api/runs?q=%s" % failed["id"][:13]), [failed["id"]])
        # letters beyond ASCII match in any case too, in titles of runs and of jobs
        zurich = self.s.wait_run(self.s.run_job(a["id"], title="Zürcher Nacht %s ĘTAP Σ" % tag))
        for q in ("ZÜRCHER", "zürcher nacht", "ętap", "σ"):
            self.assertEqual(ids(runs + quote(q)), [zurich["id"]], q)
        named = self.job(title="Ελληνικά και Кириллица %s" % tag, description="Łódź")
        for q in ("ΕΛΛΗΝΙΚΆ", "кириллица", "ŁÓDŹ"):
            found = self.s.get("/api/jobs?q=" + quote(q)).json["hits"]["hits"]
            self.assertEqual([j["id"] for j in found], [named["id"]], q)
        first = self.s.get(runs + tag + "&size=2").json
        self.assertEqual(first["hits"]["total"], 4)
        rest = self.s.get(first["links"]["next"]).json
        self.assertEqual([h["id"] for h in first["hits"]["hits"] + rest["hits"]["hits"]],
                         [zurich["id"]] + [r["id"] for r in reversed(titled)])

    def test_text_search_of_every_script(self):
        """Letters match in any case beyond Latin, Greek and Cyrillic too (Unicode's simple case
        folding): Armenian and Georgian run titles, fullwidth and Deseret (four bytes) in
        jobs, and a letter that folds to one of another length (K, KELVIN SIGN)."""
        a = self.job()
        tag = uuid.uuid4().hex[:10]
        armenian = self.s.wait_run(self.s.run_job(a["id"], title="Հաշվետվություն %s" % tag))
        georgian = self.s.wait_run(self.s.run_job(a["id"], title="ᲗᲑᲘᲚᲘᲡᲘ ღამის %s" % tag))
        kelvin = self.s.wait_run(self.s.run_job(a["id"], title="300 \u212a %s" % tag))
        runs = "/api/jobs/%s/runs?q=" % a["id"]

        def ids(q):
            r = self.s.get(runs + quote(q))
            self.assertEqual(r.status, 200, r)
            return [h["id"] for h in r.json["hits"]["hits"]]

        for q, run in (("ՀԱՇՎԵՏՎՈՒԹՅՈՒՆ", armenian), ("հաշվետվություն %s" % tag, armenian),
                       ("თბილისი", georgian), ("ᲦᲐᲛᲘᲡ", georgian), ("\u212a", kelvin),
                       ("300 \u212a", kelvin)):
            self.assertEqual(ids(q), [run["id"]], q)
        self.assertEqual(ids("ΩՀ"), [])
        # a search of ASCII alone compares the titles as they are (docs/api.md): "k" is not K
        self.assertEqual(ids("300 K"), [])
        named = self.job(title="Արխիվ %s" % tag, description="ＢＡＣＫＵＰ 𐐔𐐯𐑅𐐨𐑉𐐯𐐻")
        for q in ("ԱՐԽԻՎ %s" % tag, "ｂａｃｋｕｐ", "𐐼𐐯𐑅𐐨𐑉𐐯𐐻"):
            found = self.s.get("/api/jobs?q=" + quote(q)).json["hits"]["hits"]
            self.assertEqual([j["id"] for j in found], [named["id"]], q)

    def test_a_run_is_the_same_document_everywhere(self):
        """Runs are written as text for reads, lists and a job's last runs, and built as
        objects for SSE events: every one must be the same document."""
        job = self.job()
        failed = self.s.wait_run(self.s.run_job(job["id"], title="t\u00e9st \"q\" \\ \u00a0\u2060x", args={"exit": 3}))
        read = self.s.get("/api/jobs/%s/runs/%s" % (job["id"], failed["id"])).json
        listed = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
        across = self.s.get("/api/runs?job_id=" + job["id"]).json["hits"]["hits"][0]
        j = self.s.get("/api/jobs/" + job["id"]).json
        self.assertEqual(read["title"], "t\u00e9st \"q\" \\ \u00a0\u2060x")
        self.assertEqual(read["job_title"], job["title"])
        self.assertEqual(read["status"], "FAILED")
        self.assertIsInstance(read["duration"], float)
        for other in (listed, across, j["last_run"], j["last_runs"]["failed"], failed):
            self.assertEqual(other, read)
        self.assertEqual(list(read), list(j["last_run"]), "the same keys in the same order")
        # bytes that are not UTF-8, written behind sked's back, are repaired in every answer
        db = sqlite3.connect(self.s.db, timeout=10)
        db.execute("UPDATE run SET title = CAST(X'61FF62' AS TEXT) WHERE id = ?", (failed["id"],))
        db.commit()
        db.close()
        read = self.s.get("/api/jobs/%s/runs/%s" % (job["id"], failed["id"])).json
        self.assertEqual(read["title"], "a\ufffdb")
        self.assertEqual(self.s.get("/api/jobs/" + job["id"]).json["last_run"], read)
        with skedtest.SSE(self.s, failed) as sse:  # the status event, built as an object
            ev = sse.next_event()
        self.assertEqual((ev["event"], ev["data"]["run"]), ("status", read))
        # job_title is the job's title now, and a new run has it from the start
        self.assertEqual(self.s.patch("/api/jobs/" + job["id"], {"title": "renamed"}).status, 200)
        self.assertEqual(self.s.get("/api/jobs/%s/runs/%s" % (job["id"], failed["id"])).json["job_title"], "renamed")
        self.assertEqual(self.s.run_job(job["id"])["job_title"], "renamed")
        audit = self.s.get("/api/audit?action=run.started&job_id=" + job["id"]).json["hits"]["hits"]
        self.assertEqual({e["job_title"] for e in audit}, {"renamed"})

    def test_runs_keyset_pages_and_counts(self):
        a = self.job()
        other = self.job()
        runs = [self.s.wait_run(self.s.run_job(a["id"])) for _ in range(5)]
        other_run = self.s.wait_run(self.s.run_job(other["id"]))
        newest_first = [r["id"] for r in reversed(runs)]

        def walk(path):
            """Follows links.next from path: the ids seen, page by page."""
            pages = []
            while path:
                r = self.s.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["hits"]["total"], 5)
                pages.append([x["id"] for x in r.json["hits"]["hits"]])
                nxt = r.json["links"].get("next")
                if nxt:
                    self.assertEqual(parse_qs(urlsplit(nxt).query)["after"], [pages[-1][-1]])
                path = urlsplit(nxt).path + "?" + urlsplit(nxt).query if nxt else None
            return pages

        base = "/api/jobs/%s/runs" % a["id"]
        # the first page by page number, then keyset pages after its last run
        first = self.s.get(base + "?size=2").json["hits"]["hits"]
        pages = walk("%s?size=2&after=%s" % (base, first[-1]["id"]))
        self.assertEqual(pages, [newest_first[2:4], newest_first[4:]])
        pages = walk("%s?size=2&sort_direction=asc&after=%s" % (base, runs[0]["id"]))
        self.assertEqual(pages, [[r["id"] for r in runs[1:3]], [r["id"] for r in runs[3:]]])
        # the run given may be in upper case; a page that ends exactly at the last run has no next
        last = self.s.get("%s?size=1&after=%s" % (base, newest_first[3].upper())).json
        self.assertEqual(([r["id"] for r in last["hits"]["hits"]], last["links"].get("next")),
                         ([newest_first[4]], None))
        end = self.s.get("%s?after=%s" % (base, newest_first[4])).json
        self.assertEqual((end["hits"]["hits"], end["hits"]["total"]), ([], 5))
        # across jobs, after any run
        across = self.s.get("/api/runs?size=1000&after=" + other_run["id"]).json["hits"]["hits"]
        self.assertEqual([r["id"] for r in across[:5]], newest_first)
        # bad cursors
        self.assertError(self.s.get(base + "?after=nope"), 400, field="after")
        self.assertError(self.s.get("%s?after=%s&page=2" % (base, runs[0]["id"])), 400, field="after")
        self.assertError(self.s.get("%s?after=%s" % (base, other_run["id"])), 400, field="after")
        self.assertError(self.s.get("/api/runs?after=" + str(uuid.uuid4())), 400, field="after")
        # the counts kept for each job follow deletions
        self.assertEqual(self.s.delete("%s/%s" % (base, runs[0]["id"])).status, 204)
        self.assertEqual(self.s.get(base).json["hits"]["total"], 4)
        everything = self.s.get("/api/runs").json["hits"]["total"]
        self.assertEqual(self.s.delete("/api/jobs/" + a["id"]).status, 204)
        self.assertEqual(self.s.get("/api/runs").json["hits"]["total"], everything - 4)


class Catalogue(ApiCase):
    def test_tasks(self):
        body = self.s.get("/api/tasks").json
        self.assertEqual(body["hits"]["total"], 3)
        tasks = {t["id"]: t for t in body["hits"]["hits"]}
        self.assertEqual(set(tasks), {"t", "lowq", "gated"})
        t = tasks["t"]
        self.assertEqual(t["arguments"], T["arguments"])
        self.assertEqual(t["command"][:2], ["/bin/sh", "-c"])
        self.assertEqual((t["default_queue"], t["timeout"]), (None, None))
        self.assertEqual((tasks["lowq"]["default_queue"], tasks["lowq"]["timeout"]), ("low", "5m"))
        self.assertTrue(t["links"]["args"].endswith("/api/tasks/t/args"))
        one = self.s.get("/api/tasks/t")
        self.assertEqual((one.status, one.json["id"], one.json["title"]), (200, "t", "t"))
        args = self.s.get("/api/tasks/t/args")
        self.assertEqual((args.status, args.json), (200, T["arguments"]))
        self.assertEqual(self.s.get("/api/tasks/gated/args").json, {})

    def test_queues(self):
        body = self.s.get("/api/queues").json
        queues = [(q["name"], q["concurrency"]) for q in body["hits"]["hits"]]
        self.assertEqual(queues, [("default", 3), ("low", 1)])
        self.assertEqual(body["hits"]["total"], 2)
        for q in body["hits"]["hits"]:
            self.assertGreaterEqual(q["busy"], 0)
            self.assertGreaterEqual(q["queued"], 0)


class Connections(ApiCase):
    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        auth = {"Authorization": "Bearer " + TOKEN}
        socks = set()
        try:
            for method, path, body, status in (
                    ("GET", "/healthz", None, 200),
                    ("POST", "/api/jobs", {"title": "kept alive", "task": "t"}, 201),
                    ("GET", "/api/jobs/" + NO_SUCH, None, 404),
                    ("POST", "/api/jobs", {"title": ""}, 400),
                    ("DELETE", "/api/tasks", None, 405),
                    ("GET", "/api/tasks", None, 200)):
                h = dict(auth)
                raw = None
                if body is not None:
                    raw = json.dumps(body).encode()
                    h["Content-Type"] = "application/json"
                conn.request(method, path, body=raw, headers=h)
                r = conn.getresponse()
                data = r.read()
                self.assertEqual(r.status, status, data)
                self.assertEqual(r.getheader("Connection"), "keep-alive")
                json.loads(data)
                socks.add(id(conn.sock))
            self.assertEqual(len(socks), 1, "the connection was not kept")
        finally:
            conn.close()

    def test_a_large_answer_to_a_client_that_reads_slowly(self):
        """An answer larger than the socket takes at once is written as the client reads: whole,
        on a connection that stays usable, while other clients are served."""
        tag = uuid.uuid4().hex[:8]
        ids = {self.job(title="big %s %02d" % (tag, i), description=("%s " % tag) * 11000)["id"]
               for i in range(40)}  # 40 descriptions of 99,000 characters
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(20)
        sock.connect(("127.0.0.1", self.s.port))
        req = ("GET /api/jobs?size=100&q=big%%20%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
               "\r\n\r\n" % (tag, TOKEN)).encode()
        try:
            data = b""
            for round in range(2):
                sock.sendall(req)
                time.sleep(0.3)  # the server has written what the socket took, and waits
                self.assertEqual(self.s.get("/healthz").status, 200)  # others are served
                want = None
                while want is None or len(data) < want:
                    chunk = sock.recv(8192)
                    self.assertTrue(chunk, "the connection closed mid-answer")
                    data += chunk
                    head, sep, _ = data.partition(b"\r\n\r\n")
                    if sep and want is None:
                        n = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                        want = len(head) + 4 + int(n[0].split(b":")[1])
                (status, headers, body), = parse_responses(data[:want])
                data = data[want:]
                self.assertEqual((status, headers["connection"]), (200, "keep-alive"))
                self.assertGreater(len(body), 3_960_000)
                doc = json.loads(body)
                self.assertEqual({j["id"] for j in doc["hits"]["hits"]}, ids)
                self.assertTrue(all(len(j["description"]) == 99000 for j in doc["hits"]["hits"]))
            self.assertEqual(data, b"")
        finally:
            sock.close()

    def test_pipelined_requests_are_answered_in_order(self):
        auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        body = json.dumps({"title": "pipelined", "task": "t"}).encode()
        # a head that ends in bare line feeds, and a body holding empty lines of its own
        blank = b'{\n\n"title": "blank lines",\r\n\r\n"task": "t"}'
        reqs = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                b"POST /api/jobs HTTP/1.1\r\nHost: x\r\n" + auth +
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
                b"GET /healthz HTTP/1.1\nHost: x\n\n" +
                b"POST /api/jobs HTTP/1.1\r\nHost: x\r\n" + auth +
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(blank) + blank +
                b"GET /api/jobs/" + NO_SUCH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                b"GET /api/tasks/lowq HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                b"GET /api/queues HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + b"\r\n")
        responses = parse_responses(self.s.raw(reqs))
        self.assertEqual([r[0] for r in responses], [200, 201, 200, 201, 404, 200, 200])
        docs = [json.loads(r[2]) for r in responses]
        self.assertEqual(docs[0], {"status": "ok"})
        self.assertEqual(docs[1]["title"], "pipelined")
        self.assertEqual(docs[2], {"status": "ok"})
        self.assertEqual(docs[3]["title"], "blank lines")
        self.assertIn(NO_SUCH, docs[4]["message"])
        self.assertEqual(docs[5]["id"], "lowq")
        self.assertIn("hits", docs[6])
        self.assertEqual(responses[-1][1]["connection"], "close")
        # the same bytes split at awkward places give the same answers
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        try:
            for i in range(0, len(reqs), 7):
                sock.sendall(reqs[i:i + 7])
            data = skedtest.read_to_close(sock)
        finally:
            sock.close()
        self.assertEqual([r[0] for r in parse_responses(data)], [200, 201, 200, 201, 404, 200, 200])

    def test_pipelined_requests_wait_while_their_answers_are_not_read(self):
        """A client that sends requests and reads no answer does not make sked buffer answers
        without end (GET /api/openapi.json needs no token and answers 5,000 times what it
        asks): past about a megabyte of unread answers its next requests wait, and are
        answered, in order, once it reads."""
        def rss_kib():
            with open("/proc/%d/status" % self.s.proc.pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        n = 1000
        req = b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
        one = self.s.raw(req[:-2] + b"Connection: close\r\n\r\n")
        # an answer kept alive has "keep-alive" where this one has "close"
        size = len(one) + len("keep-alive") - len("close")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", self.s.port))
        try:
            before = rss_kib()
            sock.sendall(req * n)
            time.sleep(1)
            self.assertEqual(self.s.get("/healthz").status, 200)
            grown = rss_kib() - before
            # all of them answered at once would be n * size (about 200 MB)
            self.assertLess(grown * 1024, n * size // 10, (grown, size))
            got, tail = 0, b""
            while got < n * size:
                c = sock.recv(1 << 20)
                self.assertTrue(c, "the connection closed after %d of %d bytes" % (got, n * size))
                got += len(c)
                tail = (tail + c)[-size:]
            self.assertEqual(got, n * size)
            self.assertTrue(tail.startswith(b"HTTP/1.1 200 OK\r\n"), tail[:100])
        finally:
            sock.close()

    def test_a_client_that_ends_its_side_is_answered(self):
        """A client may close its side once it has sent its requests (a half-close, as socat,
        nc -N or an HTTP/1.0 script do): every request it sent is answered, in order, those
        answered off the loop too, and then the connection closes."""
        auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
        one = b"GET /api/jobs HTTP/1.0\r\n" + auth + b"\r\n"
        (status, _, body), = parse_responses(self.s.raw(one, shut_write=True))
        self.assertEqual(status, 200)
        self.assertIn("hits", json.loads(body))
        login = json.dumps({"username": "nobody", "password": "not-a-password"}).encode()
        many = (b"GET /api/queues HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(login) + login +
                b"GET /api/jobs?size=1 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n" +
                b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 8 +
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        responses = parse_responses(self.s.raw(many, shut_write=True))
        self.assertEqual([r[0] for r in responses], [200, 401, 200] + [200] * 8 + [200])
        self.assertEqual(json.loads(responses[-1][2]), {"status": "ok"})

    def test_expect_100_continue(self):
        """A client that asks to be told before it sends its body (Expect: 100-continue) is
        told; an expectation not served is 417."""
        body = json.dumps({"title": "after a 100", "task": "t"}).encode()
        head = (b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
                b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Expect: 100-continue\r\nConnection: close\r\n\r\n" % len(body))
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        try:
            sock.sendall(head)
            self.assertEqual(sock.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
            (status, _, doc), = parse_responses(skedtest.read_to_close(sock))
        finally:
            sock.close()
        self.assertEqual((status, json.loads(doc)["title"]), (201, "after a 100"))
        r = self.s.raw(b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nExpect: something\r\n"
                       b"Content-Length: 2\r\n\r\n{}")
        (status, _, doc), = parse_responses(r)
        self.assertEqual(status, 417)
        self.assertIn("100-continue", json.loads(doc)["message"])

    def test_the_statuses_of_the_http_layer(self):
        """A method the server does not serve is 501 (one a path does not take, 405); a request
        target too long is 414; OPTIONS * describes the server; an absolute target's path is
        never taken from its query."""
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        try:
            for method, path, status, says in (("BREW", "/coffee", 501, "unknown method"),
                                               ("PROPFIND", "/api/jobs", 501, "unknown method"),
                                               ("DELETE", "/api/tasks", 405, "not allowed here")):
                conn.request(method, path, headers={"Authorization": "Bearer " + TOKEN})
                r = conn.getresponse()
                doc = json.loads(r.read())
                self.assertEqual((r.status, doc["status"]), (status, status), (method, doc))
                self.assertIn(says, doc["message"])
        finally:
            conn.close()
        (status, _, doc), = parse_responses(self.s.raw(b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\n\r\n"))
        self.assertEqual((status, json.loads(doc)["message"]), (414, "request target too long"))
        (status, headers, _), = parse_responses(self.s.raw(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n"
                                                           b"Connection: close\r\n\r\n"))
        self.assertEqual((status, headers["allow"]), (204, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"))
        job = self.job()
        (status, _, doc), = parse_responses(self.s.raw(
            b"GET http://evil.example?x=/api/jobs/" + job["id"].encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\nConnection: close\r\n\r\n"))
        self.assertEqual(status, 200)  # "/": the web admin's page, not the job
        self.assertNotIn(job["id"].encode(), doc)
        self.assertIn(b"<!doctype html>", doc)
        (status, headers, _), = parse_responses(self.s.raw(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n"))
        self.assertEqual((status, headers["connection"]), (200, "close"))


class SlowAnswers(unittest.TestCase):
    """A server whose clients have a second to send a request and to read an answer."""

    def test_an_answer_that_takes_longer_than_the_timeout_still_comes(self):
        """The time a request takes to answer is not the client's: sign-ins, whose password
        checks run one at a time, answered after more than the timeout were dropped unanswered."""
        with Sked(tasks=TASKS, args=FAST + ["--http-timeout", "1s"]) as s:
            def req(i):  # each its own name: five tries of one are refused at once (429)
                body = json.dumps({"username": "nobody%d" % i, "password": "not-a-password"}).encode()
                return (b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            socks = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(15)]
            started = time.monotonic()
            for i, sock in enumerate(socks):
                sock.sendall(req(i))
            answers = [skedtest.read_to_close(sock) for sock in socks]
            took = time.monotonic() - started
            statuses = [parse_responses(a)[0][0] if a else None for a in answers]
            self.assertEqual(statuses, [401] * 15, statuses)
            self.assertGreater(took, 1, "the checks did not outlast the timeout: the test proves nothing")

    def test_a_head_whose_body_never_comes_is_408(self):
        with Sked(tasks=TASKS, args=FAST + ["--http-timeout", "1s"]) as s:
            r = s.raw(b"POST /api/schedules/preview HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      TOKEN.encode() + b"\r\nContent-Length: 50\r\n\r\n", timeout=10)
            (status, _, doc), = parse_responses(r)
            self.assertEqual((status, json.loads(doc)["message"]), (408, "request not received in time"))


class HeldPipeline(unittest.TestCase):
    def test_a_held_requests_write_is_on_disk_before_its_answer_leaves(self):
        """A write pipelined behind unread answers waits, and is then taken up as any request
        is: its answer leaves after the commit that holds it, so a crash right after the
        answer keeps it (it once ran in the flush after the commit, and waited for the next)."""
        with Sked(tasks={"t.json": sh_task("t", "true")}) as s:
            body = json.dumps({"title": "kept after a crash", "task": "t"}).encode()
            reqs = (b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 6 +
                    b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    TOKEN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(30)
            sock.connect(("127.0.0.1", s.port))
            try:
                sock.sendall(reqs)
                time.sleep(0.5)  # the POST waits behind the unread answers
                data = b""
                while b'"title":"kept after a crash"' not in data:
                    c = sock.recv(1 << 20)
                    self.assertTrue(c, "the connection closed")
                    data += c
                    data = data[-4096:]
                s.kill9()
            finally:
                sock.close()
            s.start()
            hits = s.get("/api/jobs?q=crash").json["hits"]["hits"]
            self.assertEqual([j["title"] for j in hits], ["kept after a crash"])


class Leaks(unittest.TestCase):
    def test_job_writes_do_not_leak(self):
        """Every request path of a job write, then a clean shutdown with no leak at all."""
        s = Sked(tasks=TASKS, args=FAST).start()
        try:
            j = s.create_job("t", notification_emails=["a@example.com"])
            s.patch("/api/jobs/" + j["id"], {"notification_emails": None, "title": "p"})
            s.put("/api/jobs/" + j["id"], {"title": "put", "task": "t"})
            s.post("/api/jobs", {"title": "", "task": "t"})
            s.wait_run(s.run_job(j["id"]))
            s.delete("/api/jobs/" + j["id"])
        finally:
            rc = s.stop()
            log = s.server_log()
            skedtest.Sked.__exit__(s, None, None, None)  # cleanup only; checked below
        skedtest.check_server_exit(rc, log, known_leaks=[])


if __name__ == "__main__":
    skedtest.main()


class OutOfDescriptors(unittest.TestCase):
    def test_accept_pauses_when_descriptors_run_out(self):
        """Clients that take every descriptor sked may open leave the next connection in the
        kernel's backlog: sked says so once and tries again a moment later, rather than
        spinning on accept() and writing a warning each time; the waiting client is served
        once descriptors come back."""
        import resource
        with Sked(tasks=TASKS, args=FAST) as s:
            fds = len(os.listdir("/proc/%d/fd" % s.proc.pid))
            soft, hard = resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE)
            resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (fds + 4, hard))
            held = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(12)]
            try:
                wait_for(lambda: "event=http.accept_paused" in s.server_log(), what="the pause")
                time.sleep(1)  # ten retries, each still short of a descriptor
                log = s.server_log()
                self.assertEqual(log.count("event=http.accept_paused"), 1, log[-2000:])
                self.assertIn("Too many open files", log)
                self.assertNotIn("Error from accept() call", log)
            finally:
                for c in held:
                    c.close()
            resource.prlimit(s.proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
            self.assertEqual(s.get("/healthz", token=None).status, 200)
            wait_for(lambda: "event=http.accept_resumed" in s.server_log(), what="accepting again")


class ListsOffTheLoop(unittest.TestCase):
    """A list whose cost grows with the store (a page past the first, a filter, every list of
    jobs) is read by the reader threads, on store connections of their own that each opens on
    its first read, never by the loop, which would hold up every other request and every
    scheduled fire meanwhile. Shown by pointing the store's path at another, empty store once
    the server runs: the loop's connection keeps the store it opened, a reader opens the other
    one, so what a list answers tells which of them read it."""

    def test_lists_that_grow_with_the_store_are_read_by_the_readers(self):
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="sked-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        real, other, link = (os.path.join(tmp, n) for n in ("real.db", "other.db", "link.db"))
        for path in (real, other):
            open(path, "wb").close()  # empty: sked makes a store of it
        os.symlink(real, link)
        s = Sked(tasks=TASKS, args=FAST, tmp=tmp)
        s.db = link
        with s:
            job = s.create_job("t", title="Nightly")
            run = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(run["status"], "SUCCESS")
            # no read off the loop yet: the readers open the path from now on
            os.remove(link)
            os.symlink(other, link)

            def total(path):
                r = s.get(path)
                self.assertEqual(r.status, 200, r)
                return r.json["hits"]["total"]

            runs = "/api/jobs/%s/runs" % job["id"]
            # read by the loop: the first page of every run, of a job's runs, of the trail
            for path in ("/api/runs", "/api/runs?page=1&size=5", "/api/runs?after=%s" % run["id"],
                         runs, "/api/runs?job_id=%s" % job["id"], "/api/audit"):
                self.assertGreaterEqual(total(path), 1, path)
            # read by the readers, from the other store
            for path in ("/api/jobs", "/api/jobs?sort=updated&sort_direction=desc&page=2",
                         "/api/jobs?q=Nightly", "/api/jobs?active=true", "/api/jobs?task=t",
                         "/api/runs?page=2", "/api/runs?status=SUCCESS",
                         "/api/runs?status=SUCCESS&page=3", runs + "?page=2",
                         runs + "?status=SUCCESS", "/api/audit?page=2",
                         "/api/audit?action=run.started", "/api/audit?action=job",
                         "/api/audit?page=1&action=run"):
                self.assertEqual(total(path), 0, path)
            # an unknown job type is still refused when no job is of it, as on the loop
            r = s.get("/api/jobs?task=nosuch")
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.json["errors"][0]["field"], "task")

    def test_queue_depths_never_wait_behind_long_reads(self):
        """GET /api/queues is read on a thread of its own: while both reader threads are held
        (here, by a lock on the store they open), it is answered at once."""
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="sked-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        real, other, link = (os.path.join(tmp, n) for n in ("real.db", "other.db", "link.db"))
        for path in (real, other):
            open(path, "wb").close()
        os.symlink(real, link)
        s = Sked(tasks=TASKS, args=FAST, tmp=tmp)
        s.db = link
        with s:
            self.assertEqual(s.get("/api/queues").status, 200)  # its thread opens real.db
            os.remove(link)
            os.symlink(other, link)
            lock = sqlite3.connect(other, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")  # the readers wait for it as they open other.db
            answers = []
            searches = [threading.Thread(target=lambda: answers.append(
                s.get("/api/runs?q=x", timeout=60).status)) for _ in range(2)]
            try:
                for t in searches:
                    t.start()
                r = s.get("/api/queues", timeout=60)
                self.assertEqual(r.status, 200, r)
                self.assertEqual([q["name"] for q in r.json["hits"]["hits"]][:1], ["default"])
                self.assertEqual(answers, [])  # both searches still wait for the store
            finally:
                lock.execute("ROLLBACK")
                lock.close()
                for t in searches:
                    t.join()


BLOB = sh_task("blob", "cat > /dev/null", arguments={"type": "object", "properties": {
    "blob": {"type": "string"}}})
PAGE_MAX = 4 * 1024 * 1024  # API_PAGE_MAX_BYTES: the most bytes of items a list page holds


class PageBudget(unittest.TestCase):
    """A page of runs, jobs or the audit trail holds at most 4 MiB of items as well as at most
    `size` of them: a run's custom args may take 256 KiB, and a page of 100 such runs was 26 MB
    built on the loop. A page cut so goes on where it ends: after a run, links.next is after
    its last one; by number, it is answered as the page of the largest size dividing the one
    asked for that fits, numbered to start at the same item, and following links.next sees
    every item exactly once."""

    @classmethod
    def setUpClass(cls):
        cls.s = s = Sked(tasks={"blob.json": BLOB}, args=FAST).start()
        try:
            # the runs stay queued: what they hold is all the lists need
            assert s.post("/api/queues/default/actions/pause", {"reason": "pages"}).status == 200
            cls.jobs = [s.create_job("blob", title="big %d" % i,
                                     custom_args={"blob": "%d" % i + "j" * 200_000})["id"]
                        for i in range(8)]
            cls.jobs += [s.create_job("blob", title="small %d" % i)["id"] for i in range(5)]
            cls.job = cls.jobs[-1]
            made = []
            for i in range(40):  # three of four with 250 KB of custom args
                args = {"blob": "%d" % i + ("r" * 250_000 if i % 4 != 3 else "")}
                made.append(s.run_job(cls.job, custom_args=args)["id"])
            cls.newest_first = made[::-1]
        except BaseException:
            s.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def get_page(self, url):
        u = urlsplit(url)
        r = self.s.get(u.path + "?" + u.query if u.query else u.path)
        self.assertEqual(r.status, 200, r)
        self.assertLessEqual(len(r.raw.encode()), PAGE_MAX + 4096, url)
        self.assertGreater(len(r.json["hits"]["hits"]), 0, url)
        return r.json

    def walk(self, path, key="id"):
        """Follows links.next from path: each page's (page, size) by number, or its after,
        as links.self names it, and its items' keys."""
        pages, url = [], path
        while url:
            doc = self.get_page(url)
            q = parse_qs(urlsplit(doc["links"]["self"]).query)
            items = [x[key] for x in doc["hits"]["hits"]]
            if "after" in q:
                pages.append((q["after"][0], items))
                nxt = doc["links"].get("next")
                if nxt:
                    self.assertEqual(parse_qs(urlsplit(nxt).query)["after"], [items[-1]])
            else:
                page, size = int(q["page"][0]), int(q["size"][0])
                self.assertLessEqual(len(items), size)
                if page > 1:
                    prev = parse_qs(urlsplit(doc["links"]["prev"]).query)
                    self.assertEqual((prev["page"], prev["size"]), ([str(page - 1)], [str(size)]))
                pages.append(((page, size), items))
            url = doc["links"].get("next")
        return pages

    def assert_by_number(self, pages, everything, asked):
        """Pages by number that together hold everything once, in order, each where its page
        and size say it starts and of a size dividing the one asked for."""
        seen = []
        for (page, size), items in pages:
            self.assertEqual(asked % size, 0, (page, size))
            self.assertEqual((page - 1) * size, len(seen), (page, size))
            seen += items
        self.assertEqual(seen, everything)

    def test_a_page_of_runs_holds_what_fits_and_goes_on_where_it_ends(self):
        r = self.get_page("/api/runs?size=100")
        self.assertEqual(r["hits"]["total"], 40)
        hits = r["hits"]["hits"]
        self.assertLess(len(hits), 40)  # 30 runs of 250 KB do not fit in one answer
        self.assertEqual(parse_qs(urlsplit(r["links"]["self"]).query)["size"], [str(len(hits))])
        self.assertEqual(100 % len(hits), 0)
        self.assertEqual([x["id"] for x in hits], self.newest_first[:len(hits)])
        self.assertEqual(len(hits[1]["args"]["blob"]), 250_002)  # the items are whole
        for path in ("/api/runs?size=100", "/api/jobs/%s/runs?size=1000" % self.job,
                     "/api/runs?size=100&status=QUEUED"):  # on the loop, and off it
            pages = self.walk(path)
            self.assertGreater(len(pages), 1, path)
            self.assert_by_number(pages, self.newest_first, 1000 if "1000" in path else 100)
        # a page past the first starts at the run it names, at whatever size fits
        pages = self.walk("/api/runs?page=2&size=20&sort_direction=asc")
        (page, size), first = pages[0]
        self.assertEqual(((page - 1) * size, 20 % size), (20, 0))
        self.assertEqual(sum((items for _, items in pages), []), self.newest_first[::-1][20:])

    def test_a_keyset_page_of_runs_goes_on_after_its_last_run(self):
        pages = self.walk("/api/runs?size=1000&after=" + self.newest_first[0])
        self.assertGreater(len(pages), 1)
        self.assertEqual(pages[0][0], self.newest_first[0])
        self.assertEqual(sum((items for _, items in pages), []), self.newest_first[1:])
        oldest_first = self.newest_first[::-1]
        pages = self.walk("/api/jobs/%s/runs?size=1000&sort_direction=asc&after=%s"
                          % (self.job, oldest_first[0]))
        self.assertGreater(len(pages), 1)
        self.assertEqual(sum((items for _, items in pages), []), oldest_first[1:])

    def test_a_page_of_jobs_holds_what_fits(self):
        first = self.get_page("/api/jobs?size=1000")
        self.assertEqual(first["hits"]["total"], len(self.jobs))
        self.assertLess(len(first["hits"]["hits"]), len(self.jobs))
        titles = sorted((self.s.get("/api/jobs/" + j).json["title"], j) for j in self.jobs)
        pages = self.walk("/api/jobs?size=1000")
        self.assert_by_number(pages, [j for _, j in titles], 1000)
        pages = self.walk("/api/jobs?size=6&page=2")  # items 6 to 11, then the rest
        self.assertEqual(sum((items for _, items in pages), []), [j for _, j in titles][6:])

    def test_a_page_of_the_audit_trail_holds_what_fits(self):
        first = self.get_page("/api/audit?size=1000")
        total = first["hits"]["total"]
        self.assertGreaterEqual(total, 40 + len(self.jobs))
        self.assertLess(len(first["hits"]["hits"]), total)
        pages = self.walk("/api/audit?size=1000")
        newest = first["hits"]["hits"][0]["id"]
        self.assert_by_number(pages, list(range(newest, newest - total, -1)), 1000)
