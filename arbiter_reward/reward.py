"""Arbiter reward models as reward functions for Python RL code. Needs only torch and transformers.

This one file is the whole client: Arbiter trains with `encode_pair_text` from here, copies
this file into every checkpoint as `arbiter_reward.py`, and ships it as the `arbiter_reward`
package. So a checkpoint scores the same in training, in Arbiter's API and in your loop.

    from arbiter_reward import LocalReward, RemoteReward
    reward = LocalReward("path/to/checkpoint")            # or RemoteReward(url, project, token)
    reward(["What is 2+2?"], ["4"])                       # -> [1.73]
    GRPOTrainer(model=..., reward_funcs=reward, ...)      # TRL's reward function signature

Prompts and completions may be strings or conversational message lists
([{"role": "user", "content": ...}, ...]); a message-list prompt is rendered as the Anthropic
HH text ("\\n\\nHuman: ...\\n\\nAssistant:") that Arbiter's importer stores conversations as.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple, Sequence

ENCODING_FORMAT = "arbiter-encoding/1"
# The encodings this file implements; a checkpoint recording anything else is refused.
TEXT_PAIR = "text_pair"  # [CLS] prompt [SEP] completion [SEP]; a decoder: tokenizer(prompt, completion)
# A decoder LM's tokenizer with a chat template: the prompt as user/assistant turns (an HH
# dialogue split at its "\n\nHuman:"/"\n\nAssistant:" markers, else one user turn) and the
# completion as the last assistant turn, rendered by apply_chat_template (see encode_decoder_text).
CHAT_TEMPLATE = "chat_template"
SUPPORTED_INPUTS = (TEXT_PAIR, CHAT_TEMPLATE)
# What the head reads (arbiter.json "encoding" "pooling"): BERT's [CLS] pooler (dense + tanh over
# the [CLS] state), or the mean of the last hidden states over the real tokens, as
# all-MiniLM-L6-v2 was trained to be read. Absent means "cls" (checkpoints before it was recorded).
CLS_POOLER = "cls"
MEAN_POOLING = "mean"
# A decoder LM's: the head on the last real token's state, as transformers' *ForSequenceClassification
# of Qwen2/3, Llama, Mistral and GPT-2 read it (the rightmost token that is not config.pad_token_id),
# and as TEI and vLLM serve such a model; inputs are right-padded.
LAST_TOKEN = "last_token"
POOLINGS = (CLS_POOLER, MEAN_POOLING, LAST_TOKEN)
# What a checkpoint's outputs mean (arbiter.json "head"): one output that is the reward, or a
# classifier's labels, whose positive label's logit is the reward. Absent means the former.
REWARD_HEAD = {"kind": "reward"}
CLASSIFIER = "classifier"
HH_NAMES = {"user": "Human", "assistant": "Assistant", "system": "Human"}
HH_ASSISTANT = "\n\nAssistant:"


class UnsupportedEncoding(ValueError):
    """A checkpoint records an encoding this version of arbiter_reward does not implement."""


class RewardServerError(RuntimeError):
    """Arbiter's scoring API refused a request; the message is its answer."""


# --- the encoding ----------------------------------------------------------------------------


def completion_budget(max_length: int) -> int:
    """Most tokens a completion may keep: room for [CLS]/[SEP]/[SEP] and a quarter of
    max_length reserved for the end of the prompt (the last human turn)."""
    return max_length - 3 - max_length // 4


def encoding_spec(max_length: int, pooling: str = CLS_POOLER, input: str = TEXT_PAIR) -> dict:
    """What `encode` does at this max_length with this `input` (TEXT_PAIR or, for a decoder,
    CHAT_TEMPLATE), and what the head reads (`use_pooling`), as recorded in a checkpoint's arbiter.json."""
    return {
        "format": ENCODING_FORMAT,
        "input": input,
        "max_length": max_length,
        "truncation": {
            "prompt": "from the start (its end, the last turn, is kept)",
            "completion": f"from the end, only beyond {completion_budget(max_length)} tokens",
        },
        "completion_budget": completion_budget(max_length),
        "pooling": pooling,
    }


