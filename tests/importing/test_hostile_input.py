"""Text a database cannot store is a line-numbered error, never a 500.

PostgreSQL's text and jsonb refuse NUL, no database takes a lone surrogate (it is not
UTF-8), and JSON columns take no NaN or Infinity; Python's json reads all of them.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.imports import ImportFailed, import_file
from annotator.models import Comparison, Prompt

pytestmark = pytest.mark.django_db

NUL = "contains a NUL character (\\u0000), which cannot be stored"
SURROGATE = "contains a lone surrogate (\\ud800), which is not valid Unicode"
GOOD = '{"id": "good", "prompt": "p", "completions": ["a", "b"]}'

# (format, one line as written in the file, the error it must give)
HOSTILE = [
    ("jsonl", r'{"prompt": "a\u0000b", "completions": ["a", "b"]}', f"line 1, prompt: {NUL}"),
    ("jsonl", r'{"prompt": "p", "completions": ["a", "b\ud800"]}', f"line 1, completions[1]: {SURROGATE}"),
    ("jsonl", r'{"prompt": "p", "completions": ["a", {"text": "b", "model": "m\ud800"}]}',
     f"line 1, completions[1].model: {SURROGATE}"),
    ("jsonl", r'{"id": "x\u0000", "prompt": "p", "completions": ["a", "b"]}', f"line 1, id: {NUL}"),
    ("jsonl", '{"prompt": "p", "metadata": {"score": NaN}, "completions": ["a", "b"]}',
     "line 1, metadata.score: NaN is not a number JSON can store"),
    ("jsonl", '{"prompt": "p", "completions": [{"text": "a", "metadata": {"t": Infinity}}, "b"]}',
     "line 1, completions[0].metadata.t: Infinity is not a number JSON can store"),
    ("jsonl", '{"prompt": "p", "metadata": {"xs": [1, -Infinity]}, "completions": ["a", "b"]}',
     "line 1, metadata.xs[1]: -Infinity is not a number JSON can store"),
    ("jsonl", '{"prompt": "p", "metadata": {"big": 1e999}, "completions": ["a", "b"]}',
     "line 1, metadata.big: Infinity is not a number JSON can store"),
    ("jsonl", r'{"prompt": "p", "metadata": {"k\u0000": 1}, "completions": ["a", "b"]}', f"line 1, metadata: a key {NUL}"),
    ("jsonl", r'{"prompt": "p", "metadata": {"deep": [{"x": "\u0000"}]}, "completions": ["a", "b"]}',
     f"line 1, metadata.deep[0].x: {NUL}"),
    ("pairs", r'{"prompt": "p", "chosen": "a\u0000", "rejected": "b"}', f"line 1, chosen: {NUL}"),
    ("pairs", '{"prompt": "p", "chosen": "a", "rejected": "b", "score": NaN}',
     "line 1, score: NaN is not a number JSON can store"),
    ("hh", r'{"chosen": "\n\nHuman: hi\n\nAssistant: a", "rejected": "\n\nHuman: hi\n\nAssistant: \ud800"}',
     f"line 1, rejected: {SURROGATE}"),
    ("csv", "prompt,completion_1,completion_2\nq,a,b\x00c", f"line 2, completion_2: {NUL}"),
    ("csv", "prompt,completion_1,completion_2,note\nq,a,b,\x00", f"line 2, note: {NUL}"),
    ("csv", "prompt,completion_1,completion_2,n\x00te\nq,a,b,c", f"line 1, header: {NUL}"),
]  # fmt: skip
IDS = [f"{format}-{i}" for i, (format, _, _) in enumerate(HOSTILE)]
# A bad CSV header leaves no valid line to store beside it.
BESIDE_A_GOOD_LINE = [case for case in HOSTILE if "header" not in case[2]]
BESIDE_A_GOOD_LINE_IDS = [i for i, case in zip(IDS, HOSTILE) if "header" not in case[2]]


def with_good_line(format, line):
    """The hostile line after a valid one of the same format, so the numbers move by one."""
    if format == "csv":
        header, row = line.split("\n")
        cells = ",".join(f"x{i}" for i in range(header.count(",")))
        return f"{header}\ngood,{cells}\n{row}\n".encode()
    good = {"jsonl": GOOD, "pairs": json.dumps({"prompt": "g", "chosen": "a", "rejected": "b"}),
            "hh": json.dumps({"chosen": "\n\nHuman: g\n\nAssistant: a", "rejected": "\n\nHuman: g\n\nAssistant: b"})}
    return (good[format] + "\n" + line + "\n").encode()  # fmt: skip


def shifted(error):
    """The expected error one line further down."""
    number, rest = error.removeprefix("line ").split(",", 1)
    return f"line {int(number) + 1},{rest}"


def import_errors(project, data, format):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, format=format)
    return [str(e) for e in failed.value.errors]


@pytest.mark.parametrize("format, line, error", HOSTILE, ids=IDS)
def test_hostile_line_is_a_line_numbered_error_and_nothing_is_written(project, format, line, error):
    assert import_errors(project, line.encode(), format) == [error]
    assert Prompt.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.parametrize("format, line, error", BESIDE_A_GOOD_LINE, ids=BESIDE_A_GOOD_LINE_IDS)
def test_on_postgresql_the_hostile_line_is_skipped_and_the_good_one_stored(project, format, line, error):
    """Where NUL really breaks text and jsonb: the valid line beside it is stored, no DataError."""
    report = import_file(project=project, data=with_good_line(format, line), format=format, skip_invalid=True)
    assert [str(e) for e in report.skipped_lines] == [shifted(error)]
    assert report.invalid == 1 and Prompt.objects.filter(project=project).count() == 1
    if format in ("pairs", "hh"):
        assert Comparison.objects.count() == 1


def test_command_names_the_hostile_line_and_exits_1(project, tmp_path, capsys):
    path = tmp_path / "hostile.jsonl"
    path.write_text(GOOD + "\n" + HOSTILE[0][1] + "\n" + HOSTILE[4][1] + "\n")
    with pytest.raises(CommandError) as failed:
        call_command("import_prompts", project.slug, str(path))
    assert failed.value.returncode == 1
    assert capsys.readouterr().err.splitlines() == [
        f"line 2, prompt: {NUL}",
        "line 3, metadata.score: NaN is not a number JSON can store",
    ]
    assert Prompt.objects.count() == 0


@pytest.mark.parametrize("format, line, error", HOSTILE, ids=IDS)
def test_upload_page_shows_the_hostile_line_as_an_error(client, project, lead, format, line, error):
    client.force_login(lead)
    upload = SimpleUploadedFile(f"hostile.{'csv' if format == 'csv' else 'jsonl'}", line.encode())
    response = client.post(reverse("project_import", args=[project.slug]), {"file": upload, "format": format})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Prompt.objects.count() == 0


@pytest.mark.parametrize("header", ["prompt,completions,excluded", "prompt,chosen,rejected"])
def test_a_csv_cell_of_json_nested_too_deep_is_a_line_error_not_a_crash(project, header):
    # List cells and TRL message cells are decoded as JSON: 5,000 levels exhaust the recursion limit.
    import csv
    import io

    deep = "[" * 5_000 + "]" * 5_000
    row = ["p", deep, "[]"] if "completions" in header else ['[{"content": ' + deep + "}]", "a", "b"]
    data = io.StringIO()
    csv.writer(data).writerows([header.split(","), row])
    if "completions" in header:  # a list it cannot read: the line's error
        with pytest.raises(ImportFailed) as failed:
            import_file(project=project, data=data.getvalue().encode(), filename="export.csv")
        assert [str(e)[:7] for e in failed.value.errors] == ["line 2,"]
        assert Prompt.objects.count() == 0
    else:  # not messages it can read: the prompt is that text, as any other
        import_file(project=project, data=data.getvalue().encode(), filename="export.csv")
        assert Prompt.objects.get().text == row[0]
