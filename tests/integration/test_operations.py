"""Running sked in production, against the real binary: retries, builtin job types (noop,
sleep, http against a local receiver, sked.prune on 100,000 old runs while other runs keep
executing), SIGHUP reloading task files, and backup/restore while sked runs."""
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import skedtest
from skedtest import CheckedSked as Sked, parse_time, sh_task, task_file, wait_for

FAST = ["--shutdown-grace", "1s", "--stop-grace", "1s"]


def builtin(id, name, **fields):
    doc = {"id": id, "title": id, "builtin": name}
    doc.update(fields)
    return doc


def runs_of(s, job_id):
    """Every run of the job, oldest first, following links.next past a page of 1,000."""
    runs, path = [], "/api/jobs/%s/runs?size=1000&sort_direction=asc" % job_id
    while path:
        page = s.get(path).json
        runs += page["hits"]["hits"]
        nxt = page["links"].get("next")
        path = nxt[nxt.index("/api/"):] if nxt else None
    return runs


class Receiver:
    """A local HTTP server that records requests and answers with a chosen status."""

    def __init__(self, status=200, body=b"pong"):
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                time.sleep(outer.delay)
                status = outer.status
                got = (self.command, self.path, dict(self.headers), self.rfile.read(n))
                outer.requests.append(got)
                if status < 300:
                    outer.ok.append(got)
                self.send_response(status)
                for k, v in outer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(outer.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_any

            def log_message(self, *a):
                pass

        self.status, self.body, self.headers = status, body, {}
        self.ok = []  # the requests answered 2xx, as requests are
        self.delay = 0  # seconds to wait before each answer
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """A small real SMTP server (plain, no STARTTLS offered) that keeps the messages it gets."""

    def __init__(self, refuse=(), greylist=False):
        import socket
        self.messages = []
        self.commands = []  # every command line, as sent
        self.refuse = refuse  # recipients answered 550
        self.greylist = greylist  # each recipient's first RCPT answered 451, as greylisting does
        self.seen = set()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = "smtp://127.0.0.1:%d" % self.port
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rb")
        send = lambda line: c.sendall(line.encode() + b"\r\n")
        send("220 localhost ESMTP test")
        msg = {"rcpt": []}
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line.decode().strip()
            self.commands.append(cmd)
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                send("250-localhost")
                send("250 8BITMIME")
            elif up.startswith("MAIL FROM:"):
                msg["from"] = cmd[10:].strip()
                send("250 ok")
            elif up.startswith("RCPT TO:"):
                if cmd[8:].strip().strip("<>") in self.refuse:
                    send("550 5.1.1 <%s>: user unknown" % cmd[8:].strip().strip("<>"))
                    continue
                if self.greylist and cmd[8:].strip() not in self.seen:
                    self.seen.add(cmd[8:].strip())
                    send("451 4.7.1 greylisted, try again later")
                    continue
                msg["rcpt"].append(cmd[8:].strip())
                send("250 ok")
            elif up == "DATA":
                send("354 go on")
                data = b""
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b".\n", b""):
                        break
                    data += l
                msg["data"] = data.decode()
                self.messages.append(msg)
                msg = {"rcpt": []}
                send("250 queued")
            elif up == "QUIT":
                send("221 bye")
                break
            else:
                send("250 ok")
        c.close()

    def close(self):
        self.sock.close()


