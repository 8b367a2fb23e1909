"""The celery executor with an AMQP (RabbitMQ) broker and the result backend on Redis, as
InvenioRDM runs Celery: a loopback rabbitmq-server and redis-server and Debian's python3-celery
running celery_app/skedtest_app.py with its broker on amqp:// (celerytest.py starts them all).
Checks go through sked's API and, where it matters, the broker's queues and the result keys:
outcomes, progress, GET /api/queues, hostile event messages, stop of a running task and of a
message still queued (taken out of a queue nobody consumes; revoked where a consumer holds it
back, so that a worker started later does not complete it), a queue the broker lost and one
that declines messages, messages the broker refuses (a user who may not write to the default
exchange, a message larger than the broker takes) and an expiration beyond the broker's longest,
sked killed while a message waits, the broker going away and coming back, and a connection that
keeps breaking (reconnects back off).

One rabbitmq-server, one redis-server and one worker (a1@skedtest, -E, queue "celery") serve the
whole module; the tests of a queued message start a worker of their own afterwards."""
import os
import time
import unittest

import skedtest
from skedtest import CheckedSked as Sked, wait_for
from celerytest import (CuttingProxy, RabbitMQ, Redis, Worker, celery_task, pid_alive,
                        read_pidfile)

FAST = ["--shutdown-grace", "1s", "--stop-grace", "2s"]
BY = "bootstrap token"
# the largest message body the module's broker takes: a larger one is refused (406)
MAX_MESSAGE = 64 * 1024

RABBIT = None
REDIS = None
WORKER = None


def setUpModule():
    global RABBIT, REDIS, WORKER
    RABBIT = RabbitMQ(tls=True, max_message_size=MAX_MESSAGE).start()
    REDIS = Redis().start()
    WORKER = Worker(REDIS, name="a1@skedtest", queues=("celery",), broker=RABBIT.url()).start()


def tearDownModule():
    for p in (WORKER, REDIS, RABBIT):
        if p:
            p.close()


def task_files():
    num = {"type": "number"}
    b = RABBIT.url()
    return {
        "add.json": celery_task(
            "add", "skedtest_app.add", REDIS, broker=b, positional=["x", "y"],
            arguments={"type": "object", "required": ["x", "y"], "properties": {
                "x": {"type": "integer"}, "y": {"type": "integer"}}}),
        "fail.json": celery_task(
            "fail", "skedtest_app.fail", REDIS, broker=b,
            arguments={"type": "object", "properties": {
                "reason": {"type": "string", "default": "boom"}}}),
        "sleepy.json": celery_task(
            "sleepy", "skedtest_app.sleepy", REDIS, broker=b, stop_grace="3s",
            arguments={"type": "object", "required": ["seconds"], "properties": {
                "seconds": num, "pidfile": {"type": "string"}}}),
        "progress.json": celery_task(
            "progress", "skedtest_app.progress", REDIS, broker=b,
            arguments={"type": "object", "properties": {
                "steps": {"type": "integer", "default": 4},
                "step_seconds": {"type": "number", "default": 1}}}),
        # queues no worker consumes yet
        "later.json": celery_task(
            "later", "skedtest_app.sleepy", REDIS, broker=b, queue="later", accept_timeout="60s",
            arguments={"type": "object", "properties": {
                "seconds": {"type": "number", "default": 1}}}),
        "busy.json": celery_task(
            "busy", "skedtest_app.sleepy", REDIS, broker=b, queue="busy", accept_timeout="60s",
            arguments={"type": "object", "properties": {
                "seconds": {"type": "number", "default": 4}}}),
        "orphan.json": celery_task(
            "orphan", "skedtest_app.add", REDIS, broker=b, queue="nobody", positional=["x", "y"],
            accept_timeout="60s",
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 1}, "y": {"type": "integer", "default": 1}}}),
        # a message larger than the broker takes
        "big.json": celery_task(
            "big", "skedtest_app.echo", REDIS, broker=b,
            arguments={"type": "object", "properties": {"blob": {"type": "string"}}}),
        # an accept_timeout (the message's expiration) beyond the 3650 days RabbitMQ takes
        "patient.json": celery_task(
            "patient", "skedtest_app.add", REDIS, broker=b, positional=["x", "y"],
            accept_timeout="36600d",
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 1}, "y": {"type": "integer", "default": 2}}}),
        "full.json": celery_task(
            "full", "skedtest_app.add", REDIS, broker="pyamqp" + b[len("amqp"):], queue="full",
            positional=["x", "y"],
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 1}, "y": {"type": "integer", "default": 1}}}),
    }