def check_encoding(encoding: dict) -> int:
    """max_length of a recorded encoding; UnsupportedEncoding unless this file implements it."""
    if encoding.get("format") != ENCODING_FORMAT or encoding.get("input") not in SUPPORTED_INPUTS:
        raise UnsupportedEncoding(
            f"the checkpoint's encoding {json.dumps(encoding, sort_keys=True)} is not one this arbiter_reward "
            f"implements ({ENCODING_FORMAT}, input {' or '.join(SUPPORTED_INPUTS)}): use the arbiter_reward.py "
            "inside the checkpoint"
        )
    max_length = encoding.get("max_length")
    if encoding.get("completion_budget") != completion_budget(max_length):
        raise UnsupportedEncoding(f"the checkpoint's completion budget {encoding.get('completion_budget')} is not this file's")
    if recorded_pooling(encoding) not in POOLINGS:
        raise UnsupportedEncoding(f"the checkpoint's pooling {encoding.get('pooling')!r} is not one this arbiter_reward implements")
    if encoding["input"] == CHAT_TEMPLATE and recorded_pooling(encoding) != LAST_TOKEN:
        raise UnsupportedEncoding(f"the checkpoint's input {CHAT_TEMPLATE!r} is a decoder's: only with pooling {LAST_TOKEN!r}")
    return max_length


def input_for(tokenizer, pooling: str) -> str:
    """The input a model reading `pooling` gets from `tokenizer`: a decoder's chat template when
    the tokenizer has one, the text pair otherwise (and always for BERT-style poolings)."""
    return CHAT_TEMPLATE if pooling == LAST_TOKEN and getattr(tokenizer, "chat_template", None) else TEXT_PAIR


def encoding_for(tokenizer, max_length: int, pooling: str) -> dict:
    """The encoding spec a model reading `pooling` with `tokenizer` trains and scores with."""
    return encoding_spec(max_length, pooling, input_for(tokenizer, pooling))


def set_pad_token(tokenizer) -> None:
    """A decoder tokenizer without a pad token (GPT-2, Llama, most base LMs) pads with its end of
    text. Only right padding with an attention mask is used, and the head reads the rightmost
    token that is not the pad: a sequence ending in that token is read one token earlier, by
    every loader alike."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise UnsupportedEncoding("the tokenizer has neither a pad token nor an end-of-text token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"


def recorded_pooling(encoding: dict | None) -> str:
    """The pooling a checkpoint's recorded encoding names; [CLS] for one recorded before pooling was."""
    return (encoding or {}).get("pooling", CLS_POOLER)


def use_pooling(model, pooling: str):
    """The sequence classifier `model` with its head reading `pooling`; returns the model.

    For "mean" the base model's pooled output becomes the mean of its last hidden states over
    the tokens its attention mask marks real, so the head (dropout + linear) reads that instead
    of BERT's [CLS] pooler, whose weights stay in the checkpoint, unused and frozen. Works
    wherever the model is called with keyword inputs, `model(**inputs)`, pipelines included.
    Only BERT-style models, whose head reads the base model's pooled output, can pool so.
    Arbiter's loaders use `load_reward_model` instead (the pooling inside the model); this hook
    is for a plain BERT loaded otherwise, e.g. a checkpoint published before that model type.
    """
    if pooling not in POOLINGS:
        raise UnsupportedEncoding(f"pooling {pooling!r} is not one this arbiter_reward implements ({', '.join(POOLINGS)})")
    if pooling in (CLS_POOLER, LAST_TOKEN):  # both are the model's own head
        return model
    base = model.base_model
    if getattr(base, "pooler", None) is None:
        raise UnsupportedEncoding(
            f"pooling {pooling!r} needs a BERT-style model whose head reads its pooled output "
            f"({type(model).__name__} is not one); train it with pooling {CLS_POOLER!r}"
        )
    base.pooler.requires_grad_(False)

    def pool_by_mean(module, args, kwargs, output):
        hidden = output.last_hidden_state
        mask = kwargs.get("attention_mask")
        mask = hidden.new_ones(hidden.shape[:2]) if mask is None else mask.to(hidden.dtype)
        mask = mask.unsqueeze(-1)
        output.pooler_output = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return output

    base.register_forward_hook(pool_by_mean, with_kwargs=True)
    return model


def modeling():
    """arbiter_reward's modeling_arbiter: the package's, or in a checkpoint folder (where this file
    is arbiter_reward.py) the copy beside it. Imported when needed: it imports transformers."""
    try:
        from . import modeling_arbiter
    except ImportError:  # not in a package: the checkpoint folder is on sys.path
        import modeling_arbiter
    return modeling_arbiter


