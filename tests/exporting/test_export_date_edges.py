"""Export dates at the calendar's edges are a 400 naming the field (the export page shows it), not a
500: 0001-01-01 at +14:00 is before year 1 in UTC, 9999-12-31 at -14:00 after year 9999."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.exports import ExportOptionsError, export_options_from

pytestmark = pytest.mark.django_db

EDGES = [
    ("since", "0001-01-01T00:00:00+14:00"),
    ("until", "9999-12-31T23:59:59-14:00"),
    ("since", "0001-01-01T00:00:00+23:59"),
]


@pytest.mark.parametrize("name, moment", EDGES)
def test_the_export_api_answers_a_date_beyond_the_calendar_with_400_naming_it(data, lead, name, moment):
    client = APIClient()
    client.force_authenticate(lead)
    response = client.get(f"/api/v1/projects/{data.project.slug}/export/", {name: moment})
    assert response.status_code == 400
    assert "Out of range" in response.json()["errors"][name][0]


@pytest.mark.parametrize("name, moment", EDGES)
def test_the_export_page_shows_a_date_beyond_the_calendar_as_a_field_error(client, data, lead, name, moment):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[data.project.slug]), {name: moment, "download": "1"})
    assert response.status_code == 200 and not response.streaming
    assert "Out of range" in response.content.decode()


def test_the_calendars_own_edges_in_utc_are_still_taken(data):
    options = export_options_from({"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"})
    assert options.since.year == 1 and options.until.year == 9999


def test_the_options_refuse_it_by_name_for_every_caller():
    with pytest.raises(ExportOptionsError) as refused:
        export_options_from({"since": "0001-01-01T00:00:00+14:00"}, strict=True)
    assert set(refused.value.errors) == {"since"}
