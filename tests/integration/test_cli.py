"""The client commands of sked (src/cli/) against a real server: every command's table and
--json output, job run --wait and logs -f following runs to their end, stop, and the exit-code
contract (0 ok, 1 refused or run not successful, 2 usage, 3 unreachable)."""
import http.client
import http.server
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import skedtest
from skedtest import Sked, wait_for


def cli_against_one_answer(case, answer, *args):
    """Runs the CLI command args (case.cli) against a server of the test's own that answers
    one GET with answer(handler), and returns the finished process."""
    class One(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            answer(self)

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), One)
    t = threading.Thread(target=srv.handle_request, daemon=True)
    t.start()
    try:
        return case.cli(*args, url="http://127.0.0.1:%d" % srv.server_address[1])
    finally:
        t.join(10)
        srv.server_close()


def serve_json(answer):
    """A server of the test's own: answer(method, path) gives each request's (status, JSON
    document). Returns its URL and the function that stops it."""
    class Answers(http.server.BaseHTTPRequestHandler):
        def reply(self):
            n = int(self.headers.get("Content-Length", 0))
            if n:
                self.rfile.read(n)
            status, doc = answer(self.command, self.path)
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = reply

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop():
        srv.shutdown()
        srv.server_close()
    return "http://127.0.0.1:%d" % srv.server_address[1], stop


class CliCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Sked().start()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def cli(self, *args, token=skedtest.TOKEN, url=None, stdin=subprocess.DEVNULL, timeout=60):
        """stdin: a file, or the text the command reads."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env["SKED_URL"] = url or self.s.url
        if token is not None:
            env["SKED_TOKEN"] = token
        feed = {"input": stdin} if isinstance(stdin, str) else {"stdin": stdin}
        return subprocess.run([skedtest.BIN] + list(args), env=env, capture_output=True,
                              text=True, timeout=timeout, **feed)

    def popen(self, *args, stderr=subprocess.PIPE, text=True):
        """The command started, its stdout a pipe (and stderr, unless given)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update(SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
        return subprocess.Popen([skedtest.BIN] + list(args), env=env, stdout=subprocess.PIPE,
                                stderr=stderr, text=text)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, "sked %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def ok_json(self, *args, **kw):
        return json.loads(self.ok(*args, **kw))

    def create(self, title, task="sync_records", *extra):
        return self.ok_json("job", "create", "--title", title, "--task", task, "--json", *extra)

    def usage_fails(self, *args, expect):
        p = self.cli(*args)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(expect, p.stderr)
        self.assertIn("--help", p.stderr)
        return p


class TestTasks(CliCase):
    def test_table_lists_every_job_type_with_its_arguments(self):
        out = self.ok("tasks")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "TITLE", "QUEUE", "TIMEOUT", "ARGUMENTS"])
        rows = {l.split()[0]: l for l in lines[1:]}
        self.assertEqual(set(rows), {"import_files", "reindex", "sync_records", "prune", "http_call"})
        self.assertIn("records, reject_every", rows["sync_records"])
        self.assertIn("30m", rows["sync_records"])

    def test_the_retention_prune_suggests_runs(self):
        """The shipped prune's description of its retention gives an example; a run given that
        value succeeds; one below the server's retention is refused."""
        prune = [t for t in self.ok_json("tasks", "--json")["hits"]["hits"] if t["id"] == "prune"][0]
        said = prune["arguments"]["properties"]["retention"]["description"]
        example = re.search(r"e\.g\. (\d+[smhdw])\b", said)
        self.assertTrue(example, said)
        self.create("Prune as suggested", "prune")
        p = self.cli("job", "run", "Prune as suggested", "--arg", "retention=" + example.group(1),
                     "--wait")
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("deleted 0 run(s) older than their retention", p.stdout)
        # one shorter than the server's is refused, no run made
        p = self.cli("job", "run", "Prune as suggested", "--arg", "retention=1d", "--wait")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("at least the server's (90d)", p.stderr)

    def test_json_is_the_api_listing(self):
        doc = self.ok_json("tasks", "--json")
        self.assertEqual(doc["hits"]["total"], 5)
        self.assertEqual(sorted(t["id"] for t in doc["hits"]["hits"]),
                         ["http_call", "import_files", "prune", "reindex", "sync_records"])


class TestQueues(CliCase):
    def test_table_and_json_list_the_queues(self):
        doc = self.ok_json("queues", "--json")
        api = self.s.get("/api/queues").json
        self.assertEqual([q["name"] for q in doc["hits"]["hits"]],
                         [q["name"] for q in api["hits"]["hits"]])
        lines = self.ok("queues").splitlines()
        self.assertEqual(lines[0].split(),
                         ["QUEUE", "EXECUTOR", "BROKER", "SLOTS", "BUSY", "QUEUED", "NOTE"])
        rows = {l.split()[0]: l.split()[1:6] for l in lines[1:]}
        want = {q["name"]: ["local", "-", str(q["concurrency"]), str(q["busy"]), str(q["queued"])]
                for q in api["hits"]["hits"]}
        self.assertEqual(rows, want)
        self.assertEqual((rows["default"][2], rows["low"][2]), ("4", "1"))
        # an empty cell is "-", as in every table of the CLI
        self.assertEqual({l.split()[0]: l.split()[6:] for l in lines[1:]}, {"default": ["-"], "low": ["-"]})
        self.usage_fails("queues", "extra", expect="unexpected argument 'extra'")

    def test_a_celery_queues_workers_are_counted_online(self):
        """The NOTE of a Celery queue counts its workers online; one that said goodbye or
        stopped heart-beating is listed by the API and told apart here. (A server of our own
        answers, with the document of two workers, one of them gone.)"""
        worker = {"hostname": "w1@h", "last_heartbeat": "2026-12-02T01:00:00+00:00", "active": 0}
        doc = {"hits": {"hits": [{
            "name": "celery", "executor": "celery", "broker": "redis://127.0.0.1:6379/0",
            "concurrency": None, "busy": 0, "queued": 0, "paused": False, "removed": False,
            "workers": [dict(worker, online=True), dict(worker, hostname="w2@h", online=False)]}],
            "total": 1}}

        def answer(handler):
            body = json.dumps(doc).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        p = cli_against_one_answer(self, answer, "queues")
        self.assertEqual(p.returncode, 0, p)
        self.assertTrue(p.stdout.splitlines()[1].endswith("1 worker(s) (1 offline)"), p.stdout)

    def test_pause_and_resume_say_what_they_did(self):
        """A second pause with another reason changes the reason alone and says the queue was
        already paused; a resume of a running queue says it was not paused; all exit 0."""
        first = self.ok("queues", "pause", "low", "--reason", "first")
        self.assertRegex(first, r"^queue low is paused \(since [^()]+ by bootstrap token\); 0 run\(s\) wait in it\n$")
        since = first.split("(since ")[1].split(" by ")[0]
        # in local time, as the tables show times
        at = datetime.fromisoformat(self.s.get("/api/queues").json["hits"]["hits"][1]["paused_at"])
        self.assertIn(at.astimezone().strftime("%H:%M:%S"), since)
        self.assertNotIn("+00:00", since)
        again = self.ok("queues", "pause", "low", "--reason", "second reason")
        self.assertEqual(again, "queue low was already paused (since %s by bootstrap token, reason: "
                                "second reason); 0 run(s) wait in it\n" % since)
        self.assertIn("paused by bootstrap token (second reason)", self.ok("queues"))
        self.assertIn("was already paused", self.ok("queues", "pause", "low"))  # the reason stays
        self.assertEqual(self.ok_json("queues", "pause", "low", "--json")["pause_reason"], "second reason")
        self.assertEqual(self.ok("queues", "resume", "low"), "queue low runs\n")
        self.assertEqual(self.ok("queues", "resume", "low"), "queue low was not paused\n")
        trail = self.s.get("/api/audit?action=queue.").json["hits"]["hits"][:3]  # this test's
        self.assertEqual([(e["action"], e["details"]) for e in trail], [
            ("queue.resumed", {"queue": "low", "reason": None}),
            ("queue.reason_changed", {"queue": "low", "changes": {"reason": {"before": "first", "after": "second reason"}}}),
            ("queue.paused", {"queue": "low", "reason": "first"})])

    def test_all_pauses_every_queue_and_resumes_every_paused_one(self):
        """--all takes the place of QUEUE: every queue of the server's is paused, with a line
        for each; a resume takes only the paused ones; QUEUE and --all exclude each other."""
        self.assertEqual(self.ok("queues", "resume", "--all"), "no queue is paused\n")
        self.assertEqual(self.ok_json("queues", "resume", "--all", "--json"), [])
        out = self.ok("queues", "pause", "--all", "--reason", "upgrade").splitlines()
        self.assertEqual([l.split(" is paused ")[0] for l in out], ["queue default", "queue low"])
        qs = self.s.get("/api/queues").json["hits"]["hits"]
        self.assertEqual([(q["name"], q["paused"], q["pause_reason"]) for q in qs],
                         [("default", True, "upgrade"), ("low", True, "upgrade")])
        self.ok("queues", "resume", "low")
        doc = self.ok_json("queues", "resume", "--all", "--json")
        self.assertEqual([(q["name"], q["was_paused"], q["paused"]) for q in doc],
                         [("default", True, False)])
        self.assertEqual([q["paused"] for q in self.s.get("/api/queues").json["hits"]["hits"]],
                         [False, False])
        self.usage_fails("queues", "resume", expect="missing QUEUE (a queue's name, or --all)")
        self.usage_fails("queues", "pause", "low", "--all", expect="give QUEUE or --all, not both")


class TestPauseAll(CliCase):
    def test_a_bad_reason_is_refused_before_any_queue_is_paused(self):
        for reason, why in (("", "must be 1 to 500 characters"), ("  ", "must not be blank"),
                            ("x" * 501, "must be 1 to 500 characters"),
                            ("two\nlines", "must be one line without control characters")):
            p = self.usage_fails("queues", "pause", "--all", "--reason", reason,
                                 expect="sked queues pause: --reason %s\n" % why)
            self.assertEqual(p.stdout, "")
        self.assertEqual([q["paused"] for q in self.s.get("/api/queues").json["hits"]["hits"]],
                         [False, False])

    def test_each_refusal_names_its_queue_and_the_callers_is_said_once(self):
        viewer = self.s.post("/api/users", {"username": "pauses-not", "role": "viewer"}).json
        tok = self.s.post("/api/users/%s/tokens" % viewer["id"], {"name": "x"}).json["token"]
        p = self.cli("queues", "pause", "--all", "--reason", "maint", token=tok)
        self.assertEqual(p.returncode, 1, p)
        self.assertTrue(p.stderr.startswith("sked: queue default: Permission denied: "), p.stderr)
        self.assertEqual(p.stderr.count("Permission denied"), 1, p.stderr)  # not again for low
        # a queue taken out of the settings meanwhile: named, and the others are paused
        sent = []

        def answer(method, path):
            if method == "GET":
                q = {"executor": "local", "paused": False, "removed": False, "queued": 0}
                return 200, {"hits": {"hits": [dict(q, name="gone"), dict(q, name="kept")],
                                      "total": 2}}
            sent.append(path)
            if "/gone/" in path:
                return 404, {"status": 404, "message": "Queue gone does not exist"}
            return 200, {"name": "kept", "paused": True, "was_paused": False,
                         "paused_at": "2026-12-02T01:00:00+00:00", "paused_by": "x", "queued": 0}
        url, stop = serve_json(answer)
        try:
            p = self.cli("queues", "pause", "--all", "--reason", "maint", url=url)
        finally:
            stop()
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(p.stderr, "sked: queue gone: Queue gone does not exist (HTTP 404)\n")
        self.assertTrue(p.stdout.startswith("queue kept is paused"), p.stdout)
        self.assertEqual(sent, ["/api/queues/gone/actions/pause", "/api/queues/kept/actions/pause"])


class TestRefusalWords(CliCase):
    def test_a_field_is_named_as_an_option_only_where_the_command_has_it(self):
        """The server's field errors name the option of the command that sent the field; a
        field the command has no option for keeps its own name."""
        with Sked(tasks={"gone.json": skedtest.sh_task("gone", "true")}) as s:
            job = s.create_job("gone")
            os.remove(os.path.join(s.tasks_dir, "gone.json"))
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "event=reload.done" in s.server_log(), what="the reload")
            p = self.cli("job", "run", job["id"], url=s.url)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("\n  task: job type 'gone' is not loaded", p.stderr)
            self.assertNotIn("--task", p.stderr)
            p = self.cli("job", "create", "--title", "x", "--task", "gone", url=s.url)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("\n  --task: unknown job type 'gone'", p.stderr)

    def test_a_number_given_for_text_says_how_to_quote_it(self):
        p = self.cli("job", "create", "--title", "quoted", "--task", "sync_records", "--arg", "mode=5")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --arg mode=...: must be of type string, not integer\n  (--arg takes VALUE as "
                      "JSON when it parses: for text, quote it as JSON, --arg 'KEY=\"VALUE\"')\n", p.stderr)
        p = self.cli("job", "create", "--title", "quoted", "--task", "sync_records", "--arg", "records=x")
        self.assertNotIn("quote it", p.stderr)

class TestAudit(CliCase):
    def test_the_trail_and_its_filters(self):
        job = self.create("Audited", "reindex", "--arg", "steps=1")
        run = self.s.wait_run(self.s.run_job(job["id"]))
        lines = self.ok("audit", "--job", "Audited").splitlines()
        self.assertEqual(lines[0].split(), ["TIME", "ACTOR", "ACTION", "ABOUT", "ADDRESS",
                                            "DETAILS"])
        self.assertEqual([l.split()[2] for l in lines[1:]], ["run.started", "job.created"])
        self.assertIn(" run %s " % run["id"][:13], lines[1])
        self.assertIn(" job %s " % job["id"][:8], lines[2])
        api = self.s.get("/api/audit?job_id=" + job["id"]).json["hits"]["hits"]
        doc = self.ok_json("audit", "--job", job["id"], "--json")["hits"]["hits"]
        self.assertEqual([e["id"] for e in doc], [e["id"] for e in api])
        only = self.ok_json("audit", "--job", job["id"], "--action", "run.", "--json")
        self.assertEqual([e["action"] for e in only["hits"]["hits"]], ["run.started"])
        mine = self.ok_json("audit", "--user", "bootstrap", "--job", job["id"], "--json")
        self.assertEqual(mine["hits"]["total"], 2)
        self.assertEqual(self.ok_json("audit", "--since", "2999-01-01", "--json")["hits"]["total"], 0)
        self.assertEqual(self.ok("audit", "--since", "2999-01-01").strip(), "no entries")
        self.usage_fails("audit", "--since", "soon", expect="--since")
        self.usage_fails("audit", "extra", expect="unexpected argument 'extra'")
        p = self.cli("audit", "--action", "bogus")  # refused by the server, named by the option
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --action: ", p.stderr)


    def test_about_names_the_kind_of_what_an_entry_is_about(self):
        acc = self.s.post("/api/users", {"username": "audited", "role": "viewer"}).json
        tok = self.s.post("/api/users/%s/tokens" % acc["id"], {"name": "t"}).json
        self.ok("queues", "pause", "low")
        self.ok("queues", "resume", "low")
        about = {}
        for line in self.ok("audit", "--size", "10").splitlines()[1:]:
            cols = line.split()
            i = next(k for k, c in enumerate(cols) if "." in c and c.split(".")[0] in
                     ("user", "token", "queue", "job", "run", "login"))
            about.setdefault(cols[i], " ".join(cols[i + 1:i + 3]))
        self.assertEqual(about["queue.paused"], "queue low")
        self.assertEqual(about["queue.resumed"], "queue low")
        self.assertEqual(about["token.created"], "token " + tok["id"][:8])
        self.assertEqual(about["user.created"], "user " + acc["id"][:8])


def cut_page(items, fit, url, path):
    """The page of items that path asks for (page and size, or after an item's id) as sked
    answers one of large items of which only fit fit in an answer: a page by number at the
    largest size dividing the one asked for that fits, numbered to start at the same item;
    after an item, the fit items after it with links.next after the last."""
    u = urlsplit(path)
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    size = int(q.get("size", 25))
    rest = {k: v for k, v in q.items() if k not in ("page", "size", "after")}

    def link(**kw):
        return "%s%s?%s" % (url, u.path, urlencode(dict(rest, **kw)))
    if "after" in q:
        start = [x["id"] for x in items].index(q["after"]) + 1
        hits = items[start:start + min(size, fit)]
        links = {"self": link(after=q["after"], size=size)}
        if start + len(hits) < len(items):
            links["next"] = link(after=hits[-1]["id"], size=size)
    else:
        page = int(q.get("page", 1))
        start = (page - 1) * size
        if start < len(items) and fit < size:
            size = max(d for d in range(1, fit + 1) if size % d == 0)
            page = start // size + 1
        hits = items[start:start + size]
        links = {"self": link(page=page, size=size)}
        if start + size < len(items):
            links["next"] = link(page=page + 1, size=size)
    return {"hits": {"hits": hits, "total": len(items)}, "links": links, "sortBy": "created"}


class TestCutPages(CliCase):
    """A page of large items (runs with big custom args, the jobs of such runs, the audit
    entries of their starts) may hold fewer items than asked for, or be answered at a smaller
    size: the commands that read every page follow links.next, and those that show one page
    gather the page asked for from the pages the server answered."""

    @classmethod
    def setUpClass(cls):
        blob = skedtest.sh_task("blob", "cat > /dev/null", arguments={
            "type": "object", "properties": {"blob": {"type": "string"}}})
        cls.s = s = Sked(tasks={"blob.json": blob}).start()
        try:
            assert s.post("/api/queues/default/actions/pause", {"reason": "pages"}).status == 200
            for i in range(8):
                s.create_job("blob", title="big %d" % i, custom_args={"blob": "j" * 200_000})
            job = s.create_job("blob", title="small")
            for i in range(30):
                s.run_job(job["id"], custom_args={"blob": "%d" % i + "r" * 250_000})
            cls.job = job
        except BaseException:
            s.stop()
            raise

    def test_every_job_and_entry_of_pages_the_server_cut(self):
        jobs = self.s.get("/api/jobs?size=1000").json
        self.assertLess(len(jobs["hits"]["hits"]), 9)  # the server cut it
        path = os.path.join(self.s.tmp, "export.json")
        self.ok("job", "export", "-o", path)
        with open(path) as f:
            self.assertEqual(sorted(j["title"] for j in json.load(f)["jobs"]),
                             ["big %d" % i for i in range(8)] + ["small"])
        listed = self.ok_json("job", "list", "--size", "1000", "--json")["hits"]["hits"]
        self.assertEqual(len(listed), 9)
        table = self.ok("job", "list", "--size", "1000").splitlines()
        self.assertEqual((len(table), "shown" in table[-1]), (10, False))
        total = self.s.get("/api/audit").json["hits"]["total"]
        self.assertLess(len(self.s.get("/api/audit?size=1000").json["hits"]["hits"]), total)
        trail = self.ok_json("audit", "--size", "1000", "--json")["hits"]["hits"]
        self.assertEqual(len({e["id"] for e in trail}), total)
        self.assertEqual(len(self.ok("audit", "--size", "1000").splitlines()), total + 1)
        # a page past the first: the entries it names, gathered from the smaller pages
        second = self.ok_json("audit", "--size", "20", "--page", "2", "--json")["hits"]["hits"]
        api = [e["id"] for e in self.s.get("/api/audit?size=1").json["hits"]["hits"]]
        self.assertEqual(second[0]["id"], api[0] - 20)
        self.assertEqual([e["id"] for e in second], list(range(api[0] - 20, api[0] - 40, -1)))
        runs = self.ok_json("runs", "small", "--size", "100", "--json")["hits"]["hits"]
        self.assertEqual(len(runs), 30)

    def test_the_commands_follow_the_links_of_any_server(self):
        """Against a server that answers three items a page, at the size that makes: every
        job exported, and the page asked for gathered whole."""
        jobs = [{"id": "00000000-0000-4000-8000-%012d" % i, "title": "job %02d" % i,
                 "task": "t", "active": True, "default_queue": "default", "args": {},
                 "on_success": []} for i in range(1, 12)]
        entries = [{"id": i, "ts": "2026-01-01T00:00:00Z", "actor": {"kind": "cli"},
                    "action": "job.created"} for i in range(30, 0, -1)]
        box = {}

        def answer(method, path):
            items = jobs if path.startswith("/api/jobs?") else entries
            return 200, cut_page(items, 3, box["url"], path)
        box["url"], stop = serve_json(answer)
        self.addCleanup(stop)
        out = self.ok("job", "export", url=box["url"])
        self.assertEqual([j["title"] for j in json.loads(out)["jobs"]],
                         [j["title"] for j in jobs])
        listed = self.ok_json("job", "list", "--size", "1000", "--json", url=box["url"])
        self.assertEqual([j["id"] for j in listed["hits"]["hits"]], [j["id"] for j in jobs])
        page = self.ok_json("audit", "--size", "10", "--page", "2", "--json", url=box["url"])
        self.assertEqual([e["id"] for e in page["hits"]["hits"]], list(range(20, 10, -1)))
        table = self.ok("audit", "--size", "10", "--page", "2", url=box["url"]).splitlines()
        self.assertEqual((len(table), table[-1]), (12, "(10 of 30 entries shown; see --page)"))


