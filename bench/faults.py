"""Replay the fault cases against a stack started on loopback, and print what held.

It starts, on 127.0.0.1 and in a fresh data dir: a TCP fault proxy in front of Redis (and one
in front of PostgreSQL with --database-url), gunicorn, one prefork Celery worker with one
child, and beat; it stops them all at the end. The proxies pass traffic through, refuse it
("down": every connection reset, live ones cut) or swallow it ("hung": accepted, never
answered), which is what the app sees of a dead or hung server without touching the shared
servers themselves. Cases, in order:

  broker down      POST .../train/ answers 201 within 2 s, the run queued with send_error;
                   once the broker is back, beat's next reaper tick sends it and it trains
  broker hung      the same with a broker that accepts and never answers
  worker killed    SIGKILL of the pool child mid-training: the run is retried once (attempts 2)
  database down    (PostgreSQL only) the API answers 503 {"detail": "database unavailable,
                   retry"}, and 200 again once the server is back, with no restart
  corrupt version  a flipped byte in the current version's weights: scoring answers with the
                   newest earlier version that verifies, and says which

The models are the tests' tiny random BERT (tests/rewardtrain/conftest.py), so training takes
seconds. See bench/README.md.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
ANSWER_WITHIN_S = 2.0
RESENT_WITHIN_S = 150  # beat's reaper ticks every minute; then the run trains
PYTHON = sys.executable


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of host:port whose mode is "pass", "down" or "hung"."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.mode = "pass"
        self.live = []  # sockets of connections passed through or held
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode):
        with self.lock:
            self.mode = mode
            cut, self.live = self.live, []
        for sock in cut:  # a server that dies or hangs takes its open connections with it
            self._reset(sock)

    @staticmethod
    def _reset(sock):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        except OSError:
            pass

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            with self.lock:
                mode = self.mode
                if mode != "down":
                    self.live.append(client)
            if mode == "down":
                self._reset(client)
            elif mode == "pass":
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    self._reset(client)
                    continue
                with self.lock:
                    self.live.append(upstream)
                for src, dst in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()
            # "hung": the connection stays open and nothing is ever read or sent

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def via(url, proxy, *, path=None):
    """`url` with its host and port replaced by the proxy's (and its path by `path`)."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth + '@' if auth else ''}127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path if path is None else path, parts.query, ""))


class Api:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, timeout=30):
        request = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        seconds = time.monotonic() - started
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {"not_json": raw[:200].decode(errors="replace")}
        return status, payload, seconds


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


class Report:
    def __init__(self):
        self.rows = []

    def check(self, case, held, detail):
        self.rows.append((case, held, detail))
        print(f"{'HELD  ' if held else 'BROKEN'} {case}: {detail}", flush=True)

    def ok(self):
        return all(held for _, held, _ in self.rows)


