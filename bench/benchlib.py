"""Shared helpers of the benchmarks: start a release build of sked, talk to it, percentiles."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("SKED_BIN", os.path.join(ROOT, "build", "release", "sked"))
TOKEN = "bench-token-0123456789abcdef"


class Server:
    def __init__(self, tasks, args=()):
        self.tmp = tempfile.mkdtemp(prefix="sked-bench-")
        tdir = os.path.join(self.tmp, "tasks.d")
        os.makedirs(tdir)
        for name, doc in tasks.items():
            with open(os.path.join(tdir, name), "w") as f:
                json.dump(doc, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKED_")}
        env["SKED_ADMIN_TOKEN"] = TOKEN
        self.proc = subprocess.Popen([BIN, "serve", "--db", os.path.join(self.tmp, "sked.db"),
                                      "--listen", "127.0.0.1:0", "--tasks", tdir,
                                      "--log-level", "warn"] + list(args),
                                     stderr=subprocess.PIPE, env=env)
        for line in self.proc.stderr:
            m = re.match(rb"sked: listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise RuntimeError("sked did not start")
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def call(self, method, path, body=None):
        h = {"Authorization": "Bearer " + TOKEN}
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        out = r.read()
        return r.status, (json.loads(out) if out else None)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def ts(s):
    from datetime import datetime
    return datetime.fromisoformat(s).timestamp()


def median(xs):
    return pct(xs, 50)


def log(*a):
    print(*a, file=sys.stderr, flush=True)
