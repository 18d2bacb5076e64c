"""The rankings format: every pair of a best-first ranking is an imported comparison."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotator.fileformats import detect_format
from annotator.imports import ImportFailed, import_file, text_id
from annotator.models import Comparison, Completion, Prompt

pytestmark = pytest.mark.django_db


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def pairs_of(prompt_external_id):
    return sorted(
        Comparison.objects.filter(prompt__external_id=prompt_external_id).values_list("chosen__text", "rejected__text")
    )


def test_a_ranking_of_k_gives_every_pair_better_over_worse_and_excluded_ones_give_none(project):
    data = jsonl(
        {"id": "r1", "prompt": "Rank these", "completions": ["best", "middle", "worst"], "excluded": ["off-topic"],
         "annotator": "alice"},
        {"prompt": "Four", "completions": ["1", "2", "3", "4"], "excluded": []},
    )  # fmt: skip
    report = import_file(project=project, data=data, filename="rankings.jsonl")
    assert report.format == "rankings"
    assert report.comparisons_created == 3 + 6  # K*(K-1)/2
    assert pairs_of("r1") == [("best", "middle"), ("best", "worst"), ("middle", "worst")]
    assert len(pairs_of(text_id("Four"))) == 6
    r1 = Prompt.objects.get(external_id="r1")
    assert not r1.queued and not Completion.objects.filter(text="off-topic").exists()
    assert set(Comparison.objects.values_list("source", flat=True)) == {"imported"}
    assert set(Comparison.objects.values_list("annotator", flat=True)) == {None}


def test_reimporting_a_ranking_skips_the_pairs_already_there(project):
    data = jsonl({"id": "r", "prompt": "p", "completions": ["a", "b", "c"], "excluded": []})
    import_file(project=project, data=data)
    report = import_file(project=project, data=data)
    assert (report.comparisons_created, report.skipped) == (0, 3)
    assert Comparison.objects.count() == 3


def test_rankings_are_detected_by_the_excluded_key_and_prompts_stay_jsonl():
    assert detect_format("x.jsonl", '{"prompt": "p", "completions": ["a", "b"], "excluded": []}') == "rankings"
    assert detect_format("x.jsonl", '{"prompt": "p", "completions": ["a", "b"]}') == "jsonl"


def test_format_rankings_reads_lines_without_excluded(project):
    data = jsonl({"prompt": "p", "completions": ["a", "b"]})
    assert import_file(project=project, data=data, format="rankings").comparisons_created == 1
    assert Prompt.objects.get().completions.count() == 2 and not Prompt.objects.get().queued


def test_a_ranking_of_one_carries_no_preference_and_is_skipped_and_listed(project):
    data = jsonl(
        {"prompt": "p", "completions": ["a"], "excluded": ["b", "c"]},
        {"prompt": "q", "completions": ["a", "b"], "excluded": []},
    )
    report = import_file(project=project, data=data)
    assert (report.comparisons_created, report.unranked, report.identical) == (1, 1, 0)
    assert report.summary().endswith("Also skipped 1 ranking of fewer than two.")
    assert [str(e) for e in report.skipped_lines] == [
        "line 1, completions: fewer than two ranked completions: no preference to learn from"
    ]


@pytest.mark.parametrize(
    "line, error",
    [
        ({"prompt": "p", "completions": "a", "excluded": []}, "line 1, completions: must be a list of texts"),
        ({"prompt": "p", "completions": ["a", 2], "excluded": []}, "line 1, completions[1]: must be a string"),
        ({"prompt": "p", "completions": ["a", "b"], "excluded": ["a"]}, "line 1, excluded[0]: same text as completions[0]"),
        ({"prompt": "p", "completions": ["a", "b"], "excluded": {"x": 1}}, "line 1, excluded: must be a list of texts"),
        ({"prompt": "", "completions": ["a", "b"], "excluded": []}, "line 1, prompt: empty"),
        ({"prompt": "p", "completions": [str(i) for i in range(8)], "excluded": ["x", "y"]},
         "line 1, completions and excluded: 10 completions; each prompt needs 2 to 9 (a project shows 2 to 9 per item)"),
        ({"prompt": "p", "completions": ["a\u0000", "b"], "excluded": []},
         "line 1, completions[0]: contains a NUL character (\\u0000), which cannot be stored"),
    ],
)  # fmt: skip
def test_a_bad_ranking_is_a_line_error(project, line, error):
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=jsonl(line), format="rankings")
    assert [str(e) for e in failed.value.errors] == [error]
    assert Comparison.objects.count() == 0


def test_rankings_in_parquet_are_read_by_their_excluded_column(project):
    table = pa.Table.from_pylist(
        [
            {"prompt": "p", "completions": ["a", "b", "c"], "excluded": [], "annotator": "alice"},
            {"prompt": "q", "completions": ["x", "y"], "excluded": None, "annotator": None},
        ]
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    report = import_file(project=project, data=sink.getvalue(), filename="rankings.parquet")
    assert report.comparisons_created == 3 + 1


def test_the_upload_page_offers_rankings_and_parquet(client, project, lead):
    client.force_login(lead)
    url = reverse("project_import", args=[project.slug])
    page = client.get(url).content.decode()
    assert '<option value="rankings">' in page and '<option value="parquet">' in page
    upload = SimpleUploadedFile("r.jsonl", jsonl({"prompt": "p", "completions": ["a", "b", "c"]}))
    assert client.post(url, {"file": upload, "format": "rankings"}).status_code == 200
    assert Comparison.objects.count() == 3


def test_a_ranking_whose_prompt_id_names_another_text_is_one_skipped_line(project):
    import_file(project=project, data=jsonl({"id": "r", "prompt": "old", "completions": ["a", "b"], "excluded": []}))
    data = jsonl({"id": "r", "prompt": "new", "completions": ["a", "b", "c"], "excluded": []})
    report = import_file(project=project, data=data, skip_invalid=True)
    assert report.invalid == 1 and report.comparisons_created == 0
    assert [str(e) for e in report.skipped_lines] == [
        "line 1, prompt: prompt id 'r' is already in the project with a different text"
    ]
