"""The server the labeling benchmarks run against, and the labelers they time.

A gunicorn stack as the Procfile starts it (2 workers x 4 threads, --preload, gunicorn.conf.py
read from the tree) on loopback, in a fresh embedded data dir (SQLite, the local cache), and a
labeling phase: bench/labeling_load.py's labelers looping next -> submit until a deadline, with
their p50/p95 per endpoint and every status they got, beside whatever load the caller posts
(post_until). Used by login_flood.py, render_bench.py and slow_request_stall.py.
"""

import contextlib
import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "bench"))
from labeling_load import SUBMIT_ATTEMPTS, Recorder, labeler, percentile

# No labeler judges faster than this, thinking included: a next and a submit through gunicorn,
# DRF's token check and an SQLite commit. The quickest pair seen on the 2-core bench machine took
# about 20 ms; 2 ms leaves ten times that for a faster machine. Projects are sized with it, so
# that `next` never runs out of work (204) within a run however fast the machine is.
FASTEST_JUDGMENT_S = 0.002
# Each worker's first requests load the URLconf and templates, so a few labelers warm the server
# up before anything is timed; a short think keeps them from using up the measured phases' queue.
WARMUP_THINK = (0.05, 0.05)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def commit_of(tree):
    git = ["git", "rev-parse", "--short", "HEAD"]
    return subprocess.run(git, cwd=tree, capture_output=True, text=True, check=False).stdout.strip()


@contextlib.contextmanager
def worktree_at(ref):
    """A detached git worktree of `ref` for the block, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="arbiter-before-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def bench_env(data_dir, **settings):
    """This environment on a fresh embedded data dir: no shared PostgreSQL or Redis, a new secret."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"ARBITER_DATA_DIR": str(data_dir), "SECRET_KEY": secrets.token_urlsafe(32), "HF_HUB_OFFLINE": "1",
                "DJANGO_SETTINGS_MODULE": "annotator.settings", "ALLOWED_HOSTS": "127.0.0.1,localhost"})  # fmt: skip
    env.update(settings)
    return env


def prompts_for(phases):
    """Prompts enough that no labeler runs out: `phases` are (labelers, think, seconds).

    Each labeler judges at most one prompt per FASTEST_JUDGMENT_S or per think[0] seconds; no
    prompt is counted twice, though overlap 2 would let two labelers share it.
    """
    return sum(labelers * (int(seconds / max(think[0], FASTEST_JUDGMENT_S)) + 1) for labelers, think, seconds in phases)


def make_project(tree, env, *, prompts, labelers, tokens_file):
    """Migrate, then the `bench` project of bench/make_bench_project.py (overlap 2); its labelers' tokens."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=tree, env=env, check=True)
    subprocess.run(
        [PYTHON, "bench/make_bench_project.py", "--slug", "bench", "--prompts", str(prompts),
         "--labelers", str(labelers), "--overlap", "2", "--tokens-file", str(tokens_file)],
        cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return [line.strip() for line in tokens_file.read_text().splitlines() if line.strip()]


def start_server(tree, env, log_path):
    """gunicorn on a free loopback port, once it answers the login page; (server, port)."""
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115  (gunicorn writes to it until it stops)
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--preload", "--log-level", "warning"],
        cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not answers(port):
        if time.monotonic() > deadline or server.poll() is not None:
            stop_server(server)
            raise SystemExit(f"gunicorn did not answer; see {log_path}")
        time.sleep(0.5)
    return server, port


def answers(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/accounts/login/")
        return conn.getresponse().status == 200
    except OSError:
        return False


def stop_server(server):
    """gunicorn and its workers (its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, 15)
    server.wait(30)


def post_until(conn, *, path, headers, body, deadline, stats, lock):
    """POST `body()` to `path` back to back until `deadline`, counting statuses (or errors) in `stats`."""
    while time.monotonic() < deadline:
        try:
            conn.request("POST", path, body=body(), headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            conn.close()  # the next request opens a fresh connection
            status = type(error).__name__
        with lock:
            stats[status] += 1
    conn.close()


def run_labelers(*, port, tokens, think, deadline, timeout, project="bench"):
    """One labeler per token loops next -> submit until `deadline`; their Recorder."""
    recorder, run_id = Recorder(), uuid.uuid4().hex[:12]
    threads = [
        threading.Thread(target=labeler, daemon=True, kwargs={
            "host": "127.0.0.1", "port": port, "timeout": timeout, "project": project, "token": token,
            "think": think, "deadline": deadline, "run_id": run_id, "recorder": recorder})
        for token in tokens
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + SUBMIT_ATTEMPTS * timeout + 5)
    return recorder


def warm_up(*, port, tokens, seconds):
    run_labelers(port=port, tokens=tokens, think=WARMUP_THINK, deadline=time.monotonic() + seconds, timeout=30.0)


def labeling_phase(*, port, tokens, think, deadline, timeout):
    """Labelers until `deadline` (whatever runs beside them the caller starts with the same deadline).

    Returns seconds, load averages, next's and submit's count/p50/p95 and the statuses seen.
    """
    load_start, started = os.getloadavg(), time.monotonic()
    recorder = run_labelers(port=port, tokens=tokens, think=think, deadline=deadline, timeout=timeout)
    row = {"seconds": round(time.monotonic() - started, 1), "load_start": [round(x, 2) for x in load_start],
           "load_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    for endpoint in ("next", "submit"):
        values = sorted(recorder.latencies.get(endpoint, []))
        row[endpoint] = {"count": len(values), "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                         "p95_ms": round(percentile(values, 0.95) * 1000, 1)}  # fmt: skip
    row["labeling_statuses"] = {f"{e} {s}": n for (e, s), n in sorted(recorder.statuses.items(), key=str)}
    return row
