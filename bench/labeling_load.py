"""Labeling load benchmark: N simulated labelers loop next -> submit against a running server.

It starts nothing: point it at a server on loopback and give it one API token
per labeler (bench/make_bench_project.py writes them). Each labeler is a
thread with its own HTTP connection (stdlib http.client, kept alive when the
server allows it). `--think 0` is a closed loop (saturation: judgments/s);
`--think 1-3` makes every labeler read for 1-3 s before answering (latency
under a realistic load). The run stops by itself after --duration seconds.

Afterwards, unless --no-db-check, it opens the same database through Django
(run it with the server's DATABASE_URL and SECRET_KEY) and checks that every
201 the client saw is a row, nothing was stored twice and no prompt went past
its overlap. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SUBMIT_ATTEMPTS = 3  # a submit that fails on the network is retried with the same client_id, as a real client does
SLOW_SECONDS = 0.1  # requests at least this slow are listed in --json with their start time, to match server logs


class Recorder:
    """Latencies and statuses per endpoint, and the judgments the server acknowledged; shared by the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)  # endpoint -> seconds, every response
        self.statuses = Counter()  # (endpoint, status or exception name)
        self.acknowledged = {}  # judgment id -> client_id, from 201 and 200 answers
        self.created = 0  # 201s
        self.slow = []  # [endpoint, status, unix time it started, seconds] of every request over SLOW_SECONDS

    def response(self, endpoint, status, seconds):
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.statuses[endpoint, status] += 1
            if seconds >= SLOW_SECONDS:
                self.slow.append([endpoint, status, round(time.time() - seconds, 3), round(seconds, 4)])

    def failure(self, endpoint, error):
        with self.lock:
            self.statuses[endpoint, type(error).__name__] += 1

    def judgment(self, body, created):
        with self.lock:
            self.acknowledged[body["id"]] = body["client_id"]
            self.created += created


# What a kept-alive connection that the server closed while the labeler was
# thinking looks like. Browsers and HTTP libraries send again on a new
# connection, and so does this client (a submit is idempotent by client_id).
STALE_CONNECTION = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


def request(conn, method, path, token, body=None):
    """One request on a kept-alive connection: (status, body bytes, seconds)."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    reused = conn.sock is not None
    while True:
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, data, time.perf_counter() - started
        except STALE_CONNECTION:
            conn.close()
            if not reused:
                raise
            reused = False  # once more, on a new connection
        except (OSError, http.client.HTTPException):
            conn.close()  # the next request opens a fresh connection
            raise


def labeler(*, host, port, timeout, project, token, think, deadline, run_id, recorder):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    next_path = f"/api/v1/projects/{project}/next/"
    while time.monotonic() < deadline:
        try:
            status, data, seconds = request(conn, "GET", next_path, token)
        except (OSError, http.client.HTTPException) as error:
            recorder.failure("next", error)
            time.sleep(0.5)
            continue
        recorder.response("next", status, seconds)
        if status == 204:
            return  # nothing left for this labeler
        if status != 200:
            time.sleep(0.5)
            continue
        item = json.loads(data)
        pause = random.uniform(*think)
        if time.monotonic() + pause > deadline:
            return
        time.sleep(pause)
        body = {
            "assignment": item["assignment"],
            "client_id": f"{run_id}-{uuid.uuid4().hex}",
            "choice": random.choice(("a", "b", "a", "b", "tie")),
            "time_spent_ms": int(pause * 1000),
        }
        for _attempt in range(SUBMIT_ATTEMPTS):
            try:
                status, data, seconds = request(conn, "POST", "/api/v1/judgments/", token, body)
            except (OSError, http.client.HTTPException) as error:
                recorder.failure("submit", error)
                continue
            recorder.response("submit", status, seconds)
            if status in (200, 201):
                recorder.judgment(json.loads(data), created=status == 201)
            if status < 500:
                break
    conn.close()


def cpu_seconds_of(pids):
    """User + system CPU seconds the processes have used so far (Linux /proc), or None without pids."""
    if not pids:
        return None
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def report(*, recorder, elapsed, labelers, think, load_start, load_end, cpu_seconds, server_cpu_seconds):
    print(f"\n{labelers} labelers, think {think[0]:g}-{think[1]:g} s, {elapsed:.1f} s")
    print(f"load average (1/5/15 min): start {load_start}, end {load_end}")
    print(f"this client's own CPU: {cpu_seconds:.1f} s ({cpu_seconds / elapsed:.0%} of one core)")
    total = sum(len(v) for v in recorder.latencies.values())
    print(f"requests/s {total / elapsed:.1f}   judgments/s {recorder.created / elapsed:.1f}")
    if server_cpu_seconds is not None and total:
        print(
            f"server CPU: {server_cpu_seconds:.1f} s, {server_cpu_seconds / total * 1000:.1f} ms per request"
            f" ({server_cpu_seconds / elapsed:.2f} cores busy)"
        )
    print(f"{'endpoint':<8} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for endpoint in ("next", "submit"):
        values = sorted(recorder.latencies.get(endpoint, []))
        if not values:
            continue
        p50, p95, p99 = (percentile(values, q) * 1000 for q in (0.50, 0.95, 0.99))
        print(
            f"{endpoint:<8} {len(values):>7} {len(values) / elapsed:>7.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}"
            f" {values[-1] * 1000:>8.1f}"
        )
    expected = {("next", 200), ("next", 204), ("submit", 201), ("submit", 200)}
    unexpected = {key: n for key, n in sorted(recorder.statuses.items(), key=str) if key not in expected}
    print("errors by status:", unexpected or "none")
    return unexpected


def check_database(*, project_slug, run_id, recorder):
    """Every acknowledged judgment is a row; no row twice; no prompt past its overlap. Returns the problems."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()
    from django.db.models import Count, F

    from annotator.models import Judgment, Project, Prompt

    project = Project.objects.get(slug=project_slug)
    stored = dict(
        Judgment.objects.filter(prompt__project=project, client_id__startswith=run_id).values_list("id", "client_id")
    )
    problems = []
    lost = {pk for pk, client_id in recorder.acknowledged.items() if stored.get(pk) != client_id}
    if lost:
        problems.append(f"{len(lost)} acknowledged judgments are not in the database, e.g. {sorted(lost)[:5]}")
    unacknowledged = len(stored.keys() - recorder.acknowledged.keys())
    judgments = Judgment.objects.filter(prompt__project=project)
    twice = judgments.values("annotator", "client_id").annotate(n=Count("id")).filter(n__gt=1).count()
    twice += judgments.values("annotator", "prompt").annotate(n=Count("id")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} judgments stored twice (same labeler and client_id, or same labeler and prompt)")
    prompts = Prompt.objects.filter(project=project)
    past_overlap = prompts.filter(judgment_count__gt=project.overlap).count()
    past_overlap += judgments.values("prompt").annotate(n=Count("id")).filter(n__gt=project.overlap).count()
    if past_overlap:
        problems.append(f"{past_overlap} prompts judged more than {project.overlap} times")
    counted = prompts.annotate(rows=Count("judgments")).exclude(rows=F("judgment_count")).count()
    if counted:
        problems.append(f"{counted} prompts whose judgment_count differs from their Judgment rows")
    print(
        f"database: {len(stored)} judgments stored by this run, {len(recorder.acknowledged)} acknowledged"
        f" ({unacknowledged} stored but never acknowledged, e.g. a timed-out request)"
    )
    print("database check:", "; ".join(problems) or "OK (none lost, none twice, none past overlap)")
    return problems


