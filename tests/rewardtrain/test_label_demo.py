"""examples/label_demo.py: the simulated reviewer's choices follow the demo's quality tags, and
labelling the seeded demo through the HTTP API stores exactly those choices."""

import importlib.util
from itertools import permutations
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from annotator import demo_data
from annotator.models import Comparison, Judgment, Project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "label_demo.py"
PAIRWISE = {"mode": "pairwise", "allow_tie": True}


def load_example():
    spec = importlib.util.spec_from_file_location("label_demo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown(candidates):
    return [{"id": i, "text": text} for i, (_quality, text) in enumerate(candidates)]


def test_every_pair_of_every_demo_prompt_is_decided_by_its_tags():
    example = load_example()
    decided = 0
    for _id, _category, prompt, candidates in demo_data.PROMPTS:
        for first, second in permutations(candidates, 2):
            fields = example.decide(PAIRWISE, prompt, shown([first, second]))
            tags = {first[0], second[0]}
            if "best" in tags:
                assert fields["choice"] == ("a" if first[0] == "best" else "b")
                assert fields["strength"] == ("slightly" if tags == {"best", "good"} else "much")
            elif "good" in tags:
                assert fields == {"choice": "a" if first[0] == "good" else "b", "strength": "much"}
            else:
                assert fields == {"choice": "both_bad"}
            decided += 1
    assert decided == 12 * len(demo_data.PROMPTS)


def test_rankings_put_best_then_good_then_the_mildest_flaw_first():
    example = load_example()
    _id, _category, prompt, candidates = demo_data.PROMPTS[0]
    candidates = candidates[::-1]
    fields = example.decide({"mode": "ranking", "allow_tie": True}, prompt, shown(candidates))
    tags = [candidates[i][0] for i in fields["ranking"]]
    assert tags[0] == "best"
    assert [example.ORDER.index(tag) for tag in tags] == sorted(example.ORDER.index(tag) for tag in tags)


def test_an_answer_without_a_tag_is_not_judged():
    example = load_example()
    _id, _category, prompt, candidates = demo_data.PROMPTS[0]
    edited = [{"id": 1, "text": candidates[0][1]}, {"id": 2, "text": "an answer a labeler edited"}]
    assert example.decide(PAIRWISE, prompt, edited) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["pairwise", "ranking"])
def test_labelling_the_seeded_demo_over_http_stores_what_the_tags_say(mode, live_server, capsys):
    call_command("seed_demo")
    if mode == "ranking":
        Project.objects.filter(slug="demo").update(mode="ranking", completions_shown=3)
    token = Token.objects.create(user=get_user_model().objects.get(username="labeler")).key

    counts = load_example().main(["--url", live_server.url, "--token", token])

    judgments = Judgment.objects.filter(prompt__project__slug="demo")
    assert counts["judgments"] == judgments.count() == len(demo_data.PROMPTS) and counts["skipped"] == 0
    assert counts["comparisons"] == Comparison.objects.count() > 0
    assert f"stored {counts['judgments']} judgments ({counts['comparisons']} comparisons)" in capsys.readouterr().out
    order = load_example().ORDER
    for comparison in Comparison.objects.select_related("chosen", "rejected"):
        chosen, rejected = comparison.chosen.metadata["quality"], comparison.rejected.metadata["quality"]
        assert order.index(chosen) < order.index(rejected) and (chosen in ("best", "good") or mode == "ranking")
    for judgment in judgments:
        tags = {c.pk: c.metadata["quality"] for c in judgment.prompt.completions.all()}
        shown_tags = [tags[pk] for pk in judgment.shown]
        if mode == "ranking":
            assert [tags[pk] for pk in judgment.ranking] == sorted(shown_tags, key=order.index)
        elif "best" in shown_tags:  # the best answer, whenever it is shown, is chosen
            assert judgment.choice == "ab"[shown_tags.index("best")]
        elif all(tag not in ("best", "good") for tag in shown_tags):
            assert judgment.choice == "both_bad"
