"""--skip-invalid and the upload page's checkbox: import the valid lines, list every skipped one."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotator.imports import ImportFailed, import_file
from annotator.models import Prompt

pytestmark = pytest.mark.django_db

MIXED = "\n".join(
    [
        json.dumps({"id": "1", "prompt": "p1", "completions": ["a", "b"]}),
        json.dumps({"id": "2", "prompt": "", "completions": ["a", "b"]}),
        "{not json",
        json.dumps({"id": "4", "prompt": "p4", "completions": ["a", "b"]}),
        json.dumps({"id": "1", "prompt": "p5", "completions": ["a", "b"]}),
    ]
).encode()
SKIPPED = [
    "line 2, prompt: empty",
    "line 3: invalid JSON: Expecting property name enclosed in double quotes at column 2",
    "line 5, id: id '1' is also on line 1",
]


def test_by_default_one_invalid_line_imports_nothing(project):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=MIXED)
    assert [str(e) for e in failed.value.errors] == SKIPPED
    assert Prompt.objects.count() == 0


def test_skip_invalid_imports_the_valid_lines_and_reports_every_skipped_one(project):
    report = import_file(project=project, data=MIXED, skip_invalid=True)
    assert sorted(Prompt.objects.values_list("external_id", flat=True)) == ["1", "4"]
    assert [str(e) for e in report.skipped_lines] == SKIPPED
    assert report.summary() == (
        "Created 2 prompts (4 completions, 0 comparisons); skipped 0 already there. Also skipped 3 invalid lines."
    )


def test_a_pair_the_database_refuses_is_skipped_too(project):
    import_file(project=project, data=json.dumps({"id": "q", "prompt": "p", "completions": ["a", "b"]}).encode())
    data = "\n".join(
        json.dumps(pair)
        for pair in [
            {"prompt_id": "q", "prompt": "another text", "chosen": "a", "rejected": "b"},
            {"prompt": "new", "chosen": "a", "rejected": "b"},
        ]
    ).encode()
    with pytest.raises(ImportFailed):
        import_file(project=project, data=data, format="pairs")
    assert Prompt.objects.count() == 1
    report = import_file(project=project, data=data, format="pairs", skip_invalid=True)
    assert report.comparisons_created == 1
    assert [str(e) for e in report.skipped_lines] == [
        "line 1, prompt: prompt id 'q' is already in the project with a different text"
    ]


def test_command_with_skip_invalid_prints_the_summary_and_each_skipped_line(project, tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(MIXED)
    with pytest.raises(CommandError):
        call_command("import_prompts", project.slug, str(path))
    capsys.readouterr()
    call_command("import_prompts", project.slug, str(path), "--skip-invalid")
    out, err = capsys.readouterr()
    assert "Created 2 prompts" in out and "Also skipped 3 invalid lines." in out
    assert err.splitlines() == [f"skipped {line}" for line in SKIPPED]


def test_upload_page_checkbox_imports_the_valid_lines_and_lists_the_skipped_ones(client, project, lead):
    client.force_login(lead)
    url = reverse("project_import", args=[project.slug])
    assert client.post(url, {"file": SimpleUploadedFile("m.jsonl", MIXED)}).status_code == 400
    assert Prompt.objects.count() == 0
    response = client.post(url, {"file": SimpleUploadedFile("m.jsonl", MIXED), "skip_invalid": "on"})
    page = response.content.decode()
    assert response.status_code == 200 and Prompt.objects.count() == 2
    assert "Also skipped 3 invalid lines." in page
    for line in SKIPPED:
        assert line.replace("'", "&#x27;") in page
