"""A global batch split across two gloo ranks under torchrun gives one process's gradient: the
loss is averaged over the global batch, not per rank (rewardtrain/parallel.py)."""

import os
import subprocess
import sys

import pytest
import torch

from tests.rewardtrain.parallel_gradient import step_gradients

# float32 gradients summed in another order (two ranks' parts, then the all-reduce) differ from
# one process's in the last bits: ~1e-7 relative. A wrong averaging (per rank: 5 pairs over 2 of 7,
# say) is off by tens of percent.
RTOL, ATOL = 1e-4, 1e-7


def two_rank_gradients(tiny_model, tmp_path, units, micro_batch_size):
    out = tmp_path / "grads.pt"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    done = subprocess.run(
        [*torchrun, "-m", "tests.rewardtrain.parallel_gradient", tiny_model, str(out), ",".join(map(str, units)), str(micro_batch_size)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return torch.load(out)


@pytest.mark.parametrize(
    "units, micro_batch_size",
    [
        # 1+3+1+1+1 pairs: rank 0 gets prompts 0, 2, 4 (3 pairs), rank 1 prompts 1, 3 (4 pairs)
        ([0, 1, 2, 3, 4], 0),
        # The same in micro-batches of 1 pair: rank 0 runs 3 of them, rank 1 2; one all-reduce
        ([0, 1, 2, 3, 4], 1),
        ([1], 0),  # fewer prompts than ranks: rank 1 runs a forward weighted 0
    ],
)
def test_two_ranks_give_one_process_gradient(tiny_model, tmp_path, units, micro_batch_size):
    one, one_loss, one_n = step_gradients(tiny_model, units)
    two, two_loss, two_n = two_rank_gradients(tiny_model, tmp_path, units, micro_batch_size)

    assert two_n == one_n
    assert two_loss == pytest.approx(one_loss, rel=RTOL)
    assert two.keys() == one.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=RTOL, atol=ATOL, msg=lambda m, name=name: f"{name}: {m}")
    # The gradient is not trivially equal: it is there.
    assert max(g.abs().max().item() for g in one.values()) > 1e-4
