"""TRL's conversational preference form in the pairs format: the prompt stored as HH text."""

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotator.fileformats.hh import render_hh
from annotator.imports import ImportFailed, import_file
from annotator.models import Comparison, Prompt
from rewardtrain.data import split_hh_dialogues

pytestmark = pytest.mark.django_db


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def jsonl(*records):
    return "\n".join(json.dumps(r) for r in records).encode()


def test_a_conversational_pair_is_stored_with_its_prompt_rendered_as_hh_text(project):
    line = {
        "prompt": [user("Hi there"), assistant("Hello! How can I help?"), user("Capital of France?")],
        "chosen": [assistant("Paris.")],
        "rejected": [assistant("Lyon.")],
    }
    report = import_file(project=project, data=jsonl(line), filename="conv.jsonl")
    assert report.format == "pairs" and report.comparisons_created == 1
    prompt = Prompt.objects.get()
    assert prompt.text == "\n\nHuman: Hi there\n\nAssistant: Hello! How can I help?\n\nHuman: Capital of France?\n\nAssistant:"
    comparison = Comparison.objects.get()
    assert (comparison.chosen.text, comparison.rejected.text) == (" Paris.", " Lyon.")  # as hh stores replies


def test_a_conversational_line_gives_the_same_rows_as_the_hh_line_of_the_same_dialogue(project):
    hh = {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: 2+2?\n\nAssistant: 4",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: 2+2?\n\nAssistant: 5",
    }
    conversational = {
        "prompt": [user("Hi"), assistant("Hello"), user("2+2?")],
        "chosen": [assistant("4")],
        "rejected": [assistant("5")],
    }
    assert render_hh(conversational["prompt"]) == split_hh_dialogues(hh["chosen"], hh["rejected"])[0]
    import_file(project=project, data=jsonl(hh), format="hh")
    report = import_file(project=project, data=jsonl(conversational))
    assert (report.prompts_created, report.completions_created, report.comparisons_created) == (0, 0, 0)
    assert report.skipped == 1


def test_an_empty_assistant_reply_is_stored_empty(project):
    line = {"prompt": [user("Say nothing")], "chosen": [assistant("")], "rejected": [assistant("Something.")]}
    import_file(project=project, data=jsonl(line))
    comparison = Comparison.objects.get()
    assert (comparison.chosen.text, comparison.rejected.text) == ("", " Something.")


def test_conversational_pairs_in_parquet_are_read_too(project):
    rows = [{"prompt": [user("Q?")], "chosen": [assistant("good")], "rejected": [assistant("bad")]}]
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    import_file(project=project, data=sink.getvalue(), filename="conv.parquet")
    assert Prompt.objects.get().text == "\n\nHuman: Q?\n\nAssistant:"
    assert Comparison.objects.count() == 1


@pytest.mark.parametrize(
    "prompt, chosen, error",
    [
        ([], [assistant("a")], 'line 1, prompt: must be a list of messages ({"role", "content"}), as prompt is'),
        ([{"role": "system", "content": "Be nice"}, user("Q")], [assistant("a")],
         "line 1, prompt[0].role: 'system': expected 'user' (user and assistant turns alternate, user first)"),
        ([user("Q"), user("Q again")], [assistant("a")],
         "line 1, prompt[1].role: 'user': expected 'assistant' (user and assistant turns alternate, user first)"),
        ([user("Q"), assistant("A")], [assistant("a")], "line 1, prompt[1]: the last message of a prompt is the user's"),
        ([user("Q"), "hello"], [assistant("a")], 'line 1, prompt[1]: must be {"role", "content"} with content a string'),
        ([{"role": "user", "content": 3}], [assistant("a")],
         'line 1, prompt[0]: must be {"role", "content"} with content a string'),
        ([user("Q")], "a", 'line 1, chosen: must be a list of one assistant message ({"role", "content"}), as prompt is'),
        ([user("Q")], [assistant("a"), assistant("b")], "line 1, chosen: 2 messages; a reply is one assistant message"),
        ([user("Q")], [user("a")],
         "line 1, chosen[0].role: 'user': expected 'assistant' (user and assistant turns alternate, user first)"),
        ([user("Q\u0000")], [assistant("a")],
         "line 1, prompt[0].content: contains a NUL character (\\u0000), which cannot be stored"),
    ],
)  # fmt: skip
def test_a_bad_role_or_shape_is_a_line_error(project, prompt, chosen, error):
    line = {"prompt": prompt, "chosen": chosen, "rejected": [assistant("r")]}
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=jsonl(line), format="pairs")
    assert [str(e) for e in failed.value.errors] == [error]
    assert Prompt.objects.count() == 0


def test_a_rendered_prompt_over_the_text_limit_is_a_line_error(project, settings):
    settings.ARBITER_MAX_TEXT_CHARS = 30
    line = {"prompt": [user("x" * 20)], "chosen": [assistant("a")], "rejected": [assistant("b")]}
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=jsonl(line))
    assert [str(e) for e in failed.value.errors] == [
        "line 1, prompt: 41 characters, the limit is 30 (ARBITER_MAX_TEXT_CHARS)"
    ]
