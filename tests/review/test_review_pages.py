"""The review pages: who may use them, the review queue one judgment at a time, the judgments
browser's review column and filter, a labeler's rejection on My recent judgments."""

import pytest
from django.urls import reverse

from annotator.models import Judgment
from annotator.review import judgment_review_accept, judgment_review_reject
from tests import factories
from tests.review.conftest import judge

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def post_review(client, project, judgment, **data):
    return client.post(reverse("judgment_review", args=[project.slug, judgment.pk]), data)


@pytest.mark.parametrize("name", ["project_review", "project_judgments", "project_quality"])
def test_a_reviewer_reads_the_review_judgments_and_quality_pages(client, project, reviewer, two_judged, name):
    response = login(client, reviewer).get(reverse(name, args=[project.slug]))
    assert response.status_code == 200


def test_a_reviewer_reads_a_judgment_without_the_gold_button(client, project, reviewer, two_judged):
    response = login(client, reviewer).get(reverse("judgment_detail", args=[project.slug, two_judged[0].pk]))
    assert response.status_code == 200
    assert b"judgment_gold" not in response.content and b"/gold/" not in response.content
    assert b'id="reject-form"' in response.content


@pytest.mark.parametrize(
    "name",
    [
        "project_settings",
        "project_members",
        "project_import",
        "project_export",
        "project_detail",
        "project_audit",
    ],
)
def test_a_reviewer_changes_no_settings_members_imports_or_exports(client, project, reviewer, name):
    assert login(client, reviewer).get(reverse(name, args=[project.slug])).status_code == 403


def test_a_reviewer_gets_no_gold_or_training(client, project, reviewer, two_judged):
    login(client, reviewer)
    assert post_review(client, project, two_judged[0], action="accept").status_code == 302
    gold = client.post(
        reverse("judgment_gold", args=[project.slug, two_judged[0].pk]),
        {"action": "mark"},
    )
    assert gold.status_code == 403
    assert client.post(reverse("api_train", args=[project.slug]), {}).status_code == 403


def test_labelers_get_403_and_outsiders_404_on_the_review_page_and_action(
    client, project, labeler, outsider, two_judged
):
    url = reverse("project_review", args=[project.slug])
    assert login(client, labeler).get(url).status_code == 403
    assert post_review(client, project, two_judged[0], action="accept").status_code == 403
    assert login(client, outsider).get(url).status_code == 404
    assert post_review(client, project, two_judged[0], action="accept").status_code == 404
    assert Judgment.objects.get(pk=two_judged[0].pk).review == ""


def test_the_review_queue_shows_the_oldest_unreviewed_judgment_and_skips_past_it(client, project, reviewer, two_judged):
    first, second = two_judged
    login(client, reviewer)
    url = reverse("project_review", args=[project.slug])
    page = client.get(url)
    assert page.context["judgment"].pk == first.pk
    assert page.context["progress"] == {"reviewed": 0, "total": 2, "left": 2}
    assert client.get(url, {"after": first.pk}).context["judgment"].pk == second.pk
    done = client.get(url, {"after": second.pk})
    assert done.context["judgment"] is None and b"after the ones you skipped" in done.content


def test_rejecting_from_the_queue_goes_on_to_the_next_and_keeps_skips(client, project, reviewer, two_judged):
    first, second = two_judged
    login(client, reviewer)
    back = reverse("project_review", args=[project.slug]) + "?after=0"
    response = post_review(client, project, first, action="reject", reason="Wrong one.", next=back)
    assert response.status_code == 302 and response.url == back
    page = client.get(response.url)
    assert page.context["judgment"].pk == second.pk
    assert page.context["progress"] == {"reviewed": 1, "total": 2, "left": 1}
    assert Judgment.objects.get(pk=first.pk).review_reason == "Wrong one."


