"""Under the real Content-Security-Policy, Chromium runs every script the pages need and
reports no violation: the Swagger docs render, the models page polls a running run."""

import pytest
from playwright.sync_api import expect

from rewardtrain.models import TrainingRun
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


@pytest.fixture
def violations(page):
    """Chromium's console reports of anything the policy blocked."""
    seen = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def test_swagger_docs_render_under_the_policy(page, live_server, lead, violations):
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Arbiter API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()  # the schema loaded and rendered
    assert violations == []


def test_models_page_polls_a_running_run_under_the_policy(page, live_server, project, lead, violations):
    run = TrainingRun.objects.create(project=project, status=TrainingRun.Status.RUNNING, requested_by=lead)
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/{project.slug}/models/")
    cell = page.locator(f'tr[data-run="{run.pk}"] [data-field="progress"]')
    expect(cell).to_have_text("")
    TrainingRun.objects.filter(pk=run.pk).update(progress={"step": 4, "total": 10, "loss": 0.5})
    expect(cell).to_contain_text("4/10, loss 0.500", timeout=6_000)  # run_progress.js polled and updated it
    assert violations == []
