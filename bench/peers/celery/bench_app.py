"""Celery app of the peer benchmark: a redis broker on loopback, a no-op task, a pickup probe and
a tick task for celery beat.

BENCH_REDIS_PORT: the redis-server's port. BENCH_BACKEND=1: results go to redis (db 1), as
with a result backend in production; otherwise results are ignored. Redis db 2 holds the
benchmark's own bookkeeping (what ran, when), never Celery's data.

Times are time.monotonic(): CLOCK_MONOTONIC, one clock for every process of the machine, so
the driver's enqueue time can be subtracted from the worker's start time.
"""
import os
import time

import redis
from celery import Celery

PORT = int(os.environ["BENCH_REDIS_PORT"])
BACKEND = os.environ.get("BENCH_BACKEND", "0") == "1"

app = Celery(
    "bench_app",
    broker=f"redis://127.0.0.1:{PORT}/0",
    backend=f"redis://127.0.0.1:{PORT}/1" if BACKEND else None,
)
app.conf.update(
    task_ignore_result=not BACKEND,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    beat_schedule={"tick-every-second": {"task": "bench_app.tick", "schedule": 1.0}},
)

_r = None


def bookkeeping():
    global _r
    if _r is None:
        _r = redis.Redis(host="127.0.0.1", port=PORT, db=2)
    return _r


@app.task
def noop():
    """The no-op job; the INCR only lets the driver see that it ran."""
    bookkeeping().incr("done")


@app.task
def probe(t):
    """Pickup probe: ms from enqueue (t, monotonic) to the start of the task."""
    bookkeeping().rpush("lat", repr((time.monotonic() - t) * 1000.0))


@app.task
def tick():
    """Sent by celery beat every second; records when it started."""
    bookkeeping().rpush("ticks", repr(time.monotonic()))