def test_a_rejection_without_a_reason_is_refused_with_a_message(client, project, reviewer, two_judged):
    login(client, reviewer)
    response = post_review(client, project, two_judged[0], action="reject", reason=" ")
    assert response.status_code == 302
    assert Judgment.objects.get(pk=two_judged[0].pk).review == ""
    page = client.get(response.url)
    assert b"Say why it is rejected" in page.content


def test_the_review_action_never_redirects_off_site(client, project, reviewer, two_judged):
    response = post_review(
        login(client, reviewer),
        project,
        two_judged[0],
        action="accept",
        next="https://evil.example/",
    )
    assert response.url == reverse("judgment_detail", args=[project.slug, two_judged[0].pk])


def test_nobody_sees_their_own_judgment_in_the_review_queue(client, project, lead, two_judged):

    factories.prompts(project, 1)
    own = judge(project, lead, "mine")
    page = login(client, lead).get(reverse("project_review", args=[project.slug]), {"after": two_judged[1].pk})
    assert own.pk > two_judged[1].pk and page.context["judgment"] is None


@pytest.mark.parametrize(
    "review, expected",
    [
        ("", {"accepted", "rejected", "open"}),
        ("none", {"open"}),
        ("accepted", {"accepted"}),
        ("rejected", {"rejected"}),
    ],
)
def test_the_judgments_browser_filters_by_review(client, project, labeler, reviewer, review, expected):

    factories.prompts(project, 3)
    judged = {name: judge(project, labeler, name) for name in ("accepted", "rejected", "open")}
    judgment_review_accept(judgment=judged["accepted"], actor=reviewer)
    judgment_review_reject(judgment=judged["rejected"], actor=reviewer, reason="No.")
    response = login(client, reviewer).get(reverse("project_judgments", args=[project.slug]), {"review": review})
    assert response.status_code == 200
    assert {j.pk for j in response.context["page"]} == {judged[name].pk for name in expected}


def test_the_judgments_browser_shows_each_review_with_its_reason(client, project, reviewer, two_judged):
    judgment_review_reject(judgment=two_judged[0], actor=reviewer, reason="Picked <the> longer one.")
    content = login(client, reviewer).get(reverse("project_judgments", args=[project.slug])).content.decode()
    assert "rejected" in content and "Picked &lt;the&gt; longer one." in content
    assert f'aria-label="Accept judgment {two_judged[1].pk}"' in content


def test_a_labeler_reads_the_rejection_and_its_reason_on_my_recent_judgments(
    client, project, labeler, reviewer, two_judged
):
    judgment_review_reject(judgment=two_judged[0], actor=reviewer, reason="Read the <b>question</b> again.")
    judgment_review_accept(judgment=two_judged[1], actor=reviewer)
    content = login(client, labeler).get(reverse("my_judgments", args=[project.slug])).content.decode()
    assert "Rejected by a reviewer:" in content
    assert "Read the &lt;b&gt;question&lt;/b&gt; again." in content
    assert "Accepted by a reviewer." in content


def test_the_quality_page_gives_each_labelers_acceptance_rate(client, project, labeler, reviewer, two_judged):

    factories.prompts(project, 2)
    third, fourth = judge(project, labeler, "j3"), judge(project, labeler, "j4")
    judgment_review_reject(judgment=two_judged[0], actor=reviewer, reason="No.")
    for judgment in (two_judged[1], third, fourth):
        judgment_review_accept(judgment=judgment, actor=reviewer)
    response = login(client, reviewer).get(reverse("project_quality", args=[project.slug]))
    assert response.context["acceptance"] == [
        {
            "username": "labeler",
            "accepted": 3,
            "rejected": 1,
            "reviewed": 4,
            "rate": 0.75,
        }
    ]
    assert b"75%" in response.content


def test_the_reviewer_role_can_be_granted_on_the_members_page(client, project, lead):

    factories.user("rita")
    response = login(client, lead).post(
        reverse("project_members", args=[project.slug]),
        {"username": "rita", "role": "reviewer", "password": ""},
    )
    assert response.status_code == 302
    assert project.memberships.get(user__username="rita").role == "reviewer"
