"""The RL audit page's "Make labeling items" form names a bad sample id with a 400 and makes
nothing: "²" (a digit to isdigit, not to int), 5,000 digits (past what int() reads) and 20
digits (past PostgreSQL's bigint) were 500s. A bad `order` falls back to the default view."""

import pytest

from annotator.models import Prompt

pytestmark = pytest.mark.django_db


def audit_url(project):
    return f"/projects/{project.slug}/rl-audit/"


@pytest.mark.parametrize("sample", ["²", "9" * 5000, "9" * 20, "-1", "1e3"])
def test_a_sample_id_that_is_no_id_is_a_400_naming_the_field(client, project, lead, sample):
    client.force_login(lead)
    response = client.post(audit_url(project), {"sample": ["1", sample], "order": "reward"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "sample" in page and "Not a sample id" in page
    assert not Prompt.objects.exists()


def test_an_empty_selection_is_still_a_message_and_back_to_the_list(client, project, lead):
    client.force_login(lead)
    response = client.post(audit_url(project), {"order": "length"}, follow=True)
    assert response.redirect_chain == [(f"{audit_url(project)}?order=length", 302)]
    assert "Tick the samples to send to labelers first." in response.content.decode()


@pytest.mark.parametrize("order", ["x\r\nSet-Cookie: a=b", "nosuch"])
def test_a_bad_order_returns_to_the_default_view(client, project, lead, order):
    client.force_login(lead)
    response = client.post(audit_url(project), {"order": order})
    assert response.status_code == 302 and response["Location"] == f"{audit_url(project)}?order=reward"


def test_labelers_and_outsiders_cannot_post_it(client, project, labeler, outsider):
    for user, status in ((labeler, 403), (outsider, 404)):
        client.force_login(user)
        assert client.post(audit_url(project), {"sample": ["1"]}).status_code == status