# A checkpoint trained with LoRA and published unmerged (lora_merge=False): the base model's
# weights in base/, peft's adapter (the LoRA weights and the trained head) in adapter/. No
# config.json at the top, so loaders without peft refuse it rather than read the bare base.
LORA_BASE_FOLDER = "base"
LORA_ADAPTER_FOLDER = "adapter"


def is_adapter_checkpoint(path) -> bool:
    return (Path(path) / LORA_ADAPTER_FOLDER / "adapter_config.json").is_file()


def model_folder(path) -> Path:
    """The folder of the model's config.json and weights: `path`, or an adapter checkpoint's base/."""
    return Path(path) / LORA_BASE_FOLDER if is_adapter_checkpoint(path) else Path(path)


def saved_model_type(path) -> str | None:
    """config.json's model_type in the model folder `path` (an adapter checkpoint's: its base's)."""
    return json.loads((model_folder(path) / "config.json").read_text()).get("model_type")


def load_tokenizer(path, **kwargs):
    """The tokenizer saved in `path`. transformers reads config.json to find it, and for Arbiter's
    mean-pooled type would ask whether to run the folder's modeling_arbiter.py (or print the
    question to a server's log): given the package's config class instead, it does not ask."""
    from transformers import AutoTokenizer

    config = modeling().mean_pooled_config(model_folder(path)) if saved_model_type(path) == modeling().MODEL_TYPE else None
    return AutoTokenizer.from_pretrained(path, config=config, **kwargs)


def load_reward_model(path, pooling: str, *, config: dict | None = None, cls_token_id: int | None = None, **kwargs):
    """The sequence classifier saved in `path` with its head reading `pooling`, built from this
    package's classes: never from code in the folder (so a server may load any checkpoint).

    "mean" gives modeling_arbiter's MeanPooledBertForSequenceClassification, from a checkpoint of
    that type or from a plain BERT (a base model, or a checkpoint published before that type,
    whose arbiter.json records the pooling); "cls" and "last_token" a plain
    AutoModelForSequenceClassification (a decoder's reads its last non-pad token by itself).
    `config` overrides saved settings (num_labels...); `cls_token_id` is saved in a mean-pooled
    model's config so that it can refuse inputs without [CLS]; `kwargs` go to from_pretrained.
    """
    from transformers import AutoModelForSequenceClassification

    if is_adapter_checkpoint(path):
        return load_adapter(load_reward_model(model_folder(path), pooling, config=config, cls_token_id=cls_token_id, **kwargs), path)
    if pooling not in POOLINGS:
        raise UnsupportedEncoding(f"pooling {pooling!r} is not one this arbiter_reward implements ({', '.join(POOLINGS)})")
    models = modeling()
    model_type = saved_model_type(path)
    if pooling == MEAN_POOLING:
        if model_type not in ("bert", models.MODEL_TYPE):
            raise UnsupportedEncoding(
                f"pooling {pooling!r} is built for BERT models, whose head reads the pooled output "
                f"({model_type!r} is not one); train it with pooling {CLS_POOLER!r}"
            )
        model_config = models.mean_pooled_config(path, **(config or {}))
        if cls_token_id is not None:
            model_config.cls_token_id = cls_token_id
        return models.MeanPooledBertForSequenceClassification.from_pretrained(path, config=model_config, **kwargs)
    if model_type == models.MODEL_TYPE:
        raise UnsupportedEncoding(f"{Path(path).name} is a mean-pooled model ({model_type}); it cannot be read with pooling {pooling!r}")
    return AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=False, **(config or {}), **kwargs)


def load_adapter(base_model, path):
    """`base_model` with the LoRA adapter of the adapter checkpoint `path` (peft's PeftModel)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise UnsupportedEncoding(
            f"{Path(path).name} keeps its LoRA adapter apart from the base model (trained with lora_merge=False): "
            "loading it needs peft (pip install peft)"
        ) from None
    return PeftModel.from_pretrained(base_model, Path(path) / LORA_ADAPTER_FOLDER)


def reward_column(head: dict | None) -> int:
    """Which output is the reward: 0 for a reward head, the positive label's for a classifier."""
    head = head or REWARD_HEAD
    if head.get("kind") == REWARD_HEAD["kind"]:
        return 0
    if head.get("kind") == CLASSIFIER and head.get("positive") in head.get("labels", ()):
        return head["labels"].index(head["positive"])
    raise UnsupportedEncoding(f"the checkpoint's head {json.dumps(head, sort_keys=True)} is not one this arbiter_reward implements")


