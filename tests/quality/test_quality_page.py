"""The lead's quality page and its CSV downloads, on the hand-judged project (hand_judged.py)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from annotator.quality_charts import CHART_NAMES
from tests import factories
from tests.quality.hand_judged import ALPHA, BOB_REASON, hand_judged_project

pytestmark = pytest.mark.django_db

HOSTILE = '=1+2<script>alert("x")</script>'


@pytest.fixture
def judged():
    project = hand_judged_project()
    return project, factories.member(project, "lead", username="lead")


def _page(client, user, slug="judged"):
    client.force_login(user)
    return client.get(reverse("project_quality", args=[slug]))


def _csv(client, chart, slug="judged"):
    response = client.get(reverse("project_quality_csv", args=[slug, chart]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{slug}-{chart}.csv"'
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_shows_the_agreement_figures_and_the_items_they_rest_on(client, judged):
    response = _page(client, judged[1])
    assert response.status_code == 200
    rows = response.context["agreement_rows"]
    assert rows == [
        ("Agreement with the majority", "66.7%", 3),
        ("Krippendorff's alpha, pairwise (nominal)", f"{ALPHA:.3f}", 3),
        ("Krippendorff's alpha, ranking (ordinal)", "–", 0),
    ]
    page = response.content.decode()
    assert "<td>Agreement with the majority</td><td class=\"num\">66.7%</td><td class=\"num\">3</td>" in page
    assert f"<td class=\"num\">{ALPHA:.3f}</td>" in page


def test_the_labelers_table_has_every_column_marks_the_flagged_and_links_to_their_judgments(client, judged):
    response = _page(client, judged[1])
    by_name = {row["username"]: row for row in response.context["rows"]}
    headings = [column["heading"] for column in response.context["columns"]][1:]  # the username is the link
    ann, bob = (dict(zip(headings, by_name[name]["cells"])) for name in ("ann", "bob"))
    assert ann["Judgments"] == ("3", 3) and ann["Agreement"][0] == "66.7%" and ann["Agreement items"] == ("3", 3)
    assert ann["Gold accuracy"] == ("100.0%", 1.0) and ann["Gold items"] == ("3", 3)
    assert ann["Self-consistency"] == ("–", -1) and ann["Repeats"] == ("0", 0)
    assert ann["Longer wins"] == ("0.0%", 0.0) and ann["Ties"] == ("0.0%", 0.0) and ann["Both bad"] == ("0.0%", 0.0)
    assert ann["Median s"] == ("1.0", 1.0) and ann["Timed"] == ("3", 3) and ann["Too fast"] == ("3", 3)
    assert ann["Flags"] == ("", None) and not by_name["ann"]["flagged"]
    assert bob["Gold accuracy"][0] == "66.7%" and bob["Ties"][0] == "33.3%" and bob["Median s"] == ("4.0", 4.0)
    assert bob["Too fast"] == ("0", 0)
    assert bob["Flags"] == (BOB_REASON, None) and by_name["bob"]["flagged"]

    page = response.content.decode()
    assert page.count("<th") >= 16  # every column heading, the agreement table's too
    judgments = reverse("project_judgments", args=["judged"])
    assert f'<a href="{judgments}?labeler=ann">ann</a>' in page
    assert f'<a href="{judgments}?labeler=bob">bob</a>' in page
    assert '<tr class="flagged">' in page and escape(BOB_REASON) in page
    assert 'class="data sortable" id="labelers"' in page and "js/table_sort.js" in page


def test_the_charts_are_inline_svg_each_with_its_csv_link(client, judged):
    page = _page(client, judged[1]).content.decode()
    assert page.count("<svg") == len(CHART_NAMES) == 8
    for chart in CHART_NAMES:
        assert reverse("project_quality_csv", args=["judged", chart]) in page
    assert "<script src=" in page and "cdn" not in page.lower()
    # The agreement chart: a full-width bar is 560 - 150 - 56 = 354 units; 2/3 of it for each.
    assert page.count('width="236.0"') >= 2
    # ann's gold accuracy of 100 % is a full bar; bob's bar is drawn in the flagged colour.
    assert 'width="354.0"' in page and '<g class="flagged">' in page


def test_the_csv_of_each_chart_holds_its_numbers(client, judged):
    client.force_login(judged[1])
    assert _csv(client, "agreement") == [
        ["username", "agreement_with_majority", "agreement_items"],
        ["ann", str(2 / 3), "3"],
        ["bob", str(2 / 3), "3"],
    ]
    assert _csv(client, "gold-accuracy")[1:] == [["ann", "1.0", "3"], ["bob", str(2 / 3), "3"]]
    assert _csv(client, "self-consistency")[1:] == [["ann", "", "0"], ["bob", "", "0"]]  # no data: empty
    assert _csv(client, "tie-rate")[1:] == [["ann", "0.0", "3"], ["bob", str(1 / 3), "3"]]
    assert _csv(client, "median-seconds") == [
        ["username", "median_seconds", "timed"],
        ["ann", "1.0", "3"],
        ["bob", "4.0", "3"],
    ]
    today = timezone.now().astimezone(datetime.timezone.utc).date().isoformat()
    assert _csv(client, "judgments-per-day") == [["day", "judgments"], [today, "6"]]
    for chart in CHART_NAMES:
        _csv(client, chart)
    assert client.get(reverse("project_quality_csv", args=["judged", "passwords"])).status_code == 404


def test_an_empty_project_shows_dashes_and_no_charts(client, project, lead):
    response = _page(client, lead, project.slug)
    assert response.status_code == 200
    assert [value for _name, value, _items in response.context["agreement_rows"]] == ["–", "–", "–"]
    page = response.content.decode()
    assert "<svg" not in page and page.count("No judgments yet.") == 1 + len(CHART_NAMES)
    client.force_login(lead)
    assert _csv(client, "agreement", project.slug) == [["username", "agreement_with_majority", "agreement_items"]]


def test_the_project_page_links_to_the_quality_page(client, project, lead):
    client.force_login(lead)
    page = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert reverse("project_quality", args=[project.slug]) in page


@pytest.mark.parametrize("url", ["project_quality", "project_quality_csv"])
def test_leads_and_admins_may_labelers_get_403_and_outsiders_404(
    client, project, labeler, lead, admin_user, outsider, url
):
    args = [project.slug] if url == "project_quality" else [project.slug, "agreement"]
    target = reverse(url, args=args)
    for user, status in ((lead, 200), (admin_user, 200), (labeler, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(target).status_code == status, user.username
    client.force_login(factories.user("root", is_superuser=True))
    assert client.get(target).status_code == 200
    client.logout()
    assert client.get(target).status_code == 302  # to the login page
    client.force_login(lead)
    assert client.post(target).status_code == 405


def test_a_hostile_username_is_escaped_on_the_page_and_guarded_in_the_csv(client):
    project = hand_judged_project("hostile", ann=HOSTILE)
    lead = factories.member(project, "lead", username="lead")
    page = _page(client, lead, "hostile").content.decode()
    assert "<script>alert" not in page
    assert "=1+2&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # The link carries the name percent-encoded; the chart cuts it to 20 characters.
    assert "?labeler=%3D1%2B2%3Cscript%3Ealert%28%22x%22%29%3C/script%3E" in page
    assert "=1+2&lt;script&gt;alert(&quot;…" in page
    client.force_login(lead)
    rows = _csv(client, "agreement", "hostile")
    assert rows[1][0] == "'" + HOSTILE  # a spreadsheet shows it as text, never runs it
