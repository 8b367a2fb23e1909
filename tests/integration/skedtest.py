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

    def __init__(self, tasks=None, args=(), env=None, tmp=None, copy_examples=True, wrapper=()):
        self.wrapper = list(wrapper)  # a command sked is started through (its argv goes last)
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
        # sked writes its log straight into the file, so server_log() holds every line sked
        # wrote before it is called; the address is read from the file as it grows
        self.log = open(self.log_path, "ab")
        offset = self.log.tell()
        cmd = self.wrapper + [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                              "--tasks", self.tasks_dir] + self.args
        self.started_at = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=self.env, cwd=self.tmp)
        deadline = time.time() + timeout
        text = ""
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            m = re.search(r"^sked: listening on (http://127\.0\.0\.1:(\d+))$", text, re.M)
            if m:
                self.url = m.group(1)
                self.port = int(m.group(2))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log.close()
        raise RuntimeError("sked did not start: %s" % text)

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
        self.log.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def _died(self):
        """A note on the server's state for a failed request: its exit status and log tail."""
        if self.proc and self.proc.poll() is not None:
            return "; sked exited with status %s:\n%s" % (self.proc.returncode, self.server_log()[-3000:])
        return ""

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
        try:
            conn.request(method, path, body=raw, headers=h)
            r = conn.getresponse()
            data = r.read().decode(errors="replace")
        except OSError as e:
            raise AssertionError("%s %s failed: %s%s" % (method, path, e, self._died())) from e
        finally:
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

    def stop_run(self, run, expect=202):
        r = self.post("/api/jobs/%s/runs/%s/actions/stop" % (run["job_id"], run["id"]))
        assert r.status == expect, r
        return r.json

    def all_logs(self, run, level=None):
        """Every stored log line of a run, following the cursor pages."""
        out, after = [], 0
        while True:
            params = {"after": after, "limit": 5000}
            if level:
                params["level"] = level
            page = self.get("/api/jobs/%s/runs/%s/logs?%s" % (
                run["job_id"], run["id"], "&".join("%s=%s" % kv for kv in params.items())))
            assert page.status == 200, page
            hits = page.json["hits"]["hits"]
            out.extend(hits)
            if "next" not in page.json["links"]:  # a page of long lines holds fewer than 5000
                return out
            after = page.json["after"]

    def get_bytes(self, path, token=TOKEN, timeout=30):
        """GET returning (status, headers, body bytes) without any decoding."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def raw(self, data, timeout=10, shut_write=False):
        """Sends raw bytes on a new connection and returns every byte the server sends back until
        it closes the connection (or goes quiet for timeout seconds: then an AssertionError)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            sock.sendall(data)
            if shut_write:
                sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                try:
                    c = sock.recv(65536)
                except socket.timeout:
                    raise AssertionError("server neither answered nor closed within %ss; got %r"
                                         % (timeout, b"".join(chunks)[:300]))
                if not c:
                    return b"".join(chunks)
                chunks.append(c)
        finally:
            sock.close()

    def sse(self, run, **kw):
        """Opens the run's live log stream (see SSE)."""
        return SSE(self, run, **kw)


def config_check(tasks):
    """`sked config check` of these task files ({name: document}): the finished process."""
    tmp = tempfile.mkdtemp(prefix="sked-test-")
    try:
        for name, doc in tasks.items():
            with open(os.path.join(tmp, name), "w") as f:
                json.dump(doc, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        return subprocess.run([BIN, "config", "check", "--tasks", tmp],
                              capture_output=True, text=True, env=env, timeout=30)
    finally:
        shutil.rmtree(tmp)

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


# -- helpers for the engine suites ----------------------------------------------------------------

def sh_task(id, script, extra_argv=(), **fields):
    """A task file whose command is an inline /bin/sh script; extra_argv (which may hold
    {{placeholders}}) becomes its positional parameters $1, $2, ..."""
    return task_file(id, ["/bin/sh", "-c", script, id] + list(extra_argv), **fields)


def send_run_request(conn, job_id):
    """Sends POST /api/jobs/JOB/runs with {} on conn (an http.client connection), answer unread:
    for tests that act on sked between the request and its answer."""
    conn.request("POST", "/api/jobs/%s/runs" % job_id, body=b"{}",
                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})


