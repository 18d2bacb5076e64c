"""LocalReward and RemoteReward as RL code uses them: names that tell two rewards apart, a
server restart survived, long texts and large batches scored as LocalReward scores them."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.authtoken.models import Token

from arbiter_reward import LocalReward, RemoteReward, RewardServerError
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion

PROMPT = "human: tell me about the cat. assistant:"


@pytest.fixture
def local(trained):
    return LocalReward(version_folder(RewardModelVersion.objects.get(project=trained, is_current=True)))


@pytest.fixture
def remote(trained, labeler, live_server):
    return RemoteReward(live_server.url, trained.slug, Token.objects.create(user=labeler).key, retry_seconds=5)


def test_rewards_are_named_after_their_project_and_fixed_version(trained, local):
    assert local.__name__ == f"arbiter_{trained.slug.replace('-', '_')}_v1"
    assert RemoteReward("http://x", "my-project", "t").__name__ == "arbiter_my_project"
    assert RemoteReward("http://x", "my-project", "t", version=3).__name__ == "arbiter_my_project_v3"


def test_grpo_logs_two_arbiter_rewards_in_two_columns(local, tmp_path):
    from tests.rewardtrain.test_rlhf_example import load_example

    example = load_example()
    model, tokenizer = example.make_policy(0)
    args = example.parse_args(["--checkpoint", "unused", "--steps", "1", "--batch-size", "2", "--generations", "2"])
    remote = RemoteReward("http://127.0.0.1:1", "other", "t")
    trainer = example.make_trainer(model, tokenizer, [local, remote], example.PROMPTS, args, str(tmp_path))
    assert trainer.reward_func_names == [local.__name__, "arbiter_other"]


def test_a_long_completion_and_a_large_batch_score_as_locally(local, remote):
    long_completion = "the cat is good and kind " * 5_000  # 125,000 characters: over the server's 100,000
    long_prompt = "human: " + "tell me about the old dog please " * 4_000 + "assistant:"
    items = [(PROMPT, long_completion), (long_prompt, "the dog is kind")]
    items += [(PROMPT, f"the cat is {'good' if i % 2 else 'bad'} {i}") for i in range(150)]  # 3 requests of at most 64
    prompts, completions = zip(*items)
    assert remote(list(prompts), list(completions)) == pytest.approx(local(list(prompts), list(completions)), abs=1e-5)
    assert remote.last_version == 1


class FlakyServer:
    """A stand-in server on loopback that answers each request from a script: an int is that
    HTTP status (with Retry-After: 0), "drop" closes the connection unanswered, "ok" answers rewards."""

    def __init__(self, script):
        self.script, self.seen = list(script), 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                step = server.script[min(server.seen, len(server.script) - 1)]
                server.seen += 1
                if step == "drop":
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                status, answer = (200, {"version": 1, "rewards": [0.5] * len(body["items"])}) if step == "ok" else (step, {"detail": "no"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Retry-After", "0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky():
    servers = []

    def start(script):
        servers.append(FlakyServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_remote_reward_retries_a_restarting_server(flaky):
    server = flaky([503, "drop", 502, 429, 504, "ok"])
    reward = RemoteReward(server.url, "p", "t", retry_seconds=30)
    assert reward(["a"], ["b"]) == [0.5] and server.seen == 6


def test_remote_reward_waits_for_a_server_that_is_not_up_yet(flaky):
    import socket

    with socket.socket() as probe:  # a free port, nothing listening yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reward = RemoteReward(f"http://127.0.0.1:{port}", "p", "t", retry_seconds=30)
    holder = {}

    def start_later():
        from http.server import ThreadingHTTPServer as Server

        server = FlakyServer(["ok"])
        server.close()
        holder["server"] = Server(("127.0.0.1", port), server.httpd.RequestHandlerClass)
        threading.Thread(target=holder["server"].serve_forever, daemon=True).start()

    timer = threading.Timer(1.0, start_later)
    timer.start()
    try:
        assert reward(["a"], ["b"]) == [0.5]
    finally:
        timer.join()
        holder["server"].shutdown()
        holder["server"].server_close()


def test_remote_reward_gives_up_within_its_time_and_never_retries_a_refusal(flaky):
    down = flaky([503])
    with pytest.raises(RewardServerError, match=r"answered 503.*gave up after retrying for 1 s"):
        RemoteReward(down.url, "p", "t", retry_seconds=1)(["a"], ["b"])
    refused = flaky([400])
    with pytest.raises(RewardServerError, match="answered 400"):
        RemoteReward(refused.url, "p", "t", retry_seconds=30)(["a"], ["b"])
    assert refused.seen == 1
