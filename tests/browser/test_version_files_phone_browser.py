"""At a 390 px phone width a version's page (model card, files, arbiter.json) scrolls no page sideways.

The checkpoint is a folder made here with the files the page reads and a pinned manifest: no training is needed to draw it.
"""

import json

import pytest
from django.conf import settings
from playwright.sync_api import expect

from rewardtrain.checkpoints import manifest_pin, write_manifest
from rewardtrain.models import RewardModelVersion
from tests import factories
from tests.browser.test_phone_width_browser import LONG_WORD, PHONE, _log_in, _page_width, phone  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def version():
    project = factories.project(slug="rewards", name="Reward models for a project with a long name")
    lead = factories.member(project, "lead", username="lead-with-a-long-username")
    folder = settings.ARBITER_CHECKPOINT_DIR / project.slug / "v1"
    folder.mkdir(parents=True)
    card = f"# rewards-v1\n\nTrained from `{LONG_WORD}`.\n\n```\npython -c \"{LONG_WORD * 2}\"\n```\n\n| metric | value |\n|---|---|\n| {LONG_WORD} | 0.71 |\n"
    (folder / "README.md").write_text(card)
    (folder / "arbiter.json").write_text(json.dumps({"base_model": LONG_WORD, "metrics": {"heldout_accuracy": 0.71}}))
    (folder / f"tokenizer-{LONG_WORD.replace('/', '-')}.json"[:200]).write_text("{}")
    write_manifest(folder)
    pin = manifest_pin(folder)
    RewardModelVersion.objects.create(
        project=project, version=1, path=str(folder), manifest_sha256=pin.sha256, manifest_size=pin.size
    )
    return project, lead


def test_a_version_s_page_fits_a_phone(phone, live_server, version):  # noqa: F811
    project, lead = version
    _log_in(phone, live_server, lead.username)
    phone.goto(f"{live_server.url}/projects/{project.slug}/models/1/")
    expect(phone.locator(".model-card h1")).to_have_text("rewards-v1")
    expect(phone.locator("[data-field=arbiter-json]")).to_contain_text('"heldout_accuracy": 0.71')
    expect(phone.get_by_role("link", name="Download checkpoint (.tar)")).to_be_visible()
    assert _page_width(phone) <= PHONE["width"]
