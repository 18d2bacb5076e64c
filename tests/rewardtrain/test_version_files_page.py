"""A version's page: its model card and arbiter.json, its checkpoint as a .tar and file by file,
only the files its pinned manifest lists, only while it verifies; leads and admins only."""

import io
import json
import os
import tarfile

import pytest

from rewardtrain.checkpoint_files import CHUNK
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion
from tests.factories import PASSWORD
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def version(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = train_small(project)
    assert run.status == "succeeded", run.error
    return RewardModelVersion.objects.get(project=project, version=1)


def logged_in(client, person):
    client.login(username=person.username, password=PASSWORD)
    return client


def page_url(version, rest=""):
    return f"/projects/{version.project.slug}/models/{version.version}/{rest}"


def downloaded(response):
    return b"".join(response.streaming_content)


def test_the_version_page_shows_the_model_card_and_arbiter_json(client, version, lead):
    page = logged_in(client, lead).get(page_url(version))
    assert page.status_code == 200
    html = page.content.decode()
    # The card's first heading: its YAML metadata block above it is Hub metadata, not shown as text.
    card_title = next(line for line in (version_folder(version) / "README.md").read_text().splitlines() if line.startswith("# "))
    card_title = card_title.lstrip("# ").strip()
    assert '<div class="md model-card">' in html and card_title.split(" ")[0] in html
    assert '<h1>' in html.split('<div class="md model-card">')[1]  # rendered markdown, not raw text
    metadata = json.loads((version_folder(version) / "arbiter.json").read_text())
    pretty = json.dumps(metadata, indent=2, ensure_ascii=False).replace('"', "&quot;")
    assert pretty in html
    assert page_url(version, "checkpoint.tar") in html and page_url(version, "files/config.json") in html


def test_the_models_page_links_each_version_s_page(client, version, lead):
    models = logged_in(client, lead).get(f"/projects/{version.project.slug}/models/").content.decode()
    assert f'href="{page_url(version)}"' in models


def test_the_model_card_is_rendered_through_the_sanitising_renderer(client, version, lead):
    """The card is text from a folder on disk: raw HTML in it is shown as text, never run."""
    from rewardtrain.checkpoints import manifest_pin, write_manifest

    folder = version_folder(version)
    (folder / "README.md").write_text("# Card\n\n<script>alert(1)</script> [x](javascript:alert(2))\n")
    write_manifest(folder)
    pin = manifest_pin(folder)
    RewardModelVersion.objects.filter(pk=version.pk).update(manifest_sha256=pin.sha256, manifest_size=pin.size)
    html = logged_in(client, lead).get(page_url(version)).content.decode()
    card = html.split('<div class="md model-card">')[1].split("</div>")[0]
    assert "<script" not in card and "&lt;script&gt;alert(1)" in card and 'href="javascript' not in card


def test_the_tar_holds_every_file_byte_for_byte_and_scores_as_the_server_does(client, version, lead, tmp_path):
    from arbiter_reward import LocalReward
    from rewardtrain.scoring import Scorer

    response = logged_in(client, lead).get(page_url(version, "checkpoint.tar"))
    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    assert f'filename="{version.project.slug}-v1.tar"' in response["Content-Disposition"]
    chunks = list(response.streaming_content)
    body = b"".join(chunks)
    assert max(map(len, chunks)) <= CHUNK < len(body) // 2  # streamed a piece at a time, never held whole
    assert int(response["Content-Length"]) == len(body)
    folder = version_folder(version)
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        members = archive.getmembers()
        in_tar = {m.name.split("/", 1)[1]: archive.extractfile(m).read() for m in members}
        assert {m.name.split("/", 1)[0] for m in members} == {f"{version.project.slug}-v1"}
        archive.extractall(tmp_path, filter="data")
    assert in_tar == on_disk and "manifest.json" in in_tar and "model.safetensors" in in_tar

    items = [("human: tell me about the cat 1. assistant:", "the cat is good and kind"),
             ("human: tell me about the dog 2. assistant:", "the dog is bad and rude")]  # fmt: skip
    extracted = LocalReward(tmp_path / f"{version.project.slug}-v1", device="cpu").score(items)
    served = Scorer.load(version_folder(version), device="cpu").score(items)
    assert extracted == pytest.approx(served, abs=1e-5)


@pytest.mark.local_storage  # from a bucket it redirects (tests/rewardtrain/test_checkpoints_across_hosts.py)
def test_a_single_file_downloads_as_an_attachment(client, version, lead):
    response = logged_in(client, lead).get(page_url(version, "files/config.json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment") and "config.json" in response["Content-Disposition"]
    assert downloaded(response) == (version_folder(version) / "config.json").read_bytes()
    manifest = logged_in(client, lead).get(page_url(version, "files/manifest.json"))
    assert downloaded(manifest) == (version_folder(version) / "manifest.json").read_bytes()


@pytest.mark.parametrize(
    "name",
    ["../../../settings.py", "..%2F..%2Fsettings.py", "/etc/passwd", "%2Fetc%2Fpasswd", "secret.txt", "./config.json"],
)
def test_a_name_outside_the_manifest_is_404(client, version, lead, name):
    assert logged_in(client, lead).get(page_url(version, f"files/{name}")).status_code == 404


def test_labelers_get_403_and_outsiders_404(client, version, labeler, outsider, admin_user, settings):
    settings.ARBITER_S3_PRESIGN_SECONDS = 0  # a bucket's file streams too, as a folder's does
    for rest in ["", "checkpoint.tar", "files/config.json"]:
        assert logged_in(client, labeler).get(page_url(version, rest)).status_code == 403
        assert logged_in(client, outsider).get(page_url(version, rest)).status_code == 404
        assert logged_in(client, admin_user).get(page_url(version, rest)).status_code == 200
    client.logout()
    assert client.get(page_url(version)).status_code == 302  # to the login page
    assert logged_in(client, admin_user).get(f"/projects/{version.project.slug}/models/9/").status_code == 404


def test_a_tampered_version_is_refused_with_the_reason(client, version, lead):
    weights = version_folder(version) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    logged_in(client, lead)
    for rest in ["checkpoint.tar", "files/config.json", "files/model.safetensors"]:
        response = client.get(page_url(version, rest))
        assert response.status_code == 409
        assert "model.safetensors does not match its sha256 in the manifest" in response.content.decode()
    version.refresh_from_db()
    assert "model.safetensors" in version.verification_error  # the models page shows it too
    assert "refused: model.safetensors" in client.get(page_url(version)).content.decode()


def test_a_rewritten_manifest_or_a_symlink_is_refused(client, version, lead, tmp_path):
    folder = version_folder(version)
    outside = tmp_path / "config.json"
    outside.write_bytes((folder / "config.json").read_bytes())
    (folder / "config.json").unlink()
    os.symlink(outside, folder / "config.json")  # same bytes, but a link to a file outside the folder
    response = logged_in(client, lead).get(page_url(version, "files/config.json"))
    assert response.status_code == 409 and "config.json is a symbolic link" in response.content.decode()

    (folder / "config.json").unlink()
    (folder / "config.json").write_bytes(outside.read_bytes())
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text() + "\n")
    response = client.get(page_url(version, "checkpoint.tar"))
    assert response.status_code == 409 and "manifest changed since publish" in response.content.decode()
    page = client.get(page_url(version)).content.decode()
    assert "manifest changed since publish" in page and "model-card" not in page