def sked_lines(s, run):
    return [l["message"] for l in s.all_logs(run) if l["stream"] == "sked"]


def has_line(s, run, start):
    return any(l.startswith(start) for l in sked_lines(s, run))


def celery_queue(s, name):
    r = s.get("/api/queues")
    assert r.status == 200, r
    for q in r.json["hits"]["hits"]:
        if q["name"] == name and q.get("executor") == "celery":
            return q
    return None


def worker_entry(s, queue, hostname):
    for w in (celery_queue(s, queue) or {}).get("workers") or []:
        if w["hostname"] == hostname:
            return w
    return None


class Amqp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Sked(tasks=task_files(), args=FAST).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def test_add_succeeds_with_its_result_as_output(self):
        s = self.s
        run = s.run_job(s.create_job("add", args={"x": 2, "y": 3})["id"])
        self.assertEqual(run["queue"], "celery")
        done = s.wait_run(run)
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], 5)
        self.assertEqual(REDIS.result(run["id"])["status"], "SUCCESS")
        lines = sked_lines(s, done)
        # in this order; the broker's confirm (once the message is on disk) may come after the
        # worker received it, and the log says so
        at = [next((i for i, l in enumerate(lines) if l.startswith(start)), None)
              for start in ("sent to celery queue celery (", "received by a1@skedtest",
                            "started on a1@skedtest")]
        self.assertNotIn(None, at, lines)
        self.assertEqual(at, sorted(at), lines)

    def test_api_queues_shows_the_queue_its_length_and_its_worker(self):
        s = self.s
        # the worker answered active_queues through sked's reply queue, and its heartbeats
        # come through the events
        wait_for(lambda: (worker_entry(s, "celery", "a1@skedtest") or {}).get("online"),
                 timeout=20, what="a1@skedtest online in GET /api/queues")
        q = celery_queue(s, "celery")
        # the user name is shown, the password (guest's is "guest" too) never
        self.assertEqual(q["broker"], "amqp://guest@127.0.0.1:%d//" % RABBIT.port)
        wait_for(lambda: celery_queue(s, "celery")["queued"] == 0, what="queued 0 on celery")

    def test_hostile_messages_on_the_event_exchange_change_nothing(self):
        s = self.s
        bodies = [b"", b"\x00\xff not json", b"[1, 2]", b"{}", b'{"type": 5}',
                  b'[{"type": "task-succeeded", "uuid": {"x": 1}}]',
                  b'{"type": "worker-heartbeat", "hostname": 7, "freq": "x"}',
                  b"[" * 5000 + b"]" * 5000, b'{"clock": 123456789012345678901234567890}']
        RABBIT.client(
            "for body in %r:\n"
            "    for key in ('task.multi', 'worker.heartbeat', 'task.received'):\n"
            "        ch.basic_publish(amqp.Message(body, content_type='application/json'),\n"
            "                         exchange='celeryev', routing_key=key)\n" % (bodies,))
        done = s.wait_run(s.run_job(s.create_job("add", args={"x": 40, "y": 2})["id"]))
        self.assertEqual((done["status"], done["output"]), ("SUCCESS", 42), done)

    def test_failure_carries_the_exception_and_its_traceback(self):
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("fail", args={"reason": "boom"})["id"]))
        self.assertEqual(done["status"], "FAILED", done)
        first, _, rest = done["message"].partition("\n")
        self.assertEqual(first, "ValueError: skedtest failure: boom", done["message"])
        self.assertIn("Traceback (most recent call last)", rest)

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
        self.assertEqual((seen["status"], seen["progress"]), ("RUNNING", {"done": 2, "total": 4}))
        done = s.wait_run(run)
        self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(done["output"], {"steps": 4})

    def test_stop_of_a_running_task_terminates_its_process(self):
        s = self.s
        pidfile = os.path.join(s.tmp, "pid-amqp-%f" % time.time())
        run = s.run_job(s.create_job("sleepy", args={"seconds": 60, "pidfile": pidfile})["id"])
        pid = read_pidfile(pidfile)
        self.assertIn(pid, WORKER.pids())
        s.wait_run(run, ["RUNNING"], timeout=15)
        s.stop_run(run)
        done = s.wait_run(run, timeout=20)
        self.assertEqual(done["status"], "CANCELLED", done)
        self.assertEqual(done["message"], "stopped by %s" % BY)
        self.assertEqual(REDIS.result(run["id"])["status"], "REVOKED")
        wait_for(lambda: not pid_alive(pid), timeout=8, what="the task's process to end")

    def confirmed(self, run, queue):
        wait_for(lambda: has_line(self.s, run, "sent to celery queue %s (the broker confirmed it)"
                                  % queue), what="the broker's confirm")

    def test_stop_of_a_message_in_a_queue_nobody_consumes_takes_it_out(self):
        s = self.s
        job = s.create_job("later")
        first, second = s.run_job(job["id"]), s.run_job(job["id"])
        self.confirmed(first, "later")
        self.confirmed(second, "later")
        self.assertEqual(RABBIT.queue("later"), (2, 0))
        s.stop_run(first)
        done = s.wait_run(first, timeout=10)
        self.assertEqual(done["status"], "CANCELLED", done)
        self.assertEqual(done["message"], "stopped by %s before a worker took it" % BY)
        self.assertFalse(has_line(s, first, "the message stays in queue"))
        # exactly that message is gone; the other one waits where it was
        self.assertEqual(RABBIT.queue("later"), (1, 0))
        self.assertEqual(s.get_run(second)["status"], "QUEUED")
        with Worker(REDIS, name="a2@skedtest", queues=("later",), broker=RABBIT.url()):
            done = s.wait_run(second, timeout=20)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertIsNone(REDIS.result(first["id"]))
        self.assertEqual(s.get_run(first)["status"], "CANCELLED")

    def test_stop_of_a_queued_message_a_consumer_holds_back_revokes_it(self):
        s = self.s
        job = s.create_job("busy")
        holder = RABBIT.holder("busy")
        try:
            held = s.run_job(job["id"])  # the holder takes it and sits on it
            run = s.run_job(job["id"])  # this one stays ready in the queue
            self.confirmed(held, "busy")
            self.confirmed(run, "busy")
            wait_for(lambda: RABBIT.queue("busy") == (1, 1), what="one message ready, one held")
            s.stop_run(run)
            done = s.wait_run(run, timeout=10)
            self.assertEqual(done["status"], "CANCELLED", done)
            self.assertEqual(done["message"], "stopped by %s before a worker took it" % BY)
            lines = sked_lines(s, run)
            self.assertTrue(any(l.startswith("the message could not be taken out of queue busy: "
                                             "a worker consumes the queue") for l in lines), lines)
            self.assertTrue(has_line(s, run, "the message stays in queue busy until it expires"))
        finally:
            os.killpg(holder.pid, 9)
            holder.wait()
        # a worker that starts now takes both messages and is told, on its worker-online and
        # first heartbeats, to revoke the stopped task: it discards it, or ends it at once
        with Worker(REDIS, name="a3@skedtest", queues=("busy",), broker=RABBIT.url()):
            meta = wait_for(lambda: REDIS.result(run["id"]), timeout=20,
                            what="the revoked task's record in the backend")
            self.assertEqual(meta["status"], "REVOKED", meta)
            done = s.wait_run(held, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
        self.assertEqual(s.get_run(run)["status"], "CANCELLED")

    def test_a_queue_the_broker_lost_fails_the_run_naming_it(self):
        s = self.s
        job = s.create_job("orphan")
        first = s.run_job(job["id"])
        wait_for(lambda: has_line(s, first, "sent to celery queue nobody (the broker confirmed"),
                 what="the broker's confirm")
        s.stop_run(first)
        self.assertEqual(s.wait_run(first, timeout=10)["status"], "CANCELLED")
        # the queue sked declared goes away behind its back: the next message finds no queue
        RABBIT.client("ch.queue_delete('nobody')")
        run = s.run_job(job["id"])
        done = s.wait_run(run, timeout=15)
        self.assertEqual(done["status"], "FAILED", done)
        self.assertTrue(done["message"].startswith(
            "no queue took the message for celery queue nobody: 312 NO_ROUTE"), done["message"])
        # and the one after declares it again
        again = s.run_job(job["id"])
        wait_for(lambda: has_line(s, again, "sent to celery queue nobody (the broker confirmed"),
                 what="the broker's confirm after the queue is declared again")
        s.stop_run(again)
        self.assertEqual(s.wait_run(again, timeout=10)["status"], "CANCELLED")

    def test_a_queue_that_declines_messages_fails_the_run(self):
        s = self.s
        # declared first by others with arguments of their own: sked uses it as it is, and the
        # broker declines the message (the queue holds none)
        RABBIT.client("ch.queue_declare('full', durable=True, auto_delete=False, arguments="
                      "{'x-max-length': 0, 'x-overflow': 'reject-publish'})")
        run = s.run_job(s.create_job("full")["id"])
        done = s.wait_run(run, timeout=15)
        self.assertEqual(done["status"], "FAILED", done)
        self.assertTrue(done["message"].startswith(
            "the broker declined the message for celery queue full"), done["message"])
        self.assertTrue(has_line(s, run, "the broker declined the message for celery queue full"))


    def test_a_message_the_broker_refuses_fails_its_run_alone(self):
        """A message larger than the broker takes: RabbitMQ closes the publishing channel
        (406), which is no lost connection. That run fails, once; the messages sent right
        after it on the same channel, which the broker dropped unseen, are sent again and
        succeed, their logs saying nothing of it; the connection stays."""
        s = self.s
        before = s.server_log().count("celery.disconnected")
        big = s.run_job(s.create_job("big")["id"], args={"blob": "b" * (MAX_MESSAGE + 1000)})
        adds = [s.run_job(s.create_job("add", args={"x": i, "y": 100})["id"]) for i in range(3)]
        done = s.wait_run(big, timeout=20)
        self.assertEqual(done["status"], "FAILED", done)
        self.assertTrue(done["message"].startswith(
            "the broker refused the message for celery queue celery: 406 PRECONDITION_FAILED - "
            "message size "), done["message"])
        self.assertEqual([l for l in sked_lines(s, big) if "broker" in l], [done["message"]])
        for i, run in enumerate(adds):
            done = s.wait_run(run, timeout=30)
            self.assertEqual((done["status"], done["output"]), ("SUCCESS", i + 100), done)
            self.assertEqual([l for l in sked_lines(s, run) if "did not confirm" in l], [])
        self.assertEqual(s.server_log().count("celery.disconnected"), before)

    def test_an_accept_timeout_beyond_the_brokers_longest_expiration(self):
        """sked takes an accept_timeout up to 36600 days; RabbitMQ refuses a message expiration
        beyond 3650 days: the message's is cut to that, and the run goes through."""
        s = self.s
        done = s.wait_run(s.run_job(s.create_job("patient")["id"]), timeout=30)
        self.assertEqual((done["status"], done["output"]), ("SUCCESS", 3), done)


class Refused(unittest.TestCase):
    """A broker user who may do all but write to the default exchange, through which task
    messages go (rabbitmqctl set_permissions ro '.*' '^(?!amq\\.default$).*' '.*'), beside
    guest on the same broker."""

    @classmethod
    def setUpClass(cls):
        RABBIT.ctl("add_user", "ro", "ro-secret")
        RABBIT.ctl("set_permissions", "-p", "/", "ro", ".*", r"^(?!amq\.default$).*", ".*")
        tasks = task_files()
        ro = "amqp://ro:ro-secret@127.0.0.1:%d//" % RABBIT.port
        tasks["add_ro.json"] = celery_task(
            "add_ro", "skedtest_app.add", REDIS, broker=ro, positional=["x", "y"],
            arguments={"type": "object", "properties": {
                "x": {"type": "integer", "default": 1}, "y": {"type": "integer", "default": 2}}})
        cls.s = Sked(tasks=tasks, args=FAST).start()

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)
        RABBIT.ctl("delete_user", "ro")

    def test_a_publish_the_user_may_not_make_fails_the_run_once(self):
        s = self.s
        run = s.run_job(s.create_job("add_ro")["id"])
        done = s.wait_run(run, timeout=20)
        self.assertEqual(done["status"], "FAILED", done)
        self.assertEqual(done["message"],
                         "the broker refused the message for celery queue celery: 403 "
                         "ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused "
                         "for user 'ro'")
        self.assertEqual([l for l in sked_lines(s, run) if "broker" in l], [done["message"]])
        # the connection stays: no reconnects, and a run of guest's goes through meanwhile
        other = s.wait_run(s.run_job(s.create_job("add", args={"x": 1, "y": 1})["id"]))
        self.assertEqual((other["status"], other["output"]), ("SUCCESS", 2), other)
        self.assertEqual([l for l in sked_lines(s, other) if "did not confirm" in l], [])
        time.sleep(1)
        self.assertNotIn("celery.disconnected", s.server_log())

    def test_two_users_of_one_broker_are_two_brokers_in_api_queues(self):
        s = self.s
        port = RABBIT.port

        def brokers():
            r = s.get("/api/queues")
            self.assertEqual(r.status, 200, r)
            self.assertNotIn("ro-secret", r.raw)
            return sorted(q["broker"] for q in r.json["hits"]["hits"]
                          if q["executor"] == "celery" and q["name"] == "celery")
        self.assertEqual(brokers(), ["amqp://guest@127.0.0.1:%d//" % port,
                                     "amqp://ro@127.0.0.1:%d//" % port])


