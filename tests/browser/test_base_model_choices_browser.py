"""At a desktop and a 390 px phone width, a lead's settings page offers only loadable base models: the packaged model,
never its 1_Pooling sub-folder (which has a config.json but no weights or tokenizer); a project
still set to that folder is refused on save with what it lacks."""

import os

import pytest
from playwright.sync_api import expect

from rewardtrain.config import default_base_model
from tests import factories
from tests.browser.test_phone_width_browser import _log_in, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PACKAGED = os.path.realpath(default_base_model())


def save(page):
    page.get_by_role("button", name="Save settings").click()


def test_the_settings_dropdown_offers_the_packaged_model_and_not_its_pooling_folder(page_at, live_server):
    page, width = page_at
    project = factories.project(slug="models")
    factories.member(project, "lead", username="lead")
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/models/settings/")
    offered = page.locator("#id_base_model option").evaluate_all("options => options.map(o => o.value)")
    assert PACKAGED in offered and not any("1_Pooling" in value for value in offered)
    assert _page_width(page) <= width


def test_a_project_left_on_the_pooling_folder_is_refused_on_save_naming_what_it_lacks(page_at, live_server):
    page, _width = page_at
    pooling = os.path.join(PACKAGED, "1_Pooling")
    project = factories.project(slug="pooled", base_model=pooling)  # saved before the check existed
    factories.member(project, "lead", username="lead")
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/pooled/settings/")
    expect(page.locator("#id_base_model")).to_have_value(pooling)
    save(page)
    expect(page.get_by_text("this base model is not a loadable model folder: it has no weights")).to_be_visible()
    page.locator("#id_base_model").select_option(PACKAGED)
    save(page)
    expect(page.get_by_text("Saved: base_model.")).to_be_visible()
    project.refresh_from_db()
    assert project.base_model == PACKAGED