class TestJobs(CliCase):
    def test_create_list_show_update_delete(self):
        out = self.ok("job", "create", "--title", "Nightly sync", "--task", "sync_records",
                      "--description", "pushes records", "--queue", "default",
                      "--arg", "records=7", "--arg", "mode=insert-only", "--timeout", "10m")
        self.assertRegex(out, r"^created job [0-9a-f-]{36} \(Nightly sync\)$")
        job_id = out.split()[2]

        job = self.s.get("/api/jobs/" + job_id).json
        self.assertEqual(job["args"], {"records": 7, "mode": "insert-only"})
        self.assertEqual(job["timeout"], "10m")
        self.assertEqual(job["description"], "pushes records")

        listing = self.ok("job", "list", "--q", "Nightly")
        header, row = listing.splitlines()[0], listing.splitlines()[1]
        self.assertEqual(header.split()[:5], ["ID", "TITLE", "TASK", "QUEUE", "ACTIVE"])
        self.assertTrue(row.startswith(job_id[:8] + " "))
        self.assertIn("Nightly sync", row)
        self.assertIn("sync_records", row)

        shown = self.ok("job", "show", "Nightly sync")
        self.assertIn(job_id, shown)
        self.assertIn("pushes records", shown)
        def lines(out):
            return dict(l.split(None, 1) if " " in l else (l, "") for l in out.splitlines()
                        if not l.startswith(("Custom args", "Last run", "Next run", "Skipped fires")))
        f = lines(shown)
        self.assertEqual((f["Overlap"], f["Catch-up"], f["Retries"], f["Retention"], f["Notify"],
                          f["Schedule"]), ("allow", "once", "none", "the server's", "-", "-"))
        self.s.patch("/api/jobs/" + job_id, {
            "overlap": "skip", "catchup": "all", "catchup_limit": 5, "max_retries": 2,
            "retry_backoff": "1m", "retention": "30d", "notification_emails": ["ops@example.org"],
            "notification_statuses": ["FAILED", "CANCELLED"]})
        f = lines(self.ok("job", "show", job_id))
        self.assertEqual((f["Overlap"], f["Catch-up"], f["Retries"], f["Retention"], f["Notify"]),
                         ("skip", "all (at most 5)",
                          "2 (the first after 1m, then twice as long each time)", "30d",
                          "ops@example.org on FAILED, CANCELLED"))
        self.assertEqual(self.ok_json("job", "show", job_id, "--json")["id"], job_id)
        self.assertEqual(self.ok_json("job", "show", job_id.upper(), "--json")["id"], job_id)

        # --arg changes one saved argument and keeps the others
        upd = self.ok_json("job", "update", "Nightly sync", "--arg", "records=9", "--inactive",
                           "--json")
        self.assertEqual(upd["args"]["records"], 9)
        self.assertEqual(upd["args"]["mode"], "insert-only")
        self.assertFalse(upd["active"])
        upd = self.ok_json("job", "update", "Nightly sync", "--custom-args", '{"raw": true}', "--json")
        self.assertEqual(upd["custom_args"], {"raw": True})
        self.assertIn("Nightly sync", self.ok("job", "list", "--inactive"))
        self.assertNotIn("Nightly sync", self.ok("job", "list", "--active"))
        upd = self.ok_json("job", "update", job_id, "--clear-custom-args", "--active",
                           "--title", "Nightly sync 2", "--json")
        self.assertIsNone(upd["custom_args"])
        self.assertTrue(upd["active"])
        self.assertEqual(upd["args"]["records"], 9)

        # without --yes, a non-terminal stdin is refused before anything is deleted
        p = self.cli("job", "delete", "Nightly sync 2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--yes", p.stderr)
        self.assertEqual(self.s.get("/api/jobs/" + job_id).status, 200)

        self.assertIn("deleted job " + job_id, self.ok("job", "delete", "Nightly sync 2", "--yes"))
        self.assertEqual(self.s.get("/api/jobs/" + job_id).status, 404)
        p = self.cli("job", "show", job_id)
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not exist", p.stderr)

    def test_title_must_match_exactly_one_job(self):
        a = self.create("Twin")
        b = self.create("Twin")
        self.create("Twin brother")
        p = self.cli("job", "show", "Twin")
        self.assertEqual(p.returncode, 1)
        self.assertIn("2 jobs have the title 'Twin'", p.stderr)
        self.assertIn(a["id"], p.stderr)
        self.assertIn(b["id"], p.stderr)
        p = self.cli("job", "show", "Twi")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no job has the title 'Twi'", p.stderr)
        self.assertEqual(self.ok_json("job", "show", "Twin brother", "--json")["title"],
                         "Twin brother")

    def test_the_start_of_an_id_names_a_job(self):
        a = self.create("First")
        # what the table of 'sked job list' shows
        shown = [line.split()[0] for line in self.ok("job", "list").splitlines()
                 if "First" in line][0]
        self.assertTrue(a["id"].startswith(shown), shown)
        self.assertEqual(self.ok_json("job", "show", shown, "--json")["id"], a["id"])
        self.assertEqual(self.ok_json("job", "show", shown.upper(), "--json")["id"], a["id"])
        p = self.cli("job", "show", "ffff" if not a["id"].startswith("ffff") else "eeee")
        self.assertEqual(p.returncode, 1)
        self.assertIn("or an id starting so", p.stderr)
        # fewer than 4 characters are taken as a title only
        p = self.cli("job", "show", a["id"][:3])
        self.assertEqual(p.returncode, 1)
        self.assertIn("no job has the title '%s';" % a["id"][:3], p.stderr)
        # a title that is the start of another job's id names neither, not even for a delete
        decoy = self.create(shown)
        p = self.cli("job", "delete", shown, "--yes")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("'%s' is the title of a job and the start of the id of another; give a whole id"
                      % shown, p.stderr)
        self.assertIn(decoy["id"], p.stderr)
        self.assertIn(a["id"], p.stderr)
        self.assertEqual(self.s.get("/api/jobs/" + a["id"]).status, 200)
        self.assertEqual(self.s.get("/api/jobs/" + decoy["id"]).status, 200)
        # its own id's start and its title naming one job is that job
        self.s.patch("/api/jobs/" + decoy["id"], {"title": decoy["id"][:8]})
        self.assertEqual(self.ok_json("job", "show", decoy["id"][:8], "--json")["id"], decoy["id"])

    def test_policies_notifications_and_chains_have_options(self):
        after = self.create("Chained after")
        job = self.create("With policies", "sync_records", "--retries", "2", "--retry-backoff",
                          "1m", "--retention", "30d", "--overlap", "skip", "--catchup", "all",
                          "--catchup-limit", "5", "--notify-on", "FAILED, CANCELLED",
                          "--notify-email", "ops@example.org", "--notify-email",
                          "dev@example.org", "--notify-webhook", "https://hooks.example.org/x",
                          "--on-success", "Chained after")
        api = self.s.get("/api/jobs/" + job["id"]).json
        self.assertEqual({k: api[k] for k in ("max_retries", "retry_backoff", "retention",
                                              "overlap", "catchup", "catchup_limit",
                                              "notification_statuses", "notification_emails",
                                              "notification_webhooks", "on_success")},
                         {"max_retries": 2, "retry_backoff": "1m", "retention": "30d",
                          "overlap": "skip", "catchup": "all", "catchup_limit": 5,
                          "notification_statuses": ["FAILED", "CANCELLED"],
                          "notification_emails": ["ops@example.org", "dev@example.org"],
                          "notification_webhooks": ["https://hooks.example.org/x"],
                          "on_success": [after["id"]]})
        # shown by title, as --on-success takes them
        self.assertIn("\nOn success    Chained after (%s)\n" % after["id"][:8], self.ok("job", "show", job["id"]))
        # an update changes what it names; a list given replaces that list, none empties it
        upd = self.ok_json("job", "update", job["id"], "--notify-email", "none", "--retention",
                           "default", "--retries", "0", "--on-success", after["id"][:8], "--json")
        self.assertEqual((upd["notification_emails"], upd["notification_statuses"],
                          upd["retention"], upd["max_retries"], upd["on_success"]),
                         ([], ["FAILED", "CANCELLED"], None, 0, [after["id"]]))
        upd = self.ok_json("job", "update", job["id"], "--on-success", "none", "--notify-on",
                           "none", "--json")
        self.assertEqual((upd["on_success"], upd["notification_statuses"]), ([], []))
        # the server checks them, and its refusals name the options
        p = self.cli("job", "update", job["id"], "--retries", "500", "--overlap", "sometimes",
                     "--notify-email", "not an address", "--retry-backoff", "2h",
                     "--catchup-limit", "0")
        self.assertEqual(p.returncode, 1, p)
        for line in ("  --retries: must be a whole number from 0 to 100\n",
                     "  --overlap: must be allow, skip, queue_one or cancel_previous\n",
                     "  --notify-email: 'not an address' is not an e-mail address",
                     "  --retry-backoff: at most 1h", "  --catchup-limit: must be a whole number"):
            self.assertIn(line, p.stderr)
        # what is no number or no duration at all is a usage error, said before asking
        for flag, value, says in (("--retries", "abc", "--retries: expected a whole number, such as 3"),
                                  ("--catchup-limit", "many", "--catchup-limit: expected a whole number"),
                                  ("--retries", "99999999999999999999", "--retries: expected a whole number"),
                                  ("--retry-backoff", "soon", "--retry-backoff: expected a duration")):
            self.usage_fails("job", "update", job["id"], flag, value, expect=says)
        p = self.cli("job", "update", job["id"], "--on-success", "With policies")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --on-success: a job cannot start itself\n", p.stderr)
        for flag in ("--retries", "--retry-backoff", "--retention", "--overlap", "--catchup",
                     "--catchup-limit", "--notify-on", "--notify-email", "--notify-webhook",
                     "--on-success"):
            self.assertIn("\n  %s " % flag, self.ok("job", "create", "--help"))
            self.assertIn("\n  %s " % flag, self.ok("job", "update", "--help"))

    def test_show_tells_schedules_whose_numbers_are_reals(self):
        """300.0 counts as 300 (cron.md): Python clients send whole numbers so, and the table
        must say the schedule the scheduler keeps."""
        job = self.create("Real numbers")
        for schedule, words in (
                ({"type": "interval", "hours": 4.0, "minutes": 30}, "every 4 hours 30 minutes"),
                ({"type": "interval", "seconds": 86400.0}, "every 1 day"),
                ({"type": "crontab", "minute": 0, "hour": 3.0, "day_of_week": "mon-fri"},
                 "crontab minute=0 hour=3 day_of_week=mon-fri")):
            r = self.s.patch("/api/jobs/" + job["id"], {"schedule": schedule, "active": False})
            self.assertEqual(r.status, 200, r)
            rows = [l for l in self.ok("job", "show", job["id"]).splitlines()
                    if l.startswith("Schedule")]
            self.assertEqual([l.split(None, 1)[1] for l in rows], [words], schedule)

    def test_run_show_tells_the_fire_a_scheduled_run_stands_for(self):
        job = self.create("Fired")
        self.assertEqual(self.s.patch("/api/jobs/" + job["id"], {
            "schedule": {"type": "interval", "seconds": 1}}).status, 200)
        run = wait_for(lambda: self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"],
                       what="a fire")[0]
        self.s.patch("/api/jobs/" + job["id"], {"active": False})
        shown = self.ok("run", "show", run["id"])
        self.assertRegex(shown, r"\nTrigger +scheduled\nScheduled for +\d\d:\d\d:\d\d\n")
        self.assertNotIn("Parent run", shown)

    def test_show_json_is_the_job_by_any_name(self):
        """By id, the start of one or its title: the same document as GET /api/jobs/{id}
        (with the recent runs' figures beside, see TestWhatAJobGets)."""
        job = self.create("Shown as the API shows it")
        api = self.s.get("/api/jobs/" + job["id"]).json
        self.assertNotIn("last_run", api)  # no runs yet
        def shown(ref):
            doc = self.ok_json("job", "show", ref, "--json")
            doc.pop("recent")
            return doc
        for ref in (job["id"], job["id"][:8], "Shown as the API shows it"):
            self.assertEqual(shown(ref), api, ref)
        self.s.wait_run(self.s.run_job(job["id"]))
        api = self.s.get("/api/jobs/" + job["id"]).json
        for ref in (job["id"][:8], "Shown as the API shows it"):
            self.assertEqual(shown(ref), api, ref)

    def test_server_validation_errors_are_shown_per_field(self):
        p = self.cli("job", "create", "--title", "x", "--task", "no_such_type")
        self.assertEqual(p.returncode, 1)
        self.assertIn("A validation error occurred. (HTTP 400)", p.stderr)
        self.assertIn("  --task: unknown job type 'no_such_type' (see sked tasks)\n", p.stderr)
        # the API's pointers become the commands that do the same
        p = self.cli("job", "list", "--task", "no_such_type")
        self.assertIn("see sked tasks", p.stderr)
        self.assertNotIn("/api/", p.stderr)
        p = self.cli("job", "list", token="sked_" + "0" * 40)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("with sked token create", p.stderr)
        self.assertNotIn("/api/", p.stderr)
        p = self.cli("job", "create", "--title", "x", "--task", "sync_records",
                     "--arg", "records=-3")
        self.assertEqual(p.returncode, 1)
        self.assertIn("  --arg records=...: must be at least", p.stderr)

    def test_errors_name_the_options_that_sent_the_fields(self):
        """The server's field names and pointers are put as the CLI's options and commands."""
        p = self.cli("job", "create", "--title", "x", "--task", "import_files", "--queue", "nope",
                     "--timeout", "0s")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --queue: unknown queue 'nope'", p.stderr)
        self.assertIn("  --timeout: ", p.stderr)
        self.assertNotIn("default_queue", p.stderr)
        nowhere = self.create("Errors: no url", "http_call")
        p = self.cli("job", "run", nowhere["id"])
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --arg url=...: is required\n", p.stderr)
        self.assertNotIn("args.", p.stderr)
        job = self.create("Errors in CLI words")
        p = self.cli("job", "update", job["id"], "--arg", 'records={"deep": [1]}')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --arg records=...: must be of type integer", p.stderr)
        # the arguments given whole: the member named where it is in them, not as an --arg
        p = self.cli("job", "update", job["id"], "--args-json", '{"records": {"deep": [1]}}')
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --args-json (at records): must be of type integer", p.stderr)
        self.assertNotIn("--arg ", p.stderr)
        p = self.cli("job", "run", job["id"], "--queue", "nope")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --queue: unknown queue 'nope'", p.stderr)
        p = self.cli("queues", "pause", "nope")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("(see sked queues)", p.stderr)
        self.assertNotIn("GET /api", p.stderr)
        p = self.cli("job", "schedule", job["id"], "--cron", "61 * * * *", "--tz", "Mars/Base")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("  --cron: ", p.stderr)
        self.assertIn("  --tz: ", p.stderr)
        # an operator may not give a run of http_call arguments of their own
        op = self.s.post("/api/users", {"username": "cli-operator", "role": "operator"}).json
        tok = self.s.post("/api/users/%s/tokens" % op["id"], {"name": "t"}).json["token"]
        call = self.s.create_job("http_call", title="Calls out",
                                 args={"url": "https://example.org/"})
        p = self.cli("job", "run", call["id"], "--arg", "url=https://example.org/x", token=tok)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("leave out --arg, --since and --custom-args (HTTP 403)", p.stderr)