def wait_for(cond, timeout=10, interval=0.05, what="condition"):
    """Polls cond() until it returns something truthy; returns that value."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def read_to_close(c):
    """What a connection sent until it closed; then closes it."""
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    return data


def parse_responses(data):
    """Splits raw HTTP/1.1 response bytes (Content-Length framed or ended by close) into
    [(status, {header-lower: value}, body bytes)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise AssertionError("incomplete response head: %r" % data[:200])
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            n = int(headers["content-length"])
            body, data = rest[:n], rest[n:]
        else:
            body, data = rest, b""
        out.append((status, headers, body))
    return out


class SSE:
    """A client of a run's /logs/stream. Use next_event() or read_all(); every read has a
    timeout so a stream that stalls fails the test instead of hanging it."""

    def __init__(self, sked, run, after=None, last_event_id=None, level=None, timeout=15,
                 rcvbuf=None, headers=None, path=None):
        params = []
        if after is not None:
            params.append("after=%s" % after)
        if level is not None:
            params.append("level=%s" % level)
        if path is None:  # another stream (GET /api/runs/stream) when given
            path = "/api/jobs/%s/runs/%s/logs/stream" % (run["job_id"], run["id"])
        if params:
            path += "?" + "&".join(params)
        self.conn = http.client.HTTPConnection("127.0.0.1", sked.port, timeout=timeout)
        if rcvbuf:
            # a small receive window makes a client that does not read felt by the server
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            sock.connect(("127.0.0.1", sked.port))
            self.conn.sock = sock
        h = {"Authorization": "Bearer " + TOKEN, "Accept": "text/event-stream"}
        if headers is not None:  # the caller's own credentials instead
            h = dict(headers, Accept="text/event-stream")
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = dict((k.lower(), v) for k, v in self.resp.getheaders())
        self.closed = False

    def next_event(self):
        """The next event as {"event", "id", "data"} (data parsed as JSON), or None at the end
        of the stream. Comments (pings) and the retry field are skipped."""
        ev = {"event": "message", "id": None, "data": None}
        data = []
        while True:
            line = self.resp.readline()
            if not line:
                self.closed = True
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    ev["data"] = json.loads("\n".join(data))
                    return ev
                ev = {"event": "message", "id": None, "data": None}
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                ev["event"] = value
            elif field == "id":
                ev["id"] = value
            elif field == "data":
                data.append(value)

    def read_all(self):
        """Every remaining event, up to the end of the stream."""
        out = []
        while True:
            ev = self.next_event()
            if ev is None:
                return out
            out.append(ev)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:")

# Leaks of the server that are known and reported but not yet fixed: (pattern over one leak
# block of the LeakSanitizer report, what it is). Remove an entry once its bug is fixed;
# test_api.Leaks checks them strictly.
KNOWN_LEAKS = []


class CheckedSked(Sked):
    """A Sked whose shutdown is part of the test: leaving the with-block stops it with SIGTERM
    and fails (unless the block already failed) when it does not exit 0, when its log holds a
    sanitizer report (leaks listed in KNOWN_LEAKS aside) or when a process of its tasks is
    still alive. Leftover task processes are killed either way."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # inherited by every task process: finds what a server left behind
        self.env["SKEDTEST_INSTANCE"] = self.tmp

    def task_pids(self):
        return pids_with_env("SKEDTEST_INSTANCE=" + self.tmp)

    def __exit__(self, *exc):
        rc = self.stop()
        log = self.server_log()
        left = []
        deadline = time.time() + 3
        while True:
            left = self.task_pids()
            if not left or time.time() > deadline:
                break
            time.sleep(0.05)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        super().__exit__(*exc)
        if exc[0] is None:
            check_server_exit(rc, log)
            if left:
                raise AssertionError("task processes outlived sked: %s" % left)


def leak_blocks(log):
    """The leak reports ("Direct leak of ..." / "Indirect leak of ..." blocks) of a log."""
    return re.findall(r"^(?:Direct|Indirect) leak of .*?(?=\n\s*\n|\Z)", log, re.M | re.S)


def check_server_exit(rc, log, known_leaks=None):
    """Fails unless the server exited 0 with no sanitizer report; leaks matching known_leaks
    (default KNOWN_LEAKS) are tolerated, and so is the non-zero status they cause."""
    known = KNOWN_LEAKS if known_leaks is None else known_leaks
    for marker in SANITIZER_MARKERS:
        if marker in log:
            i = log.index(marker)
            raise AssertionError("sanitizer report in the server log:\n" + log[max(0, i - 200):i + 3000])
    if "ERROR: LeakSanitizer" in log:
        blocks = leak_blocks(log)
        unknown = [b for b in blocks if not any(re.search(p, b) for p, _ in known)]
        if unknown or not blocks:
            raise AssertionError("memory leaks in the server:\n" + "\n\n".join(unknown or [log[-3000:]]))
        if "event=shutdown.done" in log:
            return
    if rc != 0:
        raise AssertionError("sked exited with status %s; log tail:\n%s" % (rc, log[-3000:]))


def parse_time(s):
    """An API time ("2026-11-29T10:34:36.123456+00:00") as seconds since the epoch."""
    from datetime import datetime
    return datetime.fromisoformat(s).timestamp()
