"""On PostgreSQL, JSONL and CSV read timestamps as ISO text (no datetime round trip): the text
must be exactly what datetime.isoformat(timespec="microseconds") writes, and the connection must read datetimes again
once the export is over."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from django.db import connection

from annotator.exports import export_options_from, export_stream
from annotator.models import Comparison, Judgment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MOMENTS = [
    datetime(2026, 1, 10, 12, 0, 0, tzinfo=timezone.utc),  # no fraction: written .000000 all the same
    datetime(2026, 3, 1, 7, 5, 9, 120_000, tzinfo=timezone.utc),
    datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc),
]


def exported(project, **params):
    return "".join(export_stream(project=project, options=export_options_from(params)))


def test_jsonl_and_csv_times_are_isoformat_exactly_and_the_loader_is_put_back(data):
    rows = list(Comparison.objects.filter(project=data.project).order_by("id"))
    for row, moment in zip(rows, MOMENTS * len(rows)):
        Comparison.objects.filter(pk=row.pk).update(created_at=moment)
    expected = [m.isoformat(timespec="microseconds") for m, _ in zip(MOMENTS * len(rows), rows)]

    lines = [json.loads(line) for line in exported(data.project).splitlines()]
    assert [line["created_at"] for line in lines] == expected
    table = list(csv.DictReader(io.StringIO(exported(data.project, format="csv"))))
    assert [row["created_at"] for row in table] == expected
    judgments = [json.loads(line) for line in exported(data.project, kind="judgments").splitlines()]
    by_id = {j.id: j for j in Judgment.objects.filter(prompt__project=data.project).select_related("assignment")}
    for line in judgments:
        judgment = by_id[line["judgment_id"]]
        assert line["created_at"] == judgment.created_at.isoformat(timespec="microseconds")
        leased = judgment.assignment.created_at.isoformat(timespec="microseconds") if judgment.assignment else None
        assert line["lease_started_at"] == leased

    assert isinstance(Comparison.objects.values_list("created_at", flat=True).first(), datetime)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        assert isinstance(cursor.fetchone()[0], datetime)