class TestExportImport(CliCase):
    def test_a_cycle_among_new_jobs_is_found_by_the_dry_run_too(self):
        """Lists are set after the jobs, in the file's order: a list that would close a cycle
        through jobs the file creates is refused by the dry run as by the import, and a job
        made without its list says so rather than 'failed'."""
        doc = {"jobs": [{"id": "p", "title": "cyc-P", "task": "sync_records", "on_success": ["q"]},
                        {"id": "q", "title": "cyc-Q", "task": "sync_records", "on_success": ["p"]},
                        {"id": "r", "title": "cyc-R", "task": "sync_records", "on_success": ["r"]}]}
        with Sked() as dst:
            path = os.path.join(dst.tmp, "cycle.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            dry = self.cli("job", "import", path, "--dry-run", url=dst.url)
            self.assertEqual(dry.returncode, 1, dry)
            self.assertRegex(dry.stdout, r"created +cyc-P +\(new 0\)\n")
            self.assertRegex(dry.stdout, r"created without on_success +cyc-Q +\(new 1\)\n")
            self.assertRegex(dry.stdout, r"created without on_success +cyc-R +\(new 2\)\n")
            self.assertIn("'cyc-Q' (jobs[1]): on_success would make a cycle: cyc-Q \u2192 cyc-P \u2192 cyc-Q\n",
                          dry.stderr)
            self.assertIn("'cyc-R' (jobs[2]): on_success would make a cycle: cyc-R \u2192 cyc-R\n", dry.stderr)
            self.assertFalse([j for j in dst.get("/api/jobs?q=cyc-").json["hits"]["hits"]])
            p = self.cli("job", "import", path, url=dst.url)
            self.assertEqual(p.returncode, 1, p)
            def plan(out):
                return [(l.split()[0], "without on_success" in l) for l in out.splitlines()[1:]]
            self.assertEqual(plan(dry.stdout), plan(p.stdout))
            self.assertIn("would make a cycle", p.stderr)
            jobs = {j["title"]: j for j in dst.get("/api/jobs?q=cyc-").json["hits"]["hits"]}
            self.assertEqual(jobs["cyc-P"]["on_success"], [jobs["cyc-Q"]["id"]])
            self.assertEqual((jobs["cyc-Q"]["on_success"], jobs["cyc-R"]["on_success"]), ([], []))

    def test_a_hand_written_file_imported_again_changes_nothing(self):
        """Values written otherwise than the server writes them back (durations as seconds or
        in other units, a since ending in Z, custom args given as text) are the same job: a
        second import says unchanged and sends no change, so the job's updated stays."""
        doc = {"format": "sked-jobs", "version": 1, "jobs": [{
            "title": "Hand-written", "task": "sync_records", "active": False, "timeout": 600,
            "retry_backoff": "60s", "retention": "24h", "alert_after": "26h",
            "args": {"records": 2, "since": "2026-01-02T03:04:05Z"}}, {
            "title": "Hand-written custom", "task": "sync_records", "custom_args": '{"a": 1}'}]}
        with Sked() as dst:
            path = os.path.join(dst.tmp, "hand.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            p = self.cli("job", "import", path, url=dst.url)
            self.assertEqual(p.returncode, 0, p)
            jobs = {j["title"]: j for j in dst.get("/api/jobs?size=100").json["hits"]["hits"]}
            first = jobs["Hand-written"]
            self.assertEqual((first["timeout"], first["retry_backoff"], first["retention"],
                              first["alert_after"]), ("10m", "1m", "1d", "1d2h"))
            for args in ([], ["--dry-run"]):
                again = self.cli("job", "import", path, *args, url=dst.url)
                self.assertEqual(again.returncode, 0, again)
                self.assertRegex(again.stdout, r"unchanged +Hand-written +%s\n" % first["id"])
                self.assertRegex(again.stdout, r"unchanged +Hand-written custom ")
                self.assertNotIn("change", again.stdout.split("\n", 3)[-1])
            self.assertEqual(dst.get("/api/jobs/" + first["id"]).json["updated"], first["updated"])
            # a real change still shows, in the server's words
            doc["jobs"][0]["timeout"] = 1200
            with open(path, "w") as f:
                json.dump(doc, f)
            dry = self.cli("job", "import", path, "--dry-run", url=dst.url)
            self.assertIn("  timeout                \"10m\" \u2192 \"20m\"\n", dry.stdout)
            self.assertEqual(dry.stdout.count("\u2192"), 1, dry.stdout)
        # the server gone: --json still says of each job that it was not done, and why
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(doc, f)
            f.flush()
            p = self.cli("job", "import", f.name, "--json", url=dst.url)
        self.assertEqual(p.returncode, 3, p)
        out = json.loads(p.stdout)
        self.assertEqual([(j["index"], j["action"]) for j in out["jobs"]], [(0, "not_done"), (1, "not_done")])
        for j in out["jobs"]:
            self.assertTrue(j["error"].startswith("not done: cannot reach the server at %s" % dst.url), j)

    def test_an_import_that_loses_its_server_midway_says_so_of_each_job(self):
        """The server lost after two jobs are made: the third failed for it, the fourth was not
        tried, and --json says why of both (the cause was on stderr alone)."""
        doc = {"format": "sked-jobs", "version": 1,
               "jobs": [{"title": "Midway %d" % i, "task": "sync_records"} for i in range(4)]}
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(doc, f)
            f.flush()
            proxy = Proxy(int(self.s.url.rsplit(":", 1)[1]), passes=3)  # the list, two jobs
            self.addCleanup(proxy.close)
            p = self.cli("job", "import", f.name, "--json", url=proxy.url)
        self.assertEqual(p.returncode, 3, p)
        jobs = json.loads(p.stdout)["jobs"]
        self.assertEqual([j["action"] for j in jobs], ["created", "created", "failed", "not_done"])
        self.assertTrue(jobs[2]["error"].startswith("not created: the proxy in front of "), jobs[2])
        self.assertIn("sked behind it does not answer", jobs[2]["error"])
        self.assertEqual(jobs[3]["error"], "not done: the server could not be reached")

    def test_an_export_file_is_its_owners_alone(self):
        """An admin's export holds webhook URLs whole, secrets and all: -o FILE is written mode
        0600 whatever the umask, and an existing file is made so."""
        self.create("Exported privately", "reindex", "--notify-on", "FAILED", "--notify-webhook",
                    "https://hooks.example.org/T000/B000/secret-part")
        folder = tempfile.mkdtemp(prefix="sked-export-")
        self.addCleanup(shutil.rmtree, folder, True)
        new, old = os.path.join(folder, "new.json"), os.path.join(folder, "old.json")
        with open(old, "w") as f:
            f.write("{}")
        os.chmod(old, 0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update(SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
        for path in (new, old):
            p = subprocess.run(["sh", "-c", 'umask 022 && exec "$0" job export -o "$1"',
                                skedtest.BIN, path], env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)
            with open(path) as f:
                self.assertIn("secret-part", f.read())

    def test_jobs_travel_from_one_server_to_another(self):
        """export writes every job; import into another server creates them with their
        chains mapped onto its ids, a second import changes nothing, and an edited file
        updates by id; a dry run changes nothing; a bad file is refused naming the place."""
        src = self.s
        reindex = src.post("/api/jobs", {"title": "Export: reindex", "task": "sync_records",
                                         "args": {"records": 3}, "timeout": "10m",
                                         "notification_webhooks": ["https://hooks.example.org/x/SECRET"],
                                         "notification_statuses": ["FAILED"]}).json
        harvest = src.post("/api/jobs", {"title": "Export: harvest", "task": "sync_records",
                                         "schedule": {"type": "cron", "expression": "0 3 * * *"},
                                         "overlap": "skip", "max_retries": 2,
                                         "on_success": [reindex["id"]]}).json
        path = os.path.join(src.tmp, "jobs.json")
        self.ok("job", "export", "-o", path)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual((doc["format"], doc["version"]), ("sked-jobs", 1))
        # -o - is standard output, as import - reads standard input (it made a file "-")
        piped = json.loads(self.ok("job", "export", "-o", "-"))
        self.assertEqual([j["id"] for j in piped["jobs"]], [j["id"] for j in doc["jobs"]])
        self.assertFalse(os.path.exists("-"))
        by_title = {j["title"]: j for j in doc["jobs"]}
        self.assertEqual(by_title["Export: harvest"]["on_success"], [reindex["id"]])
        self.assertEqual(by_title["Export: reindex"]["notification_webhooks"],
                         ["https://hooks.example.org/x/SECRET"])
        with Sked() as dst:
            def cli_dst(*args):
                return self.cli(*args, url=dst.url)
            before = dst.get("/api/jobs").json["hits"]["total"]  # its prune job
            p = cli_dst("job", "import", path, "--dry-run")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("WOULD BE", p.stdout)
            self.assertRegex(p.stdout, r"created +Export: harvest")
            self.assertEqual(dst.get("/api/jobs").json["hits"]["total"], before)
            p = cli_dst("job", "import", path)
            self.assertEqual(p.returncode, 0, p.stderr)
            jobs = {j["title"]: j for j in dst.get("/api/jobs?size=100").json["hits"]["hits"]}
            h, r = jobs["Export: harvest"], jobs["Export: reindex"]
            self.assertNotEqual(h["id"], harvest["id"])
            self.assertEqual(h["on_success"], [r["id"]])  # mapped onto this server's ids
            self.assertEqual((h["schedule"], h["overlap"], h["max_retries"]),
                             (harvest["schedule"], "skip", 2))
            self.assertEqual((r["args"], r["timeout"], r["notification_webhooks"]),
                             ({"records": 3}, "10m", ["https://hooks.example.org/x/SECRET"]))
            # again: matched by title, nothing to change
            total = dst.get("/api/jobs").json["hits"]["total"]
            p = cli_dst("job", "import", path)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("created", p.stdout)
            self.assertNotIn("updated", p.stdout)
            self.assertEqual(dst.get("/api/jobs").json["hits"]["total"], total)
            # an edited file updates the job it names
            for j in doc["jobs"]:
                if j["title"] == "Export: reindex":
                    j["timeout"] = "20m"
            with open(path, "w") as f:
                json.dump(doc, f)
            dry = cli_dst("job", "import", path, "--dry-run")
            self.assertEqual(dry.returncode, 0, dry)
            self.assertRegex(dry.stdout, r"updated \(by title\) +Export: reindex")
            self.assertIn("\n'Export: reindex' (jobs[%d]) would change:\n"
                          "  timeout                \"10m\" \u2192 \"20m\"\n"
                          % [j["title"] for j in doc["jobs"]].index("Export: reindex"), dry.stdout)
            self.assertEqual(dst.get("/api/jobs/" + r["id"]).json["timeout"], "10m")
            p = cli_dst("job", "import", path)
            self.assertRegex(p.stdout, r"updated \(by title\) +Export: reindex")
            self.assertIn("' (jobs[", p.stdout)
            self.assertIn(") changed:\n  timeout                \"10m\" \u2192 \"20m\"\n", p.stdout)
            self.assertEqual(dst.get("/api/jobs/" + r["id"]).json["timeout"], "20m")
            # an object's change by its members, past what a whole object's 40 columns show
            long_sched = {"type": "crontab", "minute": "*/2", "hour": "1,2,3,4,5", "jitter": "90s"}
            for j in doc["jobs"]:
                if j["title"] == "Export: reindex":
                    j["schedule"] = long_sched
            with open(path, "w") as f:
                json.dump(doc, f)
            self.assertEqual(cli_dst("job", "import", path).returncode, 0)
            for j in doc["jobs"]:
                if j["title"] == "Export: reindex":
                    j["schedule"] = dict(long_sched, jitter="2m")
            with open(path, "w") as f:
                json.dump(doc, f)
            dry = cli_dst("job", "import", path, "--dry-run")
            self.assertIn("  schedule.jitter        \"90s\" \u2192 \"2m\"\n", dry.stdout)
            self.assertNotIn("schedule.minute", dry.stdout)
            # refused: the server's message names the job; the others still apply. A dry run
            # reports the same failures (a job type the server does not load, a job type
            # changed, a field out of range), in the same words and with the same exit status,
            # writing nothing: the server checks each change without making it
            bad = {"jobs": [{"title": "Bad", "task": "no_such_type"},
                            {"id": r["id"], "title": "Export: reindex", "task": "reindex"},
                            {"title": "Export: fine", "task": "sync_records"},
                            {"title": "Export: after bad", "task": "sync_records", "on_success": ["b"]},
                            {"title": "Export: too many", "task": "sync_records", "max_retries": 1000}]}
            bad["jobs"][0]["id"] = "b"
            with open(path, "w") as f:
                json.dump(bad, f)
            total = dst.get("/api/jobs").json["hits"]["total"]
            audited = dst.get("/api/audit").json["hits"]["total"]
            dry = cli_dst("job", "import", path, "--dry-run")
            self.assertEqual((dry.returncode, dst.get("/api/jobs").json["hits"]["total"],
                              dst.get("/api/audit").json["hits"]["total"]), (1, total, audited))
            self.assertRegex(dry.stdout, r"failed +Bad +-\n")
            self.assertRegex(dry.stdout, r"failed +Export: reindex +%s\n" % r["id"])
            self.assertRegex(dry.stdout, r"created +Export: fine +\(new 2\)\n")
            # made all the same, without the list that names a job not made
            self.assertRegex(dry.stdout, r"created without on_success +Export: after bad +\(new 3\)\n")
            p = cli_dst("job", "import", path)
            self.assertEqual(p.returncode, 1)
            self.assertIn("unknown job type 'no_such_type'", p.stderr)
            self.assertIn("'Bad' (jobs[0]): not created", p.stderr)
            self.assertIn("Export: fine", [j["title"] for j in dst.get("/api/jobs?size=100").json["hits"]["hits"]])
            self.assertIn("  task: unknown job type 'no_such_type' (see sked tasks)\n", p.stderr)
            self.assertIn("  task: unknown job type 'no_such_type' (see sked tasks)\n", dry.stderr)
            self.assertIn("'Bad' (jobs[0]): would not be created\n", dry.stderr)
            self.assertIn("  task: the job type of a job cannot be changed\n", p.stderr)
            self.assertIn("  task: the job type of a job cannot be changed\n", dry.stderr)
            self.assertIn("'Export: reindex' (jobs[1]): would not be updated\n", dry.stderr)
            self.assertIn("  max_retries: must be a whole number from 0 to 100", dry.stderr)
            self.assertIn("'Export: too many' (jobs[4]): would not be created\n", dry.stderr)
            self.assertIn("'Export: too many' (jobs[4]): not created\n", p.stderr)
            self.assertIn("on_success names 'Bad' (jobs[0]), which was not created", p.stderr)
            self.assertIn("on_success names 'Bad' (jobs[0]), which would not be created", dry.stderr)
            # the plan is what happened
            self.assertEqual([l.split()[0] for l in dry.stdout.splitlines()[1:]],
                             [l.split()[0] for l in p.stdout.splitlines()[1:]])
            self.assertEqual(dst.get("/api/jobs/" + r["id"]).json["task"], "sync_records")
            for text, needle in (('{"jobs": [{"title": "x"}]}', "jobs[0]: task: required"),
                                 ('{"jobs": 5}', 'expected an object with "jobs"'),
                                 ('{"jobs": [}', "line 1, column 11"),
                                 ('{"format": "other", "jobs": []}', "not a file of 'sked job export'"),
                                 ('{"jobs": [{"id": "a", "title": "x", "task": "t"}, {"id": "a", "title": "y", "task": "t"}]}',
                                  "jobs[1]: id: the file holds this id twice"),
                                 # a misspelt field would be dropped without a word
                                 ('{"jobs": [{"title": "x", "task": "t", "max_retires": 5}]}',
                                  "jobs[0]: max_retires: unknown field (a job's fields: id, title,")):
                with open(path, "w") as f:
                    f.write(text)
                p = cli_dst("job", "import", path)
                self.assertEqual(p.returncode, 1, (text, p))
                self.assertIn(needle, p.stderr, text)
            # an on_success naming a job neither in the file nor on the server
            with open(path, "w") as f:
                json.dump({"jobs": [{"title": "Orphan", "task": "sync_records",
                                     "on_success": ["0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b"]}]}, f)
            p = cli_dst("job", "import", path)
            self.assertEqual(p.returncode, 1)
            self.assertIn("neither in the file nor on the server", p.stderr)
            self.assertRegex(p.stdout, r"created without on_success +Orphan +[0-9a-f-]{36}\n")
        # jobs of one title pair in order of creation, so a second import changes nothing;
        # a server with some of that title, but not as many, gets none more
        with Sked() as dst:
            twins = {"jobs": [{"id": "from-elsewhere-%d" % k, "title": "Export: twin",
                               "task": "sync_records", "args": {"records": k}} for k in (1, 2)]}
            with open(path, "w") as f:
                json.dump(twins, f)
            for _ in range(2):
                p = self.cli("job", "import", path, url=dst.url)
                self.assertEqual(p.returncode, 0, p.stderr)
            twin = [j for j in dst.get("/api/jobs?size=100&sort=created&sort_direction=asc").json["hits"]["hits"]
                    if j["title"] == "Export: twin"]
            self.assertEqual([j["args"] for j in twin], [{"records": 1}, {"records": 2}])
            self.assertEqual([l.split()[0] for l in p.stdout.splitlines()[1:]], ["unchanged"] * 2)
            twins["jobs"].append(dict(twins["jobs"][0], id="third"))
            with open(path, "w") as f:
                json.dump(twins, f)
            p = self.cli("job", "import", path, url=dst.url)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("'Export: twin' (jobs[0]): the file has 3 job(s) of this title and the "
                          "server 2", p.stderr)
            self.assertEqual(len([j for j in dst.get("/api/jobs?size=100").json["hits"]["hits"]
                                  if j["title"] == "Export: twin"]), 2)
        # exported by a viewer, webhooks are left out (the server shows them cut)
        viewer = src.post("/api/users", {"username": "exporter", "role": "viewer"}).json
        tok = src.post("/api/users/%s/tokens" % viewer["id"], {"name": "x"}).json["token"]
        p = self.cli("job", "export", token=tok)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("left out", p.stderr)
        self.assertNotIn("hooks.example.org", p.stdout)


class TestDurations(CliCase):
    def test_a_duration_is_rounded_as_the_summary_of_recent_runs_rounds(self):
        """2.7 ms is 3ms in a run's show, its line in runs and its summary, as in job show's
        recent runs, which the server sums up to the millisecond (a server of the test's own
        answers, with durations of its choosing)."""
        job_id, run_id = "0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b", "019ad7e8-1c2d-7e4f-9a6b-0b6e4c4e8e8f"
        durations = {0.0027: "3ms", 0.9996: "1.0s", 12.96: "13.0s", 59.96: "1m00s", 754.6: "12m35s",
                     3599.6: "1h00m", 7649.0: "2h07m"}

        def run(d):
            return {"id": run_id, "job_id": job_id, "job_title": "Timed", "status": "SUCCESS",
                    "queue": "default", "args": {}, "duration": d, "created": "2026-12-01T00:00:00Z"}
        for d, want in durations.items():
            def answer(method, path, d=d):
                if path.startswith("/api/runs?"):
                    return 200, {"hits": {"hits": [run(d)], "total": 1}}
                if path.startswith("/api/jobs/%s/runs?" % job_id):
                    return 200, {"hits": {"hits": [run(d)], "total": 1}}
                if path == "/api/jobs/%s/runs/%s" % (job_id, run_id):
                    return 200, run(d)
                return 404, {"status": 404, "message": "not here"}
            url, stop = serve_json(answer)
            try:
                shown = self.cli("run", "show", run_id, url=url)
                table = self.cli("runs", "--all", url=url)
            finally:
                stop()
            self.assertIn("\nDuration      %s\n" % want, shown.stdout, (d, shown))
            head, row = table.stdout.splitlines()
            self.assertEqual(row[head.index("DURATION"):].split()[0], want, (d, table))


class TestRunAgain(CliCase):
    def test_a_run_again_gets_what_the_run_got(self):
        """Its arguments as it received them (a since of null stays null, not the start of
        the last success a new run would get), its window's end, title and queue."""
        job = self.create("Again", "sync_records", "--arg", "records=3")
        first = self.s.wait_run(self.s.run_job(job["id"], title="First pass", queue="low"),
                                ["SUCCESS"])
        self.assertIsNone(first["args"]["since"])  # no success before it
        again = self.ok_json("run", "again", first["id"][:13], "--json")
        self.assertNotEqual(again["id"], first["id"])
        self.assertEqual((again["job_id"], again["title"], again["queue"], again["args"]),
                         (job["id"], "First pass", "low", first["args"]))
        # a window of its own (a backfill's) again, with a title and queue given instead
        windowed = self.s.wait_run(self.s.run_job(
            job["id"], args={"records": 2, "since": "2026-11-01T08:30:00Z"},
            until="2026-11-02T00:00:00Z"), ["SUCCESS"])
        out = self.ok("run", "again", windowed["id"], "--title", "Redo", "--queue", "default")
        made = re.match(r"^started run (\S+) \((QUEUED|RUNNING)\) of job Again, again as run %s\n"
                        r"follow it with: sked logs \1 -f\n$" % windowed["id"], out)
        self.assertTrue(made, out)
        redo = self.s.wait_run(self.s.get_run(dict(windowed, id=made.group(1))), ["SUCCESS"])
        self.assertEqual((redo["title"], redo["queue"], redo["until"], redo["args"]),
                         ("Redo", "default", windowed["until"], windowed["args"]))
        # and followed to its end
        p = self.cli("run", "again", first["id"], "--wait")
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(" SUCCESS after ", p.stdout)

    def test_the_run_of_a_deleted_job_is_said_so(self):
        """Its runs go with a job, oldest first: one still listed while its job is gone is
        refused in words that say so (a server of the test's own answers as then)."""
        job_id, run_id = "0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b", "019ad7e8-1c2d-7e4f-9a6b-0b6e4c4e8e8f"
        run = {"id": run_id, "job_id": job_id, "job_title": "Gone", "status": "SUCCESS",
               "title": None, "queue": "default", "args": {"since": None}, "until": None}
        posted = []

        def answer(method, path):
            if method == "POST":
                posted.append(path)
                return 500, {}
            if path.startswith("/api/runs?"):
                return 200, {"hits": {"hits": [run], "total": 1}}
            if path == "/api/jobs/%s/runs/%s" % (job_id, run_id):
                return 200, run
            return 404, {"status": 404, "message": "Job with ID %s does not exist." % job_id}
        url, stop = serve_json(answer)
        try:
            p = self.cli("run", "again", run_id[:13], url=url)
        finally:
            stop()
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (1, "", "sked run again: the job of run %s ('Gone', %s) has been deleted: "
                                 "there is no job to run again\n" % (run_id, job_id)))
        self.assertEqual(posted, [])


class TestRuns(CliCase):
    def test_run_wait_succeeds_and_prints_the_log(self):
        self.create("Wait ok", "sync_records", "--arg", "records=5")
        p = self.cli("job", "run", "Wait ok", "--wait")
        self.assertEqual(p.returncode, 0, p)
        lines = p.stdout.splitlines()
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO     stdout "
                                   r"synchronising 5 record\(s\)")
        self.assertTrue(any("finished: " in l for l in lines), p.stdout)
        self.assertRegex(lines[-1], r"^run [0-9a-f-]{36} SUCCESS after ")

    def test_run_wait_fails_on_partial_success(self):
        self.create("Wait partial", "sync_records", "--arg", "records=6", "--arg", "reject_every=3")
        p = self.cli("job", "run", "Wait partial", "--wait")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(" WARNING  stdout record 3 rejected by the catalogue: ", p.stdout)
        self.assertIn("PARTIAL_SUCCESS", p.stdout.splitlines()[-1])
        self.assertIn("2 errored", p.stdout.splitlines()[-1])

    def test_run_wait_json_prints_the_ended_run(self):
        self.create("Wait json", "sync_records", "--arg", "records=2")
        p = self.cli("job", "run", "Wait json", "--wait", "--json")
        self.assertEqual(p.returncode, 0, p)
        run = json.loads(p.stdout)
        self.assertEqual(run["status"], "SUCCESS")
        self.assertIn("synchronising 2 record(s)", p.stderr)

    def test_backfill_and_until(self):
        job = self.create("Backfill me", "sync_records", "--arg", "records=1")
        p = self.cli("job", "backfill", "Backfill me", "--from", "2026-03-01T00:00Z",
                     "--to", "2026-03-03T06:00Z", "--step", "1d", "--dry-run")
        self.assertEqual(p.returncode, 0, p)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["SINCE", "UNTIL", "RUN", "STATUS"])
        self.assertEqual(len(lines), 5, p.stdout)
        self.assertIn("3 window(s) of 1d on queue default; nothing started", lines[-1])
        self.assertEqual(self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 0)
        out = self.ok_json("job", "backfill", job["id"], "--from", "2026-03-01T00:00Z",
                           "--to", "2026-03-03T06:00Z", "--step", "1d", "--title", "again", "--json")
        self.assertEqual((out["total"], out["dry_run"]), (3, False))
        runs = [self.s.wait_run(self.s.get("/api/jobs/%s/runs/%s" % (job["id"], w["id"])).json)
                for w in out["runs"]]
        self.assertEqual([(r["status"], r["trigger"], r["title"]) for r in runs],
                         [("SUCCESS", "backfill", "again")] * 3)
        self.assertEqual(runs[2]["until"], "2026-03-03T06:00:00.000000+00:00")
        self.assertRegex(self.ok("run", "show", runs[2]["id"]),
                         r"(?m)^Window +Mar 03 00:00 to Mar 03 06:00$")
        self.usage_fails("job", "backfill", "Backfill me", "--from", "2026-03-01",
                         expect="give --from (where the first window starts) and --step")
        self.usage_fails("job", "backfill", "Backfill me", "--from", "2026-03-01", "--step", "daily",
                         expect="--step: expected a duration")
        p = self.cli("job", "backfill", "Backfill me", "--from", "2026-03-01", "--step", "1s")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("at most 1000 a backfill", p.stderr)
        run = self.ok_json("job", "run", job["id"], "--since", "2026-02-01T00:00Z", "--until",
                           "2026-02-02T00:00Z", "--json")
        self.assertEqual((run["args"]["since"], run["until"]),
                         ("2026-02-01T00:00:00.000000+00:00", "2026-02-02T00:00:00.000000+00:00"))

    def test_alert_after(self):
        job = self.create("Must succeed", "sync_records", "--alert-after", "26h")
        self.assertEqual(job["alert_after"], "1d2h")
        out = self.ok("job", "show", job["id"])
        self.assertRegex(out, r"(?m)^Alert +after 1d2h without a success$")
        self.ok("job", "update", job["id"], "--alert-after", "none")
        self.assertRegex(self.ok("job", "show", job["id"]), r"(?m)^Alert +none$")
        self.usage_fails("job", "update", job["id"], "--alert-after", "soon",
                         expect="--alert-after: expected a duration")

    def test_job_stop(self):
        job = self.create("Stop them", "reindex", "--arg", "steps=600", "--arg", "step_seconds=0.1")
        runs = [self.s.run_job(job["id"]) for _ in range(2)]
        self.usage_fails("job", "stop", "Stop them",
                         expect="stdin is not a terminal to confirm on; pass --yes to stop")
        out = self.ok("job", "stop", "Stop them", "--yes")
        self.assertRegex(out, r"^stopped 2 run\(s\) of job Stop them: ")
        for r in runs:
            self.assertEqual(self.s.wait_run(r)["status"], "CANCELLED")
        self.assertEqual(self.ok_json("job", "stop", job["id"], "--yes", "--queued", "--json"), [])
        p = self.cli("job", "stop", job["id"], "--yes", "--trigger", "cron")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("must be manual, scheduled, retry, chained or backfill", p.stderr)

    def test_run_arguments(self):
        job = self.create("Run args", "sync_records", "--arg", "records=4", "--arg", "mode=update")
        run = self.ok_json("job", "run", job["id"], "--arg", "reject_every=2", "--arg",
                           "mode=\"insert-only\"", "--since", "2024-05-01", "--title", "by hand",
                           "--json")
        self.assertEqual(run["title"], "by hand")
        self.assertEqual(run["args"]["records"], 4)  # saved, kept
        self.assertEqual(run["args"]["reject_every"], 2)  # parsed as JSON: a number
        self.assertEqual(run["args"]["mode"], "insert-only")
        self.assertTrue(run["args"]["since"].startswith("2024-05-01T00:00:00"))
        self.s.wait_run(run)
        run = self.ok_json("job", "run", job["id"], "--custom-args", '{"only": "this"}', "--json")
        self.assertEqual(run["args"], {"only": "this"})
        self.s.wait_run(run)
        # @- and @FILE: objects longer than one argument of a command line (128 KiB) may be
        big = {"blob": "x" * 200000}
        run = self.ok_json("job", "run", job["id"], "--custom-args", "@-", "--json",
                           stdin=json.dumps(big))
        self.assertEqual(run["args"], big)
        self.s.wait_run(run)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"records": 2, "mode": "update"}, f)
            f.flush()
            made = self.ok_json("job", "create", "--title", "From a file", "--task", "sync_records",
                                "--args-json", "@" + f.name, "--json")
            self.assertEqual((made["args"]["records"], made["args"]["mode"]), (2, "update"))
        p = self.cli("job", "run", job["id"], "--custom-args", "@/nonexistent/args.json")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--custom-args @/nonexistent/args.json: cannot read it: No such file or "
                      "directory", p.stderr)
        p = self.cli("job", "run", job["id"], "--custom-args", "@/tmp")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--custom-args @/tmp: cannot read it: Is a directory", p.stderr)
        p = self.cli("job", "run", job["id"], "--custom-args", "@/dev/zero")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--custom-args @/dev/zero: cannot read it: File too large", p.stderr)
        out = self.ok("job", "run", job["id"])
        self.assertRegex(out, r"started run [0-9a-f-]{36} \(\w+\) of job Run args")

    def test_runs_list_and_run_show(self):
        job = self.create("Listed", "sync_records", "--arg", "records=3")
        first = self.s.wait_run(self.s.run_job(job["id"]))
        second = self.s.wait_run(self.s.run_job(job["id"], args={"records": 4, "reject_every": 2}))
        out = self.ok("runs", "Listed")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "STATUS", "TRIGGER", "CREATED", "DURATION",
                                            "TITLE", "MESSAGE"])
        # newest first, each by the short id of a run: through its creation's millisecond
        self.assertTrue(lines[1].startswith(second["id"][:13] + " "))
        self.assertIn("PARTIAL_SUCCESS", lines[1])
        self.assertTrue(lines[2].startswith(first["id"][:13] + " "))
        self.assertIn("SUCCESS", lines[2])
        only = self.ok_json("runs", job["id"], "--status", "success", "--json")
        self.assertEqual([r["id"] for r in only["hits"]["hits"]], [first["id"]])
        self.assertEqual(len(self.ok_json("runs", "Listed", "--size", "1", "--json")["hits"]["hits"]), 1)

        # every job's runs, with their job; by the start of an id, a title, a time
        other = self.create("Listed too", "sync_records", "--arg", "records=1")
        third = self.s.wait_run(self.s.run_job(other["id"], title="the other one"))
        lines = self.ok("runs", "--all", "--size", "1000").splitlines()
        self.assertEqual(lines[0].split(), ["ID", "JOB", "STATUS", "TRIGGER", "CREATED",
                                            "DURATION", "TITLE", "MESSAGE"])
        # (the column is as wide as the longest short id other tests' runs need)
        self.assertRegex(lines[1], "^" + third["id"][:13] + r" +Listed too ")
        every = self.ok_json("runs", "-a", "--size", "1000", "--json")["hits"]
        self.assertEqual(every["total"], self.s.get("/api/runs").json["hits"]["total"])
        self.assertTrue({first["id"], second["id"], third["id"]} <=
                        {r["id"] for r in every["hits"]})
        found = self.ok_json("runs", "--all", "--search", "other one", "--json")["hits"]["hits"]
        self.assertEqual([r["id"] for r in found], [third["id"]])
        found = self.ok_json("runs", "Listed", "--search", first["id"][:18], "--json")
        self.assertEqual([r["id"] for r in found["hits"]["hits"]], [first["id"]])
        self.assertEqual(self.ok_json("runs", "--all", "--since", "2999-01-01", "--json")
                         ["hits"]["total"], 0)
        self.assertEqual(self.ok_json("runs", "Listed", "--since", "2000-01-01", "--json")
                         ["hits"]["total"], 2)
        self.usage_fails("runs", expect="missing JOB (or --all")
        self.usage_fails("runs", "Listed", "--all", expect="give it no JOB")
        self.usage_fails("runs", "--all", "--since", "soon", expect="--since")

        shown = self.ok("run", "show", second["id"])
        self.assertIn("PARTIAL_SUCCESS", shown)
        self.assertIn(job["id"], shown)
        self.assertRegex(shown, r"Entries +4 total, \d+ inserted, \d+ updated, 2 errored")
        # the short id the tables show is enough; less than a minute apart, 8 characters are not
        self.assertEqual(self.ok_json("run", "show", first["id"][:13], "--json")["id"], first["id"])
        p = self.cli("run", "show", first["id"][:8])
        self.assertEqual(p.returncode, 1)
        self.assertIn("have ids starting with %s; give more of it" % first["id"][:8], p.stderr)
        p = self.cli("run", "show", "00000000-0000-4000-8000-000000000000")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no run has the id", p.stderr)
        p = self.cli("run", "show", first["id"][:3])
        self.assertEqual(p.returncode, 2)
        self.assertIn("its first 4 or more characters", p.stderr)


