"""Harness for the celery executor's integration tests: a loopback redis-server, a loopback
rabbitmq-server (for AMQP brokers), real Celery workers (Debian's python3-celery) running the app
in celery_app/, and a tiny Redis client. Standard library only.

    redis = Redis().start()
    worker = Worker(redis, name="w1@skedtest").start()
    ...
    worker.kill()      # SIGKILL to its whole process group
    redis.restart()    # same port, empty data
    worker.stop(); redis.stop()

Every process started here runs in its own process group and is stopped by its id when the test
stops it, and otherwise when the interpreter exits (normally, on an exception or on SIGTERM)."""
import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from skedtest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.join(HERE, "celery_app")
APP = "skedtest_app"
PACKAGES = "redis-server python3-celery python3-redis"
AMQP_PACKAGES = "rabbitmq-server"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"

# -- interpreters and programs ----------------------------------------------------------------

_python = None


def celery_python():
    """A Python that can import celery and redis (the worker's interpreter). Debian's
    /usr/bin/python3 comes first: python3 on PATH may be another installation without them."""
    global _python
    if _python:
        return _python
    tried = []
    for cand in ("/usr/bin/python3", shutil.which("python3"), sys.executable):
        if not cand or cand in tried or not os.access(cand, os.X_OK):
            continue
        tried.append(cand)
        r = subprocess.run([cand, "-c", "import celery, kombu, redis"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            _python = cand
            return cand
    raise RuntimeError("no Python that can import celery, kombu and redis (tried %s); install the "
                       "Debian packages: apt-get install %s" % (", ".join(tried) or "none", PACKAGES))


def require():
    """Fails with a clear message unless redis-server and a Python with Celery are installed."""
    if not shutil.which("redis-server"):
        raise RuntimeError("redis-server is not installed; install the Debian packages: "
                           "apt-get install %s" % PACKAGES)
    return celery_python()


# -- processes --------------------------------------------------------------------------------

_live = []  # Redis and Worker objects not closed yet: closed at exit
_holders = []  # RabbitMQ.holder processes: killed at exit


def _close_all():
    for proc in _holders:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    for obj in list(reversed(_live)):
        try:
            obj._reap()
            obj.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass




def _on_sigterm(signum, frame):
    # unittest turns SystemExit into a test error and goes on; KeyboardInterrupt stops the run,
    # unwinding the with-blocks (sked is stopped), and atexit then closes workers and Redis
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt("SIGTERM")


atexit.register(_close_all)
if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
    # a test runner's timeout sends SIGTERM: stop so that nothing is left running
    signal.signal(signal.SIGTERM, _on_sigterm)


def pid_alive(pid):
    """True while pid is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def group_pids(pgid):
    """Live processes of process group pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # fields: state ppid pgrp ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(d))
    return out


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_group_gone(pgid, timeout):
    deadline = time.time() + timeout
    while group_pids(pgid):
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def read_pidfile(path, timeout=15):
    """The pid a task wrote to path (celery_app's sleepy), waiting for the file to appear."""
    deadline = time.time() + timeout
    while True:
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except FileNotFoundError:
            pass
        if time.time() > deadline:
            raise AssertionError("no pid in %s after %ss" % (path, timeout))
        time.sleep(0.05)


# -- a minimal Redis client (RESP2) -----------------------------------------------------------

class RedisError(Exception):
    pass


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(f) for _ in range(n)]
    raise RedisError("bad reply %r" % line)


def redis_command(port, *args, db=0, timeout=5, password=None):
    """Runs one command on db of the redis-server at 127.0.0.1:port on a fresh connection
    (authenticated with password when given) and returns its reply (bulk strings as bytes; an
    error reply raises RedisError)."""
    cmds = ([("AUTH", password)] if password else []) + ([("SELECT", db)] if db else []) + [args]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"".join(_encode(c) for c in cmds))
        with sock.makefile("rb") as f:
            replies = [_read(f) for _ in cmds]
    for r in replies:
        if isinstance(r, RedisError):
            raise r
    return replies[-1]


# -- redis-server -----------------------------------------------------------------------------

