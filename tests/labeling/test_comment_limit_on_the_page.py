"""The labeling page's comment allows ARBITER_MAX_TEXT_CHARS characters, as the API and the service do."""

import pytest
from django.conf import settings
from django.urls import reverse

from annotator.models import Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_plain_form_stores_a_comment_over_ten_thousand_characters_within_the_setting(client, project, labeler):
    assert settings.ARBITER_MAX_TEXT_CHARS > 10_001
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    client.force_login(labeler)
    data = {"assignment": assignment.pk, "client_id": "c1", "choice": "a", "comment": "y" * 10_001}
    assert client.post(reverse("label", args=[project.slug]), data).status_code == 302
    assert len(Judgment.objects.get().comment) == 10_001


def test_the_comment_box_takes_the_setting_as_its_maxlength(client, project, labeler, settings):
    settings.ARBITER_MAX_TEXT_CHARS = 1234
    factories.prompts(project, 1)
    client.force_login(labeler)
    page = client.get(reverse("label", args=[project.slug])).content.decode()
    assert 'name="comment" rows="2" maxlength="1234"' in page