def setup_data(env, data_dir):
    """Migrate, then a lead with a token and a project of 40 comparisons on the tiny model; (slug, token)."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from tests import factories
    from tests.rewardtrain.comparisons import make_comparisons
    from tests.rewardtrain.conftest import make_tiny_model

    model = make_tiny_model(data_dir / "models" / "tiny-bert")  # the data dir's models/ is a model root
    project = factories.project("faults", base_model=str(model))
    make_comparisons(project, 40)
    lead = factories.member(project, "lead", username="faults-lead")
    token = Token.objects.create(user=lead).key
    connections.close_all()
    return project.slug, token


def start(name, args, env, logs):
    log = open(logs / f"{name}.log", "w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def run_state(api, slug, run_id):
    return api.call("GET", f"/api/v1/projects/{slug}/runs/{run_id}/")[1]


def finished(api, slug, run_id, timeout):
    return wait_for(
        f"run {run_id} to finish",
        lambda: (r := run_state(api, slug, run_id)).get("status") not in ("queued", "running") and r,
        timeout,
    )


def case_broker(report, api, slug, proxy, mode):
    case = f"broker {mode}"
    proxy.set(mode)
    status, run, seconds = api.call("POST", f"/api/v1/projects/{slug}/train/", {"epochs": 1})
    answered = status == 201 and seconds < ANSWER_WITHIN_S and run.get("status") == "queued" and run.get("send_error")
    report.check(case, bool(answered), f"train API {status} in {seconds:.2f} s, send_error={run.get('send_error')!r}")
    proxy.set("pass")
    if status != 201:
        return
    back = time.monotonic()
    try:
        done = finished(api, slug, run["id"], RESENT_WITHIN_S)
    except TimeoutError as error:
        report.check(f"{case}: re-sent", False, str(error))
        return
    report.check(
        f"{case}: re-sent once the broker is back",
        done["status"] in ("succeeded", "rejected"),
        f"{done['status']} {time.monotonic() - back:.0f} s after the broker came back",
    )


def case_worker_killed(report, api, slug, worker):
    status, run, _ = api.call("POST", f"/api/v1/projects/{slug}/train/", {"epochs": 100})
    if status != 201:
        report.check("worker killed", False, f"train API answered {status}: {run}")
        return
    mid = wait_for(
        "the run to train",
        lambda: (r := run_state(api, slug, run["id"])).get("status") == "running" and (r.get("progress") or {}).get("step") and r,
        120,
    )
    from tests.celery_worker import pool_children  # after setup_data's django.setup()

    children = pool_children(worker)
    for child in children:
        os.kill(child, signal.SIGKILL)
    done = finished(api, slug, run["id"], 300)
    report.check(
        "worker child killed: retried once",
        done["status"] == "succeeded" and done["attempts"] == 2,
        f"killed pid {children} at step {mid['progress']['step']}/{mid['progress']['total']}; "
        f"run {done['status']}, attempts {done['attempts']}",
    )


def case_database_down(report, api, slug, proxy):
    proxy.set("down")
    status, body, seconds = api.call("GET", f"/api/v1/projects/{slug}/runs/")
    report.check(
        "database down: 503 JSON",
        status == 503 and body == {"detail": "database unavailable, retry"},
        f"{status} {body} in {seconds:.2f} s",
    )
    proxy.set("pass")
    back = time.monotonic()
    try:
        wait_for("a 200", lambda: api.call("GET", f"/api/v1/projects/{slug}/runs/")[0] == 200, 30)
        report.check("database back: recovers without a restart", True, f"200 after {time.monotonic() - back:.1f} s")
    except TimeoutError as error:
        report.check("database back: recovers without a restart", False, str(error))


def case_corrupt_checkpoint(report, api, slug, checkpoints):
    versions = api.call("GET", f"/api/v1/projects/{slug}/models/")[1]
    current = next((v for v in versions if v["is_current"]), None)
    earlier = [v["version"] for v in versions if v["status"] == "published" and current and v["version"] < current["version"]]
    if current is None or not earlier:
        report.check("corrupt version", False, f"needs a current version and an earlier published one: {versions}")
        return
    weights = checkpoints / slug / f"v{current['version']}" / "model.safetensors"
    original = weights.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    weights.write_bytes(bytes(flipped))
    try:
        items = [{"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good"}]
        status, body, _ = api.call("POST", f"/api/v1/projects/{slug}/score/", {"items": items})
    finally:
        weights.write_bytes(original)
    report.check(
        "corrupt current version: scored by the last good one",
        status == 200 and body.get("version") == max(earlier),
        f"current v{current['version']} corrupted; score answered {status} with version {body.get('version')}",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database for the broker (default 14: not the tests')")
    parser.add_argument("--database-url", default="", help="postgres://... to run on PostgreSQL (a new database on it)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-faults-"))
    logs = data_dir / "logs"
    logs.mkdir()
    redis = urlsplit(args.redis_url)
    redis_proxy = FaultProxy(redis.hostname or "127.0.0.1", redis.port or 6379)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "ARBITER_DATA_DIR": str(data_dir),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": via(args.redis_url, redis_proxy, path=f"/{args.redis_db}"),
        "CELERY_RESULT_BACKEND": urlunsplit(redis._replace(path=f"/{args.redis_db}")),
    }
    env.pop("REDIS_URL", None)  # the cache stays local: only the broker goes through the proxy
    pg_proxy, pg_db = None, ""
    if args.database_url:
        import psycopg

        pg = urlsplit(args.database_url)
        pg_db = f"arbiter_faults_{os.getpid()}"
        with psycopg.connect(urlunsplit(pg._replace(path="/postgres")), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{pg_db}"')
        pg_proxy = FaultProxy(pg.hostname or "127.0.0.1", pg.port or 5432)
        direct_db = urlunsplit(pg._replace(path=f"/{pg_db}"))
        env["DATABASE_URL"] = via(direct_db, pg_proxy)
        setup_env = {**env, "DATABASE_URL": direct_db}
    else:
        env.pop("DATABASE_URL", None)
        setup_env = env

    processes = []
    report = Report()
    try:
        slug, token = setup_data(setup_env, data_dir)
        celery = [PYTHON, "-m", "celery", "-A", "annotator"]
        subprocess.run([*celery, "purge", "-f", "-Q", "default,training"], cwd=ROOT, env=env, capture_output=True)
        port = socket.create_server(("127.0.0.1", 0))
        web_port = port.getsockname()[1]
        port.close()
        processes.append(start("web", [PYTHON, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{web_port}",
                                       "--workers", "1", "--threads", "4"], env, logs))
        worker = start("worker", [*celery, "worker", "-P", "prefork", "-c", "1", "-Q", "default,training", "-l", "info",
                                  "--without-gossip", "--without-mingle"], env, logs)
        processes.append(worker)
        processes.append(start("beat", [*celery, "beat", "-l", "info", "-s", str(data_dir / "beat-schedule")], env, logs))
        wait_for("the worker", lambda: "ready." in (logs / "worker.log").read_text(), 120)
        api = Api(f"http://127.0.0.1:{web_port}", token)
        wait_for("gunicorn", lambda: api.call("GET", f"/api/v1/projects/{slug}/runs/")[0] == 200, 60)
        print(f"stack up in {data_dir}: web :{web_port}, broker via :{redis_proxy.port}"
              + (f", PostgreSQL via :{pg_proxy.port}" if pg_proxy else ""), flush=True)

        case_broker(report, api, slug, redis_proxy, "down")
        case_broker(report, api, slug, redis_proxy, "hung")
        case_worker_killed(report, api, slug, worker)
        if pg_proxy:
            case_database_down(report, api, slug, pg_proxy)
        else:
            print("SKIPPED database down: needs --database-url postgres://...", flush=True)
        case_corrupt_checkpoint(report, api, slug, data_dir / "checkpoints")
    except Exception as error:  # a case that could not run is a failure with its reason
        report.check("bench", False, f"{type(error).__name__}: {error}; logs in {logs}")
        args.keep = True
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if pg_db:
            import psycopg

            with psycopg.connect(urlunsplit(urlsplit(args.database_url)._replace(path="/postgres")), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    held = sum(held for _, held, _ in report.rows)
    print(f"\n{held}/{len(report.rows)} held")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