def encode_pair_text(tokenizer, prompt: str, completion: str, max_length: int) -> dict:
    """The text pair joined by the tokenizer's own special tokens, as `tokenizer(prompt, completion)`
    joins it (BERT: `[CLS] prompt [SEP] completion [SEP]`; RoBERTa, MPNet: `<s> prompt </s></s>
    completion </s>`), truncated to max_length, unpadded.

    When too long, the prompt is cut from its START (the end of a dialogue matters most; cutting
    from the right made 10% of HH pairs identical). The completion is kept whole unless it alone
    exceeds `completion_budget(max_length)` tokens, in which case its END is cut.

    For a completion within that budget this equals what a plain user gets from
    `tokenizer(prompt, completion, truncation="only_first", max_length=max_length)` with
    `tokenizer.truncation_side = "left"` (saved so in Arbiter checkpoints), and for non-empty
    texts that fit it equals plain `tokenizer(prompt, completion)`.
    """
    template = pair_template(tokenizer)
    # verbose=False: no "longer than model_max_length" warning, truncation happens below
    prompt_ids = tokenizer(prompt, add_special_tokens=False, verbose=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False, verbose=False)["input_ids"]
    room = max_length - template.n_special
    completion_ids = completion_ids[: max(completion_budget(max_length), room - len(prompt_ids))]
    keep = room - len(completion_ids)
    prompt_ids = prompt_ids[len(prompt_ids) - keep :] if keep < len(prompt_ids) else prompt_ids
    input_ids = [*template.before, *prompt_ids, *template.between, *completion_ids, *template.after]
    encoded = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)}
    if template.types is not None and "token_type_ids" in tokenizer.model_input_names:
        before, first, between, second, after = template.types
        encoded["token_type_ids"] = [*before, *[first] * len(prompt_ids), *between, *[second] * len(completion_ids), *after]
    return encoded


class PairTemplate(NamedTuple):
    """A tokenizer's special tokens before, between and after the two texts of a pair, and the
    token type ids of (before, the first text, between, the second text, after), or None."""

    before: list
    between: list
    after: list
    types: tuple | None

    @property
    def n_special(self) -> int:
        return len(self.before) + len(self.between) + len(self.after)


@functools.lru_cache(maxsize=16)
def pair_template(tokenizer) -> PairTemplate:
    """Read off the tokenizer's own pair encoding of two one-word texts (its post-processor may
    be BERT's, RoBERTa's or a template: asking it is the one way that holds for all)."""
    encoded = tokenizer("a", "b", verbose=False)
    try:
        sequence = encoded.sequence_ids()
    except ValueError:  # a Python tokenizer, without the Rust one's map of tokens to texts
        raise UnsupportedEncoding(f"{type(tokenizer).__name__} is not a fast tokenizer: save the model with one (tokenizer.json)") from None
    ids, types = encoded["input_ids"], encoded.get("token_type_ids")
    if 0 not in sequence or 1 not in sequence:
        raise UnsupportedEncoding(f"{type(tokenizer).__name__} does not encode text pairs")
    first_start, first_end = sequence.index(0), len(sequence) - sequence[::-1].index(0)
    second_start, second_end = sequence.index(1), len(sequence) - sequence[::-1].index(1)
    parts = (slice(0, first_start), slice(first_end, second_start), slice(second_end, None))
    return PairTemplate(
        *(ids[part] for part in parts),
        types=None if types is None else (types[parts[0]], types[first_start], types[parts[1]], types[second_start], types[parts[2]]),
    )


def encode(tokenizer, prompt: str, completion: str, encoding: dict) -> dict:
    """(prompt, completion) encoded, unpadded, as a model with the recorded `encoding` reads it:
    a decoder's (pooling "last_token") by encode_decoder_text, a BERT-style model's by encode_pair_text."""
    if recorded_pooling(encoding) == LAST_TOKEN:
        chat = encoding.get("input") == CHAT_TEMPLATE
        return encode_decoder_text(tokenizer, prompt, completion, encoding["max_length"], chat=chat)
    return encode_pair_text(tokenizer, prompt, completion, encoding["max_length"])


