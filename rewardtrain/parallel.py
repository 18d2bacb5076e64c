"""One training step on several processes (torchrun, DistributedDataParallel): each global batch
is split across the ranks and the loss averaged over the whole global batch, not per rank.

Django-free, used by the trainer's loop (training._train) when it runs under torchrun
(rewardtrain/distributed_train.py). With the same data and seed, N ranks take the same steps as
one process: the same batches in the same order, the same gradient up to float summation order.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.distributed as dist


class Ranks:
    """This process's place among the ranks of an initialised process group."""

    def __init__(self):
        self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @property
    def leads(self) -> bool:
        """Rank 0 evaluates, reports progress and writes the checkpoint."""
        return self.rank == 0

    def wrap(self, model):
        """The model under DistributedDataParallel, which averages the gradients over the ranks in
        backward. Buffers are not synced at each forward: the trained models have no running
        statistics, and the ranks start from the same weights (DDP broadcasts rank 0's).
        find_unused_parameters: a mean-pooled BERT never reads its pooler, whose gradient DDP
        would otherwise wait for, never reducing the others."""
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [model.device.index] if model.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(
            model, device_ids=device_ids, forward_sync_buffers=False, find_unused_parameters=True
        )
        return self.ddp

    def share(self, batch: list[int]) -> list[int]:
        """This rank's units of the global batch: every world-th, so that each rank gets short and
        long ones alike (a batch's units come sorted by length)."""
        return batch[self.rank :: self.world]

    def backward(self, task, forward, batch: list[int], device, micro_batch_size: int) -> tuple[torch.Tensor, int]:
        """Gradients of the global batch's mean loss on every rank, as one process's
        training.backward_in_micro_batches gives them; returns that mean (no graph) and the
        global batch's examples.

        Each rank's share runs in micro-batches, each weighted by its examples over the global
        batch's, times the world size that DDP's average divides by. Only the last micro-batch's
        backward is synchronised (no_sync before): one all-reduce a step whatever each rank's
        count of micro-batches. A rank left without a unit (a global batch of fewer units than
        ranks) still runs one forward and backward, weighted 0: the all-reduce needs every rank.
        """
        from rewardtrain.training import micro_batches

        share = self.share(batch)
        units, weight = (share, 1.0) if share else (batch[:1], 0.0)
        n_global = sum(task.size(unit) for unit in batch)
        runs = micro_batches([task.size(unit) for unit in units], micro_batch_size)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for i, run in enumerate(runs):
            with self.ddp.no_sync() if i < len(runs) - 1 else nullcontext():
                loss, n = task.loss(forward, [units[j] for j in run], device)
                (loss * (weight * n * self.world / n_global)).backward()
            loss_sum += loss.detach().double() * (weight * n)
        dist.all_reduce(loss_sum)  # the reported loss: the global batch's mean
        return (loss_sum / n_global).float(), n_global