class Tls(unittest.TestCase):
    def test_amqps_checks_the_broker_and_says_why_a_run_waits(self):
        """amqps:// with the broker's CA and a client certificate sends runs (the worker takes
        them from the same broker's plain listener); a broker the CA did not sign, a host its
        certificate does not name and a missing client certificate keep the run waiting, its
        log saying why; ssl_cert_reqs=none skips the checks."""
        ca, cert, key = (RABBIT.tls_file(n) for n in ("ca.pem", "client.pem", "client.key"))
        client = {"ssl_certfile": cert, "ssl_keyfile": key}
        add = {"positional": ["x", "y"], "arguments": {"type": "object", "properties": {
            "x": {"type": "integer", "default": 2}, "y": {"type": "integer", "default": 3}}}}
        brokers = {
            "tls": RABBIT.tls_url(ssl_ca_certs=ca, **client),
            "unchecked": RABBIT.tls_url("127.0.0.1", ssl_cert_reqs="none", **client),
            "no_ca": RABBIT.tls_url(**client),
            "by_address": RABBIT.tls_url("127.0.0.1", ssl_ca_certs=ca, **client),
            "no_client_cert": RABBIT.tls_url(ssl_ca_certs=ca),
        }
        tasks = {k + ".json": celery_task(k, "skedtest_app.add", REDIS, broker=b, **add)
                 for k, b in brokers.items()}
        with Sked(tasks=tasks, args=FAST) as s:
            for ok in ("tls", "unchecked"):
                done = s.wait_run(s.run_job(s.create_job(ok)["id"]), timeout=30)
                self.assertEqual((done["status"], done["output"]), ("SUCCESS", 5), (ok, done))
            why = {
                "no_ca": "SSL peer cert verification failed (the broker's certificate is not "
                         "signed by the authorities of ssl_ca_certs, or the system's",
                "by_address": "SSL hostname verification failed (the broker's certificate does "
                              "not name the URL's host",
                "no_client_cert": "login refused: a SSL error occurred (does the broker ask for "
                                  "a client certificate: ssl_certfile and ssl_keyfile?)",
            }
            runs = {k: s.run_job(s.create_job(k)["id"]) for k in why}
            for k, needle in why.items():
                line = wait_for(lambda: next((l for l in sked_lines(s, runs[k])
                                              if l.startswith("waits for the broker")), None), 20)
                self.assertIn("waits for the broker amqps://", line)
                self.assertIn(needle, line)
                self.assertEqual(s.get_run(runs[k])["status"], "QUEUED")
                self.assertIn("event=celery.disconnected broker=amqps://", s.server_log())
                s.stop_run(runs[k])
                self.assertEqual(s.wait_run(runs[k])["status"], "CANCELLED")
        # a file named by the URL must be readable when the task file is loaded
        bad = celery_task("bad", "skedtest_app.add", REDIS,
                          broker=RABBIT.tls_url(ssl_ca_certs="/nonexistent.pem"))
        r = skedtest.config_check({"bad.json": bad})
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("celery.broker: URL option ssl_ca_certs: cannot read /nonexistent.pem: No "
                      "such file or directory", r.stderr)


