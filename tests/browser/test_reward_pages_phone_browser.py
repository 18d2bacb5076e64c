"""At a 390 px phone width the reward-model pages (versions and runs, a run's detail) scroll no page sideways.

The runs and versions are rows made here, as a finished run leaves them: no training is needed to draw them.
"""

import pytest
from playwright.sync_api import expect

from rewardtrain.models import RewardModelVersion, TrainingRun
from tests import factories
from tests.browser.test_phone_width_browser import LONG_WORD, PHONE, _log_in, _page_width, phone  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE_MODEL = "/srv/models/" + "a-rather-long-folder-name/" * 4 + "bert-base-uncased"


@pytest.fixture
def trained_project():
    project = factories.project(slug="rewards", name="Reward models for a project with a long name")
    admin = factories.member(project, "admin", username="admin-with-a-long-username")
    first = RewardModelVersion.objects.create(
        project=project,
        version=1,
        path=f"/var/checkpoints/rewards/v1/{LONG_WORD}",
        metrics={"heldout_accuracy": 0.71},
        data_snapshot={"n_pairs": 1234},
        base_model=BASE_MODEL,
    )
    RewardModelVersion.objects.create(
        project=project,
        version=2,
        path="/var/checkpoints/rewards/v2",
        status=RewardModelVersion.Status.REJECTED,
        rejected_reason=f"Held-out accuracy fell below the current version's: {LONG_WORD}",
        metrics={"heldout_accuracy": 0.69},
        data_snapshot={"n_pairs": 1300},
        parent=first,
    )
    RewardModelVersion.objects.filter(pk=first.pk).update(is_current=True)
    history = [
        {"step": n, "train_loss": 0.7 - n / 100, "heldout_loss": 0.72 - n / 120, "heldout_accuracy": 0.5 + n / 100}
        for n in range(0, 21, 5)
    ]
    run = TrainingRun.objects.create(
        project=project,
        status=TrainingRun.Status.SUCCEEDED,
        requested_by=admin,
        progress={"step": 20, "total": 20, "loss": 0.5, "pairs_per_s": 12.5},
        history=history,
        metrics={"heldout_accuracy": 0.71, "heldout_loss": 0.55, "train_pairs_per_second": 12.5},
        split={"fraction": 0.1, "n_train": 1110, "n_heldout": 124, "heldout_ids_sha256": "f" * 64},
        options={"learning_rate": 2e-5, "epochs": 1, "base_model": BASE_MODEL},
        version=first,
    )
    return project, admin, run


def test_the_versions_and_runs_page_fits_a_phone(phone, live_server, trained_project):  # noqa: F811
    project, admin, _run = trained_project
    _log_in(phone, live_server, admin.username)
    phone.goto(f"{live_server.url}/projects/{project.slug}/models/")
    expect(phone.get_by_role("button", name="Roll back")).to_be_visible()
    expect(phone.locator("table#runs")).to_be_visible()
    assert _page_width(phone) <= PHONE["width"]


def test_a_run_s_page_fits_a_phone(phone, live_server, trained_project):  # noqa: F811
    project, admin, run = trained_project
    _log_in(phone, live_server, admin.username)
    phone.goto(f"{live_server.url}/projects/{project.slug}/runs/{run.id}/")
    expect(phone.locator("svg.rt-chart")).to_have_count(2)
    assert _page_width(phone) <= PHONE["width"]


def _gate(unit, new_right, current_right, n):
    """A gate as rewardtrain.runs records it, its figures made by the gate's own functions."""
    from rewardtrain import gate as stats

    new, current = stats.rate(new_right, n, 0.95, unit), stats.rate(current_right, n, 0.95, unit)
    test = stats.compare([1.0] * new_right + [0.0] * (n - new_right), [1.0] * current_right + [0.0] * (n - current_right), 0.95)
    return {"confidence": 0.95, "min_pairs": 50, "n_heldout": n, "unit": unit, "new": new, "current": current,
            "current_version": 1, "test": test, "outcome": "published", "passed": True,
            "reason": f"not worse with 95% confidence: new {new['shown']} against the current v1's {current['shown']}"}  # fmt: skip


@pytest.mark.parametrize("unit", ["pairs", "items"])
def test_the_gate_section_shows_both_versions_with_intervals_on_a_phone(phone, live_server, trained_project, unit):  # noqa: F811
    project, admin, run = trained_project
    run.metrics = {**run.metrics, "gate": _gate(unit, 70, 64, 100)}
    run.save(update_fields=["metrics"])
    _log_in(phone, live_server, admin.username)
    phone.goto(f"{live_server.url}/projects/{project.slug}/runs/{run.id}/")
    gate = phone.locator("section#gate")
    expect(gate.locator("tr[data-gate='new']")).to_contain_text(f"0.700 (95% interval 0.604–0.781, 100 {unit})")
    expect(gate.locator("tr[data-gate='current']")).to_contain_text("0.640")
    expect(gate).to_contain_text(f"exact McNemar test on the held-out {unit}")
    if unit == "items":  # a classifier has no rankings: no best-of-K column
        expect(gate.locator("thead th")).to_have_count(2)
    assert _page_width(phone) <= PHONE["width"]
