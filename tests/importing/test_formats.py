import json

import pytest

from annotator.imports import import_file, text_id
from annotator.models import Comparison, Completion, Prompt

pytestmark = pytest.mark.django_db


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def test_jsonl_prompts_are_queued_with_their_completions_models_and_metadata(project):
    data = jsonl(
        {"id": "q1", "prompt": "Why is the sky blue?", "metadata": {"topic": "physics"},
         "completions": ["Rayleigh scattering.", {"text": "Magic.", "model": "m-small", "metadata": {"t": 0.7}}]},
        {"prompt": "Say hi", "completions": ["hi", "hello", "hey"]},
    )  # fmt: skip
    report = import_file(project=project, data=data, filename="prompts.jsonl")
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (2, 5, 0)
    q1 = Prompt.objects.get(project=project, external_id="q1")
    assert q1.queued and q1.text == "Why is the sky blue?" and q1.metadata == {"topic": "physics"}
    magic = q1.completions.get(text="Magic.")
    assert magic.model_name == "m-small" and magic.metadata == {"t": 0.7} and magic.origin == "imported"
    assert Prompt.objects.get(project=project, text="Say hi").completions.count() == 3


def test_prompt_without_id_gets_a_stable_id_from_its_text(project):
    import_file(project=project, data=jsonl({"prompt": "Say hi", "completions": ["hi", "hello"]}))
    assert Prompt.objects.get().external_id == text_id("Say hi")
    assert text_id("Say hi").startswith("sha1:") and len(text_id("Say hi")) == 5 + 16


def test_csv_reads_up_to_nine_completions_ignores_empty_cells_and_keeps_other_columns(project):
    header = "id,prompt," + ",".join(f"completion_{i}" for i in range(1, 10)) + ",source\n"
    rows = 'a,"Two lines,\nof prompt",x,,y,,,,,,,web\nb,Nine,1,2,3,4,5,6,7,8,9,\n'
    report = import_file(project=project, data=(header + rows).encode(), filename="prompts.csv")
    assert (report.prompts_created, report.completions_created) == (2, 11)
    a = Prompt.objects.get(external_id="a")
    assert a.text == "Two lines,\nof prompt" and a.metadata == {"source": "web"}
    assert sorted(a.completions.values_list("text", flat=True)) == ["x", "y"]


def test_labelled_pairs_are_stored_as_imported_comparisons_on_unqueued_prompts(project):
    data = jsonl(
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Berlin, obviously."},
        {"prompt": "2+2?", "chosen": "4", "rejected": "5", "prompt_id": "math-1"},
    )
    report = import_file(project=project, data=data, filename="pairs.jsonl")
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (2, 5, 3)
    france = Prompt.objects.get(external_id=text_id("Capital of France?"))
    assert not france.queued
    assert france.completions.filter(text="Paris.").count() == 1  # shared by both pairs
    comparison = Comparison.objects.get(prompt__external_id="math-1")
    assert (comparison.chosen.text, comparison.rejected.text) == ("4", "5")
    assert comparison.source == "imported" and comparison.annotator is None and comparison.judgment is None


def test_hh_dialogues_split_into_shared_prompt_and_the_two_replies(project):
    history = "\n\nHuman: What is a good name for a cat?\n\nAssistant: Whiskers.\n\nHuman: Another one?\n\nAssistant:"
    data = jsonl({"chosen": history + " How about Miso?", "rejected": history + " No."})
    report = import_file(project=project, data=data, filename="hh.jsonl")
    assert report.format == "hh" and report.comparisons_created == 1
    comparison = Comparison.objects.select_related("prompt", "chosen", "rejected").get()
    assert comparison.prompt.text == history
    assert (comparison.chosen.text, comparison.rejected.text) == (" How about Miso?", " No.")


def test_format_is_detected_from_extension_and_first_line(project):
    csv_data = b"prompt,completion_1,completion_2\nq,a,b\n"
    assert import_file(project=project, data=csv_data, filename="x.csv").format == "csv"
    pairs = jsonl({"prompt": "p", "chosen": "a", "rejected": "b"})
    assert import_file(project=project, data=pairs, filename="upload").format == "pairs"
    prompts = jsonl({"prompt": "p2", "completions": ["a", "b"]})
    assert import_file(project=project, data=prompts, filename="data.txt").format == "jsonl"


def test_explicit_format_wins_over_detection(project):
    data = b"prompt,completion_1,completion_2\nq,a,b\n"
    assert import_file(project=project, data=data, filename="x.jsonl", format="csv").prompts_created == 1


def test_bom_and_windows_line_endings_and_blank_lines_are_fine(project):
    data = b"\xef\xbb\xbf" + jsonl({"prompt": "p", "completions": ["a", "b"]}).replace(b"\n", b"\r\n") + b"\r\n\r\n"
    assert import_file(project=project, data=data, filename="x.jsonl").prompts_created == 1
    csv_data = b"\xef\xbb\xbfprompt,completion_1,completion_2\r\nq,a,b\r\n\r\n"
    assert import_file(project=project, data=csv_data, filename="x.csv").prompts_created == 1
    assert Completion.objects.filter(prompt__text="q", text="b").exists()  # no stray \r


def test_reimport_skips_prompts_already_there_and_counts_them(project):
    first = jsonl(*({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]} for i in (1, 2)))
    import_file(project=project, data=first)
    more = first + b"\n" + jsonl({"id": "3", "prompt": "p3", "completions": ["a", "b"]})
    report = import_file(project=project, data=more)
    assert (report.prompts_created, report.skipped) == (1, 2)
    assert "skipped 2 already there" in report.summary()
    assert Prompt.objects.count() == 3 and Completion.objects.count() == 6


def test_reimported_pairs_are_skipped_and_new_pairs_on_a_known_prompt_reuse_its_rows(project):
    pair = {"prompt": "p", "chosen": "good", "rejected": "bad"}
    import_file(project=project, data=jsonl(pair))
    report = import_file(project=project, data=jsonl(pair, {"prompt": "p", "chosen": "good", "rejected": "worse"}))
    assert (report.prompts_created, report.completions_created) == (0, 1)  # only "worse" is new
    assert (report.comparisons_created, report.skipped) == (1, 1)
    assert Prompt.objects.count() == 1 and Comparison.objects.count() == 2


def test_the_same_ids_in_another_project_are_separate_prompts(project):
    from tests import factories

    other = factories.project()
    data = jsonl({"id": "1", "prompt": "p", "completions": ["a", "b"]})
    import_file(project=project, data=data)
    assert import_file(project=other, data=data).prompts_created == 1


def test_null_id_model_and_metadata_count_as_absent(project):
    data = jsonl({"id": None, "prompt": "p", "metadata": None, "completions": [{"text": "a", "model": None}, "b"]})
    import_file(project=project, data=data)
    prompt = Prompt.objects.get()
    assert prompt.external_id == text_id("p") and prompt.metadata == {}
    assert prompt.completions.get(text="a").model_name == ""
