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
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "bench"))
from labeling_load import Recorder, labeler, percentile  # the labeling load's own loop

FLOOD_USERNAME = "bench-labeler-0"  # an existing user: the hasher runs for unknown ones too, as Django does
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commit_of(tree):
    git = ["git", "rev-parse", "--short", "HEAD"]
    return subprocess.run(git, cwd=tree, capture_output=True, text=True, check=False).stdout.strip()


def prepare(tree, env, *, prompts, labelers, tokens_file):
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=tree, env=env, check=True)
    subprocess.run(
        [PYTHON, "bench/make_bench_project.py", "--slug", "bench", "--prompts", str(prompts),
         "--labelers", str(labelers), "--overlap", "2", "--tokens-file", str(tokens_file)],
        cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return [line.strip() for line in tokens_file.read_text().splitlines() if line.strip()]


def start_server(tree, env, port, log_path):
    log = open(log_path, "w")  # noqa: SIM115  (gunicorn writes to it until it stops)
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--preload", "--log-level", "warning"],
        cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.terminate()
            raise SystemExit(f"gunicorn did not answer; see {log_path}")
        time.sleep(0.5)


def flooder(*, port, deadline, stats, lock):
    """One connection posting wrong passwords back to back, with a CSRF token as a browser has."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = CSRF_INPUT.search(page.read()).group(1).decode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    while time.monotonic() < deadline:
        body = urlencode({"csrfmiddlewaretoken": token, "username": FLOOD_USERNAME, "password": uuid.uuid4().hex})
        try:
            conn.request("POST", "/accounts/login/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            status = type(error).__name__
        with lock:
            stats[status] += 1
    conn.close()


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
    recorder, run_id, flood = Recorder(), uuid.uuid4().hex[:12], Counter()
    load_start = os.getloadavg()
    started = time.monotonic()
    deadline = started + duration
    flood_results, flooding = None, None
    if flood_connections:
        context = multiprocessing.get_context("fork")  # forked before any thread of this process starts
        flood_results = context.Queue()
        flooding = context.Process(target=flood_process, kwargs={"port": port, "deadline": deadline,
                                   "connections": flood_connections, "results": flood_results})  # fmt: skip
        flooding.start()
    threads = [
        threading.Thread(
            target=labeler,
            kwargs={"host": "127.0.0.1", "port": port, "timeout": 30.0, "project": "bench", "token": token,
                    "think": think, "deadline": deadline, "run_id": run_id, "recorder": recorder},
            daemon=True,
        )
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 120)
    if flooding:
        flood.update(flood_results.get(timeout=120))
        flooding.join()
    elapsed = time.monotonic() - started
    row = {"flood_connections": flood_connections, "seconds": round(elapsed, 1),
           "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    for endpoint in ("next", "submit"):
        values = sorted(recorder.latencies.get(endpoint, []))
        row[endpoint] = {"count": len(values), "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                         "p95_ms": round(percentile(values, 0.95) * 1000, 1)}  # fmt: skip
    row["labeling_statuses"] = {f"{e} {s}": n for (e, s), n in sorted(recorder.statuses.items(), key=str)}
    row["flood_statuses"] = {str(s): n for s, n in sorted(flood.items(), key=str)}
    row["flood_per_s"] = round(sum(flood.values()) / elapsed, 1)
    return row


def measure(name, tree, args):
    data_dir = Path(tempfile.mkdtemp(prefix=f"arbiter-flood-{name}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"ARBITER_DATA_DIR": str(data_dir), "SECRET_KEY": secrets.token_urlsafe(32), "HF_HUB_OFFLINE": "1",
                "DJANGO_SETTINGS_MODULE": "annotator.settings", "ALLOWED_HOSTS": "127.0.0.1,localhost"})  # fmt: skip
    if args.smoke:  # a lock within the smoke's few seconds of flood
        env["ARBITER_LOGIN_FAILURES_PER_USERNAME"] = "2"
    tokens = prepare(tree, env, prompts=args.prompts, labelers=args.labelers, tokens_file=data_dir / "tokens.txt")
    port = free_port()
    server = start_server(tree, env, port, data_dir / "gunicorn.log")
    try:
        # Warm-up: each worker's first requests load the URLconf and templates.
        phase(port=port, tokens=tokens[:4], think=(0.0, 0.0), duration=args.warmup, flood_connections=0)
        rows = {}
        for label, connections in (("quiet", 0), ("flood", args.flood_connections)):
            rows[label] = phase(port=port, tokens=tokens, think=args.think, duration=args.duration,
                                flood_connections=connections)  # fmt: skip
            print(f"{name:<6} {label:<5} " + summary_line(rows[label]), flush=True)
    finally:
        server.terminate()
        server.wait(30)
    return {"tree": name, "commit": commit_of(tree), **rows}


def summary_line(row):
    cells = [f"{e} p50 {row[e]['p50_ms']:.0f} ms p95 {row[e]['p95_ms']:.0f} ms (n={row[e]['count']})" for e in ("next", "submit")]
    flood = f"flood {row['flood_per_s']} req/s {row['flood_statuses']}" if row["flood_connections"] else "no flood"
    return f"{'; '.join(cells)}; {flood}; load {row['load_start'][0]} -> {row['load_end'][0]}"


def worktree_at(ref):
    path = Path(tempfile.mkdtemp(prefix="arbiter-before-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True, capture_output=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--think", default="1-3", help="seconds a labeler reads before answering, e.g. 1-3")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase (quiet, flood)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--flood-connections", type=int, default=4, help="concurrent connections of the flooding client")
    parser.add_argument("--prompts", type=int, default=3000)
    parser.add_argument("--before", metavar="REF", help="also measure a git worktree of this commit, first")
    parser.add_argument("--smoke", action="store_true", help="3 labelers, 3 s phases, 1 flood connection, lock after 2")
    args = parser.parse_args(argv)
    low, _, high = args.think.partition("-")
    args.think = (float(low), float(high or low))
    if args.smoke:
        args.labelers, args.think, args.duration, args.warmup = 3, (0.1, 0.3), 3.0, 1.0
        args.flood_connections, args.prompts = 1, 60

    results = []
    if args.before:
        tree = worktree_at(args.before)
        try:
            results.append(measure("before", tree, args))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    results.append(measure("after" if args.before else "this", ROOT, args))
    summary = {"date": datetime.date.today().isoformat(), "labelers": args.labelers, "think": args.think,
               "seconds_per_phase": args.duration, "flood_connections": args.flood_connections, "results": results}  # fmt: skip
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