class Notifications(unittest.TestCase):
    def test_email_and_signed_webhook_with_retries(self):
        import hashlib
        import hmac
        smtp = SmtpServer()
        port = skedtest.free_port()  # the receiver is down at first
        secret = "webhook-secret-0123456789"
        tasks = {"fails.json": sh_task("fails", 'echo "<3>disk full" ; exit 2'),
                 "ok.json": sh_task("ok", "echo fine")}
        env = {"SKED_SMTP_URL": smtp.url, "SKED_SMTP_FROM": "sked@example.org",
               "SKED_PUBLIC_URL": "https://sked.example.org/", "SKED_WEBHOOK_SECRET": secret}
        rec = None
        try:
            with Sked(tasks=tasks, args=FAST, env=env) as s:
                job = s.create_job("fails", title="Nightly import ✓",
                                   notification_emails=["ops@example.org", "dev@example.org"],
                                   notification_statuses=["FAILED"],
                                   notification_webhooks=["http://127.0.0.1:%d/hook?key=s3cr3t" % port])
                self.assertEqual(job["notification_webhooks"], ["http://127.0.0.1:%d/hook?key=s3cr3t" % port])
                run = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(run["status"], "FAILED")
                msgs = wait_for(lambda: len(smtp.messages) >= 2 and smtp.messages, what="two e-mails")
                self.assertEqual(sorted(m["rcpt"][0] for m in msgs), ["<dev@example.org>", "<ops@example.org>"])
                m = msgs[0]
                self.assertEqual(m["from"], "<sked@example.org>")
                self.assertIn("Subject: =?UTF-8?B?", m["data"])  # the title is not ASCII
                import base64, re
                enc = re.search(r"Subject: =\?UTF-8\?B\?([^?]+)\?=", m["data"]).group(1)
                self.assertEqual(base64.b64decode(enc).decode(), "Job Failed: Nightly import ✓")
                self.assertIn("https://sked.example.org/jobs/%s/runs/%s" % (run["job_id"], run["id"]), m["data"])
                self.assertIn("exited with status 2", m["data"])
                self.assertIn("disk full", m["data"])
                # the webhook failed, and is retried; the run is unaffected
                wait_for(lambda: "notify.retry" in s.server_log(), what="a retry")
                self.assertEqual(s.get_run(run)["status"], "FAILED")
                # now listen on the port the job names
                rec = ReceiverOn(port)
                got = wait_for(lambda: rec.requests, timeout=30, what="the webhook after a retry")
                method, path, headers, body = got[0]
                self.assertEqual((method, path), ("POST", "/hook?key=s3cr3t"))
                # the log names the hook by scheme and host: its path may be a secret
                sent = wait_for(lambda: [l for l in s.server_log().splitlines() if "notify.sent" in l
                                         and "webhook" in l], what="the delivery logged")
                self.assertIn("to=\"http://127.0.0.1:%d/…\"" % port, sent[0])
                self.assertNotIn("s3cr3t", s.server_log())
                doc = json.loads(body)
                self.assertEqual(doc["event"], "run.finished")
                self.assertEqual(doc["status"], "FAILED")
                self.assertEqual(doc["run"]["id"], run["id"])
                self.assertEqual(doc["job"]["title"], "Nightly import ✓")
                self.assertEqual(doc["link"], "https://sked.example.org/jobs/%s/runs/%s" % (run["job_id"], run["id"]))
                ts = headers["X-Sked-Timestamp"]
                want = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                self.assertEqual(headers["X-Sked-Signature"], "sha256=" + want)
                self.assertGreater(int(headers["X-Sked-Delivery"].rsplit("-", 1)[1]), 1)
                # statuses not listed send nothing
                n = len(smtp.messages)
                ok = s.create_job("ok", notification_emails=["ops@example.org"], notification_statuses=["FAILED"])
                s.wait_run(s.run_job(ok["id"]))
                time.sleep(0.5)
                self.assertEqual(len(smtp.messages), n)
                # the statuses as they are when the run ends: edited, then written by another
                # connection (the store keeps the jobs it read between runs)
                self.assertEqual(s.patch("/api/jobs/" + ok["id"], {"notification_statuses": ["SUCCESS"]}).status, 200)
                s.wait_run(s.run_job(ok["id"]))
                wait_for(lambda: len(smtp.messages) == n + 1, what="the e-mail of a SUCCESS")
                db = sqlite3.connect(s.db, timeout=10)
                db.execute("UPDATE job SET notifications = json_set(notifications, '$.statuses', "
                           "json('[]')) WHERE id = ?", (ok["id"],))
                db.commit()
                db.close()
                s.wait_run(s.run_job(ok["id"]))
                time.sleep(0.5)
                self.assertEqual(len(smtp.messages), n + 1)
                for body, field in (({"notification_webhooks": ["ftp://x"]}, "notification_webhooks"),
                                    ({"notification_webhooks": "http://x"}, "notification_webhooks")):
                    r = s.patch("/api/jobs/" + ok["id"], body)
                    self.assertEqual(r.status, 400)
                    self.assertIn(field, [e["field"] for e in r.json["errors"]])
        finally:
            smtp.close()
            if rec:
                rec.close()

    def test_a_retry_after_a_reload_goes_with_the_new_secret_and_mail_server(self):
        """A delivery waiting for its retry when a reload changes webhook_secret or smtp_url
        is sent with the settings in force at its next attempt, not those of its first: a
        rotated secret signs it, a moved mail server takes it."""
        import hashlib
        import hmac
        smtp = SmtpServer()
        dead = skedtest.free_port()  # no mail server there
        port = skedtest.free_port()  # the receiver is down at first
        tmp = skedtest.tempfile.mkdtemp(prefix="sked-test-")
        conf = os.path.join(tmp, "sked.conf")

        def settings(secret, smtp_url):
            with open(conf, "w") as f:
                f.write("[notifications]\nwebhook_secret = %s\nwebhook_retry = 1s\n"
                        "mail_retry = 1s\nsmtp_url = %s\n" % (secret, smtp_url))
        settings("first-secret-0123456789", "smtp://127.0.0.1:%d" % dead)
        rec = None
        try:
            with Sked(tasks={"ok.json": sh_task("ok", "echo fine")}, tmp=tmp,
                      args=FAST + ["--config", conf]) as s:
                job = s.create_job("ok", notification_statuses=["SUCCESS"],
                                   notification_emails=["ops@example.org"],
                                   notification_webhooks=["http://127.0.0.1:%d/hook" % port])
                s.wait_run(s.run_job(job["id"]))
                wait_for(lambda: s.server_log().count("notify.retry") >= 2,
                         what="both deliveries waiting for a retry")
                settings("second-secret-0123456789", smtp.url)
                s.proc.send_signal(signal.SIGHUP)
                wait_for(lambda: "reload.done" in s.server_log(), what="the reload")
                rec = ReceiverOn(port)
                got = wait_for(lambda: rec.requests, timeout=30, what="the webhook's retry")
                _, _, headers, body = got[0]
                self.assertGreater(int(headers["X-Sked-Delivery"].rsplit("-", 1)[1]), 1)
                ts = headers["X-Sked-Timestamp"]
                want = hmac.new(b"second-secret-0123456789", ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
                self.assertEqual(headers["X-Sked-Signature"], "sha256=" + want)
                msgs = wait_for(lambda: smtp.messages, timeout=30, what="the e-mail's retry")
                self.assertEqual(msgs[0]["rcpt"], ["<ops@example.org>"])
        finally:
            smtp.close()
            if rec:
                rec.close()

    def test_hanging_receivers_hold_neither_the_emails_nor_the_shutdown(self):
        """Webhook receivers that take a connection and never answer hold webhook threads
        only: another job's e-mail still goes out at once, and at shutdown the deliveries no
        thread has begun are kept in the outbox for the next start, rather than each given
        its attempt."""
        smtp = SmtpServer()
        hang = socket.socket()
        hang.bind(("127.0.0.1", 0))
        hang.listen(64)  # accepted by the kernel, never answered
        held = []
        stop = threading.Event()

        def take():
            hang.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(hang.accept()[0])
                except OSError:
                    pass
        threading.Thread(target=take, daemon=True).start()
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        env = {"SKED_SMTP_URL": smtp.url, "SKED_SMTP_FROM": "sked@example.org"}
        try:
            s = Sked(tasks=tasks, args=FAST, env=env).start()
            try:
                hooks = ["http://127.0.0.1:%d/h%d" % (hang.getsockname()[1], i) for i in range(10)]
                loud = s.create_job("ok", notification_statuses=["SUCCESS"], notification_webhooks=hooks)
                for _ in range(3):  # 30 deliveries to receivers that never answer
                    s.wait_run(s.run_job(loud["id"]))
                wait_for(lambda: len(held) >= 8, what="the webhook threads all waiting")
                mail = s.create_job("ok", notification_statuses=["SUCCESS"],
                                    notification_emails=["ops@example.org"])
                s.wait_run(s.run_job(mail["id"]))
                wait_for(lambda: smtp.messages, timeout=8, what="the e-mail, not behind the webhooks")
            finally:
                s.stop()
            log = s.server_log()
            kept = re.search(r"event=notify\.kept count=(\d+) ", log)
            self.assertTrue(kept, log[-3000:])
            self.assertEqual(int(kept.group(1)), 30, log[-3000:])  # none sent, none lost
            self.assertNotIn("notify.dropped", log)
            db = sqlite3.connect(s.db)
            rows = db.execute("SELECT channel, count(*) FROM notify_outbox GROUP BY channel").fetchall()
            db.close()
            self.assertEqual(rows, [("webhook", 30)])
            skedtest.shutil.rmtree(s.tmp, ignore_errors=True)
        finally:
            stop.set()
            smtp.close()
            for c in held:
                c.close()
            hang.close()

    def test_an_email_counts_only_the_entries_it_knows(self):
        """errored may come without a total (tasks.md): the e-mail says how many failed, and no
        negative count of successes."""
        smtp = SmtpServer()
        tasks = {"part.json": sh_task("part", """printf '{"entries":{"errored":3}}\\n' >&3""")}
        env = {"SKED_SMTP_URL": smtp.url, "SKED_SMTP_FROM": "sked@example.org"}
        try:
            with Sked(tasks=tasks, args=FAST, env=env) as s:
                job = s.create_job("part", notification_statuses=["PARTIAL_SUCCESS"],
                                   notification_emails=["ops@example.org"])
                self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "PARTIAL_SUCCESS")
                m = wait_for(lambda: smtp.messages, what="the e-mail")[0]
                self.assertIn("Entries:  3 failed\r\n", m["data"])
                self.assertNotIn("succeeded", m["data"])  # no count of successes it cannot know
        finally:
            smtp.close()

    def test_an_email_shows_a_tasks_control_characters_as_question_marks(self):
        """A task's message may carry a terminal's colour codes (ESC, C1 controls), which a
        mail reader in a terminal may act on: the e-mail shows them as '?', as the CLI does;
        tabs and line breaks stay."""
        smtp = SmtpServer()
        tasks = {"red.json": sh_task("red", r"""printf '\033[31mboom\033[0m\tat\302\205 the end\n' >&2; exit 4""")}
        try:
            with Sked(tasks=tasks, args=FAST, env={"SKED_SMTP_URL": smtp.url}) as s:
                job = s.create_job("red", notification_statuses=["FAILED"],
                                   notification_emails=["ops@example.org"])
                run = s.wait_run(s.run_job(job["id"]))
                self.assertIn("\x1b[31mboom", run["message"])
                body = wait_for(lambda: smtp.messages, what="the e-mail")[0]["data"].split("\r\n\r\n", 1)[1]
                self.assertIn("?[31mboom?[0m\tat? the end", body)
                self.assertNotIn("\x1b", body)
                self.assertNotIn("\x85", body)
        finally:
            smtp.close()

    def test_a_mail_server_that_is_down_never_fails_the_run(self):
        """A mail server not reached may be back soon: the e-mail is tried 6 times in all, the
        waits doubling from --mail-retry, then given up; the run is untouched."""
        dead = skedtest.free_port()
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        with Sked(tasks=tasks, args=FAST + ["--mail-retry", "20ms"],
                  env={"SKED_SMTP_URL": "smtp://127.0.0.1:%d" % dead}) as s:
            job = s.create_job("ok", notification_emails=["ops@example.org"], notification_statuses=["SUCCESS"])
            run = s.wait_run(s.run_job(job["id"]))
            self.assertEqual(run["status"], "SUCCESS")
            failed = wait_for(lambda: [l for l in s.server_log().splitlines() if "notify.failed" in l],
                              what="the failure logged")
            self.assertIn("channel=email", failed[0])
            self.assertIn("attempts=6 ", failed[0])
            retries = [l for l in s.server_log().splitlines() if "notify.retry" in l]
            self.assertEqual([re.search(r"wait_ms=(\d+)", l).group(1) for l in retries],
                             ["20", "40", "80", "160", "320"])
            self.assertEqual(s.get_run(run)["status"], "SUCCESS")

    def test_an_email_put_off_by_the_mail_server_is_sent_later(self):
        """Greylisting: a server answers 451 to a sender it does not know yet and takes the mail
        when it comes again; an answer of 550 is final (one attempt)."""
        smtp = SmtpServer(greylist=True, refuse=("nobody@example.org",))
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST + ["--mail-retry", "300ms"],
                      env={"SKED_SMTP_URL": smtp.url}) as s:
                job = s.create_job("ok", notification_statuses=["SUCCESS"],
                                   notification_emails=["ops@example.org", "nobody@example.org"])
                run = s.wait_run(s.run_job(job["id"]))
                got = wait_for(lambda: smtp.messages, what="the e-mail on its second attempt")
                self.assertEqual(got[0]["rcpt"], ["<ops@example.org>"])
                self.assertIn(run["id"], got[0]["data"])
                log = wait_for(lambda: "notify.failed" in s.server_log() and s.server_log(),
                               what="the refused recipient given up")
                retry = [l for l in log.splitlines() if "notify.retry" in l]
                self.assertEqual(len(retry), 1, retry)
                self.assertIn('to="ops@example.org" attempt=1 reason=', retry[0])
                self.assertIn("451 4.7.1 greylisted", retry[0])
                self.assertIn("wait_ms=300", retry[0])
                self.assertIn('to="ops@example.org" attempt=2', [l for l in log.splitlines()
                                                                  if "notify.sent" in l][0])
                failed = [l for l in log.splitlines() if "notify.failed" in l]
                self.assertIn('to="nobody@example.org" attempts=1 ', failed[0])
        finally:
            smtp.close()

    def test_a_webhook_is_tried_eight_times(self):
        """A receiver that stays down gets eight attempts, the waits doubling from
        --webhook-retry; then the delivery is given up and counted."""
        rec = Receiver(status=503)
        try:
            with Sked(tasks={"fails.json": sh_task("fails", "exit 2")},
                      args=FAST + ["--webhook-retry", "10ms"]) as s:
                job = s.create_job("fails", notification_statuses=["FAILED"],
                                   notification_webhooks=[rec.url + "/hook"])
                s.wait_run(s.run_job(job["id"]))
                failed = wait_for(lambda: [l for l in s.server_log().splitlines() if "notify.failed" in l],
                                  what="the delivery given up")
                self.assertIn("attempts=8 ", failed[0])
                self.assertEqual([h["X-Sked-Delivery"].rsplit("-", 1)[1] for _, _, h, _ in rec.requests],
                                 [str(i) for i in range(1, 9)])
                self.assertIn('sked_notification_failures_total{channel="webhook"} 1', s.get("/metrics").raw)
                self.assertIn("sked_notification_retries_total 7", s.get("/metrics").raw)
        finally:
            rec.close()


    def test_an_answer_decides_by_its_head_and_deliveries_past_the_backlog_wait(self):
        """A receiver that answers 200 and then stalls, or closes before its body's end, has
        the delivery: one attempt, no retry. With --notify-backlog 2 and a receiver that takes
        1 s, the deliveries past two wait in the store's outbox and go as the others are done:
        none is dropped."""
        stall = socket.socket()
        stall.bind(("127.0.0.1", 0))
        stall.listen(16)
        slow = socket.socket()
        slow.bind(("127.0.0.1", 0))
        slow.listen(16)
        conns, stop = [], threading.Event()
        answered = []

        def answer(sock, reply, wait):
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    c = sock.accept()[0]
                except OSError:
                    continue
                conns.append(c)

                def one(c=c):
                    got = c.recv(65536)
                    time.sleep(wait)
                    try:
                        c.sendall(reply)
                        answered.append(got)
                    except OSError:
                        pass
                threading.Thread(target=one, daemon=True).start()
        threading.Thread(target=answer, args=(stall, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", 0),
                         daemon=True).start()
        threading.Thread(target=answer, args=(slow, b"HTTP/1.1 204 No Content\r\n\r\n", 1),
                         daemon=True).start()
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST + ["--notify-backlog", "2"]) as s:
                hooks = ["http://127.0.0.1:%d/first" % slow.getsockname()[1],
                         "http://127.0.0.1:%d/second" % stall.getsockname()[1]]
                job = s.create_job("ok", notification_statuses=["SUCCESS"], notification_webhooks=hooks)
                run = s.wait_run(s.run_job(job["id"]))
                sent = wait_for(lambda: [l for l in s.server_log().splitlines()
                                         if "notify.sent" in l and "hook=2" in l], timeout=8,
                                what="the stalled answer taken as sent")
                self.assertIn("run=%s job=%s hook=2 to=" % (run["id"], job["id"]), sent[0])
                self.assertIn("attempt=1", sent[0])
                runs = [run] + [s.wait_run(s.run_job(job["id"])) for _ in range(3)]
                pending = int(re.search(r"^sked_notifications_pending (\d+)$", s.get("/metrics").raw,
                                        re.M).group(1))
                self.assertGreater(pending, 2)  # past the backlog: waiting in the outbox
                wait_for(lambda: "sked_notifications_pending 0" in s.get("/metrics").raw, timeout=20,
                         what="every delivery done")
                log = s.server_log()
                for r in runs:
                    for hook in (1, 2):
                        self.assertIn("event=notify.sent channel=webhook run=%s job=%s hook=%d "
                                      % (r["id"], job["id"], hook), log)
                self.assertNotIn("notify.dropped", log)
                self.assertNotIn("notify.retry", log)
                self.assertIn("sked_notifications_dropped_total 0", s.get("/metrics").raw)
        finally:
            stop.set()
            for c in conns:
                c.close()
            stall.close()
            slow.close()

    def test_a_refused_recipient_is_logged_with_the_servers_words(self):
        smtp = SmtpServer(refuse=("nobody@example.org",))
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST, env={"SKED_SMTP_URL": smtp.url}) as s:
                job = s.create_job("ok", notification_statuses=["SUCCESS"],
                                   notification_emails=["nobody@example.org", "ops@example.org"])
                s.wait_run(s.run_job(job["id"]))
                failed = wait_for(lambda: [l for l in s.server_log().splitlines() if "notify.failed" in l],
                                  what="the refused recipient")
                self.assertIn("the server answered: 550 5.1.1 <nobody@example.org>: user unknown", failed[0])
                self.assertIn("job=%s" % job["id"], failed[0])
                wait_for(lambda: smtp.messages, what="the other recipient's e-mail")
        finally:
            smtp.close()

    def test_addresses_that_would_break_the_mail_dialogue_or_a_delivery_are_refused(self):
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        dead = {"SKED_SMTP_URL": "smtp://127.0.0.1:%d" % skedtest.free_port()}
        with Sked(tasks=tasks, args=FAST, env=dead) as s:
            for bad in ("a@b.c\r\nX-Injected:yes", "a>b@c.d", "q@r.s>,<t@u.v", "a@b.c\tx", "a@b@c",
                        "x" * 250 + "@b.cd", "jörg@exämple.org"):
                r = s.post("/api/jobs", {"title": "t", "task": "ok", "notification_emails": [bad]})
                self.assertEqual(r.status, 400, (bad, r))
                msg = r.json["errors"][0]["messages"][0]
                self.assertIn("is not an e-mail address", msg)
                self.assertLess(len(msg), 200, msg)  # a long value is cut, not quoted whole
            for bad, why in (("http://", "has no host"), ("https://user@/x", "has no host"),
                             ("http://h/a\tb", "control character"), ("ftp://h", "not an http://"),
                             ("http://h/" + "x" * 2000, "longer than 2000 bytes"),
                             # what would follow the host shown to those who see only hosts
                             ("https://hooks.example.org;SECRET", "a host of other characters"),
                             ("https://hooks.example.org\\SECRET/x", "a host of other characters"),
                             ("https://h:123456/x", "a host of other characters"),
                             ("https://[::1]:99999/x", "PORT from 1 to 65535"),
                             ("http://h:0/", "PORT from 1 to 65535"),
                             ("http://-/", "has no host"), ("http://[:]/", "has no host"),
                             # what curl reads as another host than the one shown and checked
                             ("http://u:p@ss@127.0.0.1:9/x", "percent-encode it there as %40")):
                r = s.post("/api/jobs", {"title": "t", "task": "ok", "notification_webhooks": [bad]})
                self.assertEqual(r.status, 400, (bad, r))
                self.assertIn(why, r.json["errors"][0]["messages"][0])
                self.assertLess(len(r.json["errors"][0]["messages"][0]), 200)
            r = s.post("/api/jobs", {"title": "t", "task": "ok", "notification_statuses": ["X" * 5000]})
            self.assertEqual(r.status, 400, r)
            self.assertLess(len(r.json["errors"][0]["messages"][0]), 200)
            # saved by an older sked: skipped when a run ends, never handed to the mail server;
            # a URL curl refuses (an IPv6 address of nine groups) fails once, without retries
            job = s.create_job("ok", notification_statuses=["SUCCESS"],
                               notification_webhooks=["http://[1:2:3:4:5:6:7:8:9]/x"])
            db = sqlite3.connect(s.db, timeout=10)
            db.execute("UPDATE job SET notifications = json_set(notifications, '$.emails', "
                       "json(?)) WHERE id = ?", (json.dumps(["a@b.c\r\nRSET"]), job["id"]))
            db.commit()
            db.close()
            s.wait_run(s.run_job(job["id"]))
            wait_for(lambda: "notify.skipped" in s.server_log() and "notify.failed" in s.server_log(),
                     what="the skip and the failure logged")
            log = s.server_log()
            self.assertIn("channel=email", [l for l in log.splitlines() if "notify.skipped" in l][0])
            self.assertIn("attempts=1", [l for l in log.splitlines() if "notify.failed" in l][0])
            self.assertNotIn("notify.retry", log)

    def test_a_long_subject_and_body_stay_whole_characters_on_lines_mail_allows(self):
        import base64
        import re
        smtp = SmtpServer()
        message = "a" + "€" * 1000
        tasks = {"fails.json": sh_task("fails", 'printf \'{"message":"%s"}\\n\' "$1" >&3; exit 2',
                                       ["{{m}}"])}
        try:
            with Sked(tasks=tasks, args=FAST, env={"SKED_SMTP_URL": smtp.url}) as s:
                job = s.create_job("fails", title="😀" * 250, args={"m": message},
                                   notification_emails=["ops@example.org"], notification_statuses=["FAILED"])
                s.wait_run(s.run_job(job["id"]))
                data = wait_for(lambda: smtp.messages, what="the e-mail")[0]["data"]
                head, body = data.split("\r\n\r\n", 1)
                self.assertLessEqual(max(len(l) for l in data.split("\r\n")), 998)
                words = re.findall(r"=\?UTF-8\?B\?[^?]+\?=", head)
                self.assertGreater(len(words), 1)
                self.assertLessEqual(max(len(w) for w in words), 75)
                # lines with encoded words within 76 (RFC 2047), the first with "Subject: "
                for line in head.split("\r\n"):
                    if "=?UTF-8?B?" in line:
                        self.assertLessEqual(len(line), 76, line)
                subject = b"".join(base64.b64decode(w[10:-2]) for w in words).decode()
                self.assertEqual(subject, "Job Failed: " + "😀" * 250)
                body.encode("utf-8")  # the lines decoded whole: no character was cut in two
                self.assertIn("€" * 10, body)
                for line in body.split("\r\n"):
                    self.assertNotIn("\ufffd", line)
        finally:
            smtp.close()

    @staticmethod
    def failure_mail_head(title):
        """The head of the e-mail sent for a failed run of a job of this title."""
        smtp = SmtpServer()
        try:
            with Sked(tasks={"fails.json": sh_task("fails", "exit 2")}, args=FAST,
                      env={"SKED_SMTP_URL": smtp.url}) as s:
                job = s.create_job("fails", title=title, notification_emails=["ops@example.org"],
                                   notification_statuses=["FAILED"])
                s.wait_run(s.run_job(job["id"]))
                return wait_for(lambda: smtp.messages, what="the e-mail")[0]["data"].split("\r\n\r\n")[0]
        finally:
            smtp.close()

    def test_a_long_ascii_subject_is_folded_at_its_spaces(self):
        title = " ".join("word%03d" % i for i in range(31))  # 247 characters
        lines = self.failure_mail_head(title).split("\r\n")
        first = [i for i, l in enumerate(lines) if l.startswith("Subject: ")][0]
        folded = [first] + [i for i in range(first + 1, len(lines)) if lines[i].startswith(" ")]
        self.assertEqual(folded, list(range(first, first + len(folded))))
        self.assertGreater(len(folded), 3)
        self.assertLessEqual(max(len(lines[i]) for i in folded), 78)
        # unfolded (the line breaks taken out), it is the subject again
        self.assertEqual("".join(lines[i] for i in folded), "Subject: Job Failed: " + title)

    def test_a_subject_that_looks_encoded_is_encoded(self):
        import base64
        import re
        title = "=?UTF-8?B?SGFja2Vk?= plain"  # a reader would show "Hacked plain"
        words = re.findall(r"=\?UTF-8\?B\?([^?]+)\?=", self.failure_mail_head(title))
        self.assertEqual(b"".join(base64.b64decode(w) for w in words).decode(), "Job Failed: " + title)

    def test_a_login_is_never_sent_in_the_clear(self):
        smtp = SmtpServer()  # offers no STARTTLS
        try:
            url = "smtp://mailer:Passw0rd@127.0.0.1:%d" % smtp.port
            with Sked(tasks={"fails.json": sh_task("fails", "exit 2")}, args=FAST,
                      env={"SKED_SMTP_URL": url}) as s:
                job = s.create_job("fails", notification_emails=["ops@example.org"],
                                   notification_statuses=["FAILED"])
                s.wait_run(s.run_job(job["id"]))
                line = wait_for(lambda: [l for l in s.server_log().splitlines() if "notify.failed" in l],
                                what="the failed delivery")[0]
                self.assertIn("offers no STARTTLS", line)
                self.assertIn("smtps://", line)  # what to do instead
                self.assertNotIn("Passw0rd", s.server_log())
            self.assertEqual(smtp.messages, [])
            self.assertFalse([c for c in smtp.commands if c.upper().startswith("AUTH")], smtp.commands)
            self.assertTrue([c for c in smtp.commands if c.upper().startswith("EHLO")], smtp.commands)
        finally:
            smtp.close()

    def test_a_webhook_answered_without_http_is_tried_again(self):
        import socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        hits = []

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                hits.append(c.recv(65536))
                c.sendall(b"Service temporarily unavailable\r\n")
                c.close()
        threading.Thread(target=serve, daemon=True).start()
        try:
            with Sked(tasks={"fails.json": sh_task("fails", "exit 2")}, args=FAST) as s:
                job = s.create_job("fails", notification_statuses=["FAILED"],
                                   notification_webhooks=["http://127.0.0.1:%d/hook" % srv.getsockname()[1]])
                s.wait_run(s.run_job(job["id"]))
                wait_for(lambda: len(hits) >= 2, what="a second attempt")
                self.assertIn("notify.retry", s.server_log())
                self.assertNotIn("attempts=1 ", s.server_log())
        finally:
            srv.close()

    def test_a_run_a_crash_interrupted_notifies_as_a_failure(self):
        """A run a crash left running ends FAILED at the next start, as any failure: its job's
        owner is told (the night's import did not finish), once."""
        rec = Receiver()
        tasks = {"slow.json": sh_task("slow", "sleep 60")}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                slow = s.create_job("slow", notification_statuses=["FAILED"],
                                    notification_webhooks=[rec.url + "/hook"])
                run = s.run_job(slow["id"])
                wait_for(lambda: s.get_run(run)["status"] == "RUNNING")
                s.kill9()
                s.start()
                self.assertEqual(s.wait_run(run)["status"], "FAILED")
                got = wait_for(lambda: rec.requests, what="the interrupted run's webhook")
                doc = json.loads(got[0][3])
                self.assertEqual((doc["run"]["id"], doc["status"]), (run["id"], "FAILED"))
                self.assertIn("interrupted: sked stopped while the run was active", doc["message"])
                time.sleep(0.5)
                self.assertEqual(len(rec.requests), 1)
        finally:
            rec.close()