def parse_think(text):
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--project", default="bench", help="Project slug.")
    parser.add_argument("--tokens-file", type=Path, default=Path("bench/out/tokens.txt"), help="One token a line.")
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--think", type=parse_think, default=(0.0, 0.0), help="Seconds per judgment: 0, or 1-3.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds; capped at 600.")
    parser.add_argument("--timeout", type=float, default=10.0, help="Seconds per request.")
    parser.add_argument("--no-db-check", action="store_true", help="Skip the database check.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument(
        "--server-pids",
        type=lambda text: [int(pid) for pid in text.split(",")],
        default=[],
        help="Comma-separated server worker pids: report the server's CPU per request (Linux).",
    )
    args = parser.parse_args()

    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname not in LOOPBACK_HOSTS:
        parser.error("--url must be http:// on loopback (127.0.0.1, localhost or ::1)")
    tokens = [line.strip() for line in args.tokens_file.read_text().splitlines() if line.strip()]
    if len(tokens) < args.labelers:
        parser.error(f"{args.labelers} labelers need {args.labelers} tokens; {args.tokens_file} has {len(tokens)}")
    duration = min(args.duration, 600.0)

    recorder, run_id = Recorder(), uuid.uuid4().hex[:12]
    load_start, cpu_start = os.getloadavg(), time.process_time()
    server_cpu_start = cpu_seconds_of(args.server_pids)
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=labeler,
            kwargs={
                "host": url.hostname,
                "port": url.port or 80,
                "timeout": args.timeout,
                "project": args.project,
                "token": token,
                "think": args.think,
                "deadline": started + duration,
                "run_id": run_id,
                "recorder": recorder,
            },
            daemon=True,
        )
        for token in tokens[: args.labelers]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + SUBMIT_ATTEMPTS * args.timeout + 5)
    elapsed = time.monotonic() - started
    load_end = os.getloadavg()
    server_cpu = cpu_seconds_of(args.server_pids)
    server_cpu = None if server_cpu is None else server_cpu - server_cpu_start

    unexpected = report(
        recorder=recorder,
        elapsed=elapsed,
        labelers=args.labelers,
        think=args.think,
        load_start=tuple(round(x, 2) for x in load_start),
        load_end=tuple(round(x, 2) for x in load_end),
        cpu_seconds=time.process_time() - cpu_start,
        server_cpu_seconds=server_cpu,
    )
    problems = [] if args.no_db_check else check_database(project_slug=args.project, run_id=run_id, recorder=recorder)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "labelers": args.labelers,
            "think": args.think,
            "elapsed_s": elapsed,
            "load_start": load_start,
            "load_end": load_end,
            "judgments_created": recorder.created,
            "server_cpu_s": server_cpu,
            "statuses": {f"{e} {s}": n for (e, s), n in recorder.statuses.items()},
            "latency_ms": {
                endpoint: {f"p{int(q * 100)}": percentile(sorted(v), q) * 1000 for q in (0.5, 0.95, 0.99)}
                for endpoint, v in recorder.latencies.items()
            },
            "db_problems": problems,
            "slow_requests": recorder.slow,
        }
        args.json.write_text(json.dumps(figures, indent=2))
    sys.exit(1 if problems or unexpected else 0)


if __name__ == "__main__":
    main()
