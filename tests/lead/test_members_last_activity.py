"""The members page shows each member's last judgment in this project and last login."""

from datetime import datetime, timezone

import pytest
from django.urls import reverse

from annotator.models import Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def _judged(user, prompt, when):
    judgment = Judgment.objects.create(
        annotator=user, prompt=prompt, shown=[c.id for c in prompt.completions.all()], choice="a", client_id=str(when)
    )
    Judgment.objects.filter(pk=judgment.pk).update(created_at=when)


def _row(page, username):
    start = page.index(f"<td>{username}</td>")
    return page[start : page.index("</tr>", start)]


def test_lead_sees_each_members_last_judgment_here_and_last_login(client, project, lead, labeler):
    elsewhere = factories.project()
    first, second = factories.prompts(project, 2)
    _judged(labeler, first, datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc))
    _judged(labeler, second, datetime(2026, 3, 2, 10, 45, tzinfo=timezone.utc))
    _judged(labeler, factories.prompts(elsewhere, 1)[0], datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc))
    labeler.last_login = datetime(2026, 3, 5, 7, 15, tzinfo=timezone.utc)
    labeler.save()
    client.force_login(lead)
    page = client.get(reverse("project_members", args=[project.slug])).content.decode()
    row = _row(page, "labeler")
    assert "2026-03-02 10:45" in row and "2026-04-01" not in row  # the latest here, not another project's
    assert "2026-03-05 07:15" in row
    assert "never" in _row(page, "lead")  # no judgment here yet


def test_labelers_and_outsiders_do_not_see_the_members_page(client, project, labeler, outsider):
    for user in (labeler, outsider):
        client.force_login(user)
        assert client.get(reverse("project_members", args=[project.slug])).status_code in (403, 404)
