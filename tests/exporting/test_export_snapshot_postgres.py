"""On PostgreSQL an export is one snapshot: a change committed while it streams is not in it."""

import json

import pytest
from django.db import connections

from annotator import export_formats, exports
from annotator.exports import export_options_from, export_stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_change_committed_mid_export_is_not_in_the_file(data, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 1)  # one judgment per chunk, so j2's texts are read later
    monkeypatch.setattr(export_formats, "BATCH_ROWS", 1)
    stream = export_stream(project=data.project, options=export_options_from({"kind": "judgments"}))
    first = json.loads(next(stream))
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # autocommit: committed at once
            cursor.execute("UPDATE annotator_completion SET text = 'changed' WHERE id = %s", [data.completions["t1"].id])
    finally:
        other.close()
    second = json.loads("".join(stream))
    assert first["judgment_id"] == data.judgments["j1"].id
    assert second["shown_texts"] == ["one", "two", "three"]
