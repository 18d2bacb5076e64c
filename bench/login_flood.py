"""Login flood benchmark: labeling latency while one client floods the login page with wrong passwords.

Issue 19 found that one client posting wrong passwords took 50 labelers' next/submit from p50
18 ms to p50 6 s: every attempt ran the password hasher, and the web workers spent their CPU on
it. This starts its own server (gunicorn as in the Procfile: 2 workers x 4 threads, --preload)
on loopback with a fresh embedded data dir (SQLite, the throttle's file cache), makes a project
with bench/make_bench_project.py, and runs N simulated labelers (bench/labeling_load.py's
labeler loop, think 1-3 s) twice: quiet, then while --flood-connections connections from one
address post the login form with wrong passwords as fast as they are answered. It prints the
labelers' p50/p95 for next and submit in each phase, and what the flood got (statuses, req/s).

    python bench/login_flood.py                      # this tree
    python bench/login_flood.py --before 887599b     # and first a git worktree of that commit
    python bench/login_flood.py --smoke              # 3 labelers, 3 s phases, a lock after 2 failures (a test runs this)

The last line printed is a JSON summary with the date, commits and load averages.
"""

import argparse
import datetime
import http.client
import json
import multiprocessing
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # the gunicorn stack and labelers every labeling benchmark uses

FLOOD_USERNAME = "bench-labeler-0"  # an existing user: the hasher runs for unknown ones too, as Django does
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
WARMUP_LABELERS = 4


def flooder(*, port, deadline, stats, lock):
    """One connection posting wrong passwords back to back, with a CSRF token as a browser has."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = CSRF_INPUT.search(page.read()).group(1).decode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    stack.post_until(conn, path="/accounts/login/", headers=headers, deadline=deadline, stats=stats, lock=lock,
                     body=lambda: urlencode({"csrfmiddlewaretoken": token, "username": FLOOD_USERNAME,
                                             "password": uuid.uuid4().hex}))  # fmt: skip


def flood_process(*, port, deadline, connections, results):
    """The flooding client: its own process, so its threads do not take the labelers' GIL."""
    stats, lock = Counter(), threading.Lock()
    threads = [
        threading.Thread(target=flooder, kwargs={"port": port, "deadline": deadline, "stats": stats, "lock": lock})
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(dict(stats))


def phase(*, port, tokens, think, duration, flood_connections):
    """Labelers for `duration` seconds, with `flood_connections` flooders beside them (0: quiet)."""
    deadline = time.monotonic() + duration
    flood, flood_results, flooding = Counter(), None, None
    if flood_connections:
        context = multiprocessing.get_context("fork")  # forked before any thread of this process starts
        flood_results = context.Queue()
        flooding = context.Process(target=flood_process, kwargs={"port": port, "deadline": deadline,
                                   "connections": flood_connections, "results": flood_results})  # fmt: skip
        flooding.start()
    row = stack.labeling_phase(port=port, tokens=tokens, think=think, deadline=deadline, timeout=30.0)
    if flooding:
        flood.update(flood_results.get(timeout=120))
        flooding.join()
    row = {"flood_connections": flood_connections, **row}
    row["flood_statuses"] = {str(s): n for s, n in sorted(flood.items(), key=str)}
    row["flood_per_s"] = round(sum(flood.values()) / row["seconds"], 1)
    return row


def measure(name, tree, args):
    data_dir = Path(tempfile.mkdtemp(prefix=f"arbiter-flood-{name}-"))
    # In the smoke, a lock within its few seconds of flood.
    env = stack.bench_env(data_dir, **({"ARBITER_LOGIN_FAILURES_PER_USERNAME": "2"} if args.smoke else {}))
    phases = [(WARMUP_LABELERS, stack.WARMUP_THINK, args.warmup), *[(args.labelers, args.think, args.duration)] * 2]
    tokens = stack.make_project(tree, env, prompts=max(args.prompts, stack.prompts_for(phases)),
                                labelers=args.labelers, tokens_file=data_dir / "tokens.txt")  # fmt: skip
    server, port = stack.start_server(tree, env, data_dir / "gunicorn.log")
    try:
        stack.warm_up(port=port, tokens=tokens[:WARMUP_LABELERS], seconds=args.warmup)
        rows = {}
        for label, connections in (("quiet", 0), ("flood", args.flood_connections)):
            rows[label] = phase(port=port, tokens=tokens, think=args.think, duration=args.duration,
                                flood_connections=connections)  # fmt: skip
            print(f"{name:<6} {label:<5} " + summary_line(rows[label]), flush=True)
    finally:
        stack.stop_server(server)
    return {"tree": name, "commit": stack.commit_of(tree), **rows}


def summary_line(row):
    cells = [f"{e} p50 {row[e]['p50_ms']:.0f} ms p95 {row[e]['p95_ms']:.0f} ms (n={row[e]['count']})" for e in ("next", "submit")]
    flood = f"flood {row['flood_per_s']} req/s {row['flood_statuses']}" if row["flood_connections"] else "no flood"
    return f"{'; '.join(cells)}; {flood}; load {row['load_start'][0]} -> {row['load_end'][0]}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--think", default="1-3", help="seconds a labeler reads before answering, e.g. 1-3")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase (quiet, flood)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--flood-connections", type=int, default=4, help="concurrent connections of the flooding client")
    parser.add_argument("--prompts", type=int, default=3000, help="at least; more if the labelers could judge more")
    parser.add_argument("--before", metavar="REF", help="also measure a git worktree of this commit, first")
    parser.add_argument("--smoke", action="store_true", help="3 labelers, 3 s phases, 1 flood connection, lock after 2")
    args = parser.parse_args(argv)
    low, _, high = args.think.partition("-")
    args.think = (float(low), float(high or low))
    if args.smoke:
        args.labelers, args.think, args.duration, args.warmup = 3, (0.1, 0.3), 3.0, 1.0
        args.flood_connections, args.prompts = 1, 0  # 0: the prompts the phases need

    results = []
    if args.before:
        with stack.worktree_at(args.before) as tree:
            results.append(measure("before", tree, args))
    results.append(measure("after" if args.before else "this", stack.ROOT, args))
    summary = {"date": datetime.date.today().isoformat(), "labelers": args.labelers, "think": args.think,
               "seconds_per_phase": args.duration, "flood_connections": args.flood_connections, "results": results}  # fmt: skip
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
