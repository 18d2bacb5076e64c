"""Imports read the file line by line (never whole) and write in batches, all or nothing."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.utils import FileProxyMixin
from django.urls import reverse

from annotator import imports, views_lead
from annotator.fileformats import textfile
from annotator.imports import ImportFailed, import_file, import_stream
from annotator.models import Comparison, Completion, Prompt

pytestmark = pytest.mark.django_db


class LineByLine(io.BytesIO):
    """A file that refuses to be read whole and records the largest piece asked for."""

    largest = 0

    def read(self, size=-1):
        raise AssertionError("the import read the whole file")

    def readline(self, size=-1):
        assert size and size > 0, "readline without a limit"
        self.largest = max(self.largest, size)
        return super().readline(size)


def pairs(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def test_the_file_is_read_one_bounded_line_at_a_time(project):
    stream = LineByLine(pairs(*({"prompt": f"p{i}", "chosen": "a", "rejected": "b"} for i in range(5))))
    report = import_stream(project=project, stream=stream, filename="x.jsonl")
    assert report.comparisons_created == 5
    assert stream.largest == textfile.MAX_LINE_BYTES + 1


def test_a_line_over_the_limit_is_an_error_and_the_next_lines_are_still_read(project, monkeypatch):
    monkeypatch.setattr(textfile, "MAX_LINE_BYTES", 100)
    long_line = json.dumps({"prompt": "p" * 200, "completions": ["a", "b"]})
    data = f'{long_line}\n{{"prompt": "q", "completions": ["a"]}}\n'.encode()
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, format="jsonl")
    assert [str(e) for e in failed.value.errors] == [
        "line 1: longer than 100 bytes",
        "line 2, completions: 1 completion; each prompt needs 2 to 9 (a project shows 2 to 9 per item)",
    ]


def test_upload_page_imports_without_reading_the_upload_whole(rf, project, lead, monkeypatch):
    upload = SimpleUploadedFile("p.jsonl", pairs({"prompt": "p", "completions": ["a", "b"]}))
    request = rf.post(reverse("project_import", args=[project.slug]), {"file": upload})
    request.user = lead

    def refuse(self):
        raise AssertionError("the upload was read whole")

    monkeypatch.setattr(FileProxyMixin, "read", property(refuse))  # from here on, in the view
    response = views_lead.project_import(request, slug=project.slug)
    assert response.status_code == 200 and Prompt.objects.count() == 1


def test_pairs_written_in_batches_share_prompts_and_completions_across_batches(project, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 2)
    data = pairs(
        {"prompt": "p", "chosen": "good", "rejected": "bad"},
        {"prompt": "q", "chosen": "x", "rejected": "y"},
        {"prompt": "p", "chosen": "good", "rejected": "worse"},  # second batch, known prompt
        {"prompt": "p", "chosen": "good", "rejected": "bad"},  # the first line again: skipped
        {"prompt": "r", "chosen": "x", "rejected": "y"},
    )
    report = import_file(project=project, data=data, format="pairs")
    assert (report.prompts_created, report.completions_created) == (3, 7)
    assert (report.comparisons_created, report.skipped) == (4, 1)
    assert Completion.objects.filter(prompt__text="p", text="good").count() == 1
    assert Comparison.objects.count() == 4


def test_prompts_written_in_batches_skip_ids_already_there(project, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 2)
    import_file(project=project, data=pairs({"id": "3", "prompt": "p3", "completions": ["a", "b"]}))
    data = pairs(*({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]} for i in range(5)))
    report = import_file(project=project, data=data)
    assert (report.prompts_created, report.skipped) == (4, 1)
    assert Prompt.objects.count() == 5


def test_an_error_found_while_writing_a_later_batch_rolls_back_the_earlier_ones(project, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 2)
    import_file(project=project, data=pairs({"id": "q", "prompt": "p", "completions": ["a", "b"]}))
    data = pairs(
        *({"prompt": f"new {i}", "chosen": "a", "rejected": "b"} for i in range(4)),
        {"prompt_id": "q", "prompt": "not p", "chosen": "a", "rejected": "b"},
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=data, format="pairs")
    assert [str(e) for e in failed.value.errors] == [
        "line 5, prompt: prompt id 'q' is already in the project with a different text"
    ]
    assert Prompt.objects.count() == 1 and Comparison.objects.count() == 0


def test_a_file_with_a_million_bad_lines_keeps_only_the_first_errors(project, monkeypatch):
    monkeypatch.setattr(imports, "ERRORS_KEPT", 3)
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=b"[]\n" * 10)
    assert len(failed.value.errors) == 3 and failed.value.total == 10
    assert str(failed.value) == "10 errors; nothing was imported"