class TestLogs(CliCase):
    def test_logs_prints_every_line(self):
        job = self.create("Logged", "sync_records", "--arg", "records=4", "--arg", "reject_every=2")
        run = self.s.wait_run(self.s.run_job(job["id"]))
        api_lines = self.s.logs(run, limit=1000)
        out = self.ok("logs", run["id"]).splitlines()
        self.assertEqual(len(out), len(api_lines))
        for text, line in zip(out, api_lines):
            # time, level and stream in columns of their own, then the message
            self.assertEqual(text[24:], "%-8s %-6s %s" % (line["level"], line["stream"],
                                                          line["message"]), (text, line))
        warn = self.ok("logs", run["id"], "--level", "warning").splitlines()
        self.assertEqual(len(warn), 2)
        self.assertTrue(all("rejected" in l for l in warn))
        js = [json.loads(l) for l in self.ok("logs", run["id"], "--json").splitlines()]
        self.assertEqual([l["seq"] for l in js], [l["seq"] for l in api_lines])

    def test_a_line_redrawn_with_carriage_returns_reads_as_a_terminal_shows_it(self):
        """A progress bar redrawn with \r is printed as its last state laid over the earlier
        ones, not cut at its first \r; --json keeps the line as stored."""
        script = r"printf 'cr1\rcr2\rcr3\r\n'; printf 'loading  10%%\rloading 100%%\n'; printf 'abcdef\rXY\n'"
        with Sked(tasks={"bar.json": skedtest.sh_task("bar", script)}) as s:
            run = s.wait_run(s.run_job(s.create_job("bar")["id"]))
            out = [l[24:].split(None, 2)[2] for l in self.cli("logs", run["id"], url=s.url).stdout.splitlines()]
            self.assertEqual(out, ["cr3", "loading 100%", "XYcdef"])
            js = [json.loads(l)["message"] for l in
                  self.cli("logs", run["id"], "--json", url=s.url).stdout.splitlines()]
            self.assertEqual(js, ["cr1\rcr2\rcr3", "loading  10%\rloading 100%", "abcdef\rXY"])

    def test_logs_pages_through_long_logs(self):
        job = self.create("Long log", "reindex", "--arg", "steps=1500", "--arg", "step_seconds=0")
        run = self.s.wait_run(self.s.run_job(job["id"]), ["SUCCESS"], timeout=60)
        out = self.ok("logs", run["id"]).splitlines()
        self.assertEqual(len(out), 1502)  # the first line, 1500 segments, the last line
        self.assertIn("segment 1500 rebuilt", out[-2])

    def test_follow_prints_a_running_run_to_its_end(self):
        job = self.create("Followed", "reindex", "--arg", "steps=8", "--arg", "step_seconds=0.25")
        run = self.s.run_job(job["id"])
        self.assertIn(self.s.get_run(run)["status"], ("QUEUED", "RUNNING"))
        started = time.time()
        p = self.cli("logs", run["id"], "-f")
        self.assertEqual(p.returncode, 0, p)
        self.assertGreater(time.time() - started, 1.0)  # it waited for the run
        text = p.stdout
        for i in range(1, 9):
            self.assertIn("segment %d rebuilt" % i, text)
        self.assertLess(text.index("segment 1 rebuilt"), text.index("segment 8 rebuilt"))
        self.assertIn("index rebuilt", text)
        self.assertRegex(text.splitlines()[-1], r"^run %s SUCCESS after " % run["id"])
        self.assertEqual(self.s.get_run(run)["status"], "SUCCESS")

    def follow_fake(self, run, stream):
        """sked logs RUN -f against a server of the test's own that knows run alone: its log
        stream's answer is stream(n) for the n-th stream request, (status, SSE text or JSON
        document). Returns the finished process and the paths of the stream requests."""
        streams = []

        class Fake(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, kind = 200, "application/json"
                if "/logs/stream" in self.path:
                    streams.append(self.path)
                    status, doc = stream(len(streams))
                    if isinstance(doc, str):
                        kind, body = "text/event-stream", doc.encode()
                    else:
                        body = json.dumps(doc).encode()
                elif self.path.startswith("/api/runs?"):
                    body = json.dumps({"hits": {"hits": [run], "total": 1}, "links": {}}).encode()
                else:
                    body = json.dumps(run).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            p = self.cli("logs", run["id"], "-f", timeout=30,
                         url="http://127.0.0.1:%d" % srv.server_address[1])
        finally:
            srv.shutdown()
            srv.server_close()
        return p, streams

    FAKE_LINE = {"seq": 1, "level": "INFO", "stream": "stdout", "message": "one",
                 "timestamp": "2026-12-02T09:00:00Z"}

    def test_follow_of_a_run_deleted_before_its_log_was_sent_says_so(self):
        """A stream that ends `deleted` (the run was deleted while the stream was behind: the
        lines not sent are gone) ends the follow with exit 1 and a word on what was lost; it
        is not taken for a stream cut short and reconnected."""
        run = {"id": "0190f0a0-0000-7000-8000-000000000001", "status": "RUNNING",
               "job_id": "5f0c5c8e-1111-4222-8333-444455556666", "job_title": "t", "title": None,
               "queue": "default"}
        stream = ("retry: 2000\n\nevent: status\ndata: %s\n\nid: 1\nevent: log\ndata: %s\n\n"
                  "event: deleted\ndata: %s\n\nevent: end\ndata: {}\n\n"
                  % (json.dumps({"status": "RUNNING", "run": run}), json.dumps(self.FAKE_LINE),
                     json.dumps({"message": "the run was deleted", "after": 1})))
        p, streams = self.follow_fake(run, lambda n: (200, stream))
        self.assertEqual(p.returncode, 1, p)
        self.assertTrue(p.stdout.endswith("INFO     stdout one\n"), p.stdout)
        self.assertEqual(p.stderr, "sked: run %s was deleted before its whole log was read: the "
                                   "lines after line 1 are gone with it\n" % run["id"])
        self.assertEqual(len(streams), 1, streams)

    def test_follow_of_a_stream_cut_before_its_end_does_not_say_the_run_ended(self):
        """A stream of an ended run starts with its final status; cut before its `end` (the
        store failed to read the rest), the follow must not take the lines it got for the whole
        log: it reads on, and says what the server answers then."""
        run = {"id": "0190f0a0-0000-7000-8000-000000000002", "status": "SUCCESS",
               "job_id": "5f0c5c8e-1111-4222-8333-444455556666", "job_title": "t", "title": None,
               "queue": "default", "started_at": "2026-12-02T09:00:00Z",
               "finished_at": "2026-12-02T09:00:01Z"}
        cut = ("event: status\ndata: %s\n\nid: 1\nevent: log\ndata: %s\n\n"
               % (json.dumps({"status": "SUCCESS", "run": run}), json.dumps(self.FAKE_LINE)))
        failed = {"status": 503, "message": "the store failed; see the server log"}
        # the store cannot be read when the follow reads on
        p, streams = self.follow_fake(run, lambda n: (200, cut) if n == 1 else (503, failed))
        self.assertNotEqual(p.returncode, 0, p)
        self.assertNotIn("SUCCESS", p.stdout)
        self.assertIn("the store failed", p.stderr)
        self.assertEqual(streams[1].split("after=")[1], "1", streams)  # on after the line it had

    def test_follow_stop_ends_cancelled_and_exits_1(self):
        job = self.create("Stopped", "reindex", "--arg", "steps=1000", "--arg", "step_seconds=0.1")
        run = self.ok_json("job", "run", "Stopped", "--json")
        self.s.wait_run(run, ["RUNNING"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update(SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
        follower = subprocess.Popen([skedtest.BIN, "logs", run["id"], "--follow"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = follower.stdout.readline()  # the follower is live before the stop
            self.assertIn("rebuilding 1000 segment(s)", first)
            out = self.ok("stop", run["id"][:13])
            self.assertRegex(out, r"^run %s is (CANCELLING|CANCELLED)$" % run["id"])
            rest, err = follower.communicate(timeout=30)
        finally:
            if follower.poll() is None:
                follower.kill()
        self.assertEqual(follower.returncode, 1, err)
        self.assertIn("stop requested", rest)
        self.assertRegex(rest.splitlines()[-1], r"^run %s CANCELLED after " % run["id"])
        self.assertEqual(self.s.get_run(run)["status"], "CANCELLED")
        self.assertIsNotNone(job)
        # an ended run is not stopped again, and that is no failure (see TestStopEnded)
        p = self.cli("stop", run["id"])
        self.assertEqual((p.returncode, p.stdout),
                         (0, "run %s has already ended: CANCELLED (nothing to stop)\n" % run["id"]), p)


    def test_a_second_stop_of_a_stopping_run_is_no_failure(self):
        tasks = {"stubborn.json": skedtest.sh_task("stubborn", "trap '' TERM; sleep 30",
                                                   stop_grace="3s")}
        with Sked(tasks=tasks) as s:
            run = s.run_job(s.create_job("stubborn")["id"])
            s.wait_run(run, ["RUNNING"])
            time.sleep(0.2)  # the shell has set its trap
            self.assertEqual(self.cli("stop", run["id"], url=s.url).stdout,
                             "run %s is CANCELLING\n" % run["id"])
            p = self.cli("stop", run["id"], url=s.url)
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (0, "run %s is CANCELLING\n" % run["id"], ""))
            self.assertEqual(json.loads(self.cli("stop", run["id"], "--json", url=s.url).stdout)["id"],
                             run["id"])
            self.assertEqual(s.wait_run(run)["status"], "CANCELLED")  # killed after its grace

class TestWaiting(CliCase):
    """A run that waits says why; a running one shows its progress on a terminal."""

    def first_line(self, proc, timeout=30):
        """The first line proc writes on stderr; fails instead of hanging when none comes."""
        import select
        ready, _, _ = select.select([proc.stderr], [], [], timeout)
        if not ready:
            proc.kill()
            proc.communicate()
            self.fail("nothing on stderr within %ss" % timeout)
        return proc.stderr.readline()

    def test_a_run_on_a_paused_queue_says_why_it_waits(self):
        job = self.create("Waits for low", "reindex", "--queue", "low", "--arg", "steps=1",
                          "--arg", "step_seconds=0")
        self.ok("queues", "pause", "low", "--reason", "maint")
        try:
            follower = self.popen("job", "run", job["id"], "--wait")
            try:
                self.assertEqual(self.first_line(follower),
                                 "waiting: queue 'low' is paused (maint); sked queues resume low\n")
                run = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
                self.assertEqual(run["status"], "QUEUED")
                shown = self.ok("run", "show", run["id"])
                self.assertIn("\nWaiting       queue 'low' is paused (maint); sked queues resume "
                              "low\n", shown)
                p = self.popen("logs", run["id"], "-f")
                self.assertEqual(self.first_line(p),
                                 "waiting: queue 'low' is paused (maint); sked queues resume low\n")
            finally:
                self.ok("queues", "resume", "low")
            out, err = follower.communicate(timeout=60)
            self.assertEqual(follower.returncode, 0, (out, err))
            self.assertRegex(out.splitlines()[-1], r"^run \S+ SUCCESS")
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, (out, err))
            self.assertNotIn("Waiting", self.ok("run", "show", run["id"]))
        finally:
            self.s.post("/api/queues/low/actions/resume")

    def test_a_run_behind_a_full_queue_waits_for_a_slot(self):
        job = self.create("Fills low", "reindex", "--queue", "low", "--arg", "steps=1000",
                          "--arg", "step_seconds=0.1")
        first = self.s.run_job(job["id"])
        try:
            self.s.wait_run(first, ["RUNNING"])
            follower = self.popen("job", "run", job["id"], "--wait")
            self.assertEqual(self.first_line(follower),
                             "waiting for a free slot in queue 'low' (1 of 1 busy)\n")
            second = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
            self.assertIn("\nWaiting       for a free slot in queue 'low' (1 of 1 busy)\n",
                          self.ok("run", "show", second["id"]))
            self.s.stop_run(second)
            follower.communicate(timeout=60)
            self.assertEqual(follower.returncode, 1)
        finally:
            self.s.post("/api/jobs/%s/runs/%s/actions/stop" % (first["job_id"], first["id"]))
            self.s.wait_run(first)

    def test_a_held_run_and_a_retry_say_what_they_wait_for(self):
        # a retry waits for its backoff
        job = self.create("Calls nowhere", "http_call", "--arg", "url=http://127.0.0.1:1/",
                          "--retries", "1", "--retry-backoff", "1h")
        failed = self.s.wait_run(self.s.run_job(job["id"]))
        self.assertEqual(failed["status"], "FAILED")
        retry = skedtest.wait_for(lambda: [r for r in self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
                                  if r["trigger"] == "retry"])[0]
        self.assertRegex(self.ok("run", "show", retry["id"]), r"\nWaiting       a retry, waiting until \S")
        self.s.post("/api/jobs/%s/runs/%s/actions/stop" % (job["id"], retry["id"]))
        # a scheduled run held behind its job's running one (overlap queue_one)
        job = self.create("Holds", "reindex", "--arg", "steps=1000", "--arg", "step_seconds=0.1",
                          "--overlap", "queue_one")
        self.s.patch("/api/jobs/" + job["id"], {"schedule": {"type": "interval", "seconds": 1}})
        try:
            held = skedtest.wait_for(lambda: [r for r in self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
                                     if r["held"]], timeout=15)[0]
            self.assertIn("\nWaiting       for its job's running run to end (the job's overlap "
                          "policy)\n", self.ok("run", "show", held["id"]))
        finally:
            self.s.patch("/api/jobs/" + job["id"], {"active": False})
            for r in self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]:
                if r["status"] in ("QUEUED", "RUNNING"):
                    self.s.post("/api/jobs/%s/runs/%s/actions/stop" % (job["id"], r["id"]))

    def test_progress_is_one_line_on_a_terminal_and_readable_in_show(self):
        import re
        job = self.create("Progresses", "reindex", "--arg", "steps=100000", "--arg",
                          "step_seconds=0.02")
        master, slave = os.openpty()
        tty = b""
        try:
            p = self.popen("job", "run", job["id"], "--wait", stderr=slave)
            os.close(slave)
            slave = None
            # the progress line shows up while the run goes on; then the run is stopped
            tty = pty_until(master, tty, lambda t: re.search(
                rb"\r\x1b\[Krunning: \d+ of 100000 \(\d+%\)", t))
            run = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
            self.s.stop_run(run)
            self.assertRegex(tty, rb"\r\x1b\[Krunning: \d+ of 100000 \(\d+%\)")
            out, _ = p.communicate(timeout=60)
            tty = pty_rest(master, tty)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(p.returncode, 1, (out, tty))
        text = tty.decode()
        self.assertNotIn("\n", text.replace("\r\n", ""))  # one line, drawn over
        self.assertTrue(text.endswith("\r\x1b[K"), text)  # and taken away at the end
        self.assertNotIn("running:", out)  # the log and the summary stay clean
        self.assertIn("segment 1 rebuilt", out)
        # not a terminal: no progress line at all; show prints the progress readably
        job = self.create("Progresses briefly", "reindex", "--arg", "steps=4", "--arg",
                          "step_seconds=0")
        p = self.cli("job", "run", job["id"], "--wait")
        self.assertEqual(p.returncode, 0, p)
        self.assertNotIn("running:", p.stderr)
        run = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
        self.assertIn("\nProgress      4 of 4 (100%)\n", self.ok("run", "show", run["id"]))


class TestExitCodes(CliCase):
    def test_usage_errors_exit_2(self):
        self.usage_fails("job", "list", "--bogus", expect="unknown option '--bogus'")
        self.usage_fails("job", "list", "--page", expect="option --page needs a value")
        self.usage_fails("job", "create", "--title", "t", "--task", "sync_records", "--arg",
                         "records=999999999999999999999999", expect="the number is out of range")
        self.usage_fails("job", "show", "", expect="JOB is empty")
        # a value given twice would silently win: refused, lists (--arg) aside
        self.usage_fails("job", "create", "--title", "a", "--title", "b", "--task", "sync_records",
                         expect="option --title is given twice; give it once")
        self.usage_fails("job", "list", "--url", self.s.url, "--url=" + self.s.url,
                         expect="option --url is given twice")
        self.assertEqual(self.s.get("/api/jobs?q=Twice").json["hits"]["total"], 0)
        made = self.ok_json("job", "create", "--title", "Twice", "--task", "sync_records",
                            "--arg", "records=1", "--arg", "mode=insert-only",
                            "--notify-email", "a@example.org", "--notify-email", "b@example.org", "--json")
        self.assertEqual((made["args"], made["notification_emails"]),
                         ({"records": 1, "mode": "insert-only"}, ["a@example.org", "b@example.org"]))
        self.usage_fails("job", "list", "--size", "0", expect="--size must be a whole number")
        self.usage_fails("job", "create", "--task", "sync_records", expect="--title is required")
        self.usage_fails("job", "create", "--title", "t", "--task", "sync_records", "--arg",
                         "records", expect="--arg needs KEY=VALUE, not 'records'")
        p = self.usage_fails("job", "create", "--title", "t", "--task", "sync_records",
                             "--custom-args", '{"a": 1,}', expect="--custom-args: malformed JSON")
        self.assertIn("line 1, column", p.stderr)
        self.usage_fails("job", "create", "--title", "t", "--task", "sync_records",
                         "--args-json", "[1]", expect="--args-json must be a JSON object")
        self.usage_fails("job", "create", "--title", "t", "--task", "reindex", "--timeout",
                         "soon", expect="--timeout")
        self.usage_fails("job", "show", expect="missing JOB")
        self.usage_fails("job", "show", "a", "b", expect="only one JOB")
        self.usage_fails("job", "update", "x", expect="nothing to change")
        self.usage_fails("job", "list", "--active", "--inactive", expect="exclude each other")
        self.usage_fails("job", "frobnicate", expect="unknown command 'frobnicate'")
        self.usage_fails("job", "run", "x", "--since", "last tuesday", expect="--since")
        self.usage_fails("runs", "x", "--status", "DONE", expect="unknown status 'DONE'")
        self.usage_fails("logs", "abcd", "--level", "LOUD", expect="--level must be")
        self.usage_fails("tasks", "extra", expect="unexpected argument 'extra'")
        self.usage_fails("tasks", "--url", "ftp://host", expect="must start with http://")
        p = self.cli("job")
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: sked job COMMAND", p.stderr)
        p = self.cli("nonsense")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'nonsense'", p.stderr)

    def test_connection_options_and_json_may_come_before_the_command(self):
        """sked --url URL --token T --json tasks is sked tasks with them; a `--` ends the
        command's options whichever side they came from; other options before the command are
        refused naming those that may come there."""
        want = self.ok("tasks", "--json")
        self.assertEqual(self.ok("--url", self.s.url, "--token=" + skedtest.TOKEN, "--json",
                                 "tasks", url="http://127.0.0.1:1", token=None), want)
        job = self.create("hoisted options")
        got = self.ok("--url=" + self.s.url, "--json", "job", "show", "--", job["id"],
                      url="http://127.0.0.1:1")
        self.assertEqual(json.loads(got)["id"], job["id"])
        # the token before the command is sent: a wrong one is refused by the server
        p = self.cli("--token", "not-a-token", "tasks", token=None)
        self.assertEqual(p.returncode, 1, p)
        p = self.cli("--page", "2", "job", "list")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("unknown option '--page' before the command: only --url, --token, "
                      "--cacert, --db and --json may come before it", p.stderr)
        for args, expect in ((["--url"], "option --url needs a value"),
                             (["--json"], "a command is missing after the options"),
                             # `--` after the options: once recursed until the stack overflowed
                             (["--json", "--", "tasks"], "a command is missing after the options"),
                             (["--url", "http://127.0.0.1:1", "--", "job", "list"],
                              "a command is missing after the options"),
                             (["--token", "t", "user", "list"], "unknown option '--token'")):
            p = self.cli(*args)
            self.assertEqual(p.returncode, 2, (args, p))
            self.assertIn(expect, p.stderr)

    def test_help_on_every_command(self):
        for cmd in (["job"], ["job", "list"], ["job", "show"], ["job", "create"],
                    ["job", "update"], ["job", "delete"], ["job", "run"], ["runs"], ["run"],
                    ["run", "show"], ["logs"], ["stop"], ["tasks"], ["queues"], ["audit"]):
            for flag in ("--help", "-h"):
                p = self.cli(*(cmd + [flag]), url="http://127.0.0.1:1")
                self.assertEqual(p.returncode, 0, (cmd, p))
                self.assertIn("usage: sked " + " ".join(cmd), p.stdout)
                self.assertEqual(p.stderr, "")
        self.assertIn("--wait", self.cli("job", "run", "--help").stdout)
        self.assertIn("--follow", self.cli("logs", "-h").stdout)
        # each client command with a help of its own is named in sked --help
        top = self.cli("--help").stdout
        for cmd in ("run show RUN", "run again RUN", "logs RUN", "stop RUN", "job backfill",
                    "job stop", "job export|import"):
            self.assertIn("\n  " + cmd + " ", top)
        p = self.cli("version", "--help")
        self.assertEqual((p.returncode, p.stdout.splitlines()[0]), (0, "usage: sked version"))
        self.assertEqual(self.cli("version", "now").returncode, 2)

    def test_help_command_and_group_help(self):
        """sked help COMMAND is COMMAND --help; every group points to its commands' help."""
        for cmd in (["job"], ["job", "run"], ["user"], ["token", "list"], ["cron", "next"],
                    ["queues"], ["serve"]):
            want = self.cli(*(cmd + ["--help"]))
            got = self.cli("help", *cmd)
            self.assertEqual((got.returncode, got.stdout, got.stderr),
                             (0, want.stdout, want.stderr), cmd)
            self.assertIn("usage: sked " + " ".join(cmd), got.stdout)
        p = self.cli("help", "nonsense")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'nonsense'", p.stderr)
        for group in ("job", "user", "token", "cron"):
            self.assertIn("See 'sked %s " % group, self.ok(group, "--help"))
        # an update keeps the queue it has: no default to speak of
        update = self.ok("job", "update", "--help")
        queue = [l for l in update.splitlines() if l.lstrip().startswith("--queue")]
        self.assertEqual(queue, ["  --queue Q            its default queue"])
        self.assertIn("none: the job\n                       type's timeout again", update)

    def test_wrong_token_exits_1_with_the_servers_message(self):
        p = self.cli("tasks", token="not-the-token")
        self.assertEqual(p.returncode, 1)
        self.assertIn("authentication required", p.stderr)
        self.assertIn("HTTP 401", p.stderr)
        self.assertEqual(p.stdout, "")
        p = self.cli("job", "list", token=None)
        self.assertEqual(p.returncode, 1)
        self.assertIn("SKED_TOKEN", p.stderr)
        self.assertIn("authentication required: no token was sent (HTTP 401)", p.stderr)
        # a role's refusal speaks of the command, not of the API route behind it
        viewer = self.s.post("/api/users", {"username": "onlylooks", "role": "viewer"}).json
        tok = self.s.post("/api/users/%s/tokens" % viewer["id"], {"name": "x"}).json["token"]
        job = self.s.create_job("http_call", title="not for viewers", args={"url": "http://127.0.0.1:9/"})
        for cmd, role in ((["job", "run", job["id"]], "operator or admin"),
                          (["job", "delete", job["id"], "--yes"], "admin")):
            p = self.cli(*cmd, token=tok)
            self.assertEqual(p.returncode, 1, p)
            self.assertEqual(p.stderr, "sked: Permission denied: this command needs the %s role "
                                       "(you are viewer). (HTTP 403)\n" % role)
        # --token wins over SKED_TOKEN
        p = self.cli("tasks", "--token", skedtest.TOKEN, token="not-the-token")
        self.assertEqual(p.returncode, 0, p)

    def test_unreachable_server_exits_3(self):
        url = "http://127.0.0.1:%d" % skedtest.free_port()
        p = self.cli("job", "list", url=url)
        self.assertEqual(p.returncode, 3)
        self.assertIn("cannot reach the server at " + url, p.stderr)
        self.assertIn("SKED_URL", p.stderr)
        p = self.cli("tasks", "--url", url)
        self.assertEqual(p.returncode, 3)
        # a reachable --url wins over a dead SKED_URL
        self.ok("tasks", "--url", self.s.url, url=url)

    def test_oversized_answer_is_refused(self):
        def answer(handler):
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Connection", "close")
            handler.end_headers()
            try:  # no Content-Length: the client must count for itself
                chunk = b" " * (1 << 20)
                for _ in range(65):
                    handler.wfile.write(chunk)
            except OSError:
                pass

        p = cli_against_one_answer(self, answer, "tasks")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("larger than 64 MiB", p.stderr)

    def test_an_answer_that_is_not_skeds_is_no_success(self):
        """A 200 with nothing in it, or with JSON no answer of sked's looks like (another
        service at SKED_URL), fails and names the address; a redirect (a proxy that sends plain
        HTTP to HTTPS) is not followed, and where it points is said."""
        def answering(status, body, ctype="application/json", **headers):
            def answer(handler):
                handler.send_response(status)
                handler.send_header("Content-Type", ctype)
                handler.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    handler.send_header(k, v)
                handler.end_headers()
                handler.wfile.write(body)
            return answer

        todo = "(HTTP 200): check SKED_URL (or --url) and that `sked serve` is running there"
        for body, ctype, says in ((b"", "application/json", "is empty " + todo),
                                  (b"{}", "application/json", "is not sked's " + todo),
                                  (b"[]", "application/json", "is not sked's " + todo),
                                  (b"<html>hi</html>", "text/html", "is not JSON: ")):
            for args in (("tasks",), ("tasks", "--json")):
                p = cli_against_one_answer(self, answering(200, body, ctype), *args)
                self.assertEqual(p.returncode, 1, (body, args, p))
                self.assertEqual(p.stdout, "", (body, args))
                self.assertRegex(p.stderr, r"^sked: the answer from http://127\.0\.0\.1:\d+"
                                           r"/api/tasks ", body)
                self.assertIn(says, p.stderr, body)
        p = cli_against_one_answer(self, answering(301, b"", Location="https://sked.example/"),
                                   "tasks")
        self.assertEqual(p.returncode, 1, p)
        self.assertRegex(p.stderr, r"^sked: http://127\.0\.0\.1:\d+/api/tasks answered HTTP "
                                   r"301, a redirect to https://sked\.example/, not followed: set "
                                   r"SKED_URL \(or --url\) to the address of sked itself\n$")


class TestStorePaths(unittest.TestCase):
    """backup, restore and the user and token commands work on a store file: a wrong path is
    named, with what is wrong with it and what to do, in the same words by every command."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sked-test-paths-")
        with Sked(tmp=cls.tmp):  # a store as sked serve makes it
            pass
        cls.db = os.path.join(cls.tmp, "sked.db")
        cls.backup = os.path.join(cls.tmp, "good-backup.db")
        subprocess.run([skedtest.BIN, "backup", cls.backup, "--db", cls.db], check=True,
                       capture_output=True)
        cls.notadb = cls.file("notadb", b"hello\n")
        cls.empty = cls.file("empty", b"")
        cls.other = os.path.join(cls.tmp, "other.db")  # another program's SQLite database
        db = sqlite3.connect(cls.other)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def file(cls, name, data):
        path = os.path.join(cls.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def fails(self, *args, says):
        """sked ARGS exits 1 saying exactly `says` after its name ("sked user list: ")."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        p = subprocess.run([skedtest.BIN] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        prog = " ".join(args[:1 if args[0] in ("backup", "restore") else 2])
        self.assertEqual((p.returncode, p.stderr), (1, "sked %s: %s\n" % (prog, says)))

    def in_namespace(self, script, *args):
        """sked's environment without SKED_*, running `sh -c script` with args ($0 is sked) in
        a mount namespace of its own (unshare), where the script may mount a folder read-only
        or a small tmpfs; the test is skipped where that is not allowed."""
        if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
            self.skipTest("unshare -rm (a mount namespace) is not allowed here")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        return subprocess.run(["unshare", "-rm", "sh", "-c", script, skedtest.BIN] + list(args),
                              env=env, capture_output=True, text=True, timeout=60)

    def read_only(self, folder, *cmd):
        """sked CMD with folder mounted read-only: as a folder this user may not write."""
        return self.in_namespace('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" '
                                 '&& shift && exec "$0" "$@"', folder, *cmd)

    def test_a_backup_is_one_file_that_restores_from_a_folder_it_cannot_write(self):
        folder = tempfile.mkdtemp(prefix="backups-", dir=self.tmp)
        backup = os.path.join(folder, "b.db")
        p = subprocess.run([skedtest.BIN, "backup", backup, "--db", self.db], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p)
        # in rollback journal mode (header bytes 18 and 19 are 1, WAL mode's are 2): reading it
        # needs no -shm file beside it
        with open(backup, "rb") as f:
            self.assertEqual(f.read(20)[18:], b"\x01\x01")
        self.assertEqual(os.listdir(folder), ["b.db"])
        # an older backup, still in WAL mode, reads as well
        old = os.path.join(folder, "old.db")
        shutil.copy(backup, old)
        db = sqlite3.connect(old)
        self.assertEqual(db.execute("PRAGMA journal_mode=WAL").fetchone()[0], "wal")
        db.close()
        self.assertEqual(sorted(os.listdir(folder)), ["b.db", "old.db"])
        for name in ("b.db", "old.db"):
            target = os.path.join(self.tmp, "from-read-only-" + name)
            p = self.read_only(folder, "restore", os.path.join(folder, name), "--db", target)
            self.assertEqual((p.returncode, p.stderr), (0, ""), name)
            self.assertIn("restored into %s: 1 job(s)" % target, p.stdout)
            # and where it could write, it writes nothing beside the backup either
            target = os.path.join(self.tmp, "from-writable-" + name)
            p = subprocess.run([skedtest.BIN, "restore", os.path.join(folder, name), "--db", target],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (0, ""), name)
            self.assertEqual(sorted(os.listdir(folder)), ["b.db", "old.db"])

    def big_store(self):
        """A copy of the store with some 120 MiB more in a table of its own: a backup of it
        takes long enough to be caught halfway."""
        big = os.path.join(self.tmp, "big.db")
        if not os.path.exists(big):
            shutil.copy(self.db, big)
            db = sqlite3.connect(big)
            db.execute("CREATE TABLE filler (x)")
            db.execute("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE "
                       "i < 30000) INSERT INTO filler SELECT randomblob(4000) FROM c")
            db.commit()
            db.close()
        return big

    def backup_halfway(self, folder, name):
        """sked backup folder/name of the big store, stopped (SIGSTOP) while it writes the
        copy: a rollback journal lies in folder, the copy's transaction under way. Returns the
        stopped process and the folder's files then."""
        for _ in range(5):
            for f in os.listdir(folder):
                if f.startswith(name):
                    os.unlink(os.path.join(folder, f))
            p = subprocess.Popen([skedtest.BIN, "backup", os.path.join(folder, name), "--db",
                                  self.big_store()], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda p=p: p.poll() is None and (p.kill(), p.communicate()))
            def writing():
                return any(f.startswith(name) and f.endswith("-journal") for f in os.listdir(folder))
            while p.poll() is None and not writing():
                time.sleep(0.001)
            p.send_signal(signal.SIGSTOP)
            if p.poll() is None and writing():
                return p, sorted(f for f in os.listdir(folder) if f.startswith(name))
            p.send_signal(signal.SIGCONT)
            p.communicate(timeout=60)  # it ended before it was caught: again
        self.fail("no backup was caught halfway")

    def test_a_backup_stopped_halfway_leaves_nothing_and_restores_nothing(self):
        """SIGINT, SIGTERM or SIGHUP while the copy is written deletes what it wrote (exit 130,
        143, 129). A backup killed outright leaves its partial copy under another name than
        FILE, with its hot journal: restore refuses that copy, and the next backup to FILE
        replaces it."""
        folder = tempfile.mkdtemp(prefix="stopped-", dir=self.tmp)
        backup = os.path.join(folder, "b.db")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            p, during = self.backup_halfway(folder, "b.db")
            self.assertNotIn("b.db", during)  # FILE is not the copy until it is whole
            p.send_signal(sig)
            p.send_signal(signal.SIGCONT)
            out, err = p.communicate(timeout=60)
            self.assertEqual((p.returncode, out, err),
                             (128 + sig, "", "sked backup: stopped before the copy %s was whole; "
                                             "the partial copy is deleted\n" % backup), during)
            self.assertEqual(os.listdir(folder), [])
        p, during = self.backup_halfway(folder, "b.db")
        p.kill()
        p.communicate(timeout=60)
        left = sorted(os.listdir(folder))
        self.assertEqual(left, ["b.db.partial", "b.db.partial-journal"])
        partial = os.path.join(folder, "b.db.partial")
        target = os.path.join(self.tmp, "from-partial.db")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        p = subprocess.run([skedtest.BIN, "restore", partial, "--db", target], env=env,
                           capture_output=True, text=True, timeout=60)
        # killed before its first commit, the copy has no tables yet and its journal is not hot
        self.assertIn(p.stderr, (
            "sked restore: %s is not a whole backup: the rollback journal %s-journal beside it was "
            "left by a copy cut off while it was written (or a program is writing it now); "
            "restore another one\n" % (partial, partial),
            "sked restore: %s is not a backup of sked (it has none of sked's tables); give a file "
            "that sked backup wrote\n" % partial), p)
        self.assertEqual(p.returncode, 1, p)
        self.assertFalse(os.path.exists(target))
        # the name is not blocked: the leftover of the killed backup is replaced
        r = subprocess.run([skedtest.BIN, "backup", backup, "--db", self.big_store()],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(os.listdir(folder), ["b.db"])
        with open(backup, "rb") as f:
            self.assertEqual(f.read(20)[18:], b"\x01\x01")  # out of WAL mode, as a whole one
        # while a backup writes FILE, a second one to it is refused and leaves the first alone
        p, during = self.backup_halfway(folder, "c.db")
        self.fails("backup", os.path.join(folder, "c.db"), "--db", self.db,
                   says="another sked backup is writing %s/c.db now (as %s/c.db.partial); wait for "
                        "it to end, or give another FILE" % (folder, folder))
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(sorted(os.listdir(folder)), ["b.db", "c.db"])

    def test_a_backup_is_a_file_not_standard_output(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        p = subprocess.run([skedtest.BIN, "backup", "-", "--db", self.db], env=env, cwd=self.tmp,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr),
                         (2, "sked backup: a backup is an SQLite file, not a stream: give a file "
                             "name (./- for a file named -)\nsee 'sked backup --help'\n"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "-")))
        # restore says so too, and of a folder, rather than as a store that does not open
        for arg, says in (("-", "sked restore: a backup is an SQLite file, not a stream"),
                          (self.tmp, "sked restore: %s is a folder: give the backup's file" % self.tmp)):
            p = subprocess.run([skedtest.BIN, "restore", arg, "--db", self.db], env=env, cwd=self.tmp,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, p)
            self.assertIn(says, p.stderr)

    def test_a_backup_that_cannot_be_read_is_not_called_damaged(self):
        """A backup with a WAL file beside it is read with its WAL, which needs its folder to
        be writable: where it is not, the backup cannot be read, which is no damage."""
        folder = tempfile.mkdtemp(prefix="wal-backup-", dir=self.tmp)
        backup = os.path.join(folder, "b.db")
        work = os.path.join(self.tmp, "wal-work.db")
        shutil.copy(self.backup, work)
        db = sqlite3.connect(work)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("UPDATE job SET title = 'only in the WAL'")
        db.commit()
        # copied while the change is in the WAL alone (closing would checkpoint it)
        shutil.copy(work, backup)
        shutil.copy(work + "-wal", backup + "-wal")
        db.close()
        target = os.path.join(self.tmp, "from-wal-backup.db")
        p = self.read_only(folder, "restore", backup, "--db", target)
        self.assertEqual((p.returncode, p.stderr),
                         (1, "sked restore: cannot read the backup %s (unable to open database "
                             "file): with its WAL file %s-wal beside it, SQLite must write a -shm "
                             "file in its folder; let this user write that folder, or copy both "
                             "files into one it may write and restore from there\n"
                             % (backup, backup)))
        self.assertFalse(os.path.exists(target))
        # where the folder is writable, what the WAL holds is restored too
        p = subprocess.run([skedtest.BIN, "restore", backup, "--db", target], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p)
        db = sqlite3.connect(target)
        self.assertEqual(db.execute("SELECT DISTINCT title FROM job").fetchall(), [("only in the WAL",)])
        db.close()

    def test_a_damaged_store_or_backup_is_called_damaged(self):
        damaged = os.path.join(self.tmp, "damaged.db")
        shutil.copy(self.backup, damaged)
        db = sqlite3.connect(damaged)
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'run'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
        db.close()
        with open(damaged, "r+b") as f:  # the number of cells of the run table's root page
            f.seek((root - 1) * size + 3)
            f.write(b"\x7f\x7f")
        copy = os.path.join(self.tmp, "copy-of-damaged.db")
        p = subprocess.run([skedtest.BIN, "backup", copy, "--db", damaged], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p)
        self.assertTrue(p.stderr.startswith("sked backup: the copy %s is damaged (" % copy), p.stderr)
        self.assertTrue(p.stderr.endswith(") and is deleted; check the store %s with sqlite3 (PRAGMA "
                                          "integrity_check) and the disk, then back up again\n"
                                          % damaged), p.stderr)
        self.assertFalse(os.path.exists(copy))
        target = os.path.join(self.tmp, "from-damaged.db")
        p = subprocess.run([skedtest.BIN, "restore", damaged, "--db", target], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p)
        self.assertTrue(p.stderr.startswith("sked restore: the backup %s is damaged (" % damaged), p.stderr)
        self.assertTrue(p.stderr.endswith("); restore another one\n"), p.stderr)
        self.assertFalse(os.path.exists(target))

    def test_a_backup_to_a_full_disk_names_that_disk(self):
        """The disk of FILE is full: the message names FILE's disk, not the store, and does
        not ask to try again there."""
        small = tempfile.mkdtemp(prefix="small-disk-", dir=self.tmp)
        copy = os.path.join(small, "b.db")
        p = self.in_namespace('mount -t tmpfs -o size=8k tmpfs "$1" && exec "$0" backup "$2" --db "$3"',
                              small, copy, self.db)
        self.assertEqual((p.returncode, p.stderr),
                         (1, "sked backup: cannot write the copy %s: its disk is full (database "
                             "or disk is full); the partial copy is deleted: free space on that "
                             "disk, or give a FILE on another one\n" % copy))

    def test_a_backup_onto_a_disk_with_room_for_the_copy_alone_is_made(self):
        """The copy takes the store's WAL mode with its header: read back to be checked as a
        store in WAL mode is read, it would need a -shm file beside it (32 KiB), for which a
        disk the copy just fits on has no room."""
        small = tempfile.mkdtemp(prefix="room-for-the-copy-", dir=self.tmp)
        copy = os.path.join(small, "b.db")
        with open(self.db, "rb") as f:
            self.assertEqual(f.read(20)[18:], b"\x02\x02")  # the store is in WAL mode
        kib = -(-os.path.getsize(self.db) // 4096) * 4 + 12
        p = self.in_namespace('mount -t tmpfs -o size=%dk tmpfs "$1" && "$0" backup "$2" --db "$3" '
                              '&& ls "$1" && od -An -tx1 -j18 -N2 "$2"' % kib,
                              small, copy, self.db)
        self.assertEqual((p.returncode, p.stderr), (0, ""), p)
        out = p.stdout.splitlines()
        self.assertTrue(out[0].startswith("backed up to %s: 1 job(s)" % copy), p.stdout)
        self.assertEqual(out[1], "b.db")  # no -shm, -wal or -journal beside it
        self.assertEqual(out[2].split(), ["01", "01"])  # out of WAL mode

    def nobody(self):
        """The command prefix that runs as the user nobody; the test is skipped unless this
        runs as root."""
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root (and setpriv) to run sked as another user")
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

    def shared_folder(self, owner=0):
        """A new folder outside the test's own (which only root may enter), readable by all and
        writable by owner alone."""
        folder = tempfile.mkdtemp(prefix="sked-test-shared-")
        self.addCleanup(shutil.rmtree, folder, True)
        os.chmod(folder, 0o755)
        os.chown(folder, owner, -1)
        return folder

    def test_a_store_this_user_may_not_write_or_read_is_named_so(self):
        """restore onto a store, or into a folder, that this user may not write, and backup of
        a store in WAL mode whose -shm file this user may not make, say so and whom to run them
        as: not that sked runs, nor to try again."""
        nobody, uid = self.nobody(), pwd.getpwnam("nobody").pw_uid
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        def fails(*args, says):
            p = subprocess.run(nobody + [skedtest.BIN] + list(args), env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual((p.returncode, p.stderr), (1, "sked %s: %s\n" % (args[0], says)))
        folder = self.shared_folder()  # root's
        backup = os.path.join(folder, "b.db")
        shutil.copy(self.backup, backup)
        store = os.path.join(folder, "sked.db")
        shutil.copy(self.db, store)  # in WAL mode, as sked leaves it
        for f in (backup, store):
            os.chmod(f, 0o644)
        with open(store, "rb") as f:
            before = f.read()
        todo = "run this as the user sked serve runs as"
        fails("restore", backup, "--db", store,
              says="cannot write the store %s: it is not writable by this user (uid %d); %s"
                   % (store, uid, todo))
        with open(store, "rb") as f:
            self.assertEqual(f.read(), before)
        fails("restore", backup, "--db", os.path.join(folder, "new.db"),
              says="cannot create the store %s/new.db: its folder %s is not writable by this "
                   "user (uid %d); %s" % (folder, folder, uid, todo))
        out = self.shared_folder(owner=uid)
        fails("backup", os.path.join(out, "c.db"), "--db", store,
              says="cannot copy the store %s (attempt to write a readonly database): reading it "
                   "needs its -shm file, which this user (uid %d) may not make in its folder "
                   "%s; %s" % (store, uid, folder, todo))
        self.assertEqual(os.listdir(out), [])
        self.assertEqual(sorted(os.listdir(folder)), ["b.db", "sked.db"])

    def test_a_store_on_a_read_only_file_system_is_backed_up_not_served(self):
        """Nobody writes a store on a read-only file system, nor can its -shm file be made
        there: sked serve says the file system is read-only and to serve a copy, which sked
        backup makes."""
        folder = tempfile.mkdtemp(prefix="read-only-store-", dir=self.tmp)
        store = os.path.join(folder, "sked.db")
        shutil.copy(self.db, store)  # in WAL mode, with no -wal or -shm file
        p = self.read_only(folder, "serve", "--db", store, "--listen", "127.0.0.1:0", "--tasks",
                           os.path.join(skedtest.SRC, "tasks.d"))
        self.assertEqual((p.returncode, p.stderr),
                         (1, "sked serve: %s: the store is on a read-only file system: sked writes "
                             "it; mount it read-write, or serve a copy (sked backup COPY --db %s)\n"
                             % (store, store)))
        copy = os.path.join(self.tmp, "copy-of-read-only.db")
        p = self.read_only(folder, "backup", copy, "--db", store)
        self.assertEqual((p.returncode, p.stderr), (0, ""), p)
        self.assertIn("backed up to %s: 1 job(s)" % copy, p.stdout)
        self.assertEqual(os.listdir(folder), ["sked.db"])
        target = os.path.join(folder, "restored.db")
        p = self.read_only(folder, "restore", copy, "--db", target)
        self.assertEqual((p.returncode, p.stderr),
                         (1, "sked restore: cannot create the store %s: its folder %s is on a "
                             "read-only file system; pass --db with the path sked serve uses\n"
                             % (target, folder)))

    def test_the_local_tools_say_the_disk_of_the_store_is_full(self):
        """With room for the store's -shm file (32 KiB) and no more, the store opens and no
        write fits: each tool says what to do, after the store's own log line."""
        store = os.path.join(self.tmp, "with-zed.db")
        shutil.copy(self.db, store)
        r = subprocess.run([skedtest.BIN, "user", "add", "zed", "--role", "viewer",
                            "--no-password", "--db", store], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r)
        small = tempfile.mkdtemp(prefix="full-disk-", dir=self.tmp)
        db = os.path.join(small, "sked.db")
        for cmd in (["user", "add", "amy", "--role", "viewer", "--no-password"],
                    ["token", "create", "--user", "zed", "--name", "ci"],
                    ["user", "delete", "zed", "--yes"]):
            p = self.in_namespace(
                'mount -t tmpfs -o size=256k tmpfs "$1" && cp "$2" "$1/sked.db" && '
                'head -c $(($(stat -f -c "%a*%S" "$1") - 32768)) /dev/zero > "$1/fill" '
                '&& shift 2 && exec "$0" "$@"', small, store, *cmd, "--db", db)
            self.assertEqual(p.returncode, 1, p)
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 2, p.stderr)
            self.assertIn(" level=error event=store.error op=", lines[0])
            self.assertEqual(lines[1], "sked %s: cannot write the store %s: the disk that holds "
                                       "it is full; free space on that disk (df %s), then run "
                                       "this again" % (" ".join(cmd[:2]), db, small))

    def test_a_path_that_is_no_store_is_named_alike_by_every_command(self):
        out = os.path.join(self.tmp, "new-backup.db")
        missing = os.path.join(self.tmp, "missing.db")
        todo = "pass --db with the path sked serve uses"
        for path, what in ((missing, "no store at %s (No such file or directory); " % missing),
                           (self.notadb, "%s is not a store of sked (file is not a database); " % self.notadb),
                           (self.empty, "%s is not a store of sked (it has none of sked's tables); " % self.empty)):
            for cmd in (["backup", out], ["user", "list"], ["token", "list"]):
                self.fails(*cmd, "--db", path, says=what + todo)
            self.assertFalse(os.path.exists(out))  # no copy is left behind
        self.assertEqual(os.path.getsize(self.empty), 0)  # not made a store
        self.fails("backup", os.path.join(self.tmp, "no", "dir", "b.db"), "--db", self.db,
                   says="cannot create %s/no/dir/b.db: its folder %s/no/dir does not exist; "
                        "create it first, or give another FILE" % (self.tmp, self.tmp))
        # a folder given for the store names the file it would hold
        for cmd in (["backup", out], ["restore", self.backup], ["user", "list"], ["token", "list"]):
            self.fails(*cmd, "--db", self.tmp + "/",
                       says="%s/ is a folder, not a store: pass --db with the path of the store's "
                            "file (such as %s/sked.db), the path sked serve uses" % (self.tmp, self.tmp))
        self.assertFalse(os.path.exists(out))
        # nor is a FIFO or a device opened to wait on a writer that never comes
        fifo = os.path.join(self.tmp, "fifo.db")
        os.mkfifo(fifo)
        try:
            for path in (fifo, "/dev/null"):
                for cmd in (["backup", out], ["restore", self.backup], ["user", "list"],
                            ["token", "list"]):
                    self.fails(*cmd, "--db", path,
                               says="%s is not a regular file (a device or a FIFO): pass --db "
                                    "with the path of the store's file, the path sked serve uses"
                                    % path)
        finally:
            os.unlink(fifo)
        self.assertFalse(os.path.exists(out))

    def test_restore_names_the_backup_or_the_store_that_is_wrong(self):
        target = os.path.join(self.tmp, "restored.db")
        todo = "give a file that sked backup wrote"
        missing = os.path.join(self.tmp, "missing-backup.db")
        self.fails("restore", missing, "--db", target,
                   says="no backup at %s (No such file or directory); %s" % (missing, todo))
        self.fails("restore", self.notadb, "--db", target,
                   says="%s is not a backup of sked (file is not a database); %s" % (self.notadb, todo))
        self.fails("restore", self.other, "--db", target,
                   says="%s is not a backup of sked (it has none of sked's tables); %s" % (self.other, todo))
        self.assertFalse(os.path.exists(target))  # refused before anything is written
        self.fails("restore", self.backup, "--db", os.path.join(self.tmp, "no", "dir", "x.db"),
                   says="cannot create the store %s/no/dir/x.db: its folder %s/no/dir does not "
                        "exist; create it first, or pass --db with the path sked serve uses"
                        % (self.tmp, self.tmp))
        # a file that is no store is not overwritten (it is not "in use" either)
        self.fails("restore", self.backup, "--db", self.notadb,
                   says="%s is not a store of sked (file is not a database); pass --db with the "
                        "path sked serve uses (or move this file away to restore in its place)"
                        % self.notadb)
        with open(self.notadb, "rb") as f:
            self.assertEqual(f.read(), b"hello\n")
        # nor is another program's database
        self.fails("restore", self.backup, "--db", self.other,
                   says="%s is a database of another program (it has tables, and none of "
                        "sked's); pass --db with the path sked serve uses (or move this file "
                        "away to restore in its place)" % self.other)
        db = sqlite3.connect(self.other)
        self.assertEqual([r[0] for r in db.execute("SELECT name FROM sqlite_master")], ["t"])
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "delete")
        db.close()

    def test_restore_refuses_a_backup_of_a_newer_sked_before_it_replaces_the_store(self):
        newer = os.path.join(self.tmp, "newer-backup.db")
        shutil.copy(self.backup, newer)
        db = sqlite3.connect(newer)
        ours = db.execute("PRAGMA user_version").fetchone()[0]
        db.execute("PRAGMA user_version = %d" % (ours + 1))
        db.commit()
        db.close()
        target = os.path.join(self.tmp, "kept.db")
        shutil.copy(self.backup, target)
        before = open(target, "rb").read()
        self.fails("restore", newer, "--db", target,
                   says="%s was made by a newer sked (schema version %d, newer than this sked's "
                        "%d); restore it with that sked or a later one" % (newer, ours + 1, ours))
        self.assertEqual(open(target, "rb").read(), before)


class TestReview(CliCase):
    """What an operator could get wrong without a word from the CLI."""

    def test_per_run_arguments_beside_custom_args_are_refused_not_dropped(self):
        job = self.create("With custom", "sync_records", "--custom-args", '{"records": 1}')
        p = self.usage_fails("job", "run", job["id"], "--arg", "records=3",
                             expect="has saved custom args, which its runs get instead")
        self.usage_fails("job", "run", job["id"], "--since", "2026-01-01",
                         expect="--arg and --since would not apply")
        other = self.create("Without custom", "sync_records")
        self.usage_fails("job", "run", other["id"], "--custom-args", '{"a": 1}', "--arg", "b=2",
                         expect="--arg and --since do not apply to them")
        # the job's custom args still reach a run given neither
        run = self.ok_json("job", "run", job["id"], "--json")
        self.assertEqual(run["args"], {"records": 1})
        self.assertNotIn("records=3", p.stdout)

    def test_the_audit_of_a_deleted_job_by_its_id(self):
        job = self.create("Soon gone", "reindex")
        self.ok("job", "delete", job["id"], "--yes")
        entries = self.ok_json("audit", "--job", job["id"], "--json")["hits"]["hits"]
        self.assertEqual([e["action"] for e in entries][:1], ["job.deleted"])
        self.assertEqual({e["job_id"] for e in entries}, {job["id"]})

    def test_local_tools_ignore_sked_url_and_take_no_url(self):
        env = dict(os.environ, SKED_URL="localhost:8080")
        p = subprocess.run([skedtest.BIN, "cron", "next", "@daily", "-n", "1"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p)
        tmp = tempfile.mkdtemp()
        try:
            p = subprocess.run([skedtest.BIN, "backup", os.path.join(tmp, "b.db"), "--db", self.s.db],
                               env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
        finally:
            shutil.rmtree(tmp)
        p = self.cli("cron", "next", "@daily", "--url", "http://x")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("unknown option '--url'", p.stderr)

    def test_cron_next_from_before_the_year_0_in_its_zone_says_so(self):
        """0000-01-01T00:00Z is the last day of the year -1 in New York: there is no time to
        show there, and the message said no fire time came within 400 years."""
        p = self.cli("cron", "next", '{"type":"interval","seconds":1}', "--tz", "America/New_York",
                     "--from", "0000-01-01T00:00:00Z")
        self.assertEqual((p.returncode, p.stderr),
                         (1, "sked cron next: --from is before the year 0 in America/New_York; give "
                             "a later time\n"))
        self.assertEqual(len(self.ok("cron", "next", "@daily", "-n", "1", "--tz", "UTC", "--from",
                                     "0000-01-01T00:00:00Z").splitlines()), 1)

    def test_a_short_option_takes_its_value_attached(self):
        self.assertEqual(len(self.ok("cron", "next", "@daily", "-n2", "--from", "2026-01-01").splitlines()), 2)
        self.assertEqual(len(self.ok("cron", "next", "@daily", "-n", "3", "--from", "2026-01-01").splitlines()), 3)
        p = self.cli("cron", "next", "@daily", "-n0")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--count", p.stderr)  # the option's value is what is wrong
        p = self.cli("logs", "x", "-fq")  # -f takes no value: -fq is no option
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("unknown option '-fq'", p.stderr)

    def test_since_without_a_zone_is_the_local_time_the_tables_show(self):
        job = self.create("Local since", "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        run = self.ok_json("job", "run", job["id"], "--json")
        created = skedtest.parse_time(run["created"])  # seconds since the epoch
        env_tz = {"TZ": "America/New_York"}
        from zoneinfo import ZoneInfo
        from datetime import datetime as dt
        wall = dt.fromtimestamp(created, ZoneInfo("America/New_York"))
        before = (wall - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
        after = (wall + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
        def ids(since):
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(env_tz, SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
            p = subprocess.run([skedtest.BIN, "runs", job["id"], "--since", since, "--json"], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            return [r["id"] for r in json.loads(p.stdout)["hits"]["hits"]]
        self.assertEqual(ids(before), [run["id"]])
        self.assertEqual(ids(after), [])
        # with a zone, that zone
        self.assertEqual(ids((wall - timedelta(minutes=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")),
                         [run["id"]])

    def test_a_local_time_that_happens_twice_or_never_is_noted(self):
        job = self.create("Local DST", "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update(TZ="Europe/Zurich", SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
        def run(since, *extra):
            p = subprocess.run([skedtest.BIN, "job", "run", job["id"], "--since", since, "--json"]
                               + list(extra), env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p)
            return json.loads(p.stdout)["args"]["since"], p.stderr
        # 00:30Z (CEST) and 01:30Z (CET): a start takes the first, which skips no hour of data
        since, said = run("2026-10-25 02:30")
        self.assertEqual(since, "2026-10-25T00:30:00.000000+00:00")
        self.assertIn("--since 2026-10-25 02:30 happens twice here (the clocks fall back); read as "
                      "the first, 2026-10-25 02:30:00 CEST (+02:00); add +01:00 for the second", said)
        # an end the second, for the same reason
        p = subprocess.run([skedtest.BIN, "job", "run", job["id"], "--since", "2026-10-25 01:00",
                            "--until", "2026-10-25 02:30", "--json"], env=env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(json.loads(p.stdout)["until"], "2026-10-25T01:30:00.000000+00:00")
        self.assertEqual(p.stderr, "sked job run: note: --until 2026-10-25 02:30 happens twice here "
                                   "(the clocks fall back); read as the second, 2026-10-25 02:30:00 "
                                   "CET (+01:00); add +02:00 for the first\n")
        # and the backfill's range alike
        p = subprocess.run([skedtest.BIN, "job", "backfill", job["id"], "--from", "2026-10-25 02:30",
                            "--to", "2026-10-25 02:30", "--step", "1h", "--dry-run"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertIn("--from 2026-10-25 02:30 happens twice here (the clocks fall back); read as "
                      "the first", p.stderr)
        self.assertIn("--to 2026-10-25 02:30 happens twice here (the clocks fall back); read as "
                      "the second", p.stderr)
        since, said = run("2026-10-25 02:30+02:00")
        self.assertEqual((since, said), ("2026-10-25T00:30:00.000000+00:00", ""))
        since, said = run("2026-03-29 02:30")  # skipped: 02:00 CET is 03:00 CEST
        self.assertEqual(since, "2026-03-29T01:30:00.000000+00:00")
        self.assertIn("--since 2026-03-29 02:30 does not exist here (the clocks jump forward over "
                      "it); read as 2026-03-29 03:30:00 CEST (+02:00)", said)
        self.assertEqual(run("2026-06-01 12:00"), ("2026-06-01T10:00:00.000000+00:00", ""))

    def test_options_that_were_silently_lost(self):
        job = self.create("Timed", "reindex", "--timeout", "5m")
        self.assertEqual(job["timeout"], "5m")
        self.assertIsNone(self.ok_json("job", "update", job["id"], "--timeout", "none", "--json")["timeout"])
        self.usage_fails("job", "run", job["id"], "--queue", "l\udcffow", expect="not valid UTF-8")
        self.usage_fails("job", "schedule", job["id"], "--crontab", "", expect="give at least one FIELD=VALUE")
        self.usage_fails("job", "schedule", job["id"], "--crontab", "hour=3 minute=0 hour=4",
                         expect="--crontab: hour is given twice; give each field once (a list is "
                                "comma-separated: hour=3,4)")
        self.usage_fails("job", "schedule", job["id"], "--crontab", "type=cron",
                         expect="--crontab: 'type=cron' is not FIELD=VALUE")
        self.usage_fails("runs", job["id"], "--status", ",", expect="name at least one status")
        p = self.cli("cron", "next", "@daily", "--from", "9999-12-31T12:00Z")
        self.assertEqual((p.returncode, p.stdout), (1, ""), p)
        self.assertIn("no fire time", p.stderr)
        p = self.cli("job", "import", tempfile.gettempdir())
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("a folder, not a file", p.stderr)
        p = self.cli("job", "import", "/nonexistent/jobs.json")
        self.assertNotIn("line -1", p.stderr)
        self.assertEqual(p.stderr.count("/nonexistent/jobs.json"), 1, p.stderr)  # named once
        self.assertIn("No such file", p.stderr)

    def test_cron_next_of_a_schedule_that_never_fires_exits_1(self):
        """As its help says: 1 when the schedule has no fire time, 2 when it does not parse."""
        for spec in ("0 0 30 2 *", '{"type":"crontab","day_of_month":"31","month_of_year":"4"}'):
            p = self.cli("cron", "next", spec)
            self.assertEqual((p.returncode, p.stdout), (1, ""), (spec, p))
            self.assertIn("this schedule never fires", p.stderr)
        p = self.cli("cron", "next", "61 * * * *")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("out of range", p.stderr)
        self.assertIn("1 when it\nhas no fire time", self.ok("cron", "next", "--help"))

    def test_refusals_say_what_is_allowed(self):
        p = self.usage_fails("runs", "--all", "--status", "BOGUS", expect="unknown status 'BOGUS'")
        self.assertIn("QUEUED, RUNNING, SUCCESS, FAILED, WARNING, CANCELLING, CANCELLED, "
                      "PARTIAL_SUCCESS", p.stderr)
        p = self.cli("job", "show", "2d2")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("no job has the title '2d2'; give a job id, the start of one (4 characters "
                      "or more) or an exact title", p.stderr)
        tmp = tempfile.mkdtemp()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            p = subprocess.run([skedtest.BIN, "serve", "--db", os.path.join(tmp, "x.db"),
                                "--listen", "127.0.0.1:%d" % self.s.port, "--tasks",
                                self.s.tasks_dir], env=env, capture_output=True, text=True,
                               timeout=60)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use; choose another "
                      "with --listen HOST:PORT\n" % self.s.port, p.stderr)

    def test_tables_align_wide_characters(self):
        import unicodedata
        title = "全角タイトルのジョブ"
        self.create(title, "reindex")
        self.create("narrow title", "reindex")
        lines = self.ok("job", "list", "--task", "reindex", "--size", "1000").splitlines()
        def col(line, word):  # the display column where word starts
            i = line.index(word)
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:i])
        want = col(lines[0], "TASK")
        rows = [l for l in lines[1:] if title in l or "narrow title" in l]
        self.assertEqual(len(rows), 2, lines)
        for line in rows:
            self.assertEqual(col(line, "reindex"), want, line)

    def test_tokens_show_when_they_expire(self):
        db = ["--db", self.s.db]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        def tool(*args, stdin=None):
            return subprocess.run([skedtest.BIN] + list(args), env=env, capture_output=True, text=True,
                                  timeout=30, input=stdin)
        p = tool("user", "add", "zed", "--role", "viewer", "--password-stdin", "--no-password", *db,
                 stdin="password1\n")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("contradict", p.stderr)
        self.assertEqual(tool("user", "add", "tess", "--role", "viewer", "--no-password", *db).returncode, 0)
        made = json.loads(tool("token", "create", "--user", "tess", "--name", "ci", "--expires", "30d",
                               "--json", *db).stdout)
        self.assertTrue(made["expires_at"].endswith("+00:00"), made)
        listed = json.loads(tool("token", "list", "--user", "tess", "--json", *db).stdout)
        self.assertEqual([(t["expires_at"], t["last_used"]) for t in listed["hits"]["hits"]],
                         [(made["expires_at"], None)])
        table = tool("token", "list", "--user", "tess", *db).stdout.splitlines()
        self.assertIn("EXPIRES", table[0].split())
        # in local time, short, as the other tables show times; the id as they show ids
        from datetime import datetime as dt
        local = dt.fromtimestamp(skedtest.parse_time(made["expires_at"]))
        expires = local.strftime("%b %d %H:%M" if local.year == dt.now().year else "%Y-%m-%d %H:%M")
        self.assertIn(" active  %s  -" % expires, table[1])
        self.assertTrue(table[1].startswith(made["id"][:8] + "  ci "), table[1])
        self.assertEqual(tool("user", "add", "ulla", "--role", "viewer", "--no-password", *db).returncode, 0)
        self.assertEqual(tool("token", "list", "--user", "ulla", *db).stdout, "no tokens\n")
        # a date-time without a zone is local time, as every time option reads it
        env["TZ"] = "America/New_York"
        year = dt.now().year + 1
        made = json.loads(tool("token", "create", "--user", "tess", "--name", "local", "--expires",
                               "%d-07-01 18:00" % year, "--json", *db).stdout)
        self.assertEqual(made["expires_at"], "%d-07-01T22:00:00.000000+00:00" % year)  # EDT
        made = json.loads(tool("token", "create", "--user", "tess", "--name", "utc", "--expires",
                               "%d-07-01T18:00Z" % year, "--json", *db).stdout)
        self.assertEqual(made["expires_at"], "%d-07-01T18:00:00.000000+00:00" % year)


class TestStoredText(CliCase):
    """Names written to the store follow the API's rules, and text from the server is shown
    so that it can neither forge lines nor reach the terminal as control sequences."""

    MESSAGE = "done \x9b31m\x1b[2J\nStatus        SUCCESS FORGED"

    @classmethod
    def setUpClass(cls):
        line = json.dumps({"message": cls.MESSAGE})
        cls.s = Sked(tasks={"say.json": skedtest.sh_task("say", 'printf "%s\\n" "$1" >&3',
                                                         extra_argv=[line]),
                            "fail.json": skedtest.sh_task(
                                "fail", 'printf "%s\\n" "$1" >&3; exit 3', extra_argv=[json.dumps(
                                    {"message": "\n".join("why %d" % i for i in range(1, 31))})])}).start()

    def tool(self, *args, stdin=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        return subprocess.run([skedtest.BIN] + list(args) + ["--db", self.s.db], env=env,
                              capture_output=True, text=True, timeout=30, input=stdin)

    def test_names_written_to_the_store_follow_the_apis_rules(self):
        for name, why in (("two\nlines", "must be one line without control characters"),
                          ("bell\x07", "must be one line without control characters"),
                          ("   ", "must not be blank"),
                          ("x" * 201, "must be 1 to 200 characters")):
            p = self.tool("user", "add", "nina", "--role", "viewer", "--no-password",
                          "--display-name", name)
            self.assertEqual(p.returncode, 2, (name, p))
            self.assertIn("sked user add: --display-name " + why, p.stderr)
        self.assertEqual(self.s.get("/api/users").json["hits"]["total"], 1)  # the admin alone
        # 200 characters, not bytes, as the API counts them
        p = self.tool("user", "add", "nina", "--role", "viewer", "--no-password",
                      "--display-name", "é" * 200)
        self.assertEqual(p.returncode, 0, p)
        p = self.tool("user", "add", "nina 2", "--role", "viewer", "--no-password")
        self.assertIn("1 to 64 ASCII letters", p.stderr)
        # a name that would pass for someone else's, refused as the API refuses it
        for name, why in (("ADMIN", "another account goes by 'ADMIN'"),
                          ("  System ", "'  System ' is what sked shows for what no person did"),
                          ("Nina (API token)", "must not end in '(API token)'")):
            p = self.tool("user", "add", "otto", "--role", "viewer", "--no-password",
                          "--display-name", name)
            self.assertEqual(p.returncode, 1, (name, p))
            self.assertIn("sked user add: --display-name " + why, p.stderr)
        self.assertNotIn("otto", [a["username"] for a in self.s.get("/api/users").json["hits"]["hits"]])
        p = self.tool("user", "add", "otto", "--role", "viewer", "--no-password", "--display-name", "Otto")
        self.assertEqual(p.returncode, 0, p)
        for name, why in (("ci\x1b[2J", "must be one line without control characters"),
                          ("\t", "must not be blank"), ("é" * 101, "must be 1 to 100 characters")):
            p = self.tool("token", "create", "--user", "nina", "--name", name)
            self.assertEqual(p.returncode, 2, (name, p))
            self.assertIn("sked token create: --name " + why, p.stderr)
        self.assertEqual(self.tool("token", "list", "--json").stdout.count('"name"'), 0)

    def test_user_and_token_lists_print_the_apis_json(self):
        self.assertEqual(self.tool("user", "add", "owen", "--role", "operator", "--no-password",
                                   "--display-name", "Owen O.").returncode, 0)
        made = json.loads(self.tool("token", "create", "--user", "owen", "--name", "ci",
                                    "--json").stdout)
        self.assertEqual(self.s.delete("/api/tokens/" + made["id"]).status, 204)
        self.assertEqual(json.loads(self.tool("user", "list", "--json").stdout),
                         self.s.get("/api/users").json)
        # every token, where the API answers a page of them (with its links)
        self.assertEqual(json.loads(self.tool("token", "list", "--json").stdout)["hits"],
                         self.s.get("/api/tokens?all=true").json["hits"])
        owen = [a["id"] for a in self.s.get("/api/users").json["hits"]["hits"]
                if a["username"] == "owen"][0]
        mine = json.loads(self.tool("token", "list", "--user", "owen", "--json").stdout)
        self.assertEqual([(t["id"], t["account_id"]) for t in mine["hits"]["hits"]],
                         [(made["id"], owen)])

    def test_token_revoke_takes_the_id_the_list_shows(self):
        self.tool("user", "add", "rita", "--role", "viewer", "--no-password")
        made = json.loads(self.tool("token", "create", "--user", "rita", "--name", "short",
                                    "--json").stdout)
        p = self.tool("token", "revoke", made["id"][:8].upper())
        self.assertEqual((p.returncode, p.stdout), (0, "revoked token %s\n" % made["id"]), p)
        tokens = self.s.get("/api/tokens?all=true").json["hits"]["hits"]
        self.assertFalse([t for t in tokens if t["id"] == made["id"]][0]["active"])
        for ref, extra in (("0b6e4c4e-8e8f-4b8f-9a4e-1c2d3e4f5a6b", ""),
                           ("ffffffff" if not made["id"].startswith("ffff") else "eeeeeeee",
                            " or one starting so"), ("nope", " or one starting so")):
            p = self.tool("token", "revoke", ref)
            self.assertEqual((p.returncode, p.stderr),
                             (1, "sked token revoke: no token has the id %s%s; see sked token "
                                 "list\n" % (ref, extra)))
        p = self.tool("token", "revoke", made["id"][:1])
        self.assertEqual((p.returncode, p.stderr),
                         (2, "sked token revoke: '%s' is too short to name a token: give 4 characters "
                             "of its id or more (see sked token list)\nsee 'sked token revoke "
                             "--help'\n" % made["id"][:1]))
        p = self.tool("user", "add", "norole", "--no-password")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--role is required: admin, operator or viewer", p.stderr)

    def test_a_message_shows_every_line_and_forges_none(self):
        """A run's message is shown whole where a run is shown alone (its lines after the
        first behind a bar, so none passes for a field of its own); in a table on a terminal
        cut to its first line, and piped whole on its row's one line, its lines joined by
        " ⏎ "; control characters are made visible."""
        job = self.s.create_job("say", title="Says things")
        run = self.s.wait_run(self.s.run_job(job["id"]))
        self.assertEqual(run["message"], self.MESSAGE)  # stored as the task said it
        shown = self.ok("run", "show", run["id"])
        self.assertIn("\nMessage       done ?31m?[2J\n              | Status        SUCCESS FORGED\n",
                      shown)
        self.assertEqual([l for l in shown.splitlines() if l.startswith("Status")],
                         ["Status        SUCCESS"])
        summary = self.cli("logs", run["id"], "-f").stdout
        self.assertTrue(summary.endswith(": done ?31m?[2J\n  | Status        SUCCESS FORGED\n"),
                        summary)
        rc, table, err = on_terminal(["runs", job["id"]], self.s.url)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("FORGED", table)
        self.assertIn("done ?31m?[2J\u2026", table)
        piped = self.ok("runs", job["id"])
        self.assertEqual(len(piped.splitlines()), 2, piped)
        self.assertTrue(piped.splitlines()[1].endswith(
            "  done ?31m?[2J \u23ce Status        SUCCESS FORGED"), piped)
        # every line for grep, as the runs of every job
        rows = [l for l in self.ok("runs", "--all").splitlines() if "FORGED" in l]
        self.assertEqual([r.split()[0] for r in rows], [run["id"][:13]])
        for out in (shown, summary, table, piped):
            self.assertNotIn("\x1b", out)
            self.assertNotIn("\x9b", out)

    def test_bidirectional_controls_reach_no_terminal(self):
        """A title holding a right-to-left override (U+202E) would reverse the rest of its
        table row on a terminal that does bidi: it is shown as '?', as other controls are,
        and the columns after it stay aligned."""
        job = self.s.create_job("say", title="Bidi")
        runs = [self.s.wait_run(self.s.run_job(job["id"], title=t))
                for t in ("ok title\u202eevil\u2066x", "plain title here")]
        table = self.ok("runs", job["id"]).splitlines()
        self.assertIn("ok title?evil?x", "\n".join(table))
        for ch in ("\u202e", "\u2066"):
            self.assertNotIn(ch, "\n".join(table))
            self.assertNotIn(ch, self.ok("run", "show", runs[0]["id"]))
        # the columns after the title start at the same place in both rows (a control drawn
        # as '?' counts one column)
        rows = [l for l in table if "title" in l]
        self.assertEqual(len(rows), 2, table)
        self.assertEqual(len({r.index("  done ") for r in rows}), 1, table)

    def test_a_long_message_ends_the_summary_with_its_count(self):
        job = self.s.create_job("fail", title="Fails at length")
        run = self.s.wait_run(self.s.run_job(job["id"]))
        self.assertEqual(run["message"], "exited with status 3: why 1\n" +
                         "\n".join("why %d" % i for i in range(2, 31)))  # the task's, whole
        p = self.cli("logs", run["id"], "-f")
        self.assertEqual(p.returncode, 1, p)
        tail = p.stdout.split("exited with status 3: why 1\n")[1]
        self.assertEqual(tail, "".join("  | why %d\n" % i for i in range(2, 22)) +
                         "  | (9 more lines)\n")
        shown = self.ok("run", "show", run["id"])
        self.assertIn("\n              | why 30\n", shown)


class TestWhatAJobGets(CliCase):
    """Where a job takes a value from its job type or the server, the CLI shows that value."""

    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks={"slow.json": skedtest.sh_task("slow", "true", timeout="6h"),
                            "quick.json": skedtest.sh_task("quick", "true")}).start()

    def test_show_gives_the_timeout_a_job_runs_with(self):
        slow = self.create("Inherits 6h", "slow")
        self.assertIsNone(slow["timeout"])
        self.assertIn("\nTimeout       6h (the job type's)\n", self.ok("job", "show", slow["id"]))
        own = self.create("Own 10m", "slow", "--timeout", "10m")
        self.assertIn("\nTimeout       10m\n", self.ok("job", "show", own["id"]))
        quick = self.create("Has none", "quick")
        self.assertIn("\nTimeout       none\n", self.ok("job", "show", quick["id"]))

    def test_show_sums_up_the_recent_runs(self):
        job = self.create("Runs twice", "quick")
        self.assertNotIn("Recent runs", self.ok("job", "show", job["id"]))  # none yet
        runs = [self.s.wait_run(self.s.run_job(job["id"]), ["SUCCESS"]) for _ in range(2)]
        line = [l for l in self.ok("job", "show", job["id"]).splitlines() if l.startswith("Recent runs")]
        self.assertEqual(len(line), 1, line)
        self.assertRegex(line[0], r"^Recent runs +the last 2: 100% succeeded \(SUCCESS 2\); took "
                                  r"\d+ms \(median\), \d+ms \(p95\), \d+ms at most$")
        stats = self.s.get("/api/jobs/%s/stats" % job["id"]).json
        self.assertIn("%dms at most" % round(stats["duration_seconds"]["max"] * 1000), line[0])
        self.assertEqual(stats["runs"], len(runs))

    def test_tasks_show_the_queue_a_job_gets(self):
        rows = {l.split()[0]: l.split() for l in self.ok("tasks").splitlines()[1:]}
        self.assertEqual(rows["quick"][2], "default")  # the server's first queue
        self.assertEqual(self.create("Gets a queue", "quick")["default_queue"], "default")
        self.assertIsNone(self.ok_json("tasks", "--json")["hits"]["hits"][0]["default_queue"])


class TestRunIdsOfOneMillisecond(unittest.TestCase):
    """Runs made in the same millisecond (catch-up runs, the retries one shutdown queues, those
    a crash left) share the 13 characters of their ids that tables show at least: a table shows
    each run's id as far as it differs from every other run's there, so that each id shown names
    its run in run show, logs and stop."""

    def test_every_run_id_a_table_shows_names_its_run(self):
        tasks = {"quick.json": skedtest.sh_task("quick", "echo done")}
        with Sked(tasks=tasks) as s:
            job = s.create_job("quick", title="Same millisecond")
            runs = [s.wait_run(s.run_job(job["id"]), ["SUCCESS"]) for _ in range(4)]
            s.stop()
            # three of them as if made in one millisecond: b shares all but the random end with
            # a, c the millisecond and the version digit; d keeps its own millisecond
            a, b, c, d = (r["id"] for r in runs)
            other = lambda ch: "0" if ch != "0" else "1"
            new = {b: a[:24] + other(a[24]) + a[25:], c: a[:15] + other(a[15]) + a[16:]}
            db = sqlite3.connect(s.db)
            triggers = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                                  "name = 'audit_no_update'").fetchall()
            db.execute("DROP TRIGGER audit_no_update")
            for old, id in new.items():
                db.execute("UPDATE run SET id = ? WHERE id = ?", (id, old))
                db.execute("UPDATE audit SET run_id = ? WHERE run_id = ?", (id, old))
            db.execute(triggers[0][0])
            db.commit()
            db.close()
            s.start()
            b, c = new[b], new[c]
            shown = {a: a[:25], b: b[:25], c: c[:16], d: d[:13]}
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)

            def cli(*args):
                p = subprocess.run([skedtest.BIN] + list(args), env=env, capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(p.returncode, 0, (args, p))
                return p.stdout

            for args in ((), ("--all",)):
                lines = cli("runs", *(args or (job["id"],))).splitlines()
                self.assertEqual(sorted(l.split()[0] for l in lines[1:5]), sorted(shown.values()),
                                 lines)
            about = [l.split("run ", 1)[1].split()[0]
                     for l in cli("audit", "--job", job["id"], "--size", "1000").splitlines()
                     if "run " in l]
            self.assertEqual(set(about), set(shown.values()), about)
            for id, prefix in shown.items():
                self.assertIn(id, cli("run", "show", prefix))
                self.assertIn("done", cli("logs", prefix))
            p = subprocess.run([skedtest.BIN, "stop", shown[c]], env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertNotIn("give more of it", p.stderr)  # refused as finished, not ambiguous
            p = subprocess.run([skedtest.BIN, "run", "show", a[:13]], env=env,
                               capture_output=True, text=True, timeout=60)
            # a start that several runs share is refused with their ids
            lines = p.stderr.splitlines()
            self.assertEqual((p.returncode, lines[0]),
                             (1, "sked: 3 runs have ids starting with %s; give more of it:" % a[:13]))
            self.assertEqual(sorted(lines[1:]), sorted("  %s  Same millisecond" % id for id in (a, b, c)))


class TestFollowAcrossARestart(unittest.TestCase):
    def follow_through_a_restart(self, proxied):
        """Follows a run with logs -f (through a proxy when proxied) while its sked is killed
        and started again 2.5 s later; while it is down, `job list` is run too. Returns the
        follow's (exit status, stdout, stderr), that command's CompletedProcess and the proxy."""
        port = skedtest.free_port()
        proxy = Proxy(port) if proxied else None
        if proxy:
            self.addCleanup(proxy.close)
        tasks = {"long.json": skedtest.sh_task("long", "echo started; sleep 30")}
        with Sked(tasks=tasks, args=["--listen", "127.0.0.1:%d" % port]) as s:
            run = s.run_job(s.create_job("long")["id"])
            skedtest.wait_for(lambda: any("started" in l["message"] for l in s.all_logs(run)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=proxy.url if proxy else s.url, SKED_TOKEN=skedtest.TOKEN)
            follow = subprocess.Popen([skedtest.BIN, "logs", run["id"], "-f"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            s.kill9()
            meanwhile = subprocess.run([skedtest.BIN, "job", "list"], env=env, capture_output=True,
                                       text=True, timeout=60)
            time.sleep(2.5)
            s.start()
            out, err = follow.communicate(timeout=60)
        return (follow.returncode, out, err), meanwhile, proxy

    def test_logs_f_waits_for_a_restarting_server(self):
        (rc, out, err), meanwhile, _ = self.follow_through_a_restart(proxied=False)
        # the run was lost with the server: recovery ends it FAILED, and the follow says so
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("trying again", err)
        self.assertIn("FAILED", out)
        self.assertEqual(out.count("started"), 1, out)
        self.assertEqual(meanwhile.returncode, 3, meanwhile)

    def test_logs_f_waits_for_a_server_restarting_behind_a_proxy(self):
        """Behind a proxy, a restarting sked is a 502 page, not a refused connection: logs -f
        waits for it as for a server that does not answer (it gave up at once, exit 1), and a
        command meanwhile exits 3, unreachable."""
        (rc, out, err), meanwhile, proxy = self.follow_through_a_restart(proxied=True)
        self.assertEqual(rc, 1, (out, err))  # the run was lost: FAILED
        self.assertIn("trying again", err)
        self.assertIn("FAILED", out)
        self.assertEqual(out.count("started"), 1, out)
        self.assertEqual(meanwhile.returncode, 3, meanwhile)
        self.assertIn("answered HTTP 502: sked behind it does not answer", meanwhile.stderr)
        self.assertGreater(proxy.bad_gateways, 0)


def pipe(a, b):
    """Passes each socket's bytes to the other until either closes or both are quiet for 60 s;
    then closes both. a may be a TLS socket, whose decrypted bytes may wait in it unselected."""
    import select
    try:
        while True:
            ready = select.select([a, b], [], [], 60)[0]
            if not ready:
                return
            for src, dst in ((a, b), (b, a)):
                if src in ready or (src is a and hasattr(a, "pending") and a.pending()):
                    data = src.recv(65536)
                    if not data:
                        return
                    dst.sendall(data)
    except OSError:
        pass
    finally:
        b.close()
        a.close()


class Proxy:
    """A reverse proxy before sked on port, as nginx is: each connection's bytes passed on,
    and a 502 page when sked does not take the connection (counted in bad_gateways)."""
    scheme = "http"

    def __init__(self, port, passes=None):
        import socket
        self.port, self.bad_gateways, self.passes = port, 0, passes
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = "%s://127.0.0.1:%d" % (self.scheme, self.sock.getsockname()[1])
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        import socket
        try:
            if self.passes is not None:  # the server behind goes away after so many connections
                if self.passes == 0:
                    raise OSError("gone")
                self.passes -= 1
            up = socket.create_connection(("127.0.0.1", self.port))
        except OSError:
            self.bad_gateways += 1
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(page) + page)
            except OSError:
                pass
            conn.close()
            return
        pipe(conn, up)

    def close(self):
        self.sock.close()


def pty_until(master, seen, done, timeout=30):
    """Reads the terminal's side master onto seen (bytes) until done(seen) or nothing comes
    for timeout seconds; returns what was seen."""
    import select
    while not done(seen):
        if not select.select([master], [], [], timeout)[0]:
            break  # nothing more comes: the caller's assertion says what came
        seen += os.read(master, 65536)
    return seen


def pty_rest(master, seen=b""):
    """Reads the terminal's side master onto seen until its other side is closed."""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side is closed: all is read
            return seen
        if not chunk:
            return seen
        seen += chunk


def on_terminal(args, url, env_extra=None, stdin=subprocess.DEVNULL, timeout=60):
    """Runs sked with args and its stdout on a terminal (a pty): (exit status, what the terminal
    showed with its \r\n line ends made \n, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
    env.update(SKED_URL=url, SKED_TOKEN=skedtest.TOKEN, **(env_extra or {}))
    master, slave = os.openpty()
    try:
        p = subprocess.Popen([skedtest.BIN] + list(args), env=env, stdout=slave,
                             stderr=subprocess.PIPE, stdin=stdin)
        os.close(slave)
        slave = None
        shown = pty_rest(master)
        err = p.stderr.read().decode()
        p.stderr.close()
        p.wait(timeout)
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    return p.returncode, shown.decode().replace("\r\n", "\n"), err


def cols(text):
    """The columns a terminal draws text in: wide characters take 2; combining marks, variation
    selectors, a zero-width joiner and the character it joins to the one before, none."""
    import unicodedata
    n, joined = 0, False
    for c in text:
        if not joined and not unicodedata.combining(c) and not "\ufe00" <= c <= "\ufe0f" and c != "\u200d":
            n += 2 if unicodedata.east_asian_width(c) in "WF" else 1
        joined = c == "\u200d"
    return n


class TestRetryChain(CliCase):
    """A failed run that its job retries is not the end of what --wait waits for."""

    @classmethod
    def setUpClass(cls):
        cls.gate_dir = tempfile.mkdtemp()
        cls.gate = os.path.join(cls.gate_dir, "fail-now")
        cls.s = Sked(tasks={"flaky.json": skedtest.sh_task(
            "flaky", 'echo "attempt $SKED_ATTEMPT"; [ "$SKED_ATTEMPT" -ge 3 ]'),
            "gated.json": skedtest.sh_task(
                "gated", 'while [ ! -e "%s" ]; do sleep 0.05; done; exit 1' % cls.gate)}).start()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.gate_dir, ignore_errors=True)

    def runs(self, job):
        return self.s.get("/api/jobs/%s/runs?sort_direction=asc" % job["id"]).json["hits"]["hits"]

    def test_wait_follows_the_retries_to_the_last_attempt(self):
        job = self.create("Flaky", "flaky", "--retries", "2", "--retry-backoff", "1s")
        p = self.cli("job", "run", "Flaky", "--wait")
        self.assertEqual(p.returncode, 0, p)  # the last attempt's
        runs = self.runs(job)
        self.assertEqual([(r["attempt"], r["status"]) for r in runs],
                         [(1, "FAILED"), (2, "FAILED"), (3, "SUCCESS")])
        lines = p.stdout.splitlines()
        for k in (1, 2):
            self.assertIn("run %s FAILED after " % runs[k - 1]["id"], p.stdout)
            self.assertTrue(any(re.match(r"attempt %d of 3 failed; retry %s queued, starts after "
                                         r"\d\d:\d\d:\d\d$" % (k, runs[k]["id"]), l) for l in lines),
                            p.stdout)
        self.assertEqual([l.split()[-1] for l in lines if " stdout " in l],
                         ["1", "2", "3"])  # every attempt's log, in order
        self.assertRegex(lines[-1], r"^run %s SUCCESS after " % runs[2]["id"])
        # a retry shows the run it follows
        self.assertIn("\nParent run    %s\n" % runs[1]["id"], self.ok("run", "show", runs[2]["id"]))
        self.assertNotIn("Parent run", self.ok("run", "show", runs[0]["id"]))
        # --json: the last attempt; its failure is the exit status
        self.ok("job", "update", job["id"], "--retries", "1", "--retry-backoff", "0s")
        p = self.cli("job", "run", "Flaky", "--wait", "--json")
        self.assertEqual(p.returncode, 1, p)
        last = json.loads(p.stdout)
        self.assertEqual((last["attempt"], last["status"], last["trigger"]), (2, "FAILED", "retry"))
        self.assertIn("attempt 1 of 2 failed; retry %s " % last["id"], p.stderr)

    def test_logs_f_names_the_retry_queued(self):
        job = self.create("Flaky later", "flaky", "--retries", "2", "--retry-backoff", "1h")
        first = self.s.wait_run(self.s.run_job(job["id"]))
        retry = wait_for(lambda: [r for r in self.runs(job) if r["trigger"] == "retry"])[0]
        try:
            p = self.cli("logs", first["id"], "-f")
            self.assertEqual(p.returncode, 1, p)
            self.assertRegex(p.stdout, r"\nrun %s FAILED after [^\n]*\nattempt 1 of 3 failed; retry %s "
                                       r"queued, starts after [^\n]+ \(sked logs %s -f follows it\)\n$"
                             % (first["id"], retry["id"], retry["id"]))
        finally:
            self.s.stop_run(retry)


    def test_logs_f_finds_a_retry_made_after_many_runs(self):
        # runs made while the failing one ran come between it and its retry: more than a page
        job = self.create("Slow to fail", "gated", "--retries", "1", "--retry-backoff", "1h")
        first = self.s.run_job(job["id"])
        self.s.wait_run(first, statuses=("RUNNING",))
        self.assertEqual(self.s.post("/api/queues/low/actions/pause", {"reason": "test"}).status, 200)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=30)
            for _ in range(1001):
                conn.request("POST", "/api/jobs/%s/runs" % job["id"], body=b'{"queue":"low"}',
                             headers={"Authorization": "Bearer " + skedtest.TOKEN,
                                      "Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 201)
            conn.close()
            open(self.gate, "w").close()
            first = self.s.wait_run(first)
            retry = wait_for(lambda: [r for r in self.s.get(
                "/api/jobs/%s/runs?size=5" % job["id"]).json["hits"]["hits"] if r["trigger"] == "retry"])[0]
            p = self.cli("logs", first["id"], "-f")
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("attempt 1 of 2 failed; retry %s queued" % retry["id"], p.stdout)
        finally:
            self.s.post("/api/queues/low/actions/resume")
            self.s.post("/api/jobs/%s/actions/stop" % job["id"])


class TestStoppingAFollow(CliCase):
    """Ctrl-C or SIGTERM ends a follow, not the run, and says so on a clean line."""

    def test_a_signal_stops_following_and_the_run_goes_on(self):
        job = self.create("Goes on", "reindex", "--arg", "steps=100000", "--arg", "step_seconds=0.02")
        master, slave = os.openpty()
        tty = b""
        try:
            p = self.popen("job", "run", job["id"], "--wait", stderr=slave, text=False)
            os.close(slave)
            slave = None
            tty = pty_until(master, tty, lambda t: b"running: " in t)
            self.assertIn(b"running: ", tty)  # the progress line is drawn
            p.send_signal(signal.SIGINT)
            out, _ = p.communicate(timeout=30)
            tty = pty_rest(master, tty)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        run = self.s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
        self.assertEqual(p.returncode, 130, tty)
        # the progress line taken away, then a line of its own
        self.assertTrue(tty.endswith(
            b"\r\x1b[Ksked: stopped following; run %s goes on (sked logs %s -f to follow it again, "
            b"sked stop %s to stop it)\r\n" % ((run["id"].encode(),) * 3)), tty[-300:])
        self.assertEqual(self.s.get_run(run)["status"], "RUNNING")
        # SIGTERM, and logs -f alike
        p = self.popen("logs", run["id"], "-f", text=False)
        try:
            self.assertIn(b"rebuilding 100000 segment(s)", p.stdout.readline())
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 143, err)
        self.assertIn(b"stopped following; run %s goes on" % run["id"].encode(), err)
        self.assertEqual(self.s.get_run(run)["status"], "RUNNING")
        self.s.stop_run(run)


class TestTableWidth(CliCase):
    """Tables fit a terminal by cutting their free text; piped, they keep every value whole."""

    LONG = "A rather long title " + "that goes on " * 6 + "and ends here"

    def test_a_table_fits_the_terminal_and_a_pipe_gets_everything(self):
        job = self.create(self.LONG, "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        self.assertGreater(len(self.LONG), 90)
        rc, shown, err = on_terminal(["job", "list", "--q", "goes on"], self.s.url, {"COLUMNS": "80"})
        self.assertEqual(rc, 0, err)
        lines = shown.splitlines()
        self.assertEqual(len(lines), 2, shown)
        self.assertTrue(all(cols(l) <= 80 for l in lines), shown)
        # the id and the job type whole, the title cut with an ellipsis
        self.assertRegex(lines[1], r"^%s  A rather long title[^\u2026]*\u2026  reindex  default  yes "
                         % job["id"][:8])
        # piped: whole, for grep and scripts
        self.assertIn(self.LONG, self.ok("job", "list", "--q", "goes on"))
        self.s.wait_run(self.s.run_job(job["id"], title=self.LONG))
        row = self.ok("runs", "--all", "--search", "goes on").splitlines()[1]
        self.assertEqual(row.count(self.LONG), 2, row)  # the job's title and the run's

    def test_the_other_columns_give_way_too_but_the_id(self):
        """On a terminal too narrow once the free text is cut to 8 columns, the other columns
        but the first give way too, down to their headers' widths (a job list with its last
        run was 88 columns wide on an 80-column terminal)."""
        job = self.create("Narrow table", "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        self.ok("job", "schedule", job["id"], "--cron", "0 3 * * *")
        self.s.wait_run(self.s.run_job(job["id"]))
        whole = self.ok("job", "list", "--q", "Narrow table").splitlines()
        self.assertGreater(max(cols(l) for l in whole), 70, whole)
        rc, shown, err = on_terminal(["job", "list", "--q", "Narrow table"], self.s.url, {"COLUMNS": "70"})
        self.assertEqual(rc, 0, err)
        lines = shown.splitlines()
        self.assertEqual(len(lines), 2, shown)
        self.assertTrue(all(cols(l) <= 70 for l in lines), shown)
        self.assertTrue(lines[1].startswith(job["id"][:8] + "  "), shown)  # the id whole
        self.assertIn("\u2026", lines[1])

    def test_a_joined_emoji_takes_two_columns(self):
        family = "\U0001F468\u200d\U0001F469\u200d\U0001F467 family"
        self.create(family, "http_call")
        self.create("plain family", "http_call")
        lines = self.ok("job", "list", "--task", "http_call", "--q", "family").splitlines()
        rows = [l for l in lines[1:] if "family" in l]
        self.assertEqual(len(rows), 2, lines)
        want = cols(lines[0][:lines[0].index("TASK")])
        for line in rows:
            self.assertEqual(cols(line[:line.index("http_call")]), want, line)

    def test_a_long_pause_reason_is_shown_whole(self):
        reason = "\u00e9" * 500  # 500 characters, 1000 bytes
        self.ok("queues", "pause", "low", "--reason", reason)
        try:
            row = [l for l in self.ok("queues").splitlines() if l.startswith("low ")][0]
        finally:
            self.ok("queues", "resume", "low")
        self.assertTrue(row.endswith("paused by bootstrap token (%s)" % reason), row[-80:])


class TestJsonEverywhere(CliCase):
    def test_job_show_json_has_the_recent_runs(self):
        job = self.create("Sums up", "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        self.assertEqual(self.ok_json("job", "show", job["id"], "--json")["recent"]["runs"], 0)
        self.s.wait_run(self.s.run_job(job["id"]), ["SUCCESS"])
        doc = self.ok_json("job", "show", job["id"], "--json")
        self.assertEqual(doc["recent"], self.s.get("/api/jobs/%s/stats" % job["id"]).json)
        self.assertEqual((doc["recent"]["runs"], doc["recent"]["statuses"]), (1, {"SUCCESS": 1}))
        self.assertIn("\"recent\"", self.ok("job", "show", "--help"))

    def test_cron_next_json_lists_the_instants(self):
        doc = self.ok_json("cron", "next", "0 3 * * *", "--tz", "Europe/Zurich", "--from",
                           "2026-03-27T12:00:00Z", "-n", "3", "--json")
        self.assertEqual(doc, ["2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"])

    def test_import_json_says_what_became_of_each_job(self):
        kept = self.create("Import: kept", "reindex")
        changed = self.create("Import: changed", "reindex", "--timeout", "5m")
        doc = {"jobs": [{"id": kept["id"], "title": "Import: kept", "task": "reindex"},
                        {"title": "Import: changed", "task": "reindex", "timeout": "10m"},
                        {"title": "Import: new", "task": "reindex"},
                        {"title": "Import: refused", "task": "no_such_type"}]}
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(doc, f)
            f.flush()
            p = self.cli("job", "import", f.name, "--json")
        self.assertEqual(p.returncode, 1, p)  # one failed
        out = json.loads(p.stdout)
        self.assertFalse(out["dry_run"])
        jobs = out["jobs"]
        self.assertEqual([(j["index"], j["title"], j["action"], j["matched_by"]) for j in jobs],
                         [(0, "Import: kept", "unchanged", "id"), (1, "Import: changed", "updated", "title"),
                          (2, "Import: new", "created", None), (3, "Import: refused", "failed", None)])
        self.assertEqual((jobs[0]["id"], jobs[1]["id"]), (kept["id"], changed["id"]))
        self.assertEqual(self.s.get("/api/jobs/" + jobs[2]["id"]).json["title"], "Import: new")
        self.assertEqual(jobs[1]["changes"], {"timeout": {"before": "5m", "after": "10m"}})
        self.assertEqual([j["changes"] for j in (jobs[0], jobs[3])], [{}, {}])
        self.assertEqual([j["error"] for j in jobs[:3]], [None] * 3)
        self.assertIn("not created: ", jobs[3]["error"])
        self.assertIn("task: unknown job type 'no_such_type'", jobs[3]["error"])
        self.assertIsNone(jobs[3]["id"])


class TestOptionsNamedAsTyped(CliCase):
    def test_errors_name_the_option_typed(self):
        job = self.create("Named as typed")
        p = self.cli("job", "run", job["id"], "--since", "9999-12-31T23:59:59Z")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --since: 9999-12-31T23:59:59.000000+00:00 is in the future", p.stderr)
        self.assertNotIn("--arg", p.stderr)
        p = self.cli("job", "run", job["id"], "--arg", "since=9999-12-31T23:59:59Z")
        self.assertIn("\n  --arg since=...: ", p.stderr)  # as typed, here too
        p = self.cli("job", "schedule", job["id"], "--interval", "0s")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --interval: an interval must be at least 1 second long", p.stderr)
        p = self.cli("job", "schedule", job["id"], "--crontab", "minute=0 hr=3")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --crontab hr=...: unknown field", p.stderr)
        p = self.cli("job", "schedule", job["id"], "--crontab", "minute=0 hour=3 timezone=Mars/Base")
        self.assertIn("\n  --crontab timezone=...: unknown time zone 'Mars/Base'", p.stderr)
        p = self.cli("job", "schedule", job["id"], "--crontab", "minute=0 hour=3", "--tz", "Mars/Base")
        self.assertIn("\n  --tz: unknown time zone 'Mars/Base'", p.stderr)

    def test_custom_args_too_large_are_named_so(self):
        """What the run's arguments resolve to came from --custom-args: the refusal of their
        size names it, not --arg, which was not given."""
        job = self.create("Named custom", "sync_records")
        folder = tempfile.mkdtemp(prefix="sked-big-")
        self.addCleanup(shutil.rmtree, folder, True)
        big = os.path.join(folder, "big.json")
        with open(big, "w") as f:
            json.dump({"x": "a" * 300000}, f)
        p = self.cli("job", "run", job["id"], "--custom-args", "@" + big)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --custom-args: too large: 300008 bytes as JSON", p.stderr)
        self.assertIn("\n  --custom-args: the arguments the run would get (with the job type's "
                      "defaults) are too large", p.stderr)
        self.assertNotIn("--arg:", p.stderr)
        # an --arg is still named so
        p = self.cli("job", "run", job["id"], *("--arg=x%d=%s" % (i, "a" * 100000) for i in range(3)))
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("\n  --arg", p.stderr)

    def test_a_zone_and_a_jitter_are_given_once(self):
        job = self.create("Zoned once")
        self.usage_fails("job", "schedule", job["id"], "--crontab",
                         "timezone=Europe/Paris minute=0 hour=3", "--tz", "UTC",
                         expect="--tz UTC and the timezone of --crontab differ: give the zone once")
        self.usage_fails("job", "schedule", job["id"], "--crontab", "minute=0 jitter=5m",
                         "--jitter", "10m",
                         expect="--jitter 10m and the jitter of --crontab differ: give the jitter once")
        self.usage_fails("job", "schedule", job["id"], "--cron", "@daily", "--jitter", "bad",
                         expect="--jitter: expected a duration")
        self.assertIsNone(self.s.get("/api/jobs/" + job["id"]).json["schedule"])
        # the same jitter written two ways is one
        done = self.ok_json("job", "schedule", job["id"], "--crontab",
                            "timezone=Europe/Paris minute=0 hour=3 jitter=5m", "--tz",
                            "Europe/Paris", "--jitter", "300s", "--json")
        self.assertEqual((done["schedule"]["timezone"], done["schedule"]["jitter"]),
                         ("Europe/Paris", "5m"))
        self.assertIn("timezone=ZONE and jitter=DURATION", self.ok("job", "schedule", "--help"))

    def test_arguments_beside_custom_args_are_refused_on_save_too(self):
        job = self.create("Saved custom", "sync_records", "--custom-args", '{"records": 1}')
        self.usage_fails("job", "update", job["id"], "--arg", "records=3",
                         expect="job 'Saved custom' has saved custom args, which its runs get "
                                "instead of their arguments: --arg and --args-json would not apply")
        self.usage_fails("job", "update", job["id"], "--args-json", '{"records": 3}',
                         expect="drop them with --clear-custom-args")
        self.usage_fails("job", "create", "--title", "x", "--task", "sync_records",
                         "--custom-args", '{"a": 1}', "--arg", "records=2",
                         expect="--arg and --args-json do not apply to them")
        self.assertEqual(self.s.get("/api/jobs/" + job["id"]).json["updated"], job["updated"])
        upd = self.ok_json("job", "update", job["id"], "--arg", "records=3", "--clear-custom-args",
                           "--json")
        self.assertEqual((upd["args"]["records"], upd["custom_args"]), (3, None))

    def test_a_duration_option_names_its_word(self):
        job = self.create("Kept long")
        self.usage_fails("job", "update", job["id"], "--retention", "none",
                         expect="--retention: expected a duration such as 90s, 10m, 1h30m or 2w "
                                "(units ms, s, m, h, d, w), or 'default' for the server's retention")
        self.usage_fails("job", "create", "--title", "x", "--task", "reindex", "--timeout", "soon",
                         expect="--timeout: expected a duration such as 90s")
        self.assertIsNone(self.ok_json("job", "update", job["id"], "--retention", "default",
                                       "--json")["retention"])


class TlsProxy(Proxy):
    """A TLS reverse proxy before sked, as an installation puts one: it takes TLS connections
    with cert and key on a port of its own and passes their bytes to port and back."""
    scheme = "https"

    def __init__(self, port, cert, key):
        import ssl
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        super().__init__(port)

    def serve(self, conn):
        import socket
        try:
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except OSError:  # the client did not trust the certificate
            conn.close()
            return
        pipe(tls, socket.create_connection(("127.0.0.1", self.port)))


class TestPrivateCa(CliCase):
    """An https:// SKED_URL of a TLS proxy whose certificate a private CA signed: --cacert (or
    SKED_CA_FILE) trusts that CA; without it, the refusal says so, not that sked is down."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="sked-ca-")
        def f(name):
            return os.path.join(cls.dir, name)
        def openssl(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out",
                f("ca.pem"), "-days", "2", "-subj", "/CN=sked test CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("proxy.key"), "-out",
                f("proxy.csr"), "-subj", "/CN=127.0.0.1")
        with open(f("ext"), "w") as ext:
            ext.write("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", f("proxy.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
                "-CAcreateserial", "-out", f("proxy.pem"), "-days", "2", "-extfile", f("ext"))
        cls.ca = f("ca.pem")
        cls.proxy = TlsProxy(int(cls.s.url.rsplit(":", 1)[1]), f("proxy.pem"), f("proxy.key"))

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    def test_cacert_trusts_a_private_ca(self):
        want = self.ok("tasks")
        p = self.cli("tasks", url=self.proxy.url)
        self.assertEqual(p.returncode, 3, p)
        self.assertIn("sked: the server's TLS certificate at %s/api/tasks is not trusted: "
                      % self.proxy.url, p.stderr)
        self.assertTrue(p.stderr.endswith(
            "sked: for a certificate of a private CA, give that CA's certificate with --cacert "
            "FILE (or SKED_CA_FILE); check that the URL names a host it is for\n"), p.stderr)
        self.assertNotIn("sked serve", p.stderr)
        self.assertEqual(self.ok("tasks", "--cacert", self.ca, url=self.proxy.url), want)
        # the environment's, as SKED_URL and SKED_TOKEN
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env.update(SKED_URL=self.proxy.url, SKED_TOKEN=skedtest.TOKEN, SKED_CA_FILE=self.ca)
        p = subprocess.run([skedtest.BIN, "tasks"], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)
        # and a CA that did not sign it is named as the one that was given
        other = os.path.join(self.dir, "other.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(self.dir, "other.key"), "-out", other, "-days", "2", "-subj",
                        "/CN=another CA"], check=True, capture_output=True)
        p = self.cli("tasks", "--cacert", other, url=self.proxy.url)
        self.assertEqual(p.returncode, 3, p)
        self.assertIn("check that the CA certificate in %s (--cacert or SKED_CA_FILE) signed it"
                      % other, p.stderr)

    def test_a_cacert_that_cannot_be_read_is_a_usage_error(self):
        missing = os.path.join(self.dir, "missing.pem")
        self.usage_fails("tasks", "--cacert", missing,
                         expect="sked tasks: --cacert %s: cannot read it (No such file or directory)"
                                % missing)
        self.usage_fails("tasks", "--cacert", "", expect="--cacert is empty")
        notpem = os.path.join(self.dir, "notpem")
        with open(notpem, "w") as f:
            f.write("hello\n")
        p = self.cli("tasks", "--cacert", notpem, url=self.proxy.url)
        self.assertEqual(p.returncode, 2, p)  # the file given is at fault, not the server
        self.assertIn("sked: cannot use the CA certificates in %s (--cacert or SKED_CA_FILE)"
                      % notpem, p.stderr)
        self.usage_fails("tasks", "--cacert", self.dir,
                         expect="sked tasks: --cacert %s is a folder: give the file of the CA's "
                                "certificate (PEM)" % self.dir)


class TestServerAndToken(CliCase):
    def test_an_https_url_of_the_plain_server_fails_at_once_and_says_why(self):
        """sked serves plain http; an https:// URL for it waited for the TLS handshake until
        curl's 10 s connect timeout, then named no cause."""
        plain = self.s.url[len("http://"):]
        p = self.cli("job", "list", url="https://" + plain, timeout=30)
        self.assertEqual(p.returncode, 3, p)
        # the handshake refused (closed at once), not timed out ("SSL connection timeout")
        self.assertNotIn("timeout", p.stderr)
        self.assertIn("the server did not answer TLS: if it serves plain http (as `sked serve` "
                      "does without a proxy in front), use http://%s\n" % plain, p.stderr)
        self.ok("job", "list")  # the server serves on

    def test_an_empty_url_or_token_is_refused(self):
        # SKED_URL and SKED_TOKEN are set: an empty option must not fall back on them
        self.usage_fails("job", "list", "--token", "", expect="--token is empty")
        self.usage_fails("job", "list", "--token=", expect="--token is empty")
        self.usage_fails("job", "list", "--url", "", expect="--url is empty")

    def test_an_empty_db_is_refused(self):
        """An empty --db (an unset variable: --db "$STORE") was read by the local tools as
        var/sked.db of the working directory, a restore writing there; serve refused it."""
        for args in (["user", "list"], ["token", "list"], ["backup", "/nonexistent/b.db"],
                     ["restore", "/nonexistent/b.db"]):
            self.usage_fails(*args, "--db", "", expect="--db is empty")
        self.usage_fails("--db=", "user", "list", expect="--db is empty")

    def test_a_url_ending_in_api_names_the_root(self):
        p = self.usage_fails("job", "list", "--url", self.s.url + "/api/",
                             expect="ends in /api: give the server's root, %s" % self.s.url)
        self.assertNotIn("no such route", p.stderr)
        p = self.cli("job", "list", url=self.s.url + "/API")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("(from SKED_URL) ends in /api", p.stderr)
        self.ok("job", "list", "--url", self.s.url + "/")
        # the routes are added after it: a query or a fragment would swallow them
        self.usage_fails("job", "list", "--url", self.s.url + "?x=1",
                         expect="has a query (?...): give the server's root")
        self.usage_fails("job", "list", "--url", self.s.url + "/#top",
                         expect="has a fragment (#...): give the server's root")


class TestStopEnded(CliCase):
    def test_stopping_a_run_that_ended_is_no_failure(self):
        job = self.create("Ends first", "reindex", "--arg", "steps=1", "--arg", "step_seconds=0")
        run = self.s.wait_run(self.s.run_job(job["id"]), ["SUCCESS"])
        p = self.cli("stop", run["id"][:13])
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "run %s has already ended: SUCCESS (nothing to stop)\n" % run["id"], ""))
        self.assertEqual(self.ok_json("stop", run["id"], "--json")["status"], "SUCCESS")

    def test_a_run_that_ends_while_it_is_stopped_is_no_failure(self):
        """The run is QUEUED when the command reads it, and CANCELLED by someone else before
        its stop arrives: a proxy in between does that."""
        sked = self.s
        job = self.create("Ends meanwhile", "reindex", "--queue", "low")

        class Proxy(http.server.BaseHTTPRequestHandler):
            def forward(self, method):
                if method == "POST" and self.path.endswith("/actions/stop"):
                    run = self.path.split("/runs/")[1].split("/")[0]
                    sked.stop_run({"job_id": job["id"], "id": run})  # the race, won by another
                n = int(self.headers.get("Content-Length") or 0)
                r = sked.request(method, self.path, raw=self.rfile.read(n) if n else None)
                self.send_response(r.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(r.raw.encode())))
                self.end_headers()
                self.wfile.write(r.raw.encode())

            def do_GET(self):
                self.forward("GET")

            def do_POST(self):
                self.forward("POST")

            def log_message(self, *a):
                pass

        self.ok("queues", "pause", "low")
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            run = self.s.run_job(job["id"])
            p = self.cli("stop", run["id"], url="http://127.0.0.1:%d" % srv.server_address[1])
        finally:
            srv.shutdown()
            srv.server_close()
            self.ok("queues", "resume", "low")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "run %s has already ended: CANCELLED (nothing to stop)\n" % run["id"], ""))


class TestLocalUsageErrors(CliCase):
    def test_usage_errors_of_the_local_tools_exit_2(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        def tool(*args):
            # a session of its own: no terminal to ask a password on
            return subprocess.run([skedtest.BIN] + list(args) + ["--db", self.s.db], env=env,
                                  capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        p = tool("user", "add", "nopw", "--role", "viewer")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("no terminal to ask for the password; use --password-stdin", p.stderr)
        self.assertIn("--help", p.stderr)
        p = tool("token", "revoke", "f18")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("'f18' is too short to name a token", p.stderr)


class TestDocumentedOutput(unittest.TestCase):
    def test_operations_shows_what_a_pause_prints(self):
        """The example in docs/operations.md reads as the binary writes it (see TestQueues)."""
        with open(os.path.join(skedtest.SRC, "docs", "operations.md")) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("queue default is paused")]
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^queue default is paused \(since \d\d:\d\d:\d\d by [^()]+\); "
                                   r"\d+ run\(s\) wait in it$")


class TestConfirm(CliCase):
    def test_no_answer_ends_the_prompt_line(self):
        job = self.create("Asks first", "reindex")
        master, slave = os.openpty()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=self.s.url, SKED_TOKEN=skedtest.TOKEN)
            p = subprocess.Popen([skedtest.BIN, "job", "stop", job["id"]], env=env, stdin=slave,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            import select
            self.assertTrue(select.select([p.stderr], [], [], 30)[0])
            os.write(master, b"\x04")  # Ctrl-D: no answer
            out, err = p.communicate(timeout=30)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(p.returncode, 1, err)
        self.assertTrue(err.endswith(" [y/N] \nnothing stopped\n"), err)


if __name__ == "__main__":
    skedtest.main()