def prompt_messages(prompt: str) -> list[dict]:
    """A stored prompt as chat turns: an HH dialogue ("\\n\\nHuman: ...\\n\\nAssistant: ...", which
    is also what prompt_text makes of a message list) turn by turn, its trailing empty
    "Assistant:" dropped; any other text is one user turn. Contents are stripped of surrounding
    whitespace (HH replies start with a space)."""
    parts = re.split(r"\n\n(Human|Assistant):", prompt)
    if len(parts) < 3 or parts[0].strip():
        return [{"role": "user", "content": prompt.strip()}]
    messages = [
        {"role": "user" if name == "Human" else "assistant", "content": text.strip()} for name, text in zip(parts[1::2], parts[2::2])
    ]
    if messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages


def encode_decoder_text(tokenizer, prompt: str, completion: str, max_length: int, *, chat: bool) -> dict:
    """A decoder LM's input, unpadded. With `chat`: the tokenizer's chat template rendering the
    prompt's turns (prompt_messages) and the completion, stripped, as the last assistant turn,
    tokenised as `apply_chat_template(messages, tokenize=True)` does (no special tokens beyond the
    template's). Without: the text pair, as encode_pair_text joins and cuts it.

    Within max_length it equals those plain calls. Beyond, as encode_pair_text: the completion
    keeps at least completion_budget(max_length) tokens (its end cut), the prompt is cut from its
    start (the template's tokens before the first turn, e.g. a BOS, are kept), and if the
    template's own tokens still leave too little room, the completion's end is cut further.
    """
    if chat:
        messages = [*prompt_messages(prompt), {"role": "assistant", "content": completion.strip()}]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        roles = _chat_roles(text, messages, encoded["offset_mapping"])
        return _fit(tokenizer, encoded, roles, max_length)
    return encode_pair_text(tokenizer, prompt, completion, max_length)


def _fit(tokenizer, encoded, roles: list[str], max_length: int) -> dict:
    """The tokens of `encoded` (each "prompt", "completion" or "fixed": the template's own) within max_length: the completion keeps at least completion_budget(max_length)
    tokens (its end cut), the prompt is cut from its start, and if the fixed tokens still leave
    too little room, the completion's end is cut further."""
    n_fixed, n_prompt = roles.count("fixed"), roles.count("prompt")
    if n_fixed > max_length:
        raise UnsupportedEncoding(f"the template's own {n_fixed} tokens exceed max_length {max_length}")
    keep_completion = min(roles.count("completion"), max(completion_budget(max_length), max_length - n_fixed - n_prompt))
    keep_completion = min(keep_completion, max_length - n_fixed)
    cut_prompt = max(0, n_fixed + n_prompt + keep_completion - max_length)
    kept, seen = [], {"prompt": 0, "completion": 0}
    for i, role in enumerate(roles):
        if role != "fixed":
            seen[role] += 1
            if (role == "prompt" and seen[role] <= cut_prompt) or (role == "completion" and seen[role] > keep_completion):
                continue
        kept.append(i)
    result = {"input_ids": [encoded["input_ids"][i] for i in kept], "attention_mask": [1] * len(kept)}
    if "token_type_ids" in encoded and "token_type_ids" in tokenizer.model_input_names:
        result["token_type_ids"] = [encoded["token_type_ids"][i] for i in kept]
    return result


def _chat_roles(text: str, messages: list[dict], offsets) -> list[str]:
    """Each token of the rendered `text`: "completion" (inside the last message's content),
    "prompt" (from the first message's content up to the completion) or "fixed" (the template's
    opening and closing)."""
    spans, position = [], 0
    for message in messages:
        start = text.find(message["content"], position)
        if start < 0:
            raise UnsupportedEncoding(f"the chat template does not render a {message['role']} turn's text as it is")
        position = start + len(message["content"])
        spans.append((start, position))
    prompt_start, (completion_start, completion_end) = spans[0][0], spans[-1]
    roles = []
    for start, end in offsets:
        if completion_start <= start and end <= completion_end and end > start:
            roles.append("completion")
        elif prompt_start <= start and end <= completion_start:
            roles.append("prompt")
        else:
            roles.append("fixed")
    return roles


# --- batching -------------------------------------------------------------------------------


def collate(encodings: Sequence[dict], pad_token_id: int, device) -> dict:
    """Pad a batch to its own longest item (never to max_length: compute scales with tokens)."""
    import torch

    width = max(len(e["input_ids"]) for e in encodings)
    batch = {}
    for key in encodings[0]:
        pad = pad_token_id if key == "input_ids" else 0
        rows = [[*e[key], *[pad] * (width - len(e[key]))] for e in encodings]
        batch[key] = torch.tensor(rows, dtype=torch.long, device=device)
    return batch


