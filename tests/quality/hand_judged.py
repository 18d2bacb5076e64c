"""A small pairwise project judged through the services, with figures worked out by hand.

Overlap 2, three prompts, each with a short and a longer completion; gold says short beats
long on all three. The labelers pick by completion (the screen order is random, so the side is
looked up on each lease):

- ann picks the short one on all three, 1 s each.
- bob picks the short one on the first two prompts and calls the third a tie, 4 s each.

By hand:
- Agreement with the majority: on each item the other labeler's answer is the majority; they
  agree on 2 of 3 items, so 2/3 each and 4/6 = 2/3 overall, on 3 items.
- Krippendorff's alpha (nominal; the value is which completion won, by its place in id order,
  or "tie"; the short one is created first, so it is "completion 1" on every prompt): units
  (c1, c1), (c1, c1), (c1, tie); n = 6, totals c1: 5, tie: 1. Observed off-diagonal pairs: 2
  (the third unit, each weighted 1 / (2 - 1)); expected: 2 x 5 x 1 = 10; alpha =
  1 - (n - 1) x 2 / 10 = 0. Both nearly always say "completion 1", so agreeing on it is
  what chance gives: no evidence of agreement beyond it.
- Gold accuracy: ann 3/3 = 1.0; bob 2/3 (a tie scores 0), under 0.7 on 3 gold items: flagged.
- Longer wins: ann 0 of 3, bob 0 of 2 (the tie is no contest). Ties: ann 0/3, bob 1/3.
- Median seconds: ann 1.0, bob 4.0. No repeats, so self-consistency is None for both.
"""

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Completion, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories

ALPHA = 0.0
BOB_REASON = "gold accuracy 67% < 70% on 3 gold items"


def judge_all(project, user, pick, *, ms):
    """Judge every item the queue gives `user`: pick(prompt_id, shown) -> the choice."""
    while (assignment := assignment_next_for(annotator=user, project=project)) is not None:
        judgment_record(
            assignment=assignment,
            result=JudgmentResult(choice=pick(assignment.prompt_id, assignment.shown), time_spent_ms=ms),
            client_id=f"{user.username}-{assignment.pk}",
        )


def side_of(completion_id, shown):
    return "a" if shown[0] == completion_id else "b"


def hand_judged_project(slug="judged", *, ann="ann", bob="bob"):
    """The project, whose labelers ann and bob (usernames as given) have judged as the module says."""
    project = factories.project(slug=slug, overlap=2)
    short = {}
    prompts = []
    for n in range(3):
        prompt = Prompt.objects.create(project=project, external_id=f"q{n}", text=f"Question {n}")
        s = Completion.objects.create(prompt=prompt, text="Short.", model_name="terse")
        long = Completion.objects.create(prompt=prompt, text="A much longer answer.", model_name="verbose")
        Prompt.objects.filter(pk=prompt.pk).update(gold=[s.pk, long.pk])
        short[prompt.pk] = s.pk
        prompts.append(prompt)
    ann_user = factories.member(project, "labeler", username=ann)
    bob_user = factories.member(project, "labeler", username=bob)
    judge_all(project, ann_user, lambda prompt_id, shown: side_of(short[prompt_id], shown), ms=1000)
    last = prompts[-1].pk
    judge_all(
        project,
        bob_user,
        lambda prompt_id, shown: "tie" if prompt_id == last else side_of(short[prompt_id], shown),
        ms=4000,
    )
    assert Judgment.objects.filter(prompt__project=project).count() == 6
    return project


def left_rate(project, username):
    """The share of A among a labeler's A/B choices, read back: the screen order was random."""
    choices = list(
        Judgment.objects.filter(prompt__project=project, annotator__username=username, choice__in=["a", "b"])
        .values_list("choice", flat=True)
    )
    return choices.count("a") / len(choices)