class _Service:
    """What the processes these tests start share: a process group SIGKILLed by _reap(), a
    directory of their own removed at close(), the list of live ones (closed at exit), and
    with-blocks."""

    def _group(self):
        return self.proc.pid

    def _reap(self):
        if self.proc:
            _killpg(self._group(), signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None

    def _forget(self):
        if self in _live:
            _live.remove(self)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def restart(self, down_for=0.0):
        """Stops it, waits down_for seconds, starts it again (a server on the same port)."""
        self.stop()
        time.sleep(down_for)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class Redis(_Service):
    """A redis-server on 127.0.0.1 without persistence, in its own directory. restart() keeps
    the port (and, having no persistence, comes back empty)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = None
        self.log_path = None
        self.proc = None

    def url(self, db=0):
        return "redis://127.0.0.1:%d/%d" % (self.port, db)

    def start(self, timeout=15):
        require()
        if not self.dir:
            self.dir = tempfile.mkdtemp(prefix="skedtest-redis-")
            self.log_path = os.path.join(self.dir, "redis.log")
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", self.dir,
               "--logfile", self.log_path, "--daemonize", "no"]
        if self not in _live:
            _live.append(self)
        deadline = time.time() + timeout
        while True:
            self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.command("PING") == "PONG":
                        return self
                except (OSError, RedisError):
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None or time.time() >= deadline:
                break
            time.sleep(0.2)  # exited, e.g. the port was not free again yet after a restart
        self._reap()
        raise RuntimeError("redis-server did not start on port %d:\n%s" % (self.port, self.log()[-2000:]))

    def stop(self, timeout=10):
        """SIGTERM (SIGKILL after timeout); returns once the process is gone."""
        if self.proc:
            _killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None
        return self


    def close(self):
        self.stop()
        self._forget()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    # commands
    def command(self, *args, db=0, password=None):
        return redis_command(self.port, *args, db=db, password=password)

    def llen(self, key, db=0):
        return self.command("LLEN", key, db=db)

    def messages(self, queue, db=0):
        """The task messages waiting in a Celery queue (the Redis list), oldest first, decoded
        (see decode_message)."""
        return [decode_message(m) for m in reversed(self.command("LRANGE", queue, 0, -1, db=db))]

    def result(self, task_id, db=1):
        """The result backend's record of a task (celery-task-meta-<id>) as a dict, or None."""
        raw = self.command("GET", "celery-task-meta-" + task_id, db=db)
        return None if raw is None else json.loads(raw)


def decode_message(raw):
    """A kombu Redis envelope (what a producer LPUSHes) with its body decoded: returns
    {"headers", "properties", "content_type", "args", "kwargs", "embed", "envelope"}."""
    env = json.loads(raw)
    body = env["body"]
    if env.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, kwargs, embed = json.loads(body)
    return {"headers": env["headers"], "properties": env["properties"],
            "content_type": env.get("content-type"), "args": args, "kwargs": kwargs,
            "embed": embed, "envelope": env}


def task_message(task, task_id, args=(), kwargs=None, queue="celery", body_base64=True):
    """A protocol-2 task message in kombu's Redis envelope, as bytes to LPUSH on the list named
    queue (the layout of docs/celery.md and of the reference's proven add(2, 3) message)."""
    args = list(args)
    kwargs = kwargs or {}
    body = json.dumps([args, kwargs, {"callbacks": None, "errbacks": None, "chain": None,
                                      "chord": None}], separators=(",", ":"))
    props = {"correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
             "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0}
    if body_base64:
        body = base64.b64encode(body.encode()).decode()
        props["body_encoding"] = "base64"
    props["delivery_tag"] = "%s-tag" % task_id
    env = {"body": body, "content-encoding": "utf-8", "content-type": "application/json",
           "headers": {"lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None,
                       "expires": None, "group": None, "group_index": None, "retries": 0,
                       "timelimit": [None, None], "root_id": task_id, "parent_id": None,
                       "argsrepr": json.dumps(args), "kwargsrepr": json.dumps(kwargs),
                       "origin": "skedtest@localhost", "ignore_result": False},
           "properties": props}
    return json.dumps(env, separators=(",", ":")).encode()


# -- rabbitmq-server --------------------------------------------------------------------------

def require_rabbitmq():
    """Fails with a clear message unless rabbitmq-server (and a Python with Celery) is installed."""
    if not os.access(RABBITMQ_SERVER, os.X_OK):
        raise RuntimeError("rabbitmq-server is not installed; install the Debian packages: "
                           "apt-get install %s %s" % (AMQP_PACKAGES, PACKAGES))
    return require()


def make_tls_files(d):
    """A certificate authority (ca.pem), a server certificate for the DNS name localhost
    (server.pem, server.key) and a client certificate (client.pem, client.key) it signed, made
    with the openssl command in folder d."""
    os.makedirs(d)

    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=sked test CA")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName = DNS:localhost\n")
    for name, cn in (("server", "localhost"), ("client", "sked")):
        openssl("req", *key, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                *(["-extfile", "server.ext"] if name == "server" else []))


class RabbitMQ(_Service):
    """A rabbitmq-server on 127.0.0.1 run as a plain process in its own directory: its own node
    name, AMQP port, distribution port and epmd (ERL_EPMD_PORT), no plugins, user guest. stop()
    keeps the data (durable queues and persistent messages come back with start()); close()
    stops it, its epmd included, and removes the directory."""

    def __init__(self, port=None, tls=False, max_message_size=None):
        self.port = port or free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.tls_port = free_port() if tls else None
        # the largest message body the broker takes (a larger one is refused: it closes the
        # publisher's channel with 406 PRECONDITION_FAILED)
        self.max_message_size = max_message_size
        self.dir = None
        self.proc = None

    def url(self, vhost="/"):
        return "amqp://guest:guest@127.0.0.1:%d/%s" % (self.port, vhost)

    def tls_url(self, host="localhost", vhost="/", **options):
        """The amqps:// URL of the TLS listener (tls=True), with URL options such as
        ssl_ca_certs=self.tls_file("ca.pem")."""
        q = "&".join("%s=%s" % kv for kv in options.items())
        return "amqps://guest:guest@%s:%d/%s%s" % (host, self.tls_port, vhost, "?" + q if q else "")

    def tls_file(self, name):
        """ca.pem, client.pem or client.key (tls=True)."""
        return os.path.join(self.dir, "tls", name)

    def env(self):
        d = self.dir
        env = dict(os.environ)
        env.update({
            "HOME": os.path.join(d, "home"),
            "RABBITMQ_NODENAME": "sked-test-%d@localhost" % self.port,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": os.path.join(d, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(d, "log"),
            "RABBITMQ_LOGS": os.path.join(d, "log", "rabbit.log"),
            "RABBITMQ_CONFIG_FILE": os.path.join(d, "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(d, "enabled_plugins"),
            "RABBITMQ_PID_FILE": os.path.join(d, "rabbit.pid"),
            "RABBITMQ_SERVER_START_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def start(self, timeout=60):
        """Starts the server and returns once it accepts AMQP connections."""
        require_rabbitmq()
        if not self.dir:
            self.dir = tempfile.mkdtemp(prefix="skedtest-rabbitmq-")
            for sub in ("home", "mnesia", "log"):
                os.makedirs(os.path.join(self.dir, sub))
            with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
                f.write("listeners.tcp.1 = 127.0.0.1:%d\n" % self.port)
                if self.max_message_size:
                    f.write("max_message_size = %d\n" % self.max_message_size)
                if self.tls_port:
                    # TLS beside plain TCP: a certificate for "localhost" (its DNS name only)
                    # from a CA of the test's own, and a client certificate required
                    tls = os.path.join(self.dir, "tls")
                    make_tls_files(tls)
                    f.write("listeners.ssl.1 = 127.0.0.1:%d\n"
                            "ssl_options.cacertfile = %s/ca.pem\n"
                            "ssl_options.certfile = %s/server.pem\n"
                            "ssl_options.keyfile = %s/server.key\n"
                            "ssl_options.verify = verify_peer\n"
                            "ssl_options.fail_if_no_peer_cert = true\n"
                            % (self.tls_port, tls, tls, tls))
            with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
                f.write("[].\n")
        if self not in _live:
            _live.append(self)
        with open(os.path.join(self.dir, "server.out"), "ab") as out:
            self.proc = subprocess.Popen([RABBITMQ_SERVER], cwd=self.dir, env=self.env(),
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            if "Server startup complete" in self.log():
                try:
                    socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.1)
        text = self.log()
        self._reap()
        raise RuntimeError("rabbitmq-server did not start on port %d:\n%s" % (self.port, text[-3000:]))

    def stop(self, timeout=30):
        """SIGTERM to its process group (SIGKILL after timeout); returns once it is gone."""
        if self.proc:
            pgid = self.proc.pid
            _killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _killpg(pgid, signal.SIGKILL)
                self.proc.wait()
            if not _wait_group_gone(pgid, timeout):
                _killpg(pgid, signal.SIGKILL)
                _wait_group_gone(pgid, 5)
            self.proc = None
        return self


    def _kill_epmd(self):
        # the epmd the node started daemonizes out of its process group: told to go through
        # its own port (it only goes once no node is registered with it)
        if self.dir:
            subprocess.run(["epmd", "-kill"], env=self.env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)

    def close(self):
        self.stop()
        try:
            self._kill_epmd()
        except (OSError, subprocess.SubprocessError):
            pass
        self._forget()

    def log(self):
        text = ""
        for name in ("server.out", os.path.join("log", "rabbit.log")):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    text += f.read().decode(errors="replace")
            except (OSError, TypeError):
                pass
        return text

    def ctl(self, *args, timeout=60):
        """Runs rabbitmqctl with args against this server (add_user, set_permissions, ...);
        returns its output. Raises on a failure."""
        r = subprocess.run([os.path.join(os.path.dirname(RABBITMQ_SERVER), "rabbitmqctl"),
                            "-n", self.env()["RABBITMQ_NODENAME"]] + list(args), env=self.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("rabbitmqctl %s failed: %s" % (" ".join(args),
                                                             r.stdout.decode(errors="replace")))
        return r.stdout.decode(errors="replace")

    def client(self, code, timeout=20):
        """Runs code (Python) with `conn`, an open py-amqp connection to the server, and `ch`,
        a channel of it; returns what it prints (JSON is handy). Raises on a failure."""
        prog = ("import amqp, json, sys\n"
                "conn = amqp.Connection('127.0.0.1:%d', userid='guest', password='guest', "
                "virtual_host='/')\n"
                "conn.connect()\n"
                "ch = conn.channel()\n" % self.port) + code + "\nconn.close()\n"
        r = subprocess.run([celery_python(), "-c", prog], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("amqp client failed: %s" % r.stderr.decode(errors="replace")[-2000:])
        return r.stdout.decode()

    def holder(self, queue):
        """A consumer of queue that is no worker: it takes one message (prefetch 1) and holds
        it unacknowledged, so the next ones stay ready in the queue while the queue has a
        consumer. Returns the process (in its own process group; kill it to let go, and the
        broker puts the held message back), once it consumes."""
        prog = ("import amqp, sys\n"
                "conn = amqp.Connection('127.0.0.1:%d', userid='guest', password='guest', "
                "virtual_host='/')\n"
                "conn.connect()\n"
                "ch = conn.channel()\n"
                "ch.queue_declare(%r, durable=True, auto_delete=False)\n"
                "ch.basic_qos(0, 1, False)\n"
                "ch.basic_consume(%r, callback=lambda m: None, no_ack=False)\n"
                "print('consuming', flush=True)\n"
                "while True:\n"
                "    conn.drain_events()\n" % (self.port, queue, queue))
        proc = subprocess.Popen([celery_python(), "-c", prog], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        _holders.append(proc)
        if proc.stdout.readline().strip() != b"consuming":
            _killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError("the consumer of %s did not start" % queue)
        return proc

    def queue(self, name):
        """(messages, consumers) of queue name, or None when there is no such queue."""
        out = self.client(
            "try:\n"
            "    q = ch.queue_declare(%r, passive=True)\n"
            "    print(json.dumps([q.message_count, q.consumer_count]))\n"
            "except amqp.exceptions.NotFound:\n"
            "    print('null')\n" % name)
        v = json.loads(out)
        return tuple(v) if v else None


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 to a server's port that lets every connection live cut_after
    seconds and then closes it: a broker connection that opens and breaks again and again.
    accepted counts the connections it took. close() stops it."""

    def __init__(self, port, cut_after=0.5):
        self.target = port
        self.cut_after = cut_after
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            pair = (client, upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
            threading.Timer(self.cut_after, self._cut, args=(pair,)).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass

    @staticmethod
    def _cut(pair):
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.closed = True
        self.sock.close()


# -- Celery workers ---------------------------------------------------------------------------

class Worker(_Service):
    """A Celery worker of celery_app/skedtest_app.py on a Redis broker (db 0) and result backend
    (db 1): prefork, `-c concurrency`, named name, consuming queues, with task events (-E) unless
    events=False. It runs in its own process group; its log (stdout and stderr, every start)
    goes to log_path."""

    def __init__(self, redis, name="w1@skedtest", queues=("celery",), events=True, concurrency=2,
                 broker_db=0, backend_db=1, extra_args=(), broker=None):
        self.redis = redis
        self.name = name
        self.queues = list(queues)
        self.events = events
        self.concurrency = concurrency
        # another broker (a RabbitMQ's amqp:// URL); the results stay on redis
        self.broker = broker or redis.url(broker_db)
        self.backend = redis.url(backend_db)
        self.extra_args = list(extra_args)
        self.dir = None
        self.log_path = None
        self.proc = None

    def command(self):
        cmd = [celery_python(), "-m", "celery", "-A", APP, "worker", "-c", str(self.concurrency),
               "-n", self.name, "-Q", ",".join(self.queues), "--without-gossip",
               "--without-mingle", "-l", "info"]
        if self.events:
            cmd.append("-E")
        return cmd + self.extra_args

    def start(self, timeout=60):
        """Starts the worker and returns once it logs that it is ready (consuming)."""
        if not self.dir:
            self.dir = tempfile.mkdtemp(prefix="skedtest-worker-")
            self.log_path = os.path.join(self.dir, "worker.log")
        env = dict(os.environ)
        env.update({"PYTHONPATH": APP_DIR, "PYTHONDONTWRITEBYTECODE": "1",
                    "SKED_TEST_BROKER": self.broker, "SKED_TEST_BACKEND": self.backend})
        for k in ("PYTHONHOME", "PYTHONSTARTUP"):
            env.pop(k, None)
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        if self not in _live:
            _live.append(self)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), cwd=self.dir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if ("%s ready." % self.name) in self.log()[offset:]:
                return self
            time.sleep(0.1)
        text = self.log()[offset:]
        self._reap()
        raise RuntimeError("celery worker %s did not start:\n%s" % (self.name, text[-3000:]))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def revoked(self):
        """The task ids in the worker's revoked set (celery inspect revoked)."""
        env = dict(os.environ)
        env.update({"PYTHONPATH": APP_DIR, "PYTHONDONTWRITEBYTECODE": "1",
                    "SKED_TEST_BROKER": self.broker, "SKED_TEST_BACKEND": self.backend})
        p = subprocess.run([celery_python(), "-m", "celery", "-A", APP, "inspect", "revoked",
                            "-d", self.name, "-j", "-t", "5"], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("celery inspect revoked: %s" % (p.stdout + p.stderr)[-2000:])
        return json.loads(p.stdout).get(self.name, [])

    def pids(self):
        """The live processes of the worker: the main process and its pool children."""
        return group_pids(self.pgid) if self.proc else []

    def kill(self):
        """SIGKILL to the worker's whole process group (main process and pool children): a
        crashed host, as far as the broker can tell."""
        if self.proc:
            _killpg(self.pgid, signal.SIGKILL)
            self.proc.wait()
            _wait_group_gone(self.pgid, 10)
            self.proc = None
        return self

    def stop(self, timeout=15):
        """Warm shutdown (SIGTERM to the main process: it finishes running tasks and says
        goodbye); SIGKILL to the group after timeout, and to any process left in it."""
        if self.proc:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            self.kill()
        return self


    def close(self):
        self.kill()
        self._forget()

    def _group(self):
        return self.pgid

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""


# -- sked task files --------------------------------------------------------------------------

def celery_task(id, task, redis, queue=None, positional=None, accept_timeout=None,
                stop_grace=None, broker_db=0, backend_db=1, broker=None, **fields):
    """A task file whose job type runs the Celery task `task` through redis (broker db 0,
    result backend db 1 by default; broker: another broker's URL, such as a RabbitMQ's). Keys
    of the "celery" object that are not given are left out, so their defaults apply; other
    keyword arguments are top-level keys (arguments, default_queue, timeout, ...)."""
    spec = {"broker": broker or redis.url(broker_db), "result_backend": redis.url(backend_db),
            "task": task}
    if queue is not None:
        spec["queue"] = queue
    if positional is not None:
        spec["positional"] = list(positional)
    if accept_timeout is not None:
        spec["accept_timeout"] = accept_timeout
    if stop_grace is not None:
        spec["stop_grace"] = stop_grace
    doc = {"id": id, "title": fields.pop("title", id), "celery": spec}
    doc.update(fields)
    return doc