def length_sorted_batches(encodings: Sequence[dict], batch_size: int) -> list[list[int]]:
    """Indices of `encodings` in batches of similar length (scoring 25 pairs/s sorted, 14 not)."""
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]["input_ids"]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def score_logits(model, encodings: Sequence[dict], pad_token_id: int, batch_size: int = 32) -> list[list[float]]:
    """Every output (raw logits) for already-encoded items, in input order."""
    import torch

    device = next(model.parameters()).device
    out: list[list[float]] = [[] for _ in encodings]
    with torch.inference_mode():
        for batch in length_sorted_batches(encodings, batch_size):
            inputs = collate([encodings[i] for i in batch], pad_token_id, device)
            for i, row in zip(batch, model(**inputs).logits.float().cpu().tolist()):
                out[i] = row
    return out


def score_encodings(model, encodings: Sequence[dict], pad_token_id: int, batch_size: int = 32, column: int = 0) -> list[float]:
    """Rewards (the raw logit of output `column`, see reward_column) for already-encoded items, in input order."""
    return [row[column] for row in score_logits(model, encodings, pad_token_id, batch_size)]


# --- what RL code passes ---------------------------------------------------------------------


def prompt_text(prompt) -> str:
    """A prompt as Arbiter stores it: a string as is; a message list as HH dialogue text ending
    with the "\\n\\nAssistant:" the reply follows (what the importer makes of a conversation)."""
    if isinstance(prompt, str):
        return prompt
    return "".join(f"\n\n{HH_NAMES.get(m['role'], 'Human')}: {m['content']}" for m in prompt) + HH_ASSISTANT


def completion_text(completion) -> str:
    """A completion as a string: a message list (TRL's conversational completions) is the
    content of its assistant messages."""
    if isinstance(completion, str):
        return completion
    return "\n\n".join(m["content"] for m in completion if m.get("role", "assistant") == "assistant")


def split_at_last_assistant_turn(query: str) -> tuple[str, str]:
    """(prompt, completion) of a whole dialogue: the prompt runs up to and including its last
    "\\n\\nAssistant:" (as Arbiter's HH importer splits); without one, the prompt is empty."""
    cut = query.rfind(HH_ASSISTANT)
    if cut < 0:
        return "", query
    end = cut + len(HH_ASSISTANT)
    return query[:end], query[end:]


def _texts(prompts, completions) -> list[tuple[str, str]]:
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    return [(prompt_text(p), completion_text(c)) for p, c in zip(prompts, completions)]


# --- reward functions ------------------------------------------------------------------------


