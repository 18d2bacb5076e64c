"""Pairs, grouping, the stable held-out split, HH parsing and truncation."""

import json

from rewardtrain.data import (
    Pair,
    completion_budget,
    encode_pair_text,
    group_pairs,
    is_heldout,
    load_pairs_file,
    split_hh_dialogues,
    split_pairs,
)


def test_group_pairs_encodes_each_distinct_completion_once():
    ranking = ["a", "b", "c", "d"]  # a > b > c > d: 6 pairs, 4 completions
    pairs = [Pair("p", ranking[i], ranking[j]) for i in range(4) for j in range(i + 1, 4)]
    pairs.append(Pair("other", "x", "y", margin=2.0))
    groups = group_pairs(pairs)
    assert [g.prompt for g in groups] == ["p", "other"]
    assert groups[0].completions == ranking
    assert len(groups[0].pairs) == 6
    assert groups[1].pairs == [(0, 1, 2.0)]


def test_group_pairs_keeps_both_directions_and_drops_repeated_ids_only():
    pairs = [Pair("p", "a", "b", id=1), Pair("p", "b", "a", id=2), Pair("p", "a", "b", id=1), Pair("p", "a", "b")]
    (group,) = group_pairs(pairs)
    assert group.pairs == [(0, 1, 0.0), (1, 0, 0.0), (0, 1, 0.0)]


def test_split_never_moves_a_prompt_as_data_grows():
    first = [Pair(f"prompt {i}", "a", "b") for i in range(500)]
    more = first + [Pair(f"prompt {i}", "c", "d") for i in range(2000)]
    train1, held1 = split_pairs(first)
    train2, held2 = split_pairs(more)
    held_prompts = {p.prompt for p in held1}
    assert held_prompts <= {p.prompt for p in held2}
    assert not held_prompts & {p.prompt for p in train2}
    assert {p.prompt for p in train1} <= {p.prompt for p in train2}
    # every pair of a prompt is on one side
    assert not {p.prompt for p in held2} & {p.prompt for p in train2}
    assert 0.06 < len({p.prompt for p in held2}) / 2000 < 0.14


def test_is_heldout_is_a_pure_function_of_the_prompt():
    assert is_heldout("hello", 1.0) and not is_heldout("hello", 0.0)
    assert [is_heldout(f"q{i}") for i in range(50)] == [is_heldout(f"q{i}") for i in range(50)]


def test_split_hh_dialogues_takes_the_shared_prefix_up_to_the_last_assistant_turn():
    chosen = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: Sure, here you go."
    rejected = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: No."
    prompt, c, r = split_hh_dialogues(chosen, rejected)
    assert prompt == "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant:"
    assert (c, r) == (" Sure, here you go.", " No.")  # prompt + reply is the dialogue again


def test_load_pairs_file_reads_both_forms(tmp_path):
    path = tmp_path / "pairs.jsonl"
    lines = [
        {"prompt": "q", "chosen": "a", "rejected": "b", "margin": 1},
        {"chosen": "\n\nHuman: q\n\nAssistant: yes", "rejected": "\n\nHuman: q\n\nAssistant: no"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert load_pairs_file(path) == [
        Pair("q", "a", "b", 1.0),
        Pair("\n\nHuman: q\n\nAssistant:", " yes", " no"),
    ]


def test_truncation_keeps_the_completion_and_cuts_the_prompt_from_its_start(tiny_tokenizer):
    prompt = " ".join(["one two three four five"] * 10) + " last question"
    completion = "the cat is good"
    enc = encode_pair_text(tiny_tokenizer, prompt, completion, max_length=24)
    tokens = tiny_tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert len(tokens) == 24
    assert tokens[0] == "[CLS]" and tokens[-6:] == ["[SEP]", "the", "cat", "is", "good", "[SEP]"]
    assert tokens[-8:-6] == ["last", "question"]
    assert enc["token_type_ids"] == [0] * 19 + [1] * 5  # [CLS] 17 prompt tokens [SEP] | 4 tokens [SEP]
    assert "padding" not in enc and sum(enc["attention_mask"]) == 24


def test_truncation_matches_a_plain_tokenizer_with_left_only_first_truncation(tiny_tokenizer):
    prompt = " ".join(["red blue green"] * 20)
    completion = "big small long short"
    for max_length in (16, 40, 512):
        ours = encode_pair_text(tiny_tokenizer, prompt, completion, max_length)
        tiny_tokenizer.truncation_side = "left"
        try:
            plain = tiny_tokenizer(prompt, completion, truncation="only_first", max_length=max_length)
        finally:
            tiny_tokenizer.truncation_side = "right"
        assert ours == dict(plain)
    assert encode_pair_text(tiny_tokenizer, "a cat", "a dog", 512) == dict(tiny_tokenizer("a cat", "a dog"))


def test_a_completion_too_long_alone_is_cut_from_its_end(tiny_tokenizer):
    completion = " ".join(f"{w}" for w in "one two three four five six seven eight nine ten".split() * 5)
    enc = encode_pair_text(tiny_tokenizer, "what is next please", completion, max_length=32)
    tokens = tiny_tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert len(tokens) == 32
    # a short prompt is kept whole and the completion gets the rest of the room
    assert tokens[1:5] == ["what", "is", "next", "please"]
    assert tokens[6:-1] == completion.split()[: 32 - 3 - 4]
    long_prompt = " ".join(["kind rude"] * 30)
    tokens = tiny_tokenizer.convert_ids_to_tokens(encode_pair_text(tiny_tokenizer, long_prompt, completion, 32)["input_ids"])
    # a long prompt keeps its last 32 // 4 tokens and the completion its first completion_budget(32)
    assert tokens[-completion_budget(32) - 1 : -1] == completion.split()[: completion_budget(32)]
    assert tokens[1 : 1 + 32 // 4] == ["kind", "rude"] * 4
