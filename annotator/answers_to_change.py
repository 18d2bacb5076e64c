"""The answer a labeler is changing, carried from "Change" to the labeling page.

"Change" on My recent judgments undoes the judgment (which deletes it) and sends the
labeler back to the labeling page, which gives them the same item again under a new
lease. So that they change their answer rather than give it again from nothing, the
answer is kept in their session, keyed by prompt, until they submit or skip that item;
the page fills it in (ranks, exclusions, labels, choice, strength, comment).
An edited completion is not kept: the undo deleted it.
"""

from dataclasses import dataclass, field

SESSION_KEY = "answers_to_change"


@dataclass(frozen=True)
class AnswerToChange:
    """What to fill in on an item; empty when there is nothing to change."""

    choice: str = ""
    strength: str = ""
    comment: str = ""
    ranks: dict = field(default_factory=dict)  # {completion id: rank, 1 = best}
    excluded: frozenset = frozenset()  # completion ids
    labels: dict = field(default_factory=dict)  # {completion id: label name}


NOTHING_TO_CHANGE = AnswerToChange()


def answer_to_change_keep(*, session, judgment):
    """Keep `judgment`'s answer for when its item is shown again (call it once the judgment is undone)."""
    kept = session.get(SESSION_KEY, {})
    kept[str(judgment.prompt_id)] = {
        "shown": judgment.shown,
        "choice": judgment.choice,
        "strength": judgment.strength,
        "comment": judgment.comment,
        "ranking": judgment.ranking,
        "excluded": judgment.excluded,
        "labels": judgment.labels,
    }
    session[SESSION_KEY] = kept


def answer_to_change_for(*, session, assignment):
    """The kept answer for `assignment`'s prompt, if it shows the same completions in the same order."""
    kept = session.get(SESSION_KEY, {}).get(str(assignment.prompt_id))
    if kept is None or kept["shown"] != assignment.shown:
        return NOTHING_TO_CHANGE
    ranking = [completion_id for completion_id in kept["ranking"] if completion_id in assignment.shown]
    # The session stores JSON, whose keys are strings; the page's completion ids are ints.
    return AnswerToChange(
        choice=kept["choice"],
        strength=kept["strength"],
        comment=kept["comment"],
        ranks={completion_id: rank for rank, completion_id in enumerate(ranking, 1)},
        excluded=frozenset(kept["excluded"]),
        labels={int(completion_id): label for completion_id, label in kept["labels"].items()},
    )


def answer_to_change_drop(*, session, prompt_id):
    """Forget the kept answer for a prompt: its item was submitted or skipped again."""
    kept = session.get(SESSION_KEY, {})
    if kept.pop(str(prompt_id), None) is not None:
        session[SESSION_KEY] = kept