class Restart(unittest.TestCase):
    def test_kill9_then_start_while_a_message_waits_and_a_task_runs(self):
        with Sked(tasks=task_files(), args=FAST) as s:
            running = s.run_job(s.create_job("sleepy", args={"seconds": 4})["id"])
            waiting = s.run_job(s.create_job("later", args={"seconds": 1})["id"])
            wait_for(lambda: has_line(s, waiting, "sent to celery queue later (the broker "
                                                  "confirmed it)"), what="the broker's confirm")
            s.wait_run(running, ["RUNNING"], timeout=15)
            s.kill9()
            s.start()
            done = s.wait_run(running, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], {"slept": 4})
            # no LPOS on AMQP: the workers are asked, and the message is taken when a worker
            # comes for it
            wait_for(lambda: has_line(s, waiting, "taken over while its message was in queue "
                                                  "later"), what="the take-over line")
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            with Worker(REDIS, name="a4@skedtest", queues=("later",), broker=RABBIT.url()):
                done = s.wait_run(waiting, timeout=30)
                self.assertEqual(done["status"], "SUCCESS", done)
                self.assertEqual(done["output"], {"slept": 1})


class BrokerRestart(unittest.TestCase):
    def test_the_broker_going_away_and_coming_back(self):
        with Sked(tasks=task_files(), args=FAST) as s:
            running = s.run_job(s.create_job("sleepy", args={"seconds": 5})["id"])
            s.wait_run(running, ["RUNNING"], timeout=15)
            RABBIT.stop()
            # a run while the broker is away waits for it
            waiting = s.run_job(s.create_job("add", args={"x": 20, "y": 22})["id"])
            time.sleep(1)
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            self.assertFalse(has_line(s, waiting, "sent to celery queue"))
            # the task in flight is followed through the result backend meanwhile
            done = s.wait_run(running, timeout=30)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], {"slept": 5})
            RABBIT.start()
            done = s.wait_run(waiting, timeout=60)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"], 42)
            self.assertTrue(has_line(s, waiting, "sent to celery queue celery ("))


class Backoff(unittest.TestCase):
    def test_a_connection_that_keeps_breaking_is_reopened_with_a_growing_wait(self):
        """Each connection to the broker opens and is cut half a second later: sked opens it
        again after 200 ms, then 400 ms, doubling up to 5 s (a connection counts as sound once
        the broker confirmed a message on it or it lasted 10 s), not at once."""
        proxy = CuttingProxy(RABBIT.port, cut_after=0.5)
        self.addCleanup(proxy.close)
        task = celery_task("cut", "skedtest_app.add", REDIS,
                           broker="amqp://guest:guest@127.0.0.1:%d//" % proxy.port)
        with Sked(tasks={"cut.json": task}, args=FAST) as s:
            wait_for(lambda: proxy.accepted >= 1, what="sked's first connection")
            time.sleep(2)
            before = proxy.accepted
            time.sleep(8)
            # 200, 400, 800 ms, ...: about 3 connections in these 8 s; at once, about 14
            self.assertLessEqual(proxy.accepted - before, 6, s.server_log()[-3000:])
            # they did open (and were cut): sked said it was connected again
            self.assertIn("event=celery.connected broker=amqp://guest@127.0.0.1:%d//"
                          % proxy.port, s.server_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