class LocalReward:
    """A checkpoint folder as a reward function, scored in this process.

    `LocalReward(dir)(prompts, completions, **kwargs) -> list[float]`: raw rewards (the logit,
    no sigmoid; a classifier's positive-label logit), batched by length, each input encoded
    exactly as training encoded it.
    """

    @property
    def __name__(self) -> str:  # TRL names a reward function's logged column after it
        return reward_name(self.metadata.get("project"), self.version)

    def __init__(self, checkpoint_dir, *, device: str | None = None, batch_size: int = 32):
        import torch

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(checkpoint_dir)
        meta_file = path / "arbiter.json"
        if not meta_file.is_file():
            raise UnsupportedEncoding(f"{path} has no arbiter.json: it is not an Arbiter checkpoint")
        self.metadata = json.loads(meta_file.read_text())
        encoding = self.metadata.get("encoding")
        if encoding is None:
            raise UnsupportedEncoding(f"{path}/arbiter.json records no encoding (a checkpoint older than arbiter_reward)")
        self.max_length = check_encoding(encoding)
        self.encoding = encoding
        self.pooling = recorded_pooling(encoding)
        self.column = reward_column(self.metadata.get("head"))
        self.version = self.metadata.get("version")
        self.batch_size = batch_size
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = load_tokenizer(path, local_files_only=True)
        # This package's model classes, not the folder's modeling_arbiter.py: nothing from the
        # folder runs, and checkpoints published before the mean-pooled model type load too.
        self.model = load_reward_model(path, self.pooling, local_files_only=True).to(self.device).eval()

    def score(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """Rewards of (prompt, completion) strings, in input order."""
        encodings = [encode(self.tokenizer, p, c, self.encoding) for p, c in items]
        return score_encodings(self.model, encodings, self.tokenizer.pad_token_id, self.batch_size, self.column)

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        return self.score(_texts(prompts, completions))


def reward_name(project: str | None, version: int | None) -> str:
    """A reward function's name, which TRL logs its column under: `arbiter_<project>`, and
    `_v<version>` when the version is fixed, so two Arbiter rewards in one run log apart."""
    name = f"arbiter_{re.sub(r'[^A-Za-z0-9_]', '_', project)}" if project else "arbiter"
    return f"{name}_v{version}" if version is not None else name


RETRY_STATUSES = (429, 502, 503, 504)  # overloaded, restarting or behind a proxy that is: try again


class RemoteReward:
    """An Arbiter project's reward model over HTTP, as a reward function.

    Calls `POST {base_url}/api/v1/projects/{project}/score/` with the API token. With `version`
    the server scores with that version or refuses (409), so a promotion never moves a long run
    mid-way; without it, each call uses the project's current version. `last_version` says
    which version answered the latest call.

    A connection error, a timeout or a 429/502/503/504 answer is tried again with exponential
    backoff (honouring Retry-After) for up to `retry_seconds`, so a server restart does not end
    an RL step; any other refusal raises RewardServerError at once. Scoring is read-only, so a
    retried request never changes anything.

    Texts longer than the server takes (`max_chars`, its ARBITER_SCORE_MAX_CHARS) are cut to the
    part the model reads before sending: a completion's start, a prompt's end (see
    encode_pair_text), at a word boundary. The reward is LocalReward's as long as that part holds
    more tokens than the checkpoint's max_length (at most 512), which any text does but one that
    is almost all whitespace.
    """

    def __init__(self, base_url: str, project: str, token: str, version: int | None = None, *,
                 batch_size: int = 64, timeout: float = 120.0, normalize: bool = False,
                 retry_seconds: float = 120.0, max_chars: int = 100_000):  # fmt: skip
        self.url = f"{base_url.rstrip('/')}/api/v1/projects/{project}/score/"
        self.__name__ = reward_name(project, version)
        self.token = token
        self.version = version
        self.batch_size = batch_size
        self.timeout = timeout
        self.normalize = normalize
        self.retry_seconds = retry_seconds
        self.max_chars = max_chars
        self.last_version = None

    def _post(self, items: list[tuple[str, str]]) -> list[float]:
        body = {"items": [{"prompt": _keep_end(p, self.max_chars), "completion": _keep_start(c, self.max_chars)} for p, c in items]}
        if self.version is not None:
            body["version"] = self.version
        if self.normalize:
            body["normalize"] = True
        data = json.dumps(body).encode()
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        deadline = time.monotonic() + self.retry_seconds
        backoff = 0.5
        while True:
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.load(response)
                break
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")
                failure = f"{self.url} answered {error.code}: {detail}"
                if error.code not in RETRY_STATUSES:
                    raise RewardServerError(failure) from None
                wait = _retry_after(error.headers.get("Retry-After"), backoff)
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as error:
                failure, wait = f"{self.url} could not be reached: {error}", backoff
            if time.monotonic() + wait > deadline:
                raise RewardServerError(f"{failure} (gave up after retrying for {self.retry_seconds:g} s)")
            time.sleep(wait)
            backoff = min(backoff * 2, 8.0)
        self.last_version = answer["version"]
        return answer["rewards"]

    def score(self, items: Sequence[tuple[str, str]]) -> list[float]:
        items = list(items)
        rewards = []
        for start in range(0, len(items), self.batch_size):
            rewards += self._post(items[start : start + self.batch_size])
        return rewards

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        return self.score(_texts(prompts, completions))


def _retry_after(header: str | None, default: float) -> float:
    """Seconds a Retry-After header asks for (its seconds form; a date or garbage: `default`), at most 60."""
    try:
        return min(max(float(header), 0.0), 60.0)
    except (TypeError, ValueError):
        return default


def _keep_start(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters cut back to a word boundary (what the encoding
    reads of a completion is its start)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit // 2)
    return cut[:space] if space > 0 else cut


def _keep_end(text: str, limit: int) -> str:
    """`text`, or its last `limit` characters moved on to a word boundary (what the encoding
    reads of a prompt is its end, the last turn)."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ", 0, limit // 2)
    return cut[space + 1 :] if space >= 0 else cut
