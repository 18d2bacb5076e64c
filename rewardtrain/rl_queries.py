"""What RL loops send to get_reward, turned into the (prompt, completion) pairs the model scores.

OpenRLHF posts `query[i]` = the policy tokenizer's decode of prompt + response tokens, beside
the original `prompts[i]`. A decode is not always the text that went in: an uncased tokenizer
lowercases and strips accents, a normalising one rewrites Unicode, WordPiece puts spaces around
punctuation. So a query that does not start with its prompt exactly is matched again after
normalising both, and failing that is cut after its last assistant-turn marker. The decode also
keeps the policy's special tokens (`reply<|endoftext|>`), which are not part of the reply: they
moved one reward by 0.45 reward s.d., so trailing ones are removed before scoring.

Plain functions, no Django: the API view calls them, tests call them directly.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# The end-of-turn / end-of-text tokens of common policies, as their decode writes them.
# [SEP] ends the replies of a policy with a BERT tokenizer (examples/rlhf_loop.py's).
SPECIAL_SUFFIXES = (
    "<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<eos>", "<|end|>", "<end_of_turn>", "[SEP]",
)  # fmt: skip

# Where an assistant turn starts, in the chat formats policies use: the HH text Arbiter stores
# conversations as, ChatML (Qwen), Llama 3, Gemma, Phi-3 / Zephyr, Llama 2 / Mistral.
ASSISTANT_MARKERS = (
    "\n\nAssistant:",
    "<|im_start|>assistant\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<start_of_turn>model\n",
    "<|assistant|>\n",
    "[/INST]",
)


class UnsplittableQuery(ValueError):
    """A query in which neither its prompt nor an assistant-turn marker can be found."""


@dataclass(frozen=True)
class Split:
    prompt: str
    completion: str
    how: str  # "exact", "normalized" or "marker": how the prompt was found


def _folded(char: str) -> str:
    """What a character is after the rewrites decodes make: compatibility forms and accents
    undone (NFKD without combining marks), case folded, whitespace dropped."""
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace()).casefold()


def _normalized_prefix_end(query: str, prompt: str) -> int | None:
    """Index in `query` just past the text that normalises to `prompt`; None when it does not start so.

    Both sides are folded character by character, so every folded character of the query keeps
    the index of the character it came from, and the cut lands in the original text."""
    target = "".join(_folded(c) for c in prompt)
    if not target:
        return 0
    matched, end = 0, None
    for index, char in enumerate(query):
        folded = _folded(char)
        if not folded:
            continue
        if target[matched : matched + len(folded)] != folded:
            return None
        matched += len(folded)
        end = index + 1
        if matched == len(target):
            return end
    return None


def split_at_last_marker(query: str) -> tuple[str, str] | None:
    """(prompt, completion) cut after the last assistant-turn marker of any known chat format."""
    best = None
    for marker in ASSISTANT_MARKERS:
        at = query.rfind(marker)
        if at >= 0 and (best is None or at + len(marker) > best):
            best = at + len(marker)
    return None if best is None else (query[:best], query[best:])


def split_query(query: str, prompt: str | None) -> Split:
    """The (prompt, completion) to score for one get_reward query.

    With a prompt: the rest of the query after it, found exactly or after normalisation (the
    prompt scored is then the client's own `prompt`, as `/score/` would get it); failing both,
    the query is cut after its last assistant-turn marker. Without a prompt: cut after the last
    marker, or the whole query is the completion of an empty prompt (as before prompts were sent).
    UnsplittableQuery when a prompt was given and nothing places it in the query.
    """
    if prompt is None:
        cut = split_at_last_marker(query)
        return Split(*cut, how="marker") if cut else Split("", query, how="none")
    if query.startswith(prompt):
        return Split(prompt, query[len(prompt) :], how="exact")
    end = _normalized_prefix_end(query, prompt)
    if end is not None:
        return Split(prompt, query[end:], how="normalized")
    cut = split_at_last_marker(query)
    if cut:
        return Split(*cut, how="marker")
    raise UnsplittableQuery("the query does not start with its prompt (even after normalising case, accents and "
                            "whitespace) and has no assistant-turn marker to split at")  # fmt: skip


def strip_special_suffixes(completion: str, suffixes=SPECIAL_SUFFIXES) -> tuple[str, int]:
    """(completion without its trailing special tokens, how many were removed). Whitespace
    between or after them goes too; whitespace before the first one stays, as the reply wrote it."""
    removed = 0
    while True:
        trimmed = completion.rstrip()
        suffix = next((s for s in suffixes if s and trimmed.endswith(s)), None)
        if suffix is None:
            return completion, removed
        completion = trimmed[: -len(suffix)]
        removed += 1


@dataclass(frozen=True)
class Queries:
    items: list  # (prompt, completion) per query, None for one that could not be split
    failures: list  # (index, why) of those
    stripped: int  # special tokens removed, all queries together


def queries_to_score(queries, prompts=None, *, suffixes=SPECIAL_SUFFIXES) -> Queries:
    """Each get_reward query as the (prompt, completion) to score, its special tokens removed."""
    items, failures, stripped = [], [], 0
    for i, query in enumerate(queries):
        try:
            split = split_query(query, None if prompts is None else prompts[i])
        except UnsplittableQuery as error:
            items.append(None)
            failures.append((i, str(error)))
            continue
        completion, removed = strip_special_suffixes(split.completion, suffixes)
        stripped += removed
        items.append((split.prompt, completion))
    return Queries(items, failures, stripped)
