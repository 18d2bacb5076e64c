"""Preference pairs: loading, grouping by prompt and the held-out split; tokenising is
arbiter_reward.reward.encode_pair_text.

Django-free: the database layer turns Comparison rows into `Pair`s and calls in here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

# The encoding lives with the reward-function client, so training and every scorer share it.
from arbiter_reward.reward import HH_ASSISTANT, completion_budget, encode_pair_text, encoding_spec  # noqa: F401


@dataclass(frozen=True)
class Pair:
    prompt: str
    chosen: str
    rejected: str
    margin: float = 0.0  # how much better chosen is (0 = plain preference); scaled by TrainConfig.margin_scale
    id: int | None = None  # Comparison row id when the pair comes from the database


@dataclass(frozen=True)
class LabelledText:
    """A completion given one label (classify mode): `label` indexes the project's label list."""

    prompt: str
    completion: str
    label: int
    id: int | None = None  # Classification row id when it comes from the database


@dataclass
class PromptGroup:
    prompt: str
    completions: list[str]  # distinct completions of this prompt, each encoded once per step
    pairs: list[tuple[int, int, float]]  # (chosen index, rejected index, margin) into completions


def group_pairs(pairs: Iterable[Pair]) -> list[PromptGroup]:
    """Group pairs by prompt so each distinct completion is encoded once.

    A ranking of 4 completions gives 6 pairs but costs only 4 encodings. Exact duplicates are
    the database layer's business; only a Pair id seen twice is dropped here. Order is kept
    (first appearance) so the result is deterministic.
    """
    groups: dict[str, PromptGroup] = {}
    index: dict[str, dict[str, int]] = {}  # prompt -> completion text -> position
    seen_ids: set[int] = set()
    for pair in pairs:
        if pair.id is not None:
            if pair.id in seen_ids:
                continue
            seen_ids.add(pair.id)
        group = groups.setdefault(pair.prompt, PromptGroup(pair.prompt, [], []))
        positions = index.setdefault(pair.prompt, {})
        ids = []
        for text in (pair.chosen, pair.rejected):
            if text not in positions:
                positions[text] = len(group.completions)
                group.completions.append(text)
            ids.append(positions[text])
        group.pairs.append((ids[0], ids[1], float(pair.margin)))
    return list(groups.values())


def is_heldout(prompt: str, fraction: float = 0.1) -> bool:
    """Stable split by prompt: all pairs of a prompt fall on one side, and a prompt never moves
    as data grows (the decision depends on the prompt text alone)."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_pairs(pairs: Iterable[Pair], fraction: float = 0.1) -> tuple[list[Pair], list[Pair]]:
    """(train, heldout) by `is_heldout` on the prompt."""
    train, heldout = [], []
    for pair in pairs:
        (heldout if is_heldout(pair.prompt, fraction) else train).append(pair)
    return train, heldout


def _prompt_rank(prompt: str) -> int:
    return int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "big")


def split_labelled(items: Iterable[LabelledText], fraction: float = 0.1) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, heldout) by prompt, stratified by label: every item of a prompt falls on one side,
    and each label's share of held-out prompts is `fraction` (rounded; at least one prompt of a
    label with two or more), so a rare label is still measured. A prompt's stratum is its most
    frequent label (the lowest index on a tie); within a stratum the prompts with the lowest
    hash are held out, so the split depends on the texts, not on their order."""
    items = list(items)
    by_prompt: dict[str, list[int]] = {}
    for item in items:
        by_prompt.setdefault(item.prompt, []).append(item.label)
    strata: dict[int, list[str]] = {}
    for prompt, labels in by_prompt.items():
        stratum = min(set(labels), key=lambda label: (-labels.count(label), label))
        strata.setdefault(stratum, []).append(prompt)
    heldout_prompts: set[str] = set()
    for prompts in strata.values():
        wanted = round(fraction * len(prompts))
        if fraction > 0 and len(prompts) >= 2:
            wanted = max(1, wanted)
        heldout_prompts.update(sorted(prompts, key=_prompt_rank)[:wanted])
    train = [i for i in items if i.prompt not in heldout_prompts]
    heldout = [i for i in items if i.prompt in heldout_prompts]
    return train, heldout


def split_hh_dialogues(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Split two Anthropic HH dialogues into (prompt, chosen reply, rejected reply).

    The prompt is their shared prefix up to and including its last "\\n\\nAssistant:"; the rest
    of each dialogue is the reply, its leading space kept, so prompt + reply is the dialogue
    byte for byte (an HH export gives back what was imported). The space is harmless to
    training: a BERT tokenizer drops it.
    """
    shared = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        shared += 1
    cut = chosen.rfind(HH_ASSISTANT, 0, shared)
    if cut < 0 or cut + len(HH_ASSISTANT) > shared:
        raise ValueError('the dialogues share no "\\n\\nAssistant:" turn')
    end = cut + len(HH_ASSISTANT)
    return chosen[:end], chosen[end:], rejected[end:]


def pair_from_record(record: dict) -> Pair:
    """A Pair from one JSON object: {"prompt","chosen","rejected"[,"margin"]} or HH {"chosen","rejected"}."""
    if not isinstance(record.get("chosen"), str) or not isinstance(record.get("rejected"), str):
        raise ValueError('needs string "chosen" and "rejected"')
    margin = float(record.get("margin", 0.0))
    if "prompt" in record:
        return Pair(str(record["prompt"]), record["chosen"], record["rejected"], margin)
    prompt, chosen, rejected = split_hh_dialogues(record["chosen"], record["rejected"])
    return Pair(prompt, chosen, rejected, margin)


def load_pairs_file(path: str | Path) -> list[Pair]:
    """Read a JSONL file of pairs (explicit prompt or HH dialogues); blank lines are skipped."""
    pairs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                pairs.append(pair_from_record(json.loads(line)))
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return pairs