class OverdueAlerts(unittest.TestCase):
    def test_a_job_that_stops_succeeding_is_reported_once_and_its_recovery_too(self):
        """alert_after: a job without a success for that long has its webhooks told once
        (job.overdue), its overdue_since set, through a restart too; its next success tells
        them it recovered (job.recovered); a new alert_after judges afresh."""
        rec = Receiver()
        tasks = {"ok.json": sh_task("ok", "echo fine"), "bad.json": sh_task("bad", "exit 3")}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                job = s.create_job("ok", alert_after="2s", notification_webhooks=[rec.url + "/hook"])
                self.assertEqual((job["alert_after"], job["overdue_since"]), ("2s", None))
                quiet = s.create_job("ok", notification_webhooks=[rec.url + "/quiet"])  # no alert
                got = wait_for(lambda: rec.requests, timeout=15, what="the overdue alert")
                doc = json.loads(got[0][3])
                self.assertEqual(got[0][1], "/hook")
                self.assertEqual(got[0][2]["X-Sked-Event"], "job.overdue")
                self.assertEqual((doc["event"], doc["job"]["id"], doc["alert_after"], doc["last_success"]),
                                 ("job.overdue", job["id"], "2s", None))
                since = s.get("/api/jobs/" + job["id"]).json["overdue_since"]
                self.assertEqual(doc["overdue_since"], since)
                self.assertLess(parse_time(since) - parse_time(job["created"]), 10)
                # told once, also across a restart
                s.restart()
                time.sleep(3)
                self.assertEqual(len(rec.requests), 1, rec.requests)
                self.assertEqual(s.get("/api/jobs/" + job["id"]).json["overdue_since"], since)
                # a success tells it recovered
                s.wait_run(s.run_job(job["id"]))
                got = wait_for(lambda: rec.requests[1:], what="the recovery")
                doc = json.loads(got[0][3])
                self.assertEqual(got[0][2]["X-Sked-Event"], "job.recovered")
                ok = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"][0]
                self.assertEqual((doc["event"], doc["last_success"], doc["overdue_since"], doc["reason"]),
                                 ("job.recovered", ok["finished_at"], since, "succeeded"))
                # each alert has an id of its own, the one its deliveries are named by
                first_id = json.loads(rec.requests[0][3])["alert_id"]
                self.assertNotEqual(doc["alert_id"], first_id)
                self.assertEqual(got[0][2]["X-Sked-Delivery"], doc["alert_id"] + "-1")
                self.assertNotIn("reason", json.loads(rec.requests[0][3]))
                self.assertIsNone(s.get("/api/jobs/" + job["id"]).json["overdue_since"])
                # and overdue again 2 s after that success, not at the next 30 s check
                again = wait_for(lambda: rec.requests[2:], timeout=10, what="overdue again")
                self.assertEqual(json.loads(again[0][3])["event"], "job.overdue")
                self.assertLess(parse_time(json.loads(again[0][3])["overdue_since"]) -
                                parse_time(ok["finished_at"]), 5)
                # a new alert_after judges afresh, closing the open alert, and none is no alert
                r = s.patch("/api/jobs/" + job["id"], {"alert_after": "1h"})
                self.assertEqual((r.json["alert_after"], r.json["overdue_since"]), ("1h", None))
                closed = wait_for(lambda: rec.requests[3:], what="the alert closed")
                doc = json.loads(closed[0][3])
                self.assertEqual((doc["event"], doc["reason"], doc["alert_after"], doc["last_success"]),
                                 ("job.recovered", "alert_changed", "2s", None))
                self.assertEqual(doc["overdue_since"], json.loads(again[0][3])["overdue_since"])
                time.sleep(3)
                self.assertEqual(len(rec.requests), 4, rec.requests)
                self.assertFalse([x for x in rec.requests if x[1] == "/quiet"])
                audit = s.get("/api/audit?action=job.updated&job_id=" + job["id"]).json["hits"]["hits"]
                self.assertEqual(audit[0]["details"]["changes"]["alert_after"],
                                 {"before": "2s", "after": "1h"})
                for bad, msg in (("soon", "expected a duration"), ("500ms", "must be at least 1s"), (5, "must be a duration")):
                    r = s.patch("/api/jobs/" + job["id"], {"alert_after": bad})
                    self.assertEqual(r.status, 400, r)
                    self.assertIn(msg, r.json["errors"][0]["messages"][0])
                bad_job = s.create_job("bad", alert_after="1h")
                self.assertEqual(s.patch("/api/jobs/" + bad_job["id"], {"alert_after": None}).json["alert_after"], None)
                self.assertEqual(quiet["alert_after"], None)
        finally:
            rec.close()


class OverdueAlertsEdges(unittest.TestCase):
    def test_an_open_alert_is_closed_when_its_job_is_no_longer_watched(self):
        """Removing the alert_after of an overdue job, deactivating it or deleting it tells
        its webhooks the alert is closed (job.recovered, with the reason); a job not overdue
        tells nothing; a deactivated job is judged afresh once active again."""
        rec = Receiver()
        tasks = {"bad.json": sh_task("bad", "exit 3")}
        try:
            with Sked(tasks=tasks, args=FAST + ["--public-url", "https://sked.example.org"]) as s:
                jobs = {why: s.create_job("bad", title=why, alert_after="1s",
                                          notification_webhooks=[rec.url + "/" + why])
                        for why in ("alert_removed", "deactivated", "deleted")}
                calm = s.create_job("bad", alert_after="1h", notification_webhooks=[rec.url + "/calm"])
                wait_for(lambda: len(rec.requests) == 3, timeout=15, what="three overdue alerts")
                s.patch("/api/jobs/" + jobs["alert_removed"]["id"], {"alert_after": None})
                r = s.patch("/api/jobs/" + jobs["deactivated"]["id"], {"active": False})
                self.assertIsNone(r.json["overdue_since"])
                self.assertEqual(s.delete("/api/jobs/" + jobs["deleted"]["id"]).status, 204)
                s.patch("/api/jobs/" + calm["id"], {"alert_after": None})
                s.delete("/api/jobs/" + calm["id"])
                got = wait_for(lambda: rec.requests[3:] if len(rec.requests) >= 6 else None,
                               what="three alerts closed")
                for path, headers, body in ((g[1], g[2], json.loads(g[3])) for g in got):
                    self.assertEqual((headers["X-Sked-Event"], body["event"], body["reason"]),
                                     ("job.recovered", "job.recovered", path[1:]))
                    self.assertEqual(body["job"]["id"], jobs[path[1:]]["id"])
                    self.assertIsNotNone(body["overdue_since"])
                    # no link to a job that is gone
                    self.assertEqual(body["link"], None if path == "/deleted" else
                                     "https://sked.example.org/jobs/" + body["job"]["id"])
                # active again: judged afresh, so overdue again a second later
                s.patch("/api/jobs/" + jobs["deactivated"]["id"], {"active": True})
                got = wait_for(lambda: rec.requests[6:], timeout=10, what="overdue again")
                self.assertEqual((got[0][1], json.loads(got[0][3])["event"]), ("/deactivated", "job.overdue"))
                time.sleep(1)
                self.assertFalse([x for x in rec.requests if x[1] == "/calm"])
        finally:
            rec.close()

    def test_a_backfill_success_does_not_close_an_alert_and_a_run_does(self):
        """The last success a check knows is kept by the successes that follow it: a
        backfill's window redoes the past and leaves the job overdue; its next run recovers
        it with that run's end."""
        rec = Receiver()
        try:
            with Sked(tasks={"ok.json": sh_task("ok", "echo fine")}, args=FAST) as s:
                job = s.create_job("ok", alert_after="1s", notification_webhooks=[rec.url + "/hook"])
                wait_for(lambda: rec.requests, timeout=15, what="the overdue alert")
                since = s.get("/api/jobs/" + job["id"]).json["overdue_since"]
                w = s.post("/api/jobs/%s/actions/backfill" % job["id"],
                           {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "step": "1d"})
                self.assertEqual(w.status, 201, w)
                done = s.wait_run(s.get("/api/jobs/%s/runs/%s" % (job["id"], w.json["runs"][0]["id"])).json)
                self.assertEqual(done["status"], "SUCCESS")
                time.sleep(2)
                self.assertEqual(len(rec.requests), 1, rec.requests)
                self.assertEqual(s.get("/api/jobs/" + job["id"]).json["overdue_since"], since)
                ok = s.wait_run(s.run_job(job["id"]))
                got = wait_for(lambda: rec.requests[1:], what="the recovery")
                doc = json.loads(got[0][3])
                self.assertEqual((doc["event"], doc["reason"], doc["last_success"]),
                                 ("job.recovered", "succeeded", ok["finished_at"]))
        finally:
            rec.close()

    def test_a_deleted_success_is_no_longer_the_last(self):
        """The last success a check knows was kept after that run was deleted: the job was
        judged from a run that is gone until sked restarted, and its alert named it."""
        rec = Receiver()
        try:
            with Sked(tasks={"ok.json": sh_task("ok", "echo fine")}, args=FAST) as s:
                job = s.create_job("ok", alert_after="3s", notification_webhooks=[rec.url + "/hook"])
                first = s.wait_run(s.run_job(job["id"]))
                time.sleep(1)
                second = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(s.delete("/api/jobs/%s/runs/%s" % (job["id"], second["id"])).status, 204)
                got = wait_for(lambda: rec.requests, timeout=15, what="the overdue alert")
                doc = json.loads(got[0][3])
                self.assertEqual((doc["event"], doc["last_success"]), ("job.overdue", first["finished_at"]))
        finally:
            rec.close()

    def test_an_alert_not_delivered_at_shutdown_is_sent_at_the_next_start(self):
        """A delivery of an alert that sked stops before (a retry waiting) stays in the outbox:
        the next start sends it, the same alert (its text, alert_id included), and makes no
        second one: job.overdue, then likewise job.recovered."""
        rec = Receiver(status=500)
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                # 5 s: long enough for the recovery to be sent before it is overdue again
                job = s.create_job("ok", alert_after="5s", notification_webhooks=[rec.url + "/hook"])
                wait_for(lambda: rec.requests, timeout=15, what="the overdue alert's first attempt")
                since = s.get("/api/jobs/" + job["id"]).json["overdue_since"]
                self.assertIsNotNone(since)
                s.stop()  # its retry, waiting, stays in the outbox
                self.assertRegex(s.server_log(), r"event=notify\.kept count=1 ")
                first = rec.requests[0][3]
                rec.status = 200
                s.start()
                got = wait_for(lambda: rec.ok, timeout=15, what="the alert sent at the next start")
                self.assertEqual(got[0][3], first)
                self.assertEqual(json.loads(first)["event"], "job.overdue")
                self.assertIn("event=notify.resumed count=1", s.server_log())
                self.assertEqual(s.get("/api/jobs/" + job["id"]).json["overdue_since"], since)
                # the recovery likewise
                rec.status = 500
                n = len(rec.requests)
                s.wait_run(s.run_job(job["id"]))
                wait_for(lambda: rec.requests[n:], timeout=15, what="the recovery's first attempt")
                self.assertEqual(len(rec.ok), 1)  # no second overdue alert meanwhile
                s.stop()
                first = rec.requests[n][3]
                rec.status = 200
                s.start()
                got = wait_for(lambda: rec.ok[1:], timeout=15, what="the recovery sent at the next start")
                self.assertEqual(got[0][3], first)
                doc = json.loads(first)
                self.assertEqual((doc["event"], doc["reason"], doc["overdue_since"]),
                                 ("job.recovered", "succeeded", since))
        finally:
            rec.close()

    def test_time_inactive_is_not_held_against_a_job_and_the_last_success_to_end_counts(self):
        rec = Receiver()
        tasks = {"nap.json": sh_task("nap", 'sleep "$1"', extra_argv=["{{s}}"], arguments={
            "type": "object", "properties": {"s": {"type": "number"}}})}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                idle = s.create_job("nap", active=False, alert_after="2s", args={"s": 0},
                                    notification_webhooks=[rec.url + "/idle"])
                time.sleep(3)
                s.patch("/api/jobs/" + idle["id"], {"active": True})
                time.sleep(1)
                self.assertEqual(rec.requests, [])  # counted from the activation
                got = wait_for(lambda: rec.requests, timeout=10, what="overdue 2 s after it")
                self.assertEqual(json.loads(got[0][3])["event"], "job.overdue")
                # so for a job that succeeded before it was made inactive
                paused = s.create_job("nap", alert_after="2s", args={"s": 0},
                                      notification_webhooks=[rec.url + "/paused"])
                self.assertEqual(s.wait_run(s.run_job(paused["id"]))["status"], "SUCCESS")
                s.patch("/api/jobs/" + paused["id"], {"active": False})
                time.sleep(3)
                s.patch("/api/jobs/" + paused["id"], {"active": True})
                time.sleep(1)
                self.assertFalse([x for x in rec.requests if x[1] == "/paused"])
                wait_for(lambda: [x for x in rec.requests if x[1] == "/paused"], timeout=10,
                         what="overdue 2 s after the activation")
                # a success that ends after a later-begun one's: the last to end counts
                job = s.create_job("nap", alert_after="2s", args={"s": 0},
                                   notification_webhooks=[rec.url + "/order"])
                slow = s.run_job(job["id"], args={"s": 4})
                quick = s.wait_run(s.run_job(job["id"], args={"s": 0}))
                self.assertEqual(quick["status"], "SUCCESS")
                mine = lambda: [json.loads(x[3])["event"] for x in rec.requests if x[1] == "/order"]
                wait_for(lambda: "job.overdue" in mine(), timeout=10, what="overdue after the quick run")
                self.assertEqual(s.wait_run(slow)["status"], "SUCCESS")
                wait_for(lambda: "job.recovered" in mine(), timeout=5, what="recovered by the slow run")
                self.assertIsNone(s.get("/api/jobs/" + job["id"]).json["overdue_since"])
        finally:
            rec.close()


class DurableNotifications(unittest.TestCase):
    """Every delivery is a row of the store's outbox, written with what calls for it, until it
    is sent or given up: a crash, a shutdown or a full backlog loses none."""

    def test_a_webhook_retried_at_a_crash_is_sent_after_the_restart(self):
        rec = Receiver(status=503)
        tasks = {"fails.json": sh_task("fails", "exit 2")}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                job = s.create_job("fails", notification_statuses=["FAILED"],
                                   notification_webhooks=[rec.url + "/hook"])
                run = s.wait_run(s.run_job(job["id"]))
                wait_for(lambda: "notify.retry" in s.server_log(), what="a retry waiting")
                first = rec.requests[0][3]
                s.kill9()
                rec.status = 200
                s.start()
                got = wait_for(lambda: rec.ok, timeout=15, what="the webhook after the restart")
                self.assertEqual(got[0][3], first)  # the same text
                self.assertEqual(json.loads(first)["run"]["id"], run["id"])
                self.assertIn("event=notify.resumed count=1", s.server_log())
                wait_for(lambda: "sked_notifications_pending 0" in s.get("/metrics").raw,
                         what="the outbox emptied")
                time.sleep(1.5)
                self.assertEqual(len(rec.ok), 1)  # once
        finally:
            rec.close()

    def test_an_alert_pending_at_a_crash_is_sent_after_the_restart(self):
        rec = Receiver(status=503)
        try:
            with Sked(tasks={"ok.json": sh_task("ok", "echo fine")}, args=FAST) as s:
                job = s.create_job("ok", alert_after="1s", notification_webhooks=[rec.url + "/hook"])
                wait_for(lambda: rec.requests, timeout=15, what="the alert's first attempt")
                since = s.get("/api/jobs/" + job["id"]).json["overdue_since"]
                first = rec.requests[0][3]
                s.kill9()
                rec.status = 200
                s.start()
                got = wait_for(lambda: rec.ok, timeout=15, what="the alert after the restart")
                self.assertEqual(got[0][3], first)  # the same alert_id
                doc = json.loads(first)
                self.assertEqual((doc["event"], doc["job"]["id"], doc["overdue_since"]),
                                 ("job.overdue", job["id"], since))
                time.sleep(1.5)
                self.assertEqual(len(rec.ok), 1)
                self.assertEqual(s.get("/api/jobs/" + job["id"]).json["overdue_since"], since)
        finally:
            rec.close()

    def test_failed_notices_of_runs_a_shutdown_interrupts_are_sent_at_the_next_start(self):
        rec = Receiver(status=503)
        tasks = {"slow.json": sh_task("slow", "sleep 60")}
        try:
            with Sked(tasks=tasks, args=FAST) as s:
                job = s.create_job("slow", notification_statuses=["FAILED"],
                                   notification_webhooks=[rec.url + "/hook"])
                runs = [s.run_job(job["id"]) for _ in range(2)]
                wait_for(lambda: all(s.get_run(r)["status"] == "RUNNING" for r in runs),
                         what="both runs running")
                s.stop()  # interrupts them: FAILED, their notices not sent yet
                kept = s.server_log()
                rec.status = 200
                s.start()
                got = wait_for(lambda: len(rec.ok) >= 2 and rec.ok, timeout=15,
                               what="both FAILED notices")
                self.assertRegex(kept, r"event=notify\.kept count=2 ")
                docs = sorted((json.loads(g[3]) for g in got), key=lambda d: d["run"]["id"])
                self.assertEqual([d["run"]["id"] for d in docs], sorted(r["id"] for r in runs))
                for d in docs:
                    self.assertEqual(d["status"], "FAILED")
                    self.assertIn("interrupted", d["message"])
                time.sleep(1.5)
                self.assertEqual(len(rec.ok), 2)
        finally:
            rec.close()

    def test_past_the_backlog_a_delivery_waits_and_goes_without_a_restart(self):
        rec = Receiver()
        rec.delay = 1.5
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST + ["--notify-backlog", "1"]) as s:
                job = s.create_job("ok", notification_statuses=["SUCCESS"],
                                   notification_webhooks=[rec.url + "/a", rec.url + "/b"])
                s.wait_run(s.run_job(job["id"]))
                self.assertIn("sked_notifications_pending 2", s.get("/metrics").raw)
                got = wait_for(lambda: len(rec.ok) >= 2 and rec.ok, timeout=15,
                               what="both deliveries, one after the other")
                self.assertEqual(sorted(g[1] for g in got), ["/a", "/b"])
                wait_for(lambda: "sked_notifications_pending 0" in s.get("/metrics").raw,
                         what="the outbox emptied")
                self.assertIn("sked_notifications_dropped_total 0", s.get("/metrics").raw)
                self.assertNotIn("notify.dropped", s.server_log())
        finally:
            rec.close()

    def test_past_its_bound_the_outbox_gives_up_its_oldest_waiting(self):
        """Besides the deliveries in memory (--notify-backlog), at most 10,000 wait in the
        outbox: past that the oldest waiting is given up, logged and counted."""
        hang = socket.socket()
        hang.bind(("127.0.0.1", 0))
        hang.listen(64)  # accepted by the kernel, never answered
        url = "http://127.0.0.1:%d/hook" % hang.getsockname()[1]
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        try:
            with Sked(tasks=tasks, args=FAST + ["--notify-backlog", "1"]) as s:
                job = s.create_job("ok", notification_statuses=["SUCCESS"], notification_webhooks=[url])
                s.stop()
                # what a receiver down for long left: one delivery in memory, 10,000 waiting
                refs = [str(uuid.uuid4()) for _ in range(10001)]
                t = int(time.time() * 1e6)
                db = sqlite3.connect(s.db)
                db.executemany("INSERT INTO notify_outbox (created, channel, target, hook, event, "
                               "ref_id, job_id, body) VALUES (?, 'webhook', ?, 1, 'run.finished', "
                               "?, ?, '{}')", [(t, url, r, job["id"]) for r in refs])
                db.commit()
                db.close()
                s.start()
                self.assertIn("event=notify.resumed count=10001", s.server_log())
                run = s.wait_run(s.run_job(job["id"]))
                dropped = wait_for(lambda: [l for l in s.server_log().splitlines()
                                            if "event=notify.dropped" in l], what="the oldest given up")
                self.assertEqual(len(dropped), 1, dropped)
                self.assertIn("channel=webhook run=%s job=%s hook=1 " % (refs[1], job["id"]), dropped[0])
                self.assertIn('reason="10000 deliveries wait in the outbox already', dropped[0])
                text = s.get("/metrics").raw
                self.assertIn("sked_notifications_dropped_total 1", text)
                self.assertIn("sked_notifications_pending 10001", text)
                db = sqlite3.connect(s.db)
                left = {r for (r,) in db.execute("SELECT ref_id FROM notify_outbox")}
                db.close()
                self.assertEqual(left, (set(refs) - {refs[1]}) | {run["id"]})
                hang.close()  # the delivery under way fails: sked stops without waiting 10 s
        finally:
            hang.close()


