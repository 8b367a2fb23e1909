"""Client side of the Celery peer benchmark, run while a worker (and, for ticks, beat) runs.

usage: python3 drive.py throughput N   N noop.delay() one by one; end to end = N / (first
                                       delay() -> last task done)
       python3 drive.py latency K      K probes 100 ms apart on the idle worker: enqueue -> start
       python3 drive.py ticks          intervals between the starts of beat's 1 s ticks
Percentiles are nearest rank, as bench/benchlib.py's pct().
"""
import sys
import time

import bench_app

r = bench_app.bookkeeping()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))]


def wait_done(n, limit):
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        if int(r.get("done") or 0) >= n:
            return True
        time.sleep(0.002)
    return False


def throughput(n):
    # one task through first, so that the pool is up and connected before the clock starts
    r.delete("done")
    bench_app.noop.delay()
    if not wait_done(1, 60):
        sys.exit("the worker did not run the warm-up task")
    r.delete("done")
    t0 = time.monotonic()
    for _ in range(n):
        bench_app.noop.delay()
    t1 = time.monotonic()
    if not wait_done(n, 120):
        sys.exit(f"only {r.get('done')} of {n} tasks ran")
    t2 = time.monotonic()
    print(f"celery N={n} enqueue_per_s={n / (t1 - t0):.0f} end_to_end_per_s={n / (t2 - t0):.0f}")


def latency(k):
    r.delete("lat")
    bench_app.probe.delay(time.monotonic())  # warm-up, not counted
    t_end = time.monotonic() + 30
    while r.llen("lat") < 1 and time.monotonic() < t_end:
        time.sleep(0.01)
    r.delete("lat")
    time.sleep(0.2)
    for _ in range(k):
        bench_app.probe.delay(time.monotonic())
        time.sleep(0.1)
    t_end = time.monotonic() + 30
    while r.llen("lat") < k and time.monotonic() < t_end:
        time.sleep(0.01)
    lat = [float(x) for x in r.lrange("lat", 0, -1)]
    if len(lat) < k:
        sys.exit(f"only {len(lat)} of {k} probes ran")
    print(f"celery-latency K={k} pickup_ms p50={pct(lat, 50):.3f} p95={pct(lat, 95):.3f} "
          f"max={max(lat):.3f}")


def ticks():
    ts = [float(x) for x in r.lrange("ticks", 0, -1)]
    ts = ts[1:]  # the first tick is sent when beat starts, not on the 1 s grid
    if len(ts) < 3:
        sys.exit(f"only {len(ts)} ticks")
    err = [abs(b - a - 1.0) * 1000 for a, b in zip(ts, ts[1:])]
    drift = (ts[-1] - ts[0] - (len(ts) - 1) * 1.0) * 1000
    print(f"celery-beat ticks={len(ts)} ms: interval_err_p50={pct(err, 50):.3f} "
          f"interval_err_p95={pct(err, 95):.3f} interval_err_max={max(err):.3f} drift_total={drift:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "throughput":
        throughput(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "latency":
        latency(int(sys.argv[2]))
    elif len(sys.argv) == 2 and sys.argv[1] == "ticks":
        ticks()
    else:
        sys.exit(__doc__)
