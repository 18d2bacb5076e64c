"""Render benchmark: markdown render time per hostile pattern and length, and a render flood.

Issue 19 found Python-Markdown quadratic or worse on five patterns (8,000 `[` took 14.6 s), and
8 previews of such a text in parallel took labeling `next` from p50 11 ms to 59.7 s. Two parts:

1. Render times, in this process: each pattern of the issue's table (and plain words) at
   2,000 to 100,000 characters, through annotator.rendering.render_markdown with an empty cache
   (after: comrak, then nh3), median of --repeats. Before: the old code path (Python-Markdown
   with raw HTML off, then the same nh3), once per length, if `markdown` is installed
   (bench/requirements-bench.txt); a pattern's longer lengths are skipped once one took over
   --before-cap seconds / 4 (the next, twice as long, would take four times as long).
2. Render flood: gunicorn as in the Procfile (2 workers x 4 threads, --preload) on loopback with
   a fresh embedded data dir, a project made by bench/make_bench_project.py, and N labelers
   (bench/labeling_load.py's loop, think 1-3 s), quiet and then while --flood-connections
   connections, logged in as a lead, post the settings page's preview of --flood-chars of `[`
   (a new text each time, so no cache helps) as fast as they are answered. p50/p95 of next and
   submit in each phase, and the previews' statuses.

    python bench/render_bench.py                       # this tree
    python bench/render_bench.py --before 887599b      # the flood also against a worktree of that commit, first
    python bench/render_bench.py --smoke               # short lengths, 2 s phases (a test runs this)

The last line printed is a JSON summary with the date, commits and load averages.
"""

import argparse
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # the gunicorn stack and labelers every labeling benchmark uses

