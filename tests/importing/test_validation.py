import json

import pytest

from annotator.imports import ImportFailed, LineError, import_file
from annotator.models import Completion, Prompt

pytestmark = pytest.mark.django_db

GOOD = {"prompt": "p", "completions": ["a", "b"]}


def errors_for(project, data, **kwargs):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, **kwargs)
    return [str(e) for e in failed.value.errors]


def lines(*records):
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


def test_each_bad_line_is_named_with_its_field_and_reason(project):
    data = lines(
        {"id": "1", **GOOD},
        {"id": "2", "prompt": "", "completions": ["a", "b"]},
        {"id": "3", "prompt": "p3", "completions": ["only one"]},
        {"id": "4", "prompt": "p4", "completions": ["a", {"model": "m"}]},
        "[1, 2]",
        "{not json",
        {"id": "7", "prompt": "p7", "completions": ["a", "a"]},
        {"id": "1", "prompt": "p8", "completions": ["a", "b"]},
    )
    assert errors_for(project, data, filename="x.jsonl") == [
        "line 2, prompt: empty",
        "line 3, completions: 1 completion; each prompt needs 2 to 9 (a project shows 2 to 9 per item)",
        "line 4, completions[1].text: required",
        "line 5: must be a JSON object, got list",
        "line 6: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        "line 7, completions[1]: same text as completions[0]",
        "line 8, id: id '1' is also on line 1",
    ]


def test_more_than_nine_completions_is_an_error(project):
    data = lines({"prompt": "p", "completions": [str(i) for i in range(10)]})
    assert errors_for(project, data) == [
        "line 1, completions: 10 completions; each prompt needs 2 to 9 (a project shows 2 to 9 per item)"
    ]


def test_one_bad_line_among_good_ones_changes_nothing(project):
    good = [{"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]} for i in range(50)]
    data = lines(*good[:30], {"id": "x", "prompt": "p", "completions": "ab"}, *good[30:])
    assert errors_for(project, data) == ["line 31, completions: required: a list of texts or objects"]
    assert Prompt.objects.count() == 0 and Completion.objects.count() == 0


def test_csv_errors_count_the_header_as_line_one(project):
    data = b"id,prompt,completion_1,completion_2\n1,p,a,b\n2,q,a,\n3,r,a,b,extra\n"
    assert errors_for(project, data, filename="x.csv") == [
        "line 3, completions: 1 completion; each prompt needs 2 to 9 (a project shows 2 to 9 per item)",
        "line 4: 5 cells, the header has 4",
    ]


def test_csv_without_the_needed_columns_is_refused(project):
    assert errors_for(project, b"question,answer\nq,a\n", filename="x.csv") == [
        "line 1, header: needs the columns prompt, completion_1 and completion_2 (up to completion_9)"
    ]


def test_text_over_the_limit_says_its_size_and_the_setting(project, settings):
    settings.ARBITER_MAX_TEXT_CHARS = 100_000
    data = lines({"prompt": "p", "completions": ["a", "b", "x" * 120_512]})
    assert errors_for(project, data) == [
        "line 1, completions[2]: 120,512 characters, the limit is 100,000 (ARBITER_MAX_TEXT_CHARS)"
    ]


def test_file_over_the_size_limit_is_refused_before_parsing(project, settings):
    settings.ARBITER_MAX_IMPORT_BYTES = 100
    data = lines(*[{"id": str(i), **GOOD} for i in range(10)])
    assert errors_for(project, data) == [f"file: {len(data):,} bytes, the limit is 100 (ARBITER_MAX_IMPORT_BYTES)"]


def test_invalid_utf8_names_every_line_it_is_on(project):
    data = lines(GOOD) + b'\n{"prompt": "caf\xe9", "completions": ["a", "b"]}\n\n\xff'
    assert errors_for(project, data) == [
        "line 2: not valid UTF-8 (byte 0xe9 at column 16)",
        "line 4: not valid UTF-8 (byte 0xff at column 1)",
    ]
    assert Prompt.objects.count() == 0


def test_the_same_prompt_twice_without_ids_is_an_error(project):
    assert errors_for(project, lines(GOOD, GOOD)) == [
        "line 2, prompt: same prompt as line 1; give each an id to keep both"
    ]


def test_hh_dialogues_without_a_shared_assistant_turn_are_an_error(project):
    data = lines({"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: c\n\nAssistant: d"})
    assert errors_for(project, data, format="hh") == ['line 1, chosen: the dialogues share no "\\n\\nAssistant:" turn']


def test_a_pair_id_naming_a_prompt_with_other_text_is_an_error(project):
    import_file(project=project, data=lines({"id": "q", **GOOD}))
    data = lines({"prompt_id": "q", "prompt": "another prompt", "chosen": "a", "rejected": "b"})
    assert errors_for(project, data, format="pairs") == [
        "line 1, prompt: prompt id 'q' is already in the project with a different text"
    ]


def test_line_error_reads_as_a_sentence():
    assert str(LineError(7, "completions[2]", "too long")) == "line 7, completions[2]: too long"
    assert str(LineError(None, "", "too big")) == "file: too big"
