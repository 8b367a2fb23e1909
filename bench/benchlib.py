"""Shared helpers of the benchmarks: start a release build of sked on a store of its own, talk to
it, preload its store with SQL, drive wrk and bench-loadgen, and record results.

Every workload script writes what it measured to bench/out/results/<ID>.json (write_result);
bench/report.py turns those files, and bench/out/peers.json when it exists, into
docs/benchmarks.md."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("SKED_BUILD", os.path.join(ROOT, "build", "release"))
BIN = os.environ.get("SKED_BIN", os.path.join(BUILD, "sked"))
LOADGEN = os.environ.get("BENCH_LOADGEN", os.path.join(BUILD, "bench", "bench-loadgen"))
STAMP = os.environ.get("BENCH_STAMP", os.path.join(BUILD, "bench", "bench-stamp"))
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench", "out"))
TOKEN = "bench-token-0123456789abcdef"
PASSES = int(os.environ.get("BENCH_PASSES", "3"))

NOOP_TASK = {"noop.json": {"id": "noop", "title": "No-op", "builtin": "noop"}}
TRUE_TASK = {"true.json": {"id": "true", "title": "true", "command": ["/bin/true"]}}
# What the no-op workloads (B1-B4, B6 in-process, B7) run sked with: 16 slots in the default
# queue and one builtin thread per core. The flags are printed with the figures.
NOOP_ARGS = ["--queues", "default=16", "--builtin-threads", "2"]


class Server:
    """A `sked serve` on 127.0.0.1 with a port of its own, a fresh store and tasks folder in a
    temporary directory (on the same disk as the project, never a tmpfs: fsync must cost what
    it costs), SKED_ADMIN_TOKEN for auth. stop() keeps the store, so it can be preloaded with
    SQL and started again with start(); close() removes the directory."""

    def __init__(self, tasks, args=(), start=True):
        os.makedirs(os.path.join(OUT, "work"), exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="sked-", dir=os.path.join(OUT, "work"))
        self.tasks = os.path.join(self.tmp, "tasks.d")
        os.makedirs(self.tasks)
        for name, doc in tasks.items():
            with open(os.path.join(self.tasks, name), "w") as f:
                json.dump(doc, f)
        self.db = os.path.join(self.tmp, "sked.db")
        self.args = list(args)
        self.proc = None
        self.conn = None
        if start:
            self.start()

    def command(self):
        return [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--tasks", self.tasks,
                "--log-level", "warn"] + self.args

    def start(self, args=None):
        if args is not None:
            self.args = list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env["SKED_ADMIN_TOKEN"] = TOKEN
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stderr=subprocess.PIPE, env=env)
        for line in self.proc.stderr:
            m = re.match(rb"sked: listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise RuntimeError("sked did not start")
        self.listening = time.monotonic()
        # keep reading stderr into a file, so a chatty server never blocks on a full pipe
        self.pump = threading.Thread(target=_pump, daemon=True,
                                     args=(self.proc.stderr, os.path.join(self.tmp, "stderr.log")))
        self.pump.start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + TOKEN}
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        out = r.read()
        return r.status, (json.loads(out) if out else None)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def create_job(self, task, **extra):
        doc = {"title": "bench", "task": task}
        doc.update(extra)
        st, job = self.call("POST", "/api/jobs", doc)
        assert st == 201, job
        return job

    def metric(self, name):
        """The value of one unlabelled sample of GET /metrics."""
        h = {"Authorization": "Bearer " + TOKEN}
        self.conn.request("GET", "/metrics", headers=h)
        text = self.conn.getresponse().read().decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        return float(m.group(1)) if m else 0.0

    def commits(self):
        """Store writes so far (transactions and statements outside one): each is a commit."""
        return self.metric("sked_store_write_duration_seconds_count")

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        """CPU seconds (user + system) the server has used, all its threads."""
        return cpu_seconds(self.proc.pid)

    def stop(self):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
            self.pump.join(10)
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _pump(src, path):
    with open(path, "ab") as f:
        for line in src:
            f.write(line)


def cpu_seconds(pid, tid=None):
    path = "/proc/%d/stat" % pid if tid is None else "/proc/%d/task/%d/stat" % (pid, tid)
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the store, from outside (sked stopped, or read-only beside it) ----

def now_us():
    return int(time.time() * 1e6)


def preload_runs(db, job_id, n, task, status="Q"):
    """Inserts n runs of one job straight into the store, as the API would have (QUEUED), or as
    finished no-op runs (status 'S', with start and finish times), oldest first."""
    t0 = now_us() - (n * 1000 if status != "Q" else 0)
    c = sqlite3.connect(db)
    c.execute("PRAGMA synchronous=OFF")
    finished = status != "Q"
    c.execute(
        """WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1)
           INSERT INTO run (id, job_id, task, status, queue, args, trigger, created, updated,
                            started_at, finished_at, node, claim, started_by_id, started_by_name)
           SELECT printf('%08x-0000-4000-8000-%012x', x, x), ?2, ?3, ?4, 'default',
                  '{"since":null}', 'manual', ?5 + x * 1000, ?5 + x * 1000 + 300,
                  CASE WHEN ?6 THEN ?5 + x * 1000 + 100 END,
                  CASE WHEN ?6 THEN ?5 + x * 1000 + 300 END,
                  CASE WHEN ?6 THEN 'bench' END, CASE WHEN ?6 THEN 1 ELSE 0 END,
                  'bootstrap', 'bootstrap token' FROM n""",
        (n, job_id, task, status, t0, finished))
    c.commit()
    c.close()


def preload_scheduled_jobs(db, n, task, zone="Europe/Zurich"):
    """Inserts n active jobs with daily crontab schedules spread over the minutes of the day (in
    `zone`), each with its next fire time computed, as the API stores them. None fires within
    the next minutes, so the scheduler's heap is full while the machine stays idle."""
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(zone)
    now = datetime.now(tz) + timedelta(minutes=5)
    nexts = {}
    for hm in range(1440):
        h, m = divmod(hm, 60)
        t = now.replace(hour=h, minute=m, second=0, microsecond=0)
        if t <= now:
            t = (now + timedelta(days=1)).replace(hour=h, minute=m, second=0, microsecond=0)
        nexts[hm] = int(t.timestamp() * 1e6)
    created = now_us()

    def rows():
        for i in range(n):
            hm = i % 1440
            h, m = divmod(hm, 60)
            sched = json.dumps({"type": "crontab", "minute": str(m), "hour": str(h),
                                "timezone": zone}, separators=(",", ":"))
            yield ("%08x-0000-4000-8000-%012x" % (i, i), created, created, "idle %d" % i, task,
                   sched, nexts[hm])

    c = sqlite3.connect(db)
    c.execute("PRAGMA synchronous=OFF")
    c.executemany(
        """INSERT INTO job (id, created, updated, active, title, task, default_queue, schedule,
                            run_args, notifications, next_run)
           VALUES (?, ?, ?, 1, ?, ?, 'default', ?, '{}',
                   '{"emails":[],"statuses":[],"webhooks":[]}', ?)""", rows())
    c.commit()
    c.close()