LEAD, LEAD_PASSWORD = "bench-lead", "bench-lead-password-1"
WARMUP_LABELERS = 2
PATTERNS = {  # issue 19's table: how each text is made to a length
    "[ repeated": lambda n: "[" * n,
    "![ repeated": lambda n: ("![" * n)[:n],
    "a[b repeated": lambda n: ("a[b" * n)[:n],
    "[[...]] nested": lambda n: "[" * (n // 2) + "]" * (n - n // 2),
    "[x]( repeated": lambda n: ("[x](" * n)[:n],
    "plain words": lambda n: ("lorem ipsum " * n)[:n],
}


def old_render(text):
    """The pages' renderer until issue 19: Python-Markdown with raw HTML off, then nh3."""
    import markdown
    import nh3

    from annotator.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ALLOWED_URL_SCHEMES

    md = markdown.Markdown(extensions=["fenced_code", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return nh3.clean(md.convert(text), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=ALLOWED_URL_SCHEMES, link_rel="nofollow noopener")  # fmt: skip


def render_times(lengths, repeats, before_cap):
    from django.core.cache import cache

    from annotator.rendering import render_markdown

    def timed(render, text):
        cache.clear()  # a first render, as of a text no page has shown yet
        started = time.perf_counter()
        render(text)
        return time.perf_counter() - started

    try:
        import markdown  # noqa: F401
    except ImportError:
        before_cap = None
        print("before: Python-Markdown is not installed (pip install -r bench/requirements-bench.txt)", flush=True)
    rows = []
    for name, make in PATTERNS.items():
        too_slow = before_cap is None
        for n in lengths:
            text = make(n)
            after = statistics.median(timed(render_markdown, text) for _ in range(repeats))
            before = None
            if not too_slow:
                before = timed(old_render, text)
                too_slow = before > before_cap / 4
            rows.append({"pattern": name, "chars": n, "after_ms": round(after * 1000, 2),
                         "after_us_per_char": round(after / n * 1e6, 3),
                         "before_ms": None if before is None else round(before * 1000, 1)})  # fmt: skip
            print(f"{name:<15} {n:>7,} chars  after {after * 1000:8.2f} ms ({after / n * 1e6:.3f} us/char)  before "
                  + ("skipped" if before is None else f"{before * 1000:9.1f} ms"), flush=True)  # fmt: skip
    return rows


def serve(tree, env, data_dir, args):
    """The project, its labelers' tokens and a lead; gunicorn; (server, port, tokens)."""
    phases = [(WARMUP_LABELERS, stack.WARMUP_THINK, args.warmup), *[(args.labelers, args.think, args.duration)] * 2]
    tokens = stack.make_project(tree, env, prompts=max(args.prompts, stack.prompts_for(phases)),
                                labelers=args.labelers, tokens_file=data_dir / "tokens.txt")  # fmt: skip
    subprocess.run([stack.PYTHON, "manage.py", "createsuperuser", "--noinput", "--username", LEAD, "--email",
                    "lead@example.com"], cwd=tree, env={**env, "DJANGO_SUPERUSER_PASSWORD": LEAD_PASSWORD}, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    server, port = stack.start_server(tree, env, data_dir / "gunicorn.log")
    return server, port, tokens


def logged_in(conn):
    """Log the lead in on this connection as a browser does; the cookies and CSRF token to send."""
    jar = SimpleCookie()

    def send(method, body=None):
        headers = {"Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items()),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        conn.request(method, "/accounts/login/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        for line in response.msg.get_all("Set-Cookie") or []:
            jar.load(line)

    send("GET")
    send("POST", urlencode({"csrfmiddlewaretoken": jar["csrftoken"].value, "username": LEAD, "password": LEAD_PASSWORD}))
    if "sessionid" not in jar:
        raise SystemExit("the bench lead could not log in")
    return {"Cookie": f"sessionid={jar['sessionid'].value}; csrftoken={jar['csrftoken'].value}",
            "X-CSRFToken": jar["csrftoken"].value, "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip


def previewer(*, port, deadline, chars, stats, lock):
    """Previews of `chars` `[` plus a fresh nonce, back to back, on one logged-in connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = logged_in(conn)
    stack.post_until(conn, path="/console/preview/", headers=headers, deadline=deadline, stats=stats, lock=lock,
                     body=lambda: urlencode({"text": "[" * chars + uuid.uuid4().hex}))  # fmt: skip


def phase(*, port, tokens, think, duration, flood_connections=0, flood_chars=0):
    """Labelers for `duration` seconds, with `flood_connections` previewers beside them (0: quiet)."""
    deadline, previews, lock = time.monotonic() + duration, Counter(), threading.Lock()
    previewers = [threading.Thread(target=previewer, daemon=True, kwargs={
        "port": port, "deadline": deadline, "chars": flood_chars, "stats": previews, "lock": lock})
        for _ in range(flood_connections)]  # fmt: skip
    for thread in previewers:
        thread.start()
    row = stack.labeling_phase(port=port, tokens=tokens, think=think, deadline=deadline, timeout=120.0)
    for thread in previewers:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 180)
    row = {"flood_connections": flood_connections, **row}
    row["preview_statuses"] = {str(s): n for s, n in sorted(previews.items(), key=str)}
    return row


def flood(name, tree, args):
    data_dir = Path(tempfile.mkdtemp(prefix=f"arbiter-render-{name}-"))
    # In the smoke, the limit reached within its few seconds.
    env = stack.bench_env(data_dir, **({"ARBITER_PREVIEW_PER_MINUTE": "2"} if args.smoke else {}))
    server, port, tokens = serve(tree, env, data_dir, args)
    try:
        stack.warm_up(port=port, tokens=tokens[:WARMUP_LABELERS], seconds=args.warmup)
        rows = {}
        for label, connections in (("quiet", 0), ("flood", args.flood_connections)):
            rows[label] = row = phase(port=port, tokens=tokens, think=args.think, duration=args.duration,
                                      flood_connections=connections, flood_chars=args.flood_chars)  # fmt: skip
            cells = [f"{e} p50 {row[e]['p50_ms']:.0f} ms p95 {row[e]['p95_ms']:.0f} ms (n={row[e]['count']})"
                     for e in ("next", "submit")]  # fmt: skip
            print(f"{name:<6} {label:<5} {'; '.join(cells)}; previews {row['preview_statuses']}; "
                  f"load {row['load_start'][0]} -> {row['load_end'][0]}", flush=True)  # fmt: skip
    finally:
        stack.stop_server(server)
    return {"tree": name, "commit": stack.commit_of(tree), **rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="2000,4000,8000,16000,100000", help="characters, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="renders per pattern and length (after; median)")
    parser.add_argument("--before-cap", type=float, default=20.0, help="seconds one old render may take (see above)")
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--think", default="1-3", help="seconds a labeler reads before answering, e.g. 1-3")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per flood phase (quiet, flood)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--flood-connections", type=int, default=8, help="concurrent preview connections")
    parser.add_argument("--flood-chars", type=int, default=8000, help="`[` characters per preview")
    parser.add_argument("--prompts", type=int, default=2000, help="at least; more if the labelers could judge more")
    parser.add_argument("--before", metavar="REF", help="run the flood against a git worktree of this commit first")
    parser.add_argument("--no-flood", action="store_true", help="render times only")
    parser.add_argument("--smoke", action="store_true", help="2,000 and 4,000 characters, 2 labelers, 2 s phases")
    args = parser.parse_args(argv)
    low, _, high = args.think.partition("-")
    args.think = (float(low), float(high or low))
    lengths = [int(n) for n in args.lengths.split(",")]
    if args.smoke:
        lengths, args.repeats, args.before_cap = [2000, 4000], 1, 2.0
        args.labelers, args.think, args.duration, args.warmup = 2, (0.1, 0.3), 2.0, 1.0
        args.flood_connections, args.flood_chars, args.prompts = 1, 2000, 0  # 0: the prompts the phases need

    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-render-times-"))
    os.environ.pop("REDIS_URL", None)  # the render cache in this process's memory, emptied per render
    os.environ.update({"ARBITER_DATA_DIR": str(data_dir), "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench",
                       "DJANGO_SETTINGS_MODULE": "annotator.settings"})  # fmt: skip
    sys.path.insert(0, str(stack.ROOT))
    import django

    django.setup()
    load_start = os.getloadavg()
    rows = render_times(lengths, args.repeats, args.before_cap)
    summary = {"date": datetime.datetime.now().isoformat(timespec="minutes"),
               "commit": stack.commit_of(stack.ROOT),
               "render_load": [load_start[0], os.getloadavg()[0]], "render": rows, "flood": []}  # fmt: skip
    if not args.no_flood:
        if args.before:
            with stack.worktree_at(args.before) as tree:
                summary["flood"].append(flood("before", tree, args))
        summary["flood"].append(flood("after" if args.before else "this", stack.ROOT, args))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
