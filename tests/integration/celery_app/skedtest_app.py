"""The Celery app of the celery executor's integration tests (tests/integration/test_celery.py):
the worker side, which sked does not control. Broker and result backend come from the
environment (SKED_TEST_BROKER, SKED_TEST_BACKEND); otherwise Celery's defaults are kept on
purpose (JSON only, no task_track_started, acks when a task starts) so the tests see what a
stock worker does.

sked adds `since` to the arguments of every run and sends the arguments as keyword arguments,
so every task here accepts `since` (most ignore it)."""
import json
import os
import time

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

app = Celery(
    "skedtest_app",
    broker=os.environ.get("SKED_TEST_BROKER", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("SKED_TEST_BACKEND", "redis://127.0.0.1:6379/1"),
)
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_accept_content=["json"],
    result_expires=3600,
)


def _write_pid(pidfile):
    """Writes this process's pid to pidfile (atomically: the test polls for the file)."""
    if pidfile:
        tmp = "%s.%d.tmp" % (pidfile, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, pidfile)


@app.task(name="skedtest_app.add")
def add(x, y, since=None):
    return x + y


@app.task(name="skedtest_app.fail")
def fail(reason="boom", since=None):
    raise ValueError("skedtest failure: %s" % reason)


@app.task(name="skedtest_app.fail_long")
def fail_long(chars, lead="x", char="\u00e9", since=None):
    """Fails with an exception whose message is lead and chars times char (two bytes in UTF-8
    for the default "é"): longer than a run log line or a run's message may hold."""
    raise ValueError(lead + char * int(chars))


@app.task(name="skedtest_app.fail_echo")
def fail_echo(*args, **kwargs):
    """Fails with what it was called with as the exception's message (JSON), so a failed run
    and each of its retries tell how their arguments arrived."""
    raise ValueError(json.dumps({"args": list(args), "kwargs": kwargs}, sort_keys=True))


@app.task(name="skedtest_app.sleepy")
def sleepy(seconds, pidfile=None, since=None):
    """Sleeps; writes the pid of the process running it to pidfile first, so a test can check
    that a stop or a timeout really ends that process."""
    _write_pid(pidfile)
    print("sleepy: sleeping %ss" % seconds)
    time.sleep(float(seconds))
    return {"slept": seconds}


@app.task(name="skedtest_app.stubborn")
def stubborn(seconds, on_soft="ignore", pidfile=None, since=None):
    """Sleeps like sleepy; at its soft time limit (SoftTimeLimitExceeded) it either sleeps on
    ("ignore": only the hard limit ends it) or returns at once ("return")."""
    _write_pid(pidfile)
    end = time.monotonic() + float(seconds)
    try:
        time.sleep(float(seconds))
    except SoftTimeLimitExceeded:
        if on_soft == "return":
            return {"stopped": "at the soft time limit"}
        time.sleep(max(0.0, end - time.monotonic()))
    return {"slept": seconds}


@app.task(name="skedtest_app.progress", bind=True)
def progress(self, steps, step_seconds, since=None):
    """Reports {"progress": {"done": i, "total": steps}} as the custom state PROGRESS after each
    step."""
    for i in range(1, int(steps) + 1):
        time.sleep(float(step_seconds))
        self.update_state(state="PROGRESS", meta={"progress": {"done": i, "total": int(steps)}})
    return {"steps": steps}


@app.task(name="skedtest_app.flaky", bind=True, max_retries=3)
def flaky(self, fails=2, since=None):
    """Fails its first `fails` attempts with Celery's own retry, then returns its attempts."""
    if self.request.retries < fails:
        raise self.retry(exc=RuntimeError("attempt %d failed" % (self.request.retries + 1)),
                         countdown=0.5)
    return {"attempts": self.request.retries + 1}


@app.task(name="skedtest_app.odd")
def odd(kind, since=None):
    """What Python's json writes and strict JSON has not: a float's nan and infinities in the
    result ("floats"), a result nested 150 levels ("deep"), or a NUL and undecodable bytes in an
    exception's message ("bytes")."""
    if kind == "floats":
        return {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}
    if kind == "deep":  # nested 150 levels: past what a run's output may hold
        out = []
        for _ in range(149):
            out = [out]
        return out
    raise ValueError("bad\x00byte " + b"\xff".decode("utf-8", "surrogateescape"))


@app.task(name="skedtest_app.echo")
def echo(**kwargs):
    """Returns its keyword arguments: what sked sent."""
    return kwargs


@app.task(name="skedtest_app.echo_args")
def echo_args(*args, **kwargs):
    """Returns what it was called with, positional and keyword arguments apart."""
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="skedtest_app.update_expired_embargos", ignore_result=True)
def update_expired_embargos():
    """Shaped like InvenioRDM's task of the same name (invenio_rdm_records.services.tasks):
    no arguments at all and ignore_result=True, so the result backend never holds a SUCCESS."""
    print("lifting expired embargoes: none found")
