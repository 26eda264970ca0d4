"""k-fold cross-validation inside one trial (``kfold``, ``n_splits``, ``n_repeats``, ``kfold_seed``).

The reference's ``train_kfold`` trains one model per fold of a (repeated) k-fold split of its
training data and reports the fold-averaged test score. Here a trial's model is a
:class:`~.fold_ensemble.FoldEnsemble` of ``n_splits * n_repeats`` members trained side by side
in the one training loop: the trial's training samples are shuffled with ``kfold_seed + r`` for
repeat ``r`` and dealt into ``n_splits`` folds of equal size (±1); each batch trains member ``m``
(fold ``f = m % n_splits`` of repeat ``r = m // n_splits``) on its items outside fold ``f``
only. After every epoch each member is judged on its own fold, read from the store, and
``val_cv_loss`` / ``val_cv_mse`` are the means over members of their held-out loss and MSE:
the cross-validated figures a sweep optimises (``tune.metric: val_cv_mse``). Without ``kfold``
they equal ``val_loss`` / ``val_mse`` (the one held-out set is the validation split).

The members run in one process: ``kfold`` needs ``train.workers: 1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from raytrack.tasks.base import move_to

HELD_OUT_BATCH = 64
"""Samples per batch when the fold members are judged on their folds."""


class FoldAssignment:
    """Which fold of each repeat every training sample is in.

    Args:
        ids: the training samples' ids.
        n_splits, n_repeats: folds per repeat, repeats.
        seed: the shuffle of repeat ``r`` uses ``seed + r``.
    """

    def __init__(self, ids: Sequence[int], n_splits: int, n_repeats: int, seed: int) -> None:
        ids = np.asarray(sorted(int(i) for i in ids), dtype=np.int64)
        if len(ids) < n_splits:
            raise ValueError(
                f"kfold: n_splits={n_splits} folds need at least as many training samples, but "
                f"the training split has {len(ids)}"
            )
        self.n_splits, self.n_repeats = n_splits, n_repeats
        self.ids = ids
        self.folds = np.empty((n_repeats, len(ids)), dtype=np.int64)
        for r in range(n_repeats):
            order = np.random.default_rng(seed + r).permutation(len(ids))
            self.folds[r, order] = np.arange(len(ids)) % n_splits
        self._position = {int(i): p for p, i in enumerate(ids)}

    @property
    def members(self) -> int:
        return self.n_splits * self.n_repeats

    def fold_of(self, ids: torch.Tensor, member: int) -> torch.Tensor:
        """For each id: is it in the fold member ``member`` is judged on? (``(B,)`` bool)."""
        try:
            positions = [self._position[int(i)] for i in ids.tolist()]
        except KeyError as err:
            raise ValueError(
                f"kfold: sample {err.args[0]} is not one of the training samples the folds were "
                "dealt from"
            ) from None
        repeat, fold = divmod(member, self.n_splits)
        return torch.as_tensor(self.folds[repeat, positions] == fold, device=ids.device)


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def held_out_statistics(
    task: Any, members: list[nn.Module], store: str | None
) -> dict[str, torch.Tensor]:
    """Per member ``(M,)``: the sums of its loss terms and squared errors over its own fold of the
    training samples in ``store``, and their counts; zeros when ``store`` is None (the epoch's
    held-out statistics were already given)."""
    keys = ("cv_loss", "cv_se", "cv_count", "cv_points")
    totals = {key: torch.zeros(len(members), dtype=torch.float64) for key in keys}
    if store is None:
        return totals
    from raytrack.store.sample_store import SampleStore

    folds = task.folds
    device = next(members[0].parameters()).device
    for chunk in _chunks(SampleStore(store).iter_rows(ids=folds.ids.tolist()), HELD_OUT_BATCH):
        batch = move_to(task.collate([task.prepare(row) for row in chunk]), device)
        for m, member in enumerate(members):
            held = folds.fold_of(batch["id"], m)
            if not held.any():
                continue
            stats = task.statistics(member, {key: value[held] for key, value in batch.items()})
            totals["cv_loss"][m] += sum(stats[f"{t}_sum"].cpu() for t in task.loss_metric_terms)
            totals["cv_se"][m] += stats["se"].cpu()
            totals["cv_count"][m] += stats["count"]
            totals["cv_points"][m] += stats["points"]
    return totals