def active_runs(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return c.execute("SELECT count(*) FROM run WHERE status IN ('Q','R','C')").fetchone()[0]
    finally:
        c.close()


def wait_drained(db, timeout=600, step=0.2):
    """Waits until the store holds no QUEUED, RUNNING or CANCELLING run. Reads the store with a
    connection of its own (WAL lets it read beside the server), so the server's loop is not
    asked anything while it works."""
    end = time.monotonic() + timeout
    while active_runs(db):
        if time.monotonic() > end:
            raise RuntimeError("runs still active after %d s" % timeout)
        time.sleep(step)


def query(db, sql, args=()):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


# ---- load generators ----

def loadgen(port, job_id, n, conns=1):
    """bench/loadgen.c: n POST /api/jobs/{id}/runs over `conns` keep-alive connections, one
    request in flight on each."""
    out = subprocess.run([LOADGEN, "127.0.0.1", str(port), TOKEN, job_id, str(n), str(conns)],
                         check=True, capture_output=True, text=True).stdout
    return out.strip()


def wrk(url, conns, secs, script=None, threads=1):
    """Runs wrk and returns requests/s, the number of requests, non-2xx answers and the latency
    percentiles (ms) it reports."""
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs, "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=secs + 60).stdout
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1)),
         "non2xx": 0, "raw": out}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    for p in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\b" % p, out, re.M)
        if m:
            v = float(m.group(1))
            r["p" + p] = v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return r


def wrk_script(name, text):
    os.makedirs(os.path.join(OUT, "work"), exist_ok=True)
    path = os.path.join(OUT, "work", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def auth_script():
    return wrk_script("auth.lua", 'wrk.headers["Authorization"] = "Bearer %s"\n' % TOKEN)


def post_runs_script():
    return wrk_script("post_runs.lua",
                      'wrk.method = "POST"\nwrk.body = "{}"\n'
                      'wrk.headers["Content-Type"] = "application/json"\n'
                      'wrk.headers["Authorization"] = "Bearer %s"\n' % TOKEN)


class RawClient:
    """One keep-alive connection that sends prepared request bytes, so the instant taken just
    before a request leaves is as close to the wire as Python gets."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def request(self, method, path, body=b""):
        return ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (method, path, self.port, TOKEN, len(body))).encode() + body

    def send(self, raw):
        self.sock.sendall(raw)

    def response_bytes(self):
        """The next response's status and body, as bytes."""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        n = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(rest) < n:
            rest += self.sock.recv(65536)
        self.buf = rest[n:]
        return int(head[9:12]), rest[:n]

    def response(self):
        status, body = self.response_bytes()
        return status, json.loads(body)

    def close(self):
        self.sock.close()


# ---- figures ----

def pct(values, p):
    """The p-th percentile, nearest rank on the sorted values."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def median(xs):
    return pct(xs, 50)


def ts(s):
    """An RFC 3339 instant of the API as microseconds since the epoch."""
    return int(round(datetime.fromisoformat(s).timestamp() * 1e6))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def write_result(wid, **fields):
    """Records one workload's figures in bench/out/results/<wid>.json for bench/report.py."""
    os.makedirs(os.path.join(OUT, "results"), exist_ok=True)
    fields["id"] = wid
    fields["measured"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open(os.path.join(OUT, "results", wid + ".json"), "w") as f:
        json.dump(fields, f, indent=1)
    log("%s: %s" % (wid, json.dumps({k: v for k, v in fields.items()
                                      if k in ("figure", "figures", "unit")})))


def summary(values):
    """median, min, max and the passes of a list of per-pass values."""
    return {"median": median(values), "min": min(values), "max": max(values),
            "passes": [round(v, 3) for v in values]}
