"""A lead archives a project (its labeler no longer sees it, its export still downloads) and restores
it; an admin deletes one by typing its slug. In Chromium at a desktop and a phone width."""

import pytest
from playwright.sync_api import expect

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import AuditEntry, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]


def _logged_in(browser, live_server, viewport, username):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    return context, page


def _fits(page, viewport):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
def test_a_lead_archives_and_restores_a_project(browser, live_server, viewport):
    project = factories.project(slug="sunset", name="Sunset project")
    lead = factories.member(project, "lead", username="lead")
    labeler = factories.member(project, "labeler", username="labeler")
    factories.prompts(project, 2)
    judgment_record(
        assignment=assignment_next_for(annotator=labeler, project=project), result=JudgmentResult(choice="a"), client_id="b1"
    )
    lead_context, page = _logged_in(browser, live_server, viewport, lead.username)
    labeler_context, labeler_page = _logged_in(browser, live_server, viewport, labeler.username)
    expect(labeler_page.get_by_role("link", name="Sunset project")).to_be_visible()

    page.goto(f"{live_server.url}/projects/sunset/settings/")
    page.get_by_role("button", name="Archive project").click()
    expect(page.locator(".messages")).to_contain_text("is archived")
    expect(page.get_by_role("button", name="Save settings")).to_be_disabled()
    _fits(page, viewport)

    labeler_page.reload()
    expect(labeler_page.get_by_text("Sunset project")).to_have_count(0)
    labeler_page.goto(f"{live_server.url}/projects/sunset/label/")
    expect(labeler_page.get_by_role("heading", name="Archived project")).to_be_visible()
    expect(labeler_page.get_by_text("takes no more labels")).to_be_visible()
    _fits(labeler_page, viewport)

    page.goto(f"{live_server.url}/")
    archived = page.locator("table.archived")
    expect(archived).to_contain_text("Sunset project")
    _fits(page, viewport)
    archived.get_by_role("link", name="Export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename.startswith("sunset-pairs")
    assert len(download.value.path().read_bytes().splitlines()) == 1

    page.goto(f"{live_server.url}/projects/sunset/settings/")
    page.get_by_role("button", name="Restore project").click()
    expect(page.locator(".messages")).to_contain_text("is restored")
    expect(page.get_by_role("button", name="Save settings")).to_be_enabled()
    labeler_page.goto(f"{live_server.url}/")
    expect(labeler_page.get_by_role("link", name="Sunset project")).to_be_visible()
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["project.archive", "data.export", "project.restore"]
    lead_context.close()
    labeler_context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["desktop", "phone"])
def test_an_admin_deletes_a_project_by_typing_its_slug(browser, live_server, viewport, settings):
    project = factories.project(slug="doomed", name="Doomed project")
    admin = factories.member(project, "admin", username="admin")
    factories.prompts(project, 2)
    checkpoints = settings.ARBITER_CHECKPOINT_DIR / "doomed"
    (checkpoints / "v1").mkdir(parents=True)
    (checkpoints / "v1" / "model.safetensors").write_bytes(b"weights")
    context, page = _logged_in(browser, live_server, viewport, admin.username)

    page.goto(f"{live_server.url}/projects/doomed/settings/")
    _fits(page, viewport)
    page.fill("#confirm-slug", "doomd")
    page.get_by_role("button", name="Delete project").click()
    expect(page.locator(".messages")).to_contain_text("Type the project's slug, doomed, to delete it.")
    assert Project.objects.filter(slug="doomed").exists() and checkpoints.exists()

    page.fill("#confirm-slug", "doomed")
    page.get_by_role("button", name="Delete project").click()
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Doomed project (doomed) and its checkpoints are deleted")
    assert not Project.objects.filter(slug="doomed").exists()
    assert not checkpoints.exists()
    entry = AuditEntry.objects.get(action="project.delete")
    assert (entry.project_id, entry.project_slug, entry.actor_username) == (None, "doomed", "admin")
    context.close()
