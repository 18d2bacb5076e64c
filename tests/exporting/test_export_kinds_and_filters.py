"""Export kinds, forms and filters on the hand-built project of conftest.py (known answers)."""

import hashlib
import hmac
import json

import pytest

from annotator.exports import ExportOptionsError, export_count, export_options_from, export_stream

pytestmark = pytest.mark.django_db


def records(project, **params):
    options = export_options_from({"format": "jsonl", **params})
    return [json.loads(line) for line in "".join(export_stream(project=project, options=options)).splitlines()]


def ids(project, **params):
    return [r["judgment_id"] if r["source"] == "human" else "c3" for r in records(project, **params)]


def test_pairs_carry_margin_split_and_judgment_id(data):
    c1, c2, c3 = records(data.project)
    assert (c1["chosen"], c1["rejected"]) == ("-edited", "plain")
    assert [r["margin"] for r in (c1, c2, c3)] == [1.0, 0.0, 0.0]  # "much better" is training's margin 1.0
    assert [r["split"] for r in (c1, c2, c3)] == ["heldout", "train", "train"]
    assert [r["judgment_id"] for r in (c1, c2, c3)] == [data.judgments["j1"].id, data.judgments["j2"].id, None]
    assert c1["created_at"] == "2026-01-10T12:00:00.000000+00:00"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"since": "2026-01-15"}, ["j2", "c3"]),
        ({"until": "2026-01-20T12:00:00Z"}, ["j1"]),  # until is exclusive
        ({"since": "2026-01-10T12:00:00+00:00", "until": "2026-02-01"}, ["j1", "j2"]),
        ({"labelers": "bob"}, ["j2"]),
        ({"labelers": "alice, bob"}, ["j1", "j2"]),
        ({"source": "imported"}, ["c3"]),
        ({"source": "human"}, ["j1", "j2"]),
        ({"split": "heldout"}, ["j1"]),
        ({"split": "train"}, ["j2", "c3"]),
        ({"split": "train", "source": "human"}, ["j2"]),
    ],
)
def test_filters_pick_the_known_pairs(data, params, expected):
    named = {data.judgments["j1"].id: "j1", data.judgments["j2"].id: "j2", "c3": "c3"}
    assert [named[i] for i in ids(data.project, **params)] == expected
    assert export_count(project=data.project, options=export_options_from(params)) == len(expected)


def test_conversational_form_writes_message_lists(data):
    first = records(data.project, form="conversational")[0]
    assert first["prompt"] == [{"role": "user", "content": "Q held 4"}]
    assert first["chosen"] == [{"role": "assistant", "content": "-edited"}]
    assert first["rejected"] == [{"role": "assistant", "content": "plain"}]
    assert first["margin"] == 1.0


def test_hh_form_writes_whole_dialogues(data):
    first = records(data.project, form="hh")[0]
    assert (first["chosen"], first["rejected"]) == ("Q held 4-edited", "Q held 4plain")
    assert "prompt" not in first


def test_rankings_list_completions_best_first_and_the_excluded(data):
    (ranking,) = records(data.project, kind="rankings")
    assert ranking["prompt"] == "Q train" and ranking["annotator"] == "bob"
    assert (ranking["completions"], ranking["excluded"]) == (["two", "one"], ["three"])
    c = data.completions
    assert (ranking["completion_ids"], ranking["excluded_ids"]) == ([c["t2"].id, c["t1"].id], [c["t3"].id])
    assert ranking["judgment_id"] == data.judgments["j2"].id and ranking["split"] == "train"


def test_judgments_hold_everything_recorded(data):
    j1, j2 = records(data.project, kind="judgments")
    c = data.completions
    assert j1 == {
        "judgment_id": data.judgments["j1"].id,
        "prompt_id": "held",
        "prompt": "Q held 4",
        "annotator": "alice",
        "shown": [c["h1"].id, c["h2"].id],
        "shown_texts": ["=SUM(A1)", "plain"],
        "choice": "a",
        "ranking": [],
        "excluded": [],
        "labels": [],  # classify mode only
        "strength": "much",
        "comment": "@ look",
        "edited_completion_id": c["h3"].id,
        "edited_text": "-edited",
        "edit_original_id": c["h1"].id,
        "edit_original_text": "=SUM(A1)",
        "time_spent_ms": 4200,
        "created_at": "2026-01-10T12:00:00.000000+00:00",
        "lease_started_at": "2026-01-09T12:00:00.000000+00:00",
        "lease_expires_at": "2026-01-10T12:00:00.000000+00:00",
        "split": "heldout",
        "gold": False,  # the prompt is not a gold item
        "repeat_of": None,  # a first judgment, not a swapped repeat
    }
    assert (j2["choice"], j2["ranking"], j2["excluded"]) == ("", [c["t2"].id, c["t1"].id], [c["t3"].id])
    assert j2["lease_started_at"] is None and j2["edited_text"] is None


def test_judgments_are_human_so_asking_for_imported_ones_gives_none(data):
    assert records(data.project, kind="judgments", source="imported") == []
    assert len(records(data.project, kind="judgments", source="human")) == 2


def test_hashed_annotators_are_a_keyed_hash_stable_across_exports(data, settings):
    settings.SECRET_KEY = "key-one"
    expected = hmac.new(b"key-one", b"alice", hashlib.sha256).hexdigest()[:16]
    hashed = [r["annotator"] for r in records(data.project, hash_annotators="true")]
    assert hashed[0] == expected and hashed[2] is None and "bob" not in hashed
    assert records(data.project, kind="rankings", hash_annotators="1")[0]["annotator"] == hashed[1]
    settings.SECRET_KEY = "key-two"
    assert records(data.project, hash_annotators="true")[0]["annotator"] != expected


def test_other_kinds_ignore_the_pair_forms(data):
    assert records(data.project, kind="rankings", form="hh")[0]["completions"] == ["two", "one"]


@pytest.mark.parametrize(
    "params, field",
    [({"format": "xml"}, "format"), ({"kind": "votes"}, "kind"), ({"since": "yesterday"}, "since"),
     ({"split": "test"}, "split"), ({"source": "robot"}, "source")],
)
def test_bad_options_are_named(params, field):
    with pytest.raises(ExportOptionsError) as error:
        export_options_from(params)
    assert list(error.value.errors) == [field]


def test_strict_options_refuse_empty_values_and_bare_dates():
    assert export_options_from({"since": "", "labelers": ""}).since is None
    with pytest.raises(ExportOptionsError) as error:
        export_options_from({"since": "2026-01-01", "kind": "", "hash_annotators": "yes", "labelers": ""}, strict=True)
    assert set(error.value.errors) == {"since", "kind", "hash_annotators"}


def test_a_far_time_zone_offset_is_read_as_the_same_instant_in_utc(db):
    """+16:00 is valid ISO 8601 but out of PostgreSQL's range; found by schemathesis."""
    from datetime import datetime, timedelta, timezone

    from annotator.exports import export_count, export_options_from
    from tests import factories

    options = export_options_from({"since": "2000-01-01T00:00:00+16:00"}, strict=True)
    assert options.since == datetime(1999, 12, 31, 8, tzinfo=timezone.utc) and options.since.utcoffset() == timedelta(0)
    assert export_count(project=factories.project(), options=options) == 0
