"""Harness for integration tests: starts the real sked binary on 127.0.0.1 with a temporary
store and talks to it over HTTP. Standard library only.

    with Sked() as s:
        job = s.create_job("sync_records", args={"records": 5})
        run = s.run_job(job["id"])
        done = s.wait_run(run, ["SUCCESS"])
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SRC = os.environ.get("SKED_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SKED_BIN") or os.path.join(SRC, "build", "dev", "sked")
TOKEN = "test-admin-token-0123456789"
TERMINAL = ("SUCCESS", "FAILED", "CANCELLED", "PARTIAL_SUCCESS", "WARNING")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class Sked:
    """A sked server in a temporary directory. tasks: dict of file name -> task JSON (object
    or raw text) written to its tasks folder; by default the repository's tasks.d is used."""

    def __init__(self, tasks=None, args=(), env=None, tmp=None, copy_examples=True):
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="sked-test-")
        self.db = os.path.join(self.tmp, "sked.db")
        if tasks is None:
            self.tasks_dir = os.path.join(SRC, "tasks.d")
        else:
            self.tasks_dir = os.path.join(self.tmp, "tasks.d")
            os.makedirs(self.tasks_dir, exist_ok=True)
            for name, doc in tasks.items():
                with open(os.path.join(self.tasks_dir, name), "w") as f:
                    f.write(doc if isinstance(doc, str) else json.dumps(doc))
        self.args = list(args)
        self.env = dict(os.environ)
        self.env["SKED_ADMIN_TOKEN"] = TOKEN
        for k in list(self.env):
            if k.startswith("SKED_") and k not in ("SKED_ADMIN_TOKEN",):
                del self.env[k]
        if env:
            self.env.update(env)
        self.proc = None
        self.url = None
        self.port = None
        self.log_path = os.path.join(self.tmp, "sked.log")

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, timeout=15):
        self.log = open(self.log_path, "ab")
        cmd = [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--tasks", self.tasks_dir] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.PIPE, env=self.env, cwd=self.tmp)
        deadline = time.time() + timeout
        lines = []
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.write(line)
            self.log.flush()
            text = line.decode(errors="replace")
            lines.append(text)
            m = re.match(r"^sked: listening on (http://127\.0\.0\.1:(\d+))$", text.strip())
            if m:
                self.url = m.group(1)
                self.port = int(m.group(2))
                # keep draining stderr into the log file so the server never blocks on it
                self._pump = threading.Thread(target=self._drain, args=(self.proc.stderr, self.log), daemon=True)
                self._pump.start()
                return self
        self.proc.kill()
        raise RuntimeError("sked did not start: %s" % "".join(lines))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._pump.join(5)
        self.proc = None
        return rc

    @staticmethod
    def _drain(src, dst):
        for line in iter(src.readline, b""):
            dst.write(line)
            dst.flush()

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def server_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP -------------------------------------------------------------------------------
    def request(self, method, path, body=None, token=TOKEN, headers=None, raw=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn.request(method, path, body=raw, headers=h)
        r = conn.getresponse()
        data = r.read().decode(errors="replace")
        conn.close()
        return Response(r.status, dict(r.getheaders()), data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- shortcuts ----------------------------------------------------------------------------
    def create_job(self, task, title=None, **fields):
        body = {"title": title or ("job of " + task), "task": task}
        body.update(fields)
        r = self.post("/api/jobs", body)
        assert r.status == 201, r
        return r.json

    def run_job(self, job_id, expect=201, **body):
        r = self.post("/api/jobs/%s/runs" % job_id, body)
        assert r.status == expect, r
        return r.json

    def get_run(self, run):
        r = self.get("/api/jobs/%s/runs/%s" % (run["job_id"], run["id"]))
        assert r.status == 200, r
        return r.json

    def wait_run(self, run, statuses=TERMINAL, timeout=30):
        deadline = time.time() + timeout
        cur = run
        while time.time() < deadline:
            cur = self.get_run(run)
            if cur["status"] in statuses:
                return cur
            time.sleep(0.05)
        raise AssertionError("run %s still %s after %ss (wanted %s)" % (run["id"], cur["status"], timeout, statuses))

    def logs(self, run, **params):
        q = "&".join("%s=%s" % kv for kv in params.items())
        r = self.get("/api/jobs/%s/runs/%s/logs?%s" % (run["job_id"], run["id"], q))
        assert r.status == 200, r
        return r.json["hits"]["hits"]


def task_file(id, command, **fields):
    doc = {"id": id, "title": fields.pop("title", id), "command": command}
    doc.update(fields)
    return doc


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pids_with_env(needle):
    """Pids of processes whose environment holds needle (e.g. SKED_RUN_ID=...)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle.encode() in env:
            # zombies are gone for our purpose
            try:
                with open("/proc/%s/stat" % pid) as f:
                    if f.read().split(")")[-1].split()[0] == "Z":
                        continue
            except OSError:
                continue
            found.append(int(pid))
    return found


def main():
    unittest.main(verbosity=2)
