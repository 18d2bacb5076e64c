"""gunicorn settings for bench/run_labeling_bench.sh with BENCH_TRACE=1: log every slow garbage collection.

Each worker prints `gc gen=<n> pid=<pid> at=<unix time> ms=<pause>` to stderr (the
bench's gunicorn log) for every collection over 5 ms, so slow requests can be
matched against the pauses (`python bench/labeling_load.py --json` keeps each slow
request's start time).
"""

import gc
import os
import sys
import time

SLOW_MS = 5


def post_fork(server, worker):
    started = {}

    def report(phase, info):
        if phase == "start":
            started["at"] = time.perf_counter()
            return
        ms = (time.perf_counter() - started.pop("at", time.perf_counter())) * 1000
        if ms >= SLOW_MS:
            print(f"gc gen={info['generation']} pid={os.getpid()} at={time.time():.3f} ms={ms:.1f}", file=sys.stderr)

    gc.callbacks.append(report)
