"""Does one slow scoring request stall a project's labeling? Labeling `next` latency with and
without one get_reward batch in flight, under gunicorn as the Procfile starts it (2 workers x 4
threads, --preload, gunicorn.conf.py read from the repo root).

Sets up the project of get_reward_memory.py (trained v1) with prompts to label, starts gunicorn,
then times a labeler's next + submit loop for --seconds quiet, and for --seconds while another
client posts get_reward batches of --queries back to back (one in flight at a time).

    python bench/slow_request_stall.py                  # packaged MiniLM, 1,024 queries of 1,000 chars, 20 s phases
    python bench/slow_request_stall.py --smoke          # tiny model, 3 s phases (a test runs this)

Prints both phases and a JSON summary with the date, commit and load average.
"""

import argparse
import datetime
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # the gunicorn stack and labelers every labeling benchmark uses
from get_reward_memory import queries, setup
from make_bench_project import prompts_add

CLOSED_LOOP = (0.0, 0.0)  # the labeler sends its next request as soon as the last is answered


def add_prompts(slug, n):
    """After setup(): Django is set up in this process, on the bench's own SQLite."""
    from django.db import connections

    from annotator.models import Project

    prompts_add(Project.objects.get(slug=slug), n)
    connections.close_all()


def call(conn, method, path, token, body=None):
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def label_for(port, slug, token, seconds):
    """One labeler's next + submit in a closed loop; the next latencies in ms."""
    recorder = stack.run_labelers(port=port, tokens=[token], think=CLOSED_LOOP, deadline=time.monotonic() + seconds,
                                  timeout=120.0, project=slug)  # fmt: skip
    unexpected = {f"{e} {s}": n for (e, s), n in recorder.statuses.items() if (e, s) not in (("next", 200), ("submit", 201))}
    if unexpected:
        raise SystemExit(f"labeling answered {unexpected}")
    return [seconds * 1000 for seconds in recorder.latencies.get("next", [])]


def score_until(port, slug, token, body, stop, durations):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while not stop.is_set():
        started = time.monotonic()
        status, answer = call(conn, "POST", f"/api/v1/projects/{slug}/get_reward?extra_logs=0", token, body)
        if status != 200:
            raise SystemExit(f"get_reward answered {status}: {answer}")
        durations.append(time.monotonic() - started)


def figures(latencies):
    ordered = sorted(latencies)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1), "max_ms": round(ordered[-1], 1)}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1024, help="queries per get_reward batch")
    parser.add_argument("--reply-chars", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--smoke", action="store_true", help="the tests' tiny model, 16 short queries, 3 s phases")
    args = parser.parse_args(argv)
    if args.smoke:
        args.queries, args.reply_chars, args.seconds = 16, 40, 3

    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-stall-"))
    env = stack.bench_env(data_dir, ARBITER_SCORER_REFRESH_SECONDS="3600", ARBITER_MODEL_ROOTS="")
    slug, token = setup(env, data_dir, smoke=args.smoke)
    warmup = min(5, args.seconds)
    # One labeler in a closed loop through the warm-up and both phases.
    add_prompts(slug, stack.prompts_for([(1, CLOSED_LOOP, warmup + 2 * args.seconds)]))
    server, port = stack.start_server(stack.ROOT, env, data_dir / "gunicorn.log")
    try:
        body = queries(args.queries, args.reply_chars)
        # Both workers load the model before timing (the warmer loads it at start; one call each way).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for _ in range(4):
            call(conn, "POST", f"/api/v1/projects/{slug}/get_reward?extra_logs=0", token, queries(1, 40))
        label_for(port, slug, token, warmup)  # warm-up: both workers' first requests are slower
        quiet = label_for(port, slug, token, args.seconds)
        stop, durations = threading.Event(), []
        scorer = threading.Thread(target=score_until, args=(port, slug, token, body, stop, durations))
        scorer.start()
        time.sleep(0.5)  # the batch is in flight
        loaded = label_for(port, slug, token, args.seconds)
        stop.set()
        scorer.join()
    finally:
        stack.stop_server(server)
    summary = {"date": datetime.date.today().isoformat(), "commit": stack.commit_of(stack.ROOT), "load_average": os.getloadavg(),
               "cores": os.cpu_count(), "queries": args.queries, "reply_chars": args.reply_chars,
               "quiet": figures(quiet), "with_get_reward": figures(loaded),
               "get_reward_seconds": [round(d, 2) for d in durations]}  # fmt: skip
    print(f"next, quiet:           {summary['quiet']}")
    print(f"next, with get_reward: {summary['with_get_reward']} (batches took {summary['get_reward_seconds']} s)")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
