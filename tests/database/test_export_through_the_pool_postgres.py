"""An export streams through a server-side cursor, chunk by chunk, on a pooled connection too; behind
pgbouncer in transaction mode (no server-side cursors) it still writes every row."""

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotator import exports
from annotator.exports import export_options_from, export_stream
from annotator.models import Comparison, Completion
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = exports.EXPORT_CHUNK_ROWS + 500  # more than one chunk: the cursor is fetched from twice


@pytest.fixture
def many_pairs(project):
    prompts = factories.prompts(project, 50)
    pairs = [list(Completion.objects.filter(prompt=prompt).order_by("id")) for prompt in prompts]
    Comparison.objects.bulk_create(
        Comparison(project=project, prompt=pair[0].prompt, chosen=pair[i % 2], rejected=pair[1 - i % 2], source="imported")
        for i in range(ROWS)
        for pair in [pairs[i % len(pairs)]]
    )
    return project


def open_server_side_cursors():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE NOT is_holdable")
        return cursor.fetchone()[0]


def test_a_pooled_export_reads_through_a_server_side_cursor_and_writes_every_row(pooled, many_pairs):
    stream = export_stream(project=many_pairs, options=export_options_from({"kind": "pairs"}))
    first = next(stream)
    assert open_server_side_cursors() == 1  # the rows come chunk by chunk, not loaded whole
    lines = (first + "".join(stream)).splitlines()
    assert len(lines) == ROWS
    assert {json.loads(line)["source"] for line in lines} == {"imported"}
    assert connection.connection._pool is pooled


def test_a_pooled_export_through_the_api_writes_every_row(pooled, many_pairs, lead):
    client = APIClient()
    client.force_authenticate(lead)
    response = client.get(f"/api/v1/projects/{many_pairs.slug}/export/", {"kind": "pairs", "format": "csv"})
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode().splitlines()) == ROWS + 1  # and the header


def test_without_server_side_cursors_an_export_still_writes_every_row(pooled, many_pairs, monkeypatch):
    # What ARBITER_PGBOUNCER_TRANSACTION_MODE=1 sets.
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    stream = export_stream(project=many_pairs, options=export_options_from({"kind": "pairs"}))
    first = next(stream)
    assert open_server_side_cursors() == 0
    assert len((first + "".join(stream)).splitlines()) == ROWS
