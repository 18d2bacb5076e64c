"""GET /api/v1/projects/{slug}/quality/: the quality report as JSON, for leads and admins."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories
from tests.quality.hand_judged import ALPHA, BOB_REASON, hand_judged_project, left_rate

pytestmark = pytest.mark.django_db

LABELER_KEYS = {
    "username", "judgments", "agreement_with_majority", "agreement_items", "gold_accuracy", "gold_items",
    "self_consistency", "repeats", "left_rate", "longer_wins_rate", "tie_rate", "both_bad_rate",
    "median_seconds", "timed", "fast", "flagged", "flag_reasons",
}  # fmt: skip


def _api(user):
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _get(user, slug):
    return _api(user).get(f"/api/v1/projects/{slug}/quality/")


def test_the_report_has_the_figures_worked_out_by_hand():
    project = hand_judged_project()
    response = _get(factories.member(project, "lead"), project.slug)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"agreement", "labelers", "overall", "throughput"}
    agreement = body["agreement"]
    assert agreement["with_majority"] == pytest.approx(2 / 3) and agreement["items"] == 3
    assert agreement["krippendorff_alpha"] == pytest.approx(ALPHA)
    assert agreement["pairwise"] == {
        "with_majority": pytest.approx(2 / 3),
        "krippendorff_alpha": pytest.approx(ALPHA),
        "items": 3,
    }
    assert agreement["ranking"] == {"with_majority": None, "krippendorff_alpha": None, "items": 0}

    ann, bob = body["labelers"]
    assert set(ann) == set(bob) == LABELER_KEYS
    assert ann == {
        "username": "ann",
        "judgments": 3,
        "agreement_with_majority": pytest.approx(2 / 3),
        "agreement_items": 3,
        "gold_accuracy": 1.0,
        "gold_items": 3,
        "self_consistency": None,
        "repeats": 0,
        "left_rate": pytest.approx(left_rate(project, "ann")),
        "longer_wins_rate": 0.0,
        "tie_rate": 0.0,
        "both_bad_rate": 0.0,
        "median_seconds": 1.0,
        "timed": 3,
        "fast": 3,
        "flagged": False,  # 3 fast judgments, but fewer than 5 timed ones say too little
        "flag_reasons": [],
    }
    assert bob["username"] == "bob" and bob["gold_accuracy"] == pytest.approx(2 / 3)
    assert bob["tie_rate"] == pytest.approx(1 / 3) and bob["longer_wins_rate"] == 0.0
    assert bob["left_rate"] == pytest.approx(left_rate(project, "bob")) and bob["median_seconds"] == 4.0
    assert (bob["flagged"], bob["flag_reasons"]) == (True, [BOB_REASON])

    assert body["overall"]["judgments"] == 6 and body["overall"]["tie_rate"] == pytest.approx(1 / 6)
    assert body["overall"]["median_seconds"] == 2.5
    today = timezone.now().astimezone(datetime.timezone.utc).date().isoformat()
    assert body["throughput"] == {
        "per_day": [{"day": today, "judgments": 6}],
        "per_labeler_day": [
            {"day": today, "judgments": 3, "username": "ann"},
            {"day": today, "judgments": 3, "username": "bob"},
        ],
    }


def test_figures_without_data_are_null(project, lead):
    body = _get(lead, project.slug).json()
    assert body["agreement"] == {
        "with_majority": None,
        "krippendorff_alpha": None,
        "items": 0,
        "pairwise": {"with_majority": None, "krippendorff_alpha": None, "items": 0},
        "ranking": {"with_majority": None, "krippendorff_alpha": None, "items": 0},
        "labels": {"with_majority": None, "krippendorff_alpha": None, "items": 0},
    }
    assert body["labelers"] == [] and body["throughput"] == {"per_day": [], "per_labeler_day": []}
    assert body["overall"]["left_rate"] is None and body["overall"]["median_seconds"] is None


def test_leads_and_admins_may_labelers_get_403_outsiders_404_anonymous_401(
    project, labeler, lead, admin_user, outsider
):
    assert _get(lead, project.slug).status_code == 200
    assert _get(admin_user, project.slug).status_code == 200
    assert _get(factories.user("root", is_superuser=True), project.slug).status_code == 200
    denied = _get(labeler, project.slug)
    assert denied.status_code == 403 and "detail" in denied.json()
    assert _get(outsider, project.slug).status_code == 404
    assert _get(lead, "no-such-project").status_code == 404
    assert _get(None, project.slug).status_code == 401


def test_the_schema_documents_the_operation(client, lead):
    client.force_login(lead)
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/projects/{slug}/quality/"]["get"]
    assert set(operation["responses"]) >= {"200", "403", "404"}
    labeler = schema["components"]["schemas"]["QualityLabeler"]
    assert set(labeler["properties"]) == LABELER_KEYS
    assert labeler["properties"]["gold_accuracy"]["nullable"] is True


def test_a_classify_projects_agreement_is_on_its_labels(client):
    from annotator.judgments import JudgmentResult, judgment_record
    from annotator.models import Assignment
    from annotator.queue import assignment_next_for
    from tests import factories

    project = factories.project(mode="classify", labels=["ok", "bad"], positive_label="ok", completions_shown=2, overlap=2)
    factories.prompts(project, 1)
    for name in ("ann", "bob"):
        user = factories.member(project, "labeler", username=name)
        lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=user, project=project).pk)
        first, second = sorted(lease.shown)
        judgment_record(assignment=lease, result=JudgmentResult(labels={first: "ok", second: "bad"}), client_id=name)
    client.force_login(factories.member(project, "lead"))
    body = client.get(f"/api/v1/projects/{project.slug}/quality/").json()
    assert body["agreement"]["with_majority"] == 1.0 and body["agreement"]["items"] == 2
    assert body["agreement"]["labels"]["items"] == 2 and body["agreement"]["pairwise"]["items"] == 0
    page = client.get(f"/projects/{project.slug}/quality/").content.decode()
    assert "Krippendorff&#x27;s alpha, labels (nominal)" in page or "Krippendorff's alpha, labels (nominal)" in page
