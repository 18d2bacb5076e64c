"""examples/rlhf_loop.py: two GRPO steps against a LocalReward on a tiny checkpoint, and
GRPOTrainer taking both Arbiter reward functions. TRL is a test-only dependency."""

import importlib.util
import math
from pathlib import Path

import pytest

from arbiter_reward import LocalReward, RemoteReward
from rewardtrain.checkpoints import write_checkpoint
from rewardtrain.training import TrainConfig, train

pytest.importorskip("trl")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rlhf_loop.py"


def load_example():
    spec = importlib.util.spec_from_file_location("rlhf_loop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint(tiny_model, toy_pairs, tmp_path_factory):
    config = TrainConfig(base_model=tiny_model, learning_rate=2e-3, batch_size=8, epochs=1, threads=1,
                         freeze_embeddings=False, freeze_layers=0, max_length=48)  # fmt: skip
    result = train(toy_pairs(32), toy_pairs(8, seed=1), config)
    return write_checkpoint(result, tmp_path_factory.mktemp("rl") / "v1", metadata={"version": 1})


def test_two_steps_print_finite_rewards_and_write_the_plot(checkpoint, tmp_path, capsys):
    plot = tmp_path / "reward.svg"
    curve = load_example().main(["--checkpoint", str(checkpoint), "--steps", "2", "--plot", str(plot), "--seed", "3"])
    assert [step for step, _ in curve] == [1, 2]
    assert all(math.isfinite(reward) for _, reward in curve)
    printed = [line for line in capsys.readouterr().out.splitlines() if "mean reward" in line and line.startswith("step")]
    assert [float(line.split()[-1]) for line in printed] == pytest.approx([reward for _, reward in curve], abs=1e-4)
    svg = plot.read_text()
    assert svg.startswith("<svg") and "training step" in svg and "mean reward" in svg


def test_same_seed_same_rewards(checkpoint, tmp_path):
    example = load_example()
    runs = [example.main(["--checkpoint", str(checkpoint), "--steps", "2", "--plot", str(tmp_path / f"{i}.svg")]) for i in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kind", ["local", "remote"])
def test_grpo_trainer_accepts_arbiter_rewards(kind, checkpoint, tmp_path):
    from trl import GRPOTrainer

    example = load_example()
    argv = ["--checkpoint", str(checkpoint)] if kind == "local" else ["--url", "http://127.0.0.1:9", "--project", "demo", "--token", "t"]
    args = example.parse_args(argv)
    reward = example.make_reward(args)
    assert isinstance(reward, LocalReward if kind == "local" else RemoteReward)
    model, tokenizer = example.make_policy(0)
    trainer = example.make_trainer(model, tokenizer, reward, example.PROMPTS, args, str(tmp_path))
    assert isinstance(trainer, GRPOTrainer)
    # TRL logs each reward under its name: the checkpoint's version, or the project's slug.
    assert trainer.reward_funcs == [reward] and trainer.reward_func_names == ["arbiter_v1" if kind == "local" else "arbiter_demo"]
