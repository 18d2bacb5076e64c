"""Peak memory of a gunicorn worker answering one get_reward request of N queries.

OpenRLHF 0.8 posts its whole rollout batch (1,024 queries by default) to get_reward at once.
The server scores it 64 at a time, so the worker's peak should grow with the request body, not
with the number of forward passes. For each size this starts a fresh gunicorn (one worker, one
thread) on loopback, warms it with a one-query request (the model loads), reads the worker's
peak RSS (VmHWM), posts N queries of realistic length, and reads it again.

    python bench/get_reward_memory.py                    # packaged MiniLM, max_length 256, 64 and 1,024 queries
    python bench/get_reward_memory.py --sizes 64,1024,4096 --reply-chars 2000
    python bench/get_reward_memory.py --smoke            # tiny model, 4 and 16 queries (CI runs this)

Prints one line per size and a JSON summary with the date, commit and load average.
"""

import argparse
import datetime
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def setup(env, data_dir, *, smoke):
    """Migrate, then a project whose v1 was trained on 40 comparisons; (slug, token)."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    for name in ("DATABASE_URL", "REDIS_URL"):  # this process sets up the same database as the servers
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from rewardtrain.config import TrainConfig
    from tests import factories
    from tests.rewardtrain.comparisons import make_comparisons, train_small
    from tests.rewardtrain.conftest import make_tiny_model

    base_model = str(make_tiny_model(data_dir / "models" / "tiny-bert")) if smoke else ""
    project = factories.project("memory", base_model=base_model)
    make_comparisons(project, 40)
    # SMALL's fast rate and unfrozen layers are for the tiny random model; the packaged one
    # trains with its own defaults, as it does in production.
    defaults = TrainConfig()
    packaged = {"max_length": 256, "learning_rate": defaults.learning_rate,
                "freeze_embeddings": defaults.freeze_embeddings, "freeze_layers": defaults.freeze_layers}  # fmt: skip
    run = train_small(project, **({"max_length": 32} if smoke else packaged))
    if run.status != "succeeded":
        raise SystemExit(f"training failed: {run.error}")
    token = Token.objects.create(user=factories.member(project, "labeler", username="memory-labeler")).key
    connections.close_all()
    return project.slug, token


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url, body, timeout=600):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.load(response)


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def worker_pid(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return int(children[0]) if children else None


def queries(n, reply_chars):
    prompt = "\n\nHuman: Can you tell me how to look after a cat that is getting old?\n\nAssistant:"
    words = "the cat is old and kind so keep it warm feed it well and see a vet when it seems unwell".split()
    replies = [" " + " ".join(words[(i + j) % len(words)] for j in range(reply_chars // 5))[:reply_chars] for i in range(n)]
    return {"query": [prompt + r + "<|endoftext|>" for r in replies], "prompts": [prompt] * n}


def measure(env, slug, token, size, reply_chars, logs):
    port = free_port()
    log = open(logs / f"gunicorn-{size}.log", "w")
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1",
         "--timeout", "600"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/projects/{slug}/get_reward?token={token}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                post(url, queries(1, reply_chars))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"gunicorn did not answer; see {logs}")
                time.sleep(0.5)
        pid = worker_pid(server.pid)
        warm = peak_rss_mb(pid)
        body = queries(size, reply_chars)
        started = time.monotonic()
        status, answer = post(url, body)
        seconds = time.monotonic() - started
        scored = sum(r is not None for r in answer["rewards"])
        return {"queries": size, "status": status, "scored": scored, "stripped": answer["extra_logs"]["stripped"],
                "body_mb": round(len(json.dumps(body)) / 1e6, 2), "warm_peak_mb": round(warm, 1),
                "peak_mb": round(peak_rss_mb(pid), 1), "seconds": round(seconds, 2)}  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,1024", help="queries per request, comma-separated")
    parser.add_argument("--reply-chars", type=int, default=1000, help="characters per reply (~250 tokens at 1,000)")
    parser.add_argument("--smoke", action="store_true", help="the tests' tiny model, 4 and 16 short queries")
    args = parser.parse_args(argv)
    sizes = [4, 16] if args.smoke else [int(s) for s in args.sizes.split(",")]
    reply_chars = 40 if args.smoke else args.reply_chars

    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-memory-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"ARBITER_DATA_DIR": str(data_dir), "SECRET_KEY": secrets.token_urlsafe(32), "HF_HUB_OFFLINE": "1",
                "ARBITER_SCORER_REFRESH_SECONDS": "3600", "DJANGO_SETTINGS_MODULE": "annotator.settings"})  # fmt: skip
    env["ARBITER_MODEL_ROOTS"] = ""  # the default roots: the data dir's models/ and the packaged model
    slug, token = setup(env, data_dir, smoke=args.smoke)
    rows = []
    for size in sizes:
        row = measure(env, slug, token, size, reply_chars, data_dir)
        rows.append(row)
        print(f"{size:>6} queries: {row['status']}, {row['scored']} scored, body {row['body_mb']} MB, worker peak "
              f"{row['warm_peak_mb']} MB warm -> {row['peak_mb']} MB, {row['seconds']} s", flush=True)  # fmt: skip
        if row["status"] != 200 or row["scored"] != size:
            raise SystemExit(f"{size} queries: not all scored")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    summary = {"date": datetime.date.today().isoformat(), "commit": commit, "load_average": os.getloadavg(),
               "model": "tiny test BERT" if args.smoke else "packaged all-MiniLM-L6-v2, max_length 256", "rows": rows,
               "peak_growth_mb": round(rows[-1]["peak_mb"] - rows[0]["peak_mb"], 1)}  # fmt: skip
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