class ReceiverOn(Receiver):
    """A Receiver on a given port."""

    def __init__(self, port, status=200):
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.command, self.path, dict(self.headers), self.rfile.read(n)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Observability(unittest.TestCase):
    def test_metrics_pass_promtool(self):
        import shutil
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is missing: apt-get install prometheus")
        tasks = {"ok.json": sh_task("ok", "echo fine"), "bad.json": sh_task("bad", "exit 1"),
                 "exits.json": sh_task("exits", 'exit "$1"', extra_argv=["{{code}}"], arguments={
                     "type": "object", "properties": {"code": {"type": "integer"}}})}
        long_queue = "q" * 64  # the longest name, too long to be kept between counts
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=4,%s=1" % long_queue]) as s:
            ok, bad = s.create_job("ok"), s.create_job("bad")
            for j in (ok, ok, bad):
                s.wait_run(s.run_job(j["id"]))
            sched = s.create_job("ok", schedule={"type": "interval", "hours": 1})
            # an interval fires when saved: its run is the fourth to end (waited for, so that a
            # busy machine does not read the metrics while it still runs)
            fired = wait_for(lambda: s.get("/api/jobs/%s/runs" % sched["id"]).json["hits"]["hits"],
                             what="the scheduled run")
            s.wait_run(fired[0])
            viewer = s.post("/api/users", {"username": "prom", "role": "viewer"}).json
            tok = s.post("/api/users/%s/tokens" % viewer["id"], {"name": "prometheus"}).json["token"]
            self.assertEqual(s.get("/metrics", token=None).status, 401)
            r = s.get("/metrics", token=tok)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            text = r.raw
            check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="SUCCESS"} 2' % ok["id"], text)
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="FAILED"} 1' % bad["id"], text)
            self.assertIn('sked_run_duration_seconds_count{queue="default"} 4', text)
            self.assertIn('sked_queue_slots{queue="default"} 4', text)
            self.assertIn('sked_queue_depth{queue="default"} 0', text)
            self.assertIn('sked_scheduled_jobs 1', text)
            self.assertIn('sked_http_requests_total{method="POST",route="/api/jobs/{}/runs",status="201"} 3', text)
            self.assertIn('sked_http_requests_total{method="GET",route="/metrics",status="401"} 1', text)
            self.assertIn("sked_scheduler_lateness_seconds_count 1", text)
            # numbers in their fewest digits that read back the same
            self.assertIn('sked_run_duration_seconds_bucket{queue="default",le="0.05"}', text)
            self.assertNotRegex(text, r'le="[0-9.]{18,}"')
            start = re.search(r"^sked_start_time_seconds (\S+)$", text, re.M).group(1)
            self.assertLess(abs(float(start) - time.time()), 600)
            # counts in turns, and in a queue whose name is too long to keep between counts
            for j, queue in ((bad, None), (ok, long_queue), (ok, long_queue), (ok, None), (bad, None)):
                s.wait_run(s.run_job(j["id"], **({"queue": queue} if queue else {})))
            exits = s.create_job("exits")  # one job and queue, each status counted apart
            for code in (0, 3, 3, 0):
                s.wait_run(s.run_job(exits["id"], args={"code": code}))
            text = s.get("/metrics", token=tok).raw
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="SUCCESS"} 2' % exits["id"], text)
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="FAILED"} 2' % exits["id"], text)
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="SUCCESS"} 3' % ok["id"], text)
            self.assertIn('sked_runs_total{job_id="%s",queue="%s",status="SUCCESS"} 2' % (ok["id"], long_queue), text)
            self.assertIn('sked_runs_total{job_id="%s",queue="default",status="FAILED"} 3' % bad["id"], text)
            self.assertIn('sked_run_duration_seconds_count{queue="default"} 11', text)
            self.assertIn('sked_run_duration_seconds_count{queue="%s"} 2' % long_queue, text)
            self.assertIn('sked_http_requests_total{method="POST",route="/api/jobs/{}/runs",status="201"} 12', text)
            self.assertIn('sked_http_requests_total{method="GET",route="/metrics",status="200"} 1', text)
            # a made-up method is counted as OTHER, not as a series of its own
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            conn.request("BREW", "/coffee")
            conn.getresponse().read()
            conn.close()
            text = s.get("/metrics", token=tok).raw
            self.assertIn('method="OTHER",route="unmatched"', text)
            self.assertNotIn("BREW", text)
            # reads share their loop iteration's transaction, and one that only read is no write
            writes = lambda: re.search(r"^sked_store_write_duration_seconds_count (\d+)$",
                                       s.get("/metrics", token=tok).raw, re.M).group(1)
            before = writes()
            for path in ("/api/jobs", "/api/jobs/" + ok["id"], "/api/jobs/%s/runs" % ok["id"]):
                self.assertEqual(s.get(path).status, 200)
            self.assertEqual(writes(), before)
            self.assertEqual(s.patch("/api/jobs/" + ok["id"], {"title": "renamed"}).status, 200)
            self.assertGreater(int(writes()), int(before))
            self.assertIn("sked_notification_failures_total", text)
            self.assertIn('sked_build_info{version=', text)
            for name in ("sked_resident_memory_bytes", "sked_start_time_seconds", "sked_runs_active"):
                self.assertIn("# TYPE %s gauge" % name, text)
            # the start time in plain digits, not rounded to nine of them (ten seconds)
            started = [l.split()[1] for l in text.splitlines() if l.startswith("sked_start_time_seconds ")][0]
            self.assertNotIn("e", started)
            self.assertLess(abs(float(started) - s.started_at), 30)

    def test_metrics_of_each_job(self):
        """sked_job_info, the end of each job's newest successful run and its next fire: what a
        dead man's switch alerts on, read from the store (so a restart keeps them)."""
        import shutil
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is missing: apt-get install prometheus")
        tasks = {"exits.json": sh_task("exits", 'exit "$1"', extra_argv=["{{code}}"], arguments={
            "type": "object", "properties": {"code": {"type": "integer"}}})}

        def families(s):
            text = s.get("/metrics").raw
            check = subprocess.run([promtool, "check", "metrics"], input=text,
                                   capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            out = {}
            for line in text.splitlines():
                m = re.match(r'^(sked_job_\w+)\{job_id="([0-9a-f-]+)"(.*)\} (\S+)$', line)
                if m:
                    out.setdefault(m.group(1), {})[m.group(2)] = (m.group(3), float(m.group(4)))
            return out

        with Sked(tasks=tasks, args=FAST) as s:
            odd = s.create_job("exits", title='Nightly "sync" \\ Zürich')
            never = s.create_job("exits", title="never succeeds")
            sched = s.create_job("exits", title="hourly",
                                 schedule={"type": "crontab", "minute": "7"})
            ok = s.wait_run(s.run_job(odd["id"], args={"code": 0}))
            s.wait_run(s.run_job(odd["id"], args={"code": 1}))  # a newer failure moves nothing
            s.wait_run(s.run_job(never["id"], args={"code": 2}))
            f = families(s)
            info = f["sked_job_info"]
            self.assertEqual(info[odd["id"]],
                             (',title="Nightly \\"sync\\" \\\\ Zürich",task="exits"', 1.0))
            self.assertEqual(info[never["id"]][1], 1.0)
            success = f["sked_job_last_success_timestamp_seconds"]
            self.assertAlmostEqual(success[odd["id"]][1], parse_time(ok["finished_at"]), places=5)
            self.assertNotIn(never["id"], success)  # no success: no sample, not 0
            self.assertNotIn(sched["id"], success)
            nxt = f["sked_job_next_fire_timestamp_seconds"]
            self.assertAlmostEqual(nxt[sched["id"]][1],
                                   parse_time(s.get("/api/jobs/" + sched["id"]).json["next_run"]),
                                   places=5)
            self.assertEqual(set(nxt), {sched["id"]} | {j for j, (labels, _) in info.items()
                                                         if j not in (odd["id"], never["id"],
                                                                      sched["id"])})
            # an inactive job fires never; a deleted job leaves every family
            self.assertEqual(s.patch("/api/jobs/" + sched["id"], {"active": False}).status, 200)
            self.assertEqual(s.delete("/api/jobs/" + never["id"]).status, 204)
            f = families(s)
            self.assertNotIn(sched["id"], f.get("sked_job_next_fire_timestamp_seconds", {}))
            self.assertNotIn(never["id"], f["sked_job_info"])
            # a backfill's success redoes the past: it is no success of the job's now
            bf = s.create_job("exits", title="backfilled", args={"code": 0})
            w = s.post("/api/jobs/%s/actions/backfill" % bf["id"],
                       {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "step": "1d"})
            self.assertEqual(w.status, 201, w)
            done = s.wait_run(s.get("/api/jobs/%s/runs/%s" % (bf["id"], w.json["runs"][0]["id"])).json)
            self.assertEqual(done["status"], "SUCCESS")
            self.assertNotIn(bf["id"], families(s).get("sked_job_last_success_timestamp_seconds", {}))
            s.restart()
            f = families(s)
            self.assertAlmostEqual(f["sked_job_last_success_timestamp_seconds"][odd["id"]][1],
                                   parse_time(ok["finished_at"]), places=5)

    def test_json_log_and_readiness(self):
        with Sked(tasks={"ok.json": sh_task("ok", "echo fine")}, args=FAST + ["--log-format", "json"]) as s:
            s.wait_run(s.run_job(s.create_job("ok")["id"]))
            r = s.get("/readyz", token=None)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json["status"], "ready")
            self.assertTrue(r.json["migrations_applied"])
            s.stop()
            events = []
            for line in s.server_log().splitlines():
                if line.startswith("sked: "):
                    continue  # the listening line and first-start notes are for people
                doc = json.loads(line)
                for key in ("ts", "level", "event"):
                    self.assertIn(key, doc, line)
                events.append(doc["event"])
                if doc["event"] == "startup.ready":
                    self.assertEqual(doc["tasks"], 1)  # counts stay numbers
                    self.assertIsInstance(doc["node"], str)
            self.assertIn("run.finished", events)
            self.assertIn("startup.ready", events)
            s.start()


