"""A first version that has not shown it beats chance waits, pending evidence: an admin reads why
on the run page and the models page, and promotes it by hand over the page's warning, at a
desktop and a phone width. A lead reads the same reason and has no Promote button.

The run's gate decision is the real one (promotion_gate.promotion_decision) for a split that held
out no pairs, which needs no scores; its version is a checkpoint folder made here, so no
training runs."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.promotion_gate import PairEvidence, promotion_decision
from rewardtrain.runs import finite
from tests import factories
from tests.browser.checkpoint_folders import published_version
from tests.browser.test_phone_width_browser import _log_in, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "pending evidence: first version, no held-out pairs to show that it beats chance; an admin may promote it"
WARNING = "Promoting it overrules the promotion gate"


@pytest.fixture
def run():
    project = factories.project(slug="evidence")
    factories.member(project, "admin", username="admin")
    factories.member(project, "lead", username="lead")
    gate = finite(promotion_decision(current=None, current_invalid="", result=None, evidence=PairEvidence([], []), config=None))
    assert (gate["outcome"], gate["reason"]) == ("pending", REASON)
    metrics = {"gate": gate, "warm_start": False}
    version = published_version(
        project, 1, {"config.json": "{}", "arbiter.json": "{}"},
        status=gate["outcome"], rejected_reason=gate["reason"], metrics=metrics,
    )
    return TrainingRun.objects.create(
        project=project, status=TrainingRun.Status.SUCCEEDED, version=version, metrics=metrics,
        split={"fraction": 0.1, "n_train": 6, "n_heldout": 0}, finished_at=timezone.now(),
    )


def test_an_admin_reads_why_a_first_version_waits_and_promotes_it_over_the_warning(page_at, live_server, run):
    page, width = page_at
    _log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/projects/evidence/runs/{run.id}/")
    expect(page.get_by_text(f"Not promoted: {REASON}")).to_be_visible()
    expect(page.locator("#gate")).to_contain_text(f"Pending: {REASON}")
    expect(page.locator("#gate")).to_contain_text("otherwise it waits for an admin")
    assert _page_width(page) <= width

    page.get_by_role("link", name="All runs and versions").click()
    row = page.locator("tr", has=page.get_by_role("link", name="v1", exact=True))
    expect(row).to_contain_text("Pending evidence")
    expect(row).to_contain_text(REASON)
    expect(row.locator("[data-field=promote-warning]")).to_contain_text(WARNING)
    assert _page_width(page) <= width
    row.get_by_role("button", name="Promote").click()

    expect(page.get_by_text("v1 is now current.")).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("link", name="v1", exact=True))
    expect(row).to_contain_text("(current)")
    expect(row).to_contain_text(f"promoted by an admin over the gate: {REASON}")
    expect(row.get_by_role("button", name="Roll back")).to_be_visible()
    expect(page.locator("[data-field=promote-warning]")).to_have_count(0)
    version = RewardModelVersion.objects.get(pk=run.version_id)
    assert version.is_current and version.status == "published"


def test_a_lead_reads_the_reason_and_cannot_promote(page, live_server, run):
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/evidence/models/")
    row = page.locator("tr", has=page.get_by_role("link", name="v1", exact=True))
    expect(row).to_contain_text(REASON)
    expect(row.get_by_role("button", name="Promote")).to_have_count(0)
    assert page.request.post(f"{live_server.url}/projects/evidence/models/1/promote/").status == 403
    assert not RewardModelVersion.objects.get(pk=run.version_id).is_current
