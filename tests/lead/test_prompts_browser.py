"""The prompts browser: every prompt with its state, search, each filter, paging, who may see and
act, and each action on a selection through the page."""


import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotator.models import Assignment, AuditEntry, Prompt
from tests import factories
from tests.prompt_states import judgment, lease

pytestmark = pytest.mark.django_db


def listed(client, project, **query):
    response = client.get(reverse("project_prompts", args=[project.slug]), query)
    assert response.status_code == 200
    return response


def names(response, prompt_states):
    by_id = {p.pk: name for name, p in prompt_states.items()}
    return {by_id[row.prompt.pk] for row in response.context["rows"]}


def test_the_page_lists_every_prompt_with_its_state(client, project, lead, prompt_states):
    client.force_login(lead)
    response = listed(client, project)
    assert names(response, prompt_states) == set(prompt_states)
    rows = {row.prompt.external_id: row for row in response.context["rows"]}
    assert [lease.labeler for lease in rows["ext-held"].leases] == ["labeler"]
    assert rows["ext-stuck"].skipped_by == ["labeler", "lead", "other"]
    assert rows["ext-agreed"].agreement == 1.0 and rows["ext-disagreed"].agreement == 0.5
    assert rows["ext-plain"].agreement is None
    page = response.content.decode()
    assert "The quick brown fox" in page and "ext-held" in page and "until" in page
    assert "taken out" in page and "gold" in page and "50%" in page


def test_prompt_text_is_escaped_and_cut(client, project, lead):
    (prompt,) = factories.prompts(project, 1)
    Prompt.objects.filter(pk=prompt.pk).update(text="<script>alert(1)</script>" + "x" * 500)
    client.force_login(lead)
    page = listed(client, project).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x" * 200 not in page


@pytest.mark.parametrize(
    "filter_by, expected",
    [
        ("unfinished", {"plain", "held", "skipped", "stuck", "gold"}),
        ("held", {"held"}),
        ("skipped", {"skipped", "stuck"}),
        ("stuck", {"stuck"}),
        ("disagreement", {"disagreed"}),
        ("gold", {"gold"}),
        ("taken_out", {"taken"}),
    ],
)
def test_each_filter_shows_its_prompts(client, project, lead, prompt_states, filter_by, expected):
    client.force_login(lead)
    assert names(listed(client, project, filter=filter_by), prompt_states) == expected


def test_an_unknown_filter_is_a_400(client, project, lead, prompt_states):
    client.force_login(lead)
    response = client.get(reverse("project_prompts", args=[project.slug]), {"filter": "everything"})
    assert response.status_code == 400


def test_an_expired_lease_holds_nothing(client, project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    lease(prompt, labeler, minutes=-1)
    client.force_login(lead)
    assert not listed(client, project, filter="held").context["rows"]


def test_search_finds_a_substring_of_the_text_or_the_external_id_on_sqlite(client, project, lead, prompt_states, settings):
    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("SQLite's substring search")
    client.force_login(lead)
    assert names(listed(client, project, q="BROWN"), prompt_states) == {"plain"}
    assert names(listed(client, project, q="rown f"), prompt_states) == {"plain"}
    assert names(listed(client, project, q="ext-gol"), prompt_states) == {"gold"}
    assert names(listed(client, project, q="skipped by", filter="stuck"), prompt_states) == {"stuck"}


@pytest.mark.postgres
def test_search_is_full_text_on_postgresql(client, project, lead, prompt_states):
    client.force_login(lead)
    assert names(listed(client, project, q="BROWN"), prompt_states) == {"plain"}
    assert names(listed(client, project, q="fox quick"), prompt_states) == {"plain"}  # words, in any order
    assert names(listed(client, project, q="rown"), prompt_states) == set()  # whole words, not substrings
    assert names(listed(client, project, q="skipped -all"), prompt_states) == {"skipped"}
    assert names(listed(client, project, q="ext-gold"), prompt_states) == {"gold"}
    assert names(listed(client, project, q="skipped", filter="stuck"), prompt_states) == {"stuck"}


def test_fifty_a_page_with_the_search_kept(client, project, lead):
    factories.prompts(project, 120, text="Paged")
    client.force_login(lead)
    first = listed(client, project, q="Paged")
    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.num_pages == 3
    assert "q=Paged&amp;page=2" in first.content.decode()
    last = listed(client, project, q="Paged", page=3)
    assert len(last.context["rows"]) == 20
    assert {r.prompt.pk for r in first.context["rows"]}.isdisjoint(r.prompt.pk for r in last.context["rows"])


def test_a_page_takes_the_same_few_queries_however_busy_its_prompts(
    client, project, lead, labeler, django_assert_max_num_queries
):
    other = factories.member(project, "labeler", username="other")
    for prompt in factories.prompts(project, 50):
        lease(prompt, labeler)
        lease(prompt, other, Assignment.Status.SKIPPED)
        judgment(prompt, other, "a")
        Prompt.objects.filter(pk=prompt.pk).update(reserved_for=labeler)
    client.force_login(lead)
    with django_assert_max_num_queries(10):  # 9: session, user, role, labelers, count, page, leases, skips, judgments
        response = listed(client, project)
    assert len(response.context["rows"]) == 50


def test_a_labeler_gets_403_and_an_outsider_404(client, project, labeler, outsider):
    url = reverse("project_prompts", args=[project.slug])
    client.force_login(labeler)
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "take_out", "prompt_ids": [1]}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "take_out", "prompt_ids": [1]}).status_code == 404