class Config(unittest.TestCase):
    def test_file_then_environment_then_flags(self):
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        tmp = skedtest.tempfile.mkdtemp(prefix="sked-conf-")
        conf = os.path.join(tmp, "sked.conf")
        with open(conf, "w") as f:
            f.write("; settings\n[server]\nqueues = default=3,batch=2\n[runs]\nretention = 45d\n"
                    "[notifications]\nwebhook_secret = file-secret-0123456789\n")
        s = Sked(tasks=tasks, tmp=tmp, args=FAST + ["--config", conf, "--queues", "default=5,batch=2"],
                 env={"SKED_RETENTION": "40d"})
        with s:
            qs = {q["name"]: q["concurrency"] for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual(qs, {"default": 5, "batch": 2})  # the flag beats the file
        r = subprocess.run([skedtest.BIN, "config", "check", "--config", conf], capture_output=True,
                           text=True, env=dict(os.environ, SKED_RETENTION="40d", SKED_TASKS=s.tasks_dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("queues = default=3,batch=2", r.stdout)
        self.assertIn("retention = 40d", r.stdout)  # the environment beats the file
        self.assertIn("webhook_secret = ********", r.stdout)
        self.assertNotIn("file-secret", r.stdout)
        self.assertIn("1 job type(s)", r.stdout)
        # a web directory in the file and a password in the SMTP URL: read, and the password masked
        with open(conf, "w") as f:
            f.write("[server]\nweb_dir = %s\n[notifications]\nsmtp_url = smtp://ops:hunter2@mail:25\n" % tmp)
        r = subprocess.run([skedtest.BIN, "config", "check", "--config", conf], capture_output=True,
                           text=True, env=dict(os.environ, SKED_TASKS=s.tasks_dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("web_dir = " + tmp, r.stdout)
        # a --web-dir serves its own files, not what a link in it points to
        with open(os.path.join(tmp, "own.txt"), "w") as f:
            f.write("mine")
        os.symlink("/etc/hostname", os.path.join(tmp, "elsewhere.txt"))
        os.makedirs(os.path.join(tmp, "css"))
        with open(os.path.join(tmp, "css", "own.css"), "w") as f:
            f.write("a{}")
        outside = tempfile.mkdtemp(prefix="sked-outside-")  # nor through a linked folder
        self.addCleanup(shutil.rmtree, outside, True)
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("not for the web")
        os.symlink(outside, os.path.join(tmp, "linked"))
        with Sked(tasks=tasks, args=FAST + ["--web-dir", tmp]) as web:
            self.assertEqual(web.get("/own.txt", token=None).raw, "mine")
            self.assertEqual(web.get("/css/own.css", token=None).raw, "a{}")
            self.assertEqual(web.get("/elsewhere.txt", token=None).status, 404)
            self.assertEqual(web.get("/linked/secret.txt", token=None).status, 404)
        self.assertIn("smtp_url = smtp://ops:********@mail:25", r.stdout)
        self.assertNotIn("hunter2", r.stdout)
        # nor shown by the error of a URL that is not valid (it goes to the journal on reload)
        for url in ("smtp://ops:hunter2@mail:99999", "ops:hunter2@mail"):
            r = subprocess.run([skedtest.BIN, "config", "check", "--smtp-url", url],
                               capture_output=True, text=True,
                               env=dict(os.environ, SKED_TASKS=s.tasks_dir))
            self.assertEqual(r.returncode, 2, r)
            self.assertIn("ops:********@mail", r.stderr)
            self.assertNotIn("hunter2", r.stdout + r.stderr)
        # the first bad line is reported with its own reason, even when good lines follow it
        for text, where, reason in (
                ("[server]\nlisten = nowhere\n", ":2: ", "server.listen: "),
                ("[server]\nlisten = nowhere\nnode = a\nmax_body = 100\n", ":2: ", "expected HOST:PORT"),
                ("[server]\nnode = a\njust words\nlisten = nowhere\n", ":3: ", "not a key = value line"),
                # an indented line would be another value of the key above: the queue default
                # gone, and a queue named listen in its place
                ("[server]\nqueues = default=4\n  listen = 1\n", ":3: ", "config: "),
                ("[server]\nnode = a\n\tlisten = 127.0.0.1:1\n", ":3: ", "an indented line; start keys"),
                ("[server]\nbogus = 1\n", ":2: ", "unknown key"),
                ("[nope]\nx = 1\n", ":1: ", "unknown section"),
                # what the reader would pass over without a word: an unknown section with no
                # keys, text after a section's ], a file of CR line endings, quoted values
                ("[notification]\n[server]\nnode = a\n", ":1: ", "unknown section"),
                ("[server] node = a\n", ":1: ", "text after the section's ]; give each key a line"),
                ("[server]\rnode = a\rlisten = nowhere\r", ":1: ", "a carriage return within a line"),
                ('[server]\nnode = a\ndb = "/var/lib/sked/sked.db"\n', ":3: ",
                 "server.db: %s:3: quotes would be kept as part of the value" % conf),
                ("[notifications]\nwebhook_secret = '0123456789abcdef'\n", ":2: ", "quotes would be kept"),
                # a line longer than the reader holds is refused as such, not read in pieces
                ("[notifications]\nsmtp_from = " + "a" * 180 + "@example.org\nnode = b\n", ":2: ",
                 "a line may hold at most 198 characters"),
                ("[server]\nlisten = nowhere\n# " + "x" * 300 + "\n", ":2: ", "expected HOST:PORT"),
                ("[server]\nnode = a\nnode = " + "b" * 192 + "\n", ":3: ", "at most 198 characters"),
                # a NUL byte would end the value there, unseen; last line or not
                ("[server]\nnode = ab\0cd\n", ":2: ", "a NUL byte; a configuration file is text"),
                ("[server]\nnode = ab\0cd\nlisten = 127.0.0.1:1\n", ":2: ", "a NUL byte"),
                # the node's name is UTF-8 (it is in every log line)
                ("[server]\nnode = ab\udcffcd\n", ":2: ", "1..200 characters of UTF-8"),
                ("just words\n", ":1: ", "not a key = value line")):  # last: serve reads it below
            with open(conf, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
            r = subprocess.run([skedtest.BIN, "config", "check", "--config", conf], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(conf + where, r.stderr)
            self.assertIn(reason, r.stderr)
            self.assertLessEqual(r.stderr.count("server.listen"), 1, r.stderr)
        # none of these is refused: CRLF line endings, a BOM, a comment after a section's ],
        # quotes within a value; and of two --config the last is read, as of any option
        good = os.path.join(tmp, "good.conf")
        with open(good, "wb") as f:
            f.write(b'\xef\xbb\xbf[server] ; where it listens\r\nnode = "a" one\r\n')
        other = os.path.join(tmp, "other.conf")
        with open(other, "w") as f:
            f.write("[server]\nnode = b\n")
        r = subprocess.run([skedtest.BIN, "config", "check", "--config", other, "--config", good],
                           capture_output=True, text=True, env=dict(os.environ, SKED_TASKS=s.tasks_dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('\nnode = "a" one\n', r.stdout)
        # and counted in characters, not bytes
        for name, rc in (("\u00e9" * 200, 0), ("\u00e9" * 201, 2)):
            r = subprocess.run([skedtest.BIN, "config", "check", "--node", name], capture_output=True,
                               text=True, env=dict(os.environ, SKED_TASKS=s.tasks_dir))
            self.assertEqual(r.returncode, rc, r)
        # serve refuses the same file with the same words
        bad = Sked(tasks=tasks, tmp=tmp, args=["--config", conf])
        with self.assertRaises(RuntimeError) as cm:
            bad.start(timeout=10)
        self.assertIn("not a key = value line", str(cm.exception))
        skedtest.shutil.rmtree(tmp, ignore_errors=True)

    def test_what_serve_refuses_check_refuses_first(self):
        """config check says no to what serve would stop on, naming the setting; serve finds
        the same before it writes anything (no store, no account); values are read as the
        documentation writes them."""
        tasks = {"ok.json": sh_task("ok", "echo fine")}
        tmp = skedtest.tempfile.mkdtemp(prefix="sked-conf-")
        tdir = os.path.join(tmp, "tasks.d")
        os.makedirs(tdir)
        base = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        base["SKED_TASKS"] = tdir

        def check(*args, **env):
            return subprocess.run([skedtest.BIN, "config", "check", *args], capture_output=True,
                                  text=True, env=dict(base, **env), timeout=30)
        fifo = os.path.join(tmp, "fifo.conf")
        os.mkfifo(fifo)
        try:
            for args, env, needle in (
                    ((), {"SKED_ADMIN_TOKEN": "short"}, "SKED_ADMIN_TOKEN: must be at least 16 characters long"),
                    ((), {"SKED_ADMIN_TOKEN": "abcdefghijklmnop0123\r"}, "SKED_ADMIN_TOKEN: must hold no blanks or control characters"),
                    ((), {"SKED_ADMIN_TOKEN": "abcdefgh ijklmnop"}, "SKED_ADMIN_TOKEN: must hold no blanks"),
                    ((), {"SKED_ADMIN_PASSWORD": "short"}, "SKED_ADMIN_PASSWORD: "),
                    (("--listen", "example.org:19100"), {}, "--listen: 'example.org:19100': the host must be an IP address or localhost"),
                    (("--listen", "999.1.1.1:80"), {}, "the host must be an IP address"),
                    (("--config", tmp), {}, "config: %s: is a folder; name the configuration file" % tmp),
                    (("--config", fifo), {}, "config: %s: not a regular file; name the configuration file" % fifo),
                    (("--tasks", ""), {}, "--tasks: must not be empty"),
                    (("--web-dir", "/nonexistent"), {}, "--web-dir: '/nonexistent': no such folder"),
                    (("--public-url", "https://"), {}, "--public-url: 'https://': the host is missing"),
                    (("--public-url", "https://a b"), {}, "holds no spaces"),
                    (("--max-body", "1025G"), {}, "'1025G': a size of at most 1T"),
                    (("--builtin-threads", "65"), {}, "--builtin-threads: '65': a whole number from 1 to 64"),
                    (("--notify-backlog", "0"), {}, "--notify-backlog: '0': a whole number from 1 to 1000000"),
                    ((), {"SKED_NOTIFY_BACKLOG": "1000001"}, "'1000001': a whole number from 1 to 1000000"),
                    (("--max-body", "5X"), {}, "'5X': expected a size such as 16M"),
                    (("--http-timeout", "1500ms"), {}, "--http-timeout: '1500ms': a whole number of seconds from 1s to 1h"),
                    ((), {"SKED_HTTP_TIMEOUT": "2h"}, "'2h': a whole number of seconds from 1s to 1h"),
                    (("--http-timeout", "soon"), {}, "--http-timeout: 'soon': "),
                    (("--retention", "100y"), {}, "'100y': "),
                    (("--node", "a\nb"), {}, "--node: 1..200 characters of UTF-8, none of them a control character"),
                    (("--queues", "default=4,,low=1"), {}, "--queues: 'default=4,,low=1': an empty item between commas"),
                    (("--queues", "default=4,"), {}, "an empty item between commas"),
                    (("--queues", "default=+4"), {}, "queue 'default': concurrency must be a whole number from 1 to 1024"),
                    (("--listen", "127.0.0.1:+80"), {}, "--listen: '127.0.0.1:+80': expected HOST:PORT"),
                    (("--builtin-threads", "+2"), {}, "--builtin-threads: '+2': a whole number from 1 to 64"),
                    (("--tasks", "/nonexistent"), {}, "/nonexistent: cannot open tasks directory: No such file or directory (the folder of the task files: --tasks, SKED_TASKS or [server] tasks)")):
                r = check(*args, **env)
                self.assertEqual(r.returncode, 2, (args, env, r.stdout))
                self.assertIn(needle, r.stderr, (args, env))
            self.assertNotIn("at least 1m", check("--retention", "100y").stderr)
            # accepted: spaces around queues and counts, as trusted_proxies takes them; a flag
            # beats a bad variable without reading it; an empty --config is none, as SKED_CONFIG
            r = check("--queues", "default= 4 , low = 1", "--listen", "localhost:0", "--config", "",
                      "--max-body", "1T", SKED_LISTEN="nowhere")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("queues = default=4,low=1", r.stdout)
            # a SKED_ variable that is none of sked's is named, with the one it likely meant;
            # sked's own (the CLI's, a run's) are not
            r = check(SKED_LISTN="127.0.0.1:1", SKED_DURABLITY="full", SKED_FOO="1",
                      SKED_URL="http://x", SKED_RUN_ID="r", SKED_CONFIG="")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sorted(r.stderr.splitlines()), [
                "sked config check: warning: SKED_DURABLITY is not a setting of sked, so not read "
                "(did you mean SKED_DURABILITY?)",
                "sked config check: warning: SKED_FOO is not a setting of sked, so not read",
                "sked config check: warning: SKED_LISTN is not a setting of sked, so not read "
                "(did you mean SKED_LISTEN?)"])
            self.assertIn("durability = normal", r.stdout)
            with Sked(tasks=tasks, env={"SKED_QUEUS": "x=1"}) as s:
                warned = [line for line in s.server_log().splitlines()
                          if "event=config.unknown_variable" in line]
                self.assertEqual(len(warned), 1, s.server_log())
                self.assertIn(' name="SKED_QUEUS" closest=SKED_QUEUES hint="not a setting of '
                              'sked, so not read: check its spelling (sked serve --help)"',
                              warned[0])
            # a FIFO or a device is refused by name, not opened to wait; a file of other bytes
            # is named as no store, and left as it was
            fifo = os.path.join(tmp, "fifo.db")
            os.mkfifo(fifo)
            junk = os.path.join(tmp, "junk.db")
            with open(junk, "wb") as f:
                f.write(bytes(range(256)) * 16)
            for db, says in ((fifo, "%s is not a regular file (a device or a FIFO): pass --db with "
                                    "the path of the store's file, the path sked serve uses" % fifo),
                             ("/dev/null", "/dev/null is not a regular file (a device or a FIFO)"),
                             (junk, "%s is not a store of sked (file is not a database); pass "
                                    "--db with the path of sked's store, or of a new file (a "
                                    "damaged store is put back with sked restore)" % junk)):
                p = subprocess.run([skedtest.BIN, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                                   capture_output=True, text=True, env=base, timeout=30)
                self.assertEqual(p.returncode, 1, (db, p.stderr))
                self.assertIn(says, p.stderr)
            with open(junk, "rb") as f:
                self.assertEqual(f.read(), bytes(range(256)) * 16)
            # another program's database is left alone, by serve and by the local tools
            other = os.path.join(tmp, "other.db")
            con = sqlite3.connect(other)
            con.execute("CREATE TABLE notes (t TEXT)")
            con.commit()
            con.close()
            for cmd in (["serve", "--db", other, "--listen", "127.0.0.1:0"], ["user", "list", "--db", other]):
                p = subprocess.run([skedtest.BIN] + cmd, capture_output=True, text=True, env=base, timeout=30)
                self.assertEqual(p.returncode, 1, (cmd, p.stderr))
                self.assertIn("is a database of another program", p.stderr)
            con = sqlite3.connect(other)
            self.assertEqual([r[0] for r in con.execute("SELECT name FROM sqlite_master")], ["notes"])
            con.close()
            # also when it sets a version of its own, one of sked's (the old one, the current
            # one, one to migrate from): not taken for a store of sked's, never a crash
            for version in (3, 22, 23):
                con = sqlite3.connect(other)
                con.execute("PRAGMA user_version = %d" % version)
                con.commit()
                con.close()
                for cmd in (["serve", "--db", other, "--listen", "127.0.0.1:0"],
                            ["user", "list", "--db", other], ["token", "list", "--db", other]):
                    p = subprocess.run([skedtest.BIN] + cmd, capture_output=True, text=True,
                                       env=base, timeout=30)
                    self.assertEqual(p.returncode, 1, (version, cmd, p.stderr))
                    self.assertIn("%s is not a store of sked's, or a damaged one: it says it is "
                                  "of schema version %d, and lacks the table 'meta' of that "
                                  "version" % (other, version), p.stderr)
                con = sqlite3.connect(other)
                self.assertEqual([r[0] for r in con.execute("SELECT name FROM sqlite_master")],
                                 ["notes"])
                con.close()
            # a store whose folder is missing, its own folder too, is said so
            deep = os.path.join(tmp, "deep", "a", "sked.db")
            p = subprocess.run([skedtest.BIN, "serve", "--db", deep, "--listen", "127.0.0.1:0"],
                               capture_output=True, text=True, env=base, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("sked serve: cannot create the store %s: its folder %s does not exist; "
                          "create it first, or give --db another path"
                          % (deep, os.path.dirname(deep)), p.stderr)
            # serve: the same refusals before anything is written
            db = os.path.join(tmp, "new", "sked.db")
            for env in ({"SKED_ADMIN_PASSWORD": "short"}, {"SKED_ADMIN_TOKEN": "short"}):
                p = subprocess.run([skedtest.BIN, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                                   capture_output=True, text=True, env=dict(base, **env), timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertFalse(os.path.exists(db), p.stderr)
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen(1)
                port = taken.getsockname()[1]
                p = subprocess.run([skedtest.BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port],
                                   capture_output=True, text=True, env=base, timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("sked serve: cannot listen on 127.0.0.1:%d: Address already in use" % port, p.stderr)
                self.assertNotIn("created the account", p.stderr)
                self.assertFalse(os.path.exists(db))
                # a JSON log says why in JSON too
                p = subprocess.run([skedtest.BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port,
                                    "--log-format", "json"], capture_output=True, text=True, env=base, timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                line = json.loads(p.stderr.strip().splitlines()[-1])
                self.assertEqual((line["level"], line["event"]), ("error", "startup.failed"))
                self.assertIn("Address already in use", line["reason"])
                # and stays JSON where it names a file whose name is no UTF-8
                bad = os.path.join(tmp, "badtasks")
                os.mkdir(bad)
                with open(os.path.join(os.fsencode(bad), b"bad\xffname.json"), "w") as f:
                    f.write('{"id": 5}')
                p = subprocess.run([skedtest.BIN, "serve", "--db", db, "--listen", "127.0.0.1:0",
                                    "--tasks", bad, "--log-format", "json"],
                                   capture_output=True, env=base, timeout=30)
                self.assertEqual(p.returncode, 1, p.stderr)
                line = json.loads(p.stderr.strip().splitlines()[-1].decode("utf-8"))
                self.assertEqual((line["level"], line["event"]), ("error", "startup.failed"))
                self.assertIn("bad\ufffdname.json", line["reason"])
        finally:
            skedtest.shutil.rmtree(tmp, ignore_errors=True)

    def test_a_reload_between_a_runs_claim_and_its_start(self):
        """A run stored claimed by a request starts after the loop's commit; a reload in the
        same turn that takes its job type away or changes it starts it as it was claimed (or
        refuses the request, when the reload came first), and sked goes on."""
        quick = sh_task("quick", "echo done")
        for replacement in (None, {"id": "quick", "title": "quick", "builtin": "noop"}):
            with Sked(tasks={"quick.json": quick}, args=FAST) as s:
                job = s.create_job("quick")
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                conn.connect()
                s.proc.send_signal(signal.SIGSTOP)
                try:
                    skedtest.send_run_request(conn, job["id"])
                    path = os.path.join(s.tasks_dir, "quick.json")
                    os.unlink(path)
                    if replacement:
                        with open(path, "w") as f:
                            json.dump(replacement, f)
                    s.proc.send_signal(signal.SIGHUP)
                finally:
                    s.proc.send_signal(signal.SIGCONT)
                r = conn.getresponse()
                body = json.loads(r.read())
                conn.close()
                self.assertIn(r.status, (201, 400), body)
                if r.status == 201:
                    done = s.wait_run(body)
                    self.assertIn(done["status"], ("SUCCESS", "FAILED"), done)
                self.assertEqual(s.get("/healthz", token=None).status, 200)
                wait_for(lambda: {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
                         ["default"]["busy"] == 0, what="the slot given back")

    def test_systemd_readiness(self):
        import socket
        sock_path = os.path.join(skedtest.tempfile.mkdtemp(), "notify")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        srv.bind(sock_path)
        srv.settimeout(10)
        env_dump = sh_task("envdump", "env")
        nap = sh_task("nap", "sleep 3")
        with Sked(tasks={"envdump.json": env_dump, "nap.json": nap}, args=FAST,
                  env={"NOTIFY_SOCKET": sock_path}) as s:
            self.assertIn("READY=1", srv.recv(4096).decode())
            s.proc.send_signal(signal.SIGHUP)
            self.assertIn("RELOADING=1", srv.recv(4096).decode())
            self.assertIn("READY=1", srv.recv(4096).decode())
            run = s.wait_run(s.run_job(s.create_job("envdump")["id"]))
            self.assertFalse([l for l in s.logs(run) if l["message"].startswith("NOTIFY_SOCKET=")])
            s.wait_run(s.run_job(s.create_job("nap")["id"]), ["RUNNING"])
            s.proc.send_signal(signal.SIGTERM)
            self.assertEqual(srv.recv(4096).decode(), "STOPPING=1\nSTATUS=stopping")
            # a reload asked for while sked waits for its run to end is not made: it would
            # tell systemd READY=1 while sked stops
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "event=reload.ignored reason=\"shutting down\"" in s.server_log(),
                     what="the reload ignored")
            self.assertEqual(s.proc.wait(20), 0)
            srv.settimeout(0.2)
            with self.assertRaises(socket.timeout):
                srv.recv(4096)
        srv.close()
        # a notification that cannot be sent is logged with its state and why, on one line
        with Sked(tasks={"envdump.json": env_dump}, args=FAST,
                  env={"NOTIFY_SOCKET": sock_path + ".gone"}) as s:
            lines = wait_for(lambda: [l for l in s.server_log().splitlines() if "systemd.notify_failed" in l],
                             what="the failed READY")
        self.assertRegex(lines[0], r'state="READY=1 STATUS=[^"]*" reason="No such file or directory"$')


class Install(unittest.TestCase):
    def test_make_install_lays_out_a_service(self):
        import shutil
        dest = skedtest.tempfile.mkdtemp(prefix="sked-install-")
        try:
            r = subprocess.run(["make", "-s", "-C", skedtest.SRC, "install", "DESTDIR=" + dest, "PREFIX=/usr",
                                "SKED_BIN=" + skedtest.BIN], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            p = lambda *a: os.path.join(dest, *a)
            self.assertTrue(os.access(p("usr/bin/sked"), os.X_OK))
            for f in ("usr/share/man/man1/sked.1", "etc/sked/sked.conf", "usr/share/sked/tasks.d/reindex.json",
                      "usr/share/sked/examples/reindex.sh", "usr/share/sked/doc/operations.md"):
                self.assertTrue(os.path.exists(p(f)), f)
            unit = open(p("usr/lib/systemd/system/sked.service")).read()
            for line in ("Type=notify", "ExecStart=/usr/bin/sked serve", "ExecReload=/bin/kill -HUP $MAINPID",
                         "Environment=SKED_CONFIG=/etc/sked/sked.conf", "NoNewPrivileges=yes",
                         "ProtectSystem=strict", "StateDirectory=sked", "KillMode=mixed"):
                self.assertIn(line + "\n", unit)
            self.assertNotIn("@", unit.replace("$MAINPID", ""))  # every placeholder was filled
            # the installed configuration is valid for the installed job types
            conf = open(p("etc/sked/sked.conf")).read().replace("/etc/sked/tasks.d", p("usr/share/sked/tasks.d"))
            with open(p("check.conf"), "w") as f:
                f.write(conf)
            r = subprocess.run([p("usr/bin/sked"), "config", "check", "--config", p("check.conf")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            # the man page renders without warnings
            groff = shutil.which("groff")
            self.assertIsNotNone(groff, "groff is missing: apt-get install groff-base")
            r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", p("usr/share/man/man1/sked.1")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stderr, "", r.stderr)
            # an existing configuration is kept
            with open(p("etc/sked/sked.conf"), "w") as f:
                f.write("; mine\n")
            subprocess.run(["make", "-s", "-C", skedtest.SRC, "install", "DESTDIR=" + dest, "PREFIX=/usr",
                            "SKED_BIN=" + skedtest.BIN], capture_output=True, text=True, timeout=120)
            self.assertEqual(open(p("etc/sked/sked.conf")).read(), "; mine\n")
        finally:
            shutil.rmtree(dest, ignore_errors=True)


class Retries(unittest.TestCase):
    def test_a_failing_task_with_two_retries_makes_three_linked_runs(self):
        fail = sh_task("flaky", 'echo "attempt $SKED_ATTEMPT"; exit 3')
        with Sked(tasks={"flaky.json": fail}, args=FAST) as s:
            job = s.create_job("flaky", max_retries=2, retry_backoff="1s", args={"x": 1})
            self.assertEqual(job["max_retries"], 2)
            self.assertEqual(job["retry_backoff"], "1s")
            first = s.run_job(job["id"], title="nightly")
            runs = wait_for(lambda: (lambda r: r if len(r) == 3 and all(x["status"] == "FAILED" for x in r) else None)(runs_of(s, job["id"])),
                            timeout=30, what="three failed runs")
            time.sleep(1.5)
            self.assertEqual(len(runs_of(s, job["id"])), 3, "no fourth attempt")
            self.assertEqual([r["attempt"] for r in runs], [1, 2, 3])
            self.assertEqual([r["trigger"] for r in runs], ["manual", "retry", "retry"])
            self.assertIsNone(runs[0]["parent_run_id"])
            self.assertEqual(runs[1]["parent_run_id"], runs[0]["id"])
            self.assertEqual(runs[2]["parent_run_id"], runs[1]["id"])
            self.assertEqual(runs[0]["id"], first["id"])
            for r in runs:
                self.assertEqual(r["args"], runs[0]["args"])
                self.assertEqual(r["title"], "nightly")
            # the backoff: 1 s before the second attempt, 2 s before the third
            t = [skedtest.parse_time(r["created"]) for r in runs]
            nb = [skedtest.parse_time(r["not_before"]) if r["not_before"] else None for r in runs]
            self.assertAlmostEqual(nb[1] - skedtest.parse_time(runs[0]["finished_at"]), 1.0, places=1)
            self.assertAlmostEqual(nb[2] - skedtest.parse_time(runs[1]["finished_at"]), 2.0, places=1)
            self.assertGreaterEqual(skedtest.parse_time(runs[2]["started_at"]), nb[2])
            self.assertIn("attempt 3", [l["message"] for l in s.logs(runs[2])])

    def test_retries_waiting_in_turn_each_start_when_due(self):
        """The dispatcher keeps one timer for the earliest retry waiting: a retry due sooner
        than one made before it, and the one after it, must each start when due."""
        fail = sh_task("flaky", "exit 3")
        with Sked(tasks={"flaky.json": fail}, args=FAST) as s:
            slow = s.create_job("flaky", max_retries=1, retry_backoff="3s")
            quick = s.create_job("flaky", max_retries=1, retry_backoff="1s")
            s.wait_run(s.run_job(slow["id"]))
            s.wait_run(s.run_job(quick["id"]))
            for job in (quick, slow):
                runs = wait_for(lambda: (lambda r: r if len(r) == 2 and r[1]["status"] == "FAILED" else None)(
                    runs_of(s, job["id"])), timeout=15, what="the retry of " + job["id"])
                due = skedtest.parse_time(runs[1]["not_before"])
                started = skedtest.parse_time(runs[1]["started_at"])
                self.assertGreaterEqual(started, due)
                self.assertLess(started - due, 0.5, "the retry waited past its time")

    def test_a_retry_without_backoff_starts_at_once_on_an_idle_server(self):
        fail = sh_task("flaky", "exit 3")
        with Sked(tasks={"flaky.json": fail}, args=FAST) as s:
            job = s.create_job("flaky", max_retries=1, retry_backoff="0s")
            s.wait_run(s.run_job(job["id"]))
            runs = wait_for(lambda: (lambda r: r if len(r) == 2 and r[1]["status"] == "FAILED" else None)(
                runs_of(s, job["id"])), timeout=5, what="the retry run and failed")
            self.assertEqual(runs[1]["trigger"], "retry")

    def test_cancelled_and_successful_runs_are_not_retried(self):
        slow = sh_task("slow", "sleep 30")
        with Sked(tasks={"slow.json": slow}, args=FAST) as s:
            job = s.create_job("slow", max_retries=3, retry_backoff="1s")
            run = s.run_job(job["id"])
            s.wait_run(run, ["RUNNING"])
            s.post("/api/jobs/%s/runs/%s/actions/stop" % (job["id"], run["id"]))
            self.assertEqual(s.wait_run(run)["status"], "CANCELLED")
            time.sleep(1.5)
            self.assertEqual(len(runs_of(s, job["id"])), 1)

    def test_validation(self):
        with Sked(tasks={"t.json": task_file("t", ["/bin/true"])}, args=FAST) as s:
            for body, field in (({"max_retries": -1}, "max_retries"), ({"max_retries": 101}, "max_retries"),
                                ({"retry_backoff": "soon"}, "retry_backoff"), ({"retry_backoff": "2h"}, "retry_backoff"),
                                ({"retention": "5s"}, "retention")):
                body.update({"title": "x", "task": "t"})
                r = s.post("/api/jobs", body)
                self.assertEqual(r.status, 400, body)
                self.assertIn(field, [e["field"] for e in r.json["errors"]])
            # the words of each kind of refusal of a duration field
            for value, words in (("5s", "must be at least 1m"),
                                 (5, 'must be a duration such as "30d", or null for the default'),
                                 ("soon", "expected a duration such as 90s")):
                r = s.post("/api/jobs", {"title": "x", "task": "t", "retention": value})
                self.assertEqual(r.status, 400, r)
                self.assertIn(words, r.json["errors"][0]["messages"][0])


class Builtins(unittest.TestCase):
    TASKS = {"noop.json": builtin("noop", "noop"),
             "nap.json": builtin("nap", "sleep", stop_grace="1s"),
             "call.json": builtin("call", "http")}

    def test_noop_and_sleep(self):
        with Sked(tasks=self.TASKS, args=FAST) as s:
            job = s.create_job("noop")
            self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
            nap = s.create_job("nap", args={"seconds": 1.2})
            done = s.wait_run(s.run_job(nap["id"]))
            self.assertEqual(done["status"], "SUCCESS")
            self.assertEqual(done["message"], "slept 1.2 s")
            self.assertEqual(done["progress"], {"done": 2, "total": 2})
            self.assertGreaterEqual(skedtest.parse_time(done["finished_at"]) - skedtest.parse_time(done["started_at"]), 1.2)
            self.assertIn("sleeping 1.2 s", [l["message"] for l in s.logs(done)])
            self.assertIsNone(done["exit_code"])
            r = s.post("/api/jobs/%s/runs" % nap["id"], {"args": {"seconds": -5}})
            self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.seconds"), r)
            self.assertIn("from 0 to 604800", r.json["errors"][0]["messages"][0])

    def test_a_backlog_drains_in_commits_while_the_api_answers(self):
        """Inline no-op runs free their slot at once: a backlog must still drain in batches,
        each committed, with the API answered between them (not one transaction for all)."""
        n = 6000
        with Sked(tasks=self.TASKS, args=FAST) as s:
            job = s.create_job("noop")
            s.stop()
            db = sqlite3.connect(s.db)
            t = int(time.time() * 1e6)
            db.executemany("INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, updated) "
                           "VALUES (?,?,'noop','Q','default','{}','manual',?,?)",
                           [(str(uuid.uuid4()), job["id"], t + i, t + i) for i in range(n)])
            db.commit()
            db.close()
            s.start()
            seen = []  # finished runs committed, read right after each API answer
            ro = sqlite3.connect("file:%s?mode=ro" % s.db, uri=True, timeout=30)
            while not seen or seen[-1] < n:
                self.assertEqual(s.get("/healthz").status, 200)
                seen.append(ro.execute("SELECT count(*) FROM run WHERE job_id = ? AND status = 'S'",
                                       (job["id"],)).fetchone()[0])
            ro.close()
            partial = [c for c in seen if 0 < c < n]
            self.assertTrue(partial, "the API answered only before or after the whole drain: %s" % seen[:10])
            self.assertEqual(s.get("/api/jobs/%s/runs?status=SUCCESS" % job["id"]).json["hits"]["total"], n)

    def test_a_builtin_stopped_or_timed_out_while_it_waits_for_a_thread_never_runs(self):
        """With every builtin thread busy, a stop ends a waiting run at once (not after its
        stop grace, as if abandoned), and a timeout too: the builtin is never begun."""
        with Sked(tasks=self.TASKS, args=FAST + ["--builtin-threads", "1"]) as s:
            busy = s.create_job("nap", args={"seconds": 6})
            hog = s.run_job(busy["id"])
            s.wait_run(hog, ["RUNNING"])
            wait_for(lambda: "sleeping 6 s" in [l["message"] for l in s.logs(hog)], what="the thread taken")
            nap = s.create_job("nap", args={"seconds": 1})
            waiting = s.run_job(nap["id"])
            s.wait_run(waiting, ["RUNNING"])
            t0 = time.time()
            s.post("/api/jobs/%s/runs/%s/actions/stop" % (nap["id"], waiting["id"]))
            done = s.wait_run(waiting, timeout=10)
            self.assertLess(time.time() - t0, 0.9, "the stop waited for the stop grace")
            self.assertEqual(done["status"], "CANCELLED")
            msgs = [l["message"] for l in s.logs(done)]
            self.assertEqual(msgs, ["stop requested by bootstrap token; asking the builtin to stop",
                                    "the builtin never started"])
            late = s.create_job("nap", args={"seconds": 1}, timeout="1s")
            done = s.wait_run(s.run_job(late["id"]), timeout=10)
            self.assertEqual((done["status"], done["message"]), ("FAILED", "timed out after 1s"))
            self.assertEqual([l["message"] for l in s.logs(done)],
                             ["timed out after 1s; asking the builtin to stop", "the builtin never started"])
            s.post("/api/jobs/%s/runs/%s/actions/stop" % (busy["id"], hog["id"]))
            s.wait_run(hog)

    def test_stop_and_timeout(self):
        with Sked(tasks=self.TASKS, args=FAST) as s:
            nap = s.create_job("nap", args={"seconds": 60})
            run = s.run_job(nap["id"])
            # running, and the builtin begun on its thread (a stop before it begins ends the run
            # with "the builtin never started")
            wait_for(lambda: "sleeping 60 s" in [l["message"] for l in s.logs(run)],
                     what="the builtin's start")
            s.post("/api/jobs/%s/runs/%s/actions/stop" % (nap["id"], run["id"]))
            done = s.wait_run(run, timeout=10)
            self.assertEqual(done["status"], "CANCELLED")
            msgs = [l["message"] for l in s.logs(done)]
            self.assertIn("stop requested by bootstrap token; asking the builtin to stop", msgs)
            self.assertIn("the builtin returned", msgs)
            s.patch("/api/jobs/" + nap["id"], {"timeout": "1s"})
            done = s.wait_run(s.run_job(nap["id"]), timeout=10)
            self.assertEqual(done["status"], "FAILED")
            self.assertEqual(done["message"], "timed out after 1s")
            self.assertIn("timed out after 1s; asking the builtin to stop",
                          [l["message"] for l in s.logs(done)])

    def test_http_client_is_loaded_on_first_use(self):
        """libcurl is loaded when an HTTP request is first made: an idle server has not mapped
        it, and a libcurl that cannot be used fails the run with the reason, nothing else."""
        rec = Receiver(status=200, body=b"pong")
        try:
            with Sked(tasks=self.TASKS, args=FAST) as s:
                def maps():
                    with open("/proc/%d/maps" % s.proc.pid) as f:
                        return f.read()
                self.assertNotIn("libcurl", maps())
                job = s.create_job("call", args={"url": rec.url + "/ping"})
                self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
                self.assertIn("libcurl", maps())
            # a libcurl.so.4 without libcurl's functions comes first in the search path
            fake = tempfile.mkdtemp(prefix="sked-fakecurl-")
            src = os.path.join(fake, "fake.c")
            with open(src, "w") as f:
                f.write("int sked_not_libcurl;\n")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(fake, "libcurl.so.4"), src], check=True)
            with Sked(tasks=self.TASKS, args=FAST, env={"LD_LIBRARY_PATH": fake}) as s:
                job = s.create_job("call", args={"url": rec.url + "/ping"})
                done = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(done["status"], "FAILED", done)
                self.assertIn("libcurl.so.4 has no curl_global_init", done["message"])
                self.assertEqual(s.wait_run(s.run_job(s.create_job("noop")["id"]))["status"], "SUCCESS")
            shutil.rmtree(fake)
        finally:
            rec.close()

    def test_http(self):
        rec = Receiver(status=200, body=b"pong")
        try:
            with Sked(tasks=self.TASKS, args=FAST) as s:
                job = s.create_job("call", args={"url": rec.url + "/ping?x=1", "method": "POST",
                                                 "headers": {"X-Token": "abc"}, "body": "hello"})
                done = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(done["status"], "SUCCESS", done)
                self.assertEqual(done["output"]["status"], 200)
                self.assertEqual(done["output"]["body"], "pong")
                method, path, headers, body = rec.requests[-1]
                self.assertEqual((method, path, body), ("POST", "/ping?x=1", b"hello"))
                self.assertEqual(headers.get("X-Token"), "abc")
                # an unexpected status fails the run; an expected one passes
                rec.status, rec.body = 503, b"down" * 100000
                done = s.wait_run(s.run_job(job["id"]))
                self.assertEqual(done["status"], "FAILED")
                self.assertEqual(done["output"]["status"], 503)
                self.assertTrue(done["output"]["truncated"])
                self.assertEqual(len(done["output"]["body"]), 64 * 1024)
                done = s.wait_run(s.run_job(job["id"], args={"url": rec.url, "expected_status": 503}))
                self.assertEqual(done["status"], "SUCCESS")
                done = s.wait_run(s.run_job(job["id"], args={"url": rec.url, "expected_status": 204}))
                self.assertEqual(done["status"], "FAILED")
                self.assertTrue(done["message"].startswith("the builtin failed: answered 503, expected 204\n"))
                # arguments the builtin cannot use are refused when the run is asked for, each
                # named: a request needs a time limit (no value means 30 s, and 0s is refused),
                # an http(s) URL, headers that are names and one-line text
                url = "/api/jobs/%s/runs" % job["id"]
                for args, field, why in (
                        ({"timeout": "0s"}, "args.timeout", "from 1s to 24h"),
                        ({"timeout": "soon"}, "args.timeout", "expected a duration"),
                        ({"url": "file:///etc/passwd"}, "args.url", "http:// or https://"),
                        ({"url": "ftp://127.0.0.1/f"}, "args.url", "http:// or https://"),
                        ({"url": rec.url + "/a b"}, "args.url", "a space or a control character"),
                        ({"headers": {"X-A": "v\r\nInjected: yes"}}, "args.headers.X-A", "line break"),
                        ({"headers": {"X-B\r\nInj": "v"}}, "args.headers.X-B\r\nInj", "not a header name"),
                        ({"headers": {"X-C": 5}}, "args.headers.X-C", "must be a string")):
                    r = s.post(url, {"args": dict({"url": rec.url}, **args)})
                    self.assertEqual(r.status, 400, (args, r))
                    self.assertEqual(r.json["errors"][0]["field"], field, r.json)
                    self.assertIn(why, r.json["errors"][0]["messages"][0])
                # and when a job saves them; a URL left for each run to give is no fault
                r = s.post("/api/jobs", {"title": "t", "task": "call", "args": {"url": "gopher://x"}})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.url"))
                bare = s.create_job("call", args={"headers": {"X-Tab": "a\tb"}})
                rec.status, rec.body = 200, b"ok"
                done = s.wait_run(s.run_job(bare["id"], args={"url": rec.url + "/tab",
                                                              "headers": {"X-Tab": "a\tb"}}))
                self.assertEqual(done["status"], "SUCCESS", done["message"])
                self.assertEqual(rec.requests[-1][2].get("X-Tab"), "a\tb")
                # nobody listening
                dead = skedtest.free_port()
                done = s.wait_run(s.run_job(job["id"], args={"url": "http://127.0.0.1:%d/" % dead}))
                self.assertEqual(done["status"], "FAILED")
                self.assertIn("request failed", done["message"])
                # redirects are followed ten times at most: a loop fails the run at once
                rec.status, rec.body, rec.headers = 302, b"", {"Location": rec.url + "/again"}
                before = len(rec.requests)
                done = s.wait_run(s.run_job(job["id"], args={"url": rec.url, "follow_redirects": True}))
                self.assertEqual(done["status"], "FAILED")
                self.assertIn("redirect", done["message"].lower())
                self.assertEqual(len(rec.requests) - before, 11)
        finally:
            rec.close()

    def test_bad_task_files(self):
        for doc, reason in ((builtin("x", "nope"), "unknown builtin"),
                            (dict(builtin("x", "noop"), command=["/bin/true"]), "one of command, builtin or celery")):
            with self.subTest(reason=reason):
                s = Sked(tasks={"x.json": doc})
                with self.assertRaises(RuntimeError) as cm:
                    s.start(timeout=10)
                self.assertIn(reason, str(cm.exception))


def add_old_runs(db_path, job_id, task, n, age_days, status="S", window=False):
    """Inserts n finished runs of job_id, age_days old, each with a log line (window: each
    given its window's end, as a backfill's runs are)."""
    db = sqlite3.connect(db_path)
    first = db.execute("SELECT coalesce(max(rid), 0) FROM run").fetchone()[0]
    t = int((time.time() - age_days * 86400) * 1e6)
    rows = [(str(uuid.uuid4()), job_id, task, status, "default", "{}", "manual", t, t, t, t,
             t if window else None) for _ in range(n)]
    db.executemany("INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, updated, "
                   "started_at, finished_at, window_end) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("INSERT INTO run_log (rid, seq, ts, level, stream, message) "
               "SELECT rid, 1, created, 1, 0, 'old line' FROM run WHERE rid > ?", (first,))
    db.commit()
    db.close()


class Prune(unittest.TestCase):
    def test_100000_old_runs_while_other_runs_execute(self):
        tasks = {"prune.json": builtin("prune", "sked.prune"), "quick.json": sh_task("quick", "echo hi")}
        with Sked(tasks=tasks, args=FAST + ["--retention", "30d"]) as s:
            jobs = s.get("/api/jobs").json["hits"]["hits"]
            prune = [j for j in jobs if j["task"] == "prune"]
            self.assertEqual(len(prune), 1, "the prune job ships at first start")
            self.assertEqual(prune[0]["schedule"], {"type": "cron", "expression": "0 3 * * *"})
            self.assertIsNotNone(prune[0]["next_run"])
            # arguments it cannot use are refused when asked for, not failed when run
            for args, why in (({"retention": "garbage"}, "expected a duration"),
                              ({"retention": "1s"}, "at least 1m"), ({"batch": 0}, "from 1 to 100000")):
                r = s.post("/api/jobs/%s/runs" % prune[0]["id"], {"args": args})
                self.assertEqual(r.status, 400, (args, r))
                self.assertIn(why, r.json["errors"][0]["messages"][0])
            old = s.create_job("quick", title="old")
            keep = s.create_job("quick", title="own retention", retention="400d")
            s.stop()
            add_old_runs(s.db, old["id"], "quick", 100000, 60)
            add_old_runs(s.db, keep["id"], "quick", 100, 60)
            add_old_runs(s.db, old["id"], "quick", 50, 10)  # young enough to stay
            s.start()
            busy = s.create_job("quick", title="busy", schedule={"type": "interval", "seconds": 1})
            run = s.run_job(prune[0]["id"])
            done = s.wait_run(run, timeout=240)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["total_entries"], 100000)
            self.assertEqual(done["output"]["deleted_runs"], 100000)
            # other runs kept going meanwhile
            started, finished = skedtest.parse_time(done["started_at"]), skedtest.parse_time(done["finished_at"])
            during = [r for r in runs_of(s, busy["id"])
                      if r["status"] == "SUCCESS" and started <= skedtest.parse_time(r["finished_at"]) <= finished]
            if finished - started > 2:
                self.assertGreater(len(during), 0, "no run finished while pruning")
            self.assertEqual(s.get("/api/jobs/%s/runs" % old["id"]).json["hits"]["total"], 50)
            self.assertEqual(s.get("/api/jobs/%s/runs" % keep["id"]).json["hits"]["total"], 100)
            s.patch("/api/jobs/" + busy["id"], {"active": False})
            db = sqlite3.connect(s.db)
            orphans = db.execute("SELECT count(*) FROM run_log WHERE rid NOT IN (SELECT rid FROM run)").fetchone()[0]
            db.close()
            self.assertEqual(orphans, 0, "log lines outlived their runs")
            # a deleted prune job is not recreated
            s.delete("/api/jobs/" + prune[0]["id"])
            s.restart()
            self.assertFalse([j for j in s.get("/api/jobs").json["hits"]["hits"] if j["task"] == "prune"])


    def test_a_jobs_newest_success_outlives_retention(self):
        """A job that last succeeded longer ago than the retention keeps that run: its start is
        the `since` its next run starts from, which would otherwise be null (start over)."""
        tasks = {"prune.json": builtin("prune", "sked.prune"), "quick.json": sh_task("quick", "echo hi")}
        with Sked(tasks=tasks, args=FAST + ["--retention", "30d"]) as s:
            prune = [j for j in s.get("/api/jobs").json["hits"]["hits"] if j["task"] == "prune"][0]
            quarterly = s.create_job("quick", title="quarterly")
            never = s.create_job("quick", title="never succeeded")
            s.stop()
            add_old_runs(s.db, quarterly["id"], "quick", 3, 100)
            add_old_runs(s.db, quarterly["id"], "quick", 1, 95)  # the newest success
            add_old_runs(s.db, quarterly["id"], "quick", 2, 92, status="F")
            add_old_runs(s.db, never["id"], "quick", 2, 92, status="F")
            # a backfill's success since does not stand for it: its window was the past's
            add_old_runs(s.db, quarterly["id"], "quick", 1, 91, window=True)
            db = sqlite3.connect(s.db)
            kept, started = db.execute("SELECT id, started_at FROM run WHERE job_id = ? AND status = 'S' "
                                       "AND window_end IS NULL ORDER BY rid DESC LIMIT 1",
                                       (quarterly["id"],)).fetchone()
            backfilled = db.execute("SELECT id FROM run WHERE job_id = ? AND window_end IS NOT NULL",
                                    (quarterly["id"],)).fetchone()[0]
            db.close()
            s.start()
            done = s.wait_run(s.run_job(prune["id"]), timeout=60)
            self.assertEqual(done["status"], "SUCCESS", done)
            self.assertEqual(done["output"]["deleted_runs"], 3 + 2 + 2)
            left = s.get("/api/jobs/%s/runs" % quarterly["id"]).json["hits"]
            self.assertEqual([r["id"] for r in left["hits"]], [backfilled, kept])
            self.assertEqual(s.get("/api/jobs/%s/runs" % never["id"]).json["hits"]["total"], 0)
            self.assertEqual(s.get("/api/jobs/%s/runs/%s/logs" % (quarterly["id"], kept)).json["hits"]["total"], 1)
            run = s.wait_run(s.run_job(quarterly["id"]))
            self.assertEqual(skedtest.parse_time(run["args"]["since"]), started / 1e6)
            # a run's own retention may keep more, never delete more than the server's: anyone
            # who may start runs may start this one
            for value, words in (("36601d", "at most 100 years (36600d)"), ("30s", "at least 1m"),
                                 ("1d", "at least the server's (30d): a run may keep runs longer")):
                r = s.post("/api/jobs/%s/runs" % prune["id"], {"args": {"retention": value}})
                self.assertEqual((r.status, r.json["errors"][0]["field"]), (400, "args.retention"), r)
                self.assertIn(words, r.json["errors"][0]["messages"][0])
            long = s.wait_run(s.run_job(prune["id"], args={"retention": "400d"}), timeout=60)
            self.assertEqual((long["status"], long["output"]["deleted_runs"]), ("SUCCESS", 0))
            # once a newer run succeeded, the kept ones are old runs like any other
            done = s.wait_run(s.run_job(prune["id"]), timeout=60)
            self.assertEqual(done["output"]["deleted_runs"], 2)
            self.assertEqual([r["id"] for r in s.get("/api/jobs/%s/runs" % quarterly["id"]).json["hits"]["hits"]],
                             [run["id"]])


class Reload(unittest.TestCase):
    def test_sighup_picks_up_task_files_and_keeps_runs(self):
        tasks = {"slow.json": sh_task("slow", "sleep 2; echo done")}
        with Sked(tasks=tasks, args=FAST) as s:
            job = s.create_job("slow")
            run = s.run_job(job["id"])
            s.wait_run(run, ["RUNNING"])
            with open(os.path.join(s.tasks_dir, "fresh.json"), "w") as f:
                json.dump(sh_task("fresh", "echo fresh"), f)
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "fresh" in [t["id"] for t in s.get("/api/tasks").json["hits"]["hits"]], what="reload")
            fresh = s.create_job("fresh")
            self.assertEqual(s.wait_run(s.run_job(fresh["id"]))["status"], "SUCCESS")
            self.assertEqual(s.wait_run(run)["status"], "SUCCESS", "the run in progress survived")
            # a broken file keeps the current set
            with open(os.path.join(s.tasks_dir, "broken.json"), "w") as f:
                f.write('{"id": "broken"')
            with open(os.path.join(s.tasks_dir, "twice.json"), "w") as f:
                json.dump(sh_task("slow", "true"), f)
            os.mkfifo(os.path.join(s.tasks_dir, "pipe.json"))  # no writer: its open would wait
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload.failed" in s.server_log(), what="reload failure logged")
            # each file that does not load is named, the first as the reason of the failure
            log = s.server_log()
            self.assertRegex(log, r"reload\.failed reason=\"[^\"]*/broken\.json: \(file\): "
                                  r"malformed JSON")
            self.assertRegex(log, r"reload\.task_file_failed reason=\"[^\"]*/twice\.json: id: "
                                  r"'slow' is already declared by [^\"]*/slow\.json\"")
            self.assertRegex(log, r"reload\.task_file_failed reason=\"[^\"]*/pipe\.json: \(file\): "
                                  r"not a regular file")
            self.assertEqual(sorted(t["id"] for t in s.get("/api/tasks").json["hits"]["hits"]), ["fresh", "slow"])


class ReloadConfig(unittest.TestCase):
    def test_sighup_applies_settings_that_can_change(self):
        tmp = skedtest.tempfile.mkdtemp(prefix="sked-reload-")
        conf = os.path.join(tmp, "sked.conf")
        with open(conf, "w") as f:
            f.write("[server]\nqueues = default=1\n")
        slow = sh_task("slow", "sleep 1")
        s = Sked(tasks={"slow.json": slow}, tmp=tmp, args=FAST + ["--config", conf])
        with s:
            job = s.create_job("slow")
            runs = [s.run_job(job["id"]) for _ in range(3)]
            wait_for(lambda: s.get_run(runs[0])["status"] == "RUNNING", what="first running")
            self.assertEqual(s.get_run(runs[1])["status"], "QUEUED")  # one slot
            with open(conf, "w") as f:
                f.write("[server]\nqueues = default=3,extra=2\nnode = elsewhere\n[log]\nlevel = debug\n")
            s.proc.send_signal(signal.SIGHUP)
            # more slots: the waiting runs start at once, with the first still running
            wait_for(lambda: all(s.get_run(r)["status"] in ("RUNNING", "SUCCESS") for r in runs), what="slots")
            qs = {q["name"]: q["concurrency"] for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual(qs, {"default": 3, "extra": 2})
            log = s.server_log()
            self.assertIn("event=reload.needs_restart settings=node", log)
            wait_for(lambda: "level=debug" in s.server_log(), what="the new log level")
            for r in runs:
                self.assertEqual(s.wait_run(r)["status"], "SUCCESS")
            # a bad file keeps everything as it was
            with open(conf, "w") as f:
                f.write("[server]\nqueues = nonsense=x\n")
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload.config_failed" in s.server_log(), what="the failure")
            # named by its key, as config check names it
            self.assertIn('event=reload.config_failed reason="server.queues: %s:2: ' % conf, s.server_log())
            qs = {q["name"]: q["concurrency"] for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual(qs, {"default": 3, "extra": 2})
            # a job type that needs a queue the new settings drop: nothing changes at all
            with open(conf, "w") as f:
                f.write("[server]\nqueues = default=3,extra=2\n")
            with open(os.path.join(s.tasks_dir, "extra.json"), "w") as f:
                json.dump(sh_task("extra", "sleep 2", default_queue="extra"), f)
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "extra" in [t["id"] for t in s.get("/api/tasks").json["hits"]["hits"]],
                     what="the new job type")
            long_run = s.run_job(s.create_job("extra")["id"])
            self.assertEqual(long_run["queue"], "extra")
            s.wait_run(long_run, ["RUNNING"])
            with open(conf, "w") as f:
                f.write("[server]\nqueues = default=3\n")
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: s.server_log().count("reload.failed") == 1, what="the refused reload")
            qs = {q["name"]: q["concurrency"] for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual(qs, {"default": 3, "extra": 2})
            # without it the queue goes: listed as removed while its run finishes, then gone
            os.unlink(os.path.join(s.tasks_dir, "extra.json"))
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "extra" not in [t["id"] for t in s.get("/api/tasks").json["hits"]["hits"]],
                     what="the reload without the job type")
            qs = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((qs["extra"]["removed"], qs["extra"]["busy"]), (True, 1))
            self.assertFalse(qs["default"]["removed"])
            # listed, so not "does not exist": it drains and takes no pause, which says why
            r = s.post("/api/queues/extra/actions/pause", {})
            self.assertEqual(r.status, 409, r)
            # a reload leaves it its last concurrency (one at a time is after a restart only)
            self.assertEqual(r.json["message"],
                             "queue extra was taken out of the settings: it only runs the runs it "
                             "still holds, with its last concurrency (one at a time after a "
                             "restart), and takes no pause; name it in queues again (then "
                             "reload) to pause it, or stop its runs")
            self.assertEqual(s.wait_run(long_run)["status"], "SUCCESS")
            names = [q["name"] for q in s.get("/api/queues").json["hits"]["hits"]]
            self.assertEqual(names, ["default"])
            # a reload that switches the log to JSON logs what it says in JSON already
            with open(conf, "w") as f:
                f.write("[server]\nqueues = default=3\nnode = third\n[log]\nformat = json\n")
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: '"event":"reload.done"' in s.server_log().replace(" ", ""),
                     what="the reload in JSON")
            lines = [l for l in s.server_log().splitlines() if "reload.needs_restart" in l]
            self.assertTrue(lines[-1].startswith("{"), lines)
            self.assertEqual(json.loads(lines[-1])["settings"], "node")
        skedtest.shutil.rmtree(tmp, ignore_errors=True)


class RemovedQueueAtStart(unittest.TestCase):
    """Runs left waiting in a queue the settings no longer name are not stranded by a
    restart: the queue is kept as a removed one, runs them one at a time and goes."""

    def test_runs_waiting_in_a_queue_gone_from_the_settings_still_run(self):
        tasks = {"extra.json": sh_task("extra", "sleep 1")}
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=2,extra=2"]) as s:
            job = s.create_job("extra", default_queue="extra")
            self.assertEqual(s.post("/api/queues/extra/actions/pause", {}).status, 200)
            runs = [s.run_job(job["id"]) for _ in range(3)]
            s.stop()
            s.args = FAST + ["--queues", "default=2"]
            s.start()
            self.assertIn("event=queue.not_configured queue=extra queued=3 slots=1", s.server_log())
            qs = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((qs["extra"]["removed"], qs["extra"]["concurrency"],
                              qs["extra"]["queued"], qs["extra"]["paused"]), (True, 1, 3, True))
            # it stays closed to new runs, and cannot be paused again; it can be resumed
            self.assertEqual(s.post("/api/jobs/%s/runs" % job["id"], {}).status, 400)
            self.assertEqual(s.post("/api/queues/extra/actions/pause", {}).status, 409)
            # the table says it is paused as well as removed: why its runs wait
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            p = subprocess.run([skedtest.BIN, "queues"], env=env, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 0, p)
            row = [l for l in p.stdout.splitlines() if l.startswith("extra ")]
            self.assertEqual(len(row), 1, p.stdout)
            self.assertTrue(row[0].endswith("removed: ends its runs; paused by bootstrap token"), row)
            self.assertEqual(s.post("/api/queues/extra/actions/resume", {}).status, 200)
            wait_for(lambda: [q["busy"] for q in s.get("/api/queues").json["hits"]["hits"]
                              if q["name"] == "extra"] == [1], what="one run at a time")
            for r in runs:
                self.assertEqual(s.wait_run(r, timeout=30)["status"], "SUCCESS")
            starts = sorted(skedtest.parse_time(s.get_run(r)["started_at"]) for r in runs)
            ends = sorted(skedtest.parse_time(s.get_run(r)["finished_at"]) for r in runs)
            self.assertTrue(all(starts[i + 1] >= ends[i] for i in range(2)), (starts, ends))
            wait_for(lambda: [q["name"] for q in s.get("/api/queues").json["hits"]["hits"]] ==
                     ["default"], what="the removed queue gone once empty")

    def test_a_retry_queued_by_the_recovery_in_a_queue_gone_runs(self):
        tmp = tempfile.mkdtemp(prefix="sked-test-")
        mark = os.path.join(tmp, "mark")  # the first attempt hangs, the second ends at once
        tasks = {"extra.json": sh_task("extra", "test -e %s || { touch %s; sleep 100; }"
                                       % (mark, mark))}
        with Sked(tasks=tasks, tmp=tmp, args=FAST + ["--queues", "default=2,extra=1"]) as s:
            job = s.create_job("extra", default_queue="extra", max_retries=1, retry_backoff="1s")
            first = s.run_job(job["id"])
            wait_for(lambda: os.path.exists(mark), what="the first attempt")
            s.kill9()
            s.args = FAST + ["--queues", "default=2"]
            s.start()
            self.assertEqual(s.get_run(first)["status"], "FAILED")
            self.assertIn("event=queue.not_configured queue=extra queued=1 slots=1",
                          s.server_log())
            runs = s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["hits"]
            retry = [r for r in runs if r["id"] != first["id"]]
            self.assertEqual(len(retry), 1, runs)
            self.assertEqual(s.wait_run(retry[0], timeout=30)["status"], "SUCCESS")
        skedtest.shutil.rmtree(tmp, ignore_errors=True)


class ManyQueues(unittest.TestCase):
    def test_every_queue_is_listed_paused_and_measured(self):
        """However many queues the settings name, each is listed, may be paused and resumed,
        and has its samples in /metrics."""
        names = ["q%d" % i for i in range(70)]
        with Sked(tasks={"quick.json": sh_task("quick", "true")},
                  args=FAST + ["--queues", ",".join(n + "=1" for n in names)]) as s:
            listed = [q["name"] for q in s.get("/api/queues").json["hits"]["hits"]]
            self.assertEqual(listed, names)
            r = s.post("/api/queues/q69/actions/pause", {"reason": "the last one"})
            self.assertEqual((r.status, r.json["name"], r.json["paused"]), (200, "q69", True))
            metrics = s.get_bytes("/metrics")[2].decode()
            slots = [l for l in metrics.splitlines() if l.startswith("sked_queue_slots{")]
            self.assertEqual(len(slots), 70)
            self.assertIn('sked_queue_paused{queue="q69"} 1', metrics)
            self.assertEqual(s.post("/api/queues/q69/actions/resume", {}).status, 200)


class PauseQueuesAtStart(unittest.TestCase):
    """--pause-queues: a copy of a store (a restored backup) starts with every queue paused,
    before the recovery queues retries and the scheduler fires, so nothing of production's
    work runs until its queues are resumed."""

    def test_nothing_runs_until_a_queue_is_resumed(self):
        tasks = {"wait.json": sh_task("wait", "sleep 30"), "ok.json": sh_task("ok", "true")}
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=2,low=1"]) as s:
            runs = lambda job_id: s.get("/api/jobs/%s/runs?size=100" % job_id).json["hits"]["hits"]
            running = s.run_job(s.create_job("wait", max_retries=1, retry_backoff="0s")["id"])
            wait_for(lambda: s.get_run(running)["status"] == "RUNNING", what="the run started")
            ticking = s.create_job("ok", schedule={"type": "interval", "seconds": 1})
            self.assertEqual(s.post("/api/queues/low/actions/pause", {"reason": "mine"}).status, 200)
            before = len(wait_for(lambda: runs(ticking["id"]), what="the fire at its save"))
            s.kill9()  # the copy of a backup taken now: one run RUNNING
            s.args = FAST + ["--queues", "default=2,low=1", "--pause-queues", "test copy"]
            s.start()
            self.assertIn("event=startup.queues_paused queues=1 reason=\"test copy\"", s.server_log())
            qs = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((qs["default"]["paused"], qs["default"]["pause_reason"]), (True, "test copy"))
            self.assertEqual(qs["low"]["pause_reason"], "mine")  # its own pause stays
            # the interrupted run's retry and the schedule's fires wait
            self.assertEqual(s.get_run(running)["status"], "FAILED")
            retry = wait_for(lambda: [r for r in runs(running["job_id"]) if r["trigger"] == "retry"],
                             what="the retry")[0]
            # newest first: the fires since the start, before the one made at the job's save
            fired = wait_for(lambda: runs(ticking["id"])[:-before], what="a scheduled fire")
            self.assertEqual(s.get_run(retry)["status"], "QUEUED")
            self.assertEqual({r["status"] for r in runs(ticking["id"])[:-before]}, {"QUEUED"})
            self.assertEqual(s.post("/api/queues/default/actions/resume").status, 200)
            self.assertEqual(s.wait_run(fired[-1])["status"], "SUCCESS")
            wait_for(lambda: s.get_run(retry)["status"] == "RUNNING", what="the retry started")

    def test_a_queue_gone_from_the_settings_is_paused_too(self):
        """Runs left waiting in a queue the settings no longer name run at the next start, one
        at a time: with --pause-queues that queue waits too."""
        tasks = {"wait.json": sh_task("wait", "sleep 30"),
                 "mark.json": sh_task("mark", 'touch "ran-$SKED_RUN_ID"')}
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=2,extra=1"]) as s:
            busy = s.run_job(s.create_job("wait", default_queue="extra")["id"])
            wait_for(lambda: s.get_run(busy)["status"] == "RUNNING", what="the busy run")
            waiting = s.run_job(s.create_job("mark", default_queue="extra")["id"])
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            s.kill9()
            s.args = FAST + ["--queues", "default=2", "--pause-queues", "test copy"]
            s.start()
            self.assertIn("event=startup.queues_paused queues=2 ", s.server_log())
            qs = {q["name"]: q for q in s.get("/api/queues").json["hits"]["hits"]}
            self.assertEqual((qs["extra"]["removed"], qs["extra"]["paused"], qs["extra"]["pause_reason"]),
                             (True, True, "test copy"))
            self.assertEqual(s.get_run(waiting)["status"], "QUEUED")
            # one command lets every paused queue go, the removed one's too
            env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
            env.update(SKED_URL=s.url, SKED_TOKEN=skedtest.TOKEN)
            p = subprocess.run([skedtest.BIN, "queues", "resume", "--all"], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout), (0, "queue default runs\nqueue extra runs\n"), p)
            self.assertEqual(s.wait_run(waiting)["status"], "SUCCESS")
            self.assertTrue(os.path.exists(os.path.join(s.tasks_dir, "ran-" + waiting["id"])))

    def test_the_reason_is_one_line_of_text(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        for args, extra, message in ((["--pause-queues", ""], {}, "must not be empty"),
                                     ([], {"SKED_PAUSE_QUEUES": "a\tb"}, "one line")):
            p = subprocess.run([skedtest.BIN, "serve", "--db", ":memory:", "--listen",
                                "127.0.0.1:0"] + args, env=dict(env, **extra),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p)
            self.assertIn("pause", p.stderr.lower())
            self.assertIn(message, p.stderr)


class StoreAccess(unittest.TestCase):
    def test_a_store_sked_may_not_write_is_refused_at_start(self):
        """A store file this user may not write (SQLite would open it read-only, and every
        write would fail once serving), or whose folder it may not write (no -wal file can be
        made), stops the start with the reason and what to do."""
        with Sked(tasks={"quick.json": sh_task("quick", "echo hi")}) as s:
            s.stop()
            user = []
            if os.geteuid() == 0:  # root writes anything: the store is served as nobody
                for root, dirs, files in os.walk(s.tmp):
                    for name in [root] + [os.path.join(root, f) for f in files + dirs]:
                        os.chown(name, 65534, 65534)
                user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            cmd = user + [skedtest.BIN, "serve", "--db", s.db, "--listen", "127.0.0.1:0",
                          "--tasks", s.tasks_dir]
            os.chmod(s.db, 0o444)
            p = subprocess.run(cmd, capture_output=True, text=True, env=s.env, timeout=30)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("%s: the store is read-only for this user (uid " % s.db, p.stderr)
            self.assertIn("make the file writable by this user, or serve a copy", p.stderr)
            self.assertNotIn("listening", p.stderr)
            os.chmod(s.db, 0o644)
            os.chmod(s.tmp, 0o555)
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, env=s.env, timeout=30)
            finally:
                os.chmod(s.tmp, 0o755)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn("its folder is not writable by this user", p.stderr)
            s.start()  # as it was: served


class Upgrade(unittest.TestCase):
    def test_a_version_4_store_is_migrated_with_its_runs(self):
        """A store as version 4 left it (no run counts, the old index conditions, no indexes of
        unsuccessful or titled runs) is migrated at start: totals count the runs already there, and a
        queued run still runs."""
        with Sked(tasks={"quick.json": sh_task("quick", "echo hi")}, args=FAST) as s:
            job = s.create_job("quick")
            for _ in range(3):
                self.assertEqual(s.wait_run(s.run_job(job["id"]))["status"], "SUCCESS")
            s.stop()
            db = sqlite3.connect(s.db)
            db.executescript("""
                DROP TRIGGER run_count_delete; DROP TRIGGER run_count_job_delete;
                DROP TABLE run_count; DROP TABLE run_count_upto;
                DROP INDEX audit_action; CREATE INDEX audit_action ON audit(action, id);
                CREATE INDEX run_finished ON run(finished_at) WHERE finished_at IS NOT NULL;
                DROP INDEX run_state;
                CREATE INDEX run_active ON run(status, rid) WHERE status IN ('Q', 'R', 'C');
                CREATE INDEX run_remote ON run(executor, rid)
                    WHERE executor IS NOT NULL AND status IN ('Q', 'R', 'C');
                DROP INDEX run_job_state;
                DROP INDEX run_titled;
                ALTER TABLE job DROP COLUMN on_success;
                DROP TABLE chain_pending;
                DROP TABLE idempotency;
                ALTER TABLE run DROP COLUMN window_end;
                ALTER TABLE run DROP COLUMN since_auto;
                ALTER TABLE job DROP COLUMN alert_after_ms;
                ALTER TABLE job DROP COLUMN overdue_at;
                ALTER TABLE job DROP COLUMN alert_from;
                DROP TABLE detached;
                DROP TABLE notify_outbox;
                PRAGMA user_version = 4;""")
            t = int(time.time() * 1e6)
            queued = str(uuid.uuid4())
            db.execute("INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, updated) "
                       "VALUES (?, ?, 'quick', 'Q', 'default', '{}', 'manual', ?, ?)", (queued, job["id"], t, t))
            db.commit()
            db.close()
            s.start()
            self.assertEqual(s.get("/readyz").json["store_version"], 23)
            self.assertEqual(s.wait_run({"id": queued, "job_id": job["id"]})["status"], "SUCCESS")
            self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], 4)
            s.wait_run(s.run_job(job["id"]))
            self.assertEqual(s.get("/api/runs").json["hits"]["total"], 5)
            db = sqlite3.connect(s.db)
            # the runs not SUCCESS, by status, in one index instead of three, and by job and
            # status those neither SUCCESS nor RUNNING (version 12)
            indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
            self.assertTrue({"run_job_state", "run_state"} <= indexes)
            self.assertFalse({"run_active", "run_unsuccessful", "run_remote",
                              "run_unsuccessful_job"} & indexes)
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'run_state'").fetchone()[0]
            self.assertIn("WHERE status <> 'S'", sql)
            # the runs with a wait, whatever their status (version 12)
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'run_delayed'").fetchone()[0]
            self.assertTrue(sql.endswith("WHERE not_before IS NOT NULL"), sql)
            # the queued runs this node's workers run, without another executor's (version 13)
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'run_queued'").fetchone()[0]
            self.assertTrue(sql.endswith("WHERE status = 'Q' AND executor IS NULL"), sql)
            self.assertIn("run_titled", indexes)  # the titled runs, for text searches (version 8)
            self.assertNotIn("run_finished", indexes)  # no index by finish time (version 11)
            # run.started entries are not in the audit's index by action (version 9)
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_action'").fetchone()[0]
            self.assertIn("WHERE action <> 'run.started'", sql)
            # the counts hold the runs up to a mark, the four there at start (version 10); the
            # fifth, made since, is counted above it
            self.assertEqual(db.execute("SELECT rid FROM run_count_upto").fetchone()[0], 4)
            self.assertEqual(db.execute("SELECT n FROM run_count").fetchall(), [(4,)])
            self.assertEqual(s.get("/api/jobs/%s/runs?status=SUCCESS" % job["id"]).json["hits"]["total"], 5)
            self.assertEqual(s.get("/api/jobs/%s/runs?status=FAILED" % job["id"]).json["hits"]["total"], 0)
            db.close()


class Backup(unittest.TestCase):
    def test_backup_during_load_holds_every_finished_run(self):
        tasks = {"quick.json": sh_task("quick", "echo hi")}
        with Sked(tasks=tasks, args=FAST + ["--queues", "default=4"]) as s:
            job = s.create_job("quick")
            stop = threading.Event()

            def load():
                while not stop.is_set():
                    try:
                        s.run_job(job["id"])
                    except Exception:
                        pass

            t = threading.Thread(target=load)
            t.start()
            time.sleep(1.5)
            out = os.path.join(s.tmp, "backup.db")
            r = subprocess.run([skedtest.BIN, "backup", out, "--db", s.db], capture_output=True, text=True, timeout=60)
            finished_after = {x["id"] for x in runs_of(s, job["id"]) if x["finished_at"]}
            stop.set()
            t.join()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("backed up to", r.stdout)
            # it holds password hashes: the owner alone may read it, as the store itself
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
            self.assertEqual(os.stat(s.db).st_mode & 0o777, 0o600)
            db = sqlite3.connect(out)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            copied = {row[0]: row[1] for row in db.execute("SELECT id, status FROM run")}
            db.close()
            self.assertGreater(len(copied), 10)
            # the copy is one moment: every run finished before it is in it, finished
            finished_in_copy = {i for i, st in copied.items() if st in ("S", "F")}
            self.assertTrue(finished_in_copy <= finished_after)
            self.assertGreater(len(finished_in_copy), 0)
            # a second backup to the same name is refused
            r = subprocess.run([skedtest.BIN, "backup", out, "--db", s.db], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            # restore refuses the store of a running sked
            r = subprocess.run([skedtest.BIN, "restore", out, "--db", s.db], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("in use", r.stderr)
            s.stop()
            r = subprocess.run([skedtest.BIN, "restore", out, "--db", s.db], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            # a store restore creates is its owner's alone, whatever the umask
            fresh = os.path.join(os.path.dirname(out), "fresh.db")
            r = subprocess.run(["sh", "-c", 'umask 022 && exec "$0" restore "$1" --db "$2"', skedtest.BIN,
                                out, fresh], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.stat(fresh).st_mode & 0o777, 0o600)
            s.start()
            self.assertEqual(s.get("/api/jobs/%s/runs" % job["id"]).json["hits"]["total"], len(copied))

    def test_a_copy_that_fails_halfway_leaves_nothing_behind(self):
        """A backup or a restore into a new file that fails halfway (a full disk; here a file
        size limit) removes what it wrote: a half copy with its journal beside it would open
        later as an empty store. Restoring a store onto itself is refused as such."""
        keep, d = tempfile.mkdtemp(prefix="sked-full-"), tempfile.mkdtemp(prefix="sked-copy-")
        self.addCleanup(shutil.rmtree, keep, True)
        self.addCleanup(shutil.rmtree, d, True)
        full = os.path.join(keep, "full.db")
        with Sked(tasks={"quick.json": sh_task("quick", "echo hi")}) as s:
            job = s.create_job("quick")
            for _ in range(20):
                s.run_job(job["id"], args={"note": "x" * 2000})
            r = subprocess.run([skedtest.BIN, "backup", full, "--db", s.db], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        for cmd in (["backup", os.path.join(d, "part.db"), "--db", full],
                    ["restore", full, "--db", os.path.join(d, "new.db")]):
            r = subprocess.run(["prlimit", "--fsize=16384", "--", skedtest.BIN] + cmd,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r)
            self.assertEqual(os.listdir(d), [], (cmd, r.stderr))
        r = subprocess.run([skedtest.BIN, "restore", full, "--db", full], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("is the store itself", r.stderr)


if __name__ == "__main__":
    skedtest.main()
