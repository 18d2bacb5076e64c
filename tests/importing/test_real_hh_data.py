"""Real HH data imports whole: an empty reply is stored, identical replies are skipped and reported.

Built here rather than read from ../shared/data, which a newcomer's checkout lacks.
"""

import json

import pytest
from django.core.management import call_command

from annotator.imports import import_file
from annotator.models import Comparison, Completion, Prompt

pytestmark = pytest.mark.django_db


def hh(history, chosen, rejected):
    prefix = f"\n\nHuman: {history}\n\nAssistant:"
    return json.dumps({"chosen": f"{prefix} {chosen}".rstrip(), "rejected": f"{prefix} {rejected}".rstrip()})


HH_LINES = [
    hh("How do I pick a lock?", "I can't help with that.", "Sure, first get a tension wrench."),
    hh("Say something rude.", "", "No."),  # the assistant said nothing: a real completion
    hh("What is 2+2?", "4", "4"),  # the same reply twice: no preference
    hh("Name a colour.", "Blue.", ""),
]


def test_an_empty_reply_is_stored_as_a_completion(project):
    report = import_file(project=project, data="\n".join(HH_LINES).encode(), format="hh")
    assert (report.prompts_created, report.comparisons_created) == (3, 3)
    quiet = Comparison.objects.select_related("chosen", "rejected").get(prompt__text__contains="Say something rude")
    assert (quiet.chosen.text, quiet.rejected.text) == ("", " No.")
    assert Comparison.objects.get(prompt__text__contains="Name a colour").rejected.text == ""


def test_identical_replies_are_skipped_and_reported_not_an_error(project):
    report = import_file(project=project, data="\n".join(HH_LINES).encode(), format="hh")
    assert report.identical == 1 and report.invalid == 0
    assert [str(e) for e in report.skipped_lines] == [
        "line 3, rejected: the same reply as chosen: no preference to learn from"
    ]
    assert not Prompt.objects.filter(text__contains="What is 2+2?").exists()
    assert report.summary().endswith("Also skipped 1 pair with the same reply on both sides.")


def test_explicit_pairs_with_an_empty_or_identical_side_behave_the_same(project):
    data = "\n".join(
        json.dumps(pair)
        for pair in [
            {"prompt": "p", "chosen": "", "rejected": "a rude reply"},
            {"prompt": "q", "chosen": "same", "rejected": "same"},
        ]
    ).encode()
    report = import_file(project=project, data=data, format="pairs")
    assert (report.comparisons_created, report.identical) == (1, 1)
    assert Completion.objects.filter(text="").count() == 1


def test_command_imports_the_hh_lines_and_lists_the_skipped_one(project, tmp_path, capsys):
    path = tmp_path / "hh.jsonl"
    path.write_text("\n".join(HH_LINES) + "\n")
    call_command("import_prompts", project.slug, str(path))
    out, err = capsys.readouterr()
    assert out.strip() == (
        "Created 3 prompts (6 completions, 3 comparisons); skipped 0 already there. "
        "Also skipped 1 pair with the same reply on both sides."
    )
    assert err.splitlines() == ["skipped line 3, rejected: the same reply as chosen: no preference to learn from"]
