"""docker-compose.yml: every app service reaches PostgreSQL, Redis and an S3-compatible store (a
maintained one) whose bucket exists before they start, and a second trainer could run on another
machine: it shares no volume with web."""

import json
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "trainer", "trainer-2", "beat"]
STORAGE_VARIABLES = {
    "ARBITER_CHECKPOINT_STORAGE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION", "ARBITER_MODEL_CACHE",
}


def command(service):
    text = SERVICES[service]["command"]
    return text if isinstance(text, list) else shlex.split(text)


def test_the_store_is_a_maintained_s3_server_with_the_apps_keys():
    store = SERVICES["store"]
    assert store["image"].startswith("chrislusf/seaweedfs:") and "minio" not in yaml.safe_dump(COMPOSE).lower()
    assert {"server", "-s3", "-s3.port=8333"} <= set(command("store"))
    identities = json.loads(COMPOSE["configs"]["seaweedfs-s3"]["content"])["identities"]
    keys = {(c["accessKey"], c["secretKey"]) for identity in identities for c in identity["credentials"]}
    for service in APP_SERVICES + ["bucket"]:
        env = SERVICES[service]["environment"]
        assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) in keys, service


def test_the_bucket_is_made_before_the_app_starts():
    script = " ".join(command("bucket"))
    bucket = re.search(r"create-bucket --bucket (\S+)", script).group(1)
    assert "head-bucket --bucket " + bucket in script  # a second `up` finds it and succeeds
    assert SERVICES["bucket"]["environment"]["AWS_ENDPOINT_URL"] == "http://store:8333"
    for service in APP_SERVICES:
        env = SERVICES[service]["environment"]
        assert STORAGE_VARIABLES <= set(env), service
        assert env["ARBITER_CHECKPOINT_STORAGE"].startswith(f"s3://{bucket}/")
        assert env["AWS_ENDPOINT_URL"].endswith("store}:8333") or env["AWS_ENDPOINT_URL"] == "http://store:8333"
        assert SERVICES[service]["depends_on"]["bucket"] == {"condition": "service_completed_successfully"}


def test_the_app_reads_every_arbiter_variable_the_file_sets():
    settings_source = (ROOT / "annotator" / "settings.py").read_text()
    for service in APP_SERVICES:
        for name in SERVICES[service]["environment"]:
            if name.startswith("ARBITER_"):
                assert f'"{name}"' in settings_source, name


def test_two_trainers_consume_only_the_training_queue_and_the_second_shares_no_volume():
    for service in ("trainer", "trainer-2"):
        args = command(service)
        assert args[args.index("-Q") + 1] == "training", service
    assert set(command("worker")[command("worker").index("-Q") + 1].split(",")) == {"default"}
    volume = lambda spec: spec.split(":")[0]  # noqa: E731
    web_volumes = {volume(v) for v in SERVICES["web"]["volumes"]}
    assert not web_volumes & {volume(v) for v in SERVICES["trainer-2"]["volumes"]}
    env = SERVICES["trainer-2"]["environment"]
    for name in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL"):
        assert "${MAIN_HOST:-" in env[name], name  # another machine points it at the main host
