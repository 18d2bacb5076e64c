"""A lead reads a version's model card and arbiter.json, downloads its checkpoint as a `.tar`
and one of its files, at a desktop and a phone width; a labeler is refused the page and the
downloads (403)."""

import io
import json
import tarfile

import pytest
from playwright.sync_api import expect

from rewardtrain.model_card import model_card
from tests import factories
from tests.browser.checkpoint_folders import folder_files, published_version
from tests.browser.test_phone_width_browser import _log_in, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

META = {"version": 1, "project": "files", "base_model": "bert-tiny", "metrics": {"heldout_accuracy": 0.75}, "data": {"n_pairs": 12}}
FILES = {
    "README.md": model_card(META, "v1"),  # the card Arbiter writes: YAML front matter, tables, code
    "arbiter.json": json.dumps(META),
    "config.json": json.dumps({"model_type": "bert"}),
    "1_Pooling/config.json": json.dumps({"pooling_mode_mean_tokens": True}),  # a sub-folder's file keeps its path
}


@pytest.fixture
def version():
    project = factories.project(slug="files")
    factories.member(project, "lead", username="lead")
    factories.member(project, "labeler", username="labeler")
    return published_version(project, 1, FILES)


def _downloaded(page, link):
    with page.expect_download() as download:
        link.click()
    return download.value.suggested_filename, download.value.path().read_bytes()


def test_a_lead_reads_a_version_and_downloads_its_checkpoint_and_a_file(page_at, live_server, version):
    page, width = page_at
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/files/models/")
    page.get_by_role("link", name="v1", exact=True).click()
    card = page.locator(".model-card")
    expect(card.locator("h1")).to_have_text("Arbiter reward model v1 of project files")
    expect(card.locator("tr", has_text="held-out pairwise accuracy").locator("td").last).to_have_text("0.75")
    expect(card.locator("tr", has_text="preference pairs").locator("td").last).to_have_text("12")
    expect(card).not_to_contain_text("library_name")  # the Hub's front matter is not card text
    expect(page.locator("[data-field=arbiter-json]")).to_contain_text('"heldout_accuracy": 0.75')
    assert _page_width(page) <= width

    on_disk = folder_files(version)
    name, data = _downloaded(page, page.get_by_role("link", name="Download checkpoint (.tar)"))
    assert name == "files-v1.tar"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}
    assert members == {f"files-v1/{path}": content for path, content in on_disk.items()}

    name, data = _downloaded(page, page.get_by_role("link", name="1_Pooling/config.json"))
    assert (name, data) == ("config.json", on_disk["1_Pooling/config.json"])


def test_a_labeler_is_refused_the_version_page_and_its_downloads(page, live_server, version):
    _log_in(page, live_server, "labeler")
    for path in ("", "checkpoint.tar", "files/arbiter.json"):
        response = page.request.get(f"{live_server.url}/projects/files/models/1/{path}")
        assert response.status == 403, path
    assert page.goto(f"{live_server.url}/projects/files/models/1/").status == 403
