"""get_reward's reading of RL queries, as plain functions (no Django, no model)."""

import pytest

from rewardtrain.rl_queries import UnsplittableQuery, queries_to_score, split_query, strip_special_suffixes

PROMPT = "Human: Tell me about the Café, please! Assistant:"


def test_an_exact_prefix_is_cut_where_the_prompt_ends():
    split = split_query(PROMPT + " It is nice.", PROMPT)
    assert (split.prompt, split.completion, split.how) == (PROMPT, " It is nice.", "exact")


def test_an_uncased_decode_is_matched_after_normalising_and_the_clients_prompt_is_scored():
    decoded = "human : tell me about the cafe, please! assistant : it is nice."  # BERT uncased decode
    split = split_query(decoded, PROMPT)
    assert (split.prompt, split.completion, split.how) == (PROMPT, " it is nice.", "normalized")


def test_compatibility_forms_and_spacing_are_normalised():
    split = split_query("ｆｉｎｅ\u00a0 ﬁsh\nreply", "fine fish")
    assert split.completion == "\nreply" and split.how == "normalized"


def test_a_query_that_differs_is_cut_after_its_last_assistant_marker():
    query = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\nhi there"
    split = split_query(query, "something else entirely")
    assert (split.prompt, split.completion, split.how) == (query[: -len("hi there")], "hi there", "marker")
    hh = "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d"
    assert split_query(hh, None).completion == " d"


def test_without_prompt_or_marker_the_query_is_all_completion_but_a_wrong_prompt_fails():
    assert split_query("just text", None).completion == "just text"
    with pytest.raises(UnsplittableQuery, match="does not start with its prompt"):
        split_query("just text", "another prompt")


def test_trailing_special_tokens_are_removed_and_counted():
    assert strip_special_suffixes("reply<|endoftext|>") == ("reply", 1)
    assert strip_special_suffixes("reply\n<|im_end|>\n<|endoftext|>\n") == ("reply\n", 2)
    assert strip_special_suffixes("a </s> in the middle </s>") == ("a </s> in the middle ", 1)
    assert strip_special_suffixes("plain reply  ") == ("plain reply  ", 0)
    assert strip_special_suffixes("x<END>", ("<END>",)) == ("x", 1)


def test_queries_to_score_reports_failures_by_index_and_scores_the_rest():
    queries = queries_to_score(["p1 r1<|eot_id|>", "nothing to split", "p3 r3"], ["p1", "zzz", "p3"])
    assert queries.items == [("p1", " r1"), None, ("p3", " r3")]
    assert [index for index, _ in queries.failures] == [1] and queries.stripped == 1


def test_normalising_a_long_hostile_query_is_linear():
    query = "a" * 200_000
    assert split_query(query, "A" * 100_000).completion == "a" * 100_000
    with pytest.raises(UnsplittableQuery):
        split_query(query, "b" * 100_000)