def test_a_reviewer_reads_the_page_but_may_not_act(client, project, prompt_states):
    reviewer = factories.member(project, "reviewer", username="reviewer")
    client.force_login(reviewer)
    response = listed(client, project)
    assert names(response, prompt_states) == set(prompt_states)
    assert 'name="prompt_ids"' not in response.content.decode()
    url = reverse("project_prompts", args=[project.slug])
    assert client.post(url, {"action": "take_out", "prompt_ids": [prompt_states["plain"].pk]}).status_code == 403
    assert not Prompt.objects.get(pk=prompt_states["plain"].pk).taken_out


def act(client, project, query="", **data):
    url = reverse("project_prompts", args=[project.slug]) + query
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == url  # back to the same search, filter and page
    return [str(m) for m in response.context["messages"]]


def test_take_out_and_put_back_through_the_page(client, project, lead, prompt_states):
    client.force_login(lead)
    chosen = [prompt_states["plain"].pk, prompt_states["held"].pk]
    said = act(client, project, "?filter=unfinished", action="take_out", prompt_ids=chosen)
    assert said == ["2 prompts taken out of the queue"]
    assert set(Prompt.objects.filter(taken_out=True).values_list("pk", flat=True)) == {*chosen, prompt_states["taken"].pk}
    assert not Assignment.objects.filter(prompt=prompt_states["held"], expires_at__gt=timezone.now()).exists()
    assert act(client, project, action="put_back", prompt_ids=[prompt_states["plain"].pk]) == ["1 prompt put back in the queue"]
    assert not Prompt.objects.get(pk=prompt_states["plain"].pk).taken_out
    assert AuditEntry.objects.filter(action="prompt.take_out", actor=lead).exists()


def test_release_leases_through_the_page(client, project, lead, prompt_states):
    client.force_login(lead)
    said = act(client, project, action="release_leases", prompt_ids=[prompt_states["held"].pk, prompt_states["plain"].pk])
    assert said == ["1 prompt released from their leases"]
    assert not Assignment.objects.filter(prompt=prompt_states["held"], expires_at__gt=timezone.now()).exists()


def test_send_back_through_the_page(client, project, lead, prompt_states):
    client.force_login(lead)
    said = act(client, project, action="send_back", prompt_ids=[prompt_states["agreed"].pk])
    assert said == ["1 prompt sent back to the queue"]
    assert names(listed(client, project, filter="unfinished"), prompt_states) >= {"agreed"}


def test_lift_skips_through_the_page(client, project, lead, prompt_states):
    client.force_login(lead)
    said = act(client, project, action="lift_skips", prompt_ids=[prompt_states["stuck"].pk, prompt_states["skipped"].pk])
    assert said == ["2 prompts had their skips lifted"]
    assert not Assignment.objects.filter(status=Assignment.Status.SKIPPED).exists()
    assert names(listed(client, project, filter="stuck"), prompt_states) == set()


def test_reassign_to_a_named_labeler_through_the_page(client, project, lead, labeler, prompt_states):
    client.force_login(lead)
    page = listed(client, project).content.decode()
    assert '<option value="other">other</option>' in page
    said = act(client, project, action="reassign", labeler="other", prompt_ids=[prompt_states["plain"].pk])
    assert said == ["1 prompt reserved for other"]
    assert Prompt.objects.get(pk=prompt_states["plain"].pk).reserved_for.username == "other"


def test_a_refused_action_says_why(client, project, lead, prompt_states):
    client.force_login(lead)
    said = act(client, project, action="reassign", labeler="other", prompt_ids=[prompt_states["agreed"].pk])
    assert said == ['other already judged "ext-agreed".']
    assert act(client, project, action="reassign", prompt_ids=[prompt_states["plain"].pk]) == [
        "Pick the labeler to reassign them to."
    ]
    assert act(client, project, action="take_out") == ["Select one or more prompts first."]
    assert Prompt.objects.filter(taken_out=True).count() == 1


def test_another_projects_prompts_are_left_alone(client, project, lead):
    (theirs,) = factories.prompts(factories.project(), 1)
    client.force_login(lead)
    assert act(client, project, action="take_out", prompt_ids=[theirs.pk]) == ["0 prompts taken out of the queue"]
    assert not Prompt.objects.get(pk=theirs.pk).taken_out


def test_an_action_without_the_csrf_token_is_refused(project, lead, prompt_states):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)
    url = reverse("project_prompts", args=[project.slug])
    response = browser.post(url, {"action": "take_out", "prompt_ids": [prompt_states["plain"].pk]})
    assert response.status_code == 403
    assert not Prompt.objects.get(pk=prompt_states["plain"].pk).taken_out


def test_the_console_nav_links_the_page(client, project, lead):
    client.force_login(lead)
    page = client.get(reverse("project_judgments", args=[project.slug])).content.decode()
    assert reverse("project_prompts", args=[project.slug]) in page
