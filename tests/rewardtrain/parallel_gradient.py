"""One step's gradient of the tiny model on a global batch, in one process or, under torchrun,
split across the ranks (rewardtrain.parallel): `torchrun --nproc_per_node 2 -m
tests.rewardtrain.parallel_gradient <model dir> <out file> <units> <micro-batch size>` saves rank 0's."""

import sys

import torch

from rewardtrain.config import TrainConfig
from rewardtrain.data import Pair

CONFIG = TrainConfig(max_length=32, threads=1, margin_scale=1.0)
# Groups of different lengths and pair counts (one ranking of three: 3 pairs), margins included.
PAIRS = [
    Pair("human: tell me about the cat. assistant:", "the cat is good", "the cat is bad", margin=1.0),
    Pair("human: what is a dog? assistant:", "a dog is a kind animal that can run very fast", "no", margin=0.0),
    Pair("human: what is a dog? assistant:", "a dog is a kind animal that can run very fast", "maybe a cat"),
    Pair("human: what is a dog? assistant:", "maybe a cat", "no"),
    Pair("human: hello assistant:", "hello there", "go away", margin=2.0),
    Pair("human: is the sky blue today? assistant:", "yes the sky is blue", "the sky is green and red today"),
    Pair("human: tell me about the river. assistant:", "the river is long and old", "river"),
]


def step_gradients(model_dir: str, units: list[int], parallel=None, micro_batch_size: int = 0) -> tuple[dict, float, int]:
    """({parameter name: gradient}, loss, examples) after one backward of `units`' loss: at once in
    one process, or each rank's share in micro-batches of `micro_batch_size` pairs."""
    from rewardtrain.training import PairwiseTask, load_model, set_dropout

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model, tokenizer = load_model(model_dir, torch.device("cpu"), pooling="mean")
    set_dropout(model, CONFIG.dropout)  # 0, as the trainer runs: the ranks' dropout masks would differ
    model.train()
    stepped = parallel.wrap(model) if parallel else model
    task = PairwiseTask(PAIRS, tokenizer, CONFIG)

    def forward(inputs):
        return stepped(**inputs).logits.float()

    device = torch.device("cpu")
    if parallel:
        loss, n = parallel.backward(task, forward, units, device, micro_batch_size)
    else:
        loss, n = task.loss(forward, units, device)
        loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}, loss.item(), n


def main(model_dir: str, out: str, units: str, micro_batch_size: str):
    import torch.distributed as dist

    from rewardtrain.parallel import Ranks

    dist.init_process_group("gloo")
    try:
        ranks = Ranks()
        result = step_gradients(model_dir, [int(u) for u in units.split(",")], ranks, int(micro_batch_size))
        if ranks.leads:
            torch.save(result, out)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
